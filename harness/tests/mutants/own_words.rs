//! Mutants and variants of the words a server uses: a library's message
//! forwarded in a problem's `detail` (the contract's "no … driver/library error
//! string"), against a server whose own sentences merely resemble that wording;
//! and filenames that keep format and bidi characters (a warning) against one
//! that refuses them.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use gonogo_reports::Verdict;
use serde_json::{json, Map, Value};

use super::knowledge::{body_of, on_problem, sent_filename_kept};
use super::variants::refuse_filenames;
use super::{broken, Mutant};

const SEARCH: &str = "/api/v1/knowledge/search";
const MEMORY: &str = "/api/v1/memory";

/// The check the library mutant fails: the scan of every error the run saw.
const SCAN: &str = "gate_2::error_bodies_leak_nothing";
const FORMAT: &str = "uploads::filenames_lose_format_and_bidi_characters";

pub fn all() -> Vec<Mutant> {
    vec![
        broken(
            "library_messages_forwarded_in_detail",
            &["errors.no-leak"],
            vec![SCAN],
            |r, _| r.layer(from_fn(library_detail)),
        ),
        Mutant {
            verdict: Verdict::Go,
            warned: vec![FORMAT],
            ..broken(
                "format_characters_kept_in_filenames",
                &["files.filename.format"],
                Vec::new(),
                |r, _| r.layer(from_fn(format_kept)),
            )
        },
        super::variants::allowed(
            "problem_details_resemble_library_wording",
            &["errors.problem-wording"],
            |r, _| r.layer(from_fn(resembling_detail)),
        ),
        super::variants::allowed(
            "format_characters_in_filenames_are_refused",
            &["filename.refuse-format", "filename.refuse-control"],
            |r, server| {
                r.layer(from_fn_with_state(
                    (server.app_router(), hidden as fn(char) -> bool),
                    refuse_filenames,
                ))
            },
        ),
    ]
}

/// A control, format or separator character: what the refusing variant refuses.
fn hidden(c: char) -> bool {
    c.is_control() || gonogo_suites::cases::knowledge::uploads::is_format_or_separator(c)
}

// The shapes a careless server deserialises straight into, forwarding the
// library's error text (serde_json's and serde_urlencoded's own words).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SearchBody {
    query: String,
    limit: Option<u8>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MemoryBody {
    session_id: String,
    role: String,
    content: String,
    metadata: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
    importance: Option<f32>,
    source: Option<String>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ListQuery {
    limit: Option<u8>,
    cursor: Option<String>,
    session_id: Option<String>,
}

/// What the libraries say about this request's body or query string, if they refuse it.
fn library_message(
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let err = |e: &dyn std::fmt::Display| Some(e.to_string());
    match (method, path) {
        (&Method::POST, SEARCH) => serde_json::from_slice::<SearchBody>(body)
            .err()
            .and_then(|e| err(&e)),
        (&Method::POST, MEMORY) => serde_json::from_slice::<MemoryBody>(body)
            .err()
            .and_then(|e| err(&e)),
        (&Method::GET, _) => serde_urlencoded::from_str::<ListQuery>(query.unwrap_or_default())
            .err()
            .and_then(|e| err(&e)),
        _ => None,
    }
}

/// A 400 to a malformed body or query string carries the library's message as its detail.
async fn library_detail(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let query = req.uri().query().map(str::to_owned);
    let (req, bytes) = body_of(req).await;
    let message = library_message(&method, &path, query.as_deref(), &bytes);
    on_problem(req, next, move |body, _| {
        if let Some(m) = message.filter(|_| body["status"] == 400) {
            body["detail"] = json!(m);
        }
        None
    })
    .await
}

/// Every 400's detail is the server's own sentence, in words that resemble the
/// libraries' but are not their phrasing.
async fn resembling_detail(req: Request, next: Next) -> Response {
    on_problem(req, next, |body, _| {
        if body["status"] == StatusCode::BAD_REQUEST.as_u16() {
            body["detail"] = json!(
                "Invalid value: query should be a string of 1–512 characters, limit must be a \
                 whole number; the field owner_id is unknown and a required field may be missing \
                 (expected a string, input contains a character that is not allowed)."
            );
        }
        None
    })
    .await
}

/// The last path segment of the sent filename, format and bidi characters kept
/// (control characters still removed).
async fn format_kept(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        raw.chars()
            .any(gonogo_suites::cases::knowledge::uploads::is_format_or_separator)
            .then(|| {
                raw.rsplit(['/', '\\'])
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect()
            })
    })
    .await
}
