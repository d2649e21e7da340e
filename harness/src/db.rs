//! The database probe for the RLS gate: connects as the server's own (app)
//! role, finds the tenant tables in the catalog and runs claims-scoped
//! queries. Strictly read-only: the session defaults to read-only
//! transactions and every query runs inside `SET TRANSACTION READ ONLY`
//! that is rolled back. The URL (and its password) never leaves this
//! module: errors carry the kind of failure only.

use std::str::FromStr;

use futures::future::BoxFuture;
use gonogo_suites::check::rls_facts::{ClaimsView, Policy, SeenTable, TenantTable};
use gonogo_suites::{DbProbe, DbUnreadable, RlsFacts};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Row, Transaction};
use uuid::Uuid;

/// Rows of one table read per claims view: enough to find a leak, bounded on a big database.
const MAX_ROWS: i64 = 500;

/// Why the probe could not start, without the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// Not a PostgreSQL URL.
    Malformed,
    /// Could not connect or query (the kind of failure).
    Unreachable(String),
}

/// Connects as the app role (`knowledge_app` in hermetic mode, the target's role otherwise).
pub struct SqlProbe {
    options: PgConnectOptions,
}

impl SqlProbe {
    /// Parses `url`; nothing is connected yet.
    pub fn new(url: &str) -> Result<Self, ProbeError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ProbeError::Malformed);
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| ProbeError::Malformed)?
            .options([("default_transaction_read_only", "on")])
            .application_name("gonogo-rls-probe")
            .disable_statement_logging();
        Ok(Self { options })
    }

    /// Connects once and reads one row, so a bad URL is found before the run starts.
    pub async fn check(&self) -> Result<(), ProbeError> {
        let run = async {
            let mut conn = self.options.connect().await?;
            let mut tx = read_only(&mut conn).await?;
            sqlx::query("SELECT 1").execute(&mut *tx).await?;
            tx.rollback().await
        };
        run.await.map_err(|e| ProbeError::Unreachable(kind(&e)))
    }

    async fn facts(&self, subs: Vec<Uuid>) -> Result<RlsFacts, sqlx::Error> {
        let mut conn = self.options.connect().await?;
        // Before anything sets claims on this connection.
        let claims_at_start = current_claims(&mut conn).await?;
        let mut tx = read_only(&mut conn).await?;
        let role = sqlx::query("SELECT current_user::text AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut *tx)
            .await?;
        let mut facts = RlsFacts {
            role: role.get("name"),
            superuser: role.get("rolsuper"),
            bypassrls: role.get("rolbypassrls"),
            claims_at_start,
            ..RlsFacts::default()
        };
        facts.claims_defaults = sqlx::query_scalar(CLAIMS_DEFAULTS)
            .fetch_all(&mut *tx)
            .await?;
        let rows = sqlx::query(TABLES).fetch_all(&mut *tx).await?;
        let mut readable = Vec::new();
        for t in &rows {
            let name: String = t.get("name");
            if t.get::<bool, _>("owns") {
                facts.owned_tables.push(name.clone());
            }
            if !(t.get::<bool, _>("selectable") || t.get::<bool, _>("has_policies")) {
                continue;
            }
            let oid: sqlx::postgres::types::Oid = t.get("oid");
            let policies = sqlx::query(POLICIES).bind(oid).fetch_all(&mut *tx).await?;
            let table = TenantTable {
                name: name.clone(),
                enabled: t.get("relrowsecurity"),
                forced: t.get("relforcerowsecurity"),
                selectable: t.get("selectable"),
                policies: policies.iter().map(policy).collect(),
            };
            if table.selectable {
                let columns: String = sqlx::query_scalar(COLUMNS)
                    .bind(oid)
                    .fetch_one(&mut *tx)
                    .await?;
                readable.push((name, columns));
            }
            facts.tables.push(table);
        }
        tx.rollback().await?;
        // Only the rows naming the run's users matter (a shared database holds many more).
        let needles: Vec<String> = subs.iter().map(|s| format!("%{s}%")).collect();
        let claims: Vec<Option<Uuid>> = subs.into_iter().map(Some).chain([None]).collect();
        for sub in claims {
            let mut view = ClaimsView {
                sub,
                tables: Vec::new(),
            };
            for (table, columns) in &readable {
                view.tables
                    .push(seen(&mut conn, sub, table, columns, &needles).await?);
            }
            facts.views.push(view);
        }
        // The views above set claims transaction-locally and rolled back: nothing may remain.
        facts.claims_after_transaction = current_claims(&mut conn).await?;
        conn.close().await.ok();
        Ok(facts)
    }
}

/// Tables outside the system schemas, with what the role may do with them.
const TABLES: &str = "SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name,
        c.relrowsecurity, c.relforcerowsecurity,
        pg_has_role(current_user, c.relowner, 'MEMBER') AS owns,
        has_table_privilege(c.oid, 'SELECT') AS selectable,
        EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AS has_policies
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    ORDER BY 2";

const POLICIES: &str = "SELECT polname::text AS name, polpermissive,
        pg_get_expr(polqual, polrelid) AS using_expr, pg_get_expr(polwithcheck, polrelid) AS check_expr,
        (SELECT string_agg(pg_get_functiondef(d.refobjid), E'\\n' ORDER BY d.refobjid)
           FROM pg_depend d JOIN pg_proc f ON f.oid = d.refobjid
          WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
            AND d.refclassid = 'pg_proc'::regclass AND f.prokind = 'f') AS functions
    FROM pg_policy p WHERE polrelid = $1 ORDER BY 1";

/// The table's columns but tsvector ones (lexemes of encrypted metadata are allowed).
const COLUMNS: &str = "SELECT coalesce(string_agg(quote_ident(attname), ', ' ORDER BY attnum), '')
    FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
      AND atttypid <> 'tsvector'::regtype";

/// Defaults of the claims setting that reach this role in this database.
const CLAIMS_DEFAULTS: &str =
    "SELECT CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 'all roles'
            WHEN s.setrole = 0 THEN 'database' WHEN s.setdatabase = 0 THEN 'role'
            ELSE 'role in database' END
    FROM pg_db_role_setting s
    WHERE s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
      AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND EXISTS (SELECT 1 FROM unnest(s.setconfig) c WHERE c LIKE 'request.jwt.claims=%')";

fn policy(p: &PgRow) -> Policy {
    Policy {
        name: p.get("name"),
        permissive: p.get("polpermissive"),
        using: p.get("using_expr"),
        with_check: p.get("check_expr"),
        functions: p.get("functions"),
    }
}

/// A transaction that cannot write, whatever the session's defaults.
async fn read_only(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn current_claims(conn: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    let mut tx = read_only(conn).await?;
    let v = sqlx::query_scalar("SELECT current_setting('request.jwt.claims', true)")
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(v)
}

/// `table` as seen with `sub`'s claims (set as the server does: transaction-local), or none.
async fn seen(
    conn: &mut PgConnection,
    sub: Option<Uuid>,
    table: &str,
    columns: &str,
    needles: &[String],
) -> Result<SeenTable, sqlx::Error> {
    let mut tx = read_only(conn).await?;
    if let Some(sub) = sub {
        let claims =
            serde_json::json!({"sub": sub, "role": "authenticated", "aud": "authenticated"});
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(claims.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let mut out = SeenTable {
        table: table.to_owned(),
        ..SeenTable::default()
    };
    // `table` and `columns` come quoted from the catalog (format %I, quote_ident).
    let count: Result<i64, _> = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut *tx)
        .await;
    match count {
        Ok(n) => {
            out.count = n.max(0) as u64;
            if !columns.is_empty() {
                let sql = format!(
                    "SELECT j FROM (SELECT row_to_json(t)::text AS j FROM (SELECT {columns} FROM {table}) t) r \
                     WHERE j LIKE ANY($1) LIMIT {MAX_ROWS}"
                );
                out.rows = sqlx::query_scalar(&sql)
                    .bind(needles)
                    .fetch_all(&mut *tx)
                    .await?;
            }
        }
        // A policy may refuse rather than filter (e.g. no claims): that is isolation too.
        Err(sqlx::Error::Database(d)) => {
            out.refused = Some(format!("SQLSTATE {}", d.code().unwrap_or_default()))
        }
        Err(e) => return Err(e),
    }
    tx.rollback().await?;
    Ok(out)
}

impl DbProbe for SqlProbe {
    fn rls_facts(&self, subs: Vec<Uuid>) -> BoxFuture<'_, Result<RlsFacts, DbUnreadable>> {
        // sqlx errors can carry the URL; keep only the kind of failure.
        Box::pin(async move {
            self.facts(subs)
                .await
                .map_err(|e| DbUnreadable { kind: kind(&e) })
        })
    }
}

/// The kind of a database failure, never its text (which may name the host, user or URL).
pub fn kind(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("SQLSTATE {}", d.code().unwrap_or_default()),
        sqlx::Error::Io(_) => "I/O".into(),
        sqlx::Error::Tls(_) => "TLS".into(),
        sqlx::Error::PoolTimedOut => "timeout".into(),
        sqlx::Error::Configuration(_) => "configuration".into(),
        sqlx::Error::Protocol(_) => "protocol".into(),
        _ => "driver".into(),
    }
}
