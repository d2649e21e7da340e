//! Renderings of one [`Report`]: JSON (always), Markdown, JUnit XML and HTML
//! files, and [`github`]'s workflow commands, outputs and step summary.
//! [`clauses`] is what they share to cite the contract for each failed or
//! warned check; [`compared`] the words of the "Compared with" section.
//!
//! Every format renders the same redacted copy of the report; see
//! [`write_reports`]. Sign-off status shown in Markdown and HTML comes from
//! [`RenderOptions`] (required roles, and trusted keys when known).

pub mod clauses;
pub mod compared;
pub mod github;
pub mod html;
mod html_chart;
pub mod json;
pub mod junit;
pub mod markdown;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::canary_plan::CanaryPlan;
use crate::model::{Outcome, Report};
use crate::redact::{redact_report_with, Secrets};
use crate::signoff::{ApprovalPolicy, ApprovalSummary};

/// An output format of the go/no-go report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Markdown,
    Junit,
    Html,
}

impl Format {
    /// All formats, JSON first.
    pub const ALL: [Format; 4] = [Format::Json, Format::Markdown, Format::Junit, Format::Html];

    /// The file name this format is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "go-no-go.json",
            Format::Markdown => "go-no-go.md",
            Format::Junit => "go-no-go.junit.xml",
            Format::Html => "go-no-go.html",
        }
    }

    /// Parses a comma-separated list of file formats such as `json,md,junit,html`.
    pub fn parse_list(list: &str) -> Result<Vec<Format>, UnknownFormat> {
        names(list).map(str::parse).collect()
    }
}

/// The names of a comma-separated list, trimmed, empty ones left out.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// What `--format` asks for: the files to write, and whether to publish to
/// GitHub Actions (`github`: workflow commands, step summary and outputs;
/// it writes no file of its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatList {
    pub files: Vec<Format>,
    pub github: bool,
}

impl FormatList {
    /// Parses a comma-separated list such as `json,md,junit,html,github`.
    pub fn parse(list: &str) -> Result<FormatList, UnknownFormat> {
        let (github, files): (Vec<&str>, Vec<&str>) =
            names(list).partition(|n| n.eq_ignore_ascii_case("github"));
        Ok(FormatList {
            files: files
                .into_iter()
                .map(str::parse)
                .collect::<Result<_, _>>()?,
            github: !github.is_empty(),
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Junit => "junit",
            Format::Html => "html",
        })
    }
}

/// A format name that is not one of `json`, `md`, `junit`, `html`, `github`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}`: use json, md, junit, html or github")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "md" | "markdown" => Ok(Format::Markdown),
            "junit" | "xml" => Ok(Format::Junit),
            "html" => Ok(Format::Html),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot write the report to {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the JUnit XML: {0}")]
    Xml(String),
}

/// What the human-facing renderings need beyond the report itself.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Who must sign, and the keys signatures are checked against (the sign-off table).
    pub policy: ApprovalPolicy,
    /// The schedule shown while no canary has run (the configured plan).
    pub canary_plan: CanaryPlan,
    /// Literal secrets the final redaction pass masks (the target's JWT secret).
    pub secrets: Secrets,
}

impl RenderOptions {
    /// The sign-off summary to show for `report`.
    pub fn approval(&self, report: &Report) -> ApprovalSummary {
        self.policy.approval(report)
    }
}

/// Writes `go-no-go.json` (always) and every other requested format into `dir`
/// (created if missing), after a final redaction pass. Returns the paths written.
pub fn write_reports(
    report: &Report,
    dir: &Path,
    formats: &[Format],
) -> Result<Vec<PathBuf>, RenderError> {
    write_reports_with(report, dir, formats, &RenderOptions::default())
}

/// [`write_reports`] with explicit sign-off options.
pub fn write_reports_with(
    report: &Report,
    dir: &Path,
    formats: &[Format],
    options: &RenderOptions,
) -> Result<Vec<PathBuf>, RenderError> {
    let mut wanted = vec![Format::Json];
    for f in formats {
        if !wanted.contains(f) {
            wanted.push(*f);
        }
    }
    write_documents(report, dir, &wanted, &options.approval(report), options)
}

/// Writes exactly `formats` into `dir` (created if missing) after a final
/// redaction pass, every file atomically, with one sign-off summary shown by
/// all of them. Returns the paths written.
pub fn write_documents(
    report: &Report,
    dir: &Path,
    formats: &[Format],
    approval: &ApprovalSummary,
    options: &RenderOptions,
) -> Result<Vec<PathBuf>, RenderError> {
    let report = redact_report_with(report, &options.secrets)?;
    std::fs::create_dir_all(dir).map_err(|source| RenderError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(formats.len());
    for format in formats {
        let text = render_with(&report, *format, approval, options)?;
        let path = dir.join(format.file_name());
        write_atomic(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `text` to a sibling temporary file, then renames it over `path`,
/// so a reader never sees half a file. The temporary name is this writer's
/// own (process and a counter), so two writers never share one.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<(), RenderError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io { path, source }
    };
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Renders one format to a string. The caller is responsible for redaction
/// ([`write_reports`] does it); renderers escape but do not redact.
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
) -> Result<String, RenderError> {
    render_with(report, format, &options.approval(report), options)
}

/// [`render`] with the sign-off summary already computed.
pub fn render_with(
    report: &Report,
    format: Format,
    approval: &ApprovalSummary,
    options: &RenderOptions,
) -> Result<String, RenderError> {
    Ok(match format {
        Format::Json => json::render(report)?,
        Format::Markdown => markdown::render(report, approval, &options.canary_plan),
        Format::Junit => junit::render(report)?,
        Format::Html => html::render(report, approval, &options.canary_plan),
    })
}

/// An outcome's label, a failure in capitals so it stands out.
pub(crate) fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Failed => "FAILED",
        other => other.label(),
    }
}

/// `1 warning`, `2 warnings`.
pub(crate) fn fmt_warnings(n: usize) -> String {
    match n {
        1 => "1 warning".to_string(),
        n => format!("{n} warnings"),
    }
}

/// `12 ms`, `1.25 s`.
pub(crate) fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 || ms.fract() == 0.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// `99.2 %`, or `n/a` without samples.
pub(crate) fn fmt_rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_string(), fmt_percent)
}

/// A share (0..1) as a percentage: `100 %`, `99.2 %`, `99.95 %`; never
/// `100 %` for a share under 1.
pub(crate) fn fmt_percent(share: f64) -> String {
    let text = format!("{:.2}", share * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "100" && share < 1.0 {
        return "> 99.99 %".to_string();
    }
    format!("{text} %")
}

/// Whether a criterion's values are shares (0..1), shown as percentages.
fn is_share(c: &crate::model::Criterion) -> bool {
    c.name.ends_with("_rate")
}

/// A criterion's observed value for people: a share as a percentage.
pub(crate) fn fmt_criterion_observed(c: &crate::model::Criterion) -> String {
    match c.observed.as_ref().and_then(serde_json::Value::as_f64) {
        Some(share) if is_share(c) => fmt_percent(share),
        _ => fmt_observed(&c.observed),
    }
}

/// A criterion's threshold for people: `>= 0.99` of a share as `>= 99 %`.
pub(crate) fn fmt_threshold(c: &crate::model::Criterion) -> String {
    let t = c.threshold.trim();
    let split = t
        .find(|ch: char| ch.is_ascii_digit() || ch == '.')
        .unwrap_or(0);
    let (op, number) = t.split_at(split);
    match number.parse::<f64>() {
        Ok(share) if is_share(c) => format!("{}{}", op, fmt_percent(share)),
        _ => c.threshold.clone(),
    }
}

/// `12 ms`, or `n/a` without samples.
pub(crate) fn fmt_opt_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "n/a".to_string(), fmt_ms)
}

/// `[28 ms, 41 ms] (ranks 184–197)`, or `n/a` without an interval.
pub(crate) fn fmt_ci(ci: &Option<crate::model::QuantileInterval>) -> String {
    ci.as_ref().map_or_else(
        || "n/a".to_string(),
        |c| {
            format!(
                "[{}, {}] (ranks {}–{})",
                fmt_ms(c.low_ms),
                fmt_ms(c.high_ms),
                c.low_rank,
                c.high_rank
            )
        },
    )
}

/// A criterion's observed value for people (`null` → `no samples`).
pub(crate) fn fmt_observed(value: &Option<serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "no samples".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{}", (f * 1000.0).round() / 1000.0),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}
