//! The hostile-transport corpus: raw bytes over `TcpStream` against the real server (PostgreSQL
//! and Redis in containers). Every reply — including to what is not valid HTTP, is over the
//! limits, or comes too slowly — carries `X-Request-ID`, `nosniff` and a problem body, and the
//! server serves normally afterwards. Also: a request head or body that comes too slowly is cut
//! with a `408` problem, and a cut upload leaves no temp file behind.
//!
//! One embedded server with short time limits (2 s) is shared by the binary, on its own runtime
//! thread; its containers are removed by the containers crate's reaper when the process exits.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use knowledge_server::embedded::EmbeddedServer;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The shared server's header timeout and body stall limit.
const LIMIT: Duration = Duration::from_secs(2);

struct Shared {
    addr: String,
    storage: std::path::PathBuf,
    token: String,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the server");
            runtime.block_on(async move {
                let started = EmbeddedServer::start_with(|c| {
                    c.header_timeout_secs = LIMIT.as_secs();
                    c.body_stall_secs = LIMIT.as_secs();
                    c.rate_limit_per_hour = 10_000;
                })
                .await;
                match started {
                    Ok(server) => {
                        let now = chrono::Utc::now().timestamp();
                        let token = server.app().state().jwt.sign(&json!({
                            "sub": uuid::Uuid::new_v4().to_string(), "aud": "authenticated",
                            "role": "authenticated", "iat": now, "exp": now + 3600,
                        }));
                        let _ = tx.send(Ok(Shared {
                            addr: server.base_url().trim_start_matches("http://").to_owned(),
                            storage: server.config().storage_dir.clone(),
                            token,
                        }));
                        let _keep = server;
                        std::future::pending::<()>().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                    }
                }
            })
        });
        rx.recv()
            .unwrap_or_else(|_| Err("the server thread died".into()))
    });
    started.as_ref().expect("the embedded server starts")
}

/// One parsed response off the wire.
struct Wire {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} {}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `X-Request-ID` and `nosniff` on every reply; a problem with code, suggestion and the
    /// same request id on every error.
    #[track_caller]
    fn assert_marked(&self, case: &str) {
        let id = self.header("x-request-id").unwrap_or_default();
        assert!(!id.is_empty(), "{case}: no X-Request-ID in {self:?}");
        assert_eq!(
            self.header("x-content-type-options"),
            Some("nosniff"),
            "{case}: {self:?}"
        );
        if self.status >= 400 {
            assert_eq!(
                self.header("content-type"),
                Some("application/problem+json"),
                "{case}: {self:?}"
            );
            let body = self.json();
            assert_eq!(body["status"], self.status, "{case}: {body}");
            assert!(
                body["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{case}: {body}"
            );
            assert!(
                body["suggestion"].as_str().is_some_and(|s| !s.is_empty()),
                "{case}: {body}"
            );
            assert_eq!(body["request_id"], id, "{case}: {body}");
        }
    }
}

/// Reads one response (head, then a `Content-Length` body) from `stream`, within 15 s.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Wire> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                return Some(Wire {
                    status,
                    headers,
                    body,
                });
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Sends `raw` on a fresh connection and reads every response until the server closes.
async fn exchange(raw: &[u8]) -> Vec<Wire> {
    let mut stream = TcpStream::connect(&shared().addr).await.expect("connects");
    // The server may answer (and stop reading) before everything is written; that is fine.
    let _ = stream.write_all(raw).await;
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    while let Some(reply) = read_response(&mut stream, &mut buf).await {
        replies.push(reply);
    }
    replies
}

fn get_with(extra: &str) -> Vec<u8> {
    format!("GET /health HTTP/1.1\r\nhost: x\r\n{extra}\r\n").into_bytes()
}

#[tokio::test]
async fn every_reply_to_the_hostile_corpus_carries_a_request_id_and_a_problem() {
    let many_headers: String = (0..10_000).map(|i| format!("x-h{i}: v\r\n")).collect();
    let tls_hello: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x1b";
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("10,000 headers", get_with(&many_headers), 431),
        (
            "one 40 KiB header",
            get_with(&format!("x-pad: {}\r\n", "p".repeat(40 * 1024))),
            431,
        ),
        (
            "70 KB request target",
            format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
        ),
        ("NUL in a header value", get_with("x-a: b\0c\r\n"), 400),
        ("invalid header name", get_with("bad(name): v\r\n"), 400),
        ("space in a header name", get_with("bad name: v\r\n"), 400),
        ("folded header line", get_with("x-a: b\r\n  folded\r\n"), 400),
        (
            "raw 0xFF in the path",
            b"GET /he\xffalth HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "Content-Length: +5",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-length: +5\r\n\r\n{}   "
                .to_vec(),
            400,
        ),
        (
            "Content-Length: -1",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "two differing Content-Length",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{} "
                .to_vec(),
            400,
        ),
        (
            "Transfer-Encoding: xchunked",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ntransfer-encoding: xchunked\r\n\r\n"
                .to_vec(),
            400,
        ),
        (
            "Transfer-Encoding with Content-Length",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 7\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        ("a TLS ClientHello", tls_hello.to_vec(), 400),
        (
            // A real hello is 1.5–1.9 KB (post-quantum key shares): judged at once all the same.
            "a 1.8 KB TLS ClientHello",
            tls_hello
                .iter()
                .copied()
                .chain((0..1800u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8))
                .collect(),
            400,
        ),
        (
            "Content-Length as a list",
            b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-length: 2, 2\r\n\r\n{}"
                .to_vec(),
            400,
        ),
        (
            "the HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            400,
        ),
        (
            "extra words in the request line",
            b"GET / HTTP/1.1 extra\r\n\r\n".to_vec(),
            400,
        ),
        ("binary noise", (0u8..=255).rev().collect(), 400),
    ];
    for (case, raw, status) in &cases {
        let replies = exchange(raw).await;
        assert_eq!(replies.len(), 1, "{case}: {replies:?}");
        let reply = &replies[0];
        assert_eq!(reply.status, *status, "{case}: {reply:?}");
        reply.assert_marked(case);
        assert_eq!(reply.header("connection"), Some("close"), "{case}");
    }

    // Served normally afterwards, on a fresh connection and with an echoed id.
    let replies = exchange(&get_with(
        "x-request-id: after.corpus\r\nconnection: close\r\n",
    ))
    .await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].status, 200, "{replies:?}");
    assert_eq!(replies[0].header("x-request-id"), Some("after.corpus"));
    replies[0].assert_marked("health after the corpus");
}

#[tokio::test]
async fn a_refused_head_after_valid_requests_is_answered_in_its_place() {
    // A chunked body, a bodied request and a malformed one, pipelined on one connection: the
    // two valid ones are answered normally, the third with its own problem.
    let mut raw = b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1;ext\r\n{\r\n1\r\n}\r\n0\r\ntrailer: t\r\n\r\n".to_vec();
    raw.extend_from_slice(
        b"POST /api/v1/stream/auth/anon HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    );
    raw.extend_from_slice(b"GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: 1, 2\r\n\r\n");
    let replies = exchange(&raw).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 400], "{replies:?}");
    for reply in &replies {
        reply.assert_marked("pipelined");
    }
    assert_eq!(replies[2].json()["code"], "malformed_request");
    assert_ne!(
        replies[1].header("x-request-id"),
        replies[2].header("x-request-id")
    );
}

#[tokio::test]
async fn a_stray_empty_line_after_a_request_earns_no_408() {
    // RFC 9112 §2.2: empty lines before a request line are ignored; a 408 for them could cross
    // the client's next request on this connection.
    let mut stream = TcpStream::connect(&shared().addr).await.expect("connects");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut stream, &mut buf).await.expect("a reply");
    assert_eq!(first.status, 200, "{first:?}");
    let mut more = [0u8; 1024];
    match tokio::time::timeout(LIMIT * 2, stream.read(&mut more)).await {
        Err(_) => {}
        Ok(Ok(0)) => {}
        Ok(other) => panic!(
            "unasked-for bytes after the reply: {other:?} {:?}",
            String::from_utf8_lossy(&more)
        ),
    }
    // The connection still serves the next request.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let next = read_response(&mut stream, &mut buf).await.expect("a reply");
    assert_eq!(next.status, 200, "{next:?}");
}

#[tokio::test]
async fn a_head_that_comes_too_slowly_is_a_408_problem() {
    for (case, raw) in [
        ("a silent connection", &b""[..]),
        (
            "a partial head",
            &b"GET /health HTTP/1.1\r\nhost: x\r\n"[..],
        ),
    ] {
        shared();
        let started = Instant::now();
        let replies = exchange(raw).await;
        let took = started.elapsed();
        assert_eq!(replies.len(), 1, "{case}: {replies:?}");
        assert_eq!(replies[0].status, 408, "{case}: {replies:?}");
        replies[0].assert_marked(case);
        assert_eq!(replies[0].json()["code"], "request_timeout");
        assert!(
            took >= LIMIT && took < LIMIT * 4,
            "{case}: cut after {took:?}"
        );
    }
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload-"))
        .collect()
}

#[tokio::test]
async fn an_upload_at_one_byte_a_second_is_cut_with_a_408_and_leaves_no_temp_file() {
    let s = shared();
    let boundary = "hostileboundary";
    let opening = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\ncontent-type: text/plain\r\n\r\nfirst bytes "
    );
    let head = format!(
        "POST /api/v1/knowledge/files HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: multipart/form-data; boundary={boundary}\r\ncontent-length: 100000\r\n\r\n{opening}",
        s.token
    );
    let mut stream = TcpStream::connect(&s.addr).await.expect("connects");
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let started = Instant::now();

    // The upload is under way: its temp file exists.
    let mut seen = false;
    while started.elapsed() < LIMIT / 2 && !seen {
        seen = !temp_files(&s.storage).is_empty();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "no temp file while the upload runs");

    // Then one byte a second (the reply is read meanwhile).
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            if writer.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") || !raw.ends_with(b"}") {
        match tokio::time::timeout(LIMIT * 5, reader.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&chunk[..n]),
            other => panic!("no reply within the limit: {other:?}"),
        }
    }
    let took = started.elapsed();
    trickle.abort();
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        took < LIMIT * 3,
        "cut after {took:?}, the limit is {LIMIT:?}"
    );
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("x-request-id: "), "{head}");
    assert!(lower.contains("x-content-type-options: nosniff"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "request_timeout", "{body}");

    // The temp file goes with the upload.
    let gone = Instant::now() + Duration::from_secs(5);
    while !temp_files(&s.storage).is_empty() && Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(temp_files(&s.storage), Vec::<String>::new());
}
