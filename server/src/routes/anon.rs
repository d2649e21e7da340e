//! `POST /api/v1/stream/auth/anon`: a token for a fresh anonymous user, limited per client IP.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{now_secs, ANON_TOKEN_TTL_SECS};
use crate::error::AppError;
use crate::guard::{admit, no_store, with_limit_headers};
use crate::state::SharedState;
use crate::JSON_BODY_LIMIT;

/// The minted token.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AnonToken {
    /// HS256 JWT: `sub` = `user_id`, `role` and `aud` "authenticated", `is_anonymous` true.
    pub token: String,
    /// Always `"bearer"`.
    pub token_type: &'static str,
    /// The new anonymous user's id.
    pub user_id: Uuid,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: i64,
    /// Lifetime in seconds (3600).
    pub expires_in: i64,
}

/// Mints an anonymous token. Body: empty or a JSON object (ignored).
#[utoipa::path(post, path = "/api/v1/stream/auth/anon", operation_id = "mintAnonymousToken", tag = "auth",
    request_body(content = Option<Object>, description = "Empty, or any JSON object (ignored); not `null` or another JSON value", content_type = "application/json"),
    responses(
        (status = 200, description = "A token for a new anonymous user", body = AnonToken),
        (status = 400, description = "The body is not empty and not a JSON object", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "payload_too_large: the body exceeds 256 KiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many tokens for this client IP", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Rate limiter unavailable", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn mint(State(st): State<SharedState>, req: Request) -> Response {
    // Keyed by the TCP peer: X-Forwarded-For is client-controlled, so it is not trusted.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let key = format!("rl:anon:{ip}");
    let res = match admit(&st, "anon", &key, st.config.anon_rate_limit_per_hour).await {
        Ok(decision) => with_limit_headers(
            issue(&st, req)
                .await
                .unwrap_or_else(IntoResponse::into_response),
            decision.as_ref(),
        ),
        Err(refused) => refused,
    };
    no_store(res)
}

async fn issue(st: &SharedState, req: Request) -> Result<Response, AppError> {
    // Read under the router's JSON body limit, with the JSON routes' 413: the spec admits any
    // object, so a large one is too large rather than malformed.
    let body = Bytes::from_request(req, st).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(JSON_BODY_LIMIT as u64)
        } else {
            AppError::InvalidJson("The body could not be read.".into())
        }
    })?;
    // No bytes at all, or JSON: a body of only whitespace is neither.
    if !body.is_empty() {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| AppError::InvalidJson("The body is not valid JSON.".into()))?;
        if !v.is_object() {
            return Err(AppError::InvalidJson(
                "The body must be a JSON object.".into(),
            ));
        }
    }
    let (token, user_id, expires_at) = st.jwt.mint_anonymous(now_secs());
    Ok(Json(AnonToken {
        token,
        token_type: "bearer",
        user_id,
        expires_at,
        expires_in: ANON_TOKEN_TTL_SECS,
    })
    .into_response())
}
