//! PostgreSQL: role provisioning, migrations (as the owner role), start-up safety checks of the
//! application role, and [`Db::tenant_tx`] — the only way handlers reach tenant tables, so
//! every query runs in a transaction that first sets the caller's claims for RLS.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Postgres, Transaction};

use crate::auth::Claims;
use crate::error::{AppError, StartupError};
use crate::metrics::Metrics;

/// The migrations in `server/migrations`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Role that owns the tables and runs migrations.
pub const OWNER_ROLE: &str = "knowledge_owner";
/// Role the server connects as.
pub const APP_ROLE: &str = "knowledge_app";
/// Database created by [`provision_roles`].
pub const DATABASE: &str = "knowledge";

/// URLs returned by [`provision_roles`].
#[derive(Clone)]
pub struct DbUrls {
    /// `knowledge_owner` on database `knowledge` (migrations).
    pub admin_url: String,
    /// `knowledge_app` on database `knowledge` (the server).
    pub app_url: String,
}

impl std::fmt::Debug for DbUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbUrls")
            .field("admin_url", &crate::config::redact_url(&self.admin_url))
            .field("app_url", &crate::config::redact_url(&self.app_url))
            .finish()
    }
}

fn db_err(what: &str) -> impl FnOnce(sqlx::Error) -> StartupError + '_ {
    move |e| {
        // The driver's text may name hosts and users; keep it in the log, not the message.
        tracing::error!(error = %e, "{what}");
        StartupError::Database(format!(
            "{what}: check that PostgreSQL is running and the URL and credentials are right."
        ))
    }
}

/// Connect options with statement logging off: provisioning statements carry passwords.
fn quiet_options(url: &str) -> Result<PgConnectOptions, StartupError> {
    PgConnectOptions::from_str(url)
        .map(|o| o.disable_statement_logging())
        .map_err(|_| {
            StartupError::Config(
                "The PostgreSQL URL is malformed: use postgres://user:password@host:port/database."
                    .into(),
            )
        })
}

/// Creates `knowledge_owner`, `knowledge_app` (random passwords, NOSUPERUSER NOBYPASSRLS) and
/// database `knowledge` owned by the owner role. Re-running resets the passwords.
pub async fn provision_roles(superuser_url: &str) -> Result<DbUrls, StartupError> {
    let owner_pw = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    let app_pw = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    let mut conn = PgConnection::connect_with(&quiet_options(superuser_url)?)
        .await
        .map_err(db_err("Cannot connect to PostgreSQL as the superuser"))?;
    // Passwords are alphanumeric, so inlining them in DDL (which takes no binds) is safe.
    // The owner must INHERIT: it reaches `public` through the implicit pg_database_owner role.
    let owner_attrs = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE";
    let app_attrs = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT";
    for (role, pw, attrs) in [
        (OWNER_ROLE, &owner_pw, owner_attrs),
        (APP_ROLE, &app_pw, app_attrs),
    ] {
        let sql = format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                 CREATE ROLE {role} {attrs} PASSWORD '{pw}';
               ELSE
                 ALTER ROLE {role} {attrs} PASSWORD '{pw}';
               END IF;
             END $$"
        );
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .map_err(db_err("Cannot create the database roles"))?;
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut conn)
            .await
            .map_err(db_err("Cannot inspect the databases"))?;
    if !exists {
        sqlx::raw_sql(&format!("CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}"))
            .execute(&mut conn)
            .await
            .map_err(db_err("Cannot create the knowledge database"))?;
    }
    sqlx::raw_sql(&format!(
        "REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC; GRANT CONNECT ON DATABASE {DATABASE} TO {OWNER_ROLE}, {APP_ROLE}"
    ))
    .execute(&mut conn)
    .await
    .map_err(db_err("Cannot restrict access to the knowledge database"))?;
    conn.close().await.ok();
    mark_search_leakproof(superuser_url).await?;
    Ok(DbUrls {
        admin_url: role_url(superuser_url, OWNER_ROLE, &owner_pw)?,
        app_url: role_url(superuser_url, APP_ROLE, &app_pw)?,
    })
}

/// Marks `@@` (tsvector against tsquery) LEAKPROOF in the `knowledge` database, as a
/// superuser. Under forced row-level security PostgreSQL evaluates a condition before the
/// policy, which an index condition is, only when its functions are leakproof; `ts_match_vq`
/// is not marked so, so without this every search scans the caller's whole library instead
/// of the GIN index. It is leakproof in fact: it reads the two values and returns a boolean,
/// and raises no error that depends on the row. The policy still decides which rows exist.
async fn mark_search_leakproof(superuser_url: &str) -> Result<(), StartupError> {
    let mut u = url::Url::parse(superuser_url).map_err(|_| {
        StartupError::Config("The PostgreSQL superuser URL is malformed: use postgres://user:password@host:port/database.".into())
    })?;
    u.set_path(&format!("/{DATABASE}"));
    let mut conn = PgConnection::connect_with(&quiet_options(u.as_str())?)
        .await
        .map_err(db_err(
            "Cannot connect to the knowledge database as the superuser",
        ))?;
    sqlx::raw_sql("ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF")
        .execute(&mut conn)
        .await
        .map_err(db_err("Cannot mark the search operator leakproof"))?;
    conn.close().await.ok();
    Ok(())
}

/// The superuser URL with another user, password and the `knowledge` database.
fn role_url(base: &str, user: &str, pw: &str) -> Result<String, StartupError> {
    let bad = || {
        StartupError::Config("The PostgreSQL superuser URL is malformed: use postgres://user:password@host:port/database.".into())
    };
    let mut u = url::Url::parse(base).map_err(|_| bad())?;
    u.set_username(user).map_err(|_| bad())?;
    u.set_password(Some(pw)).map_err(|_| bad())?;
    u.set_path(&format!("/{DATABASE}"));
    Ok(u.to_string())
}

/// Runs the embedded migrations as the owner role.
pub async fn migrate(admin_url: &str) -> Result<(), StartupError> {
    let mut conn = PgConnection::connect_with(&quiet_options(admin_url)?)
        .await
        .map_err(db_err(
            "Cannot connect with DATABASE_ADMIN_URL to run migrations",
        ))?;
    MIGRATOR.run(&mut conn).await.map_err(|e| {
        tracing::error!(error = %e, "migration failed");
        StartupError::Database("Migrations failed: check that DATABASE_ADMIN_URL is the tables' owner role and the schema is not hand-edited.".into())
    })?;
    conn.close().await.ok();
    Ok(())
}

/// The application's pool plus metrics.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    metrics: Arc<Metrics>,
    lost: Arc<LostConnections>,
}

/// When the pool last saw a connection die. A connection that has sat idle since then may have
/// died with it (a PostgreSQL restart, `pg_terminate_backend`), so it is pinged before it is
/// handed out; the others are not, so a read keeps its three round trips.
struct LostConnections {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last lost connection, plus one; 0 = never.
    last: AtomicU64,
}

impl LostConnections {
    fn new() -> LostConnections {
        LostConnections {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn record(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Whether a connection idle for `idle_for` was released before (or in the same
    /// millisecond as) the last loss.
    fn suspects(&self, idle_for: Duration) -> bool {
        match self.last.load(Ordering::Relaxed) {
            0 => false,
            last => {
                let released = self.epoch.elapsed().saturating_sub(idle_for);
                released.as_millis() as u64 <= last
            }
        }
    }
}

/// Whether `e` says the connection itself is gone: I/O, SQLSTATE class 08 (connection
/// exception), or the server terminating the backend (57P01–57P03). Not a pool timeout (the
/// database is down or saturated: retrying would only double the wait).
pub fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl Db {
    /// Connects the pool of the application role.
    pub async fn connect(url: &str, max: u32, metrics: Arc<Metrics>) -> Result<Db, StartupError> {
        let lost = Arc::new(LostConnections::new());
        let suspects = lost.clone();
        let pool = PgPoolOptions::new()
            .max_connections(max.max(1))
            .acquire_timeout(Duration::from_secs(3))
            // sqlx pings every connection it takes back (which also flushes a dropped
            // transaction's ROLLBACK); pinging it again when it is handed out costs one
            // round trip per request and checks nothing the release did not — unless the
            // connection has been idle since a connection was seen to die. Those are pinged,
            // and a dead one is closed and replaced before anyone gets it.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                let check = suspects.suspects(meta.idle_for);
                Box::pin(async move {
                    if check {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(quiet_options(url)?)
            .await
            .map_err(db_err("Cannot connect with DATABASE_URL"))?;
        Ok(Db {
            pool,
            metrics,
            lost,
        })
    }

    /// Runs `op` on the pool; when it fails because its connection was dead (it sat idle
    /// through a PostgreSQL restart or a terminated backend), records the loss, so that every
    /// connection idle since is pinged before use, and runs `op` once more. `op` must be safe
    /// to repeat after a lost connection: nothing it sent can have been committed.
    async fn retry_lost<T, F, Fut>(&self, mut op: F) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        match op().await {
            Err(e) if connection_lost(&e) => {
                tracing::warn!(error = %e, "a pooled connection was dead: retrying on another");
                self.lost.record();
                op().await
            }
            other => other,
        }
    }

    /// Refuses an application role that could bypass row-level security, and a schema whose
    /// tenant tables are missing or not under forced RLS.
    pub async fn check_app_role(&self) -> Result<(), StartupError> {
        let (superuser, bypass): (bool, bool) = sqlx::query_as(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err("Cannot inspect the application role"))?;
        if superuser {
            return Err(StartupError::Database("DATABASE_URL connects as a superuser: connect as an application role such as knowledge_app.".into()));
        }
        if bypass {
            return Err(StartupError::Database("DATABASE_URL's role has BYPASSRLS: connect as a role without it (ALTER ROLE ... NOBYPASSRLS).".into()));
        }
        let tables: Vec<(String, bool, bool, bool)> = sqlx::query_as(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                    pg_has_role(current_user, c.relowner, 'MEMBER')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname IN ('knowledge_files', 'memories')",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("Cannot inspect the tenant tables"))?;
        if tables.len() != 2 {
            return Err(StartupError::Database("The tenant tables are missing: set DATABASE_ADMIN_URL so migrations run at start-up.".into()));
        }
        for (name, enabled, forced, owns) in tables {
            if owns {
                return Err(StartupError::Database(format!("DATABASE_URL's role owns (or is a member of the owner of) table {name}: connect as a separate application role.")));
            }
            if !(enabled && forced) {
                return Err(StartupError::Database(format!("Table {name} lacks ENABLE and FORCE ROW LEVEL SECURITY: run the migrations as the owner role.")));
            }
        }
        Ok(())
    }

    /// `SELECT 1` for readiness.
    pub async fn ping(&self) -> bool {
        let started = Instant::now();
        let ok = self
            .retry_lost(|| sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .is_ok();
        self.metrics.db("ping", started.elapsed());
        ok
    }

    /// Opens the caller's transaction: `BEGIN` then the transaction-local claims that the
    /// RLS policies read, in one round trip (see [`begin_with_claims`]). Nothing leaks to the
    /// pooled connection's next user.
    pub async fn tenant_tx(&self, claims: &Claims) -> Result<TenantTx, AppError> {
        let started = Instant::now();
        let json = claims.to_json();
        // Nothing is committed before the transaction is open, so a dead connection is retried.
        let tx = self
            .retry_lost(|| async {
                match begin_with_claims(json) {
                    Some(statement) => self.pool.begin_with(statement).await,
                    None => {
                        let mut tx = self.pool.begin().await?;
                        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
                            .bind(json)
                            .execute(&mut *tx)
                            .await?;
                        Ok(tx)
                    }
                }
            })
            .await?;
        self.metrics.db("begin", started.elapsed());
        Ok(TenantTx {
            tx,
            metrics: self.metrics.clone(),
            started: Instant::now(),
        })
    }
}

impl Db {
    /// Whether the caller can see the file row `id` (a short transaction of its own).
    /// For the sweeper: whether `id`'s row exists once no upload of it can still commit;
    /// `None` while one holds its transaction open (its [`upload_lock`]).
    pub async fn settled_row(
        &self,
        claims: &Claims,
        id: uuid::Uuid,
    ) -> Result<Option<bool>, AppError> {
        let mut tx = self.tenant_tx(claims).await?;
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(upload_lock(id))
            .fetch_one(tx.conn())
            .await?;
        if !free {
            tx.finish_read();
            return Ok(None);
        }
        // A statement of its own, so its snapshot is taken after the lock: an upload that
        // committed while we waited for it is seen.
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM knowledge_files WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        tx.finish_read();
        Ok(Some(found.is_some()))
    }

    pub async fn file_row_exists(&self, claims: &Claims, id: uuid::Uuid) -> Result<bool, AppError> {
        let mut tx = self.tenant_tx(claims).await?;
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM knowledge_files WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        tx.finish_read();
        Ok(found.is_some())
    }
}

/// The advisory lock an upload of `id` holds for its whole transaction (the random half of
/// the id: a collision only makes the sweeper wait a sweep).
pub fn upload_lock(id: uuid::Uuid) -> i64 {
    let bytes: [u8; 8] = id.as_bytes()[8..].try_into().expect("16 bytes");
    i64::from_be_bytes(bytes)
}

/// `BEGIN` and the claims as one simple query: one round trip instead of two. The
/// claims are dollar-quoted, which PostgreSQL reads with no escape processing
/// whatever its string settings; claims holding a `$` (which could close the
/// quote) return `None` and take the bound-parameter path instead.
pub fn begin_with_claims(json: &str) -> Option<String> {
    (!json.contains('$')).then(|| {
        format!("BEGIN; SELECT set_config('request.jwt.claims', $claims${json}$claims$, true)")
    })
}

/// A transaction carrying the caller's claims. Dropped without [`TenantTx::commit`] it rolls back.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    metrics: Arc<Metrics>,
    started: Instant,
}

impl TenantTx {
    /// The connection to run queries on.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Ends a transaction that only read. There is nothing to commit, so there is
    /// no COMMIT round trip on the response's path: the ROLLBACK sqlx queues on
    /// drop goes out with the ping it sends when the connection returns to the
    /// pool. The claims end with the transaction either way.
    pub fn finish_read(self) {
        self.metrics.db("queries", self.started.elapsed());
    }

    /// Commits; records the transaction's query time.
    pub async fn commit(self) -> Result<(), AppError> {
        self.metrics.db("queries", self.started.elapsed());
        let started = Instant::now();
        self.tx.commit().await?;
        self.metrics.db("commit", started.elapsed());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_dollar_quoted_in_the_begin_and_a_dollar_takes_the_bound_path() {
        assert_eq!(
            begin_with_claims(r#"{"sub":"a'b\\c"}"#).as_deref(),
            Some(
                r#"BEGIN; SELECT set_config('request.jwt.claims', $claims${"sub":"a'b\\c"}$claims$, true)"#
            )
        );
        assert_eq!(
            begin_with_claims(r#"{"sub":"x$claims$, true); DROP TABLE t; --"}"#),
            None
        );
        assert_eq!(begin_with_claims(r#"{"n":"$"}"#), None);
    }

    #[test]
    fn only_connections_idle_since_the_last_loss_are_suspect() {
        let lost = LostConnections::new();
        assert!(
            !lost.suspects(Duration::from_secs(3600)),
            "nothing lost yet"
        );
        std::thread::sleep(Duration::from_millis(30));
        lost.record();
        assert!(
            lost.suspects(Duration::from_millis(20)),
            "idle through the loss"
        );
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !lost.suspects(Duration::from_millis(5)),
            "released after the loss"
        );
        assert!(lost.suspects(Duration::from_millis(45)));
    }

    #[test]
    fn io_errors_are_lost_connections_and_pool_timeouts_are_not() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(connection_lost(&sqlx::Error::Io(reset)));
        assert!(!connection_lost(&sqlx::Error::PoolTimedOut));
        assert!(!connection_lost(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn role_url_replaces_user_password_and_database() {
        let u = role_url(
            "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable",
            APP_ROLE,
            "abc",
        )
        .unwrap();
        assert_eq!(
            u,
            "postgres://knowledge_app:abc@127.0.0.1:5432/knowledge?sslmode=disable"
        );
    }

    #[test]
    fn db_urls_debug_hides_passwords() {
        let urls = DbUrls {
            admin_url: "postgres://o:secret1@h/knowledge".into(),
            app_url: "postgres://a:secret2@h/knowledge".into(),
        };
        let s = format!("{urls:?}");
        assert!(!s.contains("secret1") && !s.contains("secret2"), "{s}");
    }
}
