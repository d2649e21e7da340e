//! The `gonogo` command line. Exit codes: see [`crate::exit`] (0 GO, 1 NO-GO,
//! 2 INCONCLUSIVE, 3 usage or infrastructure error with one clear sentence on stderr).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use gonogo_reports::Verdict;

use crate::config::{Config, ConfigError, Flags};
use crate::error::{settle, CliError};
use crate::exit::Exit;
use crate::progress::{ColorChoice, OutputArgs, Progress};
use crate::run::{InfraError, Session};

/// `gonogo --version`: the crate version and the commit it was built from (see `build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GONOGO_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "gonogo",
    version = VERSION,
    about = "Release gate for the Knowledge API: smoke suites, gates, go/no-go report"
)]
pub struct Cli {
    /// Colour the verdict, the progress line and help: auto (a terminal, and NO_COLOR
    /// unset or empty), always or never.
    #[arg(long, value_enum, value_name = "WHEN", global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites A-D and the release gates, decide, and write the report.
    Run(RunArgs),
    /// Print the effective configuration: each setting's value and where it came from (secrets masked).
    Config(ConfigArgs),
    /// Serve the gate to Flagger's webhooks and Argo Rollouts' web metric (bearer token, allowlist).
    ///
    /// The runs it starts are judged by the thresholds, sample counts and R1 baseline of
    /// gonogo.toml and GONOGO_* variables (`gonogo config` shows them).
    Serve(ServeArgs),
    /// Print the contract gonogo judges by: every clause in the contract's words, its level and
    /// what a correct server may do instead (docs/CONTRACT.md is this output).
    Contract(ContractArgs),
    #[command(flatten)]
    Release(crate::release_cli::ReleaseCommand),
    /// Print a shell completion script, e.g. `gonogo completions bash > /etc/bash_completion.d/gonogo`.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print gonogo's man page (roff), or write one per command into a directory.
    Man {
        /// Write gonogo.1, gonogo-run.1, … here instead of printing gonogo.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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
pub fn contract_cmd(args: &ContractArgs) -> Result<Exit, CliError> {
    use gonogo_suites::contract::text;
    let printed = match args.format {
        ContractFormat::Md => text::markdown(),
        ContractFormat::Json => {
            serde_json::to_string_pretty(&text::json()).map_err(CliError::ContractJson)? + "\n"
        }
    };
    print_all(printed.as_bytes(), "the contract")
}

/// Where a run goes, with what access, and where its report is kept: `gonogo run`'s
/// flags that `gonogo serve` also takes for the runs it starts. Each is also a
/// `GONOGO_*` variable and a key of `gonogo.toml` (see `gonogo config`); a flag wins over both.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
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
    // Help from the settings' default, so it is written once.
    #[arg(long, help = format!(
        "Where the report is written [default: {}] [env: GONOGO_REPORT_DIR] [file: report.dir]",
        crate::config::settings::DEFAULT_REPORT_DIR
    ))]
    pub report_dir: Option<PathBuf>,
    /// The sign-off roles and canary schedule the Markdown and HTML show, and the configuration file.
    #[command(flatten)]
    pub documents: crate::release_cli::RolesArgs,
}

impl TargetArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        use toml::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let mut flags = crate::config::given([
            ("run.target", text(&self.target)),
            ("run.jwt_secret", text(&self.jwt_secret)),
            (
                "run.cacert",
                self.cacert
                    .as_ref()
                    .map(|p| Value::String(p.display().to_string())),
            ),
            (
                "report.dir",
                self.report_dir
                    .as_ref()
                    .map(|p| Value::String(p.display().to_string())),
            ),
            ("run.database_url", text(&self.database_url)),
            (
                "waivers.api_only_isolation",
                text(&self.accept_api_only_isolation),
            ),
        ]);
        flags.extend(self.documents.flags());
        flags
    }
}

/// How one `gonogo run` is carried out, judged and written: its own flags
/// (`gonogo serve`'s runs read these settings from gonogo.toml or GONOGO_*).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Run")]
pub struct TuningArgs {
    /// Report formats, comma-separated (json is always written): json,md,junit,html;
    /// `github` also publishes to GitHub Actions (annotations, step summary, outputs).
    /// [default: json] [env: GONOGO_FORMATS] [file: report.formats]
    #[arg(long)]
    pub format: Option<String>,
    /// The R1 OpenAPI baseline Gate 1 compares against (default: the committed one).
    /// [env: GONOGO_R1_BASELINE, SMOKE_R1_BASELINE]
    #[arg(long)]
    pub r1_baseline: Option<PathBuf>,
    /// Free-form label of the deployment, shown in the report. [env: GONOGO_LABEL]
    #[arg(long)]
    pub label: Option<String>,
    /// The commit (or version) of the target's build, shown in the report; without it a
    /// remote run reads the target's version header or /health.
    /// [env: GONOGO_TARGET_COMMIT] [file: run.target_commit]
    #[arg(long, value_name = "SHA")]
    pub target_commit: Option<String>,
    /// Searches the latency phase sends (default 200; at least 72 for the p95's
    /// 95 % interval to exist, else `query_latency_p95_ms` is inconclusive).
    /// [env: GONOGO_LATENCY_SAMPLES, SMOKE_LATENCY_SAMPLES]
    #[arg(long)]
    pub latency_samples: Option<usize>,
    /// The seed of the generated inputs; a report's case notes name theirs, and the same
    /// seed replays the same cases (default: a fresh one each run). [env: GONOGO_SEED]
    /// [file: run.seed]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Search p95 threshold in ms, at most the contract's 400. [env: GONOGO_MAX_P95_MS] [file: thresholds.p95_ms]
    #[arg(long)]
    pub max_p95_ms: Option<f64>,
    /// Success-rate threshold, at least the contract's 0.99. [env: GONOGO_MIN_SUCCESS_RATE]
    #[arg(long)]
    pub min_success_rate: Option<f64>,
    /// Fewest latency searches the p95 is judged on (at least 72). [env: GONOGO_MIN_LATENCY_SAMPLES]
    #[arg(long)]
    pub min_latency_samples: Option<u64>,
}

impl TuningArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        use toml::Value;
        let list = |v: &Option<String>| {
            v.as_ref()
                .and_then(|t| crate::config::file::from_text(crate::config::Kind::List, t))
        };
        crate::config::given([
            ("report.formats", list(&self.format)),
            (
                "run.r1_baseline",
                self.r1_baseline
                    .as_ref()
                    .map(|p| Value::String(p.display().to_string())),
            ),
            ("run.label", self.label.clone().map(Value::String)),
            (
                "run.target_commit",
                self.target_commit.clone().map(Value::String),
            ),
            (
                "run.latency_samples",
                self.latency_samples.map(|n| Value::Integer(n as i64)),
            ),
            (
                "run.seed",
                self.seed
                    .map(|n| Value::Integer(n.min(i64::MAX as u64) as i64)),
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
        ])
    }
}

/// `gonogo run`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl RunArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        let mut flags = self.target.flags();
        flags.extend(self.tuning.flags());
        flags
    }

    /// The effective configuration of this run.
    pub fn config(&self) -> Result<Config, ConfigError> {
        self.target.documents.load(&self.flags())
    }
}

/// `gonogo serve`'s own flags.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Serve")]
pub struct ServeOwnArgs {
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
}

impl ServeOwnArgs {
    /// The flags given, as configuration layers.
    pub fn flags(&self) -> Flags {
        use toml::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        crate::config::given([
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
        ])
    }
}

/// `gonogo serve`'s flags: its own, and where its runs go.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub serve: ServeOwnArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

impl ServeArgs {
    /// The effective configuration with these flags.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut flags = self.serve.flags();
        flags.extend(self.target.flags());
        self.target.documents.load(&flags)
    }
}

/// `gonogo config`'s flags: every flag of `run` and `serve`, so it shows what either would use.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub serve: ServeOwnArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

impl ConfigArgs {
    /// The effective configuration with these flags.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut flags = self.serve.flags();
        flags.extend(self.target.flags());
        flags.extend(self.tuning.flags());
        self.target.documents.load(&flags)
    }
}

/// `gonogo config`: the table, or the one sentence saying what is wrong.
pub fn config_cmd(args: &ConfigArgs) -> Result<Exit, CliError> {
    print!("{}", args.config()?.table());
    Ok(Exit::Done)
}

/// The configuration and options of a run, refused before anything starts when they cannot work.
fn prepare(args: &RunArgs) -> Result<(Config, crate::run::Options), CliError> {
    let config = args.config()?;
    let opts = config.run_options();
    if opts.database_url.is_some() && opts.target.is_none() {
        return Err(InfraError::DatabaseWithoutTarget.into());
    }
    Ok((config, opts))
}

/// `gonogo run`: returns how it ended.
pub async fn run(args: RunArgs, color: ColorChoice) -> Result<Exit, CliError> {
    let (config, opts) = prepare(&args)?;
    let formats = config.formats();
    let report_dir = config.report_dir();
    let options = config.render_options();
    let progress = std::sync::Arc::new(Progress::stderr(args.output.verbosity(), color));
    let out = Session::run_once_watched(&opts, None, progress.clone()).await;
    let out = out.inspect_err(|_| progress.finish())?;
    progress.phase("writing reports");
    let paths = out.write_with(&report_dir, &formats.files, options.clone());
    progress.finish();
    let paths = paths?;
    let d = &out.report.decision;
    println!(
        "{}",
        crate::progress::paint_verdict(
            &verdict_line(d.verdict, out.suites_time),
            d.verdict,
            color.for_stdout()
        )
    );
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
fn non_empty_reason(s: &str) -> Result<String, EmptyReason> {
    let reason = s.trim();
    if reason.is_empty() {
        return Err(EmptyReason);
    }
    Ok(reason.to_owned())
}

/// `--accept-api-only-isolation` given without a reason (clap shows this).
#[derive(Debug, thiserror::Error)]
#[error("give the reason API-only isolation is acceptable, e.g. --accept-api-only-isolation \"staging has no database access; RLS proven in CI\"")]
pub struct EmptyReason;

/// The first line `gonogo run` prints: the verdict exactly as the JSON spells it.
fn verdict_line(verdict: Verdict, suites_time: Duration) -> String {
    format!(
        "gonogo: {verdict} — suites took {:.2} s",
        suites_time.as_secs_f64()
    )
}

/// `--color`'s value among `args`, read before clap parses them so its own help
/// and errors follow it too (clap's `auto` honours `NO_COLOR` as ours does).
fn color_in(args: &[OsString]) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = it.next() {
        let value = match arg.as_ref() {
            "--" => break,
            "--color" => it.next().map(|v| v.into_owned()),
            a => a.strip_prefix("--color=").map(str::to_owned),
        };
        if let Some(c) = value.and_then(|v| ColorChoice::from_str(&v, true).ok()) {
            choice = c;
        }
    }
    choice
}

/// The command line as clap sees it, coloured as `--color` says.
pub fn command(color: ColorChoice) -> clap::Command {
    Cli::command().color(color.for_clap())
}

/// Parses `args` as clap would print its help and errors for them.
fn parse_cli(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut cmd = command(color_in(&args));
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.with_cmd(&cmd))
}

/// `gonogo completions SHELL`: the script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    let mut cmd = command(ColorChoice::Never);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "gonogo", &mut out);
    print_all(&out, "the completion script")
}

/// `gonogo man`: gonogo.1 on stdout, or every command's page written into `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<Exit, CliError> {
    // Every page's header names the version, sub-commands' too.
    let cmd = command(ColorChoice::Never).propagate_version(true);
    let Some(dir) = dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(CliError::ManPage)?;
        return print_all(&out, "the man page");
    };
    std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(cmd, dir))
        .map_err(|source| CliError::ManPages {
            dir: dir.to_path_buf(),
            source,
        })?;
    println!("gonogo: man pages written to {}", dir.display());
    Ok(Exit::Done)
}

/// Writes `bytes` to stdout; a reader that stops early (`| head`) is not an error.
fn print_all(bytes: &[u8], what: &'static str) -> Result<Exit, CliError> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Done),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Done),
        Err(source) => Err(CliError::Print { what, source }),
    }
}

/// Parses `args` and runs the command. Usage errors exit 3 ([`Exit::Usage`]).
pub async fn main_with(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match parse_cli(args.into_iter().collect()) {
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
    settle(match cli.command {
        Command::Run(a) => run(a, cli.color).await,
        Command::Config(a) => config_cmd(&a),
        Command::Contract(a) => contract_cmd(&a),
        Command::Serve(a) => match a.config() {
            Ok(c) => crate::serve::serve(c).await.map_err(CliError::from),
            Err(e) => Err(e.into()),
        },
        Command::Release(r) => crate::release_cli::run(r, cli.color).await,
        Command::Completions { shell } => completions(shell),
        Command::Man { dir } => man(dir.as_deref()),
    })
    .into()
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
        assert_eq!(
            ok.target.accept_api_only_isolation.as_deref(),
            Some("no db")
        );
    }

    #[test]
    fn the_database_url_needs_a_target_and_is_never_shown_in_help() {
        let alone = parse(&["--database-url", "postgres://a:b@h/d"]).unwrap();
        let err = prepare(&alone).unwrap_err().to_string();
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
    fn the_report_dir_help_shows_the_settings_default() {
        let help = Cli::try_parse_from(["gonogo", "run", "--help"])
            .unwrap_err()
            .to_string();
        let line = help
            .lines()
            .skip_while(|l| !l.contains("--report-dir"))
            .take(3)
            .collect::<String>();
        let default = crate::config::settings::DEFAULT_REPORT_DIR;
        assert!(line.contains(&format!("[default: {default}]")), "{help}");
    }

    #[test]
    fn the_color_flag_is_read_before_clap_parses_so_help_and_errors_follow_it() {
        let color = |args: &[&str]| {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            color_in(&args)
        };
        assert_eq!(color(&["gonogo", "run"]), ColorChoice::Auto);
        assert_eq!(
            color(&["gonogo", "--color", "never", "run"]),
            ColorChoice::Never
        );
        assert_eq!(
            color(&["gonogo", "run", "--color=always"]),
            ColorChoice::Always
        );
        // The last one wins, as clap's own parse does; after `--` nothing is a flag.
        assert_eq!(
            color(&["gonogo", "--color=never", "run", "--color", "always"]),
            ColorChoice::Always
        );
        assert_eq!(
            color(&["gonogo", "run", "--", "--color=never"]),
            ColorChoice::Auto
        );
        assert_eq!(color(&["gonogo", "--color", "pink"]), ColorChoice::Auto);
        let parsed = parse_cli(
            ["gonogo", "--color", "never", "run", "-q"]
                .map(OsString::from)
                .to_vec(),
        )
        .unwrap();
        assert_eq!(parsed.color, ColorChoice::Never);
        assert!(parse_cli(["gonogo", "run", "-q", "-v"].map(OsString::from).to_vec()).is_err());
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
