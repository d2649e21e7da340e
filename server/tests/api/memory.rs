//! The R1 memory API (must not regress): create, list with session filter and paging, get, delete.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::TestApp;

/// A create-memory body for `session_id`.
pub fn new_memory(session_id: &str, content: &str) -> Value {
    json!({"session_id": session_id, "role": "user", "content": content})
}

#[tokio::test]
async fn a_memory_is_created_fetched_and_deleted() {
    let app = TestApp::shared();
    let user = app.new_user();
    let session = Uuid::new_v4().to_string();

    let created = app
        .create_memory(&user, &new_memory(&session, "the user prefers tea"))
        .await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.assert_conventions();
    let memory = created.json();
    let id = memory["id"].as_str().unwrap();
    Uuid::parse_str(id).unwrap();
    assert_eq!(
        (&memory["session_id"], &memory["content"]),
        (&json!(session), &json!("the user prefers tea"))
    );
    assert_eq!(app.get_memory(&user, id).await.json(), memory);

    let deleted = app.delete_memory(&user, id).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get_memory(&user, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn memories_are_listed_by_session_and_paged() {
    let app = TestApp::shared();
    let user = app.new_user();
    let (session, other) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let mut expected = Vec::new();
    for n in 0..3 {
        let memory = app
            .create_memory(&user, &new_memory(&session, &format!("memory {n}")))
            .await
            .json();
        expected.push(memory["id"].clone());
    }
    app.create_memory(&user, &new_memory(&other, "elsewhere"))
        .await;

    let mut seen = Vec::new();
    let mut query = format!("?session_id={session}&limit=2");
    for _ in 0..5 {
        let page = app.list_memories(&user, &query).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let page = page.json();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?session_id={session}&limit=2&cursor={cursor}"),
            None => break,
        }
    }

    let (mut seen_sorted, mut expected_sorted) = (seen.clone(), expected.clone());
    seen_sorted.sort_by_key(|v| v.to_string());
    expected_sorted.sort_by_key(|v| v.to_string());
    assert_eq!(
        seen_sorted, expected_sorted,
        "exactly the session's memories, each once"
    );
    let all = app.list_memories(&user, "").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_memory_without_content_is_a_400() {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .create_memory(&user, &json!({"session_id": Uuid::new_v4().to_string()}))
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn a_non_uuid_memory_id_is_invalid_id() {
    let app = TestApp::shared();
    let user = app.new_user();

    app.get_memory(&user, "nope")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_id");
    app.delete_memory(&user, "nope")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_id");
}

#[rstest::rstest]
#[case::nul_in_a_metadata_value(json!({"note": "a\u{0}b"}))]
#[case::nul_in_a_metadata_key(json!({"a\u{0}b": 1}))]
#[case::nested_nul(json!({"deep": {"list": ["x\u{0}"]}}))]
#[case::emoji_and_control(json!({"k": "🦀\u{1b}[0m"}))]
#[tokio::test]
async fn memory_metadata_is_stored_or_refused_never_a_5xx(#[case] metadata: Value) {
    let app = TestApp::shared();
    let user = app.new_user();
    let mut body = new_memory(&Uuid::new_v4().to_string(), "content");
    body["metadata"] = metadata;

    let reply = app.create_memory(&user, &body).await;

    match reply.status {
        StatusCode::CREATED => {
            assert_eq!(reply.json()["metadata"], body["metadata"], "stored as sent")
        }
        _ => {
            reply.assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
        }
    }
}

#[rstest::rstest]
#[case::zero("?limit=0", "validation_failed")]
#[case::over_100("?limit=101", "validation_failed")]
#[case::not_a_number("?limit=ten", "invalid_query")]
#[case::forged_cursor("?cursor=bm90LWEtY3Vyc29y", "invalid_cursor")]
#[tokio::test]
async fn a_bad_memory_list_query_is_a_400(#[case] query: &str, #[case] code: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    app.list_memories(&user, query)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, code);
}
