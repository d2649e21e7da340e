//! The `gonogo` command line. Exit codes: see [`crate::exit`] (0 GO, 1 NO-GO,
//! 2 INCONCLUSIVE, 3 usage or infrastructure error with one clear sentence on stderr).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use gonogo_reports::Verdict;

use crate::config::args::{self, Layers};
use crate::config::{Config, ConfigError};
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
    #[command(flatten)]
    Ledger(crate::ledger_cli::LedgerCommand),
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

/// `gonogo run`'s flags: the settings of its groups (target, run, documents;
/// each also a `GONOGO_*` variable and a key of `gonogo.toml`, a flag winning
/// over both, see `gonogo config`) and what stderr shows.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub layers: Layers<{ args::RUN }>,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl RunArgs {
    /// The effective configuration of this run.
    pub fn config(&self) -> Result<Config, ConfigError> {
        self.layers.load()
    }
}

/// `gonogo serve`'s flags: its own settings, and where its runs go.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub layers: Layers<{ args::SERVE }>,
}

/// `gonogo config`'s flags: every setting's, so it shows what any command would use.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub layers: Layers<{ args::ALL }>,
}

/// `gonogo config`: the table, or the one sentence saying what is wrong.
pub fn config_cmd(args: &ConfigArgs) -> Result<Exit, CliError> {
    print!("{}", args.layers.load()?.table());
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
    let webhook = config.webhook()?;
    let report_dir = config.report_dir();
    let mode = match opts.target {
        Some(_) => gonogo_reports::Mode::Remote,
        None => gonogo_reports::Mode::Hermetic,
    };
    // Read before anything starts: a report that cannot be compared with is a usage error.
    let previous = match config.compare_to() {
        Some(to) => Some(crate::compare::previous(&to, &report_dir, mode)?),
        None => None,
    };
    let progress = std::sync::Arc::new(Progress::stderr(args.output.verbosity(), color));
    let out = Session::run_once_watched(&opts, None, progress.clone()).await;
    let mut out = out.inspect_err(|_| progress.finish())?;
    if let Some(Some((earlier, source))) = &previous {
        let comparison = gonogo_reports::compare::compare(
            &out.report,
            earlier,
            source,
            config.compare_criteria(),
        );
        gonogo_reports::compare::apply(&mut out.report, comparison);
    }
    progress.phase("writing reports");
    // Built once: the files and GitHub publish the same report with the same secrets masked.
    let publication = config.publication().masking(out.secrets());
    let paths = publication.write(&out.report).map_err(InfraError::from);
    progress.finish();
    let paths = paths?;
    let kept = crate::compare::keep(&report_dir, &publication.json_path(), &out.report)?;
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
    match (&previous, &out.report.comparison) {
        (_, Some(c)) => println!("  {}", gonogo_reports::render::compared::summary(c)),
        (Some(None), None) => println!(
            "  compared with: nothing, no earlier GO of a {mode} run under contract {} in {}",
            gonogo_suites::contract::text::VERSION,
            crate::compare::history_dir(&report_dir).display()
        ),
        _ => {}
    }
    for p in &paths {
        println!("  report: {}", p.display());
    }
    println!("  kept: {}", kept.display());
    record_run(&config, &out.report, &paths).await?;
    if publication.formats.github {
        crate::github::publish_run(&out.report, &publication)?;
    }
    let notice = crate::notify::Notice::decision(&out.report, &out.secrets());
    crate::notify::tell(webhook, notice).await;
    Ok(Exit::Verdict(d.verdict))
}

/// Appends the run to the ledger (its JSON report's digest with it) and says where.
async fn record_run(
    config: &Config,
    report: &gonogo_reports::model::Report,
    paths: &[PathBuf],
) -> Result<(), CliError> {
    use crate::ledger::{about, record, recorded_line};
    use crate::ledger_cli::read;
    let Some(json) = paths
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
    else {
        return Ok(());
    };
    let mut entry = about(gonogo_ledger::EntryKind::Run, report, &read(json)?);
    entry.environment = config.settings.run.environment.clone();
    entry.outcome = Some(report.decision.verdict.to_string());
    let (stored, location) = record(config, None, entry).await?;
    println!("{}", recorded_line(&stored, &location));
    Ok(())
}

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
        Command::Serve(a) => match a.layers.load() {
            Ok(c) => crate::serve::serve(c).await.map_err(CliError::from),
            Err(e) => Err(e.into()),
        },
        Command::Release(r) => crate::release_cli::run(r, cli.color).await,
        Command::Ledger(l) => crate::ledger_cli::run(l).await,
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
        let empty = parse(&["--target", "http://x", "--accept-api-only-isolation", "  "]).unwrap();
        let err = prepare(&empty).unwrap_err().to_string();
        assert!(err.contains("give the reason"), "{err}");
        let ok = parse(&[
            "--target",
            "http://x",
            "--accept-api-only-isolation",
            " no db ",
        ])
        .unwrap();
        let (_, opts) = prepare(&ok).unwrap();
        assert_eq!(opts.accept_api_only_isolation.as_deref(), Some("no db"));
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
        let default = crate::config::settings::find("report.dir")
            .and_then(|s| s.default)
            .unwrap();
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
