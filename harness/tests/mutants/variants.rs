//! Allowed variants — the mirror of the mutants: the reference server changed
//! only within what the contract allows (its "either … or …", its "may", its
//! defaults, and the choices it does not fix that any FastAPI, Express, Spring
//! or Go server makes without thinking). Each must stay **GO**; a variant that
//! drops only a *should* may warn, and then names the checks that warn.
//!
//! Each variant names the freedoms of [`gonogo_suites::contract::FREEDOMS`] it
//! takes; the traceability test fails on a freedom without a variant.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use gonogo_reports::Verdict;
use knowledge_server::embedded::EmbeddedServer;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::knowledge::{body_of, edit_ok, on_problem, replacing, with_json};
use super::{json_of, DbFault, Mode, Mutant};

const FILES: &str = "/api/v1/knowledge/files";
const MEMORY: &str = "/api/v1/memory";
const SEARCH: &str = "/api/v1/knowledge/search";
const ANON: &str = "/api/v1/stream/auth/anon";

/// A variant over the real router, which must be GO with no check warning.
pub(super) fn allowed(
    name: &'static str,
    freedoms: &'static [&'static str],
    build: fn(Router, &EmbeddedServer) -> Router,
) -> Mutant {
    Mutant {
        name,
        clauses: &[],
        hides: None,
        freedoms,
        expected: Vec::new(),
        warned: Vec::new(),
        verdict: Verdict::Go,
        mode: Mode::Hermetic,
        db: None,
        config: None,
        build,
    }
}

/// A variant that is a setting of the reference server.
fn allowed_setting(
    name: &'static str,
    freedoms: &'static [&'static str],
    config: fn(&mut knowledge_server::Config),
) -> Mutant {
    Mutant {
        config: Some(config),
        ..allowed(name, freedoms, |r, _| r)
    }
}

/// A variant that drops only a *should*: GO, with exactly `warned` warning.
fn allowed_warning(
    name: &'static str,
    freedoms: &'static [&'static str],
    warned: Vec<&'static str>,
    build: fn(Router, &EmbeddedServer) -> Router,
) -> Mutant {
    Mutant {
        warned,
        ..allowed(name, freedoms, build)
    }
}

pub fn all() -> Vec<Mutant> {
    vec![
        allowed(
            "fresh_request_ids_are_uuid_v7",
            &["request-id.fresh-uuid-version"],
            |r, _| r.layer(from_fn(request_ids_v7)),
        ),
        allowed(
            "problems_in_the_servers_own_words",
            &["errors.problem-wording"],
            |r, _| r.layer(from_fn(own_problem_words)),
        ),
        allowed(
            "media_types_carry_charset",
            &["errors.content-type-parameters"],
            |r, _| r.layer(from_fn(charset_everywhere)),
        ),
        allowed(
            "lower_header_limit_is_431_before_the_token_is_read",
            &["refused-before-auth.lower-header-limit"],
            |r, _| r.layer(from_fn_with_state(false, header_limit)),
        ),
        allowed_warning(
            "bare_431_from_the_http_layer",
            &[
                "refused-before-auth.bare",
                "refused-before-auth.lower-header-limit",
            ],
            vec![
                "errors::oversized_headers_are_4xx",
                "errors::malformed_authorization_is_401",
                "gate_1::responses_conform_to_the_served_spec",
                "gate_3::x_request_id_on_every_response",
                "gate_3::suggestion_on_every_error",
                "gate_3::security_headers_on_every_response",
            ],
            |r, _| r.layer(from_fn_with_state(true, header_limit)),
        ),
        allowed(
            "unparseable_sub_paths_are_400_invalid_id",
            &["unknown-route.invalid-id"],
            |r, server| {
                r.layer(from_fn_with_state(
                    server.app_router(),
                    sub_paths_invalid_id,
                ))
            },
        ),
        allowed(
            "www_authenticate_parameters_in_another_order",
            &["auth.challenge-parameter-order"],
            |r, _| r.layer(from_fn(challenge_reordered)),
        ),
        allowed(
            "expired_tokens_refused_without_leeway",
            &["auth.expiry-leeway"],
            |r, _| r.layer(from_fn(no_expiry_leeway)),
        ),
        allowed(
            "anonymous_tokens_carry_more_claims_and_an_array_audience",
            &["anon.token-extra-claims", "auth.aud-array"],
            |r, _| r.layer(from_fn(anon_more_claims)),
        ),
        allowed_setting(
            "anonymous_limit_of_60_an_hour",
            &["anon.larger-limit"],
            |c| c.anon_rate_limit_per_hour = 60,
        ),
        allowed(
            "behind_its_own_proxy_that_appends_the_peer",
            &["anon.behind-proxy"],
            // The proxy (outer) appends the peer; the server (inner) reads the last hop.
            |r, _| {
                r.layer(from_fn(reads_last_forwarded_hop))
                    .layer(from_fn(proxy_appends_peer))
            },
        ),
        allowed(
            "retry_after_rounded_up_a_second",
            &["ratelimit.retry-after-rounded-up"],
            |r, _| r.layer(from_fn(retry_after_plus_one)),
        ),
        allowed(
            "responses_carry_extra_fields",
            &["responses.extra-fields"],
            |r, _| r.layer(from_fn(extra_fields)),
        ),
        allowed(
            "json_members_in_reverse_order",
            &["responses.json-key-order"],
            |r, _| r.layer(from_fn(reversed_keys)),
        ),
        allowed_setting("ids_are_uuid_v7", &["responses.ids-any-uuid"], |c| {
            c.uuid_v7_ids = true
        }),
        allowed(
            "timestamps_in_milliseconds_at_plus_two_hours",
            &["responses.timestamp-format"],
            |r, _| r.layer(from_fn(timestamps_offset)),
        ),
        allowed(
            "location_is_an_absolute_url",
            &["responses.location-absolute"],
            |r, _| r.layer(from_fn(absolute_location)),
        ),
        allowed(
            "chunked_bodies_without_content_length",
            &["transport.chunked"],
            |r, _| r.layer(from_fn(chunked)),
        ),
        allowed(
            "connection_close_after_every_response",
            &["transport.connection-close"],
            |r, _| r.layer(from_fn(connection_close)),
        ),
        allowed(
            "more_response_headers",
            &["transport.extra-headers"],
            |r, _| r.layer(from_fn(more_headers)),
        ),
        allowed(
            "cache_control_private_no_store_max_age_0",
            &["headers.cache-control-more"],
            |r, _| r.layer(from_fn(cache_control_more)),
        ),
        allowed("opaque_base64_cursors", &["list.cursor-format"], |r, _| {
            r.layer(from_fn(wrapped_cursors))
        }),
        allowed(
            "validation_errors_are_422_where_no_status_is_named",
            &["validation.status"],
            |r, _| r.layer(from_fn(unprocessable)),
        ),
        allowed(
            "content_disposition_with_an_ascii_fallback",
            &["content.disposition-fallback"],
            |r, _| r.layer(from_fn(disposition_fallback)),
        ),
        allowed(
            "control_characters_in_filenames_are_refused",
            &["filename.refuse-control"],
            |r, server| {
                r.layer(from_fn_with_state(
                    (server.app_router(), char::is_control as fn(char) -> bool),
                    refuse_filenames,
                ))
            },
        ),
        allowed(
            "snippets_marked_with_guillemets",
            &["search.snippet-markers"],
            |r, _| r.layer(from_fn(snippet_markers)),
        ),
        allowed(
            "scores_on_a_0_to_1000_scale",
            &["search.score-scale"],
            |r, _| r.layer(from_fn(scores_scaled)),
        ),
        allowed(
            "search_operators_and_quotes_refused_with_400",
            &["search.refuse-operators"],
            |r, server| r.layer(from_fn_with_state(server.app_router(), refuse_operators)),
        ),
        allowed(
            "ready_reports_more_checks",
            &["ready.more-checks"],
            |r, _| r.layer(from_fn(ready_more)),
        ),
        allowed("metrics_under_other_names", &["metrics.names"], |r, _| {
            r.layer(from_fn(metrics_renamed))
        }),
        allowed_warning(
            "spec_without_itself_and_without_error_statuses",
            &["openapi.without-itself", "openapi.undocumented-errors"],
            vec!["gate_1::responses_conform_to_the_served_spec"],
            |r, _| r.layer(from_fn(spec_trimmed)),
        ),
        Mutant {
            db: Some(DbFault {
                apply: POLICY_THROUGH_A_FUNCTION,
                revert: POLICY_AS_MIGRATED,
            }),
            ..allowed(
                "policies_read_the_sub_through_a_function",
                &["rls.policy-text"],
                |r, _| r,
            )
        },
    ]
}

// ---- helpers -------------------------------------------------------------

/// Refuses `req` as the server would after authenticating and counting it:
/// the same headers are sent to a by-id route with an unparseable id, and its
/// 400 (authenticated, counted, with the rate-limit headers) is answered with
/// `code` and `suggestion` instead. A 401, 429 or 503 passes as it is.
/// (A layer runs after routing: the substitute goes through `inner`, a fresh router.)
async fn refuse_counted(inner: Router, req: Request, code: &str, suggestion: &str) -> Response {
    let (mut parts, _) = req.into_parts();
    parts.method = Method::GET;
    parts.uri = Uri::from_static("/api/v1/knowledge/files/not-a-uuid");
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let substitute = Request::from_parts(parts, Body::empty());
    let r = inner
        .oneshot(substitute)
        .await
        .expect("the router is infallible");
    if r.status() != StatusCode::BAD_REQUEST {
        return r;
    }
    // The substitute carried the same inbound X-Request-ID, so its headers are this request's.
    let new = own_problem(r.headers(), StatusCode::BAD_REQUEST, code, suggestion);
    replacing(r.headers(), new)
}

/// A complete problem in the server's error shape (detail and request_id
/// included, as its document describes errors), answering with `headers`' request id.
fn own_problem(
    headers: &axum::http::HeaderMap,
    status: StatusCode,
    code: &str,
    suggestion: &str,
) -> Response {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let body = json!({
        "type": format!("https://knowledge.dev/problems/{}", code.replace('_', "-")),
        "title": "Request refused", "status": status.as_u16(),
        "detail": "The request was refused.", "code": code, "suggestion": suggestion,
        "request_id": request_id,
    });
    let mut new = Response::new(Body::from(body.to_string()));
    *new.status_mut() = status;
    let h = new.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-request-id", HeaderValue::from_str(&request_id).unwrap());
    new
}

/// Every JSON value of a response body edited by `edit`, whatever its status (not the OpenAPI document).
async fn edit_any_json(req: Request, next: Next, edit: impl FnOnce(&mut Value)) -> Response {
    let skip = req.uri().path() == "/openapi.json";
    let r = next.run(req).await;
    let json = r.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(b"application/problem+json")
    });
    if skip || !json {
        return r;
    }
    let (parts, body) = json_of(r).await;
    match body {
        Some(mut body) => {
            edit(&mut body);
            with_json(parts, &body)
        }
        None => Response::from_parts(parts, Body::empty()),
    }
}

/// Applies `f` to the objects a contract response is made of: the body itself,
/// and each object of its `items` or `results`.
fn each_object(body: &mut Value, mut f: impl FnMut(&mut serde_json::Map<String, Value>)) {
    let Some(o) = body.as_object_mut() else {
        return;
    };
    for key in ["items", "results"] {
        if let Some(a) = o.get_mut(key).and_then(Value::as_array_mut) {
            a.iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(&mut f);
        }
    }
    f(o);
}

/// The inbound X-Request-ID when the contract says to echo it (else none: a fresh one).
fn echoable(inbound: &axum::http::HeaderMap) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::new();
    if let Some(v) = inbound
        .get("x-request-id")
        .filter(|v| v.to_str().is_ok_and(is_valid_request_id))
    {
        h.insert("x-request-id", v.clone());
    }
    h
}

fn is_valid_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

// ---- conventions -----------------------------------------------------------

async fn request_ids_v7(req: Request, next: Next) -> Response {
    let echoed = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_valid_request_id);
    let mut r = next.run(req).await;
    if !echoed && r.headers().contains_key("x-request-id") {
        let id = uuid::Uuid::now_v7().to_string();
        r.headers_mut()
            .insert("x-request-id", HeaderValue::from_str(&id).unwrap());
    }
    r
}

async fn own_problem_words(req: Request, next: Next) -> Response {
    on_problem(req, next, |body, code| {
        if let Some(o) = body.as_object_mut() {
            o.insert(
                "type".into(),
                json!(format!("https://errors.example.org/{code}")),
            );
            o.insert("title".into(), json!("That did not work"));
            o.insert(
                "detail".into(),
                json!("The server could not do what was asked."),
            );
        }
        None
    })
    .await
}

async fn charset_everywhere(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(ct) = ct.filter(|c| c.contains("json") && !c.contains("charset")) {
        let v = HeaderValue::from_str(&format!("{ct}; charset=utf-8")).unwrap();
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A stack whose header limit is 4 KiB: over it, 431 before anything else runs
/// (the token is never read, nothing is counted). `bare`: the HTTP layer's own
/// empty 431, without X-Request-ID or nosniff.
pub(super) async fn header_limit(State(bare): State<bool>, req: Request, next: Next) -> Response {
    let size: usize = req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if size <= 4096 {
        return next.run(req).await;
    }
    let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    if bare {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = status;
        return r;
    }
    // A fresh id: an inbound one is in the headers this layer refuses to read.
    own_problem(
        &axum::http::HeaderMap::new(),
        status,
        "headers_too_large",
        "Send request headers under 4 KiB in all; a bearer token is a few hundred bytes.",
    )
}

/// `/files/{x}/content/more` and `/memory/{x}/more` are read as a by-id route with an
/// id segment that does not parse (a router matching `{id:path}`): 400 invalid_id.
async fn sub_paths_invalid_id(State(inner): State<Router>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let deep = |prefix: &str, allowed: usize| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest.split('/').count() > allowed)
    };
    if deep(FILES, 2) || deep(MEMORY, 1) {
        return refuse_counted(
            inner,
            req,
            "invalid_id",
            "Use the id of a file or memory as returned by the API: a UUID such as 0b8a5f2e-2c3d-4c8e-9f3a-0d2b1c4e5f6a.",
        )
        .await;
    }
    next.run(req).await
}

// ---- authentication ----------------------------------------------------------

async fn challenge_reordered(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let value = r
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(v) = value.and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned)) {
        let mut params: Vec<&str> = v.split(", ").collect();
        params.reverse();
        let v = format!("Bearer {}", params.join(", "));
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&v).unwrap());
    }
    r
}

fn bearer_claims(req: &Request) -> Option<Value> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Refuses a token whose `exp` has passed at all (the contract refuses past 30 s; within is open).
async fn no_expiry_leeway(req: Request, next: Next) -> Response {
    let expired = bearer_claims(&req)
        .and_then(|c| c["exp"].as_i64())
        .is_some_and(|exp| exp < chrono::Utc::now().timestamp());
    if !expired {
        return next.run(req).await;
    }
    let inbound = req.headers().clone();
    let mut r = own_problem(
        &echoable(&inbound),
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "Sign in again to get a fresh token.",
    );
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer realm="knowledge", error="invalid_token", error_description="the token has expired""#),
    );
    r
}

/// The anonymous token re-signed with more claims (iss, iat, jti) and `aud` as an array.
async fn anon_more_claims(req: Request, next: Next) -> Response {
    let anon = req.method() == Method::POST && req.uri().path() == ANON;
    let r = next.run(req).await;
    if !anon || r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    let secret = super::ops_auth::secret();
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&["authenticated"]);
    if let Some(data) = body["token"]
        .as_str()
        .and_then(|t| jsonwebtoken::decode::<Value>(t, &key, &v).ok())
    {
        let mut claims = data.claims;
        claims["aud"] = json!(["authenticated"]);
        claims["iss"] = json!("https://auth.example.org");
        claims["iat"] = json!(chrono::Utc::now().timestamp());
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        body["token"] = json!(token);
    }
    with_json(parts, &body)
}

/// A reverse proxy of the deployment: appends the peer it saw to X-Forwarded-For.
async fn proxy_appends_peer(mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let sent = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let chain = match sent {
            Some(s) => format!("{s}, {}", peer.ip()),
            None => peer.ip().to_string(),
        };
        req.headers_mut()
            .insert("x-forwarded-for", HeaderValue::from_str(&chain).unwrap());
        // What the server sees as the TCP peer is now the proxy.
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 88, 0, 1], 8080))));
    }
    next.run(req).await
}

/// The server behind that proxy: its client address is the last hop, the one its proxy appended.
async fn reads_last_forwarded_hop(mut req: Request, next: Next) -> Response {
    let last = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
    if let Some(ip) = last {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    next.run(req).await
}

async fn retry_after_plus_one(req: Request, next: Next) -> Response {
    retry_after_edited(req, next, |ra| ra + 1).await
}

/// Every 429's Retry-After (whole seconds) replaced by `edit` of it.
pub(super) async fn retry_after_edited(req: Request, next: Next, edit: fn(u64) -> u64) -> Response {
    let mut r = next.run(req).await;
    let ra = r
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(ra) = ra.filter(|_| r.status() == StatusCode::TOO_MANY_REQUESTS) {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(edit(ra)));
    }
    r
}

// ---- response bodies ---------------------------------------------------------

async fn extra_fields(req: Request, next: Next) -> Response {
    edit_any_json(req, next, |body| {
        each_object(body, |o| {
            o.insert("etag".into(), json!("W/\"1\""));
        });
    })
    .await
}

fn reverse_keys(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
            entries.reverse();
            for (k, mut v) in entries {
                reverse_keys(&mut v);
                o.insert(k, v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(reverse_keys),
        _ => {}
    }
}

async fn reversed_keys(req: Request, next: Next) -> Response {
    edit_any_json(req, next, reverse_keys).await
}

fn offset_timestamp(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                let stamp = val
                    .as_str()
                    .filter(|_| k.ends_with("_at"))
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
                match stamp {
                    Some(t) => {
                        let tz = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
                        *val = json!(t
                            .with_timezone(&tz)
                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false));
                    }
                    None => offset_timestamp(val),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(offset_timestamp),
        _ => {}
    }
}

async fn timestamps_offset(req: Request, next: Next) -> Response {
    edit_any_json(req, next, offset_timestamp).await
}

async fn absolute_location(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut r = next.run(req).await;
    let loc = r
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let (Some(host), Some(loc)) = (host, loc.filter(|l| l.starts_with('/'))) {
        let v = HeaderValue::from_str(&format!("http://{host}{loc}")).unwrap();
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

// ---- transport -----------------------------------------------------------------

async fn chunked(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let stream = futures::stream::iter(
        bytes
            .chunks(1024)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn connection_close(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn more_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static("gunicorn/21.2.0"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Origin"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000; includeSubDomains"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

async fn cache_control_more(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let no_store = r
        .headers()
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes() == b"no-store");
    if no_store {
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store, max-age=0"),
        );
    }
    r
}

// ---- knowledge paths -------------------------------------------------------------

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v2|{s}"))
}

fn unb64(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("v2|")
        .map(str::to_owned)
}

/// Cursors wrapped as `base64url("v2|" + the server's cursor)`; an unknown one passes as sent.
async fn wrapped_cursors(mut req: Request, next: Next) -> Response {
    let list =
        req.method() == Method::GET && (req.uri().path() == FILES || req.uri().path() == MEMORY);
    if list {
        if let Some(q) = req.uri().query() {
            let q: Vec<String> = q
                .split('&')
                .map(|kv| match kv.strip_prefix("cursor=") {
                    Some(c) => match unb64(&super::percent_decode(c)) {
                        Some(inner) => format!(
                            "cursor={}",
                            percent_encoding::utf8_percent_encode(
                                &inner,
                                percent_encoding::NON_ALPHANUMERIC
                            )
                        ),
                        None => kv.to_owned(),
                    },
                    None => kv.to_owned(),
                })
                .collect();
            let uri = format!("{}?{}", req.uri().path(), q.join("&"));
            *req.uri_mut() = uri.parse().unwrap();
        }
    }
    if !list {
        return next.run(req).await;
    }
    edit_ok(req, next, |body| {
        if let Some(c) = body["next_cursor"].as_str().map(str::to_owned) {
            body["next_cursor"] = json!(b64(&c));
        }
    })
    .await
}

/// FastAPI's habit: a refused search body (bounds, types) and a bad file-list
/// cursor are 422, documented as such beside 400. (R1's memory routes keep the
/// 400 their frozen description gives.)
async fn unprocessable(req: Request, next: Next) -> Response {
    if req.uri().path() == "/openapi.json" {
        let (parts, doc) = json_of(next.run(req).await).await;
        let mut doc = doc.unwrap_or_default();
        for (path, method) in [(SEARCH, "post"), (FILES, "get")] {
            let responses = &mut doc["paths"][path][method]["responses"];
            if let Some(bad) = responses.get("400").cloned() {
                responses["422"] = bad;
            }
        }
        return with_json(parts, &doc);
    }
    let search = req.uri().path() == SEARCH;
    let cursor = req.method() == Method::GET
        && req.uri().path() == FILES
        && req.uri().query().is_some_and(|q| q.contains("cursor="));
    on_problem(req, next, move |body, code| {
        let fits = (search && matches!(code, "validation_failed" | "invalid_json"))
            || (cursor && code == "invalid_cursor");
        if fits {
            body["status"] = json!(422);
            let mut r = with_json_status(body, StatusCode::UNPROCESSABLE_ENTITY);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            return Some(r);
        }
        None
    })
    .await
}

/// A response of `status` with `body` (the server's other headers are put back by `on_problem`).
fn with_json_status(body: &Value, status: StatusCode) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r
}

async fn disposition_fallback(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let cd = r
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(cd) = cd {
        let v = cd.replacen("attachment;", "attachment; filename=\"download\";", 1);
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    r
}

/// The filename of a multipart upload's file part has a character `refused` refuses.
fn filename_has(body: &[u8], refused: fn(char) -> bool) -> bool {
    let text = String::from_utf8_lossy(body);
    text.split("filename=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_owned()))
        .any(|name| name.chars().any(refused))
}

/// The router to answer a refusal through, and the characters a name may not hold.
pub(super) type Refusing = (Router, fn(char) -> bool);

/// Refuses an upload whose filename has a character `refused` refuses (control
/// characters: C0, DEL or C1; or more) with 400 invalid_filename.
pub(super) async fn refuse_filenames(
    State((inner, refused)): State<Refusing>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST || req.uri().path() != FILES {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    if !filename_has(&bytes, refused) {
        return next.run(req).await;
    }
    refuse_counted(
        inner,
        req,
        "invalid_filename",
        "Rename the file without control, format or bidi characters (tabs, line breaks, U+202E) and upload it again.",
    )
    .await
}

async fn snippet_markers(req: Request, next: Next) -> Response {
    if req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    edit_ok(req, next, |body| {
        each_object(body, |o| {
            if let Some(s) = o.get("snippet").and_then(Value::as_str) {
                let s = s.replace("<b>", "«").replace("</b>", "»");
                o.insert("snippet".into(), json!(s));
            }
        });
    })
    .await
}

async fn scores_scaled(req: Request, next: Next) -> Response {
    if req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    edit_ok(req, next, |body| {
        each_object(body, |o| {
            if let Some(s) = o.get("score").and_then(Value::as_f64) {
                o.insert("score".into(), json!(s * 1000.0));
            }
        });
    })
    .await
}

async fn refuse_operators(State(inner): State<Router>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let operator = query["query"]
        .as_str()
        .is_some_and(|q| q.chars().any(|c| "'\"();:&|!<>*\\-".contains(c)));
    if !operator {
        return next.run(req).await;
    }
    refuse_counted(
        inner,
        req,
        "invalid_query",
        "Search with plain words: quotes, parentheses and operators are not supported.",
    )
    .await
}

// ---- operational ---------------------------------------------------------------

async fn ready_more(req: Request, next: Next) -> Response {
    if req.uri().path() != "/ready" {
        return next.run(req).await;
    }
    edit_any_json(req, next, |body| {
        if let Some(c) = body["checks"].as_object_mut() {
            c.insert("migrations".into(), json!(true));
            c.insert("search_index".into(), json!(true));
        }
    })
    .await
}

/// Metric and label names as a Spring/Micrometer service would spell them.
async fn metrics_renamed(req: Request, next: Next) -> Response {
    if req.uri().path() != "/metrics" {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let text = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text)
        .replace("knowledge_", "svc_")
        .replace("route=\"", "uri=\"")
        .replace("status=\"", "outcome_status=\"");
    Response::from_parts(parts, Body::from(text))
}

/// The served document without `/openapi.json` and without any 405, 413, 415, 431, 500 or 503.
pub(super) async fn spec_trimmed(req: Request, next: Next) -> Response {
    if req.uri().path() != "/openapi.json" {
        return next.run(req).await;
    }
    let (parts, doc) = json_of(next.run(req).await).await;
    let mut doc = doc.unwrap_or_default();
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.remove("/openapi.json");
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                if let Some(responses) = op["responses"].as_object_mut() {
                    for s in ["405", "413", "415", "431", "500", "503"] {
                        responses.remove(s);
                    }
                }
            }
        }
    }
    with_json(parts, &doc)
}

/// The policies rewritten to read the caller through a function: the same rows, other text.
const POLICY_THROUGH_A_FUNCTION: &[&str] = &[
    "CREATE OR REPLACE FUNCTION public.gonogo_variant_caller() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid $$",
    "DROP POLICY IF EXISTS knowledge_files_tenant ON knowledge_files",
    "CREATE POLICY knowledge_files_tenant ON knowledge_files USING (owner_id = public.gonogo_variant_caller()) WITH CHECK (owner_id = public.gonogo_variant_caller())",
    "DROP POLICY IF EXISTS memories_tenant ON memories",
    "CREATE POLICY memories_tenant ON memories USING (owner_id = public.gonogo_variant_caller()) WITH CHECK (owner_id = public.gonogo_variant_caller())",
];

/// The migration's policies, put back.
const POLICY_AS_MIGRATED: &[&str] = &[
    "DROP POLICY IF EXISTS knowledge_files_tenant ON knowledge_files",
    "CREATE POLICY knowledge_files_tenant ON knowledge_files USING (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid) WITH CHECK (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid)",
    "DROP POLICY IF EXISTS memories_tenant ON memories",
    "CREATE POLICY memories_tenant ON memories USING (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid) WITH CHECK (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid)",
    "DROP FUNCTION IF EXISTS public.gonogo_variant_caller()",
];
