//! What `gonogo run` and `gonogo canary` show on stderr while they work: one
//! progress line (phase, cases done/total, the latest activity) when stderr is
//! a terminal and `-q` is not given, and with `-v` one line per exchange
//! (method, path, status, latency; never a header, a body or a token), per
//! case and per phase, wherever stderr goes.
//!
//! The suites only report [`Event`]s ([`gonogo_suites::progress`]); the
//! harness's phases (containers, reports) are [`Progress::phase`] calls.
//! Stdout stays the verdict's: scripts read it.

use std::io::{IsTerminal as _, Write};
use std::sync::Mutex;
use std::time::Duration;

use clap::builder::styling::{AnsiColor, Style};
use gonogo_reports::Verdict;
use gonogo_suites::progress::{Event, Observer};
use gonogo_suites::{Exchange, Outcome, Phase};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `--color`: whether the verdict line, the progress line and clap's help are coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    // No doc comments on the values: `--help` lists them on one line.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal, given `NO_COLOR`'s value.
    pub fn enabled(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }

    /// [`ColorChoice::enabled`] for this process's stdout or stderr.
    pub fn for_stdout(self) -> bool {
        self.enabled(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// [`ColorChoice::enabled`] for this process's stderr.
    pub fn for_stderr(self) -> bool {
        self.enabled(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// The same choice for clap's own help and errors (its `auto` honours `NO_COLOR` too).
    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorChoice::Auto => clap::ColorChoice::Auto,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
        }
    }
}

/// `-q` and `-v` of the commands that show progress (`run`, `canary`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Nothing on stderr but errors: no progress line.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also each request (method, path, status, latency; never headers, bodies or
    /// tokens), each case and each phase as a line on stderr, terminal or not.
    #[arg(short, long)]
    pub verbose: bool,
}

impl OutputArgs {
    pub fn verbosity(self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            (false, false) => Verbosity::Normal,
        }
    }
}

/// How much a command says on stderr while it works.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: nothing but errors.
    Quiet,
    /// The progress line, on a terminal only.
    #[default]
    Normal,
    /// `-v`: also every exchange, case and phase as a line.
    Verbose,
}

/// Whether stderr shows (the progress line, the `-v` lines): the line on a
/// terminal unless `-q`; the lines with `-v`, terminal or not (a CI log).
pub fn shown(terminal: bool, verbosity: Verbosity) -> (bool, bool) {
    (
        terminal && verbosity != Verbosity::Quiet,
        verbosity == Verbosity::Verbose,
    )
}

/// The verdict coloured as a traffic light (green GO, red NO-GO, yellow INCONCLUSIVE).
pub fn paint_verdict(line: &str, verdict: Verdict, color: bool) -> String {
    let colour = match verdict {
        Verdict::Go => AnsiColor::Green,
        Verdict::NoGo => AnsiColor::Red,
        Verdict::Inconclusive => AnsiColor::Yellow,
    };
    paint(
        line,
        Style::new().bold().fg_color(Some(colour.into())),
        color,
    )
}

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// The counts shown on the progress line.
#[derive(Debug, Default)]
struct Counts {
    done: usize,
    total: usize,
    failed: usize,
}

/// Draws a run's or a canary's progress; an [`Observer`] of the suites.
pub struct Progress {
    /// The terminal line; `None` when not drawn (not a terminal, `-q`).
    bar: Option<ProgressBar>,
    /// Where `-v` lines go when there is no bar to print above (stderr; a buffer in tests).
    lines: Option<Mutex<Box<dyn Write + Send>>>,
    color: bool,
    counts: Mutex<Counts>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("drawn", &self.bar.is_some())
            .field("verbose", &self.lines.is_some())
            .finish()
    }
}

impl Progress {
    /// Shows nothing (tests, `gonogo serve`'s runs).
    pub fn off() -> Progress {
        Progress {
            bar: None,
            lines: None,
            color: false,
            counts: Mutex::default(),
        }
    }

    /// This process's stderr: the line only when stderr is a terminal and not `-q`.
    pub fn stderr(verbosity: Verbosity, color: ColorChoice) -> Progress {
        let (drawn, verbose) = shown(std::io::stderr().is_terminal(), verbosity);
        let color = color.for_stderr();
        let bar = drawn.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix} {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let lines =
            verbose.then(|| Mutex::new(Box::new(std::io::stderr()) as Box<dyn Write + Send>));
        Progress {
            bar,
            lines,
            color,
            counts: Mutex::default(),
        }
    }

    /// `-v` lines into `out`, with no progress line (tests).
    pub fn verbose_to(out: Box<dyn Write + Send>, color: bool) -> Progress {
        Progress {
            bar: None,
            lines: Some(Mutex::new(out)),
            color,
            counts: Mutex::default(),
        }
    }

    /// Whether anything is shown at all (else the suites need not report).
    pub fn active(&self) -> bool {
        self.bar.is_some() || self.lines.is_some()
    }

    /// A phase begins: `name` leads the line (and is a `-v` line).
    pub fn phase(&self, name: &str) {
        self.phase_of(name, None);
    }

    /// A phase with `total` steps to count (cases, samples).
    pub fn phase_counting(&self, name: &str, total: usize) {
        self.phase_of(name, Some(total));
    }

    fn phase_of(&self, name: &str, total: Option<usize>) {
        if let Some(total) = total {
            let mut c = self.counts.lock().unwrap();
            *c = Counts {
                total,
                ..Counts::default()
            };
        }
        self.line(&format!(
            "gonogo: {}",
            paint(name, Style::new().bold(), self.color)
        ));
        if let Some(bar) = &self.bar {
            if let Some(total) = total {
                bar.set_length(total as u64);
                bar.set_position(0);
            }
            let template = match total {
                Some(_) => "{spinner} {prefix} [{bar:24}] {pos}/{len} {wide_msg} {elapsed}",
                None => "{spinner} {prefix} {wide_msg} {elapsed}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(paint(name, Style::new().bold(), self.color));
            bar.set_message("");
        }
    }

    /// What is happening now, after the phase and counts (not a `-v` line).
    pub fn activity(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_owned());
        }
    }

    /// One step of the counted phase done; `failed` ones are counted apart.
    pub fn step(&self, failed: bool) {
        let failed_so_far = {
            let mut c = self.counts.lock().unwrap();
            c.done += 1;
            c.failed += usize::from(failed);
            c.failed
        };
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if failed_so_far > 0 {
                let failed = format!("{failed_so_far} failed");
                bar.set_message(paint(
                    &failed,
                    Style::new().fg_color(Some(AnsiColor::Red.into())),
                    self.color,
                ));
            }
        }
    }

    /// A `-v` line, printed above the progress line when there is one.
    pub fn line(&self, text: &str) {
        let Some(out) = &self.lines else { return };
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let mut out = out.lock().unwrap();
                // A closed stderr is no reason to stop a run.
                let _ = writeln!(out, "{text}");
            }
        }
    }

    /// Removes the progress line, before the verdict is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// (done, total, failed) of the counted phase.
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = self.counts.lock().unwrap();
        (c.done, c.total, c.failed)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `GET /api/v1/files 200 12 ms`: what one exchange was, without its query
/// string, headers or body (a token never shows).
pub fn exchange_line(ex: &Exchange) -> String {
    let path = ex.request.path.split('?').next().unwrap_or_default();
    let status = match &ex.response {
        Ok(r) => r.status.to_string(),
        Err(_) => "no response".to_owned(),
    };
    format!(
        "{} {path} {status} {} ms",
        ex.request.method,
        ex.latency.as_millis()
    )
}

impl Observer for Progress {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Phase {
                phase: Phase::Main,
                cases,
            } => self.phase_counting("suites", cases),
            Event::Phase {
                phase: Phase::Final,
                cases,
            } => self.phase_counting("final scans", cases),
            Event::Tenant(label) => self.activity(&format!("minting tenant {label}")),
            Event::Latency { searches } => {
                self.activity(&format!("latency: {searches} searches"));
                self.line(&format!("gonogo: latency: sending {searches} searches"));
            }
            Event::Exchange(ex) => self.line(&format!("  {}", exchange_line(ex))),
            Event::CaseDone(report) => {
                let failed = report.outcome == Outcome::Failed;
                self.step(failed);
                let (mark, colour) = match report.outcome {
                    Outcome::Passed => ("pass", AnsiColor::Green),
                    Outcome::Failed => ("FAIL", AnsiColor::Red),
                    Outcome::Warned => ("warn", AnsiColor::Yellow),
                    Outcome::Skipped => ("skip", AnsiColor::BrightBlack),
                };
                let mark = paint(mark, Style::new().fg_color(Some(colour.into())), self.color);
                self.line(&format!("{mark} {}", report.id));
            }
        }
    }
}

#[cfg(test)]
mod tests;
