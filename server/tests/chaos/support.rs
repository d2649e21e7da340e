//! What the chaos tests share: a server over its own containers, tokens, requests that report
//! only what the assertions need, traffic generators and the superuser's view of the database.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use knowledge_server::embedded::EmbeddedServer;
use knowledge_server::Config;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Chaos tests run one at a time; hold the guard for the whole test.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    crate::test_logs::init_logs();
    SERIAL.lock().await
}

/// A server in this process over containers of its own (removed on drop).
pub struct Chaos {
    pub server: EmbeddedServer,
    pub client: reqwest::Client,
}

/// The settings every chaos server shares: rate limits far above what a test sends.
pub fn generous(config: &mut Config) {
    config.rate_limit_per_hour = 1_000_000;
    config.anon_rate_limit_per_hour = 1_000_000;
}

impl Chaos {
    pub async fn start(customize: impl FnOnce(&mut Config)) -> Chaos {
        let server = EmbeddedServer::start_with(|config| {
            generous(config);
            customize(config);
        })
        .await
        .expect("a server over its own containers starts");
        Chaos {
            server,
            client: client(),
        }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &Config {
        self.server.config()
    }

    /// A token of a fresh tenant.
    pub fn token(&self) -> String {
        token(self.config(), Uuid::new_v4())
    }

    /// The superuser on database `knowledge` (not bound by row-level security).
    pub async fn superuser(&self) -> PgConnection {
        PgConnection::connect(&self.server.superuser_database_url())
            .await
            .expect("the superuser connects")
    }

    /// Terminates every backend of the application role; returns how many there were.
    pub async fn terminate_app_backends(&self) -> i64 {
        let mut su = self.superuser().await;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE usename = 'knowledge_app' AND pid <> pg_backend_pid()) t",
        )
        .fetch_one(&mut su)
        .await
        .expect("backends terminated");
        su.close().await.ok();
        n
    }

    /// Opens up to `n` pooled connections by sending `n` requests at once.
    pub async fn warm_pool(&self, token: &str, n: usize) {
        let base = self.base_url();
        let calls = (0..n).map(|_| list(&self.client, &base, token));
        for outcome in futures::future::join_all(calls).await {
            assert_eq!(outcome.status, 200, "warming the pool: {outcome}");
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// A valid one-hour token for `sub`, signed with the server's secret.
pub fn token(config: &Config, sub: Uuid) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated",
        "iat": now, "exp": now + 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(config.jwt_secret.as_bytes()),
    )
    .expect("claims encode")
}

/// What one request got: its status (0 when no response came) and whether a 503 said when to
/// retry.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: u16,
    pub retry_after: bool,
    pub body: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Outcome {
    async fn of(response: reqwest::Result<reqwest::Response>) -> Outcome {
        match response {
            Ok(r) => Outcome {
                status: r.status().as_u16(),
                retry_after: r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|s| s >= 1),
                body: r.text().await.unwrap_or_default(),
            },
            Err(e) => Outcome {
                status: 0,
                retry_after: false,
                body: e.to_string(),
            },
        }
    }

    /// A 200, or a 503 carrying `Retry-After`: the only answers an outage may give.
    pub fn allowed_in_an_outage(&self) -> bool {
        self.status == 200 || (self.status == 503 && self.retry_after)
    }
}

/// `GET /api/v1/knowledge/files` (a read through the rate limiter and the database).
pub async fn list(client: &reqwest::Client, base_url: &str, token: &str) -> Outcome {
    Outcome::of(
        client
            .get(format!("{base_url}/api/v1/knowledge/files"))
            .bearer_auth(token)
            .send()
            .await,
    )
    .await
}

/// `GET /ready`: its status and the `database` and `redis` checks.
pub async fn ready(client: &reqwest::Client, base_url: &str) -> (u16, serde_json::Value) {
    let r = client
        .get(format!("{base_url}/ready"))
        .send()
        .await
        .expect("/ready answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Requests sent by `clients` concurrent loops of [`list`] while `during` runs; every outcome
/// with the time it was sent, in order.
pub async fn under_traffic<F: std::future::Future>(
    chaos: &Chaos,
    clients: usize,
    during: F,
) -> (F::Output, Vec<(Instant, Outcome)>) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loops: Vec<_> = (0..clients)
        .map(|_| {
            let (client, base, token) = (chaos.client.clone(), chaos.base_url(), chaos.token());
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                // Bounded: a test that forgets to stop still ends.
                for _ in 0..20_000 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let sent = Instant::now();
                    seen.push((sent, list(&client, &base, &token).await));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seen
            })
        })
        .collect();
    let output = during.await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = Vec::new();
    for l in loops {
        all.extend(l.await.expect("a traffic loop"));
    }
    all.sort_by_key(|(sent, _)| *sent);
    (output, all)
}

/// Asserts that every outcome is a 200 or a 503 with `Retry-After`; returns how often each
/// status came.
pub fn assert_only_200_or_503(what: &str, outcomes: &[(Instant, Outcome)]) -> BTreeMap<u16, usize> {
    let counts = tally(outcomes.iter().map(|(_, o)| o));
    let wrong = outcomes.iter().find(|(_, o)| !o.allowed_in_an_outage());
    assert!(
        wrong.is_none(),
        "{what}: only 200, or 503 with Retry-After: {counts:?}, e.g. {}",
        wrong.map(|(_, o)| o.to_string()).unwrap_or_default()
    );
    counts
}

/// Statuses and how often each came, for failure messages.
pub fn tally<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.status).or_default() += 1;
    }
    counts
}
