//! Where and how a report is published: its directory, its formats and the
//! documents' options, built once from the configuration
//! (`Config::publication` in the harness) and handed to whatever writes or
//! publishes the report, with the run's secrets added once
//! ([`Publication::masking`]) for the final redaction pass.

use std::path::PathBuf;

use crate::model::Report;
use crate::redact::Secrets;
use crate::render::{self, Format, FormatList, RenderError, RenderOptions};

/// A report's publication.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    /// Where the files are written.
    pub dir: PathBuf,
    /// The formats besides JSON, and whether to publish to GitHub Actions.
    pub formats: FormatList,
    /// What the documents show (approval policy, canary plan) and the secrets masked in them.
    pub render: RenderOptions,
}

impl Publication {
    /// Files only (no GitHub summary): `formats` written into `dir`, rendered with `render`.
    pub fn files(
        dir: impl Into<PathBuf>,
        formats: &[Format],
        render: RenderOptions,
    ) -> Publication {
        Publication {
            dir: dir.into(),
            formats: FormatList {
                files: formats.to_vec(),
                github: false,
            },
            render,
        }
    }

    /// The same publication, its final redaction pass also masking `secrets`.
    pub fn masking(self, secrets: Secrets) -> Publication {
        Publication {
            render: RenderOptions {
                secrets,
                ..self.render
            },
            ..self
        }
    }

    /// Writes `go-no-go.json` and every other format into [`Publication::dir`]. Returns the paths.
    pub fn write(&self, report: &Report) -> Result<Vec<PathBuf>, RenderError> {
        render::write_reports_with(report, &self.dir, &self.formats.files, &self.render)
    }

    /// Where the JSON report is (the GitHub step summary points at it).
    pub fn json_path(&self) -> PathBuf {
        self.dir.join(Format::Json.file_name())
    }
}
