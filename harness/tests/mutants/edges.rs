//! More partial implementations: a header or a field right on the JSON
//! answers a check meets first and missing one step further (a file's bytes,
//! the memory routes), a refusal right on one by-id route and wrong on the
//! next. Each is NO-GO on the check that looks there; the clause's simple
//! case, another check, still passes on it.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;

use super::knowledge::{on_problem, problem, replacing};
use super::partial::strip_on_downloads;
use super::{broken, over_created, partial, Created, Mutant, FILES, MEMORY};

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
                // Every check that meets a memory route's error sees it.
                vec![
                    "gate_3::suggestion_on_every_error",
                    "errors::by_id_routes_refuse_bad_and_unknown_ids",
                    "errors::list_queries_refuse_bad_values",
                    "errors::memory_routes_refuse_malformed_input",
                    "errors::unknown_paths_are_404_problems",
                    "errors::wrong_methods_are_405_problems",
                    "files::every_route_needs_a_token",
                    "r1_memory::responses_match_the_r1_baseline",
                ],
                |r, _| r.layer(from_fn(memory_errors_without_suggestion)),
            ),
        ),
        partial(
            "in the memory routes' 401s: every file route's 401 carries the challenge",
            broken(
                "challenge_missing_on_memory_routes",
                &["auth.missing-token"],
                vec!["files::every_route_needs_a_token"],
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
    ]
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
