//! The Docker API shim as a proxy: path rewriting and streamed bodies against
//! a fake daemon, and a real bollard (API 1.49) call through it.

use std::convert::Infallible;
use std::path::PathBuf;

use bytes::Bytes;
use gonogo_containers::shim::{self, ApiVersion};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};

/// A request body sent as several frames (so the proxy must stream it).
type Chunked =
    StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// A fake daemon answering "<METHOD> <target> <body>".
fn fake_daemon() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gonogo-fake-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("daemon.sock");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let head = format!("{} {} ", req.method(), req.uri());
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let mut out = head.into_bytes();
                    out.extend_from_slice(&body);
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(out))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    path
}

async fn send(socket: &PathBuf, req: Request<Chunked>) -> String {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn chunked(parts: &[&'static str]) -> Chunked {
    let frames: Vec<_> = parts
        .iter()
        .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
        .collect();
    StreamBody::new(futures::stream::iter(frames))
}

#[tokio::test]
async fn the_shim_rewrites_newer_versions_and_streams_bodies_through() {
    let daemon = fake_daemon();
    let v141 = ApiVersion {
        major: 1,
        minor: 41,
    };
    let shim_socket = shim::spawn(daemon.clone(), v141).unwrap();

    let req = Request::post("/v1.49/containers/create?name=x")
        .header("host", "docker")
        .body(chunked(&["first,", "second"]))
        .unwrap();
    assert_eq!(
        send(&shim_socket, req).await,
        "POST /v1.41/containers/create?name=x first,second"
    );

    let req = Request::get("/v1.40/_ping")
        .header("host", "docker")
        .body(chunked(&[]))
        .unwrap();
    assert_eq!(send(&shim_socket, req).await, "GET /v1.40/_ping ");
    for socket in [&daemon, &shim_socket] {
        std::fs::remove_dir_all(socket.parent().unwrap()).unwrap();
    }
}

#[tokio::test]
async fn bollard_at_its_default_version_reaches_the_real_daemon_through_the_shim() {
    let socket = shim::daemon_socket().to_path_buf();
    let version = shim::daemon_version(&socket)
        .await
        .expect("daemon answers GET /version");
    let shim_socket = shim::spawn(socket, version).unwrap();
    let docker = bollard::Docker::connect_with_unix(
        &shim_socket.to_string_lossy(),
        30,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap();
    let answer = docker
        .version()
        .await
        .expect("bollard 1.49 works through the shim");
    assert_eq!(
        answer.api_version.as_deref(),
        Some(version.to_string().as_str())
    );
    assert_eq!(docker.ping().await.expect("ping through the shim"), "OK");
    std::fs::remove_dir_all(shim_socket.parent().unwrap()).unwrap();
}
