//! A corpus of hostile input: every case is a 2xx or a 4xx problem, never a 5xx, and no error body
//! carries a trace, a path, SQL or driver text, or the JWT secret.

use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::json;

use knowledge_server::validate::is_hidden_control;

use crate::helpers::{Multipart, Reply, TestApp};
use crate::reply::assert_no_leak;

/// 2xx, or a 4xx problem with a code and suggestion; nothing internal either way.
#[track_caller]
fn assert_handled(app: &TestApp, reply: &Reply, case: &str) {
    assert!(
        reply.status.is_success() || reply.status.is_client_error(),
        "{case}: {} {}",
        reply.status,
        reply.text()
    );
    reply.assert_conventions();
    if reply.status.is_client_error() {
        let code = reply.json()["code"].as_str().unwrap_or_default().to_owned();
        assert!(!code.is_empty(), "{case}: no code in {}", reply.text());
        reply.assert_problem(reply.status, &code);
    }
    assert_no_leak(&reply.text(), Some(app.secret()));
}

#[rstest]
#[case::double_quote("\"unterminated")]
#[case::single_quote("it's")]
#[case::sql_drop("'; DROP TABLE knowledge_files; --")]
#[case::sql_or("' OR '1'='1")]
#[case::sql_union("x UNION SELECT * FROM pg_shadow")]
#[case::tsquery_and("fox & dog")]
#[case::tsquery_or("fox | dog")]
#[case::tsquery_not("!fox")]
#[case::tsquery_prefix("fo:*")]
#[case::tsquery_followed_by("fox <-> dog")]
#[case::tsquery_distance("fox <2> dog")]
#[case::only_operators("& | ! <-> :* ( )")]
#[case::unbalanced_parens("((fox")]
#[case::backslashes("\\\\x00 \\")]
#[case::percent_and_underscore("%_%")]
#[case::placeholder("$1 $2 ?")]
#[case::emoji("🦀🔥 crab")]
#[case::nul("fox\u{0}dog")]
#[case::control_chars("\u{1}\u{7}\u{1b}[31m")]
#[case::right_to_left("\u{202e}txt.exe")]
#[case::zero_width("fo\u{200b}x")]
#[case::combining("e\u{301}\u{301}\u{301}")]
#[case::chinese("知识 搜索")]
#[case::whitespace_only("   \t  ")]
#[case::query_of_512_emoji(&"🦀".repeat(512))]
#[tokio::test]
async fn hostile_search_text_is_answered_without_a_5xx(#[case] query: &str) {
    let app = TestApp::shared();
    let user = app.new_user();
    app.upload_ok(
        &user,
        "fox.txt",
        "text/plain",
        b"the quick brown fox jumps over the lazy dog",
    )
    .await;

    let reply = app.search(&user, &json!({ "query": query })).await;

    assert_handled(&app, &reply, query);
    assert!(
        matches!(reply.status.as_u16(), 200 | 400),
        "{query:?}: {}",
        reply.status
    );
}

/// `expected`: the stored name; `must_accept`: whether refusing it would be a bug (a raw NUL or
/// control byte in a part header may be refused, as `invalid_filename`). Control, format and
/// bidi characters (Cc, Cf, Zl, Zp) are removed.
#[rstest]
#[case::dot_dot_slash(b"../../etc/passwd" as &[u8], Some("passwd"), true)]
#[case::absolute(b"/etc/shadow", Some("shadow"), true)]
#[case::backslashes(b"..\\..\\windows\\win.ini", Some("win.ini"), true)]
#[case::drive_letter(b"C:\\Users\\x\\report.txt", Some("report.txt"), true)]
#[case::nul_inside(b"a\x00b.txt", Some("ab.txt"), false)]
#[case::control_chars(b"tab\there\x07\x1b.txt", Some("tabhere.txt"), false)]
#[case::only_slash(b"/", Some("file"), true)]
#[case::empty(b"", Some("file"), true)]
#[case::dot_dot(b"..", Some("file"), true)]
#[case::trailing_slash(b"dir/", Some("file"), true)]
#[case::utf8(b"\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt", Some("файл.txt"), true)]
#[case::invalid_utf8(b"\xff\xfe.txt", None, false)]
#[case::a_thousand_chars(&[b'n'; 1000], None, true)]
#[case::html(b"<script>alert(1)</script>.txt", Some("script>.txt"), true)]
#[case::right_to_left_override("invoice\u{202e}txt.exe".as_bytes(), Some("invoicetxt.exe"), true)]
#[case::zero_width_space("a\u{200b}b.txt".as_bytes(), Some("ab.txt"), true)]
#[case::byte_order_mark("\u{feff}bom.txt".as_bytes(), Some("bom.txt"), true)]
#[case::line_separator("a\u{2028}b\u{2029}c.txt".as_bytes(), Some("abc.txt"), true)]
#[case::bidi_isolate("\u{2066}x\u{2069}.txt".as_bytes(), Some("x.txt"), true)]
#[case::c1_control("a\u{85}b.txt".as_bytes(), Some("ab.txt"), true)]
#[case::cjk_and_sharp_s("x/日本ßжé.txt".as_bytes(), Some("日本ßжé.txt"), true)]
#[case::backslash_then_slash("abc\\/".as_bytes(), Some("file"), true)]
#[case::long_first_segment(format!("{}\\z.txt", "é".repeat(90)).leak().as_bytes(), Some("z.txt"), true)]
#[tokio::test]
async fn a_hostile_filename_is_reduced_to_data_and_never_becomes_a_path(
    #[case] filename: &[u8],
    #[case] expected: Option<&str>,
    #[case] must_accept: bool,
) {
    let app = TestApp::shared();
    let user = app.new_user();
    let form = Multipart::new().part("file", Some(filename), Some("text/plain"), b"hostile name");

    let reply = app.upload(&user, form).await;

    let case = String::from_utf8_lossy(filename).into_owned();
    assert_handled(&app, &reply, &case);
    if reply.status == StatusCode::CREATED {
        let info = reply.json();
        let stored = info["filename"].as_str().unwrap();
        assert!(
            !stored.is_empty() && !stored.contains(['/', '\\']),
            "{case:?} stored as {stored:?}"
        );
        assert!(
            !stored.chars().any(is_hidden_control),
            "{case:?} stored as {stored:?}"
        );
        assert!(
            stored.chars().count() <= 1000,
            "{case:?} stored as {stored:?}"
        );
        if let Some(expected) = expected {
            assert_eq!(stored, expected);
        }
        let id = info["id"].as_str().unwrap();
        assert_eq!(
            crate::files::stored_files_named(&app, id).len(),
            1,
            "bytes stored under the UUID"
        );
        assert_eq!(app.download(&user, id).await.body.as_ref(), b"hostile name");
    } else {
        assert!(
            !must_accept,
            "{case:?} should have been accepted: {}",
            reply.text()
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        if filename.iter().any(u8::is_ascii_control) {
            // the contract's code for a name refused for its control characters
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_filename");
        }
    }
}

#[rstest]
#[case::no_file_part(Multipart::new().metadata(&json!({"title": "t"})), "invalid_multipart")]
#[case::file_part_without_filename(Multipart::new().part("file", None, Some("text/plain"), b"x"), "invalid_multipart")]
#[case::file_part_without_type(Multipart::new().part("file", Some(b"a.txt"), None, b"x"), "invalid_mime_type")]
#[case::metadata_not_json(Multipart::new().file("a.txt", "text/plain", b"x").part("metadata", None, None, b"{oops"), "invalid_metadata")]
#[case::metadata_an_array(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!(["a"])), "invalid_metadata")]
#[case::metadata_a_string(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!("title")), "invalid_metadata")]
#[case::metadata_wrong_types(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!({"title": 5, "tags": "x"})), "invalid_metadata")]
#[case::metadata_huge(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!({"title": "t".repeat(80 * 1024)})), "invalid_metadata")]
#[case::two_file_parts(Multipart::new().file("a.txt", "text/plain", b"x").file("b.txt", "text/plain", b"y"), "invalid_multipart")]
#[case::unknown_part(Multipart::new().file("a.txt", "text/plain", b"x").part("extra", None, None, b"?"), "invalid_multipart")]
#[case::empty_form(Multipart::new(), "invalid_multipart")]
#[case::thirty_three_tags(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!({"tags": vec!["t"; 33]})), "invalid_metadata")]
#[case::title_over_512_chars(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!({"title": "t".repeat(513)})), "invalid_metadata")]
#[case::empty_tag(Multipart::new().file("a.txt", "text/plain", b"x").metadata(&json!({"tags": [""]})), "invalid_metadata")]
#[tokio::test]
async fn a_malformed_multipart_form_is_a_400_with_its_code(
    #[case] form: Multipart,
    #[case] code: &str,
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.upload(&user, form).await;

    reply.assert_problem(StatusCode::BAD_REQUEST, code);
    assert_no_leak(&reply.text(), Some(app.secret()));
    assert_eq!(
        app.list_files(&user, "").await.json()["items"],
        json!([]),
        "nothing stored"
    );
}

#[rstest]
#[case::json_body("application/json", b"{\"file\": \"x\"}" as &[u8], 415, "unsupported_media_type")]
#[case::no_content_type("", b"hello", 415, "unsupported_media_type")]
#[case::multipart_without_boundary(
    "multipart/form-data",
    b"--x\r\n\r\n",
    415,
    "unsupported_media_type"
)]
#[case::wrong_boundary(
    "multipart/form-data; boundary=abc",
    b"--zzz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--zzz--\r\n",
    400,
    "invalid_multipart"
)]
#[case::truncated_form(
    "multipart/form-data; boundary=abc",
    b"--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nunfinished",
    400,
    "invalid_multipart"
)]
#[tokio::test]
async fn a_non_multipart_or_broken_upload_body_is_a_4xx_with_its_code(
    #[case] content_type: &str,
    #[case] body: &[u8],
    #[case] status: u16,
    #[case] code: &str,
) {
    let app = TestApp::shared();
    let user = app.new_user();
    let headers: Vec<(&str, &str)> = if content_type.is_empty() {
        vec![]
    } else {
        vec![("content-type", content_type)]
    };

    let reply = app
        .request(
            Method::POST,
            "/api/v1/knowledge/files",
            Some(&user.token),
            &headers,
            Some(body.to_vec().into()),
        )
        .await;

    reply.assert_problem(StatusCode::from_u16(status).unwrap(), code);
    assert_no_leak(&reply.text(), Some(app.secret()));
}

#[rstest]
#[case::bad_json(b"{" as &[u8])]
#[case::nul_json(b"{\"query\": \"a\x00\"}")]
#[case::invalid_utf8_json(b"{\"query\": \"\xff\"}")]
#[case::deeply_nested(&[b'['; 10_000])]
#[case::huge_number(b"{\"query\": \"a\", \"limit\": 1e400}")]
#[case::null_query(b"{\"query\": null}")]
#[case::extra_fields(b"{\"query\": \"a\", \"owner\": \"someone-else\"}")]
#[tokio::test]
async fn a_hostile_json_body_is_answered_without_a_5xx(#[case] body: &[u8]) {
    let app = TestApp::shared();
    let user = app.new_user();

    for path in ["/api/v1/knowledge/search", "/api/v1/memory"] {
        let reply = app
            .post_raw(path, &user, "application/json", body.to_vec())
            .await;
        assert_handled(&app, &reply, path);
    }
}

#[rstest]
#[case::sql_in_limit("?limit=1;DROP%20TABLE%20x")]
#[case::float_limit("?limit=1.5")]
#[case::huge_limit("?limit=99999999999999999999999")]
#[case::empty_cursor("?cursor=")]
#[case::garbage_cursor("?cursor=%00%ff%fe")]
#[case::repeated_limit("?limit=1&limit=2")]
#[case::unknown_param("?owner=everyone")]
#[case::bad_session_filter("?session_id=%27%20OR%201%3D1")]
#[case::nul_session_filter("?session_id=a%00b")]
#[case::long_session_filter(&format!("?session_id={}", "s".repeat(4000)))]
#[case::invalid_utf8_session_filter("?session_id=%ff%fe")]
#[tokio::test]
async fn hostile_query_strings_are_answered_without_a_5xx(#[case] query: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    for base in ["/api/v1/knowledge/files", "/api/v1/memory"] {
        let reply = app.get(&format!("{base}{query}"), &user).await;
        assert_handled(&app, &reply, &format!("{base}{query}"));
    }
}

#[rstest]
#[case::search("/api/v1/knowledge/search", json!(["fox", 5]))]
#[case::memory("/api/v1/memory", json!(["session", "user", "content"]))]
#[tokio::test]
async fn a_json_array_where_an_object_is_expected_is_invalid_json(
    #[case] path: &str,
    #[case] body: serde_json::Value,
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app.post_json(path, &user, &body).await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
}

#[rstest]
#[case::nul_in_title(json!({"title": "a\u{0}b"}))]
#[case::control_chars_in_tags(json!({"tags": ["\u{1b}[31m", "\u{7}"]}))]
#[case::emoji_and_rtl(json!({"title": "🦀\u{202e}gnp.exe", "description": "知识"}))]
#[case::sql_in_description(json!({"description": "'); DROP TABLE knowledge_files; --"}))]
#[case::tsquery_syntax_in_title(json!({"title": "a & b | !c <-> d:*"}))]
#[case::longest_fields(json!({"title": "t".repeat(512), "description": "d".repeat(4096), "tags": vec!["g".repeat(64); 32]}))]
#[case::unknown_field(json!({"title": "t", "owner_id": "00000000-0000-0000-0000-000000000000"}))]
#[tokio::test]
async fn hostile_metadata_is_stored_as_data_or_refused_never_a_5xx(
    #[case] metadata: serde_json::Value,
) {
    let app = TestApp::shared();
    let user = app.new_user();
    let form = Multipart::new()
        .file("m.txt", "text/plain", b"body")
        .metadata(&metadata);

    let reply = app.upload(&user, form).await;

    assert_handled(&app, &reply, &metadata.to_string());
    if reply.status == StatusCode::CREATED {
        let id = reply.json()["id"].as_str().unwrap().to_owned();
        let fetched = app.get_file(&user, &id).await;
        assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text());
        assert_eq!(
            fetched.json(),
            reply.json(),
            "the stored file reads back as uploaded"
        );
    }
}

#[tokio::test]
async fn text_with_nul_bytes_is_valid_utf8_and_round_trips_byte_for_byte() {
    let app = TestApp::shared();
    let user = app.new_user();
    let bytes = b"before\x00after \x00\x00 nulls\n";

    let info = app.upload_ok(&user, "nul.txt", "text/plain", bytes).await;

    let content = app.download(&user, info["id"].as_str().unwrap()).await;
    assert_eq!(content.body.as_ref(), bytes);
    let found = app.search(&user, &json!({"query": "nulls"})).await.json();
    assert_eq!(found["results"][0]["file_id"], info["id"], "{found}");
}

#[rstest]
#[case::unique_numbers((0..200_000).map(|n| n.to_string()).collect::<Vec<_>>().join(" "))]
#[case::unique_words((0..120_000).map(|n| format!("w{n:x}q")).collect::<Vec<_>>().join(" "))]
#[case::one_huge_word("z".repeat(1 << 20))]
#[case::long_lines_of_punctuation("&|!():*<->'\"\\".repeat(80_000))]
#[tokio::test]
async fn text_that_strains_the_search_index_is_stored_never_a_5xx(#[case] text: String) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .upload(
            &user,
            Multipart::new().file("big.txt", "text/plain", text.as_bytes()),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let search = app.search(&user, &json!({"query": "w1fq 17 z"})).await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text());
}
