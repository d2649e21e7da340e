//! What both benches need: the services, the server's environment and tokens.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use serde_json::json;
use uuid::Uuid;

/// PostgreSQL (a superuser URL) and Redis: `BENCH_DATABASE_URL` and `BENCH_REDIS_URL`, or the
/// tests' containers (kept running while the first value lives).
pub async fn services() -> anyhow::Result<(Option<gonogo_containers::Stack>, String, String)> {
    match (
        std::env::var("BENCH_DATABASE_URL"),
        std::env::var("BENCH_REDIS_URL"),
    ) {
        (Ok(db), Ok(redis)) => Ok((None, db, redis)),
        _ => {
            let stack = gonogo_containers::Stack::start()
                .await
                .context("starting the containers")?;
            let (db, redis) = (
                stack.postgres().url().to_owned(),
                stack.redis().url().to_owned(),
            );
            Ok((Some(stack), db, redis))
        }
    }
}

/// The server's configuration: the default one, but for a limit no bench reaches.
pub fn server_env(
    cmd: &mut Command,
    urls: &knowledge_server::DbUrls,
    redis_url: &str,
    jwt_secret: &str,
    storage: &Path,
    port: u16,
) {
    cmd.env("DATABASE_URL", &urls.app_url)
        .env("DATABASE_ADMIN_URL", &urls.admin_url)
        .env("REDIS_URL", redis_url)
        .env("JWT_SECRET", jwt_secret)
        .env(
            "METADATA_KEY",
            knowledge_server::crypto::random_metadata_key("k1"),
        )
        .env("STORAGE_DIR", storage)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RATE_LIMIT_PER_HOUR", "1000000000");
}

/// A six-hour token for `sub`, signed with `secret`.
pub fn token(secret: &str, sub: Uuid) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 6 * 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a token")
}
