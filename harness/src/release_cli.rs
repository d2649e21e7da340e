//! Release sub-commands of the `gonogo` CLI: `keygen`, `signoff`, `attest`, `verify`, `canary`,
//! `github`.
//!
//! The harness CLI flattens [`ReleaseCommand`] into its own sub-commands; the
//! logic lives in `gonogo_reports::signoff` and [`crate::canary`], this file maps
//! arguments, prints one clear line per outcome and returns the exit code.
//!
//! Exit codes are [`crate::exit`]'s: `verify` 0 APPROVED, 1 REJECTED or an
//! invalid signature, 2 PENDING; `canary` 0 PROMOTE, 1 ROLLBACK, 2 INCONCLUSIVE;
//! an attestation 0 when valid and PASSED, else 1;
//! `keygen`, `signoff` and `attest` 0 on success; every command 3 on a usage or
//! infrastructure error.

use std::path::{Path, PathBuf};

use gonogo_reports::attest::{self, Descriptor, Envelope, StatementInputs};
use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::file::ReportFile;
use gonogo_reports::model::CanaryOutcome;
use gonogo_reports::render::{self, Format, RenderOptions};
use gonogo_reports::signoff::{self, CheckStatus, TrustStore};
use gonogo_reports::Verdict;

use crate::canary::{self, CanaryOptions, EngineConfig, TokenSource};
use crate::config::args::{self, Layers};
use crate::config::{Config, ConfigError};
use crate::error::CliError;
use crate::exit::Exit;
use crate::github::GithubFiles;
use crate::ledger;
use crate::progress::{paint_verdict, ColorChoice, Progress};
use gonogo_ledger::{EntryKind, NewEntry};

/// Release decision sub-commands (sign-off and canary).
#[derive(Debug, clap::Subcommand)]
pub enum ReleaseCommand {
    /// Create an Ed25519 key pair for signing go/no-go reports.
    Keygen {
        /// Directory to write `<name>.key.pem` (mode 0600) and `<name>.pub.pem` into.
        #[arg(long)]
        out: PathBuf,
        /// File name stem of the key pair (e.g. the approver's name).
        #[arg(long, default_value = "signer")]
        name: String,
    },
    /// Sign a GO report as approved for one role (refused for NO-GO/INCONCLUSIVE).
    Signoff {
        /// The `go-no-go.json` to sign; updated in place, with its `.md`/`.html` siblings.
        report: PathBuf,
        /// The role signed for, e.g. `security` or `"Tech Lead"` (case and punctuation ignored).
        #[arg(long)]
        role: String,
        /// Who signs.
        #[arg(long)]
        approver: String,
        /// The signer's PKCS#8 PEM private key (from `gonogo keygen`).
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        layers: Layers<{ args::SIGNOFF }>,
    },
    /// Write the decision as an in-toto test-result attestation in a DSSE envelope.
    Attest(AttestArgs),
    /// Verify every sign-off of a report, or an attestation, against trusted public keys.
    Verify {
        /// The `go-no-go.json` to verify, or a DSSE envelope from `gonogo attest`.
        report: PathBuf,
        /// Directory of trusted public keys (`*.pub.pem`) and its `trust.toml`
        /// (who holds each key, which roles they may sign, revoked keys).
        #[arg(long)]
        trust: PathBuf,
        #[command(flatten)]
        layers: Documents,
        /// Also write `go-no-go.md` and `go-no-go.html` with the verified sign-off table here.
        #[arg(long)]
        render_dir: Option<PathBuf>,
    },
    /// Watch a canary deployment with probe traffic and decide PROMOTE or ROLLBACK.
    Canary(CanaryArgs),
    /// Publish a report to GitHub Actions (annotations, step summary, verdict/decision
    /// outputs); exits as `gonogo run` did for its verdict.
    Github {
        /// The `go-no-go.json` to publish.
        report: PathBuf,
        /// The sign-off roles and canary schedule the step summary shows.
        #[command(flatten)]
        layers: Documents,
    },
}

/// `gonogo attest`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The `go-no-go.json` the attestation is about.
    pub report: PathBuf,
    /// The signer's PKCS#8 PEM private key (from `gonogo keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// A subject besides the report's deployment commit, `NAME=sha256:HEX` (repeatable),
    /// e.g. the image digest that was tested.
    #[arg(long = "subject", value_name = "NAME=ALG:HEX")]
    pub subjects: Vec<String>,
    /// Where the envelope is written (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Where readers find the report (the predicate's `url`); default: its file:// URL.
    #[arg(long)]
    pub url: Option<String>,
    /// The configuration the run used (`--config`, else GONOGO_CONFIG, else ./gonogo.toml,
    /// else the built-in defaults), the contract it was judged by (`--contract`,
    /// `attest.contract`) and its R1 baseline (`--r1-baseline`, as `gonogo run` finds it).
    #[command(flatten)]
    pub layers: Layers<{ args::ATTEST }>,
}

/// `gonogo canary`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CanaryArgs {
    /// Base URL of the canary deployment.
    #[arg(long)]
    pub target: String,
    /// Canary plan (TOML); the release plan's schedule when omitted.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Multiply every phase duration by this (0.01 turns 12 h into 7.2 min).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// A `go-no-go.json` to write the canary section into (with its `.md`/`.html`
    /// siblings); without it the section is printed as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Probes started per second.
    #[arg(long, default_value_t = 2.0)]
    pub rps: f64,
    /// Tenants probing at once (each stays within its own rate limit).
    #[arg(long, default_value_t = 4)]
    pub tenants: usize,
    /// The secret that mints tenant tokens (`--jwt-secret`, `run.jwt_secret`; without it
    /// the anonymous-token endpoint), and the sign-off roles the re-rendered Markdown and HTML show.
    #[command(flatten)]
    pub layers: Layers<{ args::CANARY }>,
    #[command(flatten)]
    pub output: crate::progress::OutputArgs,
}

/// What the documents show (the required roles, the canary schedule) and the
/// configuration file: the settings of [`crate::config::settings::Group::Documents`].
pub type Documents = Layers<{ args::DOCUMENTS }>;

/// What the Markdown and HTML show, from `layers`' configuration.
fn render_options(layers: &Documents) -> Result<RenderOptions, ConfigError> {
    Ok(layers.load()?.render_options())
}

/// Runs one release sub-command: its exit, or why it could not do its work
/// ([`crate::error::settle`] makes that one sentence and exit 3).
pub async fn run(cmd: ReleaseCommand, color: ColorChoice) -> Result<Exit, CliError> {
    match cmd {
        ReleaseCommand::Keygen { out, name } => keygen(&out, &name),
        ReleaseCommand::Signoff {
            report,
            role,
            approver,
            key,
            layers,
        } => signoff_cmd(&report, &role, &approver, &key, &layers).await,
        ReleaseCommand::Attest(args) => attest(&args).await,
        ReleaseCommand::Verify {
            report,
            trust,
            layers,
            render_dir,
        } => verify(&report, &trust, &layers, render_dir.as_deref()),
        ReleaseCommand::Canary(args) => canary_cmd(args, color).await,
        ReleaseCommand::Github { report, layers } => github_cmd(&report, &layers),
    }
}

fn keygen(out: &Path, name: &str) -> Result<Exit, CliError> {
    let files = signoff::keygen(out, name)?;
    println!(
        "Wrote {} (private, 0600) and {} (public, key id {}). Share only the public key.",
        files.private_key.display(),
        files.public_key.display(),
        files.key_id
    );
    Ok(Exit::Done)
}

async fn signoff_cmd(
    path: &Path,
    role: &str,
    approver: &str,
    key: &Path,
    layers: &Layers<{ args::SIGNOFF }>,
) -> Result<Exit, CliError> {
    let config = layers.load()?;
    let webhook = config.webhook()?;
    let options = config.render_options();
    let mut file = ReportFile::load(path)?;
    let key = signoff::load_signing_key(key)?;
    let entry = signoff::sign(
        &mut file.report,
        &key,
        role,
        approver,
        chrono::Utc::now(),
        &options.policy.required_roles,
    )?;
    file.save()?;
    let summary = options.approval(&file.report);
    file.rerender_with(&summary, &options)?;
    let missing = if summary.missing_roles.is_empty() {
        "every required role has signed; run `gonogo verify` to check the signatures".to_string()
    } else {
        format!("still missing: {}", summary.missing_roles.join(", "))
    };
    println!(
        "Signed {} as {} ({}, key {}); {missing}.",
        path.display(),
        entry.role,
        entry.approver,
        entry.key_id
    );
    let mut recorded = ledger::about(EntryKind::Signoff, &file.report, &read_file(path)?);
    recorded.signer = Some(entry.approver.clone());
    recorded.role = Some(entry.role.clone());
    record_beside(&config, path, recorded).await?;
    let notice = crate::notify::Notice::signoff(&file.report, &entry, &summary);
    crate::notify::tell(webhook, notice).await;
    Ok(Exit::Done)
}

fn verify(
    path: &Path,
    trust_dir: &Path,
    layers: &Documents,
    render_dir: Option<&Path>,
) -> Result<Exit, CliError> {
    let trust = TrustStore::load_dir(trust_dir)?;
    if let Some(envelope) = read_envelope(path)? {
        return Ok(verify_attestation(path, &envelope, &trust));
    }
    if trust.policy().is_none() {
        // An attestation needs only keys; approving a report needs to know who
        // holds each key and which roles they may sign.
        return Err(CliError::NoTrustPolicy {
            dir: trust_dir.to_path_buf(),
        });
    }
    let file = ReportFile::load(path)?;
    let mut options = render_options(layers)?;
    options.policy.trust = Some(trust);
    // Checked once: the documents below show this very summary.
    let summary = options.approval(&file.report);
    for check in &summary.checks {
        let s = &check.signoff;
        match &check.status {
            CheckStatus::Valid => println!(
                "valid    {} by {} ({}, key {}, {})",
                s.role,
                s.approver,
                check.person.as_deref().unwrap_or("no person"),
                s.key_id,
                s.signed_at.to_rfc3339()
            ),
            CheckStatus::Invalid(reason) => {
                println!("INVALID  {} by {}: {reason}", s.role, s.approver)
            }
            CheckStatus::Unverified => println!("unchecked {} by {}", s.role, s.approver),
        }
    }
    // Each missing role once: in the reasons below.
    println!("Sign-off: {}", summary.state.label());
    for reason in &summary.reasons {
        println!("  - {reason}");
    }
    if let Some(dir) = render_dir {
        render::write_documents(
            &file.report,
            dir,
            &[Format::Markdown, Format::Html],
            &summary,
            &options,
        )?;
    }
    Ok(Exit::approval(&summary))
}

/// `gonogo github`: exits as `gonogo run` did for the report's verdict, so
/// the step fails as the run would.
fn github_cmd(path: &Path, layers: &Documents) -> Result<Exit, CliError> {
    let options = render_options(layers)?;
    let file = ReportFile::load(path)?;
    crate::github::publish(&file.report, &options, path, &GithubFiles::from_env())?;
    Ok(Exit::Verdict(file.report.decision.verdict))
}

fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

async fn attest(args: &AttestArgs) -> Result<Exit, CliError> {
    let bytes = read_file(&args.report)?;
    let file = ReportFile::load(&args.report)?;
    let key = signoff::load_signing_key(&args.key)?;
    let subjects = args
        .subjects
        .iter()
        .map(|s| Descriptor::parse_subject(s))
        .collect::<Result<Vec<_>, _>>()?;
    // The same layers as `gonogo run`: the flag, else GONOGO_*/SMOKE_* or gonogo.toml.
    let config = args.layers.load()?;
    let mut configuration = vec![match &config.settings.attest.contract {
        Some(p) => described("contract", p)?,
        None => built_in_contract(),
    }];
    configuration.push(match &config.settings.run.r1_baseline {
        Some(p) => described("r1-baseline", p)?,
        None => Descriptor::sha256_of(
            "r1-baseline (built in)",
            crate::run::DEFAULT_BASELINE.as_bytes(),
        ),
    });
    configuration.push(match config.file() {
        Some((p, _)) => described("config", p)?,
        None => Descriptor::sha256_of(
            "config (built-in defaults)",
            signoff::default_required_roles().join("\n").as_bytes(),
        ),
    });
    let url = match &args.url {
        Some(u) => u.clone(),
        None => {
            let abs = std::fs::canonicalize(&args.report).map_err(|source| CliError::Resolve {
                path: args.report.clone(),
                source,
            })?;
            url::Url::from_file_path(&abs)
                .map_err(|()| CliError::NoFileUrl { path: abs.clone() })?
                .to_string()
        }
    };
    let inputs = StatementInputs {
        subjects,
        configuration,
        url: Some(url),
    };
    let statement = attest::statement(&file.report, &bytes, &inputs)?;
    let envelope = attest::envelope(&statement, &key)?;
    let json = serde_json::to_vec_pretty(&envelope)?;
    std::fs::write(&args.out, &json).map_err(|source| CliError::Write {
        path: args.out.clone(),
        source,
    })?;
    let subjects = statement["subject"].as_array().map_or(0, Vec::len);
    println!(
        "Wrote {}: result {} (the decision is {}) for {subjects} subject(s), signed by key {}.",
        args.out.display(),
        attest::result_of(file.report.decision.verdict),
        file.report.decision.verdict.label(),
        envelope.signatures[0].keyid
    );
    let mut recorded = ledger::about(EntryKind::Attestation, &file.report, &bytes);
    recorded.outcome = Some(attest::result_of(file.report.decision.verdict).to_string());
    recorded.attestation_digest = Some(format!(
        "sha256:{}",
        gonogo_ledger::entry::sha256_hex(&json)
    ));
    record_beside(&config, &args.report, recorded).await?;
    Ok(Exit::Done)
}

/// Appends `entry` to the ledger beside the report at `report` (see
/// [`ledger::location`]) and says where.
async fn record_beside(config: &Config, report: &Path, entry: NewEntry) -> Result<(), CliError> {
    let (stored, location) = ledger::record(config, report.parent(), entry).await?;
    println!("{}", ledger::recorded_line(&stored, &location));
    Ok(())
}

/// The contract gonogo judges by (`gonogo contract`, `docs/CONTRACT.md`) and its
/// SHA-256: what a run was held to, wherever gonogo runs.
fn built_in_contract() -> Descriptor {
    use gonogo_suites::contract::text;
    let mut d = Descriptor::sha256_of(
        &format!("gonogo-contract-v{}.md", text::VERSION),
        text::markdown().as_bytes(),
    );
    d.annotations = Some(serde_json::json!({ "role": "contract" }));
    d
}

/// `path`'s name (as given) and SHA-256, for the predicate's `configuration`.
fn described(role: &str, path: &Path) -> Result<Descriptor, CliError> {
    let bytes = read_file(path)?;
    let mut d = Descriptor::sha256_of(&path.display().to_string(), &bytes);
    d.annotations = Some(serde_json::json!({ "role": role }));
    Ok(d)
}

/// The file as a DSSE envelope, or `None` when it is not one (a report).
fn read_envelope(path: &Path) -> Result<Option<Envelope>, CliError> {
    let bytes = read_file(path)?;
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(None);
    };
    if !attest::looks_like_envelope(&value) {
        return Ok(None);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|source| CliError::NotEnvelope {
            path: path.to_path_buf(),
            source,
        })
}

fn verify_attestation(path: &Path, envelope: &Envelope, trust: &TrustStore) -> Exit {
    match attest::verify(envelope, trust) {
        Ok(v) => {
            println!(
                "valid    attestation {} by key {} ({}): result {} for {}",
                path.display(),
                v.key_id,
                v.key_source,
                v.result,
                v.subjects().join(", ")
            );
            if v.result != "PASSED" {
                println!(
                    "  - the attestation is genuine, but its result is {}, not PASSED",
                    v.result
                );
            }
            Exit::Attestation(v.result == "PASSED")
        }
        Err(reason) => {
            println!("INVALID  attestation {}: {reason}", path.display());
            Exit::Attestation(false)
        }
    }
}

async fn canary_cmd(args: CanaryArgs, color: ColorChoice) -> Result<Exit, CliError> {
    let CanaryArgs {
        target,
        plan,
        time_scale,
        report: report_path,
        rps,
        tenants,
        layers,
        output,
    } = args;
    // Read once: the plan, the secret and the documents' roles all come from it.
    let config = layers.load()?;
    let (plan, plan_label) = match &plan {
        Some(path) => (CanaryPlan::load(path)?, path.display().to_string()),
        None => {
            let label = match config.canary_source() {
                crate::config::Source::Default => "default (release plan)".to_string(),
                source => format!("{} ({source})", config.canary_plan().name),
            };
            (config.canary_plan().clone(), label)
        }
    };
    let jwt_secret = config.settings.run.jwt_secret.clone();
    let mut recorded = NewEntry::new(EntryKind::Canary);
    recorded.target = Some(target.clone());
    recorded.environment = config.settings.run.environment.clone();
    // Read the report first: a bad path should fail before minutes of probing.
    let existing = report_path.as_deref().map(ReportFile::load).transpose()?;
    let render_options = config.render_options();
    let options = CanaryOptions {
        target,
        plan,
        plan_label,
        engine: EngineConfig {
            rps,
            time_scale,
            ..EngineConfig::default()
        },
        tenants,
        tokens: TokenSource::from_secret(jwt_secret.as_deref()),
        roots: match config.settings.run.cacert.clone() {
            Some(path) => crate::client::ExtraRoots::from_pem_file(&path)
                .map_err(|source| crate::run::InfraError::CaCert { path, source })?,
            None => crate::client::ExtraRoots::default(),
        },
    };
    let progress = Progress::stderr(output.verbosity(), color);
    let result = canary::run_watched(&options, &progress).await;
    progress.finish();
    let result = result?;
    for p in &result.phases {
        println!(
            "phase {:>4}: {:>5} samples, {} errors, success {}, p95 {} -> {}{}",
            p.name,
            p.samples,
            p.errors,
            p.success_rate
                .map_or("n/a".into(), |r| format!("{:.1}%", r * 100.0)),
            p.p95_ms.map_or("n/a".into(), |v| format!("{v:.0} ms")),
            p.verdict,
            p.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    let light = match result.outcome {
        CanaryOutcome::Promote => Verdict::Go,
        CanaryOutcome::Rollback => Verdict::NoGo,
        CanaryOutcome::Inconclusive => Verdict::Inconclusive,
    };
    println!(
        "{}",
        paint_verdict(
            &format!("Canary: {}: {}", result.outcome, result.reason),
            light,
            color.for_stdout()
        )
    );
    recorded.outcome = Some(result.outcome.to_string());
    if let Some(file) = &existing {
        recorded.run_id = Some(file.report.run.id.clone());
        recorded.commit = file.report.run.target.git_commit.clone();
    }
    let beside = report_path.as_deref().and_then(Path::parent);
    let (stored, location) = ledger::record(&config, beside, recorded).await?;
    println!("{}", ledger::recorded_line(&stored, &location));
    match existing {
        Some(mut file) => {
            file.record_canary(&result, gonogo_reports::file::CanaryRecord::Run);
            file.save()?;
            file.rerender(&render_options)?;
        }
        None => println!("{}", serde_json::to_string_pretty(&result)?),
    }
    Ok(Exit::Canary(result.outcome))
}

#[cfg(test)]
mod tests;
