//! [`Service`]: one running container (PostgreSQL or Redis), its URL, and the
//! fault controls reliability tests use (stop/start, pause/unpause).
//!
//! The host port is chosen up front and bound explicitly (not "publish all"),
//! so a stopped and restarted container comes back on the same port and
//! clients reconnect to the same URL.

use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use sqlx::Connection;
use testcontainers::core::IntoContainerPort;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::error::{one_line, StackError};
use crate::images::split_reference;
use crate::owned::Owned;

/// How long a (re)started service may take to answer its readiness query.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Label naming one start attempt, so a failed start can be cleaned up.
pub(crate) const ATTEMPT_LABEL: &str = "gonogo.attempt";

/// A failed start attempt; `port_taken` means "retry with another port".
struct Failed {
    error: StackError,
    port_taken: bool,
}

impl From<StackError> for Failed {
    fn from(error: StackError) -> Failed {
        Failed {
            error,
            port_taken: false,
        }
    }
}

/// Which server a [`Service`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL; ready when `SELECT 1` succeeds.
    Postgres,
    /// Redis; ready when `PING` succeeds.
    Redis,
}

impl Kind {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgreSQL",
            Kind::Redis => "Redis",
        }
    }

    fn container_port(self) -> u16 {
        match self {
            Kind::Postgres => 5432,
            Kind::Redis => 6379,
        }
    }
}

/// A running container with a fixed host port.
pub struct Service {
    kind: Kind,
    url: String,
    host_port: u16,
    owned: Owned,
}

impl std::fmt::Debug for Service {
    // Hand-written so the URL (it holds the password) never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("kind", &self.kind)
            .field("host_port", &self.host_port)
            .field("image", &self.image())
            .field("container", &self.container_id())
            .finish()
    }
}

impl Service {
    /// Starts `image` as `kind`, labelled with `labels`, and waits until ready.
    pub(crate) async fn start_new(
        kind: Kind,
        image: &str,
        labels: &[(&'static str, String)],
        docker: &bollard::Docker,
    ) -> Result<Service, StackError> {
        let mut last_err = None;
        // A port picked up front can be taken by someone else before Docker
        // binds it; a new port is the fix, so retry a few times.
        for _ in 0..3 {
            let attempt = uuid::Uuid::new_v4().to_string();
            match Self::try_start(kind, image, labels, &attempt).await {
                Ok(service) => return Ok(service),
                Err(Failed { error, port_taken }) => {
                    // A container created by a failed start is not owned by
                    // any handle: remove it now rather than at exit.
                    remove_labelled(docker, ATTEMPT_LABEL, &attempt).await;
                    if !port_taken {
                        return Err(error);
                    }
                    last_err = Some(error);
                }
            }
        }
        Err(last_err.expect("the loop ran"))
    }

    async fn try_start(
        kind: Kind,
        image: &str,
        labels: &[(&'static str, String)],
        attempt: &str,
    ) -> Result<Service, Failed> {
        let host_port = free_port()?;
        let port = kind.container_port().tcp();
        let (name, tag) = split_reference(image);
        let mut request = GenericImage::new(name, tag)
            .with_exposed_port(port)
            .with_mapped_port(host_port, port)
            .with_startup_timeout(Duration::from_secs(60));
        request = request.with_label(ATTEMPT_LABEL, attempt);
        for (key, value) in labels {
            request = request.with_label(*key, value);
        }
        let url = match kind {
            Kind::Postgres => {
                let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 24);
                request = request
                    .with_env_var("POSTGRES_USER", "postgres")
                    .with_env_var("POSTGRES_DB", "postgres")
                    .with_env_var("POSTGRES_PASSWORD", &password)
                    // Test data need not survive an OS crash: skip fsync
                    // (initdb too, where the image supports it) for speed.
                    // `docker stop`/kill keeps the page cache, so stop/start
                    // faults still find every committed row.
                    .with_env_var("POSTGRES_INITDB_ARGS", "--no-sync")
                    .with_cmd([
                        "postgres",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                    ]);
                format!("postgres://postgres:{password}@127.0.0.1:{host_port}/postgres")
            }
            Kind::Redis => format!("redis://127.0.0.1:{host_port}"),
        };
        let container = request.start().await.map_err(|e| {
            // Checked on the full text: the error is shortened to one line.
            let text = e.to_string();
            Failed {
                port_taken: text.contains("already allocated") || text.contains("already in use"),
                error: StackError::docker(
                    format!("start the {} container from {image}", kind.name()),
                    text,
                ),
            }
        })?;
        let service = Service {
            kind,
            url,
            host_port,
            owned: Owned::new(image.to_string(), container),
        };
        service.wait_ready().await?;
        Ok(service)
    }

    /// Connection URL: `postgres://postgres:<pw>@127.0.0.1:<port>/postgres`
    /// (superuser) or `redis://127.0.0.1:<port>`. Unchanged across stop/start.
    /// It contains the password: don't log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which server this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The host port (on 127.0.0.1), fixed for the container's life.
    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    /// The image the container runs (after resolution; see the crate docs).
    pub fn image(&self) -> &str {
        self.owned.image()
    }

    /// The Docker container id.
    pub fn container_id(&self) -> &str {
        self.owned.id()
    }

    fn container(&self) -> &ContainerAsync<GenericImage> {
        self.owned.get()
    }

    /// Stops the container (SIGTERM, SIGKILL after 2 s); clients now fail to
    /// connect. The container and its data stay; [`Service::start`] resumes.
    pub async fn stop(&self) -> Result<(), StackError> {
        self.container()
            .stop_with_timeout(Some(2))
            .await
            .map_err(|e| StackError::docker(format!("stop the {} container", self.kind.name()), e))
    }

    /// Starts the stopped container again on the same host port and returns
    /// once it answers its readiness query.
    pub async fn start(&self) -> Result<(), StackError> {
        self.container().start().await.map_err(|e| {
            StackError::docker(format!("start the {} container", self.kind.name()), e)
        })?;
        self.wait_ready().await
    }

    /// Freezes the container's processes: connections stay open but hang.
    pub async fn pause(&self) -> Result<(), StackError> {
        self.container()
            .pause()
            .await
            .map_err(|e| StackError::docker(format!("pause the {} container", self.kind.name()), e))
    }

    /// Resumes a paused container.
    pub async fn unpause(&self) -> Result<(), StackError> {
        self.container().unpause().await.map_err(|e| {
            StackError::docker(format!("unpause the {} container", self.kind.name()), e)
        })
    }

    /// Polls the readiness query until it succeeds or [`READY_TIMEOUT`] passes.
    pub async fn wait_ready(&self) -> Result<(), StackError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let attempt = tokio::time::timeout(Duration::from_secs(3), self.probe()).await;
            let err = match attempt {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e,
                Err(_) => "no answer within 3 s".to_string(),
            };
            if Instant::now() >= deadline {
                return Err(StackError::NotReady {
                    service: self.kind.name(),
                    seconds: READY_TIMEOUT.as_secs(),
                    detail: one_line(&err),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One readiness query on a fresh connection. Errors are mapped to text
    /// here; sqlx and redis errors don't include the password.
    async fn probe(&self) -> Result<(), String> {
        match self.kind {
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query("SELECT 1")
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok(())
            }
            Kind::Redis => {
                let client = redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                let pong: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if pong == "PONG" {
                    Ok(())
                } else {
                    Err(format!("PING answered {pong:?}"))
                }
            }
        }
    }
}

/// A host port that is free right now (the kernel picks it).
pub(crate) fn free_port() -> Result<u16, StackError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| StackError::docker("find a free host port", e))
}

/// Force-removes every container with `key=value`; errors are only logged
/// (this is cleanup after another error, which is the one to report).
pub(crate) async fn remove_labelled(docker: &bollard::Docker, key: &str, value: &str) {
    let filters = std::collections::HashMap::from([("label", vec![format!("{key}={value}")])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let Ok(list) = docker.list_containers(Some(options)).await else {
        return;
    };
    for id in list.into_iter().filter_map(|c| c.id) {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        if let Err(e) = docker.remove_container(&id, Some(options)).await {
            tracing::warn!(%id, error = %one_line(&e.to_string()), "cannot remove container");
        }
    }
}
