//! An in-memory API that follows the contract, with switchable faults. It
//! implements [`Transport`] directly (no sockets), so the suites' own tests can
//! prove that a correct API passes and that each fault is caught by the
//! expected cases ([`crate::testing::faults`]); [`ctx`] wraps it in a run context for
//! those tests and the harness's. It is deliberately small: it knows only what
//! the suites ask.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::check::ctx::{Capabilities, Ctx};
use crate::check::tokens::TokenSource;
use crate::check::transport::{ApiRequest, ApiResponse, Exchange, Transport};

// The faults, and the cases each must fail, live in `crate::testing::faults`.
use crate::testing::faults::Fault;

mod knowledge;
use knowledge::File;

/// The fake API.
pub struct FakeApi {
    secret: String,
    limit: u64,
    faults: HashSet<Fault>,
    state: Mutex<(Vec<File>, HashMap<String, u64>)>,
    /// Anonymous tokens issued (one client IP: the test).
    anon_issued: std::sync::atomic::AtomicU64,
    memories: Mutex<Vec<memory::Memory>>,
    /// State of the generator that picks the slow searches ([`Fault::SlowSearchTail`]).
    rng: Mutex<u64>,
    /// What `/metrics` counts: authenticated API requests, and those refused with 429.
    counted: Mutex<(u64, u64)>,
}

/// Anonymous tokens the fake issues before refusing (the contract's default per IP and hour).
const ANON_PER_HOUR: u64 = 30;

/// [`Fault::SlowSearchTail`]: this share of answered searches takes this long.
pub const SLOW_SEARCH_SHARE: f64 = 0.10;
pub const SLOW_SEARCH: Duration = Duration::from_millis(800);

/// splitmix64: a uniform draw in [0, 1) from `state` (the fake's faults and
/// the real-router mutants draw their slow searches alike).
pub fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / (u64::MAX as f64 + 1.0)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn resp(status: u16, body: Value) -> ApiResponse {
    ApiResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into(),
    }
}

impl FakeApi {
    pub fn new(secret: &str, faults: &[Fault]) -> Self {
        Self {
            secret: secret.into(),
            limit: 100,
            faults: faults.iter().copied().collect(),
            state: Mutex::default(),
            anon_issued: Default::default(),
            memories: Mutex::default(),
            rng: Mutex::new(0),
            counted: Mutex::default(),
        }
    }
    /// Seeds the generator behind randomised faults (a different run, different slow searches).
    pub fn seeded(self, seed: u64) -> Self {
        *self.rng.lock().unwrap() = seed;
        self
    }
    /// The anonymous endpoint's hourly allowance already spent, as after an
    /// earlier run from the same address: its first answer is a 429.
    pub fn anon_allowance_spent(self) -> Self {
        self.anon_issued
            .store(ANON_PER_HOUR, std::sync::atomic::Ordering::SeqCst);
        self
    }
    /// The latency the fake reports for `request`'s answer: synthetic, never slept.
    fn latency(&self, request: &ApiRequest, r: &ApiResponse, measured: Duration) -> Duration {
        let search = request.path == crate::check::api::SEARCH && r.status == 200;
        if search
            && self.has(Fault::SlowSearchTail)
            && uniform(&mut self.rng.lock().unwrap()) < SLOW_SEARCH_SHARE
        {
            return SLOW_SEARCH;
        }
        measured.max(Duration::from_micros(50))
    }
    fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    fn problem(&self, status: u16, code: &str) -> ApiResponse {
        let mut body = json!({"type": format!("https://knowledge.dev/problems/{code}"), "title": code, "status": status,
            "detail": code, "request_id": uuid::Uuid::new_v4().to_string(), "code": code, "suggestion": format!("Fix the request ({code}); for example wait 36 seconds or upload one of: text/plain, text/markdown, text/csv, application/json, application/pdf.")});
        if self.has(Fault::NoSuggestions) {
            body.as_object_mut().unwrap().remove("suggestion");
        }
        if self.has(Fault::StackTraceInErrors) {
            body["detail"] =
                json!("thread 'tokio-runtime-worker' panicked at src/handlers.rs:42:7");
        }
        let mut r = resp(status, body);
        r.headers[0].1 = "application/problem+json".into();
        r
    }

    fn auth(&self, req: &ApiRequest) -> Result<String, ApiResponse> {
        let challenge = |r: &mut ApiResponse, v: &str| {
            if !self.has(Fault::NoChallengeOn401) {
                r.headers.push(("www-authenticate".into(), v.into()));
            }
        };
        let Some(token) = req.bearer_token() else {
            let mut r = self.problem(401, "missing_token");
            challenge(&mut r, "Bearer realm=\"knowledge\"");
            return Err(r);
        };
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&["authenticated"]);
        // The contract's 30 s (jsonwebtoken's default is 60 s).
        v.leeway = 30;
        match decode::<Value>(token, &DecodingKey::from_secret(self.secret.as_bytes()), &v) {
            Ok(d) if Self::claims_ok(&d.claims) => {
                Ok(d.claims["sub"].as_str().unwrap_or_default().to_owned())
            }
            _ => {
                let mut r = self.problem(401, "invalid_token");
                challenge(&mut r, "Bearer realm=\"knowledge\", error=\"invalid_token\", error_description=\"bad token\"");
                Err(r)
            }
        }
    }

    /// Role, subject and time claims as the contract wants them (30 s leeway).
    fn claims_ok(c: &Value) -> bool {
        let future = |k: &str| {
            c.get(k)
                .and_then(Value::as_f64)
                .is_some_and(|t| t > now() + 30.0)
        };
        c.get("role").is_none_or(|r| r == "authenticated")
            && c["sub"]
                .as_str()
                .is_some_and(|s| s.parse::<uuid::Uuid>().is_ok())
            && !future("iat")
            && !future("nbf")
    }

    /// Counts the request; `Err` when over the limit. Returns rate headers either way.
    fn count(&self, sub: &str) -> (Vec<(String, String)>, bool) {
        let mut st = self.state.lock().unwrap();
        let used = st.1.entry(sub.to_owned()).or_insert(0);
        let refused = *used >= self.limit && !self.has(Fault::NeverRefuse);
        if !refused {
            *used += 1;
        }
        let shown_used = if self.has(Fault::RemainingNeverFalls) {
            1
        } else {
            *used
        };
        let remaining = self.limit - shown_used.min(self.limit);
        let interval = 3600 / self.limit;
        let full_in = shown_used * interval;
        let mut h = vec![
            ("x-ratelimit-limit".into(), self.limit.to_string()),
            ("x-ratelimit-remaining".into(), remaining.to_string()),
            (
                "x-ratelimit-reset".into(),
                ((now() as u64) + full_in).to_string(),
            ),
            (
                "ratelimit-policy".into(),
                format!("\"hourly\";q={};w=3600", self.limit),
            ),
            (
                "ratelimit".into(),
                format!("\"hourly\";r={remaining};t={full_in}"),
            ),
        ];
        if refused {
            h.push(("retry-after".into(), interval.to_string()));
        }
        (h, refused)
    }

    fn handle(&self, req: &ApiRequest) -> ApiResponse {
        let path = req.path.split('?').next().unwrap_or_default();
        let header_bytes: usize = req.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
        if header_bytes > 32 * 1024 {
            return self.problem(431, "headers_too_large");
        }
        let only = |m: http::Method| req.method == m;
        match path {
            "/openapi.json" if only(http::Method::GET) => return resp(200, memory::openapi()),
            "/health" | "/openapi.json" if !only(http::Method::GET) => {
                return self.problem(405, "method_not_allowed")
            }
            "/api/v1/stream/auth/anon" if !only(http::Method::POST) => {
                return self.problem(405, "method_not_allowed")
            }
            _ => {}
        }
        if let Some(r) = self.operational(req, path) {
            return r;
        }
        let knowledge = path.starts_with("/api/v1/knowledge/");
        let memory = path == crate::check::api::MEMORY || path.starts_with("/api/v1/memory/");
        if !(knowledge || memory) {
            return self.problem(404, "not_found");
        }
        let sub = match self.auth(req) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let (rate, refused) = self.count(&sub);
        {
            let mut counted = self.counted.lock().unwrap();
            counted.0 += 1;
            counted.1 += u64::from(refused);
        }
        let mut r = if refused {
            self.problem(429, "rate_limited")
        } else if memory {
            self.memory(req, &sub)
        } else if path == crate::check::api::SEARCH && only(http::Method::POST) {
            self.search(req, &sub)
        } else if path == crate::check::api::SEARCH {
            self.problem(405, "method_not_allowed")
        } else if path == crate::check::api::FILES || path.starts_with("/api/v1/knowledge/files/") {
            self.files_route(req, &sub)
        } else {
            self.problem(404, "not_found")
        };
        r.headers.extend(rate);
        r.headers.push(("cache-control".into(), "no-store".into()));
        r
    }
}

impl FakeApi {
    /// `/health`, `/ready`, `/metrics` and the anonymous-token endpoint: no token, not counted.
    fn operational(&self, req: &ApiRequest, path: &str) -> Option<ApiResponse> {
        Some(match path {
            "/health" => resp(200, json!({"status": "ok"})),
            "/ready" => resp(
                200,
                json!({"ready": true, "checks": {"database": true, "redis": true, "storage": true, "telemetry": true}}),
            ),
            "/metrics" => {
                let (requests, refused) = *self.counted.lock().unwrap();
                let text = format!(
                    "# TYPE http_requests_total counter\n\
                     http_requests_total{{route=\"/api/v1/knowledge/files\",status=\"200\"}} {requests}\n\
                     http_request_duration_seconds_bucket{{route=\"/api/v1/knowledge/files\",status=\"200\",le=\"+Inf\"}} {requests}\n\
                     rate_limit_rejections_total{{scope=\"user\"}} {refused}\n\
                     rate_limit_fail_open_admissions_total 0\n\
                     db_operation_duration_seconds_count 1\n\
                     redis_command_duration_seconds_count 1\n"
                );
                ApiResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "text/plain; version=0.0.4".into())],
                    body: text.into(),
                }
            }
            "/api/v1/stream/auth/anon" if req.method == http::Method::POST => {
                use std::sync::atomic::Ordering;
                if self.anon_issued.fetch_add(1, Ordering::SeqCst) >= ANON_PER_HOUR
                    && !self.has(Fault::NeverRefuse)
                {
                    let mut r = self.problem(429, "rate_limited");
                    r.headers.push(("retry-after".into(), "120".into()));
                    return Some(r);
                }
                let sub = uuid::Uuid::new_v4();
                let mut claims = crate::check::tokens::claims(sub);
                claims["is_anonymous"] = json!(true);
                let exp = claims["exp"].clone();
                resp(
                    200,
                    json!({"token": crate::check::tokens::sign(&claims, &self.secret), "token_type": "bearer",
                           "user_id": sub, "expires_at": exp, "expires_in": 3600}),
                )
            }
            _ => return None,
        })
    }
}

impl Transport for FakeApi {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Exchange> {
        Box::pin(async move {
            let started = Instant::now();
            let mut r = self.handle(&request);
            r.headers
                .push(("x-content-type-options".into(), "nosniff".into()));
            let valid = |id: &str| {
                (1..=128).contains(&id.len())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            };
            let id = request
                .header_value("x-request-id")
                .filter(|id| valid(id))
                .map(str::to_owned);
            if !(r.status >= 400 && self.has(Fault::DropRequestIdOnErrors)) {
                r.headers.push((
                    "x-request-id".into(),
                    id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                ));
            }
            let latency = self.latency(&request, &r, started.elapsed());
            Exchange {
                request,
                response: Ok(r),
                latency,
                received_at: now(),
            }
        })
    }
}

/// A run context over a fresh fake with `faults`: tokens signed with `secret`,
/// the fake's own OpenAPI document as the R1 baseline, no database.
pub async fn ctx(secret: &str, faults: &[Fault]) -> Ctx {
    ctx_over(FakeApi::new(secret, faults)).await
}

/// [`ctx`] over a fake built by the caller (e.g. [`FakeApi::seeded`]).
pub async fn ctx_over(api: FakeApi) -> Ctx {
    let secret = api.secret.clone();
    let api = Arc::new(api);
    let baseline = api
        .send(ApiRequest::get("/openapi.json"))
        .await
        .response
        .expect("the fake always answers")
        .json()
        .expect("the fake serves its OpenAPI document as JSON");
    // Only the run talks to the fake: its counters are exactly the run's. A fixed seed: a
    // run over the fake is the same run every time (its report is pinned by snapshot).
    Ctx::new(
        api,
        TokenSource::Secret(secret),
        Ok(baseline),
        Capabilities::default(),
    )
    .with_sole_client()
    .with_seed(FAKE_SEED)
}

/// The seed of the generated inputs of every run over the fake.
pub const FAKE_SEED: u64 = 20_261_207;

#[cfg(test)]
mod budget;
mod memory;
#[cfg(test)]
mod rerun;
#[cfg(test)]
mod tests;
