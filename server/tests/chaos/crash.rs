//! `kill -9` of the real binary during uploads, then a restart over the same storage: no
//! acknowledged upload is lost, every row has its bytes, and once the start-up sweep has run
//! no orphan is left — no stored bytes without a row, no temp file, no pending marker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::Connection;
use uuid::Uuid;

use crate::support::{serial, Chaos};

/// The grace period the binaries run with: leftovers of a dead process older than this go at
/// start-up.
const GRACE_SECS: u64 = 2;

/// The `knowledge-server` binary over the test's containers and `storage`; killed (SIGKILL)
/// when dropped, so no server outlives the test.
struct Process {
    child: Child,
    base_url: String,
}

impl Process {
    async fn start(chaos: &Chaos, storage: &Path) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = chaos.config();
        let child = Command::new(env!("CARGO_BIN_EXE_knowledge-server"))
            .env_clear()
            .env("DATABASE_URL", chaos.server.app_database_url())
            .env("DATABASE_ADMIN_URL", chaos.server.admin_database_url())
            .env("REDIS_URL", &config.redis_url)
            .env("JWT_SECRET", &config.jwt_secret)
            .env("METADATA_KEY", &config.metadata_key)
            .env("STORAGE_DIR", storage)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("RATE_LIMIT_PER_HOUR", "1000000")
            .env("ORPHAN_GRACE_SECS", GRACE_SECS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut process = Process {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/health", process.base_url)).await {
                if r.status() == 200 {
                    return process;
                }
            }
            assert!(
                process.child.try_wait().unwrap().is_none(),
                "the server exited during start-up"
            );
            assert!(Instant::now() < deadline, "not healthy within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9`, and the process reaped.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

const BOUNDARY: &str = "chaos-boundary-7f3a";

fn form(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `POST /api/v1/knowledge/files` with a [`form`] body.
fn post_form(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/api/v1/knowledge/files"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
}

/// Distinct UTF-8 text of about `len` bytes.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 36);
    while out.len() < len {
        out.extend_from_slice(Uuid::new_v4().to_string().as_bytes());
    }
    out.truncate(len);
    out
}

/// Uploads `bytes`; the new file's id when the server acknowledged it (201).
async fn upload(client: &reqwest::Client, base: &str, token: &str, bytes: &[u8]) -> Option<Uuid> {
    let response = post_form(client, base, token, form("chaos.txt", bytes))
        .send()
        .await
        .ok()?;
    if response.status() != 201 {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["id"].as_str()?.parse().ok()
}

/// An upload whose body trickles in (4 KiB every 100 ms) until the server dies.
fn slow_upload(client: &reqwest::Client, base: &str, token: &str) -> tokio::task::JoinHandle<()> {
    let body = form("slow.txt", &text(512 * 1024));
    let chunks: Vec<Vec<u8>> = body.chunks(4096).map(<[u8]>::to_vec).collect();
    let stream = futures::stream::iter(chunks).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(chunk)
    });
    let request = post_form(client, base, token, reqwest::Body::wrap_stream(stream));
    tokio::spawn(async move {
        let _ = request.send().await;
    })
}

fn names(storage: &Path) -> Vec<String> {
    std::fs::read_dir(storage)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn stored_ids(storage: &Path) -> Vec<Uuid> {
    names(storage)
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// A deferred trigger that holds every upload's COMMIT until the test's advisory lock 4242
/// is released.
async fn install_hold(su: &mut sqlx::PgConnection) {
    sqlx::raw_sql(
        "CREATE FUNCTION chaos_hold() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER chaos_hold AFTER INSERT ON knowledge_files
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION chaos_hold();",
    )
    .execute(su)
    .await
    .expect("the holding trigger is installed");
}

async fn drop_hold(su: &mut sqlx::PgConnection) {
    sqlx::raw_sql("DROP TRIGGER chaos_hold ON knowledge_files; DROP FUNCTION chaos_hold();")
        .execute(su)
        .await
        .unwrap();
}

/// Every stored file has its row and every row its bytes; no temp file, no pending marker.
async fn assert_no_orphans(chaos: &Chaos, storage: &Path) {
    let leftovers: Vec<String> = names(storage)
        .into_iter()
        .filter(|n| n.parse::<Uuid>().is_err())
        .collect();
    assert!(leftovers.is_empty(), "left after the sweep: {leftovers:?}");
    let mut su = chaos.superuser().await;
    let rows: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM knowledge_files")
        .fetch_all(&mut su)
        .await
        .unwrap();
    su.close().await.ok();
    let stored = stored_ids(storage);
    let orphans: Vec<_> = stored.iter().filter(|id| !rows.contains(id)).collect();
    assert!(
        orphans.is_empty(),
        "stored bytes without a row: {orphans:?}"
    );
    let bare: Vec<_> = rows.iter().filter(|id| !stored.contains(id)).collect();
    assert!(bare.is_empty(), "rows without bytes: {bare:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_during_uploads_a_restart_loses_no_acknowledged_upload_and_leaves_no_orphan() {
    let _turn = serial().await;
    let chaos = Chaos::start(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let storage: PathBuf = dir.path().to_path_buf();
    let client = crate::support::client();
    let token = chaos.token();

    // 1. Deterministic: uploads held inside their COMMIT (a deferred trigger waits on a lock
    //    the test holds) have renamed their bytes into place; one more is still streaming.
    //    `kill -9` now, the held transactions roll back: three stored files with no row and a
    //    temp file.
    let mut su = chaos.superuser().await;
    install_hold(&mut su).await;
    let mut holder = chaos.superuser().await;
    let mut hold = holder.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(4242)")
        .execute(&mut *hold)
        .await
        .unwrap();
    let mut first = Process::start(&chaos, &storage).await;
    let held: Vec<_> = (0..3)
        .map(|_| {
            let (client, base, token) = (client.clone(), first.base_url.clone(), token.clone());
            tokio::spawn(async move { upload(&client, &base, &token, &text(2048)).await })
        })
        .collect();
    let streaming = slow_upload(&client, &first.base_url, &token);
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_ids(&storage).len() < 3
        || !names(&storage).iter().any(|n| n.starts_with(".upload-"))
    {
        assert!(
            Instant::now() < deadline,
            "uploads did not reach their commit: {:?}",
            names(&storage)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let terminated = chaos.terminate_app_backends().await;
    assert!(terminated >= 3, "the held commits' backends: {terminated}");
    hold.rollback().await.unwrap();
    holder.close().await.ok();
    drop_hold(&mut su).await;
    su.close().await.ok();
    for upload in held {
        assert_eq!(
            upload.await.unwrap(),
            None,
            "a held upload was never acknowledged"
        );
    }
    streaming.abort();
    let orphans = stored_ids(&storage);
    assert_eq!(orphans.len(), 3, "{:?}", names(&storage));
    tokio::time::sleep(Duration::from_secs(GRACE_SECS) + Duration::from_millis(500)).await;
    let mut second = Process::start(&chaos, &storage).await;
    assert_no_orphans(&chaos, &storage).await;

    // 2. Random: concurrent uploads, `kill -9` at an arbitrary moment, twice. What was
    //    acknowledged survives byte for byte; nothing else is left once the restart swept.
    let mut acknowledged: BTreeMap<Uuid, String> = BTreeMap::new();
    for round in 0..2 {
        let base = second.base_url.clone();
        let count = Arc::new(AtomicUsize::new(0));
        let uploaders: Vec<_> = (0..8)
            .map(|_| {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                let count = count.clone();
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    for i in 0..200 {
                        let bytes = text(16 * 1024 + 4096 * (i % 16));
                        match upload(&client, &base, &token, &bytes).await {
                            Some(id) => done.push((id, hex::encode(Sha256::digest(&bytes)))),
                            None => break,
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    done
                })
            })
            .collect();
        // Eight uploads are always in flight; kill once some were acknowledged (a machine
        // under load is slow to get there), at a moment that differs between rounds.
        let deadline = Instant::now() + Duration::from_secs(30);
        while count.load(Ordering::Relaxed) < 5 + 7 * round && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 * round as u64)).await;
        second.kill();
        let mut this_round = 0;
        for uploader in uploaders {
            for (id, sha) in uploader.await.unwrap() {
                acknowledged.insert(id, sha);
                this_round += 1;
            }
        }
        assert!(
            this_round > 0,
            "round {round}: some uploads were acknowledged"
        );
        tokio::time::sleep(Duration::from_secs(GRACE_SECS) + Duration::from_millis(500)).await;
        second = Process::start(&chaos, &storage).await;
        assert_no_orphans(&chaos, &storage).await;
        println!("kill -9 round {round}: {this_round} uploads acknowledged before the kill");
    }
    for (id, sha) in &acknowledged {
        let response = client
            .get(format!(
                "{}/api/v1/knowledge/files/{id}/content",
                second.base_url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged upload {id} is lost");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            &hex::encode(Sha256::digest(&bytes)),
            sha,
            "{id}'s bytes changed"
        );
    }
    println!("{} acknowledged uploads all intact", acknowledged.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_slower_than_the_grace_keeps_its_bytes_while_the_sweeper_runs() {
    let _turn = serial().await;
    // A one-second grace: the sweeper runs every second and sees the held upload's marker
    // as old; only the upload's own lock tells it the COMMIT may still land.
    let chaos = Chaos::start(|c| c.orphan_grace_secs = 1).await;
    let storage = chaos.config().storage_dir.clone();
    let (client, base, token) = (chaos.client.clone(), chaos.base_url(), chaos.token());
    let mut su = chaos.superuser().await;
    install_hold(&mut su).await;
    let mut holder = chaos.superuser().await;
    let mut hold = holder.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(4242)")
        .execute(&mut *hold)
        .await
        .unwrap();
    let bytes = text(4096);
    let held = {
        let (client, base, token, bytes) =
            (client.clone(), base.clone(), token.clone(), bytes.clone());
        tokio::spawn(async move { upload(&client, &base, &token, &bytes).await })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_ids(&storage).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the upload did not reach its commit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Three sweeps pass while the COMMIT is held, each with the marker past its grace.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    hold.rollback().await.unwrap();
    holder.close().await.ok();
    drop_hold(&mut su).await;
    su.close().await.ok();
    let id = held
        .await
        .unwrap()
        .expect("the held upload is acknowledged");
    let served = client
        .get(format!("{base}/api/v1/knowledge/files/{id}/content"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        200,
        "an acknowledged upload lost its bytes"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_no_orphans(&chaos, &storage).await;
}
