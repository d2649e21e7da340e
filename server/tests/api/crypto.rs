//! Encrypted metadata: the stored column is not plaintext, and ciphertext moved into another row
//! (another tenant's, or another file of the same tenant) fails to decrypt and surfaces as a clean
//! error — never as the other row's data, never with internals.

use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::{Multipart, TestApp, User};

/// The `knowledge_files` columns that hold the encrypted metadata (ciphertext, nonce, key id).
async fn metadata_columns(db: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_name = 'knowledge_files' AND data_type <> 'tsvector' \
         AND (column_name ILIKE '%meta%' OR column_name ILIKE '%nonce%' OR column_name ILIKE '%cipher%' \
              OR column_name ILIKE '%key%' OR column_name ILIKE '%kid%') ORDER BY column_name",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

async fn upload_with_title(app: &TestApp, user: &User, title: &str) -> Value {
    let form = Multipart::new()
        .file("doc.txt", "text/plain", b"body")
        .metadata(&json!({"title": title, "tags": ["x"]}));
    let reply = app.upload(user, form).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

/// The superuser (RLS does not apply) stands in for an attacker with database access.
async fn superuser(app: &TestApp) -> PgConnection {
    PgConnection::connect(&app.superuser_database_url())
        .await
        .expect("the superuser connects")
}

#[tokio::test]
async fn stored_metadata_is_not_plaintext() {
    let app = TestApp::shared();
    let user = app.new_user();
    let title = format!("plaintext-marker-{}", Uuid::new_v4().simple());
    let file = upload_with_title(&app, &user, &title).await;
    let mut db = superuser(&app).await;

    let columns = metadata_columns(&mut db).await;
    assert!(
        !columns.is_empty(),
        "no metadata column found in knowledge_files"
    );
    let row: String = sqlx::query_scalar(
        "SELECT row_to_json(k)::text FROM knowledge_files k WHERE id = $1::uuid",
    )
    .bind(file["id"].as_str().unwrap())
    .fetch_one(&mut db)
    .await
    .unwrap();
    for column in &columns {
        let raw: Option<String> = sqlx::query_scalar(&format!(
            "SELECT {column}::text FROM knowledge_files WHERE id = $1::uuid"
        ))
        .bind(file["id"].as_str().unwrap())
        .fetch_one(&mut db)
        .await
        .unwrap();
        let raw = raw.unwrap_or_default();
        assert!(
            !raw.contains(&title) && !raw.contains(&hex::encode(&title)),
            "{column} holds the plaintext"
        );
    }
    assert!(
        !row.contains(&format!("\"{title}\"")),
        "the row holds the title as a JSON string: {row}"
    );
}

#[rstest]
#[case::into_another_tenants_row(true)]
#[case::into_another_file_of_the_same_tenant(false)]
#[tokio::test]
async fn metadata_ciphertext_moved_to_another_row_is_a_clean_error(#[case] cross_tenant: bool) {
    let app = TestApp::shared();
    let (victim, attacker) = (app.new_user(), app.new_user());
    let thief = if cross_tenant { &attacker } else { &victim };
    let secret_title = format!("victim-secret-{}", Uuid::new_v4().simple());
    let source = upload_with_title(&app, &victim, &secret_title).await;
    let target = upload_with_title(&app, thief, "thief's own title").await;
    let mut db = superuser(&app).await;

    let columns = metadata_columns(&mut db).await.join(", ");
    let copy = format!(
        "UPDATE knowledge_files SET ({columns}) = (SELECT {columns} FROM knowledge_files WHERE id = $1::uuid) WHERE id = $2::uuid"
    );
    let moved = sqlx::query(&copy)
        .bind(source["id"].as_str().unwrap())
        .bind(target["id"].as_str().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected(), 1);

    let reply = app.get_file(thief, target["id"].as_str().unwrap()).await;

    // The AEAD tag does not verify under the target row's id and owner: a logged internal error.
    reply.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(
        !reply.text().contains(&secret_title),
        "the moved metadata was decrypted: {}",
        reply.text()
    );
    let listed = app.list_files(thief, "").await;
    assert!(
        !listed.text().contains(&secret_title),
        "listed: {}",
        listed.text()
    );
    assert_eq!(
        app.get_file(&victim, source["id"].as_str().unwrap())
            .await
            .json()["metadata"]["title"],
        secret_title
    );
}

#[tokio::test]
async fn a_rotated_key_ring_reads_old_metadata_and_seals_new_metadata_with_the_new_key() {
    let app = TestApp::shared();
    let user = app.new_user();
    let old_kid = app
        .config
        .metadata_key
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let old = upload_with_title(&app, &user, "sealed under the old key").await;
    let new_key = knowledge_server::crypto::random_metadata_key("rotated");
    let rotated = app
        .replica(|config| config.metadata_key = format!("{new_key},{}", config.metadata_key))
        .await;

    let read = rotated.get_file(&user, old["id"].as_str().unwrap()).await;
    assert_eq!(read.json()["metadata"]["title"], "sealed under the old key");
    let new = upload_with_title(&rotated, &user, "sealed under the new key").await;

    let mut db = superuser(&app).await;
    let kid = |id: &Value| {
        sqlx::query_scalar::<_, String>(
            "SELECT metadata_key_id FROM knowledge_files WHERE id = $1::uuid",
        )
        .bind(id["id"].as_str().unwrap().to_owned())
    };
    assert_eq!(kid(&old).fetch_one(&mut db).await.unwrap(), old_kid);
    assert_eq!(kid(&new).fetch_one(&mut db).await.unwrap(), "rotated");
    // A server that lacks the new key cannot read it, and says so cleanly.
    let unreadable = app.get_file(&user, new["id"].as_str().unwrap()).await;
    unreadable.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(
        !unreadable.text().contains("sealed under"),
        "{}",
        unreadable.text()
    );
}

#[tokio::test]
async fn equal_metadata_is_sealed_with_a_fresh_nonce_each_time() {
    let app = TestApp::shared();
    let user = app.new_user();
    let first = upload_with_title(&app, &user, "same title").await;
    let second = upload_with_title(&app, &user, "same title").await;
    let mut db = superuser(&app).await;

    let sealed: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT metadata_nonce, metadata_ciphertext FROM knowledge_files WHERE id = ANY($1::uuid[]) ORDER BY id",
    )
    .bind(vec![first["id"].as_str().unwrap().to_owned(), second["id"].as_str().unwrap().to_owned()])
    .fetch_all(&mut db)
    .await
    .unwrap();

    assert_eq!(sealed.len(), 2);
    assert!(sealed[0].0.len() >= 12, "a 96-bit (or longer) nonce");
    assert_ne!(sealed[0].0, sealed[1].0, "nonces repeat");
    assert_ne!(
        sealed[0].1, sealed[1].1,
        "equal plaintexts give equal ciphertexts"
    );
}
