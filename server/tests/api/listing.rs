//! Listing files: newest first, cursor paging, the `limit` bounds and default.

use reqwest::StatusCode;
use rstest::rstest;

use crate::helpers::TestApp;

#[tokio::test]
async fn files_are_listed_newest_first_and_paged_by_cursor() {
    let app = TestApp::shared();
    let user = app.new_user();
    let mut uploaded = Vec::new();
    for n in 0..5 {
        let info = app
            .upload_ok(
                &user,
                &format!("f{n}.txt"),
                "text/plain",
                format!("file {n}").as_bytes(),
            )
            .await;
        uploaded.push(info["id"].as_str().unwrap().to_owned());
    }
    uploaded.reverse();

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let reply = app.list_files(&user, &query).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let page = reply.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }

    assert_eq!(seen, uploaded, "newest first, each once");
    assert_eq!(pages, 3);
    let all = app.list_files(&user, "").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_cursor"], serde_json::Value::Null);
}

#[rstest]
#[case::zero("?limit=0", "validation_failed")]
#[case::over_100("?limit=101", "validation_failed")]
#[case::negative("?limit=-1", "validation_failed")]
#[case::not_a_number("?limit=abc", "invalid_query")]
#[case::unknown_parameter("?page=2", "invalid_query")]
#[tokio::test]
async fn a_list_limit_outside_1_to_100_is_a_400(#[case] query: &str, #[case] code: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.list_files(&user, query).await;

    reply.assert_problem(StatusCode::BAD_REQUEST, code);
}

#[tokio::test]
async fn a_list_limit_of_100_and_of_1_are_accepted() {
    let app = TestApp::shared();
    let user = app.new_user();
    for query in ["?limit=1", "?limit=100"] {
        assert_eq!(
            app.list_files(&user, query).await.status,
            StatusCode::OK,
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_forged_cursor_is_a_400() {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .list_files(
            &user,
            "?cursor=%27%3B%20DROP%20TABLE%20knowledge_files%3B--",
        )
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_limit_defaults_to_50() {
    let app = TestApp::shared();
    let user = app.new_user();
    let uploads = (0..51).map(|n| {
        let (app, user) = (&app, &user);
        async move {
            app.upload_ok(user, &format!("{n}.txt"), "text/plain", b"x")
                .await
        }
    });
    futures::future::join_all(uploads).await;

    let page = app.list_files(&user, "").await.json();

    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    let rest = app
        .list_files(
            &user,
            &format!("?cursor={}", page["next_cursor"].as_str().unwrap()),
        )
        .await
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], serde_json::Value::Null);
}
