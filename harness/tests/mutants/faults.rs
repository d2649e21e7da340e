//! The broken servers: tower layers around the real router, each breaking one
//! promise of the contract, and the cases expected to catch it. The fault
//! layers that mirror the in-memory fake's faults take their expected cases
//! from the one table in `gonogo_suites::testing::faults`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use gonogo_reports::Verdict;
use gonogo_suites::testing::faults::{Fault, GATE_2_401S};
use knowledge_server::embedded::EmbeddedServer;
use knowledge_server::RunningServer;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Resources created through one route, seen by the fault layers: the 201 body
/// and the creator's Authorization.
type Created = Arc<Mutex<Vec<(Value, HeaderValue)>>>;

const FILES: &str = "/api/v1/knowledge/files";
const MEMORY: &str = "/api/v1/memory";

#[path = "ops_auth.rs"]
pub mod ops_auth;

#[path = "knowledge.rs"]
mod knowledge;

#[path = "variants.rs"]
mod variants;

#[path = "v1_1.rs"]
mod v1_1;

#[path = "own_words.rs"]
mod own_words;

#[path = "partial.rs"]
mod partial;

#[path = "values.rs"]
mod values;

#[path = "generated.rs"]
mod generated;

#[path = "edges.rs"]
mod edges;

#[path = "deeper.rs"]
mod deeper;

#[path = "deeper_files.rs"]
mod deeper_files;

pub struct Mutant {
    pub name: &'static str,
    /// The contract clauses this mutant breaks (none for the controls that must be GO).
    pub clauses: &'static [&'static str],
    /// For a *partial* implementation (right on the clause's obvious input, wrong one step
    /// further): where its defect hides ("page 2", "past the first KiB", "the array form of
    /// aud"). The mutant's test also shows the clause's simplest case still passing on it.
    pub hides: Option<&'static str>,
    /// For an allowed variant: the contract's freedoms it takes
    /// ([`gonogo_suites::contract::FREEDOMS`] ids); empty for a mutant.
    pub freedoms: &'static [&'static str],
    /// Cases that must fail (or be skipped).
    pub expected: Vec<&'static str>,
    /// Cases that must warn: the server drops only a *should* there.
    pub warned: Vec<&'static str>,
    pub verdict: Verdict,
    /// How the suites see the target.
    pub mode: Mode,
    /// What is changed in the shared database while this mutant runs (and put back after).
    pub db: Option<DbFault>,
    /// A setting of the server changed: the mutant runs on its own app over
    /// the shared stack, built from the shared server's configuration so edited.
    pub config: Option<fn(&mut knowledge_server::Config)>,
    /// The mutant's front: a layer over the real router (the server gives a second
    /// router over the same state, and its database URLs).
    build: fn(Router, &EmbeddedServer) -> Router,
}

/// A change to the shared session's database, as its superuser: `apply` before
/// the mutant runs, `revert` after it whatever happened (each statement
/// idempotent, so a half-applied fault is put back too).
pub struct DbFault {
    pub apply: &'static [&'static str],
    pub revert: &'static [&'static str],
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// JWT secret and database access: every gate.
    Hermetic,
    /// As against a deployed URL with `SMOKE_JWT_SECRET` and no database URL:
    /// isolation cannot be proven, the run is INCONCLUSIVE.
    RemoteWithSecret,
    /// A deployed URL with the secret and `SMOKE_DATABASE_URL` (the app role): every gate.
    RemoteWithDatabase,
    /// A deployed URL with the secret and `SMOKE_ACCEPT_API_ONLY_ISOLATION`.
    RemoteWithWaiver,
    /// As against a deployed URL without the secret: tokens from the anonymous endpoint.
    RemoteAnonymous,
}

/// The rejected-token cases that need no secret to forge.
const FORGED_WITHOUT_SECRET: [&str; 2] = [
    "gate_2::alg_none_rejected",
    "gate_2::bad_signature_rejected",
];

/// The scan of every response against the served spec: a fault that changes a
/// documented response's shape shows there too.
pub const CONFORMANCE: &str = "gate_1::responses_conform_to_the_served_spec";

/// The other checks that mint tokens, or would starve the run's anonymous tenants.
const NEED_THE_SECRET: [&str; 4] = [
    "gate_2::valid_token_variants_accepted",
    "gate_2::two_tokens_of_one_user_share_one_bucket",
    "gate_2::anonymous_tokens_are_limited_per_ip",
    "gate_2::client_sent_forwarding_headers_share_the_ip_allowance",
];

/// A fault layer in hermetic mode, which must be NO-GO.
fn broken(
    name: &'static str,
    clauses: &'static [&'static str],
    expected: Vec<&'static str>,
    build: fn(Router, &EmbeddedServer) -> Router,
) -> Mutant {
    Mutant {
        name,
        clauses,
        hides: None,
        freedoms: &[],
        expected,
        warned: Vec::new(),
        verdict: Verdict::NoGo,
        mode: Mode::Hermetic,
        db: None,
        config: None,
        build,
    }
}

/// A partial implementation, which must be NO-GO: `hides` says where its defect hides.
fn partial(hides: &'static str, mutant: Mutant) -> Mutant {
    Mutant {
        hides: Some(hides),
        ..mutant
    }
}

/// A database fault under the real server, which must be NO-GO.
fn broken_db(
    name: &'static str,
    clauses: &'static [&'static str],
    expected: Vec<&'static str>,
    db: DbFault,
) -> Mutant {
    Mutant {
        db: Some(db),
        ..broken(name, clauses, expected, |r, _| r)
    }
}

/// A control over the unmodified server: no case may fail.
fn control(name: &'static str, verdict: Verdict, mode: Mode) -> Mutant {
    Mutant {
        name,
        clauses: &[],
        hides: None,
        freedoms: &[],
        expected: Vec::new(),
        warned: Vec::new(),
        verdict,
        mode,
        db: None,
        config: None,
        build: |r, _| r,
    }
}

/// The reason the waiver control gives; the reports must show it.
pub const WAIVER_REASON: &str = "staging has no database access; RLS proven by the hermetic run";

pub fn all() -> Vec<Mutant> {
    vec![
        control("correct_server_is_go", Verdict::Go, Mode::Hermetic),
        // No case fails, but API cases alone cannot prove isolation.
        control(
            "remote_mode_with_secret_but_no_database_url_is_inconclusive",
            Verdict::Inconclusive,
            Mode::RemoteWithSecret,
        ),
        control(
            "remote_mode_with_database_url_is_go",
            Verdict::Go,
            Mode::RemoteWithDatabase,
        ),
        control(
            "remote_mode_with_api_only_waiver_is_go",
            Verdict::Go,
            Mode::RemoteWithWaiver,
        ),
        Mutant {
            // Without the secret only alg=none and a wrong signature can be forged; every
            // other rejected-token case is not a pass.
            name: "remote_mode_without_secret_is_inconclusive",
            clauses: &[],
            hides: None,
            expected: GATE_2_401S
                .iter()
                .copied()
                .filter(|id| !FORGED_WITHOUT_SECRET.contains(id))
                .chain(NEED_THE_SECRET)
                .collect(),
            verdict: Verdict::Inconclusive,
            mode: Mode::RemoteAnonymous,
            db: None,
            build: |r, _| r,
            freedoms: &[],
            warned: Vec::new(),
            config: None,
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
            [Fault::NeverRefuse.caught_by(), vec![CONFORMANCE]].concat(),
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
                over_created(r, FILES, |r, seen| {
                    r.layer(from_fn_with_state(seen, search_ignores_tenant))
                })
            },
        ),
        broken(
            "get_by_id_leaks_other_tenants_files",
            Fault::GetLeaksOtherTenants.clauses(),
            Fault::GetLeaksOtherTenants.caught_by(),
            |r, server| {
                let inner = server.app_router();
                over_created(r, FILES, |r, seen| {
                    r.layer(from_fn_with_state((seen, inner, FILES), get_leaks))
                })
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
                CONFORMANCE,
            ],
            |r, _| r.layer(from_fn(break_openapi)),
        ),
        partial(
            "in the slowest tenth of searches: the median is fast",
            broken(
                "search_tail_of_10_percent_at_800_ms",
                Fault::SlowSearchTail.clauses(),
                Fault::SlowSearchTail.caught_by(),
                |r, _| {
                    // Seeded from the clock: each run draws different slow searches.
                    let seed = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |d| d.as_nanos() as u64);
                    r.layer(from_fn_with_state(
                        Arc::new(Mutex::new(seed)),
                        slow_search_tail,
                    ))
                },
            ),
        ),
        broken(
            "memory_list_leaks_other_tenants",
            &["r1.memory.isolation"],
            vec!["r1_memory::other_tenant_list_excludes_memories"],
            |r, _| {
                over_created(r, MEMORY, |r, seen| {
                    r.layer(from_fn_with_state(seen, memory_list_leaks))
                })
            },
        ),
        partial(
            "on the memory by-id route: the list keeps tenants apart",
            broken(
                "memory_get_serves_any_tenant",
                &["r1.memory.isolation"],
                vec!["r1_memory::other_tenant_get_is_404"],
                |r, server| {
                    let inner = server.app_router();
                    over_created(r, MEMORY, |r, seen| {
                        r.layer(from_fn_with_state((seen, inner, MEMORY), get_leaks))
                    })
                },
            ),
        ),
        broken(
            "memory_field_renamed",
            &["r1.memory.shape"],
            vec![
                "r1_memory::responses_match_the_r1_baseline",
                "gate_1::responses_conform_to_the_served_spec",
            ],
            |r, _| r.layer(from_fn(memory_field_renamed)),
        ),
        broken(
            "memory_list_ignores_the_session_filter",
            &["r1.memory.operations"],
            vec![
                "r1_memory::list_filters_by_session",
                "r1_memory::cursor_pages_every_memory_once",
            ],
            |r, _| r.layer(from_fn(memory_session_ignored)),
        ),
        partial(
            "at a page boundary of the memory list: the first page is right",
            broken(
                "memory_cursor_repeats_an_item",
                &["r1.memory.operations"],
                vec!["r1_memory::cursor_pages_every_memory_once"],
                |r, _| r.layer(from_fn_with_state(Arc::default(), memory_cursor_repeats)),
            ),
        ),
        broken(
            "upload_created_at_as_a_number",
            &["ops.responses-documented"],
            vec![
                "files::fileinfo_agrees_across_upload_list_and_get",
                "gate_1::responses_conform_to_the_served_spec",
            ],
            |r, _| r.layer(from_fn(created_at_as_epoch)),
        ),
        broken(
            "stack_trace_in_error_body",
            Fault::StackTraceInErrors.clauses(),
            Fault::StackTraceInErrors.caught_by(),
            |r, _| r.layer(from_fn(stack_trace)),
        ),
        // Database faults last: each is put back before the next mutant runs.
        broken_db(
            "one_tenant_table_without_force_rls",
            &["rls.enable-force"],
            vec![gonogo_suites::cases::rls::FORCED.id],
            DbFault {
                apply: &["ALTER TABLE memories NO FORCE ROW LEVEL SECURITY"],
                revert: &["ALTER TABLE memories FORCE ROW LEVEL SECURITY"],
            },
        ),
        broken_db(
            "extra_permissive_policy_using_true",
            &["rls.policies-claims", "rls.guard-not-handler"],
            vec![
                gonogo_suites::cases::rls::POLICIES.id,
                gonogo_suites::cases::rls::SCOPED.id,
            ],
            DbFault {
                apply: &[
                    "CREATE POLICY gonogo_mutant_open ON knowledge_files FOR SELECT USING (true)",
                ],
                revert: &["DROP POLICY IF EXISTS gonogo_mutant_open ON knowledge_files"],
            },
        ),
        broken_db(
            "app_role_has_bypassrls",
            &["rls.role-unprivileged", "rls.guard-not-handler"],
            vec![gonogo_suites::cases::rls::ROLE.id, gonogo_suites::cases::rls::SCOPED.id],
            DbFault {
                apply: &["ALTER ROLE knowledge_app BYPASSRLS"],
                revert: &["ALTER ROLE knowledge_app NOBYPASSRLS"],
            },
        ),
        partial(
            "in one table's owner: the role's own attributes are unprivileged",
            broken_db(
                "app_role_owns_a_tenant_table",
                &["rls.role-unprivileged"],
                vec![gonogo_suites::cases::rls::ROLE.id],
                DbFault {
                    apply: &["ALTER TABLE memories OWNER TO knowledge_app"],
                    // Handing a table back drops the grants the app role held as owner: restore them.
                    revert: &[
                        "ALTER TABLE memories OWNER TO knowledge_owner",
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON memories TO knowledge_app",
                    ],
                },
            ),
        ),
        broken_db(
            "app_role_has_default_claims",
            &["rls.transaction-local"],
            vec![gonogo_suites::cases::rls::LOCAL.id],
            DbFault {
                apply: &[
                    r#"ALTER ROLE knowledge_app SET request.jwt.claims = '{"sub":"00000000-0000-4000-8000-00000000dead","role":"authenticated"}'"#,
                ],
                revert: &["ALTER ROLE knowledge_app RESET request.jwt.claims"],
            },
        ),
        Mutant {
            build: |r, server| {
                let pool = sqlx::PgPool::connect_lazy(&server.superuser_database_url())
                    .expect("the superuser URL parses");
                r.layer(from_fn_with_state(pool, metadata_in_clear))
            },
            ..broken_db(
                "metadata_copied_in_clear_to_a_column",
                &["metadata.encrypted-at-rest"],
                // A clear copy is also the same bytes for the same metadata.
                vec![
                    gonogo_suites::cases::rls::AT_REST.id,
                    gonogo_suites::cases::rls::at_rest::FRESH.id,
                ],
                DbFault {
                    apply: &[
                        "ALTER TABLE knowledge_files ADD COLUMN IF NOT EXISTS metadata_plain jsonb",
                    ],
                    revert: &["ALTER TABLE knowledge_files DROP COLUMN IF EXISTS metadata_plain"],
                },
            )
        },
        // Every database fault was put back: the same server is GO again.
        control(
            "correct_server_is_go_after_the_database_mutants",
            Verdict::Go,
            Mode::Hermetic,
        ),
    ]
    .into_iter()
    .chain(ops_auth::all())
    .chain(knowledge::all())
    .chain(v1_1::all())
    .chain(own_words::all())
    .chain(partial::all())
    .chain(values::all())
    .chain(generated::all())
    .chain(edges::all())
    .chain(deeper::all())
    .chain(deeper_files::all())
    .chain(variants::all())
    .map(|mut m| {
        let warned = warned_beside(m.name);
        m.expected.retain(|id| !warned.contains(id));
        m.warned.extend_from_slice(warned);
        m
    })
    .collect()
}

/// The checks that only warn under a mutant beside those it fails: where it
/// breaks a *should* on the way (an error body off the served document's
/// schema; a refusal before the token is read without X-Request-ID, nosniff or
/// a snake_case problem with a suggestion).
fn warned_beside(mutant: &str) -> &'static [&'static str] {
    const OVERSIZED: &str = "errors::oversized_headers_are_4xx";
    match mutant {
        "drops_request_id_on_errors"
        | "nosniff_missing_on_errors"
        | "camel_case_codes_beyond_the_contract" => &[OVERSIZED],
        "errors_without_suggestion" => &[OVERSIZED, CONFORMANCE],
        "health_needs_a_token"
        | "metadata_part_required"
        | "tokenless_memory_lookup_before_auth"
        | "text_csv_refused"
        | "limit_counts_the_whole_body"
        | "invalid_id_answered_404"
        | "search_quote_is_500"
        | "405_and_415_as_text_plain"
        | "bad_metadata_json_is_500"
        | "large_headers_are_a_500"
        | "suggestion_missing_on_memory_errors"
        | "cross_tenant_delete_is_403"
        | "invalid_id_answered_404_on_the_content_route" => &[CONFORMANCE],
        _ => &[],
    }
}

impl DbFault {
    /// Runs `statements` as the superuser of the session's database.
    pub async fn execute(server: &EmbeddedServer, statements: &[&str]) -> Result<(), String> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&server.superuser_database_url())
            .await
            .map_err(|e| {
                format!(
                    "connecting as the superuser: {}",
                    gonogo_harness::db::kind(&e)
                )
            })?;
        for sql in statements {
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
        }
        conn.close().await.ok();
        Ok(())
    }
}

/// After each upload, writes the metadata the response carries (decrypted) into
/// `metadata_plain`: the careless "keep a clear copy for search" server.
async fn metadata_in_clear(State(pool): State<sqlx::PgPool>, req: Request, next: Next) -> Response {
    let is_upload = req.method() == Method::POST && req.uri().path() == "/api/v1/knowledge/files";
    let r = next.run(req).await;
    if !is_upload || r.status() != StatusCode::CREATED {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let body = body.unwrap_or_default();
    if let Some(id) = body["id"]
        .as_str()
        .and_then(|i| i.parse::<uuid::Uuid>().ok())
    {
        sqlx::query("UPDATE knowledge_files SET metadata_plain = $1 WHERE id = $2")
            .bind(&body["metadata"])
            .bind(id)
            .execute(&pool)
            .await
            .expect("the mutant writes its clear copy");
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// `r` with a fault layer over a recorder of what `POST path` creates (the fault gets the record).
fn over_created(
    r: Router,
    path: &'static str,
    fault: impl FnOnce(Router, Created) -> Router,
) -> Router {
    let seen = Created::default();
    fault(r, seen.clone()).layer(from_fn_with_state((seen, path), record_created))
}

/// Serves the mutant over the shared server's state on a fresh port.
pub async fn serve(m: &Mutant, server: &EmbeddedServer) -> RunningServer {
    let base = match m.config {
        None => server.app_router(),
        Some(edit) => {
            let mut config = server.config().clone();
            edit(&mut config);
            knowledge_server::App::build(config)
                .await
                .expect("the mutant's server builds over the shared stack")
                .router()
        }
    };
    let router = (m.build)(base, server);
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
    admitted(r, r#"{"items":[],"next_cursor":null}"#.into())
}

/// Turns a 429 into a 200 with `body` (other headers kept): a refusal that never happened.
pub fn admitted(r: Response, body: String) -> Response {
    let (mut parts, _) = r.into_parts();
    parts.status = StatusCode::OK;
    parts.headers.remove(header::RETRY_AFTER);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
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

/// The response's parts and JSON body when `wanted`; otherwise the response, untouched.
async fn json_if(
    r: Response,
    wanted: bool,
) -> Result<(axum::http::response::Parts, Value), Response> {
    if !wanted {
        return Err(r);
    }
    let (parts, body) = json_of(r).await;
    Ok((parts, body.unwrap_or_default()))
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

/// Remembers every resource created by `POST path` (201) and who created it.
async fn record_created(
    State((seen, path)): State<(Created, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let is_create = req.method() == Method::POST && req.uri().path() == path;
    let auth = req.headers().get(header::AUTHORIZATION).cloned();
    let r = next.run(req).await;
    let created = is_create && r.status() == StatusCode::CREATED;
    let (parts, body) = match json_if(r, created).await {
        Ok(json) => json,
        Err(r) => return r,
    };
    if let Some(auth) = auth.filter(|_| body["id"].is_string()) {
        seen.lock().unwrap().push((body.clone(), auth));
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Adds every recorded upload whose filename mentions a query word, whoever owns it.
async fn search_ignores_tenant(State(seen): State<Created>, req: Request, next: Next) -> Response {
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
    for (file, _) in seen.lock().unwrap().iter() {
        let (id, name) = (
            file["id"].as_str().unwrap_or_default(),
            file["filename"].as_str().unwrap_or_default(),
        );
        let hit = words
            .iter()
            .any(|w| name.to_lowercase().contains(w.as_str()));
        let present = body["results"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["file_id"] == id));
        if hit && !present {
            if let Some(a) = body["results"].as_array_mut() {
                a.push(json!({"file_id": id, "filename": name, "score": 0.1, "snippet": ""}));
            }
        }
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// A GET by id under `prefix` that 404s is retried with the owner's credentials: any id is served.
async fn get_leaks(
    State((seen, inner, prefix)): State<(Created, Router, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let id = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
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
                .find(|(made, _)| made["id"] == id.as_str())
                .map(|(_, auth)| auth.clone())
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

/// Sleeps 800 ms (twice the threshold) before one search in ten, drawn at random
/// as the fake's [`Fault::SlowSearchTail`] draws them.
async fn slow_search_tail(
    State(rng): State<Arc<Mutex<u64>>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path() == "/api/v1/knowledge/search" {
        let slow = gonogo_suites::testing::fake::uniform(&mut rng.lock().unwrap())
            < gonogo_suites::testing::fake::SLOW_SEARCH_SHARE;
        if slow {
            tokio::time::sleep(gonogo_suites::testing::fake::SLOW_SEARCH).await;
        }
    }
    next.run(req).await
}
/// Appends to every memory list every memory another tenant created.
async fn memory_list_leaks(State(seen): State<Created>, req: Request, next: Next) -> Response {
    let is_list = req.method() == Method::GET && req.uri().path() == MEMORY;
    let caller = req.headers().get(header::AUTHORIZATION).cloned();
    let r = next.run(req).await;
    let listed = is_list && r.status() == StatusCode::OK;
    let (parts, mut body) = match json_if(r, listed).await {
        Ok(json) => json,
        Err(r) => return r,
    };
    if let Some(items) = body["items"].as_array_mut() {
        let others = seen.lock().unwrap();
        items.extend(
            others
                .iter()
                .filter(|(_, auth)| Some(auth) != caller.as_ref())
                .map(|(m, _)| m.clone()),
        );
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Drops `session_id` from memory list queries: every session is listed.
async fn memory_session_ignored(mut req: Request, next: Next) -> Response {
    if req.uri().path() == MEMORY {
        let query: Vec<&str> = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.starts_with("session_id=") && !kv.is_empty())
            .collect();
        let uri = format!("{MEMORY}?{}", query.join("&"));
        *req.uri_mut() = uri.parse().unwrap();
    }
    next.run(req).await
}

/// `%XX` escapes decoded (cursors travel percent-encoded).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Each `next_cursor` served with the last memory of its page.
type Tails = Arc<Mutex<Vec<(String, Value)>>>;

/// The page after a cursor starts again with the previous page's last memory.
async fn memory_cursor_repeats(State(last): State<Tails>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path() != MEMORY {
        return next.run(req).await;
    }
    let cursor = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("cursor="))
        .map(percent_decode);
    let r = next.run(req).await;
    let listed = r.status() == StatusCode::OK;
    let (parts, mut body) = match json_if(r, listed).await {
        Ok(json) => json,
        Err(r) => return r,
    };
    let mut last = last.lock().unwrap();
    let repeated = cursor.and_then(|c| last.iter().find(|(k, _)| *k == c).map(|(_, m)| m.clone()));
    if let (Some(next_cursor), Some(tail)) = (
        body["next_cursor"].as_str().map(str::to_owned),
        body["items"].as_array().and_then(|i| i.last()).cloned(),
    ) {
        last.push((next_cursor, tail));
    }
    if let (Some(m), Some(items)) = (repeated, body["items"].as_array_mut()) {
        items.insert(0, m);
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Rewrites every JSON body of `route` (200/201) with `edit`, given the body.
async fn edit_json(
    req: Request,
    next: Next,
    route: fn(&Method, &str) -> bool,
    edit: fn(&mut Value),
) -> Response {
    let hit = route(req.method(), req.uri().path());
    let r = next.run(req).await;
    let hit = hit && r.status().is_success() && r.status() != StatusCode::NO_CONTENT;
    let (parts, mut body) = match json_if(r, hit).await {
        Ok(json) => json,
        Err(r) => return r,
    };
    edit(&mut body);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// Every memory object of a memory response: the body itself or its `items`.
fn memories(body: &mut Value) -> Vec<&mut Value> {
    if body.get("items").is_some_and(Value::is_array) {
        return body["items"].as_array_mut().into_iter().flatten().collect();
    }
    vec![body]
}

/// R1 `Memory.token_count` renamed to `tokens` in every memory response.
async fn memory_field_renamed(req: Request, next: Next) -> Response {
    edit_json(
        req,
        next,
        |_, p| p.starts_with(MEMORY),
        |b| {
            for m in memories(b) {
                if let Some(o) = m.as_object_mut() {
                    if let Some(v) = o.remove("token_count") {
                        o.insert("tokens".into(), v);
                    }
                }
            }
        },
    )
    .await
}

/// `FileInfo.created_at` as Unix seconds in upload responses, against the served
/// document's date-time string (no other check reads the type of `created_at`).
async fn created_at_as_epoch(req: Request, next: Next) -> Response {
    edit_json(
        req,
        next,
        |m, p| m == Method::POST && p == FILES,
        |b| b["created_at"] = json!(1_767_225_600),
    )
    .await
}
