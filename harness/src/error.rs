//! Why a `gonogo` command could not do its work: one [`CliError`] with a
//! `From` for each module's and crate's error, so commands use `?` and keep
//! every cause typed; [`settle`] turns it into its one sentence on stderr and
//! [`Exit::Usage`] (exit 3), once, for every command.

use std::io;
use std::path::PathBuf;

use gonogo_reports::attest::AttestError;
use gonogo_reports::canary_plan::PlanError;
use gonogo_reports::file::FileError;
use gonogo_reports::render::RenderError;
use gonogo_reports::signoff::{self, SignoffError};

use crate::canary::CanaryError;
use crate::config::ConfigError;
use crate::exit::Exit;
use crate::github::GithubError;
use crate::run::InfraError;
use crate::serve::ServeError;

/// A usage or infrastructure error of any command: nothing was decided (exit 3).
/// Display is the one sentence stderr shows after `gonogo: `.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Infra(#[from] InfraError),
    #[error(transparent)]
    Canary(#[from] CanaryError),
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Report(#[from] FileError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Signoff(#[from] SignoffError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Attest(#[from] AttestError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Ledger(#[from] gonogo_ledger::LedgerError),
    #[error(transparent)]
    LedgerUse(#[from] crate::ledger::LedgerUseError),
    #[error("there is no ledger at {}: a `gonogo run` creates it (or set ledger.path / ledger.database_url)", path.display())]
    NoLedger { path: PathBuf },
    #[error("{location} is empty: it has no head to print")]
    EmptyLedger { location: String },
    #[error("{} is not a head printed by `gonogo ledger head` ({source})", path.display())]
    NotHead {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A result (the canary section, an envelope) that cannot be written as JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot resolve {}: {source}", path.display())]
    Resolve { path: PathBuf, source: io::Error },
    #[error("{} has no file:// URL", path.display())]
    NoFileUrl { path: PathBuf },
    #[error("{} is not a DSSE envelope ({source})", path.display())]
    NotEnvelope {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// An attestation needs only keys; approving a report needs to know who
    /// holds each key and which roles they may sign.
    #[error("{} has no {}: add one naming each key's person and the roles they may sign (see \"Trust directory\" in reports/README.md)", dir.display(), signoff::POLICY_FILE)]
    NoTrustPolicy { dir: PathBuf },
    #[error("cannot write the contract as JSON: {0}")]
    ContractJson(#[source] serde_json::Error),
    #[error("cannot render the man page: {0}")]
    ManPage(#[source] io::Error),
    #[error("cannot write the man pages to {}: {source}", dir.display())]
    ManPages { dir: PathBuf, source: io::Error },
    /// Stdout refused what a command prints (a reader that stops early is not this).
    #[error("cannot print {what}: {source}")]
    Print {
        what: &'static str,
        source: io::Error,
    },
}

/// How a command ended: its exit, or its error's one sentence on stderr and exit 3.
pub fn settle<E: Into<CliError>>(result: Result<Exit, E>) -> Exit {
    result.unwrap_or_else(|e| {
        eprintln!("gonogo: {}", e.into());
        Exit::Usage
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_settles_as_a_usage_exit_and_a_success_passes_through() {
        let refused: Result<Exit, CliError> = Err(CliError::NoFileUrl {
            path: PathBuf::from("x"),
        });
        assert_eq!(settle(refused), Exit::Usage);
        let typed: Result<Exit, ConfigError> = Err(ConfigError::Missing {
            path: PathBuf::from("nope.toml"),
            how: "flag --config".into(),
        });
        assert_eq!(settle(typed), Exit::Usage);
        assert_eq!(settle(Ok::<_, CliError>(Exit::Done)), Exit::Done);
    }

    #[test]
    fn a_wrapped_error_keeps_its_sentence_and_its_cause() {
        let source = io::Error::new(io::ErrorKind::NotFound, "gone");
        let e = CliError::Read {
            path: PathBuf::from("r.json"),
            source,
        };
        assert_eq!(e.to_string(), "cannot read r.json: gone");
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("gone"));
        let e = CliError::from(crate::run::InfraError::DatabaseWithoutTarget);
        assert_eq!(
            e.to_string(),
            "--database-url needs --target: a hermetic run uses its own database"
        );
    }
}
