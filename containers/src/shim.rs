//! Docker API-version shim.
//!
//! testcontainers 0.25 talks to Docker through bollard 0.19 with a fixed API
//! version (`bollard::API_DEFAULT_VERSION`, 1.49) and never negotiates, so an
//! older daemon (Docker 20.10 speaks 1.41 at most) answers every request with
//! "client version 1.49 is too new". The shim is a small reverse proxy on a
//! unix socket that rewrites the `/v1.NN/` path prefix down to the daemon's
//! version and streams each request and response through unchanged.
//! [`ensure`] starts it once per process, when needed, and points `DOCKER_HOST`
//! at it; on a modern daemon nothing is started.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};

use crate::error::StackError;

/// A Docker Engine API version, `major.minor` (e.g. 1.41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    /// Major version (always 1 so far).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl ApiVersion {
    /// Parses `"1.41"`.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.split_once('.')?;
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The version bollard (and so testcontainers) sends.
    pub fn bollard_default() -> ApiVersion {
        let v = bollard::API_DEFAULT_VERSION;
        ApiVersion {
            major: v.major_version as u32,
            minor: v.minor_version as u32,
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Rewrites a request target's `/vX.Y/` prefix to `max` when X.Y is newer than
/// `max`; any other target (no prefix, or an older version) is returned as is.
pub fn rewrite_path(path_and_query: &str, max: ApiVersion) -> String {
    let Some(rest) = path_and_query.strip_prefix("/v") else {
        return path_and_query.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match ApiVersion::parse(&rest[..end]) {
        Some(v) if v > max => format!("/v{max}{}", &rest[end..]),
        _ => path_and_query.to_string(),
    }
}

/// Set by [`ensure`] to the real daemon's socket path when the shim takes
/// over `DOCKER_HOST`, so child processes (which inherit both) that start a
/// stack of their own talk to the daemon, not to a shim that dies with us.
pub const REAL_DAEMON_VAR: &str = "GONOGO_DOCKER_DAEMON";

/// The real daemon's unix socket: [`REAL_DAEMON_VAR`] if set, else
/// `DOCKER_HOST` when it is `unix://…`, else `/var/run/docker.sock`. Captured
/// once, before the shim replaces `DOCKER_HOST`.
pub fn daemon_socket() -> &'static Path {
    static SOCKET: OnceLock<PathBuf> = OnceLock::new();
    SOCKET.get_or_init(|| {
        let real = std::env::var(REAL_DAEMON_VAR)
            .ok()
            .filter(|v| !v.is_empty());
        real.map(PathBuf::from)
            .or_else(|| {
                let host = std::env::var("DOCKER_HOST").ok()?;
                host.strip_prefix("unix://").map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
    })
}

/// Asks the daemon at `socket` for its maximum API version (`GET /version`,
/// unversioned, so even an old daemon answers).
pub async fn daemon_version(socket: &Path) -> Result<ApiVersion, StackError> {
    let unreachable = |detail: String| StackError::DockerUnreachable {
        socket: socket.display().to_string(),
        detail,
    };
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::spawn(conn);
    let req = Request::get("/version")
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .expect("static request is valid");
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .to_bytes();
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| unreachable(e.to_string()))?;
    json.get("ApiVersion")
        .and_then(|v| v.as_str())
        .and_then(ApiVersion::parse)
        .ok_or_else(|| unreachable("no ApiVersion in GET /version".into()))
}

/// What [`ensure`] decided, for logs and for other Docker clients.
#[derive(Debug, Clone)]
pub struct DockerEndpoint {
    /// The real daemon's socket.
    pub daemon_socket: PathBuf,
    /// The daemon's maximum API version.
    pub daemon_version: ApiVersion,
    /// The shim's socket, when one runs (the daemon is older than bollard).
    pub shim_socket: Option<PathBuf>,
}

impl DockerEndpoint {
    /// The API version to use when talking to the real daemon directly.
    pub fn api_version(&self) -> ApiVersion {
        self.daemon_version.min(ApiVersion::bollard_default())
    }
}

/// Starts the shim if the daemon is older than bollard's API version (once per
/// process) and sets `DOCKER_HOST` to it. Must run before testcontainers first
/// creates its client, i.e. before the first container starts.
pub async fn ensure() -> Result<&'static DockerEndpoint, StackError> {
    static ENDPOINT: tokio::sync::OnceCell<DockerEndpoint> = tokio::sync::OnceCell::const_new();
    ENDPOINT
        .get_or_try_init(|| async {
            let socket = daemon_socket().to_path_buf();
            let version = daemon_version(&socket).await?;
            let shim_socket = if version < ApiVersion::bollard_default() {
                let path = spawn(socket.clone(), version)?;
                // Edition 2021: set_var is safe; done before testcontainers
                // reads DOCKER_HOST (it reads it when its client is created).
                std::env::set_var("DOCKER_HOST", format!("unix://{}", path.display()));
                std::env::set_var(REAL_DAEMON_VAR, &socket);
                tracing::info!(daemon = %version, shim = %path.display(), "docker API shim started");
                Some(path)
            } else {
                None
            };
            Ok(DockerEndpoint {
                daemon_socket: socket,
                daemon_version: version,
                shim_socket,
            })
        })
        .await
}

/// Starts a proxy on a new socket in a fresh temp dir, forwarding to `daemon`
/// with paths rewritten to `version`. It runs on its own thread and runtime so
/// it outlives whichever (test) runtime asked for it; it lives until the
/// process exits. Returns the socket path once it is listening.
pub fn spawn(daemon: PathBuf, version: ApiVersion) -> Result<PathBuf, StackError> {
    let dir = std::env::temp_dir().join(format!("gonogo-shim-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| StackError::Shim(e.to_string()))?;
    let path = dir.join("docker.sock");
    let (tx, rx) = std::sync::mpsc::channel();
    let listen_path = path.clone();
    std::thread::Builder::new()
        .name("gonogo-docker-shim".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return drop(tx.send(Err(e.to_string()))),
            };
            rt.block_on(async move {
                let listener = match UnixListener::bind(&listen_path) {
                    Ok(l) => l,
                    Err(e) => return drop(tx.send(Err(e.to_string()))),
                };
                let _ = tx.send(Ok(()));
                serve(listener, daemon, version).await;
            });
        })
        .map_err(|e| StackError::Shim(e.to_string()))?;
    match rx.recv() {
        Ok(Ok(())) => Ok(path),
        Ok(Err(e)) => Err(StackError::Shim(e)),
        Err(_) => Err(StackError::Shim("shim thread exited".into())),
    }
}

/// Accepts connections forever, one task per connection.
async fn serve(listener: UnixListener, daemon: PathBuf, version: ApiVersion) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let daemon = daemon.clone();
                async move { Ok::<_, Infallible>(forward(req, &daemon, version).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await
            {
                tracing::debug!(error = %e, "docker shim connection ended");
            }
        });
    }
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Forwards one request to the daemon with its path rewritten; bodies stream
/// both ways, and a `101 Switching Protocols` answer (exec/attach hijack)
/// becomes a raw byte pipe. Errors become a 502 with a Docker-style
/// `{"message": …}` body.
async fn forward(
    req: Request<Incoming>,
    daemon: &Path,
    version: ApiVersion,
) -> Response<ProxyBody> {
    match try_forward(req, daemon, version).await {
        Ok(res) => res.map(BodyExt::boxed),
        Err(msg) => {
            let body = serde_json::json!({ "message": format!("gonogo docker shim: {msg}") });
            Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(
                    Full::new(Bytes::from(body.to_string()))
                        .map_err(|never| match never {})
                        .boxed(),
                )
                .expect("static response is valid")
        }
    }
}

async fn try_forward(
    mut req: Request<Incoming>,
    daemon: &Path,
    version: ApiVersion,
) -> Result<Response<Incoming>, String> {
    let wants_upgrade = req.headers().contains_key(hyper::header::UPGRADE);
    let downstream = wants_upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    parts.uri = rewrite_path(target, version)
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let stream = UnixStream::connect(daemon)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "docker shim upstream connection ended");
        }
    });
    let mut res = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .map_err(|e| e.to_string())?;
    if let (StatusCode::SWITCHING_PROTOCOLS, Some(downstream)) = (res.status(), downstream) {
        let upstream = hyper::upgrade::on(&mut res);
        tokio::spawn(async move {
            let piped = async {
                let (down, up) =
                    tokio::try_join!(downstream, upstream).map_err(|e| e.to_string())?;
                let (mut down, mut up) = (TokioIo::new(down), TokioIo::new(up));
                tokio::io::copy_bidirectional(&mut down, &mut up)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(())
            };
            if let Err(e) = piped.await {
                tracing::debug!(error = %e, "docker shim upgraded connection ended");
            }
        });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V141: ApiVersion = ApiVersion {
        major: 1,
        minor: 41,
    };

    #[test]
    fn rewrite_lowers_a_newer_version_prefix() {
        assert_eq!(
            rewrite_path("/v1.49/containers/create?name=x", V141),
            "/v1.41/containers/create?name=x"
        );
        assert_eq!(rewrite_path("/v1.49?x=1", V141), "/v1.41?x=1");
    }

    #[test]
    fn rewrite_keeps_older_or_unversioned_targets() {
        assert_eq!(rewrite_path("/v1.40/version", V141), "/v1.40/version");
        assert_eq!(rewrite_path("/version", V141), "/version");
        assert_eq!(rewrite_path("/volumes/v1.49/x", V141), "/volumes/v1.49/x");
        assert_eq!(rewrite_path("/vx.y/info", V141), "/vx.y/info");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(ApiVersion::parse("1.41").unwrap() < ApiVersion::parse("1.100").unwrap());
        assert_eq!(
            ApiVersion::parse("1.49"),
            Some(ApiVersion::bollard_default())
        );
        assert_eq!(ApiVersion::parse("1"), None);
    }
}
