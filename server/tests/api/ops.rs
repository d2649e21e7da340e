//! Operational endpoints: health, readiness with its four checks, Prometheus metrics and the
//! generated OpenAPI 3.1 description. None needs a token or is rate-limited.

use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::json;

use crate::helpers::TestApp;

#[rstest]
#[case::health("/health")]
#[case::ready("/ready")]
#[case::metrics("/metrics")]
#[case::openapi("/openapi.json")]
#[tokio::test]
async fn ops_endpoints_need_no_token_and_are_not_rate_limited(#[case] path: &str) {
    let app = TestApp::shared();

    for _ in 0..3 {
        let reply = app.request(Method::GET, path, None, &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        reply.assert_conventions();
        assert!(
            reply.header("x-ratelimit-limit").is_none(),
            "{path} carries rate-limit headers"
        );
    }
}

#[tokio::test]
async fn ready_is_200_with_all_four_checks_true() {
    let app = TestApp::shared();
    let reply = app.ready().await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.assert_conventions();
    assert_eq!(
        reply.json(),
        json!({"ready": true, "checks": {"database": true, "redis": true, "storage": true, "telemetry": true}})
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_latency_histograms_and_rejections() {
    // A replica of its own has a registry of its own, so the counts below are exact.
    let app = TestApp::variant(|config| config.rate_limit_per_hour = 1).await;
    let user = app.new_user();
    assert_eq!(app.list_files(&user, "").await.status, StatusCode::OK);
    assert_eq!(
        app.list_files(&user, "").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let reply = app.metrics().await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = reply.text();
    for line in [
        r#"http_requests_total{method="GET",route="/api/v1/knowledge/files",status="200"} 1"#,
        r#"http_requests_total{method="GET",route="/api/v1/knowledge/files",status="429"} 1"#,
        r#"http_request_duration_seconds_count{method="GET",route="/api/v1/knowledge/files",status="200"} 1"#,
        r#"rate_limit_rejections_total{scope="user"} 1"#,
        "rate_limit_fail_open_admissions_total 0",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE db_operation_duration_seconds histogram",
        "# TYPE redis_command_duration_seconds histogram",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn openapi_is_3_1_and_describes_every_route() {
    let app = TestApp::shared();
    let reply = app.openapi().await;

    assert_eq!(reply.status, StatusCode::OK);
    let spec = reply.json();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "openapi {}",
        spec["openapi"]
    );
    let expected = [
        ("/api/v1/knowledge/files", vec!["get", "post"]),
        ("/api/v1/knowledge/files/{id}", vec!["get", "delete"]),
        ("/api/v1/knowledge/files/{id}/content", vec!["get"]),
        ("/api/v1/knowledge/search", vec!["post"]),
        ("/api/v1/memory", vec!["get", "post"]),
        ("/api/v1/memory/{id}", vec!["get", "delete"]),
        ("/api/v1/stream/auth/anon", vec!["post"]),
        ("/health", vec!["get"]),
        ("/ready", vec!["get"]),
        ("/metrics", vec!["get"]),
    ];
    for (path, methods) in expected {
        let item = &spec["paths"][path];
        assert!(item.is_object(), "{path} missing from the spec");
        for method in methods {
            assert!(
                item[method].is_object(),
                "{method} {path} missing from the spec"
            );
        }
    }
}

#[tokio::test]
async fn openapi_only_adds_to_the_committed_r1_baseline() {
    let app = TestApp::shared();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/r1-baseline.json");
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let live = app.openapi().await.json();

    for (path, item) in baseline["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(
                live["paths"][path][method].is_object(),
                "R1 route {method} {path} was removed"
            );
        }
    }
    for schema in baseline["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            live["components"]["schemas"][schema].is_object(),
            "R1 schema {schema} was removed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_an_in_flight_upload_finish() {
    let app = TestApp::variant(|_| {}).await;
    let user = app.new_user();
    // A slow body: the upload is still streaming when shutdown begins.
    let upload = crate::helpers::spawn_slow_upload(
        &app.client,
        &app.base_url,
        &user,
        std::time::Duration::from_millis(100),
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let (app, running) = app.into_running();
    running.shutdown().await;

    let response = upload
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        app.client
            .get(format!("{}/health", app.base_url))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn ready_reports_storage_false_while_the_storage_directory_is_gone() {
    let app = TestApp::variant(|_| {}).await;
    assert_eq!(app.ready().await.status, StatusCode::OK);

    std::fs::remove_dir_all(&app.config.storage_dir).unwrap();
    let ready = app.ready().await;
    std::fs::create_dir_all(&app.config.storage_dir).unwrap();

    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    ready.assert_conventions();
    assert_eq!(
        ready.json(),
        json!({"ready": false, "checks": {"database": true, "redis": true, "storage": false, "telemetry": true}})
    );
    assert_eq!(
        app.ready().await.status,
        StatusCode::OK,
        "ready again once storage is back"
    );
}

#[tokio::test]
async fn metrics_label_requests_by_route_template_so_random_paths_add_no_series() {
    let app = TestApp::variant(|_| {}).await;
    let user = app.new_user();
    let (file_id, junk) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    app.get_file(&user, &file_id).await;
    app.request(Method::GET, &format!("/{junk}"), None, &[], None)
        .await;
    app.get(&format!("/api/v1/knowledge/{junk}"), &user).await;

    let text = app.metrics().await.text();

    assert!(
        !text.contains(&file_id) && !text.contains(&junk),
        "raw paths became labels:\n{text}"
    );
    let templated =
        r#"http_requests_total{method="GET",route="/api/v1/knowledge/files/{id}",status="404"} 1"#;
    assert!(
        text.lines().any(|l| l == templated),
        "no {templated:?} in:\n{text}"
    );
}
