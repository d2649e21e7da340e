//! Errors the framework would otherwise answer itself — unknown route (404), wrong method (405),
//! unreadable JSON (400), wrong content type (415), oversized headers (431) — are problem details
//! with a code and a suggestion too.

use reqwest::{Method, StatusCode};
use rstest::rstest;

use crate::helpers::TestApp;

#[tokio::test]
async fn an_unknown_route_is_a_problem_404_with_a_suggestion() {
    let app = TestApp::shared();
    let reply = app
        .request(Method::GET, "/api/v2/nothing", None, &[], None)
        .await;

    reply.assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_405_with_allow() {
    let app = TestApp::shared();
    let user = app.new_user();
    let reply = app
        .request(
            Method::PATCH,
            "/api/v1/knowledge/search",
            Some(&user.token),
            &[],
            None,
        )
        .await;

    reply.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(
        reply.header("allow").unwrap_or_default().contains("POST"),
        "{:?}",
        reply.headers
    );
}

#[tokio::test]
async fn invalid_json_is_a_400_invalid_json() {
    let app = TestApp::shared();
    let user = app.new_user();
    let body = r#"{"query": "unterminated"#;
    let reply = app
        .post_raw("/api/v1/knowledge/search", &user, "application/json", body)
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn a_json_body_sent_as_text_plain_is_a_415() {
    let app = TestApp::shared();
    let user = app.new_user();
    let body = r#"{"query": "hello"}"#;
    let reply = app
        .post_raw("/api/v1/knowledge/search", &user, "text/plain", body)
        .await;

    reply.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert!(
        reply.suggestion().contains("application/json"),
        "{}",
        reply.suggestion()
    );
}

#[rstest]
#[case::one_40_kib_header(vec![("x-padding".to_owned(), "x".repeat(40 * 1024))])]
#[case::one_mib_header(vec![("x-padding".to_owned(), "x".repeat(1024 * 1024))])]
#[case::a_hundred_and_twenty_headers((0..120).map(|n| (format!("x-h{n}"), "v".to_owned())).collect())]
#[tokio::test]
async fn oversized_headers_are_a_431_problem_never_a_5xx(#[case] headers: Vec<(String, String)>) {
    let app = TestApp::shared();
    let user = app.new_user();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();

    let reply = app
        .get_with_headers("/api/v1/knowledge/files", &user, &headers)
        .await;

    reply.assert_problem(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
}

#[tokio::test]
async fn a_16_kib_header_is_still_accepted() {
    let app = TestApp::shared();
    let user = app.new_user();
    let padding = "x".repeat(16 * 1024);

    let reply = app
        .get_with_headers("/api/v1/knowledge/files", &user, &[("x-padding", &padding)])
        .await;

    assert_eq!(reply.status, StatusCode::OK);
}
