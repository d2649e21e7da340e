//! The gate of every tenant route: verify the bearer token (invalid tokens are not counted),
//! count the request in Redis (whatever its outcome later), attach the claims for the
//! [`crate::auth::Claims`] extractor, and stamp rate-limit and `no-store` headers.
//! [`admit`] is the one rate-limit step, shared with the anonymous-token route.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::now_secs;
use crate::error::AppError;
use crate::ratelimit::{apply_headers, Decision, Unavailable};
use crate::state::{AppState, SharedState};

/// Middleware for `/api/v1/knowledge/*` and `/api/v1/memory/*`.
pub async fn authenticate(State(st): State<SharedState>, mut req: Request, next: Next) -> Response {
    let res = match gonogo_plumbing::bearer(req.headers())
        .map_err(AppError::from)
        .and_then(|t| st.jwt.verify(t, now_secs()).map_err(AppError::InvalidToken))
    {
        Err(e) => e.into_response(),
        Ok(claims) => {
            let key = format!("rl:user:{}", claims.sub);
            match admit(&st, "user", &key, st.config.rate_limit_per_hour).await {
                Ok(decision) => {
                    req.extensions_mut().insert(claims);
                    with_limit_headers(next.run(req).await, decision.as_ref())
                }
                Err(refused) => refused,
            }
        }
    };
    no_store(res)
}

/// Counts one request for `key` (`scope` labels the metrics: "user", "anon") against `limit`
/// per hour. `Ok(Some(d))`: admitted, stamp `d`'s headers on the response. `Ok(None)`: Redis is
/// unavailable and fail-open is configured, admitted (counted and logged). `Err`: the response
/// to send instead — 429 with its headers, or 503 when the limiter fails closed.
pub async fn admit(
    st: &AppState,
    scope: &'static str,
    key: &str,
    limit: u32,
) -> Result<Option<Decision>, Response> {
    match st.limiter.check(key, limit).await {
        Ok(d) if d.allowed => Ok(Some(d)),
        Ok(d) => {
            st.metrics.rate_limited(scope);
            Err(with_limit_headers(
                AppError::RateLimited(d.retry_after_secs).into_response(),
                Some(&d),
            ))
        }
        Err(Unavailable) if st.config.rate_limit_fail_open => {
            st.metrics.fail_open_admissions.inc();
            tracing::warn!(
                scope,
                "rate limiter unavailable: admitting (RATE_LIMIT_FAIL_OPEN)"
            );
            Ok(None)
        }
        Err(Unavailable) => Err(AppError::RateLimiterUnavailable.into_response()),
    }
}

/// `res` with the rate-limit headers of `decision`, when there is one.
pub fn with_limit_headers(mut res: Response, decision: Option<&Decision>) -> Response {
    if let Some(d) = decision {
        apply_headers(res.headers_mut(), d, now_secs());
    }
    res
}

/// `res` with `Cache-Control: no-store` (every authenticated or token-bearing response).
pub fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
