//! Cross-cutting layers: request id (echoed or fresh), `nosniff`, a tracing span per request,
//! metrics by route template, panic → 500 problem, the answer to what the transport guard
//! refused (malformed or oversized heads, slow heads and bodies), and conversion of any error
//! response that is not yet a problem (axum's own 404/405/413/...) into one.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::{problem_response, AppError, REQUEST_ID};
use crate::metrics::Metrics;
use crate::transport::{headers_too_large, Refusal, SlowBody, MAX_HEADER_BYTES, MAX_HEADER_COUNT};

/// The request-id header.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// An inbound id is echoed only if it is 1–128 chars of `[A-Za-z0-9._-]`.
pub fn acceptable_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Outermost layer: assigns the request id, runs the request in its span and task-local scope,
/// then stamps the id and `nosniff` on whatever comes back and makes errors problems.
pub async fn request_context(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    // A head the transport guard refused arrives as a stand-in request carrying the refusal.
    let refused = req.extensions().get::<Refusal>().copied();
    let header_count = req.headers().len();
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let slow = req.extensions().get::<SlowBody>().cloned();
    let res = REQUEST_ID
        .scope(id.clone(), async move {
            let res = match refused {
                Some(refusal) => refusal.response(),
                // Oversized headers are malformed input: refused before any work is done (the
                // guard's own limits, far higher, stop only what would burden the server).
                None if header_bytes > MAX_HEADER_BYTES || header_count > MAX_HEADER_COUNT => {
                    headers_too_large()
                }
                None => next.run(req).await,
            };
            // A body cut for coming too slowly: whatever the handler made of the truncated
            // body, the answer is the 408.
            let res = match slow {
                Some(slow) if slow.cut() => Refusal::BodyTooSlow.response(),
                _ => res,
            };
            let res = gonogo_plumbing::problemize(res, problem_for);
            tracing::info!(
                status = res.status().as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "response"
            );
            res
        })
        .instrument(span)
        .await;
    let mut res = res;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The problem an error response that is not yet one becomes (axum's own 404/405/413/415 and
/// bare refusals); [`gonogo_plumbing::problemize`] keeps the status and the headers that matter
/// to the client (Allow, Retry-After, WWW-Authenticate, rate-limit ones).
fn problem_for(status: StatusCode) -> Response {
    match status {
        StatusCode::NOT_FOUND => AppError::RouteNotFound.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge(crate::JSON_BODY_LIMIT as u64).into_response()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::UnsupportedMediaType("application/json").into_response()
        }
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => headers_too_large(),
        s if s.is_client_error() => problem_response(
            s,
            "bad_request",
            "Bad request",
            "The request could not be understood.".into(),
            "Check the request against /openapi.json and retry.".into(),
        ),
        s if s == StatusCode::SERVICE_UNAVAILABLE => AppError::DatabaseUnavailable.into_response(),
        _ => AppError::Internal(anyhow::anyhow!(
            "unhandled error response with status {status}"
        ))
        .into_response(),
    }
}

/// Counts requests and latency by method, route template and status.
pub async fn record_metrics(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    metrics.observe_request(&method, &route, res.status().as_u16(), started.elapsed());
    res
}

/// Panic → 500 problem (the panic message is logged, not sent).
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = gonogo_plumbing::panic_message(err.as_ref()).unwrap_or("unknown panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {msg}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_echoed_only_when_safe() {
        assert!(acceptable_request_id("abc-DEF_1.2"));
        assert!(acceptable_request_id(&"a".repeat(128)));
        assert!(!acceptable_request_id(&"a".repeat(129)));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("a\u{e9}"));
        assert!(!acceptable_request_id("<script>"));
    }
}
