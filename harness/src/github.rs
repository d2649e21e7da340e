//! Publishing a report to GitHub Actions: `gonogo run --format …,github` and
//! `gonogo github REPORT.json`. The workflow commands go to stdout, the
//! Markdown decision is appended to `$GITHUB_STEP_SUMMARY`, `verdict`,
//! `decision` and `reasons` to `$GITHUB_OUTPUT`. What is written is
//! [`gonogo_reports::render::github`]'s; this module finds the files, keeps
//! the summary within what the file has room for, and appends, never
//! truncating what earlier commands of the step wrote. Outside GitHub
//! Actions (the variables unset) the commands are printed all the same and
//! one line on stderr says what was skipped.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use gonogo_reports::publication::Publication;
use gonogo_reports::redact::redact_report_with;
use gonogo_reports::render::github::{self as render, STEP_SUMMARY_LIMIT};
use gonogo_reports::render::RenderOptions;
use gonogo_reports::Report;

/// Why a report could not be published to GitHub Actions.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The final redaction pass could not read the report as JSON.
    #[error("{0}")]
    Redact(#[source] serde_json::Error),
    #[error("cannot print the annotations: {0}")]
    Print(#[source] std::io::Error),
    #[error("{0}")]
    Outputs(#[from] render::DelimiterInValue),
    #[error("cannot append to ${var} ({}): {source}", path.display())]
    Append {
        /// `GITHUB_OUTPUT` or `GITHUB_STEP_SUMMARY`.
        var: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files GitHub Actions gives a step (unset or empty: not in Actions).
#[derive(Debug, Clone, Default)]
pub struct GithubFiles {
    /// `$GITHUB_STEP_SUMMARY`: Markdown shown on the run's summary page.
    pub step_summary: Option<PathBuf>,
    /// `$GITHUB_OUTPUT`: `name=value` lines that become the step's outputs.
    pub output: Option<PathBuf>,
}

impl GithubFiles {
    /// The files the environment names.
    pub fn from_env() -> GithubFiles {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        GithubFiles {
            step_summary: var("GITHUB_STEP_SUMMARY"),
            output: var("GITHUB_OUTPUT"),
        }
    }

    /// The one stderr line for what is skipped, if anything.
    fn skipped(&self) -> Option<&'static str> {
        match (&self.step_summary, &self.output) {
            (None, None) => Some("GITHUB_STEP_SUMMARY and GITHUB_OUTPUT are not set (not in GitHub Actions?): printed the annotations, skipped the step summary and the decision/verdict outputs"),
            (None, Some(_)) => Some("GITHUB_STEP_SUMMARY is not set: skipped the step summary"),
            (Some(_), None) => Some("GITHUB_OUTPUT is not set: skipped the decision/verdict outputs"),
            (Some(_), Some(_)) => None,
        }
    }
}

/// `gonogo run --format …,github`: publishes `report` as `publication` says
/// (its secrets included), pointing the step summary at its JSON in the publication's directory.
pub fn publish_run(report: &Report, publication: &Publication) -> Result<(), GithubError> {
    publish(
        report,
        &publication.render,
        &publication.json_path(),
        &GithubFiles::from_env(),
    )
}

/// Publishes `report` (after the final redaction pass, with `options`'
/// secrets) to the process's stdout and `files`; `full_report` is where the
/// step summary says the whole report is, should it have to be trimmed.
pub fn publish(
    report: &Report,
    options: &RenderOptions,
    full_report: &Path,
    files: &GithubFiles,
) -> Result<(), GithubError> {
    let report = redact_report_with(report, &options.secrets).map_err(GithubError::Redact)?;
    let mut stdout = std::io::stdout().lock();
    for line in render::annotations(&report) {
        writeln!(stdout, "{line}").map_err(GithubError::Print)?;
    }
    if let Some(path) = &files.step_summary {
        append_summary(&report, options, full_report, path)?;
    }
    if let Some(path) = &files.output {
        let delimiter = format!("ghadelimiter_{}", uuid::Uuid::new_v4());
        let text = render::outputs(&report, &delimiter)?;
        append(path, &text).map_err(|e| cannot_append("GITHUB_OUTPUT", path, e))?;
    }
    if let Some(line) = files.skipped() {
        eprintln!("gonogo: {line}");
    }
    Ok(())
}

/// Appends the Markdown decision to the step summary in the room GitHub's
/// limit leaves after what the step already wrote there.
fn append_summary(
    report: &Report,
    options: &RenderOptions,
    full_report: &Path,
    path: &Path,
) -> Result<(), GithubError> {
    let used = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
    // After earlier content, a blank line; and room for the line break
    // `append` may have to add first.
    let gap = if used > 0 { "\n" } else { "" };
    let budget = STEP_SUMMARY_LIMIT.saturating_sub(used + 1 + gap.len());
    let md = render::step_summary(
        report,
        &options.approval(report),
        &options.canary_plan,
        budget,
        &full_report.display().to_string(),
    );
    if md.len() > budget {
        eprintln!("gonogo: the decision alone exceeds what is left of GitHub's 1 MiB step summary; GitHub may refuse to show it");
    }
    append(path, &format!("{gap}{md}")).map_err(|e| cannot_append("GITHUB_STEP_SUMMARY", path, e))
}

fn cannot_append(var: &'static str, path: &Path, source: std::io::Error) -> GithubError {
    GithubError::Append {
        var,
        path: path.to_path_buf(),
        source,
    }
}

/// Appends `text` to `path` (created if missing), starting on a new line
/// when the file does not end with one.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut last = [b'\n'];
    if file.seek(SeekFrom::End(0))? > 0 {
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
    }
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_keeps_what_was_there_and_starts_on_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append(&path, "a=1\n").unwrap();
        std::fs::write(&path, "a=1\nno-newline").unwrap();
        append(&path, "b=2\n").unwrap();
        append(&path, "c=3\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a=1\nno-newline\nb=2\nc=3\n"
        );
    }

    #[test]
    fn missing_variables_are_named_in_one_line() {
        let both = GithubFiles::default();
        assert!(both.skipped().unwrap().starts_with(
            "GITHUB_STEP_SUMMARY and GITHUB_OUTPUT are not set (not in GitHub Actions?)"
        ));
        let files = GithubFiles {
            step_summary: Some("s".into()),
            output: Some("o".into()),
        };
        assert_eq!(files.skipped(), None);
    }
}
