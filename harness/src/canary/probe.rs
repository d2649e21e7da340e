//! The HTTP prober: a mix of the suites' read and search requests across
//! several tenants, each kept inside its own rate limit.
//!
//! Every tenant uploads one small seed file, then probes cycle through the
//! [`MIX`]: list files, get the seed by id, get *another* probe tenant's seed
//! by id (must be 404), search for a term every probe tenant's seed shares,
//! and (one in eight) a request without a token that must be refused. So every
//! read path can see another tenant's data: another tenant's file in a list or
//! search result, a cross-tenant get that is not a 404, or a tokenless request
//! that succeeds, is a security violation. The first failing probes are kept
//! as evidence for the report. A tenant is retired when
//! `X-RateLimit-Remaining` falls to a small reserve or its token nears expiry,
//! and a fresh one takes its place; when none can be had the tick sends nothing
//! rather than exceed a limit.
//!
//! Requests are the suites' own ([`gonogo_suites::check::api`]) sent through the
//! harness's [`HttpTransport`], so paths, multipart and header parsing live in
//! one place.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use gonogo_reports::model::Evidence;
use gonogo_suites::check::api;
use gonogo_suites::Judged;
use gonogo_suites::{ApiRequest, ApiResponse, Exchange, Tenant, TokenSource, Transport};
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{ExtraRoots, HttpTransport};

use super::engine::Prober;
use super::judge::Sample;
use super::CanaryError;

/// Requests kept in hand per tenant, for probes already in flight.
const RESERVE: i64 = 10;
/// Tokens live an hour; tenants are retired before that.
const MAX_TENANT_AGE: Duration = Duration::from_secs(50 * 60);
/// A probe slower than this is an error, not a latency sample.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Files listed per list probe.
const LIST_LIMIT: u32 = 20;

/// One kind of probe request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// `GET /files`: must list the tenant's seed and nobody else's file.
    List,
    /// `GET /files/{seed}`: must return the seed.
    GetSeed,
    /// Search for the term all probe tenants' seeds share: must find the seed
    /// and nobody else's file (a search that ignores the tenant returns theirs).
    Search,
    /// `GET /files/{id}` of another probe tenant's seed: must be 404.
    CrossGet,
    /// `GET /files` without a token: must be refused (success is an open door).
    NoToken,
}

/// The traffic mix, cycled by probe number: reads and searches, with one
/// unauthenticated request in eight.
const MIX: [Probe; 8] = [
    Probe::List,
    Probe::GetSeed,
    Probe::Search,
    Probe::CrossGet,
    Probe::Search,
    Probe::GetSeed,
    Probe::Search,
    Probe::NoToken,
];

/// Failing probes kept as evidence.
const MAX_FAILURES: usize = 5;

impl Probe {
    fn nth(seq: u64) -> Probe {
        MIX[(seq % MIX.len() as u64) as usize]
    }

    /// What a correct answer looks like, for the evidence.
    fn expected(self) -> &'static str {
        match self {
            Probe::List => "200 listing the tenant's seed and nobody else's file",
            Probe::GetSeed => "200 with the tenant's seed",
            Probe::Search => "200 finding the tenant's seed and nobody else's file",
            Probe::CrossGet => "404: another tenant's file is not found",
            Probe::NoToken => "401 without a token",
        }
    }
}

struct ProbeTenant {
    tenant: Tenant,
    file_id: String,
    /// Last `X-RateLimit-Remaining` seen; unknown until the first response.
    remaining: AtomicI64,
    born: Instant,
}

impl ProbeTenant {
    fn usable(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) > RESERVE && self.born.elapsed() < MAX_TENANT_AGE
    }

    fn note_remaining(&self, response: &ApiResponse) {
        if let Some(r) = remaining(response) {
            self.remaining.store(r, Ordering::Relaxed);
        }
    }
}

/// Probes a deployed (or in-process) Knowledge API.
pub struct HttpProber {
    transport: HttpTransport,
    source: TokenSource,
    want: usize,
    tenants: tokio::sync::Mutex<Vec<Arc<ProbeTenant>>>,
    /// Seed file ids of every tenant ever created: any of them in another
    /// tenant's response is a leak.
    all_files: RwLock<HashSet<String>>,
    /// A term in every probe tenant's seed: one search can see them all.
    shared_term: String,
    next: AtomicUsize,
    /// The first failing probes, as report evidence.
    failures: Mutex<Vec<Evidence>>,
}

/// Why a probe tenant could not be set up (the last of its tries).
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// No token: the suites' token source says why.
    #[error("{reason}")]
    Token { reason: String },
    #[error("the seed upload got no response")]
    NoUploadResponse,
    #[error("the seed upload answered {status}, expected 201")]
    UploadStatus { status: u16 },
    #[error("the upload response is not JSON")]
    UploadNotJson,
    #[error("no id in the upload response")]
    NoFileId,
}

impl HttpProber {
    /// Checks the target answers and creates `tenants` tenants.
    pub async fn connect(
        base: &str,
        source: TokenSource,
        tenants: usize,
        roots: &ExtraRoots,
    ) -> Result<HttpProber, CanaryError> {
        let transport =
            HttpTransport::with_roots(base, REQUEST_TIMEOUT, roots).map_err(CanaryError::Client)?;
        let base = transport.base_url().to_owned();
        if transport
            .send(ApiRequest::get("/health"))
            .await
            .response
            .is_err()
        {
            return Err(CanaryError::Unreachable { base });
        }
        let prober = HttpProber {
            transport,
            source,
            want: tenants.max(1),
            tenants: tokio::sync::Mutex::new(Vec::new()),
            all_files: RwLock::new(HashSet::new()),
            shared_term: api::unique_word("canaryshared"),
            next: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
        };
        {
            let mut pool = prober.tenants.lock().await;
            while pool.len() < prober.want {
                match prober.new_tenant().await {
                    Ok(t) => pool.push(Arc::new(t)),
                    Err(source) => return Err(CanaryError::Tenants { base, source }),
                }
            }
        }
        Ok(prober)
    }

    /// A token plus an uploaded seed file; retried, since a canary that fails
    /// some requests (the thing being judged) must still get its tenants.
    async fn new_tenant(&self) -> Result<ProbeTenant, TenantError> {
        let mut tries = 1;
        loop {
            match self.try_new_tenant().await {
                Ok(t) => return Ok(t),
                Err(e) if tries >= 5 => return Err(e),
                Err(_) => tries += 1,
            }
        }
    }

    async fn try_new_tenant(&self) -> Result<ProbeTenant, TenantError> {
        // Minted, or fetched from the anonymous endpoint, exactly as the suites get theirs.
        let tenant = self
            .source
            .tenant("canary", &self.transport)
            .await
            .map_err(|reason| TenantError::Token { reason })?;
        let marker = format!("canaryprobe{}", uuid::Uuid::new_v4().simple());
        let shared = &self.shared_term;
        let upload = api::upload(
            &tenant,
            &format!("{shared}-{marker}.txt"),
            "text/plain",
            format!("canary probe seed {marker} {shared}\n"),
        );
        let response = self
            .transport
            .send(upload)
            .await
            .response
            .map_err(|_| TenantError::NoUploadResponse)?;
        if response.status != 201 {
            return Err(TenantError::UploadStatus {
                status: response.status,
            });
        }
        let body = response.json().ok_or(TenantError::UploadNotJson)?;
        let file_id = api::file_id(&body).ok_or(TenantError::NoFileId)?;
        self.all_files
            .write()
            .expect("lock")
            .insert(file_id.clone());
        Ok(ProbeTenant {
            tenant,
            file_id,
            remaining: AtomicI64::new(remaining(&response).unwrap_or(i64::MAX)),
            born: Instant::now(),
        })
    }

    /// A tenant with budget left, replacing retired ones; `None` if none can be had.
    async fn acquire(&self) -> Option<Arc<ProbeTenant>> {
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

    fn leaked(&self, own: &str, ids: Vec<String>) -> bool {
        let all = self.all_files.read().expect("lock");
        ids.into_iter()
            .filter(|id| id != own)
            .any(|id| all.contains(&id))
    }

    /// Whether a probe's answer is right, and whether it is a security violation.
    fn judge(&self, probe: Probe, tenant: Option<&ProbeTenant>, r: &ApiResponse) -> (bool, bool) {
        let Some(tenant) = tenant.filter(|_| probe != Probe::NoToken) else {
            return (r.status == 401, r.status / 100 == 2);
        };
        let body = r.json().unwrap_or(Value::Null);
        let own = &tenant.file_id;
        match probe {
            Probe::GetSeed => (
                r.status == 200 && api::file_id(&body).as_ref() == Some(own),
                false,
            ),
            // Anything but a 404 is wrong; another tenant's file served is a leak.
            Probe::CrossGet => (r.status == 404, r.status / 100 == 2),
            Probe::List | Probe::Search => {
                let found = match probe {
                    Probe::List => ids(&body, "items", "id"),
                    _ => ids(&body, "results", "file_id"),
                };
                (
                    r.status == 200 && found.contains(own),
                    self.leaked(own, found),
                )
            }
            Probe::NoToken => unreachable!("handled above"),
        }
    }

    /// Another probe tenant's seed, or (with one tenant so far) an id nobody has.
    fn someone_elses_file(&self, own: &str) -> String {
        let all = self.all_files.read().expect("lock");
        all.iter()
            .find(|id| *id != own)
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }

    /// The request for `probe` as `tenant` (`None` for the tokenless probe).
    fn request(&self, probe: Probe, tenant: Option<&ProbeTenant>) -> ApiRequest {
        match (probe, tenant) {
            (Probe::List, Some(t)) => api::list(&t.tenant, LIST_LIMIT),
            (Probe::GetSeed, Some(t)) => api::get_file(&t.tenant, &t.file_id),
            (Probe::CrossGet, Some(t)) => {
                api::get_file(&t.tenant, &self.someone_elses_file(&t.file_id))
            }
            (Probe::Search, Some(t)) => api::search(&t.tenant, &self.shared_term),
            (Probe::NoToken, _) | (_, None) => ApiRequest::get(api::FILES),
        }
    }

    /// Keeps `ex` as evidence if fewer than [`MAX_FAILURES`] are kept.
    fn keep_failure(&self, probe: Probe, ex: Exchange) {
        let mut kept = self.failures.lock().expect("lock");
        if kept.len() < MAX_FAILURES {
            let judged = Judged {
                exchange: Arc::new(ex),
                expected: probe.expected().into(),
                matched: false,
                warned: false,
                primary: true,
            };
            kept.push(crate::report::evidence(&judged, self.source.secret()));
        }
    }
}

/// `X-RateLimit-Remaining`, as the suites read it.
fn remaining(response: &ApiResponse) -> Option<i64> {
    response
        .header_u64("x-ratelimit-remaining")
        .and_then(|v| i64::try_from(v).ok())
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
        let probe = Probe::nth(seq);
        let tenant = match probe {
            Probe::NoToken => None,
            _ => Some(self.acquire().await?),
        };
        let ex = self
            .transport
            .send(self.request(probe, tenant.as_deref()))
            .await;
        let (ok, security_violation) = match &ex.response {
            // No response is an error, never a leak.
            Err(_) => (false, false),
            Ok(r) => {
                if let Some(t) = &tenant {
                    t.note_remaining(r);
                }
                self.judge(probe, tenant.as_deref(), r)
            }
        };
        // The transport's latency includes reading the body: what a client waits for.
        let latency_ms = ex.latency.as_secs_f64() * 1000.0;
        if !ok || security_violation {
            self.keep_failure(probe, ex);
        }
        Some(Sample {
            ok,
            latency_ms,
            security_violation,
        })
    }

    fn failures(&self) -> Vec<Evidence> {
        self.failures.lock().expect("lock").clone()
    }
}
