//! What an earlier report of the same build of the target verified. A rerun
//! within the hour cannot see the anonymous endpoint issue a token (the
//! earlier run spent this address's allowance); the earlier `go-no-go.json`
//! in the report directory can vouch for it, if it judged the same target
//! (base URL) at the same build (commit) and the check passed there.

use std::path::Path;

use gonogo_reports::file::ReportFile;
use gonogo_reports::{Outcome, Report};
use gonogo_suites::cases::gate_2::authentication::ANON_TOKEN;
use gonogo_suites::Earlier;

/// The earlier report in `report_dir`, read for what it verified about the
/// target at `base_url` built from `commit`. A missing or unreadable report,
/// another target or build, or an unknown commit vouches for nothing.
pub fn earlier_evidence(
    report_dir: Option<&Path>,
    base_url: &str,
    commit: Option<&str>,
) -> Earlier {
    let Some(dir) = report_dir else {
        return Earlier::default();
    };
    match ReportFile::load(&dir.join("go-no-go.json")) {
        Ok(file) => vouched(&file.report, base_url, commit),
        Err(_) => Earlier::default(),
    }
}

fn vouched(report: &Report, base_url: &str, commit: Option<&str>) -> Earlier {
    let target = &report.run.target;
    // Without a commit on both sides "the same build" cannot be shown.
    let same_build = commit.is_some() && target.git_commit.as_deref() == commit;
    if target.base_url != base_url || !same_build {
        return Earlier::default();
    }
    let passed = report
        .cases()
        .any(|c| c.id == ANON_TOKEN.id && c.outcome == Outcome::Passed);
    Earlier {
        anon_token: passed.then(|| {
            format!(
                "the report of run {} ({})",
                report.run.id,
                report.run.started_at.format("%Y-%m-%d %H:%M UTC")
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gonogo_reports::test_support::ReportBuilder;

    const URL: &str = "http://127.0.0.1:39211";
    const COMMIT: &str = "3f2a9c1d0b7e";

    /// The sample report (target `URL` at `COMMIT`) with the anonymous token check `outcome`.
    fn earlier(outcome: Outcome) -> Report {
        ReportBuilder::go()
            .with(|r| {
                if let Some(c) = r.cases_mut().next() {
                    c.id = ANON_TOKEN.id.into();
                    c.outcome = outcome;
                }
            })
            .build()
    }

    #[test]
    fn a_passed_check_of_the_same_target_and_build_vouches_for_the_token() {
        let e = vouched(&earlier(Outcome::Passed), URL, Some(COMMIT));
        assert_eq!(
            e.anon_token.as_deref(),
            Some("the report of run 00000000-0000-4000-8000-000000000001 (2026-11-29 10:00 UTC)")
        );
    }

    #[test]
    fn another_build_another_target_an_unknown_commit_or_a_skip_vouch_for_nothing() {
        let passed = earlier(Outcome::Passed);
        for (report, url, commit) in [
            (&passed, URL, Some("0000000")),
            (&passed, "http://other:8080", Some(COMMIT)),
            (&passed, URL, None),
            (&earlier(Outcome::Skipped), URL, Some(COMMIT)),
        ] {
            assert_eq!(
                vouched(report, url, commit),
                Earlier::default(),
                "{url} {commit:?}"
            );
        }
    }

    #[test]
    fn the_report_is_read_from_the_report_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            earlier_evidence(Some(dir.path()), URL, Some(COMMIT)),
            Earlier::default()
        );
        let json = serde_json::to_string(&earlier(Outcome::Passed)).unwrap();
        std::fs::write(dir.path().join("go-no-go.json"), json).unwrap();
        let e = earlier_evidence(Some(dir.path()), URL, Some(COMMIT));
        assert!(e.anon_token.is_some());
    }
}
