//! Mutants of the sentences contract v1.1 added or sharpened: the expiry
//! leeway, one truth across read paths, paging under a filter, the bytes a
//! FileInfo describes, unknown routes, refusals before the token is read, the
//! filename's control characters, and the *shoulds* (which warn, never NO-GO).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use gonogo_reports::Verdict;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::knowledge::{body_of, edit_ok, problem, sent_filename_kept};
use super::variants::{header_limit, spec_trimmed};
use super::{broken, partial, Mutant, CONFORMANCE};

const FILES: &str = "/api/v1/knowledge/files";
const SEARCH: &str = "/api/v1/knowledge/search";
const MEMORY: &str = "/api/v1/memory";

/// A mutant of a *should*: GO, with exactly `warned` warning.
pub(super) fn warns(
    name: &'static str,
    clauses: &'static [&'static str],
    warned: Vec<&'static str>,
    build: fn(axum::Router, &knowledge_server::embedded::EmbeddedServer) -> axum::Router,
) -> Mutant {
    Mutant {
        verdict: Verdict::Go,
        warned,
        ..broken(name, clauses, Vec::new(), build)
    }
}

pub fn all() -> Vec<Mutant> {
    vec![
        partial(
            "in the 15 minutes after exp: a token expired long ago is refused",
            broken(
                "fifteen_minute_expiry_leeway",
                &["auth.expired"],
                vec!["gate_2::expired_token_rejected"],
                |r, _| r.layer(from_fn(fifteen_minute_leeway)),
            ),
        ),
        broken(
            "search_keeps_deleted_files",
            &["files.read-paths-agree"],
            vec!["files::delete_removes_the_file_everywhere"],
            |r, _| r.layer(from_fn_with_state(Stale::default(), stale_search)),
        ),
        partial(
            "on memory pages after the first",
            broken(
                "memory_pages_after_the_first_drop_the_session_filter",
                &["files.list.cursor", "r1.memory.operations"],
                vec!["r1_memory::cursor_pages_every_memory_once"],
                |r, _| r.layer(from_fn(filter_on_first_page_only)),
            ),
        ),
        broken(
            "content_served_with_a_byte_order_mark",
            &["files.bytes-described", "files.content"],
            vec!["files::content_returns_the_stored_bytes"],
            |r, _| r.layer(from_fn(content_with_bom)),
        ),
        broken(
            "unknown_routes_fall_back_to_an_html_page",
            &["errors.unknown-route"],
            vec![
                "errors::unknown_paths_are_404_problems",
                "gate_3::unknown_route_and_wrong_method_are_problems",
            ],
            |r, _| r.layer(from_fn(spa_fallback)),
        ),
        broken(
            "large_headers_are_a_500",
            &["errors.refused-before-auth", "errors.malformed-4xx"],
            vec![
                "errors::oversized_headers_are_4xx",
                "errors::malformed_authorization_is_401",
                // The 500 to a token-bearing request is no refusal before the token.
                "gate_3::rate_limit_headers_on_every_api_response",
            ],
            |r, _| r.layer(from_fn(large_headers_500)),
        ),
        broken(
            "control_characters_kept_in_filenames",
            &["files.filename.control"],
            vec!["uploads::filenames_are_reduced_to_a_safe_last_segment"],
            |r, _| r.layer(from_fn(control_kept)),
        ),
        warns(
            "bare_431_without_request_id_or_problem",
            &["errors.refused-before-auth.marked"],
            vec![
                "errors::oversized_headers_are_4xx",
                "errors::malformed_authorization_is_401",
                CONFORMANCE,
                "gate_3::x_request_id_on_every_response",
                "gate_3::suggestion_on_every_error",
                "gate_3::security_headers_on_every_response",
            ],
            |r, _| r.layer(from_fn_with_state(true, header_limit)),
        ),
        warns(
            "error_statuses_left_out_of_the_spec",
            &["ops.error-statuses-documented"],
            vec![CONFORMANCE],
            |r, _| r.layer(from_fn(spec_trimmed)),
        ),
    ]
}

/// Accepts a token that expired up to 15 minutes ago: it is re-signed as valid.
async fn fifteen_minute_leeway(mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned));
    let secret = super::ops_auth::secret();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_exp = false;
    v.set_audience(&["authenticated"]);
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let claims = token
        .and_then(|t| jsonwebtoken::decode::<Value>(&t, &key, &v).ok())
        .map(|d| d.claims)
        .filter(|c| c["exp"].as_i64().is_some_and(|e| e < now && e > now - 900));
    if let Some(mut c) = claims {
        c["exp"] = json!(now + 60);
        let t = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &c,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let v = HeaderValue::from_str(&format!("Bearer {t}")).unwrap();
        req.headers_mut().insert(header::AUTHORIZATION, v);
    }
    next.run(req).await
}

/// A search cache that deletes do not reach: the results a query gave, and the deleted ids.
type Stale = Arc<Mutex<(HashMap<String, Vec<Value>>, HashSet<String>)>>;

async fn stale_search(State(stale): State<Stale>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() == Method::DELETE {
        let r = next.run(req).await;
        if r.status() == StatusCode::NO_CONTENT {
            if let Some(id) = path.rsplit('/').next() {
                stale.lock().unwrap().1.insert(id.to_owned());
            }
        }
        return r;
    }
    if req.method() != Method::POST || path != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let key = query["query"].as_str().unwrap_or_default().to_owned();
    edit_ok(req, next, move |body| {
        let mut s = stale.lock().unwrap();
        let Some(results) = body["results"].as_array_mut() else {
            return;
        };
        let cached = s.0.get(&key).cloned().unwrap_or_default();
        for old in cached {
            let id = old["file_id"].as_str().unwrap_or_default();
            if s.1.contains(id) && !results.iter().any(|r| r["file_id"] == id) {
                results.push(old);
            }
        }
        s.0.insert(key, results.clone());
    })
    .await
}

/// The session filter is applied to the first page only: a page asked for with a cursor lists every session.
async fn filter_on_first_page_only(mut req: Request, next: Next) -> Response {
    let q = req.uri().query().unwrap_or("").to_owned();
    if req.method() == Method::GET && req.uri().path() == MEMORY && q.contains("cursor=") {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|kv| !kv.starts_with("session_id="))
            .collect();
        *req.uri_mut() = format!("{MEMORY}?{}", kept.join("&")).parse().unwrap();
    }
    next.run(req).await
}

/// Text content served with a UTF-8 byte order mark the FileInfo does not count.
async fn content_with_bom(req: Request, next: Next) -> Response {
    let content = req.method() == Method::GET
        && req.uri().path().starts_with(FILES)
        && req.uri().path().ends_with("/content");
    let r = next.run(req).await;
    let text = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/"));
    if !content || !text || r.status() != StatusCode::OK {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut with = b"\xEF\xBB\xBF".to_vec();
    with.extend_from_slice(&bytes);
    Response::from_parts(parts, Body::from(with))
}

/// Every 404 of the router answered with the app's HTML shell (a single-page app's fallback).
async fn spa_fallback(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let is_route_404 = r.status() == StatusCode::NOT_FOUND
        && r.headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
        && !r.headers().contains_key("x-ratelimit-limit");
    if !is_route_404 {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from("<!doctype html><div id=\"app\"></div>"))
}

/// Headers over 8 KiB in all make the server fail: a 500 problem.
async fn large_headers_500(req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size <= 8 * 1024 {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    let new = problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Try again later.",
    );
    super::knowledge::replacing(r.headers(), new)
}

/// The last path segment of the sent filename, control characters and all.
async fn control_kept(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        raw.chars().any(char::is_control).then(|| {
            raw.rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    })
    .await
}
