//! The spec tells the truth: each bound `/openapi.json` states is the one the handler enforces
//! (read from the served spec, then provoked on both sides of it), and what JSON Schema cannot
//! state (a past `expires_at`) is refused with a suggestion.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::memory::new_memory;

/// The served document.
async fn spec(app: &TestApp) -> Value {
    let reply = app.openapi().await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()
}

/// The schema of query parameter `name` of `GET path`.
fn query_schema<'a>(spec: &'a Value, path: &str, name: &str) -> &'a Value {
    spec["paths"][path]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
}

fn bounds(schema: &Value, low: &str, high: &str) -> (i64, i64) {
    let read = |k: &str| {
        schema[k]
            .as_i64()
            .unwrap_or_else(|| panic!("no {k} in {schema}"))
    };
    (read(low), read(high))
}

#[tokio::test]
async fn every_list_limit_in_the_spec_is_the_limit_the_handler_enforces() {
    let app = TestApp::shared();
    let user = app.new_user();
    let spec = spec(&app).await;
    for path in ["/api/v1/knowledge/files", "/api/v1/memory"] {
        let (min, max) = bounds(query_schema(&spec, path, "limit"), "minimum", "maximum");
        assert_eq!((min, max), (1, 100), "the contract's 1-100 on {path}");
        for ok in [min, max] {
            let reply = app.get(&format!("{path}?limit={ok}"), &user).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{path} limit {ok}: {}",
                reply.text()
            );
        }
        for refused in [min - 1, max + 1] {
            app.get(&format!("{path}?limit={refused}"), &user)
                .await
                .assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
        }
    }
}

#[tokio::test]
async fn the_search_bounds_in_the_spec_are_the_ones_the_handler_enforces() {
    let app = TestApp::shared();
    let user = app.new_user();
    let spec = spec(&app).await;
    let request = &spec["components"]["schemas"]["SearchRequest"]["properties"];
    let (min, max) = bounds(&request["limit"], "minimum", "maximum");
    let (shortest, longest) = bounds(&request["query"], "minLength", "maxLength");
    assert_eq!(
        (min, max, shortest, longest),
        (1, 50, 1, 512),
        "the contract's bounds"
    );

    let search = |query: String, limit: Value| {
        let app = &app;
        let user = &user;
        async move {
            app.search(user, &json!({"query": query, "limit": limit}))
                .await
        }
    };
    for (query, limit) in [
        ("a".repeat(longest as usize), json!(max)),
        ("a".into(), json!(min)),
    ] {
        let reply = search(query, limit).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // JSON Schema's `integer` is any number without a fraction.
    assert_eq!(search("a".into(), json!(10.0)).await.status, StatusCode::OK);
    for (query, limit) in [
        ("a".repeat(longest as usize + 1), json!(max)),
        ("a".into(), json!(max + 1)),
        ("a".into(), json!(min - 1)),
        (String::new(), json!(min)),
        // `pattern` of the query: not blank.
        (" \u{3000}\t".into(), json!(min)),
    ] {
        search(query, limit)
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
    }
}

#[tokio::test]
async fn the_session_filter_bounds_in_the_spec_are_enforced() {
    let app = TestApp::shared();
    let user = app.new_user();
    let spec = spec(&app).await;
    let (_, longest) = bounds(
        query_schema(&spec, "/api/v1/memory", "session_id"),
        "minLength",
        "maxLength",
    );
    let reply = app
        .list_memories(
            &user,
            &format!("?session_id={}", "s".repeat(longest as usize)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    app.list_memories(
        &user,
        &format!("?session_id={}", "s".repeat(longest as usize + 1)),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
}

/// Any value of the cursor's documented pattern is a position (the first page, for one after
/// every row); anything else is `invalid_cursor`.
#[tokio::test]
async fn every_cursor_the_spec_admits_reads_as_a_page() {
    let app = TestApp::shared();
    let user = app.new_user();
    let spec = spec(&app).await;
    for path in ["/api/v1/knowledge/files", "/api/v1/memory"] {
        let cursor = query_schema(&spec, path, "cursor");
        assert_eq!(cursor["pattern"], "^[A-Za-z0-9_-]{32}$");
        for admitted in [
            "A".repeat(32),
            "_".repeat(32),
            "-".repeat(32),
            "z9".repeat(16),
        ] {
            let reply = app.get(&format!("{path}?cursor={admitted}"), &user).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{path} {admitted}: {}",
                reply.text()
            );
        }
        for refused in [
            "A".repeat(31),
            "A".repeat(33),
            format!("{}.", "A".repeat(31)),
        ] {
            app.get(&format!("{path}?cursor={refused}"), &user)
                .await
                .assert_problem(StatusCode::BAD_REQUEST, "invalid_cursor");
        }
    }
}

#[tokio::test]
async fn a_memory_that_has_already_expired_is_refused_with_a_suggestion() {
    let app = TestApp::shared();
    let user = app.new_user();
    let session = Uuid::new_v4().to_string();
    let mut body = new_memory(&session, "yesterday's news");

    for past in [
        chrono::Utc::now() - chrono::Duration::seconds(1),
        "2000-01-01T00:00:00Z".parse().unwrap(),
    ] {
        body["expires_at"] = json!(past.to_rfc3339());
        let problem = app
            .create_memory(&user, &body)
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
        let suggestion = problem["suggestion"].as_str().unwrap();
        assert!(suggestion.contains("expires_at"), "{suggestion}");
    }
    let listed = app
        .list_memories(&user, &format!("?session_id={session}"))
        .await;
    assert_eq!(listed.json()["items"], json!([]), "nothing was stored");

    // A future expiry is stored and visible.
    body["expires_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    let created = app.create_memory(&user, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get_memory(&user, &id).await.status, StatusCode::OK);
}

/// The spec's `maximum: 1` holds exactly: the value is checked before it becomes a `real`.
#[tokio::test]
async fn importance_is_bounded_before_it_is_rounded() {
    let app = TestApp::shared();
    let user = app.new_user();
    let mut body = new_memory("s", "c");
    for (importance, status) in [
        (json!(1.0), StatusCode::CREATED),
        (json!(1.000_000_01), StatusCode::BAD_REQUEST),
        (json!(-1e-50), StatusCode::BAD_REQUEST),
    ] {
        body["importance"] = importance.clone();
        let reply = app.create_memory(&user, &body).await;
        assert_eq!(
            reply.status,
            status,
            "importance {importance}: {}",
            reply.text()
        );
    }
}

/// PostgreSQL prints a jsonb number near f64's limit as 309 digits; reading them back must not
/// overflow (serde_json's `float_roundtrip`), or a stored memory would be a 500 to read.
#[tokio::test]
async fn metadata_numbers_at_the_edge_of_f64_are_stored_and_read_back() {
    let app = TestApp::shared();
    let user = app.new_user();
    let mut body = new_memory("s", "c");
    body["metadata"] =
        json!({"max": f64::MAX, "min": -1.797_693_134_862_315_5e308, "tiny": 5e-324});

    let created = app.create_memory(&user, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let fetched = app.get_memory(&user, &id).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text());
    assert_eq!(fetched.json()["metadata"], body["metadata"]);
}
