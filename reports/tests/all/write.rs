//! `write_reports`: file names, JSON always, stable bytes, and the last redaction pass.

use gonogo_reports::render::{write_reports, Format};
use gonogo_reports::test_support::ReportBuilder;

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.abcdefghijklmnop";

#[test]
fn json_is_written_even_when_not_asked_for_and_every_format_has_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = ReportBuilder::go().build();
    let only_md = write_reports(&report, dir.path(), &[Format::Markdown]).unwrap();
    let names: Vec<_> = only_md
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["go-no-go.json", "go-no-go.md"]);

    let all = write_reports(&report, dir.path(), &Format::ALL).unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "go-no-go.json",
            "go-no-go.md",
            "go-no-go.junit.xml",
            "go-no-go.html"
        ]
    );
}

#[test]
fn the_json_round_trips_and_is_byte_stable() {
    let dir = tempfile::tempdir().unwrap();
    let report = ReportBuilder::go().build();
    let path = &write_reports(&report, dir.path(), &[]).unwrap()[0];
    let first = std::fs::read_to_string(path).unwrap();
    let back: gonogo_reports::Report = serde_json::from_str(&first).unwrap();
    assert_eq!(back, report);
    write_reports(&back, dir.path(), &[]).unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), first);
    // Key order is the model's field order.
    let keys: Vec<_> = serde_json::from_str::<serde_json::Value>(&first)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "tool",
            "run",
            "decision",
            "criteria",
            "metrics",
            "suites",
            "gates",
            "signoffs"
        ]
    );
}

#[test]
fn a_jwt_that_slipped_into_evidence_is_masked_in_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = ReportBuilder::go()
        .failing(
            "suite_a::valid_jwt_returns_200",
            &format!("server echoed {JWT}"),
        )
        .with(|r| {
            let ev = &mut r.suites[0].cases[2].evidence[0];
            ev.response.as_mut().unwrap().body = format!("{{\"token\":\"{JWT}\"}}");
            ev.request
                .headers
                .insert("authorization".into(), format!("Bearer {JWT}"));
        })
        .build();
    for path in write_reports(&report, dir.path(), &Format::ALL).unwrap() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
            "JWT leaked into {}",
            path.display()
        );
        assert!(
            text.contains("[REDACTED:jwt]"),
            "no mask in {}",
            path.display()
        );
    }
}

#[test]
fn format_names_parse_and_unknown_ones_are_refused_with_the_list() {
    assert_eq!(
        Format::parse_list("json, md,junit,html").unwrap(),
        Format::ALL
    );
    let err = Format::parse_list("md,pdf").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown report format `pdf`: use json, md, junit, html or github"
    );
}

#[test]
fn a_canary_step_is_added_after_the_steps_already_in_the_report_and_a_run_replaces_them() {
    use gonogo_reports::file::{CanaryRecord, ReportFile};
    use gonogo_reports::test_support::sample_canary_rollback;
    let dir = tempfile::tempdir().unwrap();
    write_reports(&ReportBuilder::go().build(), dir.path(), &[]).unwrap();
    let mut file = ReportFile::load(&dir.path().join("go-no-go.json")).unwrap();
    let step = sample_canary_rollback();
    file.record_canary(&step, CanaryRecord::Step);
    assert_eq!(
        file.report.canary.as_ref(),
        Some(&step),
        "a first canary is taken whole"
    );
    let mut promoted = step.clone();
    promoted.outcome = gonogo_reports::model::CanaryOutcome::Promote;
    promoted.reason = "every phase passed".into();
    file.record_canary(&promoted, CanaryRecord::Step);
    let canary = file.report.canary.as_ref().unwrap();
    assert_eq!(canary.phases.len(), 2 * step.phases.len());
    assert_eq!(canary.failures.len(), 2 * step.failures.len());
    assert_eq!(
        (canary.outcome, canary.reason.as_str(), canary.plan.as_str()),
        (promoted.outcome, "every phase passed", step.plan.as_str())
    );
    // A canary run again after a fix is that run alone: no phase twice, no
    // earlier run's failures under its PROMOTE.
    let mut rerun = promoted.clone();
    rerun.failures.clear();
    rerun.plan = "after the fix".into();
    file.record_canary(&rerun, CanaryRecord::Run);
    assert_eq!(file.report.canary.as_ref(), Some(&rerun));
}
