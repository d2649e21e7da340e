//! The gate of every tenant route: verify the bearer token (invalid tokens are not counted),
//! count the request in Redis (whatever its outcome later), attach the claims for the
//! [`crate::auth::Claims`] extractor, and stamp rate-limit and `no-store` headers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{bearer, now_secs};
use crate::error::AppError;
use crate::ratelimit::{apply_headers, Unavailable};
use crate::state::SharedState;

/// Middleware for `/api/v1/knowledge/*` and `/api/v1/memory/*`.
pub async fn authenticate(State(st): State<SharedState>, mut req: Request, next: Next) -> Response {
    let mut res = match bearer(req.headers())
        .and_then(|t| st.jwt.verify(t, now_secs()).map_err(AppError::InvalidToken))
    {
        Err(e) => e.into_response(),
        Ok(claims) => {
            let limit = st.config.rate_limit_per_hour;
            match st
                .limiter
                .check(&format!("rl:user:{}", claims.sub), limit)
                .await
            {
                Ok(d) => {
                    let mut res = if d.allowed {
                        req.extensions_mut().insert(claims);
                        next.run(req).await
                    } else {
                        st.metrics.rate_limited("user");
                        AppError::RateLimited(d.retry_after_secs).into_response()
                    };
                    apply_headers(res.headers_mut(), &d, now_secs());
                    res
                }
                Err(Unavailable) if st.config.rate_limit_fail_open => {
                    st.metrics.fail_open_admissions.inc();
                    tracing::warn!(
                        "rate limiter unavailable: admitting request (RATE_LIMIT_FAIL_OPEN)"
                    );
                    req.extensions_mut().insert(claims);
                    next.run(req).await
                }
                Err(Unavailable) => AppError::RateLimiterUnavailable.into_response(),
            }
        }
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
