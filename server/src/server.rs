//! Serving a router on a listener in the background: HTTP/1.1 through [`gonogo_plumbing::listen`]
//! behind the [`transport`](crate::transport) guard (which checks every request head first, so
//! that what hyper would refuse bare is answered by the app as a problem with a request id, and
//! cuts slow heads and bodies with a 408), an idle timeout, and graceful shutdown that lets
//! in-flight requests finish.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use gonogo_plumbing::{listen, ListenOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
    let (stop, stopped) = oneshot::channel::<()>();
    let options = ListenOptions {
        // The guard refuses a late head with a 408 well before this; hyper's own timer
        // closes a keep-alive connection on which no new request starts.
        header_read_timeout: limits.idle_timeout + limits.header_timeout,
        max_connections: None,
        max_headers: Some(HYPER_MAX_HEADERS),
        max_buf_size: Some(HYPER_MAX_BUF),
    };
    let stopped = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(listen(
        listener,
        router,
        options,
        stopped,
        move |stream, peer| {
            let _ = stream.set_nodelay(true);
            let connection = Arc::new(Connection::default());
            let requests = connection.clone();
            let per_request = move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                if let Some(refusal) = requests.next_request() {
                    req.extensions_mut().insert(refusal);
                }
                let slow = SlowBody::default();
                req.extensions_mut().insert(slow.clone());
                req.map(|body| axum::body::Body::new(MinRateBody::new(body, limits, slow)))
            };
            (Guarded::new(stream, limits, connection), per_request)
        },
    ));
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
