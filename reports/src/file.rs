//! A report on disk: load `go-no-go.json`, change it (sign, add the canary
//! section), save it atomically and re-render the Markdown and HTML next to
//! it with the configured options, so the documents people read agree with
//! the JSON.

use std::path::{Path, PathBuf};

use crate::model::{CanaryReport, Report};
use crate::redact::redact_report;
use crate::render::{self, Format, RenderError, RenderOptions};
use crate::signoff::ApprovalSummary;

/// Why a report file could not be read or written. Display is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is not a go/no-go report: {source}", path.display())]
    NotReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Write(#[from] RenderError),
}

/// How a canary is written into a report ([`ReportFile::record_canary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryRecord {
    /// A complete canary run (`gonogo canary --report`): it replaces the section.
    Run,
    /// One step of a release's canary (a Flagger `rollout` call): it is added.
    Step,
}

/// A go/no-go report and the file it lives in.
#[derive(Debug, Clone)]
pub struct ReportFile {
    path: PathBuf,
    /// The report as read; change it, then [`ReportFile::save`].
    pub report: Report,
}

impl ReportFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<ReportFile, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| FileError::NotJson {
                path: path.to_path_buf(),
                source,
            })?;
        let report = serde_json::from_value(value).map_err(|source| FileError::NotReport {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            report,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the report back (redacted, pretty JSON), replacing the file in
    /// one rename so an interrupted write never leaves half a report.
    pub fn save(&self) -> Result<(), FileError> {
        let redacted = redact_report(&self.report).map_err(RenderError::from)?;
        let text = render::json::render(&redacted).map_err(RenderError::from)?;
        render::write_atomic(&self.path, &text)?;
        Ok(())
    }

    /// Writes `canary` into the report's canary section: the ONE way a canary is
    /// written into a report, with the rule its caller names. A [`CanaryRecord::Run`]
    /// (`gonogo canary --report`: a complete canary of one plan) replaces the section,
    /// so a canary re-run after a fix shows that run alone. A [`CanaryRecord::Step`]
    /// (each Flagger `rollout` call: one step of a release's canary) is added after
    /// the steps already there, and the outcome and reason become the latest's. A
    /// report without a section takes either whole. The section is outside the
    /// signed content: approvals stay valid.
    pub fn record_canary(&mut self, canary: &CanaryReport, record: CanaryRecord) {
        self.report.canary = Some(match (self.report.canary.take(), record) {
            (Some(mut so_far), CanaryRecord::Step) => {
                so_far.phases.extend(canary.phases.iter().cloned());
                so_far.failures.extend(canary.failures.iter().cloned());
                so_far.outcome = canary.outcome;
                so_far.reason = canary.reason.clone();
                so_far
            }
            _ => canary.clone(),
        });
    }

    /// Re-renders the Markdown and HTML next to the file, where they exist,
    /// with `options` (the configured required roles and canary plan).
    pub fn rerender(&self, options: &RenderOptions) -> Result<Vec<PathBuf>, FileError> {
        self.rerender_with(&options.approval(&self.report), options)
    }

    /// [`ReportFile::rerender`] with a sign-off summary already computed.
    pub fn rerender_with(
        &self,
        approval: &ApprovalSummary,
        options: &RenderOptions,
    ) -> Result<Vec<PathBuf>, FileError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let present: Vec<Format> = [Format::Markdown, Format::Html]
            .into_iter()
            .filter(|f| dir.join(f.file_name()).exists())
            .collect();
        Ok(render::write_documents(
            &self.report,
            dir,
            &present,
            approval,
            options,
        )?)
    }
}
