//! The stack against the real Docker daemon: queries, fault controls, and
//! cleanup (on drop, and by the reaper after a process exits).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use gonogo_containers::Stack;
use sqlx::{Connection, PgConnection, Row};

async fn ping(url: &str) -> redis::RedisResult<String> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    redis::cmd("PING").query_async(&mut conn).await
}

/// Runs the scenario in a runtime that ends before the stack is dropped, as
/// a harness's fixtures can: removal on drop must work outside a runtime too.
#[test]
fn stack_answers_queries_survives_faults_and_is_removed_on_drop() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stack, ids) = runtime.block_on(exercise_stack());
    drop(runtime);
    let mine = common::containers_of_session(Stack::session_id());
    assert!(ids
        .iter()
        .all(|id| mine.iter().any(|m| id.starts_with(m.as_str()))));
    drop(stack);
    let left = common::wait_until_gone(Stack::session_id(), Duration::from_secs(10));
    assert!(left.is_empty(), "containers left after drop: {left:?}");
}

/// Starts a stack, checks queries and fault controls, returns the stack and
/// its container ids.
async fn exercise_stack() -> (Stack, [String; 2]) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("gonogo_containers=info")
        .with_test_writer()
        .try_init();
    let stack = Stack::start().await.expect("stack starts");
    eprintln!(
        "stack ready in {} ms ({} + {})",
        stack.startup_time().as_millis(),
        stack.postgres().image(),
        stack.redis().image()
    );
    let pg_url = stack.postgres().url().to_string();
    assert!(pg_url.starts_with("postgres://postgres:") && pg_url.ends_with("/postgres"));
    assert_eq!(
        stack.redis().url(),
        format!("redis://127.0.0.1:{}", stack.redis().host_port())
    );

    // PostgreSQL: SELECT 1 and a real write/read as the superuser.
    let mut pg = PgConnection::connect(&pg_url).await.expect("pg connects");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(one, 1);
    sqlx::query("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        .execute(&mut pg)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notes VALUES (1, 'kept')")
        .execute(&mut pg)
        .await
        .unwrap();
    let row = sqlx::query("SELECT body, current_user::text AS who FROM notes WHERE id = 1")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("body"), "kept");
    assert_eq!(row.get::<String, _>("who"), "postgres");

    // Redis: PING and a value.
    let redis_url = stack.redis().url().to_string();
    assert_eq!(ping(&redis_url).await.unwrap(), "PONG");

    // Redis stop/start: down while stopped, back on the same URL.
    stack.redis().stop().await.expect("redis stops");
    let down = tokio::time::timeout(Duration::from_secs(2), ping(&redis_url)).await;
    assert!(
        !matches!(down, Ok(Ok(_))),
        "PING must fail while Redis is stopped"
    );
    stack.redis().start().await.expect("redis restarts");
    assert_eq!(stack.redis().url(), redis_url);
    assert_eq!(
        ping(&redis_url).await.expect("reconnects on the same URL"),
        "PONG"
    );

    // The docker CLI in a subprocess inherits DOCKER_HOST (the shim, on an
    // old daemon); `docker exec` needs the shim's connection upgrades.
    let exec = Command::new("docker")
        .args(["exec", stack.redis().container_id(), "redis-cli", "ping"])
        .output()
        .expect("docker CLI runs");
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout).trim(),
        "PONG",
        "{exec:?}"
    );

    // PostgreSQL pause/unpause: a query times out while paused, works after.
    stack.postgres().pause().await.expect("pg pauses");
    let paused = tokio::time::timeout(
        Duration::from_millis(500),
        sqlx::query("SELECT 1").execute(&mut pg),
    )
    .await;
    assert!(
        paused.is_err(),
        "a query must hang while PostgreSQL is paused"
    );
    drop(pg); // its protocol state is undefined after the cancelled query
    stack.postgres().unpause().await.expect("pg unpauses");
    let mut pg = PgConnection::connect(&pg_url).await.expect("pg reconnects");
    let body: String = sqlx::query_scalar("SELECT body FROM notes WHERE id = 1")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(body, "kept");
    drop(pg);

    let ids = [
        stack.postgres().container_id().to_string(),
        stack.redis().container_id().to_string(),
    ];
    (stack, ids)
}

#[test]
fn a_stack_leaked_in_a_static_is_reaped_after_its_process_exits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gonogo-stack"))
        .arg("--leak")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gonogo-stack runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let session = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("session="))
        .unwrap_or_else(|| panic!("no session in {line:?}"))
        .to_string();
    // While the child lives its two containers exist...
    assert_eq!(common::containers_of_session(&session).len(), 2, "{line}");
    // ...and once it exits (stdin closed), the reaper removes them.
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let left = common::wait_until_gone(&session, Duration::from_secs(10));
    assert!(left.is_empty(), "containers left after exit: {left:?}");
    // The reaper also deletes the child's shim dir (when there was a shim).
    let shim_dir = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("shim_dir="))
        .unwrap_or_else(|| panic!("no shim_dir in {line:?}"));
    if shim_dir != "none" {
        let dir = std::path::Path::new(shim_dir);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while dir.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!dir.exists(), "{shim_dir} left");
    }
}
