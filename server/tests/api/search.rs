//! Full-text search: ranking, snippets, tenant scope and input validation.

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};

use crate::helpers::{sorted_keys, Multipart, TestApp};

/// A word no other test uploads, so results are exactly this test's files.
fn unique_word() -> String {
    format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

#[tokio::test]
async fn search_ranks_the_best_match_first_with_a_snippet() {
    let app = TestApp::shared();
    let user = app.new_user();
    let word = unique_word();
    let strong =
        format!("{word} appears here. {word} again, and {word} a third time in this document.");
    let weak = format!("A long text about many other things, where {word} is mentioned once among unrelated words.");
    let weak_id = app
        .upload_ok(&user, "weak.txt", "text/plain", weak.as_bytes())
        .await["id"]
        .clone();
    let strong_id = app
        .upload_ok(&user, "strong.md", "text/markdown", strong.as_bytes())
        .await["id"]
        .clone();
    app.upload_ok(
        &user,
        "other.txt",
        "text/plain",
        b"nothing relevant in here",
    )
    .await;

    let reply = app.search(&user, &json!({"query": word})).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert!(body["took_ms"].as_f64().is_some(), "took_ms in {body}");
    let results = body["results"].as_array().unwrap();
    let ids: Vec<&Value> = results.iter().map(|r| &r["file_id"]).collect();
    assert_eq!(ids, vec![&strong_id, &weak_id], "ranked: {body}");
    assert_eq!(results[0]["filename"], "strong.md");
    let keys = sorted_keys(&results[0]);
    assert_eq!(keys, ["file_id", "filename", "score", "snippet"]);
    let (first, second) = (
        results[0]["score"].as_f64().unwrap(),
        results[1]["score"].as_f64().unwrap(),
    );
    assert!(
        first > second && second > 0.0,
        "scores {first} > {second} > 0"
    );
    assert!(
        results[0]["snippet"].as_str().unwrap().contains(&word),
        "snippet in {body}"
    );
}

#[tokio::test]
async fn search_finds_files_by_filename_and_metadata() {
    let app = TestApp::shared();
    let user = app.new_user();
    let (in_name, in_title) = (unique_word(), unique_word());
    let by_name = app
        .upload_ok(
            &user,
            &format!("{in_name}.json"),
            "application/json",
            b"{\"a\": 1}",
        )
        .await;
    let form = Multipart::new()
        .file("report.pdf", "application/pdf", crate::files::PDF)
        .metadata(&json!({"title": in_title}));
    let by_title = app.upload(&user, form).await.json();

    for (word, expected) in [(in_name, by_name), (in_title, by_title)] {
        let body = app.search(&user, &json!({"query": word})).await.json();
        assert_eq!(
            body["results"][0]["file_id"], expected["id"],
            "{word}: {body}"
        );
        assert_eq!(body["results"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn search_returns_only_the_callers_files() {
    let app = TestApp::shared();
    let (alice, bob) = (app.new_user(), app.new_user());
    let word = unique_word();
    let mine = app
        .upload_ok(&bob, "mine.txt", "text/plain", word.as_bytes())
        .await;
    app.upload_ok(
        &alice,
        "theirs.txt",
        "text/plain",
        format!("{word} {word}").as_bytes(),
    )
    .await;

    let body = app.search(&bob, &json!({"query": word})).await.json();

    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["file_id"], mine["id"]);
}

#[tokio::test]
async fn the_search_limit_caps_the_results() {
    let app = TestApp::shared();
    let user = app.new_user();
    let word = unique_word();
    for n in 0..3 {
        app.upload_ok(&user, &format!("{n}.txt"), "text/plain", word.as_bytes())
            .await;
    }

    let body = app
        .search(&user, &json!({"query": word, "limit": 2}))
        .await
        .json();

    assert_eq!(body["results"].as_array().unwrap().len(), 2, "{body}");
}

#[rstest]
#[case::length_1(json!({"query": "a"}))]
#[case::length_512(json!({"query": "q".repeat(512)}))]
#[case::length_512_multibyte_chars(json!({"query": "é".repeat(512)}))]
#[case::limit_1(json!({"query": "fox", "limit": 1}))]
#[case::limit_50(json!({"query": "fox", "limit": 50}))]
#[tokio::test]
async fn search_accepts_the_bounds(#[case] body: Value) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.search(&user, &body).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["results"], json!([]));
}

#[rstest]
#[case::empty_query(json!({"query": ""}))]
#[case::query_513_chars(json!({"query": "q".repeat(513)}))]
#[case::query_513_multibyte_chars(json!({"query": "é".repeat(513)}))]
#[case::limit_0(json!({"query": "fox", "limit": 0}))]
#[case::limit_51(json!({"query": "fox", "limit": 51}))]
#[case::negative_limit(json!({"query": "fox", "limit": -3}))]
#[tokio::test]
async fn search_refuses_out_of_range_input_with_a_400(#[case] body: Value) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.search(&user, &body).await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "validation_failed");
}

#[rstest]
#[case::missing_query(json!({"limit": 5}))]
#[case::query_not_a_string(json!({"query": 42}))]
#[case::limit_not_a_number(json!({"query": "fox", "limit": "ten"}))]
#[case::limit_a_float(json!({"query": "fox", "limit": 5.5}))]
#[case::limit_huge(json!({"query": "fox", "limit": 1e30}))]
#[tokio::test]
async fn search_refuses_wrong_types_with_a_400(#[case] body: Value) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.search(&user, &body).await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_limit_defaults_to_10() {
    let app = TestApp::shared();
    let user = app.new_user();
    let word = unique_word();
    let uploads = (0..11).map(|n| {
        let (app, user, word) = (&app, &user, &word);
        async move {
            app.upload_ok(user, &format!("{n}.txt"), "text/plain", word.as_bytes())
                .await
        }
    });
    futures::future::join_all(uploads).await;

    let body = app.search(&user, &json!({"query": word})).await.json();

    assert_eq!(body["results"].as_array().unwrap().len(), 10, "{body}");
}
