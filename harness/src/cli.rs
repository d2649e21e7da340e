//! The `gonogo` command line. Exit codes: see [`crate::exit`] (0 GO, 1 NO-GO,
//! 2 INCONCLUSIVE, 3 usage or infrastructure error with one clear sentence on stderr).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gonogo_reports::Verdict;

use crate::config::{Config, Flags};
use crate::exit::Exit;
use crate::run::{InfraError, Session};

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
    /// Print the effective configuration: each setting's value and where it came from (secrets masked).
    Config(ServeArgs),
    /// Serve the gate to Flagger's webhooks and Argo Rollouts' web metric (bearer token, allowlist).
    Serve(ServeArgs),
    /// Print the contract gonogo judges by: every clause in the contract's words, its level and
    /// what a correct server may do instead (docs/CONTRACT.md is this output).
    Contract(ContractArgs),
    #[command(flatten)]
    Release(crate::release_cli::ReleaseCommand),
}

/// `gonogo contract`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ContractArgs {
    /// md: the Markdown of docs/CONTRACT.md; json: every clause with its id, section, level,
    /// words and freedoms, then the criteria.
    #[arg(long, value_enum, default_value_t = ContractFormat::Md)]
    pub format: ContractFormat,
}

/// How `gonogo contract` prints the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContractFormat {
    Md,
    Json,
}

/// `gonogo contract`: the contract on stdout.
pub fn contract_cmd(args: &ContractArgs) -> Exit {
    use gonogo_suites::contract::text;
    let printed = match args.format {
        ContractFormat::Md => text::markdown(),
        ContractFormat::Json => match serde_json::to_string_pretty(&text::json()) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("gonogo: cannot write the contract as JSON: {e}");
                return Exit::Usage;
            }
        },
    };
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(printed.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Exit::Done,
        // A reader that stops early (`gonogo contract | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Done,
        Err(e) => {
            eprintln!("gonogo: cannot print the contract: {e}");
            Exit::Usage
        }
    }
}

/// `gonogo run`'s flags. Each is also a `GONOGO_*` variable and a key of
/// `gonogo.toml` (see `gonogo config`); a flag wins over both.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Base URL of a deployed server; without it the run is hermetic (containers + in-process server).
    /// [env: GONOGO_TARGET, SMOKE_TARGET_URL] [file: run.target]
    #[arg(long)]
    pub target: Option<String>,
    /// The target's HS256 JWT secret (at least 16 characters); without it tokens come from
    /// POST /api/v1/stream/auth/anon.
    /// [env: GONOGO_JWT_SECRET, SMOKE_JWT_SECRET]
    #[arg(long)]
    pub jwt_secret: Option<String>,
    /// A PEM file of the CA that signed the target's TLS certificate, trusted besides the
    /// system's trust store and the built-in roots. [env: GONOGO_CACERT] [file: run.cacert]
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Where the report is written [default: reports/out] [env: GONOGO_REPORT_DIR] [file: report.dir]
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Report formats, comma-separated (json is always written): json,md,junit,html;
    /// `github` also publishes to GitHub Actions (annotations, step summary, outputs).
    /// [default: json] [env: GONOGO_FORMATS] [file: report.formats]
    #[arg(long)]
    pub format: Option<String>,
    /// PostgreSQL URL of the target's database as its application role (remote runs):
    /// the RLS gate runs, read-only, and isolation is proven at the database. Never printed.
    /// [env: GONOGO_DATABASE_URL, SMOKE_DATABASE_URL]
    #[arg(long)]
    pub database_url: Option<String>,
    /// Without --database-url, accept tenant isolation proven through the API alone,
    /// for this (mandatory) reason; the waiver is recorded in the report and signed with it.
    /// [env: GONOGO_ACCEPT_API_ONLY_ISOLATION] [file: waivers.api_only_isolation]
    #[arg(long, value_name = "REASON", value_parser = non_empty_reason)]
    pub accept_api_only_isolation: Option<String>,
    /// The R1 OpenAPI baseline Gate 1 compares against (default: the committed one).
    /// [env: GONOGO_R1_BASELINE, SMOKE_R1_BASELINE]
    #[arg(long)]
    pub r1_baseline: Option<PathBuf>,
    /// Free-form label of the deployment, shown in the report. [env: GONOGO_LABEL]
    #[arg(long)]
    pub label: Option<String>,
    /// Searches the latency phase sends (default 200; at least 72 for the p95's
    /// 95 % interval to exist, else `query_latency_p95_ms` is inconclusive).
    /// [env: GONOGO_LATENCY_SAMPLES, SMOKE_LATENCY_SAMPLES]
    #[arg(long)]
    pub latency_samples: Option<usize>,
    /// Search p95 threshold in ms, at most the contract's 400. [env: GONOGO_MAX_P95_MS] [file: thresholds.p95_ms]
    #[arg(long)]
    pub max_p95_ms: Option<f64>,
    /// Success-rate threshold, at least the contract's 0.99. [env: GONOGO_MIN_SUCCESS_RATE]
    #[arg(long)]
    pub min_success_rate: Option<f64>,
    /// Fewest latency searches the p95 is judged on (at least 72). [env: GONOGO_MIN_LATENCY_SAMPLES]
    #[arg(long)]
    pub min_latency_samples: Option<u64>,
    /// The sign-off roles and canary schedule the Markdown and HTML show, and the configuration file.
    #[command(flatten)]
    pub documents: crate::release_cli::RolesArgs,
}

impl RunArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        use toml::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| Value::String(p.display().to_string()));
        let list = |v: &Option<String>| {
            v.as_ref()
                .and_then(|t| crate::config::file::from_text(crate::config::Kind::List, t))
        };
        let mut flags = crate::config::given([
            ("run.target", text(&self.target)),
            ("run.jwt_secret", text(&self.jwt_secret)),
            ("run.cacert", path(&self.cacert)),
            ("report.dir", path(&self.report_dir)),
            ("report.formats", list(&self.format)),
            ("run.database_url", text(&self.database_url)),
            (
                "waivers.api_only_isolation",
                text(&self.accept_api_only_isolation),
            ),
            ("run.r1_baseline", path(&self.r1_baseline)),
            ("run.label", text(&self.label)),
            (
                "run.latency_samples",
                self.latency_samples.map(|n| Value::Integer(n as i64)),
            ),
            ("thresholds.p95_ms", self.max_p95_ms.map(Value::Float)),
            (
                "thresholds.success_rate",
                self.min_success_rate.map(Value::Float),
            ),
            (
                "thresholds.min_samples",
                self.min_latency_samples.map(|n| Value::Integer(n as i64)),
            ),
        ]);
        flags.extend(self.documents.flags());
        flags
    }

    /// The effective configuration of this run.
    pub fn config(&self) -> Result<Config, String> {
        self.documents.load(&self.flags())
    }
}

/// `gonogo serve`'s flags (and `gonogo config`'s: every flag of both).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9090] [env: GONOGO_SERVE_LISTEN] [file: serve.listen]
    #[arg(long)]
    pub listen: Option<String>,
    /// The bearer token every route but /health requires; prefer GONOGO_SERVE_TOKEN
    /// (a flag shows in the process list). [file: serve.token]
    #[arg(long)]
    pub token: Option<String>,
    /// An origin (scheme://host:port) serve may send traffic to; repeatable.
    /// [env: GONOGO_SERVE_ALLOWED_TARGETS, comma-separated] [file: serve.allowed_targets]
    #[arg(long = "allow-target", value_name = "ORIGIN")]
    pub allow_targets: Vec<String>,
    /// Trusted public keys (*.pub.pem) confirm-promotion verifies sign-offs against.
    /// [env: GONOGO_TRUST_DIR] [file: serve.trust_dir]
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Longest one run may take [default: 10m] [env: GONOGO_SERVE_RUN_TIMEOUT]
    #[arg(long)]
    pub run_timeout: Option<String>,
    /// Probe traffic one Flagger rollout call judges [default: 20s] [env: GONOGO_SERVE_ROLLOUT_STEP]
    #[arg(long)]
    pub rollout_step: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl ServeArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        use toml::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let mut flags = crate::config::given([
            ("serve.listen", text(&self.listen)),
            ("serve.token", text(&self.token)),
            (
                "serve.allowed_targets",
                (!self.allow_targets.is_empty()).then(|| {
                    Value::Array(
                        self.allow_targets
                            .iter()
                            .cloned()
                            .map(Value::String)
                            .collect(),
                    )
                }),
            ),
            (
                "serve.trust_dir",
                self.trust
                    .as_ref()
                    .map(|p| Value::String(p.display().to_string())),
            ),
            ("serve.run_timeout", text(&self.run_timeout)),
            ("serve.rollout_step", text(&self.rollout_step)),
        ]);
        flags.extend(self.run.flags());
        flags
    }

    /// The effective configuration with these flags.
    pub fn config(&self) -> Result<Config, String> {
        self.run.documents.load(&self.flags())
    }
}

/// `gonogo config`: the table, or the one sentence saying what is wrong.
pub fn config_cmd(args: &ServeArgs) -> Exit {
    match args.config() {
        Ok(c) => {
            print!("{}", c.table());
            Exit::Done
        }
        Err(e) => {
            eprintln!("gonogo: {e}");
            Exit::Usage
        }
    }
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

/// The configuration and options of a run, refused before anything starts when they cannot work.
fn prepare(args: &RunArgs) -> Result<(Config, crate::run::Options), String> {
    let config = args.config()?;
    let opts = config.run_options();
    if opts.database_url.is_some() && opts.target.is_none() {
        return Err(InfraError::DatabaseWithoutTarget.to_string());
    }
    Ok((config, opts))
}

async fn run_inner(args: RunArgs) -> Result<Exit, String> {
    let (config, opts) = prepare(&args)?;
    let formats = config.formats();
    let report_dir = config.path("report.dir").unwrap_or_default();
    let options = config.render_options();
    let out = Session::run_once(&opts, None)
        .await
        .map_err(|e| e.to_string())?;
    let paths = out
        .write_with(&report_dir, &formats.files, options.clone())
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
        crate::github::publish_run(&out, options, &report_dir)?;
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
        Command::Config(a) => config_cmd(&a).into(),
        Command::Contract(a) => contract_cmd(&a).into(),
        Command::Serve(a) => match a.config() {
            Ok(c) => crate::serve::serve(c).await.into(),
            Err(e) => {
                eprintln!("gonogo: {e}");
                Exit::Usage.into()
            }
        },
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
            _ => unreachable!("parsed `run`"),
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
        let alone = parse(&["--database-url", "postgres://a:b@h/d"]).unwrap();
        let err = prepare(&alone).unwrap_err();
        assert!(err.contains("--database-url needs --target"), "{err}");
        assert!(!err.contains("a:b@h"), "{err}");
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
