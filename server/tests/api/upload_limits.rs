//! The upload limit: counted on the file's bytes (exactly the limit is accepted, one more is a 413),
//! and a huge body is refused while streaming with the server's memory staying bounded. The server
//! runs in this process, so its memory is this process's RSS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::Mutex;

use crate::helpers::{Multipart, TestApp};

/// Tests that move many bytes run one at a time so the memory measurement sees only its own upload.
static HEAVY: Mutex<()> = Mutex::const_new(());

const SMALL_LIMIT: u64 = 64 * 1024;

/// A `/proc/self/status` field in KiB.
fn proc_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_a_413() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::variant(|config| config.max_upload_bytes = SMALL_LIMIT).await;
    let user = app.new_user();
    let exact = vec![b'x'; SMALL_LIMIT as usize];
    // The largest metadata the server takes: the form's other bytes don't count against the file's limit.
    let metadata = json!({"title": "t".repeat(512), "description": "d".repeat(4096), "tags": vec!["g".repeat(64); 32]});

    let accepted = app
        .upload(
            &user,
            Multipart::new()
                .file("exact.txt", "text/plain", &exact)
                .metadata(&metadata),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    assert_eq!(accepted.json()["size_bytes"], SMALL_LIMIT);

    let over = vec![b'x'; SMALL_LIMIT as usize + 1];
    let refused = app
        .upload(
            &user,
            Multipart::new().file("over.txt", "text/plain", &over),
        )
        .await;
    refused.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(
        app.list_files(&user, "").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing half-stored"
    );
}

#[tokio::test]
async fn the_default_limit_accepts_a_file_of_exactly_10_mib() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::shared();
    let user = app.new_user();
    assert_eq!(app.config.max_upload_bytes, 10 * 1024 * 1024, "the default");
    let exact = vec![b'y'; 10 * 1024 * 1024];

    let info = app.upload_ok(&user, "ten.txt", "text/plain", &exact).await;

    assert_eq!(info["size_bytes"], 10 * 1024 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_upload_is_refused_while_streaming_with_bounded_server_memory() {
    const SIZE: u64 = 200 * 1024 * 1024;
    let _heavy = HEAVY.lock().await;
    let app = TestApp::shared();
    let user = app.new_user();
    // Writing 5 resets the peak (VmHWM) to the current RSS (Linux ≥ 4.0). Growth is measured as
    // peak-after minus RSS-before: exact with the reset, an over-estimate without it (never lenient).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (rss_before, peak_before) = (proc_kib("VmRSS:"), proc_kib("VmHWM:"));
    let sent = Arc::new(AtomicU64::new(0));
    let form = Multipart::new();
    let content_type = form.content_type();
    let stream = form.into_streaming_file("huge.txt", "text/plain", SIZE, sent.clone());

    let result = app
        .client
        .request(
            Method::POST,
            format!("{}/api/v1/knowledge/files", app.base_url),
        )
        .bearer_auth(&user.token)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;

    let peak_after = proc_kib("VmHWM:");
    let growth_kib = peak_after.saturating_sub(rss_before);
    let sent_mib = sent.load(Ordering::Relaxed) as f64 / 1048576.0;
    println!(
        "200 MiB upload: client produced {sent_mib:.1} MiB before the refusal; RSS before {rss_before} KiB, \
         peak before {peak_before} KiB, peak after {peak_after} KiB, peak growth {growth_kib} KiB (peak reset: {reset})"
    );
    match result {
        Ok(response) => {
            println!(
                "the client received the server's {} response",
                response.status()
            );
            let reply = crate::helpers::Reply::from(response).await;
            reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        }
        // The server may close the connection after its 413 while the client is still writing.
        Err(error) => {
            assert!(
                !error.is_timeout(),
                "the upload hung instead of being refused: {error}"
            );
            println!(
                "the server closed the connection while the client was still sending: {error}"
            );
        }
    }
    assert!(
        sent_mib < 100.0,
        "the body was read to the end ({sent_mib:.1} MiB) instead of refused while streaming"
    );
    assert!(
        growth_kib < 48 * 1024,
        "server memory grew by {growth_kib} KiB for a 200 MiB body"
    );
    assert_eq!(app.list_files(&user, "").await.json()["items"], json!([]));
}

#[tokio::test]
async fn refused_uploads_leave_no_bytes_behind_in_storage() {
    // A replica with a storage directory of its own, so its listing is exactly this test's files.
    let app = TestApp::variant(|config| config.max_upload_bytes = SMALL_LIMIT).await;
    let user = app.new_user();
    let kept = app
        .upload_ok(&user, "kept.txt", "text/plain", b"kept")
        .await;
    let refusals = [
        Multipart::new().file(
            "big.txt",
            "text/plain",
            &vec![b'x'; SMALL_LIMIT as usize + 1],
        ),
        Multipart::new().file("bad.json", "application/json", b"{oops"),
        Multipart::new().file("bad.pdf", "application/pdf", b"not a pdf"),
        Multipart::new().file("empty.txt", "text/plain", b""),
        Multipart::new()
            .file("a.txt", "text/plain", b"x")
            .metadata(&json!("not an object")),
    ];
    for form in refusals {
        let reply = app.upload(&user, form).await;
        assert!(
            reply.status.is_client_error(),
            "{} {}",
            reply.status,
            reply.text()
        );
    }

    let mut names: Vec<String> = std::fs::read_dir(&app.config.storage_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![kept["id"].as_str().unwrap().to_owned()],
        "only the accepted file's bytes"
    );
}
