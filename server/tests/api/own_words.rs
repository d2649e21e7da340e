//! Input that does not fit a route's body or query string is refused in our own words: the
//! problem's `detail` names the field and what it must be, and never repeats the message of the
//! library that parsed it (serde, serde_json, serde_urlencoded, std, chrono). The examples are
//! the ones the issue found forwarded verbatim.

use reqwest::StatusCode;
use rstest::rstest;

use crate::helpers::TestApp;
use crate::reply::assert_no_leak;

const SEARCH: &str = "/api/v1/knowledge/search";
const MEMORY: &str = "/api/v1/memory";
const FILES: &str = "/api/v1/knowledge/files";

/// A memory body with `extra` spliced in after the required fields.
fn memory(extra: &str) -> String {
    format!(r#"{{"session_id": "s", "role": "user", "content": "c"{extra}}}"#)
}

#[rstest]
#[case::integer_for_a_string(SEARCH, r#"{"query": 123}"#.into(), "`query`")]
#[case::unknown_field(SEARCH, r#"{"query": "a", "owner_id": "x"}"#.into(), "`owner_id`")]
#[case::float_for_an_integer(SEARCH, r#"{"query": "a", "limit": 1e+23}"#.into(), "`limit`")]
#[case::fraction_for_an_integer(SEARCH, r#"{"query": "a", "limit": 2.5}"#.into(), "`limit`")]
#[case::string_for_an_integer(SEARCH, r#"{"query": "a", "limit": "10"}"#.into(), "`limit`")]
#[case::missing_field(SEARCH, r#"{"limit": 5}"#.into(), "`query`")]
#[case::null_for_a_string(SEARCH, r#"{"query": null}"#.into(), "`query`")]
#[case::memory_integer_for_a_string(MEMORY, r#"{"session_id": 7, "role": "user", "content": "c"}"#.into(), "`session_id`")]
#[case::memory_unknown_field(
    MEMORY,
    memory(r#", "owner_id": "00000000-0000-0000-0000-000000000000""#),
    "`owner_id`"
)]
#[case::memory_unknown_role(MEMORY, r#"{"session_id": "s", "role": "robot", "content": "c"}"#.into(), "`role`")]
#[case::memory_missing_content(MEMORY, r#"{"session_id": "s", "role": "user"}"#.into(), "`content`")]
#[case::memory_year_99999(
    MEMORY,
    memory(r#", "expires_at": "99999-01-01T00:00:00Z""#),
    "`expires_at`"
)]
#[case::memory_date_not_a_date(MEMORY, memory(r#", "expires_at": "tomorrow""#), "`expires_at`")]
#[case::memory_tag_not_a_string(MEMORY, memory(r#", "tags": ["a", 1]"#), "`tags`")]
#[case::memory_metadata_not_an_object(MEMORY, memory(r#", "metadata": [1]"#), "`metadata`")]
#[case::memory_importance_a_string(MEMORY, memory(r#", "importance": "high""#), "`importance`")]
#[tokio::test]
async fn a_json_body_that_does_not_fit_is_named_in_our_words(
    #[case] path: &str,
    #[case] body: String,
    #[case] field: &str,
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .post_raw(path, &user, "application/json", body.into_bytes())
        .await;

    let problem = reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(field), "{detail:?} does not name {field}");
    assert_no_leak(&reply.text(), Some(app.secret()));
}

#[rstest]
#[case::letters_for_a_number("?limit=abc", "`limit`")]
#[case::number_too_large("?limit=99999999999999999999", "`limit`")]
#[case::negative_beyond_i64("?limit=-99999999999999999999", "`limit`")]
#[case::empty_number("?limit=", "`limit`")]
#[case::fraction("?limit=1.5", "`limit`")]
#[case::repeated_parameter("?limit=1&limit=2", "`limit`")]
#[case::unknown_parameter("?owner_id=x", "`owner_id`")]
#[tokio::test]
async fn a_query_string_that_does_not_fit_is_named_in_our_words(
    #[case] query: &str,
    #[case] field: &str,
) {
    let app = TestApp::shared();
    let user = app.new_user();

    for base in [FILES, MEMORY] {
        let reply = app.get(&format!("{base}{query}"), &user).await;

        let problem = reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(field),
            "{base}{query}: {detail:?} does not name {field}"
        );
        assert_no_leak(&reply.text(), Some(app.secret()));
    }
}
