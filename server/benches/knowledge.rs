//! `just bench`: the reference server's figures from one run, side by side
//! with what its database can do.
//!
//! It starts PostgreSQL and Redis (the same containers as the tests, or the
//! services named by `BENCH_DATABASE_URL` — a superuser URL — and
//! `BENCH_REDIS_URL`), runs the release `knowledge-server` binary as a child
//! process against them, loads a dataset through the API, and prints:
//!
//! - authenticated `GET /api/v1/knowledge/files` under `wrk -t2 -c64`: req/s, p50, p99;
//! - the same transaction (`BEGIN; set_config(claims); SELECT … LIMIT 51; COMMIT`)
//!   under `pgbench -M prepared -c 64 -j 2`, same duration, as the app role:
//!   tps, and the server's share of it;
//! - search p50/p95 over sequential 1–2 word queries, at 10k files in one
//!   tenant and at 100k files across 20 tenants (40-word documents,
//!   2,000-word vocabulary);
//! - upload throughput while loading, and the server's peak RSS (VmHWM).
//!
//! Load generators: `wrk` and `pgbench` (Debian's `wrk` and `postgresql-client`
//! packages). Both are C, so on a two-core machine the generator's own cost is
//! small and the same on both sides of the ratio. A Rust client would compete
//! with the server for the same cores with a heavier per-request cost. Sizes:
//! `BENCH_SECONDS` (default 15), `BENCH_SEARCH_FILES` (10000), `BENCH_TENANTS`
//! (20) and `BENCH_FILES_PER_TENANT` (5000).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::json;
use uuid::Uuid;

/// The list query the server runs (`routes::files::list`, first page), for pgbench.
fn list_sql(sub: Uuid) -> String {
    format!(
        "SELECT {} FROM knowledge_files WHERE owner_id = '{sub}' AND (NULL::timestamptz IS NULL OR (created_at, id) < (NULL, NULL::uuid)) ORDER BY created_at DESC, id DESC LIMIT 51",
        knowledge_server::routes::files::FILE_COLUMNS
    )
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    base: String,
    jwt_secret: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The peak resident set of the server process, in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// Polls `path` until it answers 2xx, for at most 60 s.
    async fn wait_for(&self, path: &str, what: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}{path}", self.base)).await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("{what} did not answer {path} in 60 s")
    }

    fn token(&self, sub: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 6 * 3600});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.jwt_secret.as_bytes()),
        )
        .expect("a token")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_server(
    app_url: &str,
    admin_url: &str,
    redis_url: &str,
    storage: &std::path::Path,
) -> anyhow::Result<Server> {
    let port = free_port();
    let jwt_secret = format!("bench-{}", Uuid::new_v4().simple());
    let child = Command::new(env!("CARGO_BIN_EXE_knowledge-server"))
        .env("DATABASE_URL", app_url)
        .env("DATABASE_ADMIN_URL", admin_url)
        .env("REDIS_URL", redis_url)
        .env("JWT_SECRET", &jwt_secret)
        .env(
            "METADATA_KEY",
            knowledge_server::crypto::random_metadata_key("k1"),
        )
        .env("STORAGE_DIR", storage)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RATE_LIMIT_PER_HOUR", "1000000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting knowledge-server")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        jwt_secret,
    };
    server.wait_for("/ready", "knowledge-server").await?;
    Ok(server)
}

/// A deterministic 2,000-word vocabulary and 40-word documents.
struct Corpus {
    words: Vec<String>,
    state: u64,
}

impl Corpus {
    fn new() -> Corpus {
        let syllables = [
            "ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "de", "pa", "gu", "fe", "zo", "hi",
            "be",
        ];
        let mut words = Vec::with_capacity(2000);
        'outer: for a in syllables {
            for b in syllables {
                for c in syllables {
                    words.push(format!("{a}{b}{c}"));
                    if words.len() == 2000 {
                        break 'outer;
                    }
                }
            }
        }
        Corpus {
            words,
            state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn next(&mut self) -> usize {
        // xorshift64*: the same dataset on every run.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % self.words.len()
    }

    fn document(&mut self) -> String {
        self.words_of(40)
    }

    fn query(&mut self) -> String {
        let n = 1 + self.next() % 2;
        self.words_of(n)
    }

    fn words_of(&mut self, n: usize) -> String {
        let picks: Vec<usize> = (0..n).map(|_| self.next()).collect();
        picks
            .into_iter()
            .map(|i| self.words[i].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Uploads `docs` for the tenant of `token`, 16 at a time; returns (files, bytes, seconds).
async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    docs: Vec<String>,
) -> anyhow::Result<(usize, usize, f64)> {
    let url = format!("{base}/api/v1/knowledge/files");
    let bytes: usize = docs.iter().map(String::len).sum();
    let n = docs.len();
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = stream::iter(docs.into_iter().enumerate())
        .map(|(i, text)| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let part = reqwest::multipart::Part::bytes(text.into_bytes())
                    .file_name(format!("doc-{i}.txt"))
                    .mime_str("text/plain")?;
                let r = client
                    .post(&url)
                    .bearer_auth(token)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!(
                        "upload answered {}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                }
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    Ok((n, bytes, started.elapsed().as_secs_f64()))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Sequential searches: p50 and p95 in ms.
async fn search_latency(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    corpus: &mut Corpus,
    n: usize,
) -> anyhow::Result<(f64, f64)> {
    let url = format!("{base}/api/v1/knowledge/search");
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let body = json!({"query": corpus.query(), "limit": 10});
        let t = Instant::now();
        let r = client
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let ok = r.status().is_success();
        let _ = r.bytes().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if !ok {
            bail!("search failed");
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 50.0), percentile(&ms, 95.0)))
}

/// `wrk` on the list route: (req/s, p50 ms, p99 ms).
fn wrk(base: &str, token: &str, seconds: usize) -> anyhow::Result<(f64, f64, f64)> {
    let out = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{base}/api/v1/knowledge/files"))
        .output()
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk saw non-2xx answers:\n{text}");
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
    };
    let ms = |v: String| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1000.0,
            "s" => n * 1000.0,
            _ => n,
        }
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context(format!("no Requests/sec in wrk's output:\n{text}"))?;
    Ok((
        rps,
        field("50%").map(ms).unwrap_or(f64::NAN),
        field("99%").map(ms).unwrap_or(f64::NAN),
    ))
}

/// `pgbench` on the same transaction as the app role: tps.
fn pgbench(app_url: &str, sub: Uuid, seconds: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("list.sql");
    let claims = json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated"})
        .to_string();
    std::fs::write(
        &script,
        format!(
            "BEGIN;\nSELECT set_config('request.jwt.claims', '{claims}', true);\n{};\nCOMMIT;\n",
            list_sql(sub)
        ),
    )?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            "64",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(app_url)
        .output()
        .context("running pgbench (apt-get install postgresql-client)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .with_context(|| {
            format!(
                "no tps in pgbench's output:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the server's search as `sub` (claims set, as the app role).
async fn explain(app_url: &str, sub: Uuid, query: &str) -> anyhow::Result<String> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(app_url).await?;
    let mut tx = conn.begin().await?;
    let claims = json!({"sub": sub.to_string(), "role": "authenticated"}).to_string();
    sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
        .bind(claims)
        .execute(&mut *tx)
        .await?;
    let sql = format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        knowledge_server::routes::search::SEARCH_SQL
    );
    let rows = sqlx::query(&sql)
        .bind(query)
        .bind(sub)
        .bind(10_i64)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The Python peer (`benches/peer/app.py`: FastAPI + asyncpg, 2 uvicorn
/// workers) on the same database, Redis and secret; its venv is kept in
/// `target/bench/peer-venv`. `None` when `BENCH_PEER=0` or Python is missing.
async fn start_peer(
    app_url: &str,
    redis_url: &str,
    jwt_secret: &str,
) -> anyhow::Result<Option<Server>> {
    if std::env::var("BENCH_PEER").as_deref() == Ok("0") {
        return Ok(None);
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = here.join("../target/bench/peer-venv");
    let uvicorn = venv.join("bin/uvicorn");
    if !uvicorn.exists() {
        eprintln!(
            "bench: installing the Python peer (FastAPI, uvicorn, asyncpg) into {}",
            venv.display()
        );
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("bench: no python3 venv: the Python peer is skipped");
            return Ok(None);
        }
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "-r"])
            .arg(here.join("benches/peer/requirements.txt"))
            .status()?;
        if !pip.success() {
            bail!("pip could not install benches/peer/requirements.txt");
        }
    }
    let port = free_port();
    let child = Command::new(uvicorn)
        .args([
            "app:app",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--no-access-log",
            "--port",
        ])
        .arg(port.to_string())
        .arg("--app-dir")
        .arg(here.join("benches/peer"))
        .env("DATABASE_URL", app_url)
        .env("REDIS_URL", redis_url)
        .env("JWT_SECRET", jwt_secret)
        .env(
            "FILE_COLUMNS",
            knowledge_server::routes::files::FILE_COLUMNS,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the Python peer")?;
    let peer = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        jwt_secret: jwt_secret.to_owned(),
    };
    peer.wait_for("/health", "the Python peer").await?;
    Ok(Some(peer))
}

/// `ANALYZE` after a bulk load, as autovacuum would before long: the planner
/// then sees a steady-state table, not one it has never measured.
async fn analyze(admin_url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query("ANALYZE knowledge_files")
        .execute(&mut conn)
        .await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    for tool in ["wrk", "pgbench"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is not installed: apt-get install wrk postgresql-client");
        }
    }
    let seconds = env_usize("BENCH_SECONDS", 15);
    let search_files = env_usize("BENCH_SEARCH_FILES", 10_000);
    let tenants = env_usize("BENCH_TENANTS", 20);
    let per_tenant = env_usize("BENCH_FILES_PER_TENANT", 5_000);

    eprintln!("bench: starting PostgreSQL and Redis");
    let (_stack, superuser_url, redis_url) = match (
        std::env::var("BENCH_DATABASE_URL"),
        std::env::var("BENCH_REDIS_URL"),
    ) {
        (Ok(db), Ok(redis)) => (None, db, redis),
        _ => {
            let stack = gonogo_containers::Stack::start()
                .await
                .context("starting the containers")?;
            let (db, redis) = (
                stack.postgres().url().to_owned(),
                stack.redis().url().to_owned(),
            );
            (Some(stack), db, redis)
        }
    };
    let urls = knowledge_server::provision_roles(&superuser_url).await?;
    let storage = tempfile::tempdir()?;
    let server = start_server(&urls.app_url, &urls.admin_url, &redis_url, storage.path()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(32)
        .build()?;
    let mut corpus = Corpus::new();

    // The list's tenant: 60 files, so every page is a full 50.
    let lister = Uuid::new_v4();
    let list_token = server.token(lister);
    upload(
        &client,
        &server.base,
        &list_token,
        (0..60).map(|_| corpus.document()).collect(),
    )
    .await?;

    eprintln!(
        "bench: list under wrk -t2 -c64 for {seconds} s, then the same transaction under pgbench"
    );
    let (rps, p50, p99) = wrk(&server.base, &list_token, seconds)?;
    let tps = pgbench(&urls.app_url, lister, seconds)?;
    let peer_rps = match start_peer(&urls.app_url, &redis_url, &server.jwt_secret).await? {
        Some(peer) => {
            eprintln!("bench: the same route on the Python peer under wrk -t2 -c64");
            Some(wrk(&peer.base, &list_token, seconds)?.0)
        }
        None => None,
    };

    eprintln!("bench: loading {search_files} files into one tenant");
    let searcher = Uuid::new_v4();
    let search_token = server.token(searcher);
    let (mut files, mut bytes, mut secs) = upload(
        &client,
        &server.base,
        &search_token,
        (0..search_files).map(|_| corpus.document()).collect(),
    )
    .await?;
    analyze(&urls.admin_url).await?;
    let plan_10k = explain(&urls.app_url, searcher, &corpus.query()).await?;
    let (s10_p50, s10_p95) =
        search_latency(&client, &server.base, &search_token, &mut corpus, 300).await?;

    eprintln!(
        "bench: loading {} files across {tenants} tenants",
        tenants * per_tenant
    );
    let mut last = String::new();
    let mut last_sub = Uuid::nil();
    for _ in 0..tenants {
        last_sub = Uuid::new_v4();
        last = server.token(last_sub);
        let (f, b, s) = upload(
            &client,
            &server.base,
            &last,
            (0..per_tenant).map(|_| corpus.document()).collect(),
        )
        .await?;
        (files, bytes, secs) = (files + f, bytes + b, secs + s);
    }
    let (s100_p50, s100_p95) =
        search_latency(&client, &server.base, &last, &mut corpus, 300).await?;
    let last_sub = last_sub;
    analyze(&urls.admin_url).await?;
    let plan_many = explain(&urls.app_url, last_sub, &corpus.query()).await?;
    let rss = server.peak_rss_mib();

    let figures = json!({
        "list": {"req_per_s": rps, "p50_ms": p50, "p99_ms": p99},
        "database": {"tps": tps, "server_share": rps / tps},
        "python_peer": peer_rps.map(|p| json!({"req_per_s": p, "server_over_peer": rps / p})),
        "search_10k_one_tenant": {"p50_ms": s10_p50, "p95_ms": s10_p95},
        "search_across_tenants": {"files": tenants * per_tenant, "tenants": tenants, "p50_ms": s100_p50, "p95_ms": s100_p95},
        "upload": {"files_per_s": files as f64 / secs, "mib_per_s": bytes as f64 / secs / 1048576.0, "files": files},
        "server_peak_rss_mib": rss,
        "seconds": seconds,
    });
    let profile = if cfg!(debug_assertions) {
        "debug build: figures not comparable"
    } else {
        "release build"
    };
    println!("knowledge-server bench ({seconds} s per load phase, {profile})");
    println!("  list (wrk -t2 -c64)          {rps:>9.0} req/s   p50 {p50:.2} ms   p99 {p99:.2} ms");
    println!(
        "  same transaction (pgbench)   {tps:>9.0} tps     server / database = {:.2}",
        rps / tps
    );
    if let Some(p) = peer_rps {
        println!(
            "  Python peer (FastAPI+asyncpg) {p:>9.0} req/s   server / peer = {:.1}",
            rps / p
        );
    }
    println!("  search, {search_files} files in 1 tenant        p50 {s10_p50:.2} ms   p95 {s10_p95:.2} ms");
    println!(
        "  search, {} files across {tenants} tenants p50 {s100_p50:.2} ms   p95 {s100_p95:.2} ms",
        tenants * per_tenant
    );
    println!(
        "  upload                       {:>9.0} files/s ({files} files)",
        files as f64 / secs
    );
    println!(
        "  server peak RSS              {:>9.1} MiB",
        rss.unwrap_or(f64::NAN)
    );
    let out: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "target", "bench"]
        .iter()
        .collect();
    std::fs::create_dir_all(&out)?;
    let path = out.join("knowledge.json");
    std::fs::write(&path, serde_json::to_string_pretty(&figures)?)?;
    std::fs::write(out.join("explain-search-one-tenant.txt"), &plan_10k)?;
    std::fs::write(out.join("explain-search-across-tenants.txt"), &plan_many)?;
    println!(
        "  figures: {} (and the search's EXPLAIN ANALYZE beside it)",
        path.display()
    );
    Ok(())
}
