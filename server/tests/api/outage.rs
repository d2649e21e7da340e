//! Fault tests on a server with its own containers: Redis stopped means fail closed (503
//! `rate_limiter_unavailable`, `/ready` false), and service resumes by itself once Redis is back.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{Multipart, Reply, TestApp};

/// Retries `probe` every 250 ms until it answers 200 and returns that reply; fails after 30 s.
async fn resumed<F, Fut>(mut probe: F) -> Reply
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Reply>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = probe().await;
        if reply.status == StatusCode::OK {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume within 30 s: {}",
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_requests_fail_closed_and_service_resumes_after_it_restarts() {
    let app = TestApp::isolated(|config| config.rate_limit_per_hour = 50).await;
    // A replica on the same Redis that chose the documented fail-open setting.
    let open = app
        .replica(|config| config.rate_limit_fail_open = true)
        .await;
    let user = app.new_user();
    assert_eq!(app.list_files(&user, "").await.status, StatusCode::OK);
    assert_eq!(app.ready().await.status, StatusCode::OK);

    app.stack().redis().stop().await.expect("redis stops");
    let started = Instant::now();
    let refused = app.list_files(&user, "").await;
    let took = started.elapsed();

    refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "rate_limiter_unavailable");
    // The per-IP limit of the anonymous-token endpoint fails closed too: no unlimited minting.
    app.anon_token()
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "rate_limiter_unavailable");
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let retry_after = refused.retry_after();
    assert!(retry_after >= 1);
    assert!(
        took < Duration::from_secs(3),
        "fails fast, not after a long hang: {took:?}"
    );
    let ready = app.ready().await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    ready.assert_conventions();
    let checks = &ready.json()["checks"];
    assert_eq!(
        (&checks["redis"], &checks["database"], &checks["storage"]),
        (&false.into(), &true.into(), &true.into()),
        "{}",
        ready.text()
    );
    assert_eq!(
        app.health().await.status,
        StatusCode::OK,
        "the process is still up"
    );
    let admitted = open.list_files(&user, "").await;
    assert_eq!(
        admitted.status,
        StatusCode::OK,
        "fail-open admits: {}",
        admitted.text()
    );
    let metrics = open.metrics().await.text();
    assert!(
        metrics
            .lines()
            .any(|l| l == "rate_limit_fail_open_admissions_total 1"),
        "{metrics}"
    );

    app.stack()
        .redis()
        .start()
        .await
        .expect("redis starts again");
    let restarted = Instant::now();
    resumed(|| app.list_files(&user, "")).await;
    assert_eq!(app.ready().await.status, StatusCode::OK);
    println!(
        "service resumed {:?} after Redis was restarted",
        restarted.elapsed()
    );

    // Slower than the timeout counts as unavailable too: a paused Redis accepts connections but never answers.
    app.stack().redis().pause().await.expect("redis pauses");
    let started = Instant::now();
    let slow = app.list_files(&user, "").await;
    let took = started.elapsed();
    app.stack().redis().unpause().await.expect("redis unpauses");
    slow.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "rate_limiter_unavailable");
    assert!(
        took < Duration::from_millis(1500),
        "gave up after the 250 ms budget, not {took:?}"
    );
    resumed(|| app.list_files(&user, "")).await;
    println!("a paused Redis gave a 503 after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_requests_are_a_503_and_service_resumes_after_it_restarts() {
    let app = TestApp::isolated(|_| {}).await;
    let user = app.new_user();
    let file = app
        .upload_ok(&user, "kept.txt", "text/plain", b"survives a restart")
        .await;

    app.stack().postgres().stop().await.expect("postgres stops");
    let started = Instant::now();
    let refused = app.list_files(&user, "").await;
    let took = started.elapsed();

    refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    // An upload that cannot reach the database leaves no bytes behind (no file without a row).
    let upload = app
        .upload(
            &user,
            Multipart::new().file("lost.txt", "text/plain", b"never stored"),
        )
        .await;
    upload.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    let stored: Vec<String> = std::fs::read_dir(&app.config.storage_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        stored,
        vec![file["id"].as_str().unwrap().to_owned()],
        "only the acknowledged upload's bytes"
    );
    assert!(refused.retry_after() >= 1);
    assert!(
        took < Duration::from_secs(10),
        "fails within the pool timeout: {took:?}"
    );
    let ready = app.ready().await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let checks = &ready.json()["checks"];
    assert_eq!(
        (&checks["database"], &checks["redis"]),
        (&false.into(), &true.into()),
        "{}",
        ready.text()
    );

    app.stack()
        .postgres()
        .start()
        .await
        .expect("postgres starts again");
    let restarted = Instant::now();
    let reply = resumed(|| app.get_file(&user, file["id"].as_str().unwrap())).await;
    assert_eq!(reply.json(), file, "the data survived");
    assert_eq!(app.ready().await.status, StatusCode::OK);
    println!(
        "503 after {took:?} with PostgreSQL down; resumed {:?} after it restarted",
        restarted.elapsed()
    );
}
