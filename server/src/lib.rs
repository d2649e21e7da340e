//! knowledge-server — the reference implementation of the Knowledge API contract.
//!
//! Layout: [`config`] (flags/env) → [`app`] builds an [`App`] (pools, migrations, role checks,
//! limiter) whose [`App::router`] is the complete axum app; [`server`] serves it with graceful
//! shutdown behind the [`transport`] guard (request heads checked before hyper, slow clients
//! cut); [`embedded`] starts PostgreSQL and Redis in containers around it (`--dev`, tests).
//! Requests pass [`middleware`] (request id, nosniff, problems, metrics), [`guard`]
//! (token + rate limit on tenant routes), then [`routes`], which reach PostgreSQL only through
//! [`db::Db::tenant_tx`] so row-level security always sees the caller; [`validate`] keeps
//! values PostgreSQL would refuse (NUL, odd UUID spellings) from reaching it; [`encode`] writes
//! the hot responses' JSON.

pub mod app;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
#[cfg(feature = "embedded")]
pub mod dev;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod encode;
pub mod error;
pub mod extract;
pub mod guard;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod shape;
pub mod state;
pub mod storage;
pub mod transport;
pub mod validate;

pub use app::App;
pub use config::Config;
pub use db::{provision_roles, DbUrls};
pub use error::{AppError, StartupError};
pub use server::{serve, serve_with, RunningServer};

/// Declared content types accepted for uploads.
pub const ALLOWED_MIME_TYPES: [&str; 5] = [
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/pdf",
];

/// Body limit of JSON routes (the upload route has its own, derived from `MAX_UPLOAD_BYTES`).
pub const JSON_BODY_LIMIT: usize = 256 * 1024;
