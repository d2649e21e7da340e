//! Partial implementations one step further: a clause right on the route
//! family, the value or the table a check meets first, and wrong on the next
//! one (the memory routes' own token checks and error shapes, the last request
//! of an allowance, `/health` with a token, one operation of the document, a
//! table a later migration adds). Each is NO-GO on the check that looks there;
//! where its clause has several checks, another one still passes on it. The
//! file routes' are in `deeper_files.rs`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::knowledge::{body_of, instead, on_problem, problem, replacing, with_json};
use super::ops_auth::{
    accept_if, bare_invalid_token_challenge, counting, refunding, signed_by_secret,
};
use super::v1_1::warns;
use super::{broken, broken_db, json_of, partial, DbFault, Mutant, CONFORMANCE, FILES, MEMORY};

pub(super) const SEARCH: &str = "/api/v1/knowledge/search";

/// The checks that meet a memory route's error: a change to every one of them
/// shows in each (the forged tokens are sent to a memory route too).
const MEMORY_ERRORS: &[&str] = &[
    "errors::by_id_routes_refuse_bad_and_unknown_ids",
    "errors::list_queries_refuse_bad_values",
    "errors::memory_routes_refuse_malformed_input",
    "errors::unknown_paths_are_404_problems",
    "errors::wrong_methods_are_405_problems",
    "files::every_route_needs_a_token",
    "gate_2::alg_none_rejected",
    "gate_2::bad_signature_rejected",
    "gate_2::expired_token_rejected",
    "gate_2::future_issued_token_rejected",
    "gate_2::non_authenticated_role_rejected",
    "gate_2::non_uuid_subject_rejected",
    "gate_2::not_yet_valid_token_rejected",
    "gate_2::other_algorithm_rejected",
    "gate_2::wrong_audience_rejected",
    "gate_3::suggestion_on_every_error",
];

/// The mutants that also answer an error status the served document does not
/// list for its route (a 404 on the content route without a token, a 500, a
/// 415, a 401 on `/health`, a problem as plain JSON): the conformance scan warns.
const UNDOCUMENTED_ERROR_STATUS: &[&str] = &[
    "memory_errors_as_plain_json",
    "tokenless_content_lookup_before_auth",
    "empty_json_file_is_a_content_mismatch",
    "oversized_token_is_a_500",
    "anonymous_token_needs_a_json_body",
    "search_operators_are_500",
    "health_refuses_a_bad_token",
];

pub fn all() -> Vec<Mutant> {
    let mut out = mark_undocumented(routes_and_pages());
    out.extend(tables());
    out
}

/// `mutants`, those of [`UNDOCUMENTED_ERROR_STATUS`] also warned by the conformance scan.
pub(super) fn mark_undocumented(mut mutants: Vec<Mutant>) -> Vec<Mutant> {
    for m in mutants
        .iter_mut()
        .filter(|m| UNDOCUMENTED_ERROR_STATUS.contains(&m.name))
    {
        m.warned.push(CONFORMANCE);
    }
    mutants
}

/// Faults of the API: a layer over the real router.
fn routes_and_pages() -> Vec<Mutant> {
    vec![
        partial(
            "on the memory routes: the file routes refuse it",
            broken(
                "any_signature_accepted_on_memory_routes",
                &["auth.signature"],
                vec!["gate_2::bad_signature_rejected"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        on_memory(req, next, |t, h, _| {
                            h["alg"] == "HS256" && !signed_by_secret(t)
                        })
                    }))
                },
            ),
        ),
        partial(
            "on the memory routes: the file routes refuse it",
            broken(
                "service_role_accepted_on_memory_routes",
                &["auth.role"],
                vec!["gate_2::non_authenticated_role_rejected"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        on_memory(req, next, |_, _, c| {
                            c["role"].is_string() && c["role"] != "authenticated"
                        })
                    }))
                },
            ),
        ),
        partial(
            "on the memory routes: the file routes refuse it",
            broken(
                "non_uuid_subject_accepted_on_memory_routes",
                &["auth.sub-uuid"],
                vec!["gate_2::non_uuid_subject_rejected"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        on_memory(req, next, |_, _, c| {
                            c["sub"]
                                .as_str()
                                .is_some_and(|s| s.parse::<uuid::Uuid>().is_err())
                        })
                    }))
                },
            ),
        ),
        partial(
            "in the memory routes' 401s: the file routes' challenge names the error",
            broken(
                "bare_invalid_token_challenge_on_memory_routes",
                &["auth.invalid-token"],
                gonogo_suites::testing::faults::GATE_2_401S.to_vec(),
                |r, _| r.layer(from_fn(bare_challenge_on_memory)),
            ),
        ),
        partial(
            "in the memory routes' errors: every file route's error is problem+json",
            broken(
                "memory_errors_as_plain_json",
                &["errors.problem-json"],
                [
                    MEMORY_ERRORS,
                    &["r1_memory::responses_match_the_r1_baseline"],
                ]
                .concat(),
                |r, _| r.layer(from_fn(memory_errors_as_json)),
            ),
        ),
        partial(
            "in the memory routes' errors: every file route's code is snake_case",
            broken(
                "memory_error_codes_in_camel_case",
                &["errors.code"],
                [
                    MEMORY_ERRORS,
                    // `notFound` is not the contract's `not_found`.
                    &[
                        "r1_memory::delete_returns_204_then_404",
                        "r1_memory::other_tenant_delete_is_404_and_memory_survives",
                        "r1_memory::other_tenant_get_is_404",
                    ],
                ]
                .concat(),
                |r, _| r.layer(from_fn(memory_codes_camel_case)),
            ),
        ),
        partial(
            "in requests answered 404: a 200 and a 400 each take one",
            broken(
                "not_found_not_counted",
                &["ratelimit.counts-every-request"],
                vec!["gate_3::every_outcome_counts_against_the_limit"],
                |r, _| refunding(r, |status| status == 404),
            ),
        ),
        partial(
            "in the value after counting: it falls by exactly one per request",
            broken(
                "remaining_shown_before_counting",
                &["ratelimit.remaining"],
                vec![
                    "suite_c::user_a_requests_1_to_100_succeed",
                    // A fresh user's first answer shows the whole limit left.
                    "suite_a::rate_limit_headers_well_formed",
                ],
                |r, _| r.layer(from_fn(remaining_before_counting)),
            ),
        ),
        partial(
            "outside /api/v1: an unknown path under it is a 404 problem",
            broken(
                "bare_404_outside_the_api",
                &["errors.unknown-route", "errors.problem-json"],
                vec![
                    "errors::unknown_paths_are_404_problems",
                    "gate_3::suggestion_on_every_error",
                ],
                |r, _| r.layer(from_fn(bare_404_outside_the_api)),
            ),
        ),
        partial(
            "in an oversized bearer token: other oversized headers get a 4xx",
            broken(
                "oversized_token_is_a_500",
                &["errors.refused-before-auth"],
                vec![
                    "errors::malformed_authorization_is_401",
                    // The 500 to a token-bearing request is no refusal before the token.
                    "gate_3::rate_limit_headers_on_every_api_response",
                ],
                |r, _| r.layer(from_fn(oversized_token_500)),
            ),
        ),
        // A *should*: a warning, not a NO-GO (a 4 KiB header limit is allowed).
        partial(
            "in the 431's body: X-Request-ID and nosniff come with it",
            warns(
                "empty_431_body_under_the_stack_headers",
                &["errors.refused-before-auth.marked"],
                // The scans for X-Request-ID and nosniff still pass on it; its huge
                // bearer token meets the limit too.
                vec![
                    "errors::oversized_headers_are_4xx",
                    "errors::malformed_authorization_is_401",
                    "gate_3::suggestion_on_every_error",
                    CONFORMANCE,
                ],
                |r, _| r.layer(from_fn(empty_431_body)),
            ),
        ),
        partial(
            "in an empty body: `{}` gets the token",
            broken(
                "anonymous_token_needs_a_json_body",
                &["auth.anon.token"],
                vec!["gate_2::anonymous_token_is_a_fresh_one_hour_user"],
                |r, _| r.layer(from_fn(empty_anon_body_refused)),
            ),
        ),
        partial(
            "in one operation: its path and the path's other operations are described",
            broken(
                "openapi_without_delete_by_id",
                &["ops.openapi"],
                vec![
                    "gate_1::knowledge_paths_present",
                    // The DELETEs the run sent now answer a method the document hides.
                    "gate_1::responses_conform_to_the_served_spec",
                ],
                |r, _| r.layer(from_fn(delete_by_id_undescribed)),
            ),
        ),
        partial(
            "in one property's type: every R1 path, operation and property is kept",
            broken(
                "r1_token_count_retyped",
                &["r1.spec-additive"],
                vec![
                    "gate_1::no_breaking_change_to_r1",
                    // The memories the run read still carry an integer.
                    "gate_1::responses_conform_to_the_served_spec",
                ],
                |r, _| r.layer(from_fn(token_count_as_string)),
            ),
        ),
        // A *should*: a warning, not a NO-GO.
        partial(
            "on the memory routes: the file routes document their 404",
            warns(
                "memory_404_left_out_of_the_spec",
                &["ops.error-statuses-documented"],
                vec![CONFORMANCE],
                |r, _| r.layer(from_fn(memory_404_undocumented)),
            ),
        ),
        partial(
            "with a token that does not verify: without one, and with a valid one, it is 200",
            broken(
                "health_refuses_a_bad_token",
                &["ops.health"],
                vec!["gate_3::health_answers_without_a_token"],
                |r, server| {
                    r.layer(from_fn_with_state(
                        server.app_router(),
                        health_verifies_tokens,
                    ))
                },
            ),
        ),
        partial(
            "in one check's value: database, redis and telemetry are booleans",
            broken(
                "ready_storage_check_as_a_string",
                &["ops.ready"],
                vec!["gate_3::ready_reports_every_dependency", CONFORMANCE],
                |r, _| r.layer(from_fn(ready_storage_as_string)),
            ),
        ),
        partial(
            "in /metrics: /health and /ready take nothing from a user's allowance",
            broken(
                "metrics_calls_counted",
                &["ops.unlimited"],
                vec!["gate_3::operational_endpoints_are_not_rate_limited"],
                |r, server| counting(r, server, &["/metrics"]),
            ),
        ),
    ]
}

/// Faults of the database: changed as its superuser while the mutant runs.
fn tables() -> Vec<Mutant> {
    vec![
        // The first migration's tables force RLS; a later one adds a tenant table with
        // its policy but forgets `ENABLE`/`FORCE ROW LEVEL SECURITY`.
        partial(
            "in a tenant table a later migration adds: the first migration's tables force it",
            broken_db(
                "later_tenant_table_without_rls",
                &["rls.enable-force"],
                vec![gonogo_suites::cases::rls::FORCED.id],
                DbFault {
                    apply: &[
                        "CREATE TABLE IF NOT EXISTS gonogo_mutant_notes (id uuid PRIMARY KEY, owner_id uuid NOT NULL, body text)",
                        "GRANT SELECT, INSERT ON gonogo_mutant_notes TO knowledge_app",
                        "DROP POLICY IF EXISTS gonogo_mutant_notes_tenant ON gonogo_mutant_notes",
                        "CREATE POLICY gonogo_mutant_notes_tenant ON gonogo_mutant_notes USING (owner_id = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid)",
                    ],
                    revert: &["DROP TABLE IF EXISTS gonogo_mutant_notes"],
                },
            ),
        ),
        // Reading rows compares the owner with the claims; writing does not.
        partial(
            "in an INSERT policy: the policies that read rows compare the owner with the claims",
            broken_db(
                "insert_policy_checks_nothing",
                &["rls.policies-claims"],
                vec![gonogo_suites::cases::rls::POLICIES.id],
                DbFault {
                    apply: &[
                        "DROP POLICY IF EXISTS gonogo_mutant_insert ON memories",
                        "CREATE POLICY gonogo_mutant_insert ON memories FOR INSERT WITH CHECK (true)",
                    ],
                    revert: &["DROP POLICY IF EXISTS gonogo_mutant_insert ON memories"],
                },
            ),
        ),
        // A policy for jobs that run without claims: each tenant still sees only its
        // own rows, and the policy text reads the claims' sub.
        partial(
            "with no claims: each tenant's claims see only its own rows",
            broken_db(
                "claimless_sessions_see_every_file",
                &["rls.guard-not-handler"],
                vec![gonogo_suites::cases::rls::SCOPED.id],
                DbFault {
                    apply: &[
                        "DROP POLICY IF EXISTS gonogo_mutant_claimless ON knowledge_files",
                        "CREATE POLICY gonogo_mutant_claimless ON knowledge_files FOR SELECT USING (coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '') = '')",
                    ],
                    revert: &["DROP POLICY IF EXISTS gonogo_mutant_claimless ON knowledge_files"],
                },
            ),
        ),
        // The role has no default claims; the database it connects to does.
        partial(
            "in the database's settings: the server's role has no default claims",
            broken_db(
                "database_default_claims",
                &["rls.transaction-local"],
                vec![gonogo_suites::cases::rls::LOCAL.id],
                DbFault {
                    apply: &[
                        r#"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET request.jwt.claims = %L', current_database(), '{"sub":"00000000-0000-4000-8000-00000000beef","role":"authenticated"}'); END $$"#,
                    ],
                    revert: &[
                        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET request.jwt.claims', current_database()); END $$",
                    ],
                },
            ),
        ),
    ]
}

/// A 500 problem, as a failing handler answers.
pub(super) fn internal_error() -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Try again later.",
    )
}

/// Runs `req` (so it is counted and its headers kept) and answers `refusal`
/// instead when the body read from `POST path` makes `refused` say so.
pub(super) async fn refused_on_body(
    req: Request,
    next: Next,
    path: &str,
    refused: fn(&[u8]) -> Option<Response>,
) -> Response {
    if req.method() != Method::POST || req.uri().path() != path {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    match refused(&bytes) {
        Some(refusal) => instead(req, next, refusal).await,
        None => next.run(req).await,
    }
}

/// Whether `req` goes to a memory route.
fn to_memory(req: &Request) -> bool {
    req.uri().path().starts_with(MEMORY)
}

/// The careless verifier on the memory routes only: a token matching
/// `wrongly_accepted` passes there; the file routes keep the server's checks.
async fn on_memory(
    req: Request,
    next: Next,
    wrongly_accepted: fn(&str, &Value, &Value) -> bool,
) -> Response {
    if to_memory(&req) {
        accept_if(req, next, wrongly_accepted).await
    } else {
        next.run(req).await
    }
}

/// The memory routes' invalid-token challenge without `error_description`.
async fn bare_challenge_on_memory(req: Request, next: Next) -> Response {
    if to_memory(&req) {
        bare_invalid_token_challenge(req, next).await
    } else {
        next.run(req).await
    }
}

/// The memory routes' problems served as `application/json`.
async fn memory_errors_as_json(req: Request, next: Next) -> Response {
    let memory = to_memory(&req);
    let mut r = next.run(req).await;
    let problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if memory && problem {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    r
}

/// The memory routes' problem codes in camelCase (`invalid_token` → `invalidToken`).
async fn memory_codes_camel_case(req: Request, next: Next) -> Response {
    if !to_memory(&req) {
        return next.run(req).await;
    }
    on_problem(req, next, |body, code| {
        let mut words = code.split('_');
        let camel: String = words.next().unwrap_or_default().to_owned()
            + &words
                .filter(|w| !w.is_empty())
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<String>();
        body["code"] = json!(camel);
        None
    })
    .await
}

/// X-RateLimit-Remaining shows the allowance before this request was counted
/// (one more, at most the limit); a 429 keeps its 0.
async fn remaining_before_counting(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        return r;
    }
    let h = r.headers_mut();
    let read = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    };
    if let (Some(remaining), Some(limit)) =
        (read("x-ratelimit-remaining"), read("x-ratelimit-limit"))
    {
        h.insert(
            "x-ratelimit-remaining",
            HeaderValue::from((remaining + 1).min(limit)),
        );
    }
    r
}

/// A 404 outside `/api/v1` is the framework's bare text answer: the problem
/// fallback was only nested under the API's prefix.
async fn bare_404_outside_the_api(req: Request, next: Next) -> Response {
    let outside = !req.uri().path().starts_with("/api/v1/");
    let r = next.run(req).await;
    if !outside || r.status() != StatusCode::NOT_FOUND {
        return r;
    }
    let mut bare = Response::new(Body::from("Not Found"));
    *bare.status_mut() = StatusCode::NOT_FOUND;
    bare.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    replacing(r.headers(), bare)
}

/// A bearer token over 4 KiB fails the token parser with a 500; other large
/// headers reach the server, which refuses them with its own 4xx.
async fn oversized_token_500(req: Request, next: Next) -> Response {
    let huge = req
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.len() > 4096);
    if !huge {
        return next.run(req).await;
    }
    instead(req, next, internal_error()).await
}

/// A 4 KiB header limit inside the stack's header layers: the 431 gets
/// X-Request-ID and nosniff on its way out, but keeps the limit's empty body.
async fn empty_431_body(req: Request, next: Next) -> Response {
    let r = super::variants::header_limit(State(false), req, next).await;
    if r.status() != StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

/// The anonymous endpoint behind a JSON extractor: an empty body (no
/// Content-Type) is a 415, where the contract takes `{}` or nothing.
async fn empty_anon_body_refused(req: Request, next: Next) -> Response {
    refused_on_body(req, next, "/api/v1/stream/auth/anon", |body| {
        body.is_empty().then(|| {
            problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send Content-Type: application/json with a JSON object body.",
            )
        })
    })
    .await
}

/// `/openapi.json`'s document, edited by `edit`.
async fn edit_document(req: Request, next: Next, edit: fn(&mut Value)) -> Response {
    if req.uri().path() != "/openapi.json" {
        return next.run(req).await;
    }
    let (parts, doc) = json_of(next.run(req).await).await;
    let mut doc = doc.unwrap_or_default();
    edit(&mut doc);
    with_json(parts, &doc)
}

/// The file by-id path describes its GET but not its DELETE.
async fn delete_by_id_undescribed(req: Request, next: Next) -> Response {
    edit_document(req, next, |doc| {
        let by_id = format!("{FILES}/{{id}}");
        if let Some(item) = doc["paths"]
            .get_mut(by_id.as_str())
            .and_then(Value::as_object_mut)
        {
            item.remove("delete");
        }
    })
    .await
}

/// Every `token_count` property of the document typed as a string.
fn retype_token_count(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "token_count" && child["type"] == "integer" {
                    child["type"] = json!("string");
                    child.as_object_mut().map(|c| c.remove("format"));
                } else {
                    retype_token_count(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(retype_token_count),
        _ => {}
    }
}

/// R1's `Memory.token_count` documented as a string (the responses keep the integer).
async fn token_count_as_string(req: Request, next: Next) -> Response {
    edit_document(req, next, retype_token_count).await
}

/// The memory operations' 404 responses removed from the document.
async fn memory_404_undocumented(req: Request, next: Next) -> Response {
    edit_document(req, next, |doc| {
        let Some(paths) = doc["paths"].as_object_mut() else {
            return;
        };
        for (path, item) in paths.iter_mut() {
            if !path.starts_with(MEMORY) {
                continue;
            }
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.remove("404");
                }
            }
        }
    })
    .await
}

/// `/health` behind the API's token check when a token is sent: one that does
/// not verify gets the API's 401 (without a token, or with a valid one, 200).
async fn health_verifies_tokens(State(inner): State<Router>, req: Request, next: Next) -> Response {
    let token = req.headers().get(header::AUTHORIZATION).cloned();
    // A valid token passes untouched: asking the API about it would count a request.
    let refused = token.filter(|t| {
        req.uri().path() == "/health"
            && !t
                .to_str()
                .ok()
                .and_then(|t| t.strip_prefix("Bearer "))
                .is_some_and(signed_by_secret)
    });
    let Some(token) = refused else {
        return next.run(req).await;
    };
    // The API's own refusal of that token (a 401 counts nothing).
    let probe = Request::builder()
        .uri("/api/v1/knowledge/files?limit=1")
        .header(header::AUTHORIZATION, token)
        .body(Body::empty())
        .unwrap();
    inner.oneshot(probe).await.unwrap()
}

/// `/ready` reports its storage check as the store's status word, not a boolean.
async fn ready_storage_as_string(req: Request, next: Next) -> Response {
    if req.uri().path() != "/ready" {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    if body["checks"]["storage"] == true {
        body["checks"]["storage"] = json!("ok");
    }
    with_json(parts, &body)
}
