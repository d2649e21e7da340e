//! [`App`]: validates the config, connects PostgreSQL (migrating first when an owner URL is
//! given) and Redis, checks the application role, and builds the complete router.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::{AppError, StartupError};
use crate::metrics::Metrics;
use crate::middleware::{panic_response, record_metrics, request_context};
use crate::ratelimit::RateLimiter;
use crate::routes::{anon, files, memory, ops, search};
use crate::state::{AppState, SharedState};
use crate::storage::{Storage, Sweeper};
use crate::{guard, JSON_BODY_LIMIT};

/// Multipart framing allowance on top of `MAX_UPLOAD_BYTES` (boundaries, part headers, metadata).
const MULTIPART_OVERHEAD: u64 = 256 * 1024;

/// A built application: state shared by every router it hands out.
#[derive(Clone)]
pub struct App {
    state: SharedState,
}

impl App {
    /// Validates `config`, runs migrations (if `database_admin_url` is set), connects the pools,
    /// refuses an unsafe database role, loads the rate-limit script and prepares storage.
    pub async fn build(config: Config) -> Result<App, StartupError> {
        let keys = config.validate()?;
        if let Some(admin) = config.database_admin_url.as_deref() {
            db::migrate(admin).await?;
        }
        let metrics = Arc::new(Metrics::new());
        let db = Db::connect(
            &config.database_url,
            config.database_max_connections,
            metrics.clone(),
        )
        .await?;
        db.check_app_role().await?;
        let limiter = RateLimiter::connect(
            &config.redis_url,
            Duration::from_millis(config.redis_timeout_ms),
            metrics.clone(),
        )
        .await?;
        let storage = Storage::open(&config.storage_dir).await?;
        // What a crash left is swept before serving; a file younger than the grace period may
        // be another replica's upload in progress.
        storage.sweep(&db, config.orphan_grace()).await;
        let sweeper = Sweeper::start(storage.clone(), db.clone(), config.orphan_grace());
        let jwt = JwtKeys::new(&config.jwt_secret);
        Ok(App {
            state: Arc::new(AppState {
                config,
                jwt,
                keys,
                db,
                limiter,
                metrics,
                storage,
                sweeper,
            }),
        })
    }

    /// The shared state (config, pools, keys).
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// The configuration the app runs with.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The complete application with every layer, state applied.
    pub fn router(&self) -> Router {
        self.router_with(|routes| routes)
    }

    /// The application with `inner` applied to its routes inside the common layers: what
    /// `inner` adds (a delay, a failure) is what this app's own `/metrics` reports. Tests use
    /// it to make a canary slow or failing as its Prometheus series see it.
    pub fn router_with(&self, inner: impl FnOnce(Router) -> Router) -> Router {
        let st = self.state.clone();
        let upload_limit = (st.config.max_upload_bytes + MULTIPART_OVERHEAD) as usize;
        let tenant = Router::new()
            .route(
                "/api/v1/knowledge/files",
                post(files::upload).layer(DefaultBodyLimit::max(upload_limit)),
            )
            .route("/api/v1/knowledge/files", get(files::list))
            .route(
                "/api/v1/knowledge/files/{id}",
                get(files::get_one).delete(files::delete),
            )
            .route("/api/v1/knowledge/files/{id}/content", get(files::content))
            .route("/api/v1/knowledge/search", post(search::search))
            .route("/api/v1/memory", post(memory::create).get(memory::list))
            .route(
                "/api/v1/memory/{id}",
                get(memory::get_one).delete(memory::delete),
            )
            // Unknown paths under the tenant prefixes are authenticated and counted like the rest.
            .route(
                "/api/v1/knowledge/{*rest}",
                any(|| async { AppError::RouteNotFound }),
            )
            .route(
                "/api/v1/memory/{id}/{*rest}",
                any(|| async { AppError::RouteNotFound }),
            )
            // `layer`, not `route_layer`: a wrong method on a tenant route (405) is also an
            // authenticated request that counts and carries the rate-limit headers.
            .layer(axum::middleware::from_fn_with_state(
                st.clone(),
                guard::authenticate,
            ));
        let public = Router::new()
            .route("/health", get(ops::health))
            .route("/ready", get(ops::ready))
            .route("/metrics", get(ops::metrics))
            .route("/openapi.json", get(crate::openapi::serve))
            .route("/api/v1/stream/auth/anon", post(anon::mint));
        let routes = Router::new()
            .merge(tenant)
            .merge(public)
            .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
            .with_state(st.clone());
        with_common_layers(inner(routes), st.metrics.clone())
    }
}

/// The layers every response passes: unknown-route fallback, panic → 500 problem, metrics by
/// route template, and (outermost) request id, nosniff and problem conversion.
pub fn with_common_layers(routes: Router, metrics: Arc<Metrics>) -> Router {
    routes
        // axum's own 405 (with its Allow header) becomes a problem in `request_context`.
        .fallback(|| async { AppError::RouteNotFound })
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            record_metrics,
        ))
        .layer(axum::middleware::from_fn(request_context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn panicking() -> &'static str {
        panic!("boom at /secret/path")
    }

    fn app() -> Router {
        let routes = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/panic", get(panicking))
            .route(
                "/json",
                post(
                    |crate::extract::ApiJson(v): crate::extract::ApiJson<
                        crate::routes::search::SearchRequest,
                    >| async move { v.query },
                ),
            )
            .layer(DefaultBodyLimit::max(16));
        with_common_layers(routes, Arc::new(Metrics::new()))
    }

    async fn call(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let res = app().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn framework_errors_and_panics_become_problems_with_the_request_id() {
        let cases = [
            (
                Request::get("/nope").body(Body::empty()).unwrap(),
                404,
                "not_found",
            ),
            (
                Request::delete("/ok").body(Body::empty()).unwrap(),
                405,
                "method_not_allowed",
            ),
            (
                Request::get("/panic").body(Body::empty()).unwrap(),
                500,
                "internal_error",
            ),
            (
                Request::post("/json")
                    .header("content-type", "application/json")
                    .body(Body::from("[1, 2, 3, 4, 5, 6, 7, 8, 9]"))
                    .unwrap(),
                413,
                "payload_too_large",
            ),
            (
                Request::post("/json").body(Body::from("{}")).unwrap(),
                415,
                "unsupported_media_type",
            ),
        ];
        for (req, status, code) in cases {
            let (got, headers, body) = call(req).await;
            assert_eq!(got.as_u16(), status, "{body}");
            assert_eq!(body["code"], code);
            assert!(!body["suggestion"].as_str().unwrap().is_empty());
            assert_eq!(headers["content-type"], "application/problem+json");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(
                headers["x-request-id"].to_str().unwrap(),
                body["request_id"].as_str().unwrap()
            );
            assert!(!body.to_string().contains("/secret/path"));
        }
    }

    #[tokio::test]
    async fn a_405_keeps_its_allow_header_and_an_inbound_request_id_is_echoed() {
        let req = Request::delete("/ok")
            .header("x-request-id", "abc.123")
            .body(Body::empty())
            .unwrap();
        let (_, headers, body) = call(req).await;
        assert!(headers["allow"].to_str().unwrap().contains("GET"));
        assert_eq!(headers["x-request-id"], "abc.123");
        assert_eq!(body["request_id"], "abc.123");
    }
}
