//! `just bench`: the reference server's figures from one run, side by side
//! with what its database can do and with a Python peer.
//!
//! It starts PostgreSQL and Redis (the same containers as the tests, or the
//! services named by `BENCH_DATABASE_URL` — a superuser URL — and
//! `BENCH_REDIS_URL`), runs the release `knowledge-server` binary as a child
//! process against them, loads a dataset, and prints:
//!
//! - authenticated list, get and search under `wrk -t2 -c64`: req/s, p50, p99
//!   and the server's **CPU per request** (utime+stime of its process over the
//!   requests wrk made), and the same for the Python peer
//!   (`benches/peer/app.py`, FastAPI + asyncpg: list, get and search);
//! - the list's transaction (`BEGIN; set_config(claims); SELECT … LIMIT 51; COMMIT`)
//!   under `pgbench -M prepared -c 64 -j 2`, same duration, as the app role;
//! - upload throughput and CPU per upload while loading through the API;
//! - search p50/p95 over sequential 1–2 word queries as a tenant grows, with
//!   the plan of each case (`EXPLAIN ANALYZE`, planning and execution time):
//!   `BENCH_SEARCH_FILES` (10,000) files in one tenant, the same tenant at
//!   `BENCH_SEARCH_FILES_LARGE` (100,000), a 10-file tenant beside it, and one
//!   tenant among `BENCH_TENANTS` (100) × `BENCH_FILES_PER_TENANT` (10,000).
//!   The first 10,000 go through the API; the rest are the same kind of
//!   documents inserted in bulk (as the server's upload builds them), since
//!   1M uploads would take most of an hour;
//! - the server's peak RSS (VmHWM).
//!
//! Every process it starts runs in a process group of its own and is stopped
//! by group (uvicorn's workers included); the run fails if any survives.
//!
//! Load generators: `wrk` and `pgbench` (Debian's `wrk` and `postgresql-client`
//! packages). Both are C, so on a two-core machine the generator's own cost is
//! small and the same on both sides of the ratio. `BENCH_SECONDS` (default 10)
//! is the length of each load phase; `BENCH_PEER=0` skips the peer.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::json;
use sqlx::{Connection, Row};
use uuid::Uuid;

mod common;

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

/// Clock ticks per second of `/proc/<pid>/stat` times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// `(pid, process group, utime + stime in ticks)` of every process.
fn processes() -> Vec<(u32, u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12). A zombie has
        // exited and only waits for its parent to reap it.
        if f.first() == Some(&"Z") {
            return None;
        }
        let pgrp = f.get(2)?.parse().ok()?;
        let cpu = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        Some((pid, pgrp, cpu))
    })
    .collect()
}

/// A child process group: the server, or the peer with its uvicorn workers.
struct Server {
    child: Child,
    base: String,
    jwt_secret: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// Its process group (the child leads it).
    fn group(&self) -> u32 {
        self.child.id()
    }

    /// The group's live processes.
    fn members(&self) -> Vec<u32> {
        processes()
            .into_iter()
            .filter(|p| p.1 == self.group())
            .map(|p| p.0)
            .collect()
    }

    /// CPU seconds (user + system) of every live process of the group.
    fn cpu_seconds(&self) -> f64 {
        let ticks: u64 = processes()
            .into_iter()
            .filter(|p| p.1 == self.group())
            .map(|p| p.2)
            .sum();
        ticks as f64 / clock_ticks()
    }

    /// SIGTERM to the whole group, then SIGKILL after 10 s; reaps the leader.
    fn stop(&mut self) {
        let group = self.group();
        let signal = |sig: &str| {
            let _ = Command::new("kill")
                .args([sig, "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !self.members().is_empty() {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("-KILL");
        let _ = self.child.wait();
    }

    /// The peak resident set of the leader, in MiB.
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
        common::token(&self.jwt_secret, sub)
    }
}

/// Stops every group and fails if any of their processes survives.
fn stop_all(servers: Vec<Server>) -> anyhow::Result<()> {
    let groups: Vec<u32> = servers.iter().map(Server::group).collect();
    drop(servers);
    let left: Vec<u32> = processes()
        .into_iter()
        .filter(|p| groups.contains(&p.1))
        .map(|p| p.0)
        .collect();
    if !left.is_empty() {
        bail!("processes the bench started are still running: {left:?}");
    }
    Ok(())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_server(
    urls: &knowledge_server::DbUrls,
    redis_url: &str,
    storage: &Path,
) -> anyhow::Result<Server> {
    let port = free_port();
    let jwt_secret = format!("bench-{}", Uuid::new_v4().simple());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_knowledge-server"));
    common::server_env(&mut cmd, urls, redis_url, &jwt_secret, storage, port);
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
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

/// One route under load: what wrk asks and where.
struct Load<'a> {
    path: String,
    /// A JSON body to POST, or `None` for a GET.
    body: Option<String>,
    token: &'a str,
}

/// What wrk measured, and the CPU the serving process group spent meanwhile.
#[derive(Clone, Copy)]
struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_request: f64,
}

impl Measured {
    fn json(&self) -> serde_json::Value {
        json!({"req_per_s": self.rps, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "cpu_us_per_request": self.cpu_us_per_request})
    }
}

/// `wrk -t2 -c64` on one route of `server`, with the group's CPU per request.
fn wrk(server: &Server, load: &Load, seconds: usize) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", "-H"])
        .arg(format!("Authorization: Bearer {}", load.token));
    if let Some(body) = &load.body {
        let script = dir.path().join("post.lua");
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = {}\n",
                serde_json::to_string(body)?
            ),
        )?;
        cmd.arg("-s").arg(&script);
    }
    cmd.arg(format!("{}{}", server.base, load.path));
    let cpu_before = server.cpu_seconds();
    let out = cmd.output().context("running wrk (apt-get install wrk)")?;
    let cpu = server.cpu_seconds() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk saw non-2xx answers on {}:\n{text}", load.path);
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
    let requests: f64 = text
        .lines()
        .map(str::trim)
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context(format!("no request count in wrk's output:\n{text}"))?;
    Ok(Measured {
        rps,
        p50_ms: field("50%").map(ms).unwrap_or(f64::NAN),
        p99_ms: field("99%").map(ms).unwrap_or(f64::NAN),
        cpu_us_per_request: cpu * 1e6 / requests,
    })
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

/// The plan of the server's search for one case: the full text, the scan that reads the
/// table, and the median planning and execution times of five runs.
struct Plan {
    text: String,
    scan: String,
    planning_ms: f64,
    execution_ms: f64,
}

impl Plan {
    fn json(&self) -> serde_json::Value {
        json!({"scan": self.scan, "planning_ms": self.planning_ms, "execution_ms": self.execution_ms})
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the server's search as `sub` (claims set, as the app
/// role), five times with different queries.
async fn explain(app_url: &str, sub: Uuid, corpus: &mut Corpus) -> anyhow::Result<Plan> {
    let mut conn = sqlx::PgConnection::connect(app_url).await?;
    let (mut planning, mut execution, mut text) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..5 {
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
            .bind(corpus.query())
            .bind(sub)
            .bind(10_i64)
            .fetch_all(&mut *tx)
            .await?;
        text = rows
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect::<Vec<_>>()
            .join("\n");
        let time = |label: &str| -> f64 {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .and_then(|v| v.trim().trim_end_matches(" ms").parse().ok())
                .unwrap_or(f64::NAN)
        };
        planning.push(time("Planning Time:"));
        execution.push(time("Execution Time:"));
    }
    planning.sort_by(f64::total_cmp);
    execution.sort_by(f64::total_cmp);
    let scan = text
        .lines()
        .map(|l| l.trim().trim_start_matches("->").trim())
        .rfind(|l| l.contains(" on knowledge_files"))
        .map(|l| l.split("  (").next().unwrap_or(l).to_owned())
        .unwrap_or_else(|| "?".into());
    Ok(Plan {
        text,
        scan,
        planning_ms: planning[2],
        execution_ms: execution[2],
    })
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
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
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
    // Its own process group: uvicorn's workers are its children, and stopping the group
    // stops them too (killing the parent alone leaves them serving, reparented to init).
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
        .env("SEARCH_SQL", knowledge_server::routes::search::SEARCH_SQL)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
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
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query("ANALYZE knowledge_files")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The superuser URL pointed at the knowledge database.
fn knowledge_db(superuser_url: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(superuser_url)?;
    u.set_path(&format!("/{}", knowledge_server::db::DATABASE));
    Ok(u.to_string())
}

/// Inserts `n` documents for `owner` as the superuser, 2,000 a statement, the way the
/// server's upload stores a text file (filename weight A, body weight C); returns seconds.
async fn bulk_insert(
    superuser_url: &str,
    owner: Uuid,
    n: usize,
    corpus: &mut Corpus,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut conn = sqlx::PgConnection::connect(&knowledge_db(superuser_url)?).await?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(2000);
        let ids: Vec<Uuid> = (0..batch).map(|_| Uuid::new_v4()).collect();
        let names: Vec<String> = (done..done + batch)
            .map(|i| format!("doc-{i}.txt"))
            .collect();
        let texts: Vec<String> = (0..batch).map(|_| corpus.document()).collect();
        sqlx::query(
            "INSERT INTO knowledge_files (id, owner_id, filename, mime_type, size_bytes, sha256, search_text, search_vector)
             SELECT id, $2, name, 'text/plain', octet_length(body), encode(sha256(convert_to(body, 'UTF8')), 'hex'),
                    name || E'\\n' || body,
                    setweight(to_tsvector('english', name || ' ' || translate(name, '.-_', '   ')), 'A')
                    || setweight(to_tsvector('english', body), 'C')
             FROM unnest($1::uuid[], $3::text[], $4::text[]) AS d(id, name, body)",
        )
        .bind(&ids)
        .bind(owner)
        .bind(&names)
        .bind(&texts)
        .execute(&mut conn)
        .await?;
        done += batch;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run())
}

/// A search case: its figures and its plan.
struct SearchCase {
    name: &'static str,
    label: String,
    p50: f64,
    p95: f64,
    plan: Plan,
}

/// What every search case needs: the server, a client and the app role's URL.
struct Searches<'a> {
    server: &'a Server,
    client: &'a reqwest::Client,
    app_url: &'a str,
}

impl Searches<'_> {
    /// Latency of 300 sequential searches as `sub` (after 20 to warm up), and the plan.
    async fn case(
        &self,
        name: &'static str,
        label: String,
        sub: Uuid,
        corpus: &mut Corpus,
    ) -> anyhow::Result<SearchCase> {
        let token = self.server.token(sub);
        let base = &self.server.base;
        search_latency(self.client, base, &token, corpus, 20).await?;
        let (p50, p95) = search_latency(self.client, base, &token, corpus, 300).await?;
        let plan = explain(self.app_url, sub, corpus).await?;
        Ok(SearchCase {
            name,
            label,
            p50,
            p95,
            plan,
        })
    }
}

async fn run() -> anyhow::Result<()> {
    for tool in ["wrk", "pgbench"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is not installed: apt-get install wrk postgresql-client");
        }
    }
    let seconds = env_usize("BENCH_SECONDS", 10);
    let search_files = env_usize("BENCH_SEARCH_FILES", 10_000);
    let search_large = env_usize("BENCH_SEARCH_FILES_LARGE", 100_000).max(search_files);
    let tenants = env_usize("BENCH_TENANTS", 100);
    let per_tenant = env_usize("BENCH_FILES_PER_TENANT", 2_000);

    eprintln!("bench: starting PostgreSQL and Redis");
    let (_stack, superuser_url, redis_url) = common::services().await?;
    let urls = knowledge_server::provision_roles(&superuser_url).await?;
    let storage = tempfile::tempdir()?;
    let server = start_server(&urls, &redis_url, storage.path()).await?;
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
    let first_id = reqwest::Client::new()
        .get(format!("{}/api/v1/knowledge/files?limit=1", server.base))
        .bearer_auth(&list_token)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["items"][0]["id"]
        .as_str()
        .context("the list tenant's first file")?
        .to_owned();
    let search_word = corpus
        .query()
        .split(' ')
        .next()
        .unwrap_or("kaka")
        .to_owned();
    let routes = [
        ("list", "/api/v1/knowledge/files".to_owned(), None),
        ("get", format!("/api/v1/knowledge/files/{first_id}"), None),
        (
            "search",
            "/api/v1/knowledge/search".to_owned(),
            Some(json!({"query": search_word, "limit": 10}).to_string()),
        ),
    ];

    let mut ours = Vec::new();
    for (name, path, body) in &routes {
        eprintln!("bench: {name} under wrk -t2 -c64 for {seconds} s");
        let load = Load {
            path: path.clone(),
            body: body.clone(),
            token: &list_token,
        };
        ours.push((*name, wrk(&server, &load, seconds)?));
    }
    eprintln!("bench: the list's transaction under pgbench for {seconds} s");
    let tps = pgbench(&urls.app_url, lister, seconds)?;
    let mut theirs = Vec::new();
    let peer = start_peer(&urls.app_url, &redis_url, &server.jwt_secret).await?;
    if let Some(peer) = &peer {
        for (name, path, body) in &routes {
            eprintln!("bench: {name} on the Python peer under wrk -t2 -c64");
            let load = Load {
                path: path.clone(),
                body: body.clone(),
                token: &list_token,
            };
            theirs.push((*name, wrk(peer, &load, seconds)?));
        }
    }

    eprintln!("bench: uploading {search_files} files into one tenant through the API");
    let searcher = Uuid::new_v4();
    let search_token = server.token(searcher);
    let cpu_before = server.cpu_seconds();
    let (files, bytes, secs) = upload(
        &client,
        &server.base,
        &search_token,
        (0..search_files).map(|_| corpus.document()).collect(),
    )
    .await?;
    let upload_cpu_us = (server.cpu_seconds() - cpu_before) * 1e6 / files as f64;
    analyze(&urls.admin_url).await?;
    let searches = Searches {
        server: &server,
        client: &client,
        app_url: &urls.app_url,
    };
    let mut cases = vec![
        searches
            .case(
                "one_tenant_small",
                format!("{search_files} files in 1 tenant"),
                searcher,
                &mut corpus,
            )
            .await?,
    ];

    eprintln!("bench: growing that tenant to {search_large} files (bulk insert)");
    bulk_insert(
        &superuser_url,
        searcher,
        search_large - search_files,
        &mut corpus,
    )
    .await?;
    analyze(&urls.admin_url).await?;
    cases.push(
        searches
            .case(
                "one_tenant_large",
                format!("{search_large} files in 1 tenant"),
                searcher,
                &mut corpus,
            )
            .await?,
    );
    let small = Uuid::new_v4();
    upload(
        &client,
        &server.base,
        &server.token(small),
        (0..10).map(|_| corpus.document()).collect(),
    )
    .await?;
    cases.push(
        searches
            .case(
                "small_tenant_beside_large",
                format!("10 files beside {search_large}"),
                small,
                &mut corpus,
            )
            .await?,
    );

    eprintln!(
        "bench: {} files across {tenants} tenants (bulk insert)",
        tenants * per_tenant
    );
    let load_started = Instant::now();
    let mut last = Uuid::nil();
    for _ in 0..tenants {
        last = Uuid::new_v4();
        bulk_insert(&superuser_url, last, per_tenant, &mut corpus).await?;
    }
    let bulk_secs = load_started.elapsed().as_secs_f64();
    analyze(&urls.admin_url).await?;
    cases.push(
        searches
            .case(
                "one_of_many_tenants",
                format!(
                    "{per_tenant} of {} in {tenants} tenants",
                    tenants * per_tenant
                ),
                last,
                &mut corpus,
            )
            .await?,
    );
    let rss = server.peak_rss_mib();
    let mut started = vec![server];
    started.extend(peer);
    stop_all(started)?;

    let list = ours[0].1;
    let growth = cases[1].p95 / cases[0].p95;
    let figures = json!({
        "routes": ours.iter().map(|(n, m)| (n.to_string(), m.json())).collect::<serde_json::Map<_, _>>(),
        "database": {"list_tps": tps, "server_share": list.rps / tps},
        "python_peer": theirs.iter().map(|(n, m)| (n.to_string(), m.json())).collect::<serde_json::Map<_, _>>(),
        "upload": {"files_per_s": files as f64 / secs, "mib_per_s": bytes as f64 / secs / 1048576.0, "files": files, "cpu_us_per_request": upload_cpu_us},
        "search": cases.iter().map(|c| (c.name.to_string(), json!({"case": c.label, "p50_ms": c.p50, "p95_ms": c.p95, "plan": c.plan.json()}))).collect::<serde_json::Map<_, _>>(),
        "search_growth_p95": growth,
        "bulk_insert_s": bulk_secs,
        "server_peak_rss_mib": rss,
        "seconds": seconds,
    });
    let profile = if cfg!(debug_assertions) {
        "debug build: figures not comparable"
    } else {
        "release build"
    };
    println!("knowledge-server bench ({seconds} s per load phase, {profile})");
    println!("  route (wrk -t2 -c64)         req/s      p50 ms   p99 ms   server CPU/request");
    for (name, m) in &ours {
        println!(
            "  {name:<8} server          {:>9.0}  {:>8.2} {:>8.2}   {:>7.1} µs",
            m.rps, m.p50_ms, m.p99_ms, m.cpu_us_per_request
        );
        if let Some((_, p)) = theirs.iter().find(|(n, _)| n == name) {
            println!(
                "  {name:<8} Python peer     {:>9.0}  {:>8.2} {:>8.2}   {:>7.1} µs   server/peer: {:.1}× req/s, {:.1}× less CPU",
                p.rps, p.p50_ms, p.p99_ms, p.cpu_us_per_request,
                m.rps / p.rps, p.cpu_us_per_request / m.cpu_us_per_request
            );
        }
    }
    println!(
        "  list's transaction (pgbench) {tps:>9.0} tps   server / database = {:.2}",
        list.rps / tps
    );
    println!(
        "  upload (API, 16 at a time)   {:>9.0} files/s ({files} files)   {upload_cpu_us:.1} µs server CPU/upload",
        files as f64 / secs
    );
    println!("  search (sequential, 300)     p50 ms   p95 ms   plan: the scan, planning / execution (median of 5)");
    for c in &cases {
        println!(
            "  {:<30} {:>6.2}   {:>6.2}   {}; {:.2} / {:.2} ms",
            c.label, c.p50, c.p95, c.plan.scan, c.plan.planning_ms, c.plan.execution_ms
        );
    }
    println!(
        "  search p95 growth, {search_files} → {search_large} files in 1 tenant: {growth:.2}×"
    );
    println!(
        "  server peak RSS              {:>9.1} MiB",
        rss.unwrap_or(f64::NAN)
    );
    println!("  processes left behind: none (server and peer stopped by process group)");
    let out: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "target", "bench"]
        .iter()
        .collect();
    std::fs::create_dir_all(&out)?;
    let path = out.join("knowledge.json");
    std::fs::write(&path, serde_json::to_string_pretty(&figures)?)?;
    for c in &cases {
        std::fs::write(
            out.join(format!("explain-search-{}.txt", c.name)),
            &c.plan.text,
        )?;
    }
    println!(
        "  figures: {} (and each search case's EXPLAIN ANALYZE beside it)",
        path.display()
    );
    Ok(())
}
