//! The conventions every response carries: `X-Request-ID` (with its echo rules), `nosniff`, and
//! `Cache-Control: no-store` on authenticated responses. (413, 429 and 503 are checked where they
//! are produced: `upload_limits`, `ratelimit`, `outage`.)

use reqwest::{Method, StatusCode};
use rstest::rstest;
use uuid::Uuid;

use crate::helpers::TestApp;

const FILES: &str = "/api/v1/knowledge/files";

#[rstest]
#[case::health_200(Method::GET, "/health", false, 200)]
#[case::list_200(Method::GET, FILES, true, 200)]
#[case::bad_id_400(Method::GET, "/api/v1/knowledge/files/not-a-uuid", true, 400)]
#[case::no_token_401(Method::GET, FILES, false, 401)]
#[case::unknown_route_404(Method::GET, "/no/such/route", false, 404)]
#[case::unknown_api_route_404(Method::GET, "/api/v1/knowledge/nothing-here", true, 404)]
#[case::wrong_method_405(Method::PUT, FILES, true, 405)]
#[case::wrong_method_on_ops_405(Method::POST, "/health", false, 405)]
#[tokio::test]
async fn every_response_kind_carries_a_request_id_and_nosniff(
    #[case] method: Method,
    #[case] path: &str,
    #[case] authenticated: bool,
    #[case] status: u16,
) {
    let app = TestApp::shared();
    let user = app.new_user();
    let token = authenticated.then_some(user.token.as_str());

    let reply = app.request(method, path, token, &[], None).await;

    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    reply.assert_conventions();
    Uuid::parse_str(reply.request_id()).expect("a generated request id is a UUID");
    if status >= 400 {
        assert!(reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/problem+json"));
    }
}

#[rstest]
#[case::simple("abc-123")]
#[case::every_allowed_class("Az09._-")]
#[case::exactly_128_chars(&"r".repeat(128))]
#[case::one_char("x")]
#[tokio::test]
async fn a_valid_inbound_request_id_is_echoed(#[case] id: &str) {
    let app = TestApp::shared();
    for path in ["/health", "/no/such/route"] {
        let reply = app
            .request(Method::GET, path, None, &[("x-request-id", id)], None)
            .await;
        assert_eq!(reply.request_id(), id, "on {path}");
    }
}

#[rstest]
#[case::too_long_129_chars(&"r".repeat(129))]
#[case::a_space("abc def")]
#[case::a_slash("a/b")]
#[case::a_colon("a:b")]
#[case::html("<script>")]
#[case::empty("")]
#[tokio::test]
async fn an_invalid_inbound_request_id_is_replaced_by_a_fresh_uuid(#[case] id: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .get_with_headers(FILES, &user, &[("x-request-id", id)])
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(reply.request_id(), id);
    Uuid::parse_str(reply.request_id()).expect("the replacement is a UUID");
}

#[tokio::test]
async fn the_request_id_in_a_problem_body_matches_the_echoed_header() {
    let app = TestApp::shared();
    let reply = app
        .request(
            Method::GET,
            FILES,
            None,
            &[("x-request-id", "trace-me.42")],
            None,
        )
        .await;

    let body = reply.assert_problem(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(body["request_id"], "trace-me.42");
}

#[tokio::test]
async fn authenticated_responses_are_not_cacheable_whatever_their_status() {
    let app = TestApp::shared();
    let user = app.new_user();
    let file = app
        .upload_ok(&user, "a.txt", "text/plain", b"cache me not")
        .await;
    let id = file["id"].as_str().unwrap();

    let uploaded = app
        .upload(
            &user,
            crate::helpers::Multipart::new().file("b.txt", "text/plain", b"x"),
        )
        .await;
    let second = uploaded.json()["id"].as_str().unwrap().to_owned();
    let replies = [
        uploaded,
        app.delete_file(&user, &second).await,
        app.list_files(&user, "").await,
        app.get_file(&user, id).await,
        app.download(&user, id).await,
        app.get_file(&user, &Uuid::new_v4().to_string()).await,
        app.list_files(&user, "?limit=0").await,
        app.list_memories(&user, "").await,
    ];

    for reply in replies {
        reply.assert_conventions();
        let cache = reply.header("cache-control").unwrap_or_default();
        assert!(
            cache.contains("no-store"),
            "{} response has Cache-Control {cache:?}",
            reply.status
        );
    }
}
