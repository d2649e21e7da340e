//! More partial implementations: a header or a field right on the JSON
//! answers a check meets first and missing one step further (a file's bytes,
//! the memory routes), a refusal right on one by-id route and wrong on the
//! next. Each is NO-GO on the check that looks there; the clause's simple
//! case, another check, still passes on it.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use gonogo_suites::testing::faults::GATE_2_401S;
use serde_json::json;

use super::knowledge::{edit_ok, on_problem, problem, replacing, with_json};
use super::partial::strip_on_downloads;
use super::{broken, json_of, over_created, partial, Created, Mutant, FILES, MEMORY};

const SEARCH: &str = "/api/v1/knowledge/search";

/// The rate-limit headers the contract lists on every authenticated response.
const RATE_LIMIT_HEADERS: &[&str] = &[
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-policy",
    "ratelimit",
];

pub fn all() -> Vec<Mutant> {
    vec![
        partial(
            "on file downloads (`GET …/content`): every JSON answer carries one",
            broken(
                "request_id_missing_on_file_downloads",
                &["headers.request-id.every"],
                vec!["gate_3::x_request_id_on_every_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_downloads(req, next, &["x-request-id"])
                    }))
                },
            ),
        ),
        partial(
            "on file downloads (`GET …/content`): every JSON answer carries them",
            broken(
                "rate_limit_headers_missing_on_file_downloads",
                &["ratelimit.headers"],
                vec!["gate_3::rate_limit_headers_on_every_api_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_downloads(req, next, RATE_LIMIT_HEADERS)
                    }))
                },
            ),
        ),
        partial(
            "in the memory routes' errors: every file route's error carries one",
            broken(
                "suggestion_missing_on_memory_errors",
                &["errors.suggestion"],
                // Every check that meets a memory route's error sees it (the forged
                // tokens are sent to a memory route too).
                [
                    &[
                        "gate_3::suggestion_on_every_error",
                        "errors::by_id_routes_refuse_bad_and_unknown_ids",
                        "errors::list_queries_refuse_bad_values",
                        "errors::memory_routes_refuse_malformed_input",
                        "errors::unknown_paths_are_404_problems",
                        "errors::wrong_methods_are_405_problems",
                        "files::every_route_needs_a_token",
                        "r1_memory::responses_match_the_r1_baseline",
                    ],
                    GATE_2_401S,
                ]
                .concat(),
                |r, _| r.layer(from_fn(memory_errors_without_suggestion)),
            ),
        ),
        partial(
            "in the memory routes' 401s: every file route's 401 carries the challenge",
            broken(
                "challenge_missing_on_memory_routes",
                &["auth.missing-token"],
                // The forged tokens are refused on a memory route too.
                [&["files::every_route_needs_a_token"][..], GATE_2_401S].concat(),
                |r, _| r.layer(from_fn(memory_401_without_challenge)),
            ),
        ),
        partial(
            "in a DELETE of another tenant's file: its GET is a 404",
            broken(
                "cross_tenant_delete_is_403",
                &["files.not-found"],
                vec!["gate_2::cross_tenant_delete_by_id_returns_404"],
                |r, _| {
                    over_created(r, FILES, |r, seen| {
                        r.layer(from_fn_with_state(seen, cross_tenant_delete_forbidden))
                    })
                },
            ),
        ),
        partial(
            "in the list's items: the upload and GET by id return it",
            broken(
                "metadata_empty_in_the_list_only",
                &["metadata.round-trip"],
                vec!["files::fileinfo_agrees_across_upload_list_and_get"],
                |r, _| r.layer(from_fn(list_metadata_emptied)),
            ),
        ),
        partial(
            "in every search result after the first",
            broken(
                "snippet_missing_after_the_first_result",
                &["search.shape"],
                vec![
                    "search::results_have_the_contract_shape",
                    "gate_1::responses_conform_to_the_served_spec",
                ],
                |r, _| r.layer(from_fn(snippets_after_the_first_dropped)),
            ),
        ),
        partial(
            "on a file's content route: GET and DELETE by id refuse a non-UUID id with 400",
            broken(
                "invalid_id_answered_404_on_the_content_route",
                &["files.invalid-id"],
                vec!["errors::by_id_routes_refuse_bad_and_unknown_ids"],
                |r, _| r.layer(from_fn(invalid_id_404_on_content)),
            ),
        ),
        partial(
            "in the memory list's items: a memory as created or read by id keeps them",
            broken(
                "memory_tags_missing_in_the_list",
                &["r1.memory.shape"],
                vec![
                    "r1_memory::responses_match_the_r1_baseline",
                    "gate_1::responses_conform_to_the_served_spec",
                ],
                |r, _| r.layer(from_fn(memory_list_without_tags)),
            ),
        ),
    ]
}

/// Drops `tags` from the memory list's items.
async fn memory_list_without_tags(req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path() != MEMORY {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        for item in b["items"].as_array_mut().into_iter().flatten() {
            item.as_object_mut().map(|o| o.remove("tags"));
        }
    })
    .await
}

/// Empties `metadata` in the list's items only.
async fn list_metadata_emptied(req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path() != FILES {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        for item in b["items"].as_array_mut().into_iter().flatten() {
            item["metadata"] = json!({});
        }
    })
    .await
}

/// Drops `snippet` from every search result but the first.
async fn snippets_after_the_first_dropped(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        for hit in b["results"].as_array_mut().into_iter().flatten().skip(1) {
            hit.as_object_mut().map(|o| o.remove("snippet"));
        }
    })
    .await
}

/// `GET …/{id}/content`'s `400 invalid_id` answered as `404 not_found` (GET and DELETE
/// by id keep their 400).
async fn invalid_id_404_on_content(req: Request, next: Next) -> Response {
    if !req.uri().path().ends_with("/content") {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::BAD_REQUEST {
        return r;
    }
    let (parts, body) = json_of(r).await;
    match body {
        Some(b) if b["code"] == "invalid_id" => replacing(
            &parts.headers,
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "Check the id: no such file.",
            ),
        ),
        b => with_json(parts, &b.unwrap_or_default()),
    }
}

async fn memory_errors_without_suggestion(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(MEMORY) {
        return next.run(req).await;
    }
    on_problem(req, next, |body, _| {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("suggestion");
        }
        None
    })
    .await
}

async fn memory_401_without_challenge(req: Request, next: Next) -> Response {
    let memory = req.uri().path().starts_with(MEMORY);
    let mut r = next.run(req).await;
    if memory && r.status() == StatusCode::UNAUTHORIZED {
        r.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    r
}

/// A DELETE's 404 for a file another token uploaded becomes 403: the server says the file
/// exists but is not the caller's.
async fn cross_tenant_delete_forbidden(
    State(seen): State<Created>,
    req: Request,
    next: Next,
) -> Response {
    let id = (req.method() == Method::DELETE)
        .then(|| req.uri().path().strip_prefix(FILES)?.strip_prefix('/'))
        .flatten()
        .map(str::to_owned);
    let auth = req.headers().get(header::AUTHORIZATION).cloned();
    let r = next.run(req).await;
    let Some(id) = id.filter(|_| r.status() == StatusCode::NOT_FOUND) else {
        return r;
    };
    let someone_elses = seen
        .lock()
        .unwrap()
        .iter()
        .any(|(file, owner)| file["id"] == id.as_str() && Some(owner) != auth.as_ref());
    if !someone_elses {
        return r;
    }
    replacing(
        r.headers(),
        problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Delete only your own files.",
        ),
    )
}
