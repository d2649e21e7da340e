//! The ledger of decisions as gonogo's commands use it ([`gonogo_ledger`]
//! keeps it): where it is, the key that signs its heads, and the entries the
//! other commands append (`run`, `signoff`, `attest`, `canary`, `serve`).
//!
//! **Where**: `ledger.database_url` (PostgreSQL), else `ledger.path`, else
//! `ledger.sqlite` in the report directory — for `signoff`, `attest` and
//! `canary --report`, the nearest `ledger.sqlite` in the report's directory or
//! above it (`gonogo serve` keeps reports in `<report.dir>/<release>/`), else
//! one beside the report, so the sign-off lands in the ledger its run went to.
//!
//! **Key**: `ledger.key`, else `ledger.key.pem` beside an SQLite ledger,
//! made once by the first append (with `ledger.pub.pem`). That default keeps
//! every head signed, so verification always has signatures to check, but a
//! key beside the file guards only against edits by someone who cannot read
//! it: for real tamper evidence set `ledger.key` to a key kept elsewhere and
//! keep `gonogo ledger head` outside the ledger. PostgreSQL has no such
//! default: replicas must share one key, so `ledger.key` is required there.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::SigningKey;
use gonogo_ledger::{Entry, EntryKind, Ledger, LedgerError, Location, NewEntry};
use gonogo_reports::model::Report;
use gonogo_reports::signoff::{self, SignoffError};

use crate::config::Config;

/// The file name of the default SQLite ledger.
pub const LEDGER_FILE: &str = "ledger.sqlite";
/// The stem of the default key pair beside an SQLite ledger (`ledger.key.pem`, `ledger.pub.pem`).
pub const KEY_STEM: &str = "ledger";

/// Why the ledger could not be used: one sentence.
#[derive(Debug, thiserror::Error)]
pub enum LedgerUseError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The ledger's key cannot be read or made.
    #[error(transparent)]
    Key(#[from] SignoffError),
    /// A PostgreSQL ledger shared by replicas has no default key: they must share one.
    #[error("ledger.database_url is set but ledger.key is not: every gonogo sharing the PostgreSQL ledger must sign its heads with the same key (`gonogo keygen`, then ledger.key or GONOGO_LEDGER_KEY)")]
    KeyNeeded,
    #[error("--since {text:?} is neither an RFC 3339 time nor a date such as 2026-11-01")]
    Since { text: String },
}

/// Where the ledger is; `beside` is the directory of the report a command was
/// given (the nearest existing ledger at or above it, else one there).
pub fn location(config: &Config, beside: Option<&Path>) -> Location {
    let ledger = &config.settings.ledger;
    if let Some(url) = &ledger.database_url {
        return Location::Postgres(url.clone());
    }
    if let Some(path) = &ledger.path {
        return Location::Sqlite(path.clone());
    }
    let dir = match beside {
        // The nearest ledger above the report: `gonogo serve` keeps reports in
        // `<report.dir>/<release>/` and its ledger in `<report.dir>`.
        Some(d) => {
            let d = if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            };
            d.ancestors()
                .find(|a| a.join(LEDGER_FILE).is_file())
                .unwrap_or(d)
                .to_path_buf()
        }
        None => config.report_dir(),
    };
    Location::Sqlite(dir.join(LEDGER_FILE))
}

/// The default key beside an SQLite ledger (`None` for PostgreSQL).
pub fn default_key(location: &Location) -> Option<PathBuf> {
    match location {
        Location::Sqlite(path) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            Some(
                dir.unwrap_or(Path::new("."))
                    .join(format!("{KEY_STEM}.key.pem")),
            )
        }
        Location::Postgres(_) => None,
    }
}

/// The key that signs the heads: `ledger.key`, else the default one, made on first use.
pub fn signing_key(config: &Config, location: &Location) -> Result<SigningKey, LedgerUseError> {
    if let Some(path) = &config.settings.ledger.key {
        return Ok(signoff::load_signing_key(path)?);
    }
    let path = default_key(location).ok_or(LedgerUseError::KeyNeeded)?;
    if !path.exists() {
        let dir = path.parent().unwrap_or(Path::new("."));
        // Two first appends at once: the loser finds the winner's key.
        if let Err(e) = signoff::keygen(dir, KEY_STEM) {
            if !path.exists() {
                return Err(e.into());
            }
        }
    }
    Ok(signoff::load_signing_key(&path)?)
}

/// Appends `entry` to the ledger and signs its new head; `beside` as in [`location`].
pub async fn record(
    config: &Config,
    beside: Option<&Path>,
    entry: NewEntry,
) -> Result<(Entry, Location), LedgerUseError> {
    let location = location(config, beside);
    let key = signing_key(config, &location)?;
    let ledger = Ledger::open(&location).await?;
    let entry = with_run_environment(&ledger, entry).await?;
    let stored = ledger.append(&key, entry).await;
    ledger.close().await;
    Ok((stored?, location))
}

/// A sign-off or attestation takes its run's environment when it has none.
async fn with_run_environment(
    ledger: &Ledger,
    mut entry: NewEntry,
) -> Result<NewEntry, LedgerUseError> {
    if entry.environment.is_none() && entry.kind != EntryKind::Run {
        if let Some(run) = &entry.run_id {
            entry.environment = ledger
                .entries()
                .await?
                .into_iter()
                .rev()
                .find(|e| e.fields.kind == EntryKind::Run && e.fields.run_id.as_ref() == Some(run))
                .and_then(|e| e.fields.environment);
        }
    }
    Ok(entry)
}

/// An entry about `report` (its run id, target and commit), the report file's SHA-256 with it.
pub fn about(kind: EntryKind, report: &Report, report_bytes: &[u8]) -> NewEntry {
    let mut entry = NewEntry::new(kind);
    entry.run_id = Some(report.run.id.clone());
    entry.target = Some(report.run.target.base_url.clone());
    entry.commit = report.run.target.git_commit.clone();
    entry.report_sha256 = Some(gonogo_ledger::entry::sha256_hex(report_bytes));
    entry
}

/// The line each recording command prints.
pub fn recorded_line(entry: &Entry, location: &Location) -> String {
    format!("  ledger: entry {} of {location}", entry.seq)
}

/// `--since`'s text (and `/ledger?since=`): RFC 3339, or a date meaning its midnight UTC.
pub fn since(text: &str) -> Result<DateTime<Utc>, LedgerUseError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| LedgerUseError::Since {
            text: text.to_owned(),
        })
}

#[cfg(test)]
mod tests;
