//! `gonogo serve` against the reference server on one container stack, called
//! the way Flagger and Argo Rollouts call it (payloads from their docs):
//! the three Flagger hooks and the Argo web query answer with the right codes
//! and JSON; a missing or wrong token, a target off the allowlist (also by a
//! DNS name for a listed address, and by a redirect), two calls at once for one
//! target and a target that hangs are all refused or bounded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use gonogo_harness::config::{Config, Surroundings};
use gonogo_harness::serve::{router, ServeSettings, State};
use knowledge_server::embedded::EmbeddedServer;
use serde_json::{json, Value};

const TOKEN: &str = "serve-test-token-0123456789abcdef";

/// A `gonogo serve` on 127.0.0.1:0 configured by `toml`.
async fn start_serve(toml: &str, dir: &Path) -> String {
    std::fs::write(dir.join("gonogo.toml"), toml).unwrap();
    let env = |_: &str| None;
    let config = Config::load_with(
        None,
        None,
        &vec![],
        &Surroundings {
            env: &env,
            cwd: dir,
        },
    )
    .expect("the test configuration loads");
    let settings = ServeSettings::from_config(&config).expect("serve settings");
    let app = router(State::new(settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gonogo_harness::serve::listen(
        listener,
        app,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

/// Serves `router` on a fresh port.
async fn spawn(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// Counts every request it gets: the off-list host nothing may reach.
async fn counter() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move || {
        h.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    });
    (spawn(app).await, hits)
}

/// Accepts connections and never answers.
async fn hanging() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

async fn drop_nosniff(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut().remove("x-content-type-options");
    r
}

async fn failing_search(req: Request, next: Next) -> Response {
    if req.uri().path().ends_with("/search") {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    next.run(req).await
}

struct Call {
    status: u16,
    body: Value,
    retry_after: Option<String>,
    content_type: String,
}

async fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Call {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let mut req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("gonogo serve answers");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let content_type = header("content-type").unwrap_or_default();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Call {
        status,
        body,
        retry_after,
        content_type,
    }
}

/// Flagger's webhook payload, as its docs show it, for `target`.
fn flagger(target: &str, checksum: &str, extra: &[(&str, &str)]) -> Value {
    let mut metadata = json!({"target": target});
    for (k, v) in extra {
        metadata[*k] = json!(v);
    }
    json!({
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": checksum,
        "metadata": metadata,
    })
}

fn gonogo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(args)
        .output()
        .expect("gonogo runs")
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let out = gonogo(&["keygen", "--out", dir.to_str().unwrap(), "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(format!("{name}.key.pem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gonogo_serve_answers_flagger_and_argo_and_refuses_what_it_must() {
    let server = EmbeddedServer::start()
        .await
        .expect("the reference server starts");
    let good = server.base_url();
    let bad = format!(
        "http://{}",
        spawn(server.app_router().layer(from_fn(drop_nosniff))).await
    );
    let flaky = format!(
        "http://{}",
        spawn(server.app_router().layer(from_fn(failing_search))).await
    );
    let (off_list, off_list_hits) = counter().await;
    let redirect_to = format!("http://{off_list}");
    let redirecting = format!(
        "http://{}",
        spawn(axum::Router::new().fallback(move || {
            let to = redirect_to.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }))
        .await
    );
    let hang = format!("http://{}", hanging().await);

    let work = tempfile::tempdir().unwrap();
    let trust = work.path().join("trust");
    let keys = work.path().join("keys");
    std::fs::create_dir_all(&trust).unwrap();
    let alice = keygen(&keys, "alice");
    let mallory = keygen(&keys, "mallory");
    std::fs::copy(keys.join("alice.pub.pem"), trust.join("alice.pub.pem")).unwrap();
    std::fs::write(
        trust.join("trust.toml"),
        "[[person]]\nname = \"Alice\"\nkeys = [\"alice.pub.pem\"]\nroles = [\"Security\"]\n",
    )
    .unwrap();

    let listed = |urls: &[&str]| {
        urls.iter()
            .map(|u| format!("{u:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let toml = |timeout: &str| {
        format!(
            r#"
[run]
jwt_secret = {secret:?}
database_url = {db:?}

[report]
dir = {reports:?}

[signoff]
required_roles = ["Security"]

[serve]
token = {TOKEN:?}
allowed_targets = [{allowed}]
trust_dir = {trust:?}
run_timeout = "{timeout}"
rollout_step = "6s"

[canary]
name = "serve-test"

[[canary.phase]]
traffic_percent = 10
duration = "1m"
error_budget = 2
min_samples = 10
"#,
            secret = server.config().jwt_secret,
            db = server.app_database_url(),
            reports = work.path().join("reports").display().to_string(),
            allowed = listed(&[&good, &bad, &flaky, &redirecting, &hang]),
            trust = trust.display().to_string(),
        )
    };
    let serve_dir = tempfile::tempdir().unwrap();
    let serve = start_serve(&toml("5m"), serve_dir.path()).await;
    let short_dir = tempfile::tempdir().unwrap();
    let short = start_serve(&toml("3s"), short_dir.path()).await;

    // /health needs no token; everything else does.
    assert_eq!(
        call("GET", &format!("{serve}/health"), None, None)
            .await
            .status,
        200
    );
    let pre = format!("{serve}/flagger/pre-rollout");
    let payload = flagger(&good, "7d4b9c", &[]);
    let missing = call("POST", &pre, None, Some(payload.clone())).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.content_type, "application/problem+json");
    assert_eq!(missing.body["title"], "missing token");
    let wrong = call(
        "POST",
        &pre,
        Some("not-the-token-0123456789"),
        Some(payload.clone()),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.body["title"].as_str()),
        (401, Some("wrong token"))
    );
    let argo_no_token = call(
        "GET",
        &format!("{serve}/argo/verdict?target={good}"),
        None,
        None,
    )
    .await;
    assert_eq!(argo_no_token.status, 401);

    // Flagger's documented payload, verbatim: its metadata.token is not ours.
    let documented = json!({
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "metadata": {"test": "all", "token": "16688eb5e9f289f1991c"}
    });
    let r = call("POST", &pre, None, Some(documented.clone())).await;
    assert_eq!(
        (r.status, r.body["title"].as_str()),
        (401, Some("wrong token"))
    );
    let mut ours = documented;
    ours["metadata"]["token"] = json!(TOKEN);
    let r = call(
        "POST",
        &format!("{serve}/flagger/confirm-promotion"),
        None,
        Some(ours),
    )
    .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("no report for flagger/test/podinfo yet"));

    // Off the allowlist: another port, a DNS name for a listed address, link-local metadata.
    let (_, hits_before) = (0, off_list_hits.load(Ordering::SeqCst));
    let port = off_list.port();
    for target in [
        format!("http://{off_list}"),
        format!("http://localhost:{}", good.rsplit(':').next().unwrap()),
        format!("http://localhost:{port}"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let r = call("POST", &pre, Some(TOKEN), Some(flagger(&target, "x", &[]))).await;
        assert_eq!(r.status, 403, "{target}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("is not on this server's allowlist"),
            "{detail}"
        );
        let argo = call(
            "GET",
            &format!("{serve}/argo/verdict?target={target}"),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(argo.status, 403, "{target}");
    }
    // A token in Flagger's metadata (Flagger cannot send headers) is accepted there.
    let meta_token = call(
        "POST",
        &pre,
        None,
        Some(flagger(
            &format!("http://{off_list}"),
            "x",
            &[("token", TOKEN)],
        )),
    )
    .await;
    assert_eq!(
        meta_token.status, 403,
        "authenticated by metadata.token, then refused by the allowlist"
    );

    // Flagger pre-rollout against the reference server: GO, 200, report kept.
    let t0 = Instant::now();
    let go = call("POST", &pre, Some(TOKEN), Some(payload.clone())).await;
    assert_eq!(go.status, 200, "{}", go.body);
    assert_eq!(go.body["verdict"], "GO");
    assert_eq!(go.body["release"], "flagger/test/podinfo/7d4b9c");
    let report_url = format!("{serve}{}", go.body["report"].as_str().unwrap());
    let kept = call("GET", &report_url, Some(TOKEN), None).await;
    assert_eq!(
        (kept.status, &kept.body["decision"]["verdict"]),
        (200, &json!("GO"))
    );
    assert_eq!(call("GET", &report_url, None, None).await.status, 401);
    let html = call(
        "GET",
        &report_url.replace(".json", ".html"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(
        (html.status, html.content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    for escape in [
        "/reports/../gonogo.toml",
        "/reports/test/podinfo/7d4b9c/../../../../etc/passwd",
        "/reports/test/podinfo/7d4b9c/other.txt",
    ] {
        assert_eq!(
            call("GET", &format!("{serve}{escape}"), Some(TOKEN), None)
                .await
                .status,
            404,
            "{escape}"
        );
    }
    eprintln!("pre-rollout GO in {:.1} s", t0.elapsed().as_secs_f64());

    // confirm-promotion waits for the sign-offs: PENDING, then an untrusted key, then APPROVED.
    let confirm = format!("{serve}/flagger/confirm-promotion");
    let pending = call("POST", &confirm, Some(TOKEN), Some(payload.clone())).await;
    assert_eq!(
        (pending.status, pending.body["title"].as_str()),
        (412, Some("PENDING"))
    );
    let kept_path = work
        .path()
        .join("reports/flagger/test/podinfo/7d4b9c/go-no-go.json");
    let sign = |key: &Path, who: &str| {
        let out = gonogo(&[
            "signoff",
            kept_path.to_str().unwrap(),
            "--role",
            "security",
            "--approver",
            who,
            "--key",
            key.to_str().unwrap(),
            "--required-roles",
            "Security",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sign(&mallory, "mallory");
    let untrusted = call("POST", &confirm, Some(TOKEN), Some(payload.clone())).await;
    assert_eq!(untrusted.status, 412, "{}", untrusted.body);
    sign(&alice, "alice");
    let approved = call("POST", &confirm, Some(TOKEN), Some(payload.clone())).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["approval"], "APPROVED");
    // The ledger beside the kept reports holds the run, both sign-offs (found
    // above the report; mallory's signature is refused by confirm-promotion,
    // not by signoff) and the promotion.
    let ledger = gonogo_ledger::Ledger::open_file(&work.path().join("reports/ledger.sqlite"))
        .await
        .unwrap();
    let recorded: Vec<(String, Option<String>)> = ledger
        .entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.fields.kind.to_string(), e.fields.outcome))
        .collect();
    ledger.close().await;
    assert!(
        recorded.ends_with(&[
            ("run".into(), Some("GO".into())),
            ("signoff".into(), None),
            ("signoff".into(), None),
            ("deployment".into(), Some("deployed".into())),
        ]),
        "{recorded:?}"
    );
    // The approved report copied into another release's folder approves nothing there.
    let other = work.path().join("reports/flagger/test/podinfo/c0ffee");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&kept_path, other.join("go-no-go.json")).unwrap();
    let copied = call(
        "POST",
        &confirm,
        Some(TOKEN),
        Some(flagger(&good, "c0ffee", &[])),
    )
    .await;
    assert_eq!(
        (copied.status, copied.body["title"].as_str()),
        (412, Some("not this release's report"))
    );
    let unknown = call(
        "POST",
        &confirm,
        Some(TOKEN),
        Some(flagger(&good, "never-ran", &[])),
    )
    .await;
    assert_eq!(unknown.status, 412);
    assert!(unknown.body["detail"]
        .as_str()
        .unwrap()
        .contains("no report for flagger/test/podinfo/never-ran"));

    // Argo's web provider on a broken server: 200 with verdict NO-GO (what
    // `failureCondition: result == "NO-GO"` reads); a second call for the same
    // target meanwhile is 409 with Retry-After, not a second run.
    let argo_url = format!("{serve}/argo/verdict?target={bad}&release=rollouts-demo-6f7d");
    let argo_body = json!({"target": bad, "release": "rollouts-demo-6f7d"});
    let argo_post = format!("{serve}/argo/verdict");
    let (a, b) = tokio::join!(
        call("GET", &argo_url, Some(TOKEN), None),
        call("POST", &argo_post, Some(TOKEN), Some(argo_body)),
    );
    let (first, second) = if a.status == 200 { (a, b) } else { (b, a) };
    assert_eq!(second.status, 409, "{}", second.body);
    assert_eq!(second.retry_after.as_deref(), Some("30"));
    assert!(second.body["detail"]
        .as_str()
        .unwrap()
        .contains("already in progress"));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["verdict"], "NO-GO");
    assert!(
        first.body["reasons"].to_string().contains("nosniff"),
        "{}",
        first.body
    );
    // Flagger's pre-rollout on the same broken server: 412 with one sentence.
    let refused = call("POST", &pre, Some(TOKEN), Some(flagger(&bad, "b4d", &[]))).await;
    assert_eq!(
        (refused.status, refused.body["title"].as_str()),
        (412, Some("NO-GO"))
    );
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("NO-GO for flagger/test/podinfo/b4d: "),
        "{detail}"
    );
    assert_eq!(detail.lines().count(), 1);

    // Flagger rollout: one canary step over probe traffic.
    let roll = format!("{serve}/flagger/rollout");
    let holds = call(
        "POST",
        &roll,
        Some(TOKEN),
        Some(flagger(&good, "7d4b9c", &[])),
    )
    .await;
    assert_eq!(holds.status, 200, "{}", holds.body);
    assert_eq!(holds.body["outcome"], "PROMOTE");
    assert!(
        holds.body["samples"].as_u64().unwrap() >= 10,
        "{}",
        holds.body
    );
    // The step is in the release's kept report, and its sign-offs still verify.
    let kept = call("GET", &report_url, Some(TOKEN), None).await;
    let canary = &kept.body["canary"];
    assert_eq!(canary["outcome"], "PROMOTE", "{}", kept.body);
    assert_eq!(
        canary["phases"].as_array().map(Vec::len),
        Some(1),
        "{canary}"
    );
    let still = call("POST", &confirm, Some(TOKEN), Some(payload.clone())).await;
    assert_eq!(still.status, 200, "{}", still.body);
    let breach = call(
        "POST",
        &roll,
        Some(TOKEN),
        Some(flagger(&flaky, "f1a", &[])),
    )
    .await;
    assert_eq!(
        (breach.status, breach.body["title"].as_str()),
        (412, Some("ROLLBACK")),
        "{}",
        breach.body
    );
    let no_phase = call(
        "POST",
        &roll,
        Some(TOKEN),
        Some(flagger(&good, "x", &[("phase", "99%")])),
    )
    .await;
    assert_eq!(no_phase.status, 400);

    // A listed target that redirects elsewhere: the run follows no redirect.
    let r = call(
        "GET",
        &format!("{serve}/argo/verdict?target={redirecting}"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(r.body["verdict"], "GO");
    assert_eq!(
        off_list_hits.load(Ordering::SeqCst),
        hits_before,
        "traffic reached the off-list host"
    );

    // A target that hangs: 504 after serve.run_timeout, and the target is free again.
    for _ in 0..2 {
        let t0 = Instant::now();
        let r = call(
            "GET",
            &format!("{short}/argo/verdict?target={hang}"),
            Some(TOKEN),
            None,
        )
        .await;
        assert_eq!(r.status, 504, "{}", r.body);
        assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
        assert!(r.body["detail"]
            .as_str()
            .unwrap()
            .contains("did not finish within 3 s"));
    }

    // What axum refuses by itself is a problem body too.
    let wrong_method = call("GET", &pre, Some(TOKEN), None).await;
    assert_eq!(
        (wrong_method.status, wrong_method.content_type.as_str()),
        (405, "application/problem+json")
    );
    let huge = reqwest::Client::new()
        .post(&pre)
        .bearer_auth(TOKEN)
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    assert_eq!(huge.headers()["content-type"], "application/problem+json");
    // A target with a query or fragment is not a base URL.
    let q = call(
        "POST",
        &pre,
        Some(TOKEN),
        Some(flagger(&format!("{good}?@evil.example"), "q", &[])),
    )
    .await;
    assert_eq!(q.status, 403, "{}", q.body);

    // Malformed input after a valid token: 400, never 5xx.
    let client = reqwest::Client::new();
    let junk = client
        .post(&pre)
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status().as_u16(), 400);
    let traversal = call(
        "POST",
        &pre,
        Some(TOKEN),
        Some(json!({"name": "..", "namespace": "test", "metadata": {"target": good}})),
    )
    .await;
    assert_eq!(traversal.status, 400);
    assert_eq!(off_list_hits.load(Ordering::SeqCst), hits_before);
    server.shutdown().await;
}

/// Connections that never finish their headers are closed after the header
/// timeout, and the server keeps answering meanwhile: no token needed to try,
/// so none may be needed to survive it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_without_a_token_cannot_hold_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let serve = start_serve(
        &format!("[serve]\ntoken = {TOKEN:?}\nallowed_targets = [\"http://127.0.0.1:9\"]\n"),
        dir.path(),
    )
    .await;
    let addr = serve.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..(gonogo_harness::serve::MAX_CONNECTIONS + 44) {
        if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
            let _ = s
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-a: ")
                .await;
            slow.push(s);
        }
    }
    let t0 = Instant::now();
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .get(format!("{serve}/health"))
        .send()
        .await
        .expect("/health answers while slow clients wait");
    assert_eq!(health.status().as_u16(), 200);
    let waited = t0.elapsed();
    assert!(
        waited <= gonogo_harness::serve::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        "{waited:?}"
    );
    // The first slow connection was closed by the server (EOF or a 408), not left open.
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(
        gonogo_harness::serve::HEADER_READ_TIMEOUT + Duration::from_secs(5),
        slow[0].read(&mut buf),
    )
    .await
    .expect("the server closed the slow connection");
    let n = read.unwrap_or(0);
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
}
