//! The `gonogo` command line. Exit codes: see [`crate::exit`] (0 GO, 1 NO-GO,
//! 2 INCONCLUSIVE, 3 usage or infrastructure error with one clear sentence on stderr).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gonogo_reports::render::FormatList;
use gonogo_reports::Verdict;

use crate::exit::Exit;
use crate::run::{Options, Session};

#[derive(Debug, Parser)]
#[command(
    name = "gonogo",
    version,
    about = "Release gate for the Knowledge API: smoke suites, gates, go/no-go report"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites A-D and the release gates, decide, and write the report.
    Run(RunArgs),
    #[command(flatten)]
    Release(crate::release_cli::ReleaseCommand),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Base URL of a deployed server; without it the run is hermetic (containers + in-process server).
    #[arg(long, env = "SMOKE_TARGET_URL")]
    pub target: Option<String>,
    /// The target's HS256 JWT secret; without it tokens come from POST /api/v1/stream/auth/anon.
    #[arg(long, env = "SMOKE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Where the report is written.
    #[arg(long, default_value = "reports/out")]
    pub report_dir: PathBuf,
    /// Report formats, comma-separated (json is always written): json,md,junit,html;
    /// `github` also publishes to GitHub Actions (annotations, step summary, outputs).
    #[arg(long, default_value = "json")]
    pub format: String,
    /// PostgreSQL URL of the target's database as its application role (remote runs):
    /// the RLS gate runs, read-only, and isolation is proven at the database. Never printed.
    #[arg(
        long,
        env = "SMOKE_DATABASE_URL",
        hide_env_values = true,
        requires = "target"
    )]
    pub database_url: Option<String>,
    /// Without --database-url, accept tenant isolation proven through the API alone,
    /// for this (mandatory) reason; the waiver is recorded in the report and signed with it.
    #[arg(long, env = "SMOKE_ACCEPT_API_ONLY_ISOLATION", value_name = "REASON", value_parser = non_empty_reason)]
    pub accept_api_only_isolation: Option<String>,
    /// The R1 OpenAPI baseline Gate 1 compares against (default: the committed one).
    #[arg(long, env = "SMOKE_R1_BASELINE")]
    pub r1_baseline: Option<PathBuf>,
    /// Free-form label of the deployment, shown in the report.
    #[arg(long)]
    pub label: Option<String>,
    /// Searches the latency phase sends (default 200; at least 72 for the p95's
    /// 95 % interval to exist, else `query_latency_p95_ms` is inconclusive).
    #[arg(long, env = "SMOKE_LATENCY_SAMPLES")]
    pub latency_samples: Option<usize>,
    /// The sign-off roles and canary schedule the Markdown and HTML show.
    #[command(flatten)]
    pub documents: crate::release_cli::RolesArgs,
}

/// `gonogo run`: returns how it ended.
pub async fn run(args: RunArgs) -> Exit {
    match run_inner(args).await {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("gonogo: {e}");
            Exit::Usage
        }
    }
}

async fn run_inner(args: RunArgs) -> Result<Exit, String> {
    let formats = FormatList::parse(&args.format).map_err(|e| e.to_string())?;
    let options = args.documents.render_options(None)?;
    let opts = Options {
        target: args.target,
        jwt_secret: args.jwt_secret,
        label: args.label,
        r1_baseline: args.r1_baseline,
        latency_samples: args.latency_samples,
        database_url: args.database_url,
        accept_api_only_isolation: args.accept_api_only_isolation,
    };
    let out = Session::run_once(&opts, None)
        .await
        .map_err(|e| e.to_string())?;
    let paths = out
        .write_with(&args.report_dir, &formats.files, options.clone())
        .map_err(|e| e.to_string())?;
    let d = &out.report.decision;
    println!("{}", verdict_line(d.verdict, out.suites_time));
    for r in &d.reasons {
        println!("  - {r}");
    }
    for p in paths {
        println!("  report: {}", p.display());
    }
    if formats.github {
        crate::github::publish_run(&out, options, &args.report_dir)?;
    }
    Ok(Exit::Verdict(d.verdict))
}

/// A waiver's reason: something a reviewer can read, not an empty string.
fn non_empty_reason(s: &str) -> Result<String, String> {
    let reason = s.trim();
    if reason.is_empty() {
        return Err("give the reason API-only isolation is acceptable, e.g. --accept-api-only-isolation \"staging has no database access; RLS proven in CI\"".into());
    }
    Ok(reason.to_owned())
}

/// The first line `gonogo run` prints: the verdict exactly as the JSON spells it.
fn verdict_line(verdict: Verdict, suites_time: Duration) -> String {
    format!(
        "gonogo: {verdict} — suites took {:.2} s",
        suites_time.as_secs_f64()
    )
}

/// Parses `args` and runs the command. Usage errors exit 3 ([`Exit::Usage`]).
pub async fn main_with(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            return Exit::Done.into();
        }
        Err(e) => {
            let _ = e.print();
            return Exit::Usage.into();
        }
    };
    match cli.command {
        Command::Run(a) => run(a).await.into(),
        Command::Release(r) => crate::release_cli::run(r).await.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let argv = ["gonogo", "run"].iter().chain(args);
        Cli::try_parse_from(argv).map(|c| match c.command {
            Command::Run(a) => a,
            Command::Release(_) => unreachable!("parsed `run`"),
        })
    }

    #[test]
    fn a_waiver_needs_a_non_empty_reason() {
        let err =
            parse(&["--target", "http://x", "--accept-api-only-isolation", "  "]).unwrap_err();
        assert!(err.to_string().contains("give the reason"), "{err}");
        let ok = parse(&[
            "--target",
            "http://x",
            "--accept-api-only-isolation",
            " no db ",
        ])
        .unwrap();
        assert_eq!(ok.accept_api_only_isolation.as_deref(), Some("no db"));
    }

    #[test]
    fn the_database_url_needs_a_target_and_is_never_shown_in_help() {
        assert!(parse(&["--database-url", "postgres://a:b@h/d"]).is_err());
        let help = Cli::try_parse_from(["gonogo", "run", "--help"])
            .unwrap_err()
            .to_string();
        assert!(
            help.contains("--database-url") && help.contains("SMOKE_DATABASE_URL"),
            "{help}"
        );
    }

    #[test]
    fn the_cli_prints_the_verdict_exactly_as_the_json_spells_it() {
        for verdict in [Verdict::Go, Verdict::NoGo, Verdict::Inconclusive] {
            let json = serde_json::to_value(verdict).unwrap();
            let line = verdict_line(verdict, Duration::from_millis(1500));
            assert_eq!(
                line,
                format!("gonogo: {} — suites took 1.50 s", json.as_str().unwrap())
            );
        }
        assert_eq!(
            verdict_line(Verdict::NoGo, Duration::ZERO),
            "gonogo: NO-GO — suites took 0.00 s"
        );
    }
}
