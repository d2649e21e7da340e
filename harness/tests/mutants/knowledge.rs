//! Mutants of the knowledge paths and the error conventions: the cheap wrong servers a
//! careless implementer of the contract would ship, each a layer over the real router.

use axum::body::{to_bytes, Body};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use gonogo_suites::testing::faults::ERROR_KINDS;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{broken, json_of, partial, Mutant};

const FILES: &str = "/api/v1/knowledge/files";
const SEARCH: &str = "/api/v1/knowledge/search";

/// The error-kind cases, without those named.
fn kinds_except(skip: &[&str]) -> Vec<&'static str> {
    ERROR_KINDS
        .iter()
        .copied()
        .filter(|id| !skip.contains(id))
        .collect()
}

/// `expected` plus the checks beyond this branch's that the mutant also fails
/// (the conformance scan, the stricter problem shape, the latency phase's setup).
fn also(mut expected: Vec<&'static str>, more: &[&'static str]) -> Vec<&'static str> {
    expected.extend_from_slice(more);
    expected
}

pub fn all() -> Vec<Mutant> {
    vec![
        broken(
            "list_ignores_the_cursor",
            &["files.list.cursor"],
            vec![
                "files::cursor_pages_through_every_file_once",
                "files::bad_cursor_is_400",
                "errors::list_queries_refuse_bad_values",
                "gate_2::every_list_page_holds_only_the_callers_files",
                // Its pages of two never end.
                "files::list_is_newest_first",
            ],
            |r, _| r.layer(from_fn_with_state("cursor", drop_list_param)),
        ),
        broken(
            "list_ignores_the_limit",
            &["files.list.limit"],
            also(
                vec![
                    "gate_3::malformed_input_gets_400_with_suggestion",
                    "files::cursor_pages_through_every_file_once",
                    "limits::list_limit_defaults_to_50_within_1_to_100",
                    "errors::list_queries_refuse_bad_values",
                ],
                &["gate_3::every_outcome_counts_against_the_limit"],
            ),
            |r, _| r.layer(from_fn_with_state("limit", drop_list_param)),
        ),
        broken(
            "list_oldest_first",
            &["files.list"],
            vec![
                "files::list_is_newest_first",
                "files::cursor_pages_through_every_file_once",
                "gate_2::every_list_page_holds_only_the_callers_files",
            ],
            |r, _| r.layer(from_fn(list_oldest_first)),
        ),
        broken(
            "upload_without_location",
            &["files.upload"],
            vec![
                "suite_b::user_a_uploads_file",
                "suite_b::user_b_list_excludes_user_a_file",
                "suite_b::user_b_uploads_file",
                "suite_b::user_b_search_sees_only_own_file",
                "gate_2::cross_tenant_get_by_id_returns_404",
            ],
            |r, _| r.layer(from_fn(upload_without_location)),
        ),
        broken(
            "get_by_id_without_sha256",
            &["files.get"],
            also(
                vec![
                    "files::fileinfo_agrees_across_upload_list_and_get",
                    // The GET no longer describes the bytes /content returns.
                    "files::content_returns_the_stored_bytes",
                ],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(get_without_sha256)),
        ),
        broken(
            "metadata_returned_empty",
            &["metadata.round-trip"],
            vec![
                "files::fileinfo_agrees_across_upload_list_and_get",
                "files::upload_without_metadata_part_is_accepted",
            ],
            |r, _| r.layer(from_fn(metadata_emptied)),
        ),
        broken(
            "metadata_part_required",
            &["files.upload.multipart"],
            also(
                vec!["files::upload_without_metadata_part_is_accepted"],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(metadata_required)),
        ),
        broken(
            "content_served_as_octet_stream_inline",
            &["files.content"],
            vec![
                "files::content_returns_the_stored_bytes",
                "files::content_type_is_the_stored_type_whatever_the_extension",
            ],
            |r, _| r.layer(from_fn(content_inline)),
        ),
        broken(
            "delete_acknowledged_but_file_kept",
            &["files.delete"],
            vec!["files::delete_removes_the_file_everywhere"],
            |r, server| r.layer(from_fn_with_state(server.app_router(), delete_kept)),
        ),
        broken(
            "tokenless_memory_lookup_before_auth",
            &["files.auth-required"],
            also(
                vec!["files::every_route_needs_a_token"],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(lookup_before_auth)),
        ),
        partial(
            "in text/csv: every other allowed type is accepted",
            broken(
                "text_csv_refused",
                &["files.mime-allowed"],
                also(
                    // The non-UTF-8 CSV is refused for its type before its bytes are judged.
                    vec![
                        "uploads::each_allowed_type_is_accepted",
                        "uploads::bytes_contradicting_their_type_are_400_content_mismatch",
                        // An empty CSV is refused for its type before it is judged empty.
                        "uploads::empty_file_is_400_empty_file",
                    ],
                    &[
                        "gate_1::responses_conform_to_the_served_spec",
                        "latency::search_p95_within_400_ms",
                    ],
                ),
                |r, _| r.layer(from_fn(csv_refused)),
            ),
        ),
        broken(
            "content_mismatch_accepted",
            &["files.content-mismatch"],
            vec![
                "uploads::bytes_contradicting_their_type_are_400_content_mismatch",
                "uploads::bytes_are_judged_to_the_last_byte",
            ],
            |r, _| r.layer(from_fn_with_state("content_mismatch", accept_instead)),
        ),
        broken(
            "empty_file_accepted",
            &["files.empty"],
            vec!["uploads::empty_file_is_400_empty_file"],
            |r, _| r.layer(from_fn_with_state("empty_file", accept_instead)),
        ),
        broken(
            "one_byte_over_the_limit_accepted",
            &["files.size-limit"],
            vec!["uploads::size_limit_is_exact"],
            |r, _| r.layer(from_fn_with_state("payload_too_large", accept_instead)),
        ),
        broken(
            "limit_counts_the_whole_body",
            &["files.size-limit"],
            also(
                vec!["uploads::size_limit_is_exact"],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(whole_body_limit)),
        ),
        broken(
            "invalid_id_answered_404",
            &["files.invalid-id"],
            also(
                vec![
                    "gate_3::malformed_input_gets_400_with_suggestion",
                    "errors::by_id_routes_refuse_bad_and_unknown_ids",
                ],
                &[
                    "gate_1::responses_conform_to_the_served_spec",
                    "gate_3::every_outcome_counts_against_the_limit",
                ],
            ),
            |r, _| r.layer(from_fn(invalid_id_404)),
        ),
        broken(
            "filename_keeps_backslashes",
            &["files.filename"],
            vec!["uploads::filenames_are_reduced_to_a_safe_last_segment"],
            |r, _| r.layer(from_fn(unix_only_filenames)),
        ),
        broken(
            "search_results_unsorted",
            &["search.ranked"],
            vec![
                "search::better_match_ranks_first",
                "search::the_best_match_survives_a_small_limit",
            ],
            |r, _| r.layer(from_fn(search_reversed)),
        ),
        broken(
            "search_ignores_metadata",
            &["search.coverage"],
            vec!["search::covers_text_filename_title_description_and_tags"],
            |r, _| r.layer(from_fn(search_without_metadata)),
        ),
        broken(
            "search_without_took_ms",
            &["search.shape"],
            also(
                vec!["search::results_have_the_contract_shape"],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(search_without_took_ms)),
        ),
        partial(
            "above 50: 0 and negatives are refused",
            broken(
                "search_limit_above_50_clamped",
                &["search.limits"],
                vec!["limits::search_limit_defaults_to_10_within_1_to_50"],
                |r, _| r.layer(from_fn(search_limit_clamped)),
            ),
        ),
        broken(
            "search_quote_is_500",
            &["search.bound-parameter"],
            also(
                vec!["gate_2::sql_like_search_text_is_not_5xx"],
                &["gate_1::responses_conform_to_the_served_spec"],
            ),
            |r, _| r.layer(from_fn(search_quote_500)),
        ),
        partial(
            "on 405 and 415: 404s and every handler error are problem+json",
            broken(
                "405_and_415_as_text_plain",
                &["errors.problem-json"],
                also(
                    vec![
                        "gate_3::unknown_route_and_wrong_method_are_problems",
                        "errors::upload_refuses_malformed_multipart",
                        "errors::search_refuses_malformed_bodies",
                        "errors::memory_routes_refuse_malformed_input",
                        "errors::wrong_methods_are_405_problems",
                        "gate_3::suggestion_on_every_error",
                    ],
                    &["gate_1::responses_conform_to_the_served_spec"],
                ),
                |r, _| r.layer(from_fn(text_plain_405_415)),
            ),
        ),
        broken(
            "camel_case_codes_beyond_the_contract",
            &["errors.code"],
            also(
                [
                    // Ids, paths and tokens are refused with the contract's own codes.
                    kinds_except(&[
                        "errors::by_id_routes_refuse_bad_and_unknown_ids",
                        "errors::unknown_paths_are_404_problems",
                        "errors::malformed_authorization_is_401",
                    ]),
                    vec!["gate_3::suggestion_on_every_error"],
                ]
                .concat(),
                &[
                    "files::bad_cursor_is_400",
                    "gate_3::malformed_input_gets_400_with_suggestion",
                    "gate_3::unknown_route_and_wrong_method_are_problems",
                    "limits::list_limit_defaults_to_50_within_1_to_100",
                    "limits::search_limit_defaults_to_10_within_1_to_50",
                ],
            ),
            |r, _| r.layer(from_fn(camel_case_codes)),
        ),
        partial(
            "in an upload's metadata part: a malformed JSON body still gets its 400",
            broken(
                "bad_metadata_json_is_500",
                &["errors.malformed-4xx"],
                also(
                    vec!["errors::upload_refuses_malformed_metadata"],
                    &["gate_1::responses_conform_to_the_served_spec"],
                ),
                |r, _| r.layer(from_fn(metadata_500)),
            ),
        ),
        partial(
            "in the answer to invalid upload metadata: every other error body is clean",
            broken(
                "sql_leak_only_on_invalid_metadata",
                &["errors.no-leak"],
                vec!["gate_2::error_bodies_leak_nothing"],
                |r, _| r.layer(from_fn(leak_on_invalid_metadata)),
            ),
        ),
    ]
}

fn is_upload(req: &Request) -> bool {
    req.method() == Method::POST && req.uri().path() == FILES
}

fn is_list(req: &Request) -> bool {
    req.method() == Method::GET && req.uri().path() == FILES
}

/// Rebuilds the response with a JSON body.
pub(super) fn with_json(parts: axum::http::response::Parts, body: &Value) -> Response {
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Runs the request and edits the JSON body of a 2xx JSON answer (others pass as they are).
pub(super) async fn edit_ok(req: Request, next: Next, edit: impl FnOnce(&mut Value)) -> Response {
    let r = next.run(req).await;
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !r.status().is_success() || !json {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    edit(&mut body);
    with_json(parts, &body)
}

/// The request's body bytes, and the request rebuilt around them.
pub(super) async fn body_of(req: Request) -> (Request, bytes::Bytes) {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    (Request::from_parts(parts, Body::from(bytes.clone())), bytes)
}

/// Runs the request; a problem answer is handed to `edit` (its parts, body and code), which
/// may replace it. Anything else passes unchanged.
pub(super) async fn on_problem(
    req: Request,
    next: Next,
    edit: impl FnOnce(&mut Value, &str) -> Option<Response>,
) -> Response {
    let r = next.run(req).await;
    let is_problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    match edit(&mut body, &code) {
        Some(replaced) => replacing(&parts.headers, replaced),
        None => with_json(parts, &body),
    }
}

async fn drop_list_param(
    State(name): State<&'static str>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_list(&req) {
        let kept: Vec<&str> = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
            .collect();
        let uri = if kept.is_empty() {
            FILES.to_owned()
        } else {
            format!("{FILES}?{}", kept.join("&"))
        };
        *req.uri_mut() = uri.parse().unwrap();
    }
    next.run(req).await
}

async fn list_oldest_first(req: Request, next: Next) -> Response {
    if !is_list(&req) {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        if let Some(items) = b["items"].as_array_mut() {
            items.reverse();
        }
    })
    .await
}

async fn upload_without_location(req: Request, next: Next) -> Response {
    let upload = is_upload(&req);
    let mut r = next.run(req).await;
    if upload {
        r.headers_mut().remove(header::LOCATION);
    }
    r
}

async fn get_without_sha256(req: Request, next: Next) -> Response {
    let by_id = req.method() == Method::GET
        && req.uri().path().starts_with("/api/v1/knowledge/files/")
        && !req.uri().path().ends_with("/content");
    if !by_id {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        b.as_object_mut().map(|o| o.remove("sha256"));
    })
    .await
}

async fn metadata_emptied(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(FILES) || req.uri().path().ends_with("/content") {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        if b.get("metadata").is_some() {
            b["metadata"] = json!({});
        }
        for item in b["items"].as_array_mut().into_iter().flatten() {
            item["metadata"] = json!({});
        }
    })
    .await
}

/// `new`, carrying the headers every response of the server has (request id, nosniff,
/// rate limit, no-store) from the answer it replaces.
pub(super) fn replacing(old: &axum::http::HeaderMap, mut new: Response) -> Response {
    for (name, value) in old {
        let own = [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::LOCATION,
            header::WWW_AUTHENTICATE,
        ];
        if !own.contains(name) && !new.headers().contains_key(name) {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new
}

/// Runs the request, then answers `new` instead, with the server's common headers.
pub(super) async fn instead(req: Request, next: Next, new: Response) -> Response {
    let r = next.run(req).await;
    replacing(r.headers(), new)
}

pub(super) fn problem(status: StatusCode, code: &str, suggestion: &str) -> Response {
    let body = json!({"type": format!("https://knowledge.dev/problems/{code}"), "title": code, "status": status.as_u16(),
        "detail": "refused", "code": code, "suggestion": suggestion});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

async fn metadata_required(req: Request, next: Next) -> Response {
    if !is_upload(&req) || !req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    if memchr_contains(&bytes, b"name=\"metadata\"") {
        return next.run(req).await;
    }
    instead(
        req,
        next,
        problem(
            StatusCode::BAD_REQUEST,
            "invalid_multipart",
            "Send a `metadata` part.",
        ),
    )
    .await
}

fn memchr_contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn content_inline(req: Request, next: Next) -> Response {
    let content = req.uri().path().ends_with("/content");
    let mut r = next.run(req).await;
    if content && r.status() == StatusCode::OK {
        r.headers_mut().remove(header::CONTENT_DISPOSITION);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    r
}

/// Answers 204 for a file the caller can read, without deleting it.
async fn delete_kept(State(inner): State<Router>, req: Request, next: Next) -> Response {
    if req.method() != Method::DELETE || !req.uri().path().starts_with("/api/v1/knowledge/files/") {
        return next.run(req).await;
    }
    let mut probe = Request::get(req.uri().clone()).body(Body::empty()).unwrap();
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        probe
            .headers_mut()
            .insert(header::AUTHORIZATION, auth.clone());
    }
    if let Some(c) = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned() {
        probe.extensions_mut().insert(c);
    }
    match inner.oneshot(probe).await {
        Ok(r) if r.status() == StatusCode::OK => {
            let mut ok = Response::new(Body::empty());
            *ok.status_mut() = StatusCode::NO_CONTENT;
            replacing(r.headers(), ok)
        }
        _ => next.run(req).await,
    }
}

async fn lookup_before_auth(req: Request, next: Next) -> Response {
    let memory_by_id =
        req.method() == Method::GET && req.uri().path().starts_with("/api/v1/memory/");
    if memory_by_id && !req.headers().contains_key(header::AUTHORIZATION) {
        let missing = problem(StatusCode::NOT_FOUND, "not_found", "Check the id.");
        return instead(req, next, missing).await;
    }
    next.run(req).await
}

async fn csv_refused(req: Request, next: Next) -> Response {
    if !is_upload(&req) {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    if memchr_contains(&bytes, b"Content-Type: text/csv") {
        return instead(
            req,
            next,
            problem(
                StatusCode::BAD_REQUEST,
                "invalid_mime_type",
                "Upload one of: text/plain, text/markdown, application/json, application/pdf.",
            ),
        )
        .await;
    }
    next.run(req).await
}

/// Turns the upload refusal with `code` into a 201 with a made-up FileInfo.
async fn accept_instead(State(code): State<&'static str>, req: Request, next: Next) -> Response {
    if !is_upload(&req) {
        return next.run(req).await;
    }
    on_problem(req, next, |_, got| {
        (got == code).then(|| {
            let id = uuid::Uuid::new_v4();
            let body = json!({"id": id, "filename": "file", "mime_type": "text/plain", "size_bytes": 0,
                "sha256": "0".repeat(64), "metadata": null, "created_at": "2026-01-01T00:00:00Z"});
            let mut r = Response::new(Body::from(body.to_string()));
            *r.status_mut() = StatusCode::CREATED;
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(header::LOCATION, HeaderValue::from_str(&format!("{FILES}/{id}")).unwrap());
            r
        })
    })
    .await
}

/// Counts the whole multipart body against the 10 MiB file limit.
async fn whole_body_limit(req: Request, next: Next) -> Response {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    if is_upload(&req) && length > 10 * 1024 * 1024 {
        return instead(
            req,
            next,
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Send at most 10485760 bytes.",
            ),
        )
        .await;
    }
    next.run(req).await
}

async fn invalid_id_404(req: Request, next: Next) -> Response {
    on_problem(req, next, |_, code| {
        (code == "invalid_id").then(|| problem(StatusCode::NOT_FOUND, "not_found", "Check the id."))
    })
    .await
}

/// Keeps everything after the last `/` of the sent filename: backslashes and control
/// characters survive, as on a Unix-only implementation.
async fn unix_only_filenames(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        raw.contains('\\')
            .then(|| raw.rsplit('/').next().unwrap_or_default().to_owned())
    })
    .await
}

/// An upload whose 201 FileInfo shows `keep(sent filename)` when that is `Some`:
/// the careless name handling a mutant stands for (the sent name is the
/// multipart-unescaped `filename="…"`).
pub(super) async fn sent_filename_kept(
    req: Request,
    next: Next,
    keep: fn(&str) -> Option<String>,
) -> Response {
    if !is_upload(&req) {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let text = String::from_utf8_lossy(&bytes);
    let raw = text
        .split("filename=\"")
        .nth(1)
        .and_then(|s| s.split("\"\r\n").next())
        .map(unescape);
    edit_ok(req, next, move |b| {
        if let Some(name) = raw.as_deref().and_then(keep) {
            b["filename"] = json!(name);
        }
    })
    .await
}

/// Undoes the multipart quoting of a filename (`\\` and `\"`).
fn unescape(quoted: &str) -> String {
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    out
}

async fn on_search(req: Request, next: Next, edit: fn(&mut Value, &Value)) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    edit_ok(req, next, move |b| edit(b, &query)).await
}

async fn search_reversed(req: Request, next: Next) -> Response {
    on_search(req, next, |b, _| {
        if let Some(a) = b["results"].as_array_mut() {
            a.reverse();
        }
    })
    .await
}

/// Keeps only hits whose snippet (the indexed text) or filename names a query word.
async fn search_without_metadata(req: Request, next: Next) -> Response {
    on_search(req, next, |b, q| {
        let words: Vec<String> = q["query"]
            .as_str()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        if let Some(a) = b["results"].as_array_mut() {
            a.retain(|hit| {
                let seen = format!("{} {}", hit["snippet"], hit["filename"]).to_lowercase();
                words.iter().any(|w| seen.contains(w.as_str()))
            });
        }
    })
    .await
}

async fn search_without_took_ms(req: Request, next: Next) -> Response {
    on_search(req, next, |b, _| {
        b.as_object_mut().map(|o| o.remove("took_ms"));
    })
    .await
}

async fn search_limit_clamped(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let mut body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return next.run(req).await,
    };
    if body["limit"].as_i64().is_some_and(|l| l > 50) {
        body["limit"] = json!(50);
    }
    let (mut parts, _) = req.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    next.run(Request::from_parts(parts, Body::from(body.to_string())))
        .await
}

async fn text_plain_405_415(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    if matches!(r.status().as_u16(), 405 | 415) {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    r
}

/// The contract's own codes, kept; the implementation's others, camelCased.
const CONTRACT_CODES: [&str; 10] = [
    "missing_token",
    "invalid_token",
    "rate_limited",
    "rate_limiter_unavailable",
    "invalid_mime_type",
    "content_mismatch",
    "empty_file",
    "payload_too_large",
    "not_found",
    "invalid_id",
];

async fn camel_case_codes(req: Request, next: Next) -> Response {
    on_problem(req, next, |body, code| {
        if !CONTRACT_CODES.contains(&code) {
            let mut words = code.split('_');
            let camel: String = words.next().unwrap_or_default().to_owned()
                + &words
                    .map(|w| w[..1].to_uppercase() + &w[1..])
                    .collect::<String>();
            body["code"] = json!(camel);
        }
        None
    })
    .await
}

async fn metadata_500(req: Request, next: Next) -> Response {
    on_problem(req, next, |_, code| {
        (code == "invalid_metadata").then(|| {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Retry later.",
            )
        })
    })
    .await
}

async fn leak_on_invalid_metadata(req: Request, next: Next) -> Response {
    on_problem(req, next, |body, code| {
        if code == "invalid_metadata" {
            body["detail"] = json!("error returned from database: syntax error at or near \"{\"");
        }
        None
    })
    .await
}

/// A query with a single quote breaks as concatenated SQL would: a 500.
async fn search_quote_500(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if !query["query"].as_str().is_some_and(|q| q.contains('\'')) {
        return next.run(req).await;
    }
    let broken = problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Retry later.",
    );
    instead(req, next, broken).await
}
