//! Mutants of the conventions, authentication, rate-limit and operational
//! clauses: each layer is the cheapest wrong implementation of one sentence.
//! Token faults re-sign what the real server would refuse, so the server
//! behind them accepts exactly the tokens a careless verifier would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use gonogo_suites::cases::gate_2::authentication::jwt_payload;
use gonogo_suites::check::tokens::sign;
use knowledge_server::embedded::EmbeddedServer;
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

use super::{broken, partial, Mutant, CONFORMANCE, GATE_2_401S};

/// The shared server's JWT secret, set once the session has started.
static SECRET: OnceLock<String> = OnceLock::new();

pub fn set_secret(secret: &str) {
    let _ = SECRET.set(secret.to_owned());
}

pub(super) fn secret() -> &'static str {
    SECRET.get().map(String::as_str).unwrap_or_default()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn all() -> Vec<Mutant> {
    vec![
        broken(
            "request_id_never_echoed",
            &["headers.request-id.echo"],
            vec!["gate_3::x_request_id_echoed"],
            |r, _| r.layer(from_fn(fresh_request_id)),
        ),
        partial(
            "on error responses: every success carries it",
            broken(
                "nosniff_missing_on_errors",
                &["headers.nosniff"],
                vec![
                    "gate_3::unknown_route_and_wrong_method_are_problems",
                    "gate_3::security_headers_on_every_response",
                ],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_errors(req, next, "x-content-type-options")
                    }))
                },
            ),
        ),
        partial(
            "on authenticated error responses: every success carries it",
            broken(
                "no_store_missing_on_errors",
                &["headers.no-store"],
                vec!["gate_3::security_headers_on_every_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_errors(req, next, "cache-control")
                    }))
                },
            ),
        ),
        broken(
            "challenge_without_error_description",
            &["auth.invalid-token"],
            [&["suite_a::invalid_jwt_returns_401"][..], GATE_2_401S].concat(),
            |r, _| r.layer(from_fn(bare_invalid_token_challenge)),
        ),
        broken(
            "alg_none_accepted",
            &["auth.hs256-only"],
            vec!["gate_2::alg_none_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, h, _| h["alg"] == "none")
                }))
            },
        ),
        partial(
            "in HS512 tokens: alg none is refused",
            broken(
                "hs512_accepted",
                &["auth.hs256-only"],
                vec!["gate_2::other_algorithm_rejected"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        accept_if(req, next, |_, h, _| h["alg"] == "HS512")
                    }))
                },
            ),
        ),
        broken(
            "any_signature_accepted",
            &["auth.signature"],
            vec!["gate_2::bad_signature_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |t, h, _| {
                        h["alg"] == "HS256" && !signed_by_secret(t)
                    })
                }))
            },
        ),
        broken(
            "expired_accepted",
            &["auth.expired"],
            vec!["gate_2::expired_token_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, _, c| {
                        c["exp"].as_i64().is_some_and(|e| e < now())
                    })
                }))
            },
        ),
        broken(
            "any_audience_accepted",
            &["auth.audience"],
            vec!["gate_2::wrong_audience_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, _, c| {
                        c["aud"].is_string() && c["aud"] != "authenticated"
                    })
                }))
            },
        ),
        partial(
            "in the array form of aud: the string form is accepted",
            broken(
                "audience_array_refused",
                &["auth.audience"],
                vec!["gate_2::valid_token_variants_accepted"],
                |r, server| {
                    r.layer(from_fn_with_state(
                        server.app_router(),
                        refuse_audience_arrays,
                    ))
                },
            ),
        ),
        broken(
            "non_uuid_subject_accepted",
            &["auth.sub-uuid"],
            vec!["gate_2::non_uuid_subject_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, _, c| {
                        c["sub"]
                            .as_str()
                            .is_some_and(|s| s.parse::<Uuid>().is_err())
                    })
                }))
            },
        ),
        broken(
            "future_iat_and_nbf_accepted",
            &["auth.future-iat-nbf"],
            vec![
                "gate_2::future_issued_token_rejected",
                "gate_2::not_yet_valid_token_rejected",
            ],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, _, c| {
                        ["iat", "nbf"]
                            .iter()
                            .any(|k| c[*k].as_i64().is_some_and(|t| t > now() + 30))
                    })
                }))
            },
        ),
        partial(
            "in nbf: a token issued in the future (iat) is refused",
            broken(
                "not_yet_valid_token_accepted",
                &["auth.future-iat-nbf"],
                vec!["gate_2::not_yet_valid_token_rejected"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        accept_if(req, next, |_, _, c| {
                            let future = |k: &str| c[k].as_i64().is_some_and(|t| t > now() + 30);
                            future("nbf") && !future("iat")
                        })
                    }))
                },
            ),
        ),
        broken(
            "service_role_accepted",
            &["auth.role"],
            vec!["gate_2::non_authenticated_role_rejected"],
            |r, _| {
                r.layer(from_fn(|req, next| {
                    accept_if(req, next, |_, _, c| {
                        c["role"].is_string() && c["role"] != "authenticated"
                    })
                }))
            },
        ),
        broken(
            "anonymous_tokens_live_a_day",
            &["auth.anon.token"],
            vec!["gate_2::anonymous_token_is_a_fresh_one_hour_user"],
            |r, _| r.layer(from_fn(day_long_anonymous_tokens)),
        ),
        broken(
            "anonymous_endpoint_unlimited",
            &["auth.anon.ip-limit"],
            vec![
                "gate_2::anonymous_tokens_are_limited_per_ip",
                // Never spent, so no spent allowance to claim another address against.
                "gate_2::client_sent_forwarding_headers_share_the_ip_allowance",
            ],
            |r, _| r.layer(from_fn(unlimited_anonymous_tokens)),
        ),
        partial(
            "across two tokens of one user: each token alone is refused at the limit",
            broken(
                "bucket_per_token",
                &["ratelimit.per-user"],
                vec!["gate_2::two_tokens_of_one_user_share_one_bucket"],
                |r, _| r.layer(from_fn(bucket_per_token)),
            ),
        ),
        partial(
            "in requests answered 4xx: every success is counted",
            broken(
                "client_errors_not_counted",
                &["ratelimit.counts-every-request"],
                vec!["gate_3::every_outcome_counts_against_the_limit"],
                |r, _| {
                    refunding(r, |status| {
                        (400..500).contains(&status) && status != 401 && status != 429
                    })
                },
            ),
        ),
        broken(
            "fixed_hourly_window",
            &["ratelimit.gcra"],
            vec!["gate_3::time_to_full_grows_by_one_emission_interval"],
            |r, _| r.layer(from_fn(fixed_window)),
        ),
        partial(
            "on 4xx responses: every success carries them",
            broken(
                "rate_limit_policy_missing_on_errors",
                &["ratelimit.headers"],
                vec!["gate_3::rate_limit_headers_on_every_api_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_errors(req, next, "ratelimit-policy")
                    }))
                },
            ),
        ),
        broken(
            "retry_after_zero",
            &["ratelimit.429"],
            vec![
                "suite_c::user_a_request_101_returns_429",
                "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                "gate_3::retry_after_within_reset",
            ],
            |r, _| r.layer(from_fn(|req, next| retry_after(req, next, "0"))),
        ),
        broken(
            "retry_after_a_full_hour",
            &["ratelimit.gcra"],
            vec!["gate_3::retry_after_within_reset"],
            |r, _| r.layer(from_fn(|req, next| retry_after(req, next, "3600"))),
        ),
        broken(
            "health_needs_a_token",
            &["ops.health"],
            // The error-kind probes that use /health now meet a 401 first (for
            // the oversized header a 401 problem is a 4xx with a suggestion: fine),
            // and so do the generated request ids the echo check sends there.
            vec![
                "gate_3::health_answers_without_a_token",
                "errors::wrong_methods_are_405_problems",
                "gate_3::x_request_id_echoed",
                CONFORMANCE,
            ],
            |r, server| r.layer(from_fn_with_state(server.app_router(), health_needs_token)),
        ),
        broken(
            "openapi_3_0_without_the_anonymous_endpoint",
            &["ops.openapi"],
            vec!["gate_1::knowledge_paths_present"],
            |r, _| r.layer(from_fn(openapi_3_0_without_ops)),
        ),
        broken(
            "ready_without_telemetry",
            &["ops.ready"],
            vec!["gate_3::ready_reports_every_dependency", CONFORMANCE],
            |r, _| r.layer(from_fn(ready_without_telemetry)),
        ),
        broken(
            "metrics_without_histograms",
            &["ops.metrics"],
            vec!["gate_3::metrics_are_prometheus_with_the_contract_series"],
            |r, _| r.layer(from_fn(metrics_without_histograms)),
        ),
        broken(
            "operational_calls_counted",
            &["ops.unlimited"],
            vec!["gate_3::operational_endpoints_are_not_rate_limited"],
            |r, server| counting(r, server, &["/health", "/ready", "/metrics"]),
        ),
    ]
}

async fn fresh_request_id(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&Uuid::new_v4().to_string()).unwrap(),
    );
    r
}

pub(super) async fn bare_invalid_token_challenge(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let bare = r
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(", error_description=")
                .map(|(head, _)| head.to_owned())
        });
    if let Some(v) = bare {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&v).unwrap());
    }
    r
}

async fn strip_on_errors(req: Request, next: Next, name: &'static str) -> Response {
    let mut r = next.run(req).await;
    if r.status().as_u16() >= 400 {
        r.headers_mut().remove(name);
        if name == "ratelimit-policy" {
            r.headers_mut().remove("ratelimit");
        }
    }
    r
}

/// Whether `token` carries a valid HS256 signature by the server's secret (claims not judged).
pub(super) fn signed_by_secret(token: &str) -> bool {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret().as_bytes()),
        &v,
    )
    .is_ok()
}

/// The bearer token, its header and claims, unverified.
fn token_parts(req: &Request) -> Option<(String, Value, Value)> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_owned();
    let head = token.split('.').next()?;
    use base64::Engine;
    let head: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(head)
            .ok()?,
    )
    .ok()?;
    let claims = jwt_payload(&token)?;
    Some((token, head, claims))
}

/// Replaces a token matching `wrongly_accepted` with a valid one for the same
/// user: the server behind sees what a careless verifier would have let through.
pub(super) async fn accept_if(
    mut req: Request,
    next: Next,
    wrongly_accepted: fn(&str, &Value, &Value) -> bool,
) -> Response {
    if let Some((token, head, mut claims)) = token_parts(&req) {
        if wrongly_accepted(&token, &head, &claims) {
            let sub = claims["sub"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
                .unwrap_or_else(|| derived(&claims["sub"].to_string()));
            claims = json!({"sub": sub, "aud": "authenticated", "role": "authenticated",
                            "iat": now(), "exp": now() + 3600});
            let token = sign(&claims, secret());
            req.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
    }
    next.run(req).await
}

/// A stable UUID derived from `s`.
fn derived(s: &str) -> Uuid {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, s).hash(&mut h);
        h.finish()
    };
    Uuid::from_u64_pair(half(1), half(2))
}

/// The same request with a token the real server refuses.
fn refusal(req: &Request) -> Request {
    let again = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .header(header::AUTHORIZATION, "Bearer not.a.jwt")
        .body(Body::empty())
        .unwrap();
    let mut again = again;
    if let Some(c) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        again.extensions_mut().insert(*c);
    }
    again
}

async fn refuse_audience_arrays(State(inner): State<Router>, req: Request, next: Next) -> Response {
    match token_parts(&req) {
        Some((_, _, c)) if c["aud"].is_array() => {
            let again = refusal(&req);
            inner.oneshot(again).await.unwrap()
        }
        _ => next.run(req).await,
    }
}

async fn health_needs_token(State(inner): State<Router>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" && req.headers().get(header::AUTHORIZATION).is_none() {
        let again = Request::builder()
            .uri("/api/v1/knowledge/files")
            .body(Body::empty())
            .unwrap();
        return inner.oneshot(again).await.unwrap();
    }
    next.run(req).await
}

async fn json_body(r: Response) -> (axum::http::response::Parts, Value) {
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    (parts, serde_json::from_slice(&bytes).unwrap_or_default())
}

const ANON: &str = "/api/v1/stream/auth/anon";

async fn day_long_anonymous_tokens(req: Request, next: Next) -> Response {
    if req.uri().path() != ANON {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, mut body) = json_body(r).await;
    if let Some(mut claims) = body["token"].as_str().and_then(jwt_payload) {
        claims["exp"] = json!(now() + 86_400);
        body["token"] = json!(sign(&claims, secret()));
        body["expires_in"] = json!(86_400);
        body["expires_at"] = json!(now() + 86_400);
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

async fn unlimited_anonymous_tokens(req: Request, next: Next) -> Response {
    if req.uri().path() != ANON {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::TOO_MANY_REQUESTS {
        return r;
    }
    let sub = Uuid::new_v4();
    let claims = json!({"sub": sub, "aud": "authenticated", "role": "authenticated",
                        "is_anonymous": true, "iat": now(), "exp": now() + 3600});
    let body = json!({"token": sign(&claims, secret()), "token_type": "bearer", "user_id": sub,
                      "expires_at": now() + 3600, "expires_in": 3600});
    super::admitted(r, body.to_string())
}

/// Gives every distinct token of a user its own bucket: a token with a `jti`
/// (a second session of the same user) is seen as another user.
async fn bucket_per_token(mut req: Request, next: Next) -> Response {
    if let Some((_, head, mut claims)) = token_parts(&req) {
        if head["alg"] == "HS256" && claims.get("jti").is_some() {
            claims["sub"] = json!(derived(&claims["jti"].to_string()));
            let token = sign(&claims, secret());
            req.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
    }
    next.run(req).await
}

/// Per user: client errors seen so far, handed back as if never counted.
type Refunds = Arc<Mutex<HashMap<String, u64>>>;

/// Which statuses a careless limiter hands back.
type Refunded = fn(u16) -> bool;

/// `r` handing back, per user, every request whose status is `refunded`: those
/// answers are shown as if they had not been counted.
pub(super) fn refunding(r: Router, refunded: Refunded) -> Router {
    r.layer(from_fn_with_state(
        (Refunds::default(), refunded),
        refund_client_errors,
    ))
}

async fn refund_client_errors(
    State((refunds, refunded)): State<(Refunds, Refunded)>,
    req: Request,
    next: Next,
) -> Response {
    let user = token_parts(&req).and_then(|(_, _, c)| c["sub"].as_str().map(str::to_owned));
    let mut r = next.run(req).await;
    let Some(user) = user else { return r };
    let status = r.status().as_u16();
    let mut map = refunds.lock().unwrap();
    let refund = map.entry(user).or_default();
    if refunded(status) {
        *refund += 1;
    }
    let h = r.headers_mut();
    let remaining = h
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let limit = h
        .get("x-ratelimit-limit")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let (Some(rem), Some(l)) = (remaining, limit) {
        let shown = (rem + *refund).min(l);
        h.insert("x-ratelimit-remaining", HeaderValue::from(shown));
    }
    r
}

/// Reset at the top of the hour, whatever was used: a fixed window.
/// A fixed hour opened by a caller's first request (Redis `INCR` + `EXPIRE 3600`):
/// the reset never moves, however many requests are spent. The hour is the
/// caller's own, not the clock's, so the window never ends during a run and the
/// mutant breaks the same checks at any time of day.
async fn fixed_window(req: Request, next: Next) -> Response {
    static OPENED: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
    let caller = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned();
    let mut r = next.run(req).await;
    if r.headers().get("x-ratelimit-reset").is_none() {
        return r;
    }
    let opened = *OPENED
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(caller)
        .or_insert_with(now);
    let end = opened + 3600;
    let remaining = r
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let h = r.headers_mut();
    h.insert("x-ratelimit-reset", HeaderValue::from(end));
    h.insert(
        "ratelimit",
        HeaderValue::from_str(&format!("\"hourly\";r={remaining};t={}", end - now())).unwrap(),
    );
    r
}

async fn retry_after(req: Request, next: Next, seconds: &'static str) -> Response {
    let mut r = next.run(req).await;
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
    }
    r
}

/// An older, partial description: OpenAPI 3.0, the anonymous-token endpoint left out.
async fn openapi_3_0_without_ops(req: Request, next: Next) -> Response {
    if req.uri().path() != "/openapi.json" {
        return next.run(req).await;
    }
    let (parts, mut doc) = json_body(next.run(req).await).await;
    doc["openapi"] = json!("3.0.3");
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.remove("/api/v1/stream/auth/anon");
    }
    Response::from_parts(parts, Body::from(doc.to_string()))
}

async fn ready_without_telemetry(req: Request, next: Next) -> Response {
    if req.uri().path() != "/ready" {
        return next.run(req).await;
    }
    let (parts, mut body) = json_body(next.run(req).await).await;
    if let Some(checks) = body["checks"].as_object_mut() {
        checks.remove("telemetry");
    }
    Response::from_parts(parts, Body::from(body.to_string()))
}

async fn metrics_without_histograms(req: Request, next: Next) -> Response {
    if req.uri().path() != "/metrics" {
        return next.run(req).await;
    }
    let (mut parts, body) = next.run(req).await.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let text = String::from_utf8_lossy(&to_bytes(body, usize::MAX).await.unwrap_or_default())
        .lines()
        .filter(|l| !l.contains("_bucket"))
        .collect::<Vec<_>>()
        .join("\n");
    Response::from_parts(parts, Body::from(text))
}

/// `r` routing the operational calls to `paths` that carry a token through the limiter first.
pub(super) fn counting(
    r: Router,
    server: &EmbeddedServer,
    paths: &'static [&'static str],
) -> Router {
    r.layer(from_fn_with_state(
        (server.app_router(), paths),
        count_operational_calls,
    ))
}

/// Operational calls with a token are routed through the limiter first.
async fn count_operational_calls(
    State((inner, paths)): State<(Router, &'static [&'static str])>,
    req: Request,
    next: Next,
) -> Response {
    let ops = paths.contains(&req.uri().path());
    if let (true, Some(auth)) = (ops, req.headers().get(header::AUTHORIZATION).cloned()) {
        let count = Request::builder()
            .method(Method::GET)
            .uri("/api/v1/knowledge/files?limit=1")
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap();
        let _ = inner.oneshot(count).await;
    }
    next.run(req).await
}
