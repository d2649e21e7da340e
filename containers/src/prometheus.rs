//! [`Prometheus`]: a Prometheus server in a container, scraping servers that
//! run on the host (the test's own reference servers).
//!
//! The container shares the host's network namespace (`network_mode: host`).
//! The servers a test wants scraped listen on 127.0.0.1, which a bridged
//! container cannot reach: `host.docker.internal` (`--add-host
//! host.docker.internal:host-gateway`) leads to the bridge's gateway address,
//! where only servers bound to it or to 0.0.0.0 answer, and testcontainers'
//! host-port exposure starts an SSH side container whose image needs a
//! registry. In the host's network the scrape targets are written as the
//! test sees them (`127.0.0.1:<port>`) and Prometheus listens on a free port
//! of 127.0.0.1, reachable from the host and from nowhere else. That is Linux
//! Docker Engine's host network (Docker Desktop's "host" is its VM's).
//!
//! The image is the official `prom/prometheus` where a registry answers, else
//! one built from Debian's `prometheus` package (see [`crate::images`]); both
//! run as `nobody` with their data in `/prometheus`, so the same arguments
//! start either.

use std::time::{Duration, Instant};

use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{one_line, StackError};
use crate::images::split_reference;
use crate::owned::Owned;
use crate::service::{free_port, remove_labelled, ATTEMPT_LABEL};

/// How long Prometheus may take to answer `/-/ready` (its TSDB opens first).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the configuration is copied in the container.
const CONFIG_PATH: &str = "/etc/prometheus/prometheus.yml";

/// A running Prometheus; removed on drop (or by the reaper at exit).
pub struct Prometheus {
    url: String,
    owned: Owned,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &self.url)
            .field("image", &self.owned.image())
            .field("container", &self.owned.id())
            .finish()
    }
}

/// A failed start; `port_taken` means "retry with another port".
struct Failed {
    error: StackError,
    port_taken: bool,
}

impl Prometheus {
    /// Resolves the image (building the offline one if it must, see the crate
    /// README), starts Prometheus with `config` (the text of a
    /// `prometheus.yml`; scrape targets on the host are `127.0.0.1:<port>`)
    /// and returns once `/-/ready` answers 200.
    pub async fn start(config: &str) -> Result<Prometheus, StackError> {
        let (endpoint, docker) = crate::connect().await?;
        let image =
            crate::images::resolve(&crate::images::PROMETHEUS, &docker, &endpoint.daemon_socket)
                .await?;
        let mut last_err = None;
        // The port is picked up front and bound by Prometheus itself (host
        // network: no Docker port mapping); someone may take it meanwhile.
        for _ in 0..3 {
            let attempt = uuid::Uuid::new_v4().to_string();
            match Self::try_start(&image, config, &attempt).await {
                Ok(prometheus) => return Ok(prometheus),
                Err(Failed { error, port_taken }) => {
                    remove_labelled(&docker, ATTEMPT_LABEL, &attempt).await;
                    if !port_taken {
                        return Err(error);
                    }
                    last_err = Some(error);
                }
            }
        }
        Err(last_err.expect("the loop ran"))
    }

    async fn try_start(image: &str, config: &str, attempt: &str) -> Result<Prometheus, Failed> {
        let not_taken = |error| Failed {
            error,
            port_taken: false,
        };
        let port = free_port().map_err(not_taken)?;
        let (name, tag) = split_reference(image);
        let mut request = GenericImage::new(name, tag)
            .with_network("host")
            .with_copy_to(CONFIG_PATH, config.as_bytes().to_vec())
            .with_cmd([
                format!("--config.file={CONFIG_PATH}"),
                "--storage.tsdb.path=/prometheus".into(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=warn".into(),
            ])
            .with_label(ATTEMPT_LABEL, attempt)
            .with_startup_timeout(Duration::from_secs(60));
        for (key, value) in crate::reaper::labels() {
            request = request.with_label(key, value);
        }
        let container = request.start().await.map_err(|e| {
            not_taken(StackError::docker(
                format!("start the Prometheus container from {image}"),
                e,
            ))
        })?;
        let prometheus = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            owned: Owned::new(image.to_string(), container),
        };
        if let Err(error) = prometheus.wait_ready().await {
            // Prometheus exits at once when its port is taken; say so only
            // then, so any other failure is reported as it is.
            let logs = prometheus.container().stderr_to_vec().await;
            let port_taken = !prometheus.container().is_running().await.unwrap_or(true)
                && logs
                    .is_ok_and(|l| String::from_utf8_lossy(&l).contains("address already in use"));
            return Err(Failed { error, port_taken });
        }
        Ok(prometheus)
    }

    /// Its base URL, `http://127.0.0.1:<port>` (the HTTP API is under `/api/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The image the container runs.
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

    /// Stops Prometheus (SIGTERM, SIGKILL after 2 s): queries now fail to
    /// connect, as when a real Prometheus is down. The container stays until
    /// drop.
    pub async fn stop(&self) -> Result<(), StackError> {
        self.container()
            .stop_with_timeout(Some(2))
            .await
            .map_err(|e| StackError::docker("stop the Prometheus container", e))
    }

    /// Polls `/-/ready` until it answers 200 or [`READY_TIMEOUT`] passes.
    async fn wait_ready(&self) -> Result<(), StackError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = self.url.trim_start_matches("http://").to_string();
        loop {
            let attempt = tokio::time::timeout(Duration::from_secs(3), ready(&addr)).await;
            let err = match attempt {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e,
                Err(_) => "no answer within 3 s".to_string(),
            };
            if Instant::now() >= deadline || !self.container().is_running().await.unwrap_or(true) {
                return Err(StackError::NotReady {
                    service: "Prometheus",
                    seconds: READY_TIMEOUT.as_secs(),
                    detail: one_line(&err),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One `GET /-/ready` on a fresh connection: Ok on a 200. Plain HTTP/1.0 on
/// a socket; the answer is a short status line, and this crate has no HTTP
/// client of its own to spare.
async fn ready(addr: &str) -> Result<(), String> {
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    conn.write_all(b"GET /-/ready HTTP/1.0\r\nHost: prometheus\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("/-/ready answered {status:?}"))
    }
}
