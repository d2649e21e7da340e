//! An in-memory API that follows the contract, with switchable faults. It
//! implements [`Transport`] directly (no sockets), so the suites' own tests can
//! prove that a correct API passes and that each fault is caught by the
//! expected cases ([`crate::faults`]); [`ctx`] wraps it in a run context for
//! those tests and the harness's. It is deliberately small: it knows only what
//! the suites ask.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::ctx::{Capabilities, Ctx};
use crate::tokens::TokenSource;
use crate::transport::{ApiRequest, ApiResponse, Exchange, Transport};

/// The faults, and the cases each must fail, live in [`crate::faults`].
pub use crate::faults::Fault;

mod knowledge;
use knowledge::File;

/// The fake API.
pub struct FakeApi {
    secret: String,
    limit: u64,
    faults: HashSet<Fault>,
    state: Mutex<(Vec<File>, HashMap<String, u64>)>,
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
        }
    }
    fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    fn problem(&self, status: u16, code: &str) -> ApiResponse {
        let mut body = json!({"type": format!("https://knowledge.dev/problems/{code}"), "title": code, "status": status,
            "code": code, "suggestion": format!("Fix the request ({code}); for example wait 36 seconds or upload one of: text/plain, text/markdown, text/csv, application/json, application/pdf.")});
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
            "/health" if only(http::Method::GET) => return resp(200, json!({"status": "ok"})),
            "/openapi.json" if only(http::Method::GET) => return self.openapi(),
            "/health" | "/openapi.json" => return self.problem(405, "method_not_allowed"),
            "/api/v1/stream/auth/anon" if !only(http::Method::POST) => {
                return self.problem(405, "method_not_allowed")
            }
            _ => {}
        }
        let knowledge = path.starts_with("/api/v1/knowledge/");
        let memory = path == crate::api::MEMORY || path.starts_with("/api/v1/memory/");
        if !(knowledge || memory) {
            return self.problem(404, "not_found");
        }
        let sub = match self.auth(req) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let (rate, refused) = self.count(&sub);
        let mut r = if refused {
            self.problem(429, "rate_limited")
        } else if memory {
            self.memory(req)
        } else if path == crate::api::SEARCH && only(http::Method::POST) {
            self.search(req, &sub)
        } else if path == crate::api::SEARCH {
            self.problem(405, "method_not_allowed")
        } else if path == crate::api::FILES || path.starts_with("/api/v1/knowledge/files/") {
            self.files_route(req, &sub)
        } else {
            self.problem(404, "not_found")
        };
        r.headers.extend(rate);
        r.headers.push(("cache-control".into(), "no-store".into()));
        r
    }

    fn openapi(&self) -> ApiResponse {
        let mut paths = serde_json::Map::new();
        for (m, p) in crate::openapi::KNOWLEDGE_OPERATIONS {
            paths.entry(p).or_insert_with(|| json!({}))[m] =
                json!({"responses": {"200": {"description": "ok"}}});
        }
        resp(200, json!({"openapi": "3.1.0", "paths": paths}))
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
            let latency = started.elapsed().max(Duration::from_micros(50));
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
    let api = Arc::new(FakeApi::new(secret, faults));
    let baseline = api
        .send(ApiRequest::get("/openapi.json"))
        .await
        .response
        .expect("the fake always answers")
        .json()
        .expect("the fake serves its OpenAPI document as JSON");
    Ctx::new(
        api,
        TokenSource::Secret(secret.into()),
        Ok(baseline),
        Capabilities::default(),
    )
}

#[cfg(test)]
mod tests;
