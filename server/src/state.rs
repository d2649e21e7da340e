//! The state shared by every handler of one [`crate::App`].

use std::sync::Arc;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::storage::{Storage, Sweeper};

/// Everything a request may need; built once by `App::build`, shared behind an `Arc`.
pub struct AppState {
    /// The validated configuration.
    pub config: Config,
    /// JWT verification and signing.
    pub jwt: JwtKeys,
    /// Metadata encryption keys.
    pub keys: Keyring,
    /// The application role's pool.
    pub db: Db,
    /// The Redis rate limiter.
    pub limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Where uploaded bytes live.
    pub storage: Storage,
    /// The periodic orphan sweep of `storage`; stops when the state is dropped.
    pub sweeper: Sweeper,
}

/// What handlers extract.
pub type SharedState = Arc<AppState>;
