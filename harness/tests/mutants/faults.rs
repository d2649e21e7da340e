//! The broken servers: tower layers around the real router, each breaking one
//! promise of the contract, and the cases expected to catch it. The fault
//! layers that mirror the in-memory fake's faults take their expected cases
//! from the one table in `gonogo_suites::faults`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use gonogo_reports::Verdict;
use gonogo_suites::faults::{Fault, GATE_2_401S};
use knowledge_server::embedded::EmbeddedServer;
use knowledge_server::RunningServer;
use serde_json::{json, Value};
use tower::ServiceExt;

#[path = "knowledge.rs"]
mod knowledge;

/// Uploads seen by the fake layers: (id, filename, the uploader's Authorization).
type Uploads = Arc<Mutex<Vec<(String, String, HeaderValue)>>>;

pub struct Mutant {
    pub name: &'static str,
    /// The contract clauses this mutant breaks (none for the controls that must be GO).
    pub clauses: &'static [&'static str],
    /// Cases that must not pass.
    pub expected: Vec<&'static str>,
    pub verdict: Verdict,
    /// How the suites see the target.
    pub mode: Mode,
    build: fn(Router, Router) -> Router,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// JWT secret and database access: every gate.
    Hermetic,
    /// As against a deployed URL with `SMOKE_JWT_SECRET`: no database gate.
    RemoteWithSecret,
    /// As against a deployed URL without the secret: tokens from the anonymous endpoint.
    RemoteAnonymous,
}

/// The rejected-token cases that need no secret to forge.
const FORGED_WITHOUT_SECRET: [&str; 2] = [
    "gate_2::alg_none_rejected",
    "gate_2::bad_signature_rejected",
];

/// A fault layer in hermetic mode, which must be NO-GO.
fn broken(
    name: &'static str,
    clauses: &'static [&'static str],
    expected: Vec<&'static str>,
    build: fn(Router, Router) -> Router,
) -> Mutant {
    Mutant {
        name,
        clauses,
        expected,
        verdict: Verdict::NoGo,
        mode: Mode::Hermetic,
        build,
    }
}

pub fn all() -> Vec<Mutant> {
    vec![
        Mutant {
            name: "correct_server_is_go",
            clauses: &[],
            expected: Vec::new(),
            verdict: Verdict::Go,
            mode: Mode::Hermetic,
            build: |r, _| r,
        },
        Mutant {
            name: "remote_mode_with_secret_is_go_with_api_only_isolation",
            clauses: &[],
            expected: Vec::new(),
            verdict: Verdict::Go,
            mode: Mode::RemoteWithSecret,
            build: |r, _| r,
        },
        Mutant {
            // Without the secret only alg=none and a wrong signature can be forged; every
            // other rejected-token case is not a pass.
            name: "remote_mode_without_secret_is_inconclusive",
            clauses: &[],
            expected: GATE_2_401S
                .iter()
                .copied()
                .filter(|id| !FORGED_WITHOUT_SECRET.contains(id))
                .collect(),
            verdict: Verdict::Inconclusive,
            mode: Mode::RemoteAnonymous,
            build: |r, _| r,
        },
        broken(
            "drops_request_id_on_errors",
            Fault::DropRequestIdOnErrors.clauses(),
            Fault::DropRequestIdOnErrors.caught_by(),
            |r, _| r.layer(from_fn(drop_request_id_on_errors)),
        ),
        broken(
            "401_without_www_authenticate",
            Fault::NoChallengeOn401.clauses(),
            Fault::NoChallengeOn401.caught_by(),
            |r, _| r.layer(from_fn(no_challenge)),
        ),
        broken(
            "rate_limiter_never_refuses",
            Fault::NeverRefuse.clauses(),
            Fault::NeverRefuse.caught_by(),
            |r, _| r.layer(from_fn(never_refuse)),
        ),
        broken(
            "remaining_never_falls",
            Fault::RemainingNeverFalls.clauses(),
            Fault::RemainingNeverFalls.caught_by(),
            |r, _| r.layer(from_fn(remaining_never_falls)),
        ),
        broken(
            "search_ignores_the_tenant",
            Fault::SearchIgnoresTenant.clauses(),
            Fault::SearchIgnoresTenant.caught_by(),
            |r, _| {
                let seen = Uploads::default();
                r.layer(from_fn_with_state(seen.clone(), search_ignores_tenant))
                    .layer(from_fn_with_state(seen, record_uploads))
            },
        ),
        broken(
            "get_by_id_leaks_other_tenants_files",
            Fault::GetLeaksOtherTenants.clauses(),
            Fault::GetLeaksOtherTenants.caught_by(),
            |r, inner| {
                let seen = Uploads::default();
                r.layer(from_fn_with_state((seen.clone(), inner), get_leaks))
                    .layer(from_fn_with_state(seen, record_uploads))
            },
        ),
        broken(
            "errors_without_suggestion",
            Fault::NoSuggestions.clauses(),
            Fault::NoSuggestions.caught_by(),
            |r, _| r.layer(from_fn(no_suggestions)),
        ),
        broken(
            "openapi_breaks_r1_and_drops_search",
            &["r1.spec-additive", "ops.openapi"],
            // The fake has no such fault, so this list lives here only.
            vec![
                "gate_1::no_breaking_change_to_r1",
                "gate_1::knowledge_paths_present",
            ],
            |r, _| r.layer(from_fn(break_openapi)),
        ),
        broken(
            "stack_trace_in_error_body",
            Fault::StackTraceInErrors.clauses(),
            Fault::StackTraceInErrors.caught_by(),
            |r, _| r.layer(from_fn(stack_trace)),
        ),
    ]
    .into_iter()
    .chain(knowledge::all())
    .collect()
}

/// Serves the mutant over the shared server's state on a fresh port.
pub async fn serve(m: &Mutant, server: &EmbeddedServer) -> RunningServer {
    let router = (m.build)(server.app_router(), server.app_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    knowledge_server::serve(router, listener).await
}

async fn drop_request_id_on_errors(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    if r.status().as_u16() >= 400 {
        r.headers_mut().remove("x-request-id");
    }
    r
}

async fn no_challenge(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut().remove(header::WWW_AUTHENTICATE);
    r
}

/// Replaces every 429 with an empty 200 list (headers otherwise kept).
async fn never_refuse(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    if r.status() != StatusCode::TOO_MANY_REQUESTS {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    parts.status = StatusCode::OK;
    parts.headers.remove(header::RETRY_AFTER);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(r#"{"items":[],"next_cursor":null}"#))
}

/// Always reports one request used.
async fn remaining_never_falls(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let limit = r
        .headers()
        .get("x-ratelimit-limit")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(l) = limit {
        let h = r.headers_mut();
        h.insert("x-ratelimit-remaining", HeaderValue::from(l - 1));
        h.insert(
            "ratelimit",
            HeaderValue::from_str(&format!("\"hourly\";r={};t=36", l - 1)).unwrap(),
        );
    }
    r
}

async fn json_of(r: Response) -> (axum::http::response::Parts, Option<Value>) {
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    (parts, serde_json::from_slice(&bytes).ok())
}

async fn edit_problem(req: Request, next: Next, edit: fn(&mut Value)) -> Response {
    knowledge::on_problem(req, next, |body, _| {
        edit(body);
        None
    })
    .await
}

async fn no_suggestions(req: Request, next: Next) -> Response {
    edit_problem(req, next, |b| {
        b.as_object_mut().map(|o| o.remove("suggestion"));
    })
    .await
}

async fn stack_trace(req: Request, next: Next) -> Response {
    edit_problem(req, next, |b| {
        b["detail"] = json!("thread 'tokio-runtime-worker' panicked at server/src/routes/files.rs:88:14: called `Option::unwrap()` on a `None` value");
    })
    .await
}

/// Serves an OpenAPI document that removes an R1 operation, retypes an R1
/// response field and drops the knowledge search path.
async fn break_openapi(req: Request, next: Next) -> Response {
    if req.uri().path() != "/openapi.json" {
        return next.run(req).await;
    }
    let (parts, doc) = json_of(next.run(req).await).await;
    let mut doc = doc.unwrap_or_default();
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.remove("/api/v1/knowledge/search");
        if let Some(item) = paths
            .get_mut("/api/v1/memory/{id}")
            .and_then(Value::as_object_mut)
        {
            item.remove("delete");
        }
    }
    doc["components"]["schemas"]["Memory"]["properties"]["content"] = json!({"type": "integer"});
    Response::from_parts(parts, Body::from(doc.to_string()))
}

/// Remembers every successful upload and who made it.
async fn record_uploads(State(seen): State<Uploads>, req: Request, next: Next) -> Response {
    let is_upload = req.method() == Method::POST && req.uri().path() == "/api/v1/knowledge/files";
    let auth = req.headers().get(header::AUTHORIZATION).cloned();
    let r = next.run(req).await;
    if !is_upload || r.status() != StatusCode::CREATED {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let body = body.unwrap_or_default();
    if let (Some(id), Some(name), Some(auth)) =
        (body["id"].as_str(), body["filename"].as_str(), auth)
    {
        seen.lock().unwrap().push((id.into(), name.into(), auth));
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Adds every recorded upload whose filename mentions a query word, whoever owns it.
async fn search_ignores_tenant(State(seen): State<Uploads>, req: Request, next: Next) -> Response {
    if req.uri().path() != "/api/v1/knowledge/search" {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let words: Vec<String> = query["query"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let r = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or(json!({"results": []}));
    for (id, name, _) in seen.lock().unwrap().iter() {
        let hit = words
            .iter()
            .any(|w| name.to_lowercase().contains(w.as_str()));
        let present = body["results"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["file_id"] == id.as_str()));
        if hit && !present {
            if let Some(a) = body["results"].as_array_mut() {
                a.push(json!({"file_id": id, "filename": name, "score": 0.1, "snippet": ""}));
            }
        }
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// A GET by id that 404s is retried with the owner's credentials: any id is served.
async fn get_leaks(
    State((seen, inner)): State<(Uploads, Router)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let id = path
        .strip_prefix("/api/v1/knowledge/files/")
        .map(|rest| rest.trim_end_matches("/content").to_owned());
    let connect = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let is_get = req.method() == Method::GET;
    let r = next.run(req).await;
    let owner = id
        .filter(|_| is_get && r.status() == StatusCode::NOT_FOUND)
        .and_then(|id| {
            seen.lock()
                .unwrap()
                .iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, _, auth)| auth.clone())
        });
    let Some(auth) = owner else { return r };
    let mut again = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .unwrap();
    if let Some(c) = connect {
        again.extensions_mut().insert(c);
    }
    inner.oneshot(again).await.unwrap_or(r)
}
