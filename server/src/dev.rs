//! `--dev`: an [`EmbeddedServer`] on `BIND_ADDR` honouring every setting from flags and the
//! environment except the database and Redis URLs, plus a ready-to-use token and curl line.

use std::future::Future;

use serde_json::json;
use uuid::Uuid;

use crate::auth::now_secs;
use crate::config::Config;
use crate::embedded::EmbeddedServer;

/// Runs until `shutdown` resolves, then stops gracefully and removes the containers.
pub async fn run(cli: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    eprintln!("knowledge-server --dev: starting PostgreSQL and Redis in containers...");
    let server = EmbeddedServer::start_with(|c| {
        // Every setting from the command line, except what the containers provide
        // (and secrets left unset, which stay random).
        let embedded = c.clone();
        let or_random = |given: &str, random: String| {
            if given.is_empty() {
                random
            } else {
                given.to_owned()
            }
        };
        *c = Config {
            database_url: embedded.database_url,
            database_admin_url: embedded.database_admin_url,
            redis_url: embedded.redis_url,
            storage_dir: embedded.storage_dir,
            jwt_secret: or_random(&cli.jwt_secret, embedded.jwt_secret),
            metadata_key: or_random(&cli.metadata_key, embedded.metadata_key),
            dev: true,
            ..cli.clone()
        };
    })
    .await?;
    let now = now_secs();
    let token = server.app().state().jwt.sign(&json!({
        "sub": Uuid::new_v4().to_string(), "aud": "authenticated", "role": "authenticated",
        "iat": now, "exp": now + 24 * 3600, "iss": "knowledge-server-dev",
    }));
    let base = server.base_url();
    // Printed on purpose: this is a throw-away token for a throw-away dev stack.
    println!("Knowledge API (dev) listening on {base}");
    println!("Token (24 h, fresh user): {token}");
    println!("Try:\n  curl -s -H \"Authorization: Bearer {token}\" -F 'file=@README.md;type=text/markdown' {base}/api/v1/knowledge/files");
    println!("  curl -s -H \"Authorization: Bearer {token}\" {base}/api/v1/knowledge/files");
    println!("Press Ctrl-C to stop (the containers are removed).");
    shutdown.await;
    eprintln!("shutting down: finishing in-flight requests and removing the containers...");
    server.shutdown().await;
    Ok(())
}
