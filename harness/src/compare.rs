//! `gonogo run --compare-to PATH|last-go`: finding the earlier report a run is
//! compared with, and keeping every run's report so a later one can find it.
//!
//! Every `gonogo run` keeps a copy of its `go-no-go.json` (as written:
//! redacted, with its latency samples) in `<report dir>/history/`, named
//! `<started, UTC>-<run id>.json`; gonogo never deletes one. `last-go` is the
//! newest report there whose verdict is GO, of the same target kind (hermetic
//! or remote) and judged by the same contract version as this run. A named
//! report must be of the same target kind; one judged by another contract
//! version is compared clause by clause, and the comparison says so.
//! The comparison itself, its test and the team's rules are
//! [`gonogo_reports::compare`]'s.

use std::path::{Path, PathBuf};

use gonogo_reports::file::{FileError, ReportFile};
use gonogo_reports::{Mode, Report, Verdict};

/// The folder under the report dir that keeps every run's report.
pub const HISTORY_DIR: &str = "history";

/// What `--compare-to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareTo {
    /// A report file (`go-no-go.json`, or one in the history).
    Path(PathBuf),
    /// The newest GO in the history of the same target kind and contract.
    LastGo,
}

impl CompareTo {
    /// `last-go`, else a path.
    pub fn parse(text: &str) -> CompareTo {
        match text.trim() {
            "last-go" => CompareTo::LastGo,
            path => CompareTo::Path(PathBuf::from(path)),
        }
    }
}

/// Why the earlier report cannot be used or this one cannot be kept. Display is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("--compare-to: {0}")]
    Load(#[from] FileError),
    #[error("--compare-to: {} is the report of a {previous} run; a {current} run is compared only with a {current} run's report", path.display())]
    OtherKind {
        path: PathBuf,
        previous: Mode,
        current: Mode,
    },
    #[error("cannot read the report history {}: {source}", dir.display())]
    History {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot keep the report in the history as {}: {source}", path.display())]
    Keep {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The history folder of `report_dir`.
pub fn history_dir(report_dir: &Path) -> PathBuf {
    report_dir.join(HISTORY_DIR)
}

/// The earlier report a `mode` run is compared with, and where it was read
/// (in words); `None` when `last-go` finds no GO to compare with.
pub fn previous(
    to: &CompareTo,
    report_dir: &Path,
    mode: Mode,
) -> Result<Option<(Report, String)>, CompareError> {
    match to {
        CompareTo::Path(path) => {
            let report = ReportFile::load(path)?.report;
            if report.run.mode != mode {
                return Err(CompareError::OtherKind {
                    path: path.clone(),
                    previous: report.run.mode,
                    current: mode,
                });
            }
            Ok(Some((report, path.display().to_string())))
        }
        CompareTo::LastGo => last_go(&history_dir(report_dir), mode),
    }
}

/// The newest GO report in `dir` of a `mode` run judged by this build's contract.
/// Files that are not reports are passed over: the history is gonogo's, but a
/// person may have dropped something there.
pub fn last_go(dir: &Path, mode: Mode) -> Result<Option<(Report, String)>, CompareError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CompareError::History {
                dir: dir.to_path_buf(),
                source,
            })
        }
    };
    let contract = gonogo_suites::contract::text::VERSION;
    let newest = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((ReportFile::load(&p).ok()?.report, p)))
        .filter(|(r, _)| {
            r.decision.verdict == Verdict::Go
                && r.run.mode == mode
                && r.run.contract_version.as_deref() == Some(contract)
        })
        .max_by_key(|(r, _)| r.run.started_at);
    Ok(newest.map(|(r, p)| (r, format!("{} (the last GO)", p.display()))))
}

/// The file name a report is kept under: `<started, UTC>-<run id>.json`.
pub fn history_name(report: &Report) -> String {
    format!(
        "{}-{}.json",
        report.run.started_at.format("%Y%m%dT%H%M%SZ"),
        report.run.id
    )
}

/// Keeps a copy of the written `json` (this run's `go-no-go.json`) in the history of `report_dir`.
pub fn keep(report_dir: &Path, json: &Path, report: &Report) -> Result<PathBuf, CompareError> {
    let dir = history_dir(report_dir);
    let path = dir.join(history_name(report));
    let io = |source| CompareError::Keep {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::copy(json, &path).map_err(io)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, minutes: i64, verdict: Verdict, mode: Mode) -> Report {
        let mut r = gonogo_reports::test_support::ReportBuilder::go().build();
        r.run.id = id.into();
        r.run.started_at += chrono::Duration::minutes(minutes);
        r.decision.verdict = verdict;
        r.run.mode = mode;
        r.run.contract_version = Some(gonogo_suites::contract::text::VERSION.into());
        r
    }

    fn kept(dir: &Path, r: &Report) {
        let json = dir.join("go-no-go.json");
        std::fs::write(&json, serde_json::to_string(r).unwrap()).unwrap();
        keep(dir, &json, r).unwrap();
    }

    #[test]
    fn last_go_is_the_newest_go_of_the_same_kind_and_contract() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(last_go(&history_dir(d), Mode::Hermetic).unwrap().is_none());
        kept(d, &report("old-go", 0, Verdict::Go, Mode::Hermetic));
        kept(d, &report("newer-go", 10, Verdict::Go, Mode::Hermetic));
        kept(
            d,
            &report("newest-no-go", 20, Verdict::NoGo, Mode::Hermetic),
        );
        kept(d, &report("remote-go", 30, Verdict::Go, Mode::Remote));
        let mut other = report("other-contract", 40, Verdict::Go, Mode::Hermetic);
        other.run.contract_version = Some("0.9".into());
        kept(d, &other);
        std::fs::write(history_dir(d).join("notes.json"), "not a report").unwrap();
        let (found, source) = last_go(&history_dir(d), Mode::Hermetic).unwrap().unwrap();
        assert_eq!(found.run.id, "newer-go");
        assert!(source.ends_with("-newer-go.json (the last GO)"), "{source}");
        let (found, _) = previous(&CompareTo::LastGo, d, Mode::Remote)
            .unwrap()
            .unwrap();
        assert_eq!(found.run.id, "remote-go");
        assert_eq!(std::fs::read_dir(history_dir(d)).unwrap().count(), 6);
    }

    #[test]
    fn a_named_report_of_another_target_kind_is_refused_in_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remote.json");
        let r = report("r", 0, Verdict::Go, Mode::Remote);
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
        let to = CompareTo::parse(path.to_str().unwrap());
        let e = previous(&to, dir.path(), Mode::Hermetic)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("is the report of a remote run; a hermetic run is compared only with a hermetic run's report"),
            "{e}"
        );
        assert!(previous(&to, dir.path(), Mode::Remote).unwrap().is_some());
        let missing = CompareTo::parse("nowhere/go-no-go.json");
        let e = previous(&missing, dir.path(), Mode::Remote)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--compare-to: cannot read nowhere/go-no-go.json"),
            "{e}"
        );
        assert_eq!(CompareTo::parse(" last-go "), CompareTo::LastGo);
    }
}
