//! The `knowledge-server` binary itself: configured from the environment, it serves, finishes an
//! in-flight request on SIGTERM and exits 0; given an unsafe setting it refuses to start with one
//! sentence on stderr and no secret.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{spawn_slow_upload, TestApp};

/// The binary configured over the shared stack (same secret and key), on a free port.
fn command(app: &TestApp, storage: &std::path::Path) -> (Command, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_knowledge-server"));
    command
        .env_clear()
        .env("DATABASE_URL", app.app_database_url())
        .env("DATABASE_ADMIN_URL", app.admin_database_url())
        .env("REDIS_URL", &app.config.redis_url)
        .env("JWT_SECRET", app.secret())
        .env("METADATA_KEY", &app.config.metadata_key)
        .env("STORAGE_DIR", storage)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    (command, format!("http://127.0.0.1:{port}"))
}

/// Kills the child if the test ends early, so no server outlives the test binary.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Polls `/health` until the process answers.
async fn wait_healthy(child: &mut Child, base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(format!("{base_url}/health")).await {
            if response.status() == StatusCode::OK {
                return;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited during start-up"
        );
        assert!(
            Instant::now() < deadline,
            "the server did not become healthy within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_the_binary_finishes_the_in_flight_upload_and_exits_0() {
    let app = TestApp::shared();
    let user = app.new_user();
    let storage = tempfile::tempdir().unwrap();
    let (mut command, base_url) = command(&app, storage.path());
    command.stderr(Stdio::null()); // nobody reads it while the server runs
    let mut guard = KillOnDrop(command.spawn().expect("the binary starts"));
    let child = &mut guard.0;
    wait_healthy(child, &base_url).await;
    let client = reqwest::Client::new();
    let upload = spawn_slow_upload(&client, &base_url, &user, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let response = upload
        .await
        .unwrap()
        .expect("the in-flight upload completes");
    assert_eq!(response.status(), StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn the_binary_refuses_a_short_jwt_secret_in_one_sentence_without_the_secret() {
    let app = TestApp::shared();
    let storage = tempfile::tempdir().unwrap();
    let (mut command, _) = command(&app, storage.path());
    let short = "short-secret-of-31-bytes-xxxxxx";
    command.env("JWT_SECRET", short);

    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains("JWT_SECRET") && line.ends_with('.'),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains(short), "the secret reached stderr");
    assert!(
        !stderr.contains(app.app_database_url().rsplit_once('@').unwrap().0),
        "a database password reached stderr"
    );
}
