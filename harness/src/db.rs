//! The database probe for the RLS gate: reads catalog facts and runs
//! claims-scoped queries as the server's own (app) role.

use futures::future::BoxFuture;
use gonogo_suites::{DbProbe, RlsFacts};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

/// Connects as the app role (`knowledge_app`), exactly as the server does.
pub struct SqlProbe {
    app_url: String,
}

impl SqlProbe {
    pub fn new(app_url: &str) -> Self {
        Self {
            app_url: app_url.to_owned(),
        }
    }

    async fn facts(&self, subs: Vec<Uuid>) -> Result<RlsFacts, sqlx::Error> {
        let mut conn = PgConnection::connect(&self.app_url).await?;
        let role = sqlx::query("SELECT current_user::text AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await?;
        let tables = sqlx::query(
            "SELECT c.relname::text AS name, c.relrowsecurity, c.relforcerowsecurity,
                    pg_has_role(current_user, c.relowner, 'MEMBER') AS owns
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg_toast%' AND c.relname <> '_sqlx_migrations'
             ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut facts = RlsFacts {
            role: role.get("name"),
            superuser: role.get("rolsuper"),
            bypassrls: role.get("rolbypassrls"),
            ..RlsFacts::default()
        };
        for t in &tables {
            let name: String = t.get("name");
            if t.get::<bool, _>("owns") {
                facts.owned_tables.push(name.clone());
            }
            facts
                .tables
                .push((name, t.get("relrowsecurity"), t.get("relforcerowsecurity")));
        }
        for sub in subs {
            // Same shape as the server: transaction-local claims, then an unfiltered query.
            let mut tx = conn.begin().await?;
            let claims =
                serde_json::json!({"sub": sub, "role": "authenticated", "aud": "authenticated"})
                    .to_string();
            sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
                .bind(claims)
                .execute(&mut *tx)
                .await?;
            let ids: Vec<String> = sqlx::query_scalar("SELECT id::text FROM knowledge_files")
                .fetch_all(&mut *tx)
                .await?;
            tx.rollback().await?;
            facts
                .visible
                .push((sub, ids.iter().filter_map(|i| i.parse().ok()).collect()));
        }
        // No claims at all: a policy may see nothing or refuse; either is isolation.
        let mut tx = conn.begin().await?;
        let none: Result<i64, _> = sqlx::query_scalar("SELECT count(*) FROM knowledge_files")
            .fetch_one(&mut *tx)
            .await;
        facts.visible_without_claims = none.unwrap_or(0).max(0) as u64;
        drop(tx);
        Ok(facts)
    }
}

impl DbProbe for SqlProbe {
    fn rls_facts(&self, subs: Vec<Uuid>) -> BoxFuture<'_, Result<RlsFacts, String>> {
        // sqlx errors can carry the URL; keep only the kind of failure.
        Box::pin(async move {
            self.facts(subs)
                .await
                .map_err(|e| format!("database query failed ({})", kind(&e)))
        })
    }
}

fn kind(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("SQLSTATE {}", d.code().unwrap_or_default()),
        sqlx::Error::Io(_) => "I/O".into(),
        sqlx::Error::Tls(_) => "TLS".into(),
        sqlx::Error::PoolTimedOut => "timeout".into(),
        other => format!("{other}").chars().take(80).collect(),
    }
}
