//! The HTTP prober: a mix of the suites' read and search requests across
//! several tenants, each kept inside its own rate limit.
//!
//! Every tenant uploads one small seed file, then probes cycle through: list
//! files, get the seed by id, search for the seed's marker, and (one in eight)
//! a request without a token that must be refused. Another tenant's file in a
//! list or search result, or a tokenless request that succeeds, is a security
//! violation. A tenant is retired when `X-RateLimit-Remaining` falls to a small
//! reserve or its token nears expiry, and a fresh one takes its place; when none
//! can be had the tick sends nothing rather than exceed a limit.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use gonogo_suites::TokenSource;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::client::HttpTransport;

use super::engine::Prober;
use super::judge::Sample;
use super::CanaryError;

/// Requests kept in hand per tenant, for probes already in flight.
const RESERVE: i64 = 10;
/// Tokens live an hour; tenants are retired before that.
const MAX_TENANT_AGE: Duration = Duration::from_secs(50 * 60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Tenant {
    token: String,
    file_id: String,
    marker: String,
    /// Last `X-RateLimit-Remaining` seen; unknown until the first response.
    remaining: AtomicI64,
    born: Instant,
}

impl Tenant {
    fn usable(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) > RESERVE && self.born.elapsed() < MAX_TENANT_AGE
    }
}

/// Probes a deployed (or in-process) Knowledge API.
pub struct HttpProber {
    client: reqwest::Client,
    /// For token set-up through the suites' [`TokenSource`].
    transport: HttpTransport,
    base: String,
    source: TokenSource,
    want: usize,
    tenants: tokio::sync::Mutex<Vec<Arc<Tenant>>>,
    /// Seed file ids of every tenant ever created: any of them in another
    /// tenant's response is a leak.
    all_files: RwLock<HashSet<String>>,
    next: AtomicUsize,
}

impl HttpProber {
    /// Checks the target answers and creates `tenants` tenants.
    pub async fn connect(
        base: &str,
        source: TokenSource,
        tenants: usize,
    ) -> Result<HttpProber, CanaryError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| CanaryError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let base = base.trim_end_matches('/').to_string();
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .map_err(|_| {
                CanaryError::Setup(format!("the target {base} is unreachable: check --target"))
            })?;
        let transport = HttpTransport::new(&base)
            .map_err(|e| CanaryError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let prober = HttpProber {
            client,
            transport,
            base,
            source,
            want: tenants.max(1),
            tenants: tokio::sync::Mutex::new(Vec::new()),
            all_files: RwLock::new(HashSet::new()),
            next: AtomicUsize::new(0),
        };
        {
            let mut pool = prober.tenants.lock().await;
            while pool.len() < prober.want {
                match prober.new_tenant().await {
                    Ok(t) => pool.push(Arc::new(t)),
                    Err(e) => {
                        return Err(CanaryError::Setup(format!(
                            "cannot set up probe tenants on {}: {e}",
                            prober.base
                        )))
                    }
                }
            }
        }
        Ok(prober)
    }

    /// A fresh tenant's token: minted, or fetched from the anonymous endpoint,
    /// exactly as the suites get theirs.
    async fn token(&self) -> Result<String, String> {
        self.source
            .tenant("canary", &self.transport)
            .await
            .map(|t| t.token)
    }

    /// A token plus an uploaded seed file; retried, since a canary that fails
    /// some requests (the thing being judged) must still get its tenants.
    async fn new_tenant(&self) -> Result<Tenant, String> {
        let mut last = String::new();
        for _ in 0..5 {
            match self.try_new_tenant().await {
                Ok(t) => return Ok(t),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn try_new_tenant(&self) -> Result<Tenant, String> {
        let token = self.token().await?;
        let marker = format!("canaryprobe{}", uuid::Uuid::new_v4().simple());
        let part =
            reqwest::multipart::Part::bytes(format!("canary probe seed {marker}\n").into_bytes())
                .file_name(format!("{marker}.txt"))
                .mime_str("text/plain")
                .map_err(|e| e.to_string())?;
        let resp = self
            .client
            .post(format!("{}/api/v1/knowledge/files", self.base))
            .bearer_auth(&token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .map_err(|_| "the seed upload got no response".to_string())?;
        let status = resp.status().as_u16();
        let remaining = remaining(&resp);
        if status != 201 {
            return Err(format!("the seed upload answered {status}, expected 201"));
        }
        let body: Value = resp
            .json()
            .await
            .map_err(|_| "the upload response is not JSON".to_string())?;
        let file_id = body["id"]
            .as_str()
            .ok_or("no id in the upload response")?
            .to_string();
        self.all_files
            .write()
            .expect("lock")
            .insert(file_id.clone());
        Ok(Tenant {
            token,
            file_id,
            marker,
            remaining: AtomicI64::new(remaining.unwrap_or(i64::MAX)),
            born: Instant::now(),
        })
    }

    /// A tenant with budget left, replacing retired ones; `None` if none can be had.
    async fn acquire(&self) -> Option<Arc<Tenant>> {
        let mut pool = self.tenants.lock().await;
        pool.retain(|t| t.usable());
        while pool.len() < self.want {
            match self.new_tenant().await {
                Ok(t) => pool.push(Arc::new(t)),
                Err(_) => break,
            }
        }
        if pool.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % pool.len();
        Some(Arc::clone(&pool[i]))
    }

    fn leaked(&self, own: &str, ids: impl Iterator<Item = String>) -> bool {
        let all = self.all_files.read().expect("lock");
        ids.filter(|id| id != own).any(|id| all.contains(&id))
    }
}

fn remaining(resp: &reqwest::Response) -> Option<i64> {
    resp.headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn ids(body: &Value, list: &str, key: &str) -> Vec<String> {
    body[list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[key].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Prober for HttpProber {
    async fn probe(&self, seq: u64) -> Option<Sample> {
        let kind = seq % 8;
        if kind == 7 {
            // No token: must be refused; success would be an open door.
            let started = Instant::now();
            let resp = self
                .client
                .get(format!("{}/api/v1/knowledge/files", self.base))
                .send()
                .await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            return Some(match resp {
                Ok(r) => Sample {
                    ok: r.status().as_u16() == 401,
                    latency_ms,
                    security_violation: r.status().is_success(),
                },
                Err(_) => Sample {
                    ok: false,
                    latency_ms,
                    security_violation: false,
                },
            });
        }
        let tenant = self.acquire().await?;
        let request = match kind {
            0 | 4 => self
                .client
                .get(format!("{}/api/v1/knowledge/files?limit=20", self.base)),
            1 | 5 => self.client.get(format!(
                "{}/api/v1/knowledge/files/{}",
                self.base, tenant.file_id
            )),
            _ => self
                .client
                .post(format!("{}/api/v1/knowledge/search", self.base))
                .json(&json!({ "query": tenant.marker, "limit": 10 })),
        };
        let started = Instant::now();
        let resp = request.bearer_auth(&tenant.token).send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(_) => {
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                return Some(Sample {
                    ok: false,
                    latency_ms,
                    security_violation: false,
                });
            }
        };
        if let Some(r) = remaining(&resp) {
            tenant.remaining.store(r, Ordering::Relaxed);
        }
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        // Latency includes reading the body: that is what a client waits for.
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (ok, leak) = match kind {
            0 | 4 => {
                let listed = ids(&body, "items", "id");
                (
                    status == 200 && listed.contains(&tenant.file_id),
                    self.leaked(&tenant.file_id, listed.into_iter()),
                )
            }
            1 | 5 => (
                status == 200 && body["id"].as_str() == Some(&tenant.file_id),
                false,
            ),
            _ => {
                let found = ids(&body, "results", "file_id");
                (
                    status == 200 && found.contains(&tenant.file_id),
                    self.leaked(&tenant.file_id, found.into_iter()),
                )
            }
        };
        Some(Sample {
            ok,
            latency_ms,
            security_violation: leak,
        })
    }
}
