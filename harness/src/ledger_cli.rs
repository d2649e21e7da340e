//! The ledger's own commands in the `gonogo` CLI — `ledger verify`, `ledger
//! head`, `history`, `can-i-deploy`, `record-deployment` — over
//! [`crate::ledger`] (where the ledger is, its key, the hooks).

use std::path::{Path, PathBuf};

use gonogo_ledger::questions::{self, HistoryFilter};
use gonogo_ledger::{Entry, EntryKind, Ledger, Location, NewEntry, SignedHead};
use gonogo_reports::signoff::{self, TrustStore};

use crate::config::args::{self, Layers};
use crate::config::Config;
use crate::error::CliError;
use crate::exit::Exit;
use crate::ledger::{default_key, location, record, since};

/// The ledger's settings and the roles environments require by default.
pub type LedgerLayers = Layers<{ args::LEDGER }>;

/// The ledger's own sub-commands.
#[derive(Debug, clap::Subcommand)]
pub enum LedgerCommand {
    /// Check the ledger's hash chain and signed heads, or print its head.
    #[command(subcommand)]
    Ledger(LedgerAction),
    /// What was decided: runs, sign-offs, attestations, canaries and deployments, oldest first.
    History(HistoryArgs),
    /// May this commit go to this environment? Exit 0 only when its latest run there is GO,
    /// approved under the environment's required roles, and attested when required.
    CanIDeploy(CanIDeployArgs),
    /// Record that a commit was deployed to an environment.
    RecordDeployment(RecordDeploymentArgs),
}

/// `gonogo ledger …`.
#[derive(Debug, clap::Subcommand)]
pub enum LedgerAction {
    /// Verify every entry and signed head; exit 1 naming the first bad entry.
    Verify {
        /// Trusted public keys (`*.pub.pem`) the heads must be signed by (default: the
        /// public half of the ledger's own key).
        #[arg(long, value_name = "DIR")]
        trust: Option<PathBuf>,
        /// A head saved earlier with `gonogo ledger head`: the ledger must still hold what it vouches for.
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
        #[command(flatten)]
        layers: LedgerLayers,
    },
    /// Print the newest signed head as JSON, to keep outside the ledger (e.g. as a CI artifact).
    Head {
        #[command(flatten)]
        layers: LedgerLayers,
    },
}

/// How `history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
}

/// `gonogo history`'s arguments.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only this environment's entries (a sign-off or attestation counts as its run's).
    #[arg(long = "env", value_name = "ENVIRONMENT")]
    pub environment: Option<String>,
    /// Only entries recorded since this time (RFC 3339, or a date: 2026-11-01).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub layers: LedgerLayers,
}

/// `gonogo can-i-deploy`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CanIDeployArgs {
    /// The commit (or version) to deploy, as the runs recorded it.
    #[arg(long)]
    pub commit: String,
    /// The environment it would go to.
    #[arg(long = "to", value_name = "ENVIRONMENT")]
    pub environment: String,
    /// Also print the answer as JSON (`answer`, `run_id`, …) on a second line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub layers: LedgerLayers,
}

/// `gonogo record-deployment`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RecordDeploymentArgs {
    /// The commit (or version) deployed.
    #[arg(long)]
    pub commit: String,
    /// The environment it went to.
    #[arg(long = "to", value_name = "ENVIRONMENT")]
    pub environment: String,
    /// The deployment's base URL, recorded with it.
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub layers: LedgerLayers,
}

/// Runs one of the ledger's commands.
pub async fn run(cmd: LedgerCommand) -> Result<Exit, CliError> {
    match cmd {
        LedgerCommand::Ledger(LedgerAction::Verify {
            trust,
            head,
            layers,
        }) => verify_cmd(&layers.load()?, trust.as_deref(), head.as_deref()).await,
        LedgerCommand::Ledger(LedgerAction::Head { layers }) => head_cmd(&layers.load()?).await,
        LedgerCommand::History(args) => history_cmd(&args).await,
        LedgerCommand::CanIDeploy(args) => can_i_deploy_cmd(&args).await,
        LedgerCommand::RecordDeployment(args) => {
            let config = args.layers.load()?;
            let mut entry = NewEntry::new(EntryKind::Deployment);
            entry.environment = Some(args.environment.clone());
            entry.commit = Some(args.commit.clone());
            entry.target = args.target.clone();
            entry.outcome = Some("deployed".to_owned());
            let (stored, location) = record(&config, None, entry).await?;
            println!(
                "Recorded: {} deployed to {} (entry {} of {location}).",
                args.commit, args.environment, stored.seq
            );
            Ok(Exit::Done)
        }
    }
}

/// The file's bytes, for the entry's digest.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

async fn open(config: &Config) -> Result<(Ledger, Location), CliError> {
    let location = location(config, None);
    if let Location::Sqlite(path) = &location {
        if !path.exists() {
            return Err(CliError::NoLedger { path: path.clone() });
        }
    }
    Ok((Ledger::open(&location).await?, location))
}

async fn verify_cmd(
    config: &Config,
    trust_dir: Option<&Path>,
    head_file: Option<&Path>,
) -> Result<Exit, CliError> {
    let (ledger, location) = open(config).await?;
    let (trust, trusted) = match trust_dir {
        Some(dir) => (
            TrustStore::load_dir(dir)?,
            format!("the keys of {}", dir.display()),
        ),
        None => {
            let path = match &config.settings.ledger.key {
                Some(p) => p.clone(),
                None => default_key(&location).ok_or(crate::ledger::LedgerUseError::KeyNeeded)?,
            };
            let key = signoff::load_signing_key(&path)?;
            let mut store = TrustStore::default();
            let id = store.insert(key.verifying_key(), path.display().to_string());
            (
                store,
                format!("the ledger's own key {id} ({})", path.display()),
            )
        }
    };
    let external = match head_file {
        Some(path) => Some(serde_json::from_slice::<SignedHead>(&read(path)?).map_err(
            |source| CliError::NotHead {
                path: path.to_path_buf(),
                source,
            },
        )?),
        None => None,
    };
    let entries = ledger.entries().await;
    let heads = ledger.heads().await;
    ledger.close().await;
    let (entries, heads) = (entries?, heads?);
    match gonogo_ledger::verify(&entries, &heads, &trust, external.as_ref()) {
        Ok(v) => {
            println!(
                "valid    {location}: {} entries, {} signed heads checked against {trusted}{}",
                v.entries,
                v.heads,
                if v.external_head {
                    ", and the head given"
                } else {
                    ""
                }
            );
            if let Some(hash) = v.head_hash {
                println!("  head: {} entries ending in {hash}", v.entries);
            }
            Ok(Exit::Ledger(true))
        }
        Err(problem) => {
            println!("INVALID  {location}: {problem}");
            Ok(Exit::Ledger(false))
        }
    }
}

async fn head_cmd(config: &Config) -> Result<Exit, CliError> {
    let (ledger, location) = open(config).await?;
    let head = ledger.head().await;
    ledger.close().await;
    let head = head?.ok_or(CliError::EmptyLedger {
        location: location.to_string(),
    })?;
    println!("{}", serde_json::to_string_pretty(&head)?);
    Ok(Exit::Done)
}

async fn history_cmd(args: &HistoryArgs) -> Result<Exit, CliError> {
    let config = args.layers.load()?;
    let filter = HistoryFilter {
        environment: args.environment.clone(),
        since: args.since.as_deref().map(since).transpose()?,
    };
    let (ledger, _) = open(&config).await?;
    let entries = ledger.entries().await;
    ledger.close().await;
    let entries = entries?;
    let kept = questions::history(&entries, &filter);
    let printed = match args.format {
        HistoryFormat::Json => serde_json::to_string_pretty(&kept)? + "\n",
        HistoryFormat::Table => table(&kept),
    };
    print!("{printed}");
    Ok(Exit::Done)
}

/// `history`'s table: one line per entry, columns padded.
fn table(entries: &[&Entry]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut rows = vec![[
        "seq",
        "recorded at",
        "kind",
        "environment",
        "commit",
        "outcome",
        "run",
        "detail",
    ]
    .map(String::from)];
    for e in entries {
        let f = &e.fields;
        let detail = match f.kind {
            EntryKind::Signoff => format!("{} signed as {}", dash(&f.signer), dash(&f.role)),
            EntryKind::Attestation => dash(&f.attestation_digest),
            _ => dash(&f.target),
        };
        rows.push([
            e.seq.to_string(),
            e.recorded_at.clone(),
            f.kind.to_string(),
            dash(&f.environment),
            dash(&f.commit),
            dash(&f.outcome),
            dash(&f.run_id),
            detail,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

async fn can_i_deploy_cmd(args: &CanIDeployArgs) -> Result<Exit, CliError> {
    let config = args.layers.load()?;
    let policy = config.environment_policy(&args.environment);
    let (ledger, _) = open(&config).await?;
    let entries = ledger.entries().await;
    ledger.close().await;
    let answer = questions::can_i_deploy(&entries?, &args.commit, &args.environment, &policy);
    println!("{}", answer.sentence(&args.commit, &args.environment));
    if args.json {
        println!("{}", serde_json::to_string(&answer)?);
    }
    Ok(Exit::Deploy(answer.refusal()))
}
