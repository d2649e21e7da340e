//! Where the ledger is kept and how entries are appended.
//!
//! Two backends, one schema (`migrations/sqlite`, `migrations/postgres`, run by
//! `sqlx::migrate!` when the ledger is opened):
//!
//! - **SQLite**, a file beside the reports (the default). An append is one
//!   `BEGIN IMMEDIATE` transaction: the write lock is taken before the tail is
//!   read, and a second appender (another process, another pool) waits for it
//!   up to the busy timeout instead of reading the same tail.
//! - **PostgreSQL** (`ledger.database_url`), shared by several `gonogo serve`
//!   replicas. An append is one transaction that first takes a transaction-level
//!   advisory lock ([`APPEND_LOCK`]), so appenders queue and each reads the tail
//!   the previous one wrote.
//!
//! Either way the entry and its signed head are written in the same
//! transaction, and `seq` is the primary key: two appenders can never leave two
//! entries with the same number, so the chain cannot fork.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::entry::{Entry, EntryKind, NewEntry, GENESIS};
use crate::head::SignedHead;

/// The advisory lock key appenders on PostgreSQL take (`pg_advisory_xact_lock`):
/// "gonogo" in ASCII.
pub const APPEND_LOCK: i64 = 0x676f_6e6f_676f;

/// How long an SQLite appender waits for another one's transaction.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the ledger is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`ledger.database_url`; never shown, it may hold a password).
    Postgres(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "the ledger {}", path.display()),
            Location::Postgres(_) => f.write_str("the PostgreSQL ledger of ledger.database_url"),
        }
    }
}

/// Why the ledger could not be used: one sentence, never the database URL.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{location} cannot be opened ({source})")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{location} cannot be migrated to this gonogo's schema ({source})")]
    Migrate {
        location: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("{location} failed while {doing} ({source})")]
    Query {
        location: String,
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A row whose kind gonogo never writes: the table was edited by hand.
    #[error("entry {seq} of {location} has kind `{kind}`, which is no kind of entry: the ledger was edited outside gonogo")]
    UnknownKind {
        location: String,
        seq: i64,
        kind: String,
    },
}

/// A row of `ledger_entries`, as both backends read it.
#[derive(Debug, sqlx::FromRow)]
struct Row {
    seq: i64,
    kind: String,
    recorded_at: String,
    environment: Option<String>,
    target: Option<String>,
    git_commit: Option<String>,
    outcome: Option<String>,
    run_id: Option<String>,
    report_sha256: Option<String>,
    signer: Option<String>,
    role: Option<String>,
    attestation_digest: Option<String>,
    previous_hash: String,
    hash: String,
}

/// A row of `ledger_heads`.
#[derive(Debug, sqlx::FromRow)]
struct HeadRow {
    count: i64,
    hash: String,
    key_id: String,
    signature: String,
}

const SELECT_ENTRIES: &str = "SELECT seq, kind, recorded_at, environment, target, git_commit, outcome, run_id, \
     report_sha256, signer, role, attestation_digest, previous_hash, hash FROM ledger_entries ORDER BY seq";
const SELECT_HEADS: &str = "SELECT count, hash, key_id, signature FROM ledger_heads ORDER BY count";
const SELECT_TAIL: &str = "SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1";
const INSERT_ENTRY: &str =
    "INSERT INTO ledger_entries (seq, kind, recorded_at, environment, target, git_commit, \
     outcome, run_id, report_sha256, signer, role, attestation_digest, previous_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const INSERT_HEAD: &str =
    "INSERT INTO ledger_heads (count, hash, key_id, signature) VALUES ($1, $2, $3, $4)";

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The same statements on either backend: `$pool` is bound to the concrete pool.
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// An open ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    backend: Backend,
    location: Location,
}

impl Ledger {
    /// Opens (creating an SQLite file and its directory when missing) and migrates the ledger.
    pub async fn open(location: &Location) -> Result<Ledger, LedgerError> {
        let open_err = |source| LedgerError::Open {
            location: location.to_string(),
            source,
        };
        let backend = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
                }
                let options = SqliteConnectOptions::from_str("sqlite:")
                    .map_err(open_err)?
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(BUSY_TIMEOUT);
                Backend::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(4)
                        .connect_with(options)
                        .await
                        .map_err(open_err)?,
                )
            }
            Location::Postgres(url) => Backend::Postgres(
                PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
                    .map_err(open_err)?,
            ),
        };
        let ledger = Ledger {
            backend,
            location: location.clone(),
        };
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// The SQLite ledger at `path`.
    pub async fn open_file(path: &Path) -> Result<Ledger, LedgerError> {
        Self::open(&Location::Sqlite(path.to_path_buf())).await
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Applies the migrations. PostgreSQL's migrator takes its own lock; two
    /// processes creating the same new SQLite file may race on the migrations
    /// table, so the loser tries again once the winner is done.
    async fn migrate(&self) -> Result<(), LedgerError> {
        let mut tries = 0;
        loop {
            let result = match &self.backend {
                Backend::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await,
                Backend::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
            };
            match result {
                Ok(()) => return Ok(()),
                Err(_) if tries < 3 && matches!(self.backend, Backend::Sqlite(_)) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(source) => {
                    return Err(LedgerError::Migrate {
                        location: self.location.to_string(),
                        source,
                    })
                }
            }
        }
    }

    fn query_err(&self, doing: &'static str) -> impl Fn(sqlx::Error) -> LedgerError + '_ {
        move |source| LedgerError::Query {
            location: self.location.to_string(),
            doing,
            source,
        }
    }

    /// Appends `fields` as the next entry and signs the new head with `key`, in
    /// one serialised transaction; returns the entry as stored.
    pub async fn append(&self, key: &SigningKey, fields: NewEntry) -> Result<Entry, LedgerError> {
        let err = self.query_err("appending an entry");
        on_pool!(&self.backend, pool => {
            let mut tx = match &self.backend {
                // The write lock before the tail is read: appenders queue here.
                Backend::Sqlite(_) => pool.begin_with("BEGIN IMMEDIATE").await.map_err(&err)?,
                Backend::Postgres(_) => pool.begin().await.map_err(&err)?,
            };
            if matches!(self.backend, Backend::Postgres(_)) {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(APPEND_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(&err)?;
            }
            let tail: Option<(i64, String)> = sqlx::query_as(SELECT_TAIL)
                .fetch_optional(&mut *tx)
                .await
                .map_err(&err)?;
            let (seq, previous) = match tail {
                Some((seq, hash)) => (seq + 1, hash),
                None => (1, GENESIS.to_owned()),
            };
            let entry = Entry::chain(seq, Utc::now(), fields, &previous);
            let f = &entry.fields;
            sqlx::query(INSERT_ENTRY)
                .bind(entry.seq)
                .bind(f.kind.as_str())
                .bind(&entry.recorded_at)
                .bind(&f.environment)
                .bind(&f.target)
                .bind(&f.commit)
                .bind(&f.outcome)
                .bind(&f.run_id)
                .bind(&f.report_sha256)
                .bind(&f.signer)
                .bind(&f.role)
                .bind(&f.attestation_digest)
                .bind(&entry.previous_hash)
                .bind(&entry.hash)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
            let head = SignedHead::sign(key, entry.seq, &entry.hash);
            sqlx::query(INSERT_HEAD)
                .bind(head.count)
                .bind(&head.hash)
                .bind(&head.key_id)
                .bind(&head.signature)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
            tx.commit().await.map_err(&err)?;
            Ok(entry)
        })
    }

    /// Every entry, by `seq`.
    pub async fn entries(&self) -> Result<Vec<Entry>, LedgerError> {
        let rows: Vec<Row> = on_pool!(&self.backend, pool => sqlx::query_as(SELECT_ENTRIES)
            .fetch_all(pool)
            .await
            .map_err(self.query_err("reading the entries"))?);
        rows.into_iter().map(|r| self.entry_of(r)).collect()
    }

    /// Every signed head, by count.
    pub async fn heads(&self) -> Result<Vec<SignedHead>, LedgerError> {
        let rows: Vec<HeadRow> = on_pool!(&self.backend, pool => sqlx::query_as(SELECT_HEADS)
            .fetch_all(pool)
            .await
            .map_err(self.query_err("reading the signed heads"))?);
        Ok(rows
            .into_iter()
            .map(|h| SignedHead {
                count: h.count,
                hash: h.hash,
                key_id: h.key_id,
                signature: h.signature,
            })
            .collect())
    }

    /// The newest signed head (`None`: an empty ledger).
    pub async fn head(&self) -> Result<Option<SignedHead>, LedgerError> {
        Ok(self.heads().await?.pop())
    }

    /// Runs one statement that changes rows, outside the chain: for tests that
    /// tamper with a ledger as an intruder would. Returns the rows affected.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, LedgerError> {
        on_pool!(&self.backend, pool => Ok(sqlx::query(sql)
            .execute(pool)
            .await
            .map_err(self.query_err("running a statement"))?
            .rows_affected()))
    }

    /// Closes the pool (an SQLite file is checkpointed).
    pub async fn close(&self) {
        on_pool!(&self.backend, pool => pool.close().await)
    }

    fn entry_of(&self, r: Row) -> Result<Entry, LedgerError> {
        let kind = EntryKind::parse(&r.kind).ok_or_else(|| LedgerError::UnknownKind {
            location: self.location.to_string(),
            seq: r.seq,
            kind: r.kind.clone(),
        })?;
        Ok(Entry {
            seq: r.seq,
            recorded_at: r.recorded_at,
            fields: NewEntry {
                kind,
                environment: r.environment,
                target: r.target,
                commit: r.git_commit,
                outcome: r.outcome,
                run_id: r.run_id,
                report_sha256: r.report_sha256,
                signer: r.signer,
                role: r.role,
                attestation_digest: r.attestation_digest,
            },
            previous_hash: r.previous_hash,
            hash: r.hash,
        })
    }
}
