//! Serving a router on a TCP listener: HTTP/1.1 through hyper with a header-read timeout, an
//! optional cap on connections, and graceful shutdown that lets in-flight requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// How [`listen`] serves.
#[derive(Debug, Clone, Copy)]
pub struct ListenOptions {
    /// A request head must arrive within this, or hyper closes the connection (also an idle
    /// keep-alive connection on which no new request starts).
    pub header_read_timeout: Duration,
    /// Connections served at once; beyond it new ones wait in the listen backlog.
    pub max_connections: Option<usize>,
    /// hyper's limit on headers per request (its default when `None`).
    pub max_headers: Option<usize>,
    /// hyper's read buffer (its default when `None`).
    pub max_buf_size: Option<usize>,
}

impl ListenOptions {
    /// hyper's defaults, with `header_read_timeout`.
    pub fn new(header_read_timeout: Duration) -> ListenOptions {
        ListenOptions {
            header_read_timeout,
            max_connections: None,
            max_headers: None,
            max_buf_size: None,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets each
/// connection finish its current request and waits for them.
///
/// `connection` sees every accepted stream and its peer, and returns the stream to serve (the
/// same one, or one wrapped in a guard) with a function applied to each of its requests (to
/// attach per-connection extensions, or to wrap the body).
pub async fn listen<S, M>(
    listener: TcpListener,
    app: Router,
    options: ListenOptions,
    shutdown: impl Future<Output = ()>,
    mut connection: impl FnMut(TcpStream, SocketAddr) -> (S, M),
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    M: FnMut(Request<Incoming>) -> Request<Body> + Clone + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let slots = options.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    if let Some(n) = options.max_headers {
        http.max_headers(n);
    }
    if let Some(n) = options.max_buf_size {
        http.max_buf_size(n);
    }
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = acquire(slots.as_ref()) => slot,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (io, per_request) = connection(stream, peer);
        let svc = TowerToHyperService::new(app.clone().map_request(per_request));
        let conn = graceful.watch(http.serve_connection(TokioIo::new(io), svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A request as hyper reads it, made an axum request.
pub type PerRequest = fn(Request<Incoming>) -> Request<Body>;

/// The `connection` of [`listen`] that serves each stream and request as it comes.
pub fn as_is(stream: TcpStream, _peer: SocketAddr) -> (TcpStream, PerRequest) {
    (stream, |req| req.map(Body::new))
}

/// A connection slot, when connections are capped.
async fn acquire(slots: Option<&Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    match slots {
        // The semaphore is never closed.
        Some(slots) => slots.clone().acquire_owned().await.ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_once(addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_until_shutdown_then_lets_go_of_the_port() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "hello" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ListenOptions {
            max_connections: Some(1),
            ..ListenOptions::new(Duration::from_secs(5))
        };
        let server = tokio::spawn(listen(
            listener,
            app,
            options,
            async {
                let _ = stopped.await;
            },
            as_is,
        ));
        for _ in 0..2 {
            let reply = get_once(addr).await;
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            assert!(reply.ends_with("hello"), "{reply}");
        }
        stop.send(()).unwrap();
        server.await.unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn a_head_that_does_not_arrive_in_time_closes_the_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(listen(
            listener,
            Router::new(),
            ListenOptions::new(Duration::from_millis(200)),
            std::future::pending(),
            as_is,
        ));
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the connection stayed open");
        server.abort();
    }
}
