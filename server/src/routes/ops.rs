//! Operational endpoints: liveness, readiness with its four checks and Prometheus metrics
//! (the OpenAPI document is served by [`crate::openapi::serve`]). No token, no per-user rate
//! limit.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::AppError;
use crate::state::SharedState;

/// `/health` body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `"ok"` while the process serves requests.
    pub status: &'static str,
}

/// The readiness checks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReadyChecks {
    /// `SELECT 1` on the application pool within 1 s.
    pub database: bool,
    /// `PING` on the rate limiter's connection within the Redis timeout.
    pub redis: bool,
    /// The storage directory accepts a probe file.
    pub storage: bool,
    /// Metrics can be gathered and encoded.
    pub telemetry: bool,
}

/// `/ready` body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// All checks passed.
    pub ready: bool,
    /// Each check.
    pub checks: ReadyChecks,
}

/// Liveness.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "ops", responses((status = 200, description = "The process is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: 200 when every dependency answers, else 503 with the failing checks `false`.
#[utoipa::path(get, path = "/ready", operation_id = "ready", tag = "ops", responses(
    (status = 200, description = "Ready", body = Ready),
    (status = 503, description = "A dependency is failing", body = Ready)))]
pub async fn ready(State(st): State<SharedState>) -> Response {
    let db = async {
        tokio::time::timeout(Duration::from_secs(1), st.db.ping())
            .await
            .unwrap_or(false)
    };
    let (database, redis, storage) = tokio::join!(db, st.limiter.ping(), st.storage.writable());
    let telemetry = st.metrics.ready();
    let ready = database && redis && storage && telemetry;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut res = (
        status,
        Json(Ready {
            ready,
            checks: ReadyChecks {
                database,
                redis,
                storage,
                telemetry,
            },
        }),
    )
        .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(st): State<SharedState>) -> Result<Response, AppError> {
    let text = st
        .metrics
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
