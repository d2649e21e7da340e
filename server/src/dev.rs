//! `--dev`: an [`EmbeddedServer`] on `BIND_ADDR` honouring every setting from flags and the
//! environment except the database and Redis URLs, plus a ready-to-use token and curl line.

use std::future::Future;

use serde_json::json;
use uuid::Uuid;

use crate::auth::{now_secs, JwtKeys};
use crate::config::Config;
use crate::embedded::EmbeddedServer;

/// Runs until `shutdown` resolves, then stops gracefully and removes the containers.
pub async fn run(cli: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    eprintln!("knowledge-server --dev: starting PostgreSQL and Redis in containers...");
    let server = EmbeddedServer::start_with(|c| {
        if !cli.jwt_secret.is_empty() {
            c.jwt_secret = cli.jwt_secret.clone();
        }
        if !cli.metadata_key.is_empty() {
            c.metadata_key = cli.metadata_key.clone();
        }
        c.bind_addr = cli.bind_addr;
        c.rate_limit_per_hour = cli.rate_limit_per_hour;
        c.anon_rate_limit_per_hour = cli.anon_rate_limit_per_hour;
        c.max_upload_bytes = cli.max_upload_bytes;
        c.redis_timeout_ms = cli.redis_timeout_ms;
        c.rate_limit_fail_open = cli.rate_limit_fail_open;
        c.database_max_connections = cli.database_max_connections;
        c.log_format = cli.log_format;
        c.dev = true;
    })
    .await?;
    let keys = JwtKeys::new(&server.config().jwt_secret);
    let now = now_secs();
    let token = keys.sign(&json!({
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
