//! `just bench-instructions`: the reference server's CPU per authenticated list request, as
//! instructions counted by callgrind — a figure that does not move with the machine's load,
//! unlike the utime+stime of `just bench`.
//!
//! The release `knowledge-server` runs under `valgrind --tool=callgrind` twice with the
//! default configuration (logging at `info` and metrics on): once answering `/ready`, one
//! upload of 60 files into a fresh tenant and nothing more, once doing the same and then
//! `BENCH_LIST_REQUESTS` (default 2,000) `GET /api/v1/knowledge/files` (the first page of 50)
//! over 16 keep-alive connections. The difference of the two totals over the requests is the
//! cost of one list request; the second run's profile (inclusive, by function) is written to
//! `target/bench/list-instructions.txt`.
//!
//! PostgreSQL and Redis: `BENCH_DATABASE_URL` (a superuser URL) and `BENCH_REDIS_URL`, or the
//! tests' containers. `BENCH_SERVER_BIN` measures another build of the server (a copy of an
//! earlier release binary, say) with the same load. Needs `valgrind` (Debian's `valgrind`).

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use uuid::Uuid;

mod common;

/// Files in the list's tenant: every page is a full 50.
const FILES: usize = 60;
/// Concurrent keep-alive connections of the list load.
const CONNECTIONS: usize = 16;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        bail!("`valgrind` is not installed: apt-get install valgrind");
    }
    let requests: usize = std::env::var("BENCH_LIST_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let (_stack, superuser_url, redis_url) = common::services().await?;
    let urls = knowledge_server::provision_roles(&superuser_url).await?;
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let mut totals = Vec::new();
    for n in [0, requests] {
        eprintln!("bench: the server under callgrind, {n} list requests");
        let out = out_dir.join(format!("callgrind-list-{n}.out"));
        let storage = tempfile::tempdir()?;
        let server = Traced::start(&urls, &redis_url, storage.path(), &out)?;
        let served = server.serve(n).await;
        let total = server.finish()?;
        served?;
        eprintln!("bench:   {total} instructions");
        totals.push(total);
    }
    let per_request = (totals[1] as f64 - totals[0] as f64) / requests as f64;
    let profile = out_dir.join("list-instructions.txt");
    let annotated = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(out_dir.join(format!("callgrind-list-{requests}.out")))
        .output()
        .context("running callgrind_annotate")?;
    std::fs::write(&profile, &annotated.stdout)?;
    println!("list, instructions per request: {per_request:.0}");
    println!(
        "  (startup and setup {}, with {requests} requests {}; profile: {})",
        totals[0],
        totals[1],
        profile.display()
    );
    Ok(())
}

/// The server under callgrind, in a process group of its own.
struct Traced {
    child: Child,
    base: String,
    jwt_secret: String,
    port: u16,
    out: PathBuf,
}

impl Traced {
    fn start(
        urls: &knowledge_server::DbUrls,
        redis_url: &str,
        storage: &Path,
        out: &Path,
    ) -> anyhow::Result<Traced> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let jwt_secret = format!("bench-{}", Uuid::new_v4().simple());
        let bin = std::env::var_os("BENCH_SERVER_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_knowledge-server").into());
        let mut cmd = Command::new("valgrind");
        cmd.args(["--tool=callgrind", "--quiet"])
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(bin);
        common::server_env(&mut cmd, urls, redis_url, &jwt_secret, storage, port);
        let child = cmd
            // Callgrind runs the server some 50 times slower: Redis' answer takes longer than
            // the default 250 ms to be read. The timer costs the same whatever its length.
            .env("REDIS_TIMEOUT_MS", "10000")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting knowledge-server under valgrind")?;
        Ok(Traced {
            child,
            base: format!("http://127.0.0.1:{port}"),
            jwt_secret,
            port,
            out: out.to_owned(),
        })
    }

    /// Waits for the listener (connection attempts before it exists cost the server nothing),
    /// then `/ready` once, the tenant's upload, and `n` list requests.
    async fn serve(&self, n: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                bail!("the server did not listen within 300 s under callgrind");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()?;
        let ready = client.get(format!("{}/ready", self.base)).send().await?;
        if !ready.status().is_success() {
            bail!("/ready answered {}", ready.status());
        }
        let token = self.token(Uuid::new_v4());
        let url = format!("{}/api/v1/knowledge/files", self.base);
        for i in 0..FILES {
            let part =
                reqwest::multipart::Part::bytes(format!("document {i} of the list").into_bytes())
                    .file_name(format!("doc-{i}.txt"))
                    .mime_str("text/plain")?;
            let r = client
                .post(&url)
                .bearer_auth(&token)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("upload answered {}", r.status());
            }
        }
        let results: Vec<anyhow::Result<()>> = stream::iter(0..n)
            .map(|_| {
                let (client, url, token) = (&client, &url, &token);
                async move {
                    let r = client.get(url).bearer_auth(token).send().await?;
                    if !r.status().is_success() {
                        bail!("list answered {}", r.status());
                    }
                    let page: serde_json::Value = r.json().await?;
                    if page["items"].as_array().map(Vec::len) != Some(50) {
                        bail!("the list's page does not hold 50 files: {page}");
                    }
                    Ok(())
                }
            })
            .buffer_unordered(CONNECTIONS)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// SIGTERM (graceful shutdown, callgrind writes its profile), then the profile's total.
    fn finish(mut self) -> anyhow::Result<u64> {
        let group = self.child.id();
        Command::new("kill")
            .args(["-TERM", "--", &format!("-{group}")])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self.child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the server under callgrind did not stop within 120 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let text = std::fs::read_to_string(&self.out).context("callgrind wrote no profile")?;
        text.lines()
            .find_map(|l| {
                l.strip_prefix("totals: ")
                    .or_else(|| l.strip_prefix("summary: "))
            })
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no totals in the callgrind profile")
    }

    fn token(&self, sub: Uuid) -> String {
        common::token(&self.jwt_secret, sub)
    }
}
