//! The knowledge-file routes: upload (types, content checks, metadata), get, content download and
//! delete, and invalid ids on each. (Listing is in `listing`, limits in `upload_limits`.)

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::{sorted_keys, Multipart, TestApp};

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const ALLOWED: [&str; 5] = [
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/pdf",
];

/// Files whose name contains `id` anywhere under the server's storage directory.
pub fn stored_files_named(app: &TestApp, id: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, id: &str, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, id, found);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains(id))
            {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(
        std::path::Path::new(&app.config.storage_dir),
        id,
        &mut found,
    );
    found
}

#[tokio::test]
async fn uploading_a_file_returns_201_with_location_and_its_file_info() {
    let app = TestApp::shared();
    let user = app.new_user();
    let bytes = b"# Notes\nThe quick brown fox.\n";
    let metadata =
        json!({"title": "Fox notes", "description": "a test file", "tags": ["fox", "notes"]});
    let form = Multipart::new()
        .file("notes.md", "text/markdown", bytes)
        .metadata(&metadata);

    let reply = app.upload(&user, form).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.assert_conventions();
    let info = reply.json();
    let id = info["id"].as_str().unwrap();
    Uuid::parse_str(id).expect("id is a UUID");
    let location = reply.header("location").expect("Location");
    assert!(
        location.ends_with(&format!("/api/v1/knowledge/files/{id}")),
        "Location {location}"
    );
    let keys = sorted_keys(&info);
    assert_eq!(
        keys,
        [
            "created_at",
            "filename",
            "id",
            "metadata",
            "mime_type",
            "sha256",
            "size_bytes"
        ]
    );
    assert_eq!(info["filename"], "notes.md");
    assert_eq!(info["mime_type"], "text/markdown");
    assert_eq!(info["size_bytes"], bytes.len());
    assert_eq!(info["sha256"], hex::encode(Sha256::digest(bytes)));
    assert_eq!(info["metadata"]["title"], "Fox notes");
    assert_eq!(info["metadata"]["description"], "a test file");
    assert_eq!(info["metadata"]["tags"], json!(["fox", "notes"]));
    chrono::DateTime::parse_from_rfc3339(info["created_at"].as_str().unwrap())
        .expect("created_at is RFC 3339");
    assert_eq!(
        app.get_file(&user, id).await.json(),
        info,
        "GET returns what the upload returned"
    );
}

#[rstest]
#[case::plain("a.txt", "text/plain", b"plain text \xc3\xa9\n")]
#[case::markdown("a.md", "text/markdown", b"# Title\n\n*body*\n")]
#[case::csv("a.csv", "text/csv", b"name,value\nfox,1\n")]
#[case::json("a.json", "application/json", br#"{"fox": [1, 2, 3]}"#)]
#[case::pdf("a.pdf", "application/pdf", PDF)]
#[tokio::test]
async fn every_allowed_mime_type_is_accepted(
    #[case] name: &str,
    #[case] mime: &str,
    #[case] bytes: &[u8],
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let info = app.upload_ok(&user, name, mime, bytes).await;
    assert_eq!(info["mime_type"], mime);

    let content = app.download(&user, info["id"].as_str().unwrap()).await;
    assert_eq!(content.status, StatusCode::OK);
    assert_eq!(content.body.as_ref(), bytes);
}

#[rstest]
#[case::png("image/png")]
#[case::html("text/html")]
#[case::octet_stream("application/octet-stream")]
#[case::nonsense("not a mime type")]
#[tokio::test]
async fn an_unsupported_mime_type_is_refused_with_the_allowed_list(#[case] mime: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .upload(&user, Multipart::new().file("a.bin", mime, b"hello"))
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_mime_type");
    let suggestion = reply.suggestion();
    for allowed in ALLOWED {
        assert!(
            suggestion.contains(allowed),
            "suggestion {suggestion:?} misses {allowed}"
        );
    }
}

#[rstest]
#[case::bad_json_declared_json("a.json", "application/json", b"{not json")]
#[case::text_declared_pdf("a.pdf", "application/pdf", b"hello, I am not a PDF")]
#[case::invalid_utf8_declared_text("a.txt", "text/plain", b"\xff\xfe\x00bad")]
#[case::invalid_utf8_declared_csv("a.csv", "text/csv", b"a,b\n\xc3\x28,1\n")]
#[case::invalid_utf8_declared_markdown("a.md", "text/markdown", b"# \xe2\x28\xa1")]
#[tokio::test]
async fn bytes_that_disagree_with_the_declared_type_are_a_content_mismatch(
    #[case] name: &str,
    #[case] mime: &str,
    #[case] bytes: &[u8],
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .upload(&user, Multipart::new().file(name, mime, bytes))
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "content_mismatch");
    assert_eq!(
        app.list_files(&user, "").await.json()["items"],
        json!([]),
        "nothing was stored"
    );
}

#[tokio::test]
async fn an_empty_file_is_refused() {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .upload(&user, Multipart::new().file("empty.txt", "text/plain", b""))
        .await;

    reply.assert_problem(StatusCode::BAD_REQUEST, "empty_file");
}

#[tokio::test]
async fn the_content_download_carries_the_stored_type_and_an_encoded_filename() {
    let app = TestApp::shared();
    let user = app.new_user();
    let bytes = "a,b\n1,2\n".as_bytes();
    let reply = app
        .upload(
            &user,
            Multipart::new().file("résumé 2024.csv", "text/csv", bytes),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let id = reply.json()["id"].as_str().unwrap().to_owned();

    let content = app.download(&user, &id).await;

    assert_eq!(content.status, StatusCode::OK);
    content.assert_conventions();
    assert!(content
        .header("content-type")
        .unwrap()
        .starts_with("text/csv"));
    let disposition = content
        .header("content-disposition")
        .expect("Content-Disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%202024.csv"),
        "{disposition}"
    );
    assert_eq!(content.body.as_ref(), bytes);
}

#[tokio::test]
async fn deleting_a_file_returns_204_then_404_and_removes_its_bytes() {
    let app = TestApp::shared();
    let user = app.new_user();
    let id = app
        .upload_ok(&user, "gone.txt", "text/plain", b"soon gone")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        stored_files_named(&app, &id).len(),
        1,
        "the bytes are stored under the file's UUID"
    );

    let deleted = app.delete_file(&user, &id).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    deleted.assert_conventions();

    app.get_file(&user, &id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.download(&user, &id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete_file(&user, &id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let search = app
        .search(&user, &serde_json::json!({"query": "soon gone"}))
        .await;
    assert_eq!(
        search.json()["results"],
        serde_json::json!([]),
        "a deleted file is not found"
    );
    assert_eq!(
        stored_files_named(&app, &id),
        Vec::<std::path::PathBuf>::new(),
        "the bytes are gone"
    );
}

#[rstest]
#[case::word("abc")]
#[case::almost_uuid("0000000-0000-0000-0000-000000000000")]
#[case::sql("1%27%20OR%20%271%27=%271")]
#[case::encoded_traversal("..%2F..%2Fetc%2Fpasswd")]
#[case::encoded_nul("%00")]
#[case::uuid_with_suffix("3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f.txt")]
#[case::very_long(&"7".repeat(4000))]
#[tokio::test]
async fn a_non_uuid_id_is_invalid_id_on_every_file_route(#[case] id: &str) {
    let app = TestApp::shared();
    let user = app.new_user();

    app.get_file(&user, id)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_id");
    app.download(&user, id)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_id");
    app.delete_file(&user, id)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_id");
}

#[tokio::test]
async fn separators_in_a_filename_cannot_inject_content_disposition_parameters() {
    let app = TestApp::shared();
    let user = app.new_user();
    let info = app
        .upload_ok(&user, "a;b=c %.txt", "text/plain", b"x")
        .await;

    let content = app.download(&user, info["id"].as_str().unwrap()).await;

    let disposition = content.header("content-disposition").unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''a%3Bb%3Dc%20%25.txt"),
        "{disposition}"
    );
    assert!(
        !disposition.contains("b=c"),
        "a raw separator reached the header: {disposition}"
    );
}

#[rstest]
#[case::with_a_charset("text/plain; charset=utf-8", "text/plain")]
#[case::upper_case("TEXT/Markdown", "text/markdown")]
#[case::spaces_around(" application/json ", "application/json")]
#[tokio::test]
async fn a_declared_type_is_matched_case_insensitively_without_its_parameters(
    #[case] declared: &str,
    #[case] stored: &str,
) {
    let app = TestApp::shared();
    let user = app.new_user();

    let info = app.upload_ok(&user, "a.txt", declared, b"{}").await;

    assert_eq!(info["mime_type"], stored);
}

#[tokio::test]
async fn the_metadata_part_may_come_before_the_file_part() {
    let app = TestApp::shared();
    let user = app.new_user();
    let form = Multipart::new().metadata(&json!({"title": "first"})).file(
        "second.txt",
        "text/plain",
        b"x",
    );

    let reply = app.upload(&user, form).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["metadata"]["title"], "first");
}
