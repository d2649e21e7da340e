//! Serving a router on a listener in the background: HTTP/1.1 through hyper behind the
//! [`transport`](crate::transport) guard (which checks every request head first, so that what
//! hyper would refuse bare is answered by the app as a problem with a request id, and cuts slow
//! heads and bodies with a 408), an idle timeout, and graceful shutdown that lets in-flight
//! requests finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::transport::{Connection, Guarded, Limits, MinRateBody, SlowBody};

/// Above the guard's own limits, which refuse first (hyper would answer bare).
const HYPER_MAX_HEADERS: usize = 1000;
const HYPER_MAX_BUF: usize = 1024 * 1024;

/// A server running in a background task.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Serves `router` on `listener` with the default time limits.
pub async fn serve(router: Router, listener: TcpListener) -> RunningServer {
    serve_with(router, listener, Limits::default()).await
}

/// Serves `router` on `listener` within `limits`; handlers can read the peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve_with(router: Router, listener: TcpListener, limits: Limits) -> RunningServer {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.max_headers(HYPER_MAX_HEADERS)
            .max_buf_size(HYPER_MAX_BUF)
            .timer(TokioTimer::new())
            // The guard refuses a late head with a 408 well before this; hyper's own timer
            // closes a keep-alive connection on which no new request starts.
            .header_read_timeout(limits.idle_timeout + limits.header_timeout);
        loop {
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
                _ = &mut stopped => break,
            };
            let _ = stream.set_nodelay(true);
            let connection = Arc::new(Connection::default());
            let requests = connection.clone();
            let svc = router
                .clone()
                .map_request(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    if let Some(refusal) = requests.next_request() {
                        req.extensions_mut().insert(refusal);
                    }
                    let slow = SlowBody::default();
                    req.extensions_mut().insert(slow.clone());
                    req.map(|body| axum::body::Body::new(MinRateBody::new(body, limits, slow)))
                });
            let io = TokioIo::new(Guarded::new(stream, limits, connection));
            let conn = http.serve_connection(io, TowerToHyperService::new(svc));
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        // Stops keep-alive connections after their current request and waits for them.
        graceful.shutdown().await;
    });
    RunningServer {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Dropped without `shutdown`: stop the task rather than leak a listening server.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
