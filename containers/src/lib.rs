//! gonogo-containers: PostgreSQL + Redis for tests, through testcontainers,
//! and the other programs the tests need: Prometheus and Chromium.
//!
//! [`Stack::start`] starts both services in parallel and returns once
//! `SELECT 1` and `PING` succeed; each [`Service`] has a URL and fault controls.
//! [`Prometheus::start`] runs a Prometheus scraping servers on the host;
//! [`Chromium`] loads pages in a headless browser. Their images are resolved
//! (and built when needed, lazily) the same way as the stack's.
//!
//! Layout:
//! - [`shim`]: a reverse proxy that lets testcontainers (Docker API 1.49) talk
//!   to older daemons (e.g. Docker 20.10, API 1.41) by rewriting `/v1.NN/`.
//! - [`images`]: which image each service runs (env, default, offline, build).
//! - [`service`]: one container, readiness polling, stop/start/pause/unpause.
//! - [`prometheus`]: Prometheus in the host's network, its URL, stop.
//! - [`chromium`]: a headless Chromium with no network: DOM, screenshot, NetLog.
//! - [`reaper`]: labels, and a detached process that removes this process's
//!   containers after it exits (for stacks kept in statics).
//! - [`error`]: [`StackError`], one sentence per failure.

pub mod chromium;
pub mod error;
pub mod images;
mod owned;
pub mod prometheus;
pub mod reaper;
pub mod service;
pub mod shim;

use std::time::{Duration, Instant};

pub use chromium::Chromium;
pub use error::StackError;
pub use prometheus::Prometheus;
pub use service::{Kind, Service};

/// PostgreSQL and Redis, each in its own container, ready to use.
///
/// Dropping the stack removes both containers (inside a Tokio runtime or
/// outside one). A stack that is never dropped (kept in a `static`) is
/// removed by the reaper when the process exits.
#[derive(Debug)]
pub struct Stack {
    postgres: Service,
    redis: Service,
    startup: Duration,
}

impl Stack {
    /// Resolves the images, starts both containers in parallel and waits
    /// until `SELECT 1` and `PING` succeed (see the crate README for images,
    /// the Docker API shim and cleanup).
    pub async fn start() -> Result<Stack, StackError> {
        let started = Instant::now();
        let (endpoint, docker) = connect().await?;
        let (pg_image, redis_image) = tokio::try_join!(
            images::resolve(&images::POSTGRES, &docker, &endpoint.daemon_socket),
            images::resolve(&images::REDIS, &docker, &endpoint.daemon_socket),
        )?;
        let labels = reaper::labels();
        let (postgres, redis) = tokio::try_join!(
            Service::start_new(Kind::Postgres, &pg_image, &labels, &docker),
            Service::start_new(Kind::Redis, &redis_image, &labels, &docker),
        )?;
        let startup = started.elapsed();
        tracing::info!(
            startup_ms = startup.as_millis() as u64,
            postgres_image = %pg_image,
            redis_image = %redis_image,
            postgres_port = postgres.host_port(),
            redis_port = redis.host_port(),
            "stack ready"
        );
        Ok(Stack {
            postgres,
            redis,
            startup,
        })
    }

    /// The PostgreSQL service; its URL is the superuser's,
    /// `postgres://postgres:<pw>@127.0.0.1:<port>/postgres`.
    pub fn postgres(&self) -> &Service {
        &self.postgres
    }

    /// The Redis service, `redis://127.0.0.1:<port>`.
    pub fn redis(&self) -> &Service {
        &self.redis
    }

    /// How long [`Stack::start`] took, from the call until both were ready.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The label value ([`reaper::SESSION_LABEL`]) on this process's
    /// containers: `docker ps -a --filter label=gonogo.session=<this>`.
    pub fn session_id() -> &'static str {
        reaper::session_id()
    }
}

/// Makes sure both offline images exist, building them (at most once across
/// processes, with progress on stderr) when either is missing; returns their
/// names. `gonogo-stack --offline-images` calls this.
pub async fn ensure_offline_images() -> Result<[String; 2], StackError> {
    let endpoint = shim::ensure().await?;
    let docker = direct_client(endpoint)?;
    images::ensure_offline(&docker, &endpoint.daemon_socket)
        .await
        .map_err(StackError::OfflineBuild)
}

/// Everything a container start needs first: the shim (when the daemon is
/// old), the reaper, and a direct client for our own calls.
pub(crate) async fn connect() -> Result<(&'static shim::DockerEndpoint, bollard::Docker), StackError>
{
    let endpoint = shim::ensure().await?;
    reaper::ensure(
        &endpoint.daemon_socket,
        endpoint.shim_socket.as_deref().and_then(|s| s.parent()),
    );
    let docker = direct_client(endpoint)?;
    Ok((endpoint, docker))
}

/// A bollard client for our own calls (images, cleanup), talking to the real
/// daemon at its own API version, so it needs no shim.
fn direct_client(endpoint: &shim::DockerEndpoint) -> Result<bollard::Docker, StackError> {
    let v = endpoint.api_version();
    let version = bollard::ClientVersion {
        major_version: v.major as usize,
        minor_version: v.minor as usize,
    };
    bollard::Docker::connect_with_unix(&endpoint.daemon_socket.to_string_lossy(), 120, &version)
        .map_err(|e| StackError::DockerUnreachable {
            socket: endpoint.daemon_socket.display().to_string(),
            detail: error::one_line(&e.to_string()),
        })
}
