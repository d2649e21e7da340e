//! Mutants that implement a clause only where it is easy: right on the
//! obvious input, wrong one step further. Each is judged by the values the
//! clause fixes, not by the presence of a header or a series: the client IP
//! whatever headers the client sends, a Retry-After that is really the wait,
//! counters that move with the requests they count.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;

use super::variants::retry_after_edited;
use super::{broken, partial, Mutant};

const ANON: &str = "/api/v1/stream/auth/anon";

pub fn all() -> Vec<Mutant> {
    vec![
        partial(
            "a client-sent X-Forwarded-For: without one the per-IP limit holds",
            broken(
                "anon_limit_keyed_on_a_client_sent_x_forwarded_for",
                &["auth.anon.ip-limit"],
                vec!["gate_2::client_sent_forwarding_headers_share_the_ip_allowance"],
                |r, _| r.layer(from_fn(anon_ip_from_x_forwarded_for)),
            ),
        ),
        partial(
            "a client-sent X-Real-IP or Forwarded: without one the per-IP limit holds",
            broken(
                "anon_limit_keyed_on_a_client_sent_x_real_ip_or_forwarded",
                &["auth.anon.ip-limit"],
                vec!["gate_2::client_sent_forwarding_headers_share_the_ip_allowance"],
                |r, _| r.layer(from_fn(anon_ip_from_real_ip_or_forwarded)),
            ),
        ),
        partial(
            "Retry-After's value: present, whole, at least 1 and within one interval, but half the wait",
            broken(
                "retry_after_half_the_wait",
                &["ratelimit.429", "ratelimit.gcra"],
                vec!["gate_3::retry_after_within_reset"],
                |r, _| r.layer(from_fn(retry_after_halved)),
            ),
        ),
        partial(
            "every scrape after the first: the contract's series, with the first scrape's values",
            broken(
                "metrics_frozen_at_the_first_scrape",
                &["ops.metrics"],
                vec!["gate_3::metrics_are_prometheus_with_the_contract_series"],
                |r, _| r.layer(from_fn_with_state(Frozen::default(), metrics_frozen)),
            ),
        ),
    ]
}

/// `req` on the anonymous endpoint seen as coming from `claimed`, when the client claims one.
async fn as_claimed(
    mut req: Request,
    next: Next,
    claimed: fn(&HeaderMap) -> Option<IpAddr>,
) -> Response {
    if req.uri().path() == ANON {
        if let Some(ip) = claimed(req.headers()) {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip, 0)));
        }
    }
    next.run(req).await
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)?.to_str().ok()
}

/// The careless proxy-aware server with no proxy: the first X-Forwarded-For hop is "the client".
async fn anon_ip_from_x_forwarded_for(req: Request, next: Next) -> Response {
    as_claimed(req, next, |h| {
        header_str(h, "x-forwarded-for")?
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok()
    })
    .await
}

/// The same with X-Real-IP, or the `for=` of a Forwarded header (RFC 7239).
async fn anon_ip_from_real_ip_or_forwarded(req: Request, next: Next) -> Response {
    as_claimed(req, next, |h| {
        let real = header_str(h, "x-real-ip").and_then(|v| v.trim().parse().ok());
        real.or_else(|| {
            header_str(h, "forwarded")?
                .split([';', ','])
                .find_map(|p| p.trim().strip_prefix("for="))?
                .trim_matches(|c| c == '"' || c == '[' || c == ']')
                .parse()
                .ok()
        })
    })
    .await
}

/// Every 429's Retry-After halved (rounded up, at least 1): a client that waits it is refused again.
async fn retry_after_halved(req: Request, next: Next) -> Response {
    retry_after_edited(req, next, |ra| ra.div_ceil(2).max(1)).await
}

/// The first scrape's exposition.
type Frozen = Arc<Mutex<Option<Bytes>>>;

/// `/metrics` answers with the first scrape's text ever after: the right series, values that never move.
async fn metrics_frozen(State(first): State<Frozen>, req: Request, next: Next) -> Response {
    if req.uri().path() != "/metrics" {
        return next.run(req).await;
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let fresh = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let text = first.lock().unwrap().get_or_insert(fresh).clone();
    Response::from_parts(parts, Body::from(text))
}
