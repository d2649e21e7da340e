//! Whole-body snapshots (insta, inline) of the shapes the contract spells out, with the values that
//! change on every run redacted, so an added, renamed or re-ordered field is a visible diff.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Multipart, TestApp};

#[tokio::test]
async fn the_invalid_mime_type_problem_is_the_contracts_example() {
    let app = TestApp::shared();
    let user = app.new_user();

    let reply = app
        .upload(
            &user,
            Multipart::new().file("a.png", "image/png", b"\x89PNG"),
        )
        .await;

    let body = reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_mime_type");
    insta::assert_json_snapshot!(body, {".request_id" => "[request_id]"}, @r#"
    {
      "type": "https://knowledge.dev/problems/invalid-mime-type",
      "title": "Unsupported file type",
      "status": 400,
      "detail": "The declared content type \"image/png\" is not accepted.",
      "code": "invalid_mime_type",
      "suggestion": "Upload one of: text/plain, text/markdown, text/csv, application/json, application/pdf.",
      "request_id": "[request_id]"
    }
    "#);
}

#[tokio::test]
async fn file_info_has_the_contracts_fields() {
    let app = TestApp::shared();
    let user = app.new_user();
    let form = Multipart::new()
        .file("notes.txt", "text/plain", b"hello")
        .metadata(&json!({"title": "T", "description": "D", "tags": ["a", "b"]}));

    let reply = app.upload(&user, form).await;

    assert_eq!(reply.status, StatusCode::CREATED);
    insta::assert_json_snapshot!(reply.json(), {".id" => "[id]", ".created_at" => "[datetime]"}, @r#"
    {
      "id": "[id]",
      "filename": "notes.txt",
      "mime_type": "text/plain",
      "size_bytes": 5,
      "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
      "metadata": {
        "title": "T",
        "description": "D",
        "tags": [
          "a",
          "b"
        ]
      },
      "created_at": "[datetime]"
    }
    "#);
}
