//! `POST /api/v1/knowledge/files`: streaming multipart upload. The `file` part is written to a
//! temp file while hashed, counted (413 as soon as it passes the limit) and checked against its
//! declared type; then temp → fsync → row inserted in the caller's transaction → rename to
//! `<storage>/<uuid>` → commit (bytes removed if the commit fails).

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::auth::Claims;
use crate::error::AppError;
use crate::extract::ApiMultipart;
use crate::routes::created;
use crate::routes::files::{FileInfo, FileMetadata, FileRow, FILE_COLUMNS};
use crate::state::SharedState;
use crate::storage::TempFile;
use crate::validate::{is_hidden_control, tags_ok, TextRule, DESCRIPTION, TAG, TITLE};
use crate::ALLOWED_MIME_TYPES;

/// Text kept for full-text indexing and snippets. Bounded so a tsvector stays far below
/// PostgreSQL's 1 MB limit whatever the words are.
pub const INDEX_TEXT_CAP: usize = 256 * 1024;
/// Largest `metadata` part.
const METADATA_CAP: usize = 64 * 1024;

/// Reduces a client filename to its last path segment without control, format or bidi
/// characters ([`is_hidden_control`]).
pub fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !is_hidden_control(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return "file".to_owned();
    }
    cleaned.chars().take(255).collect()
}

/// The media type without parameters, lower-cased (`Text/Plain; charset=utf-8` → `text/plain`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Incremental UTF-8 validation across chunk boundaries.
#[derive(Default)]
struct Utf8Check {
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    fn feed(&mut self, chunk: &[u8]) {
        if self.bad {
            return;
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        match std::str::from_utf8(&buf) {
            Ok(_) => {}
            // An incomplete sequence at the end may be completed by the next chunk.
            Err(e) if e.error_len().is_none() => self.carry = buf[e.valid_up_to()..].to_vec(),
            Err(_) => self.bad = true,
        }
    }
    fn valid(&self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

/// What streaming the `file` part produced.
struct Received {
    temp: TempFile,
    filename: String,
    mime: String,
    size: u64,
    sha256: String,
    text: Option<String>,
}

fn multipart_error(e: MultipartError, limit: u64) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(limit)
    } else if raw_control_in_part_header(&e) {
        AppError::InvalidFilename
    } else {
        AppError::InvalidMultipart("The multipart body is malformed or truncated.".into())
    }
}

/// A part header's value holds a raw control byte (`filename="a\x01b"`): the header parser
/// stops there, before the name could be cleaned, so the name is refused as the contract says.
fn raw_control_in_part_header(e: &MultipartError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.downcast_ref::<httparse::Error>() == Some(&httparse::Error::HeaderValue) {
            return true;
        }
        cause = c.source();
    }
    false
}

async fn receive_file(st: &SharedState, mut field: Field<'_>) -> Result<Received, AppError> {
    let limit = st.config.max_upload_bytes;
    let filename =
        sanitize_filename(field.file_name().ok_or_else(|| {
            AppError::InvalidMultipart("The `file` part has no filename.".into())
        })?);
    let mime = essence(field.content_type().unwrap_or_default());
    if !ALLOWED_MIME_TYPES.contains(&mime.as_str()) {
        return Err(AppError::InvalidMimeType(
            field
                .content_type()
                .unwrap_or("(none)")
                .chars()
                .take(100)
                .collect(),
        ));
    }
    let text_like = mime != "application/pdf";
    let temp = TempFile::new(st.storage.temp_path());
    let mut out = tokio::fs::File::create(temp.path()).await?;
    let (mut hasher, mut size, mut utf8) = (Sha256::new(), 0u64, Utf8Check::default());
    let mut head: Vec<u8> = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(AppError::PayloadTooLarge(limit));
        }
        hasher.update(&chunk);
        if text_like {
            utf8.feed(&chunk);
        }
        let keep = if text_like { INDEX_TEXT_CAP } else { 5 };
        if head.len() < keep {
            head.extend_from_slice(&chunk[..chunk.len().min(keep - head.len())]);
        }
        out.write_all(&chunk).await?;
    }
    if size == 0 {
        return Err(AppError::EmptyFile);
    }
    out.sync_all().await?;
    drop(out);
    let text = match mime.as_str() {
        "application/pdf" if !head.starts_with(b"%PDF-") => {
            return Err(AppError::ContentMismatch(
                "The file does not start with %PDF-.".into(),
            ))
        }
        "application/pdf" => None,
        _ if !utf8.valid() => {
            return Err(AppError::ContentMismatch(
                "The file is not valid UTF-8 text.".into(),
            ))
        }
        "application/json" => {
            let path = temp.path().to_path_buf();
            let parses = tokio::task::spawn_blocking(move || {
                let f = std::fs::File::open(path)?;
                Ok::<bool, std::io::Error>(
                    serde_json::from_reader::<_, serde::de::IgnoredAny>(std::io::BufReader::new(f))
                        .is_ok(),
                )
            })
            .await
            .map_err(|e| AppError::Internal(e.into()))??;
            if !parses {
                return Err(AppError::ContentMismatch(
                    "The file is not valid JSON.".into(),
                ));
            }
            Some(index_text(&head))
        }
        _ => Some(index_text(&head)),
    };
    Ok(Received {
        temp,
        filename,
        mime,
        size,
        sha256: hex::encode(hasher.finalize()),
        text,
    })
}

/// Text for the index: lossy at the cap's cut, NUL removed (PostgreSQL text cannot hold it).
fn index_text(head: &[u8]) -> String {
    String::from_utf8_lossy(head).replace('\0', " ")
}

async fn receive_metadata(mut field: Field<'_>, limit: u64) -> Result<FileMetadata, AppError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        if buf.len() + chunk.len() > METADATA_CAP {
            return Err(AppError::InvalidMetadata(format!(
                "The metadata part exceeds {METADATA_CAP} bytes."
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    parse_metadata(&buf)
}

/// Parses and bounds the `metadata` part.
fn parse_metadata(buf: &[u8]) -> Result<FileMetadata, AppError> {
    let bad = || {
        AppError::InvalidMetadata(
            "The metadata part is not a JSON object with title, description and tags.".into(),
        )
    };
    // Via a Value: serde would accept an array for a struct (fields by position).
    let value: serde_json::Value = serde_json::from_slice(buf).map_err(|_| bad())?;
    if !value.is_object() {
        return Err(bad());
    }
    let meta: FileMetadata = serde_json::from_value(value).map_err(|_| bad())?;
    let breaks =
        |s: &Option<String>, rule: TextRule| s.as_deref().is_some_and(|s| !rule.accepts(s));
    if breaks(&meta.title, TITLE) || breaks(&meta.description, DESCRIPTION) {
        return Err(AppError::InvalidMetadata(
            "title is limited to 512 and description to 4096 characters.".into(),
        ));
    }
    if meta.tags.as_ref().is_some_and(|t| !tags_ok(t, TAG)) {
        return Err(AppError::InvalidMetadata(
            "tags must be at most 32 strings of 1-64 characters.".into(),
        ));
    }
    Ok(meta)
}

/// The multipart upload form: no parts but these two, each at most once.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documentation only
pub struct UploadForm {
    /// The file: needs a filename and a Content-Type from the allow-list (see the form's
    /// `encoding`), and bytes of that type: UTF-8 text for `text/*`, JSON that parses for
    /// `application/json`, `%PDF-` first for `application/pdf`; at least one byte.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Optional JSON object `{title, description, tags}`; omit the part rather than send `null`.
    #[schema(required = false)]
    metadata: crate::routes::files::FileMetadata,
}

/// Uploads a file.
#[utoipa::path(post, path = "/api/v1/knowledge/files", operation_id = "uploadFile", tag = "knowledge", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Stored", body = FileInfo, headers(("Location" = String, description = "URL of the new file")),
        links(
            ("getFile" = (operation_id = "getFile", parameters(("id" = "$response.body#/id")), description = "The file just stored")),
            ("getFileContent" = (operation_id = "getFileContent", parameters(("id" = "$response.body#/id")), description = "Its bytes")),
            ("deleteFile" = (operation_id = "deleteFile", parameters(("id" = "$response.body#/id")), description = "Deletes the file just stored"))))))]
pub async fn upload(
    State(st): State<SharedState>,
    claims: Claims,
    ApiMultipart(mut form): ApiMultipart,
) -> Result<Response, AppError> {
    let limit = st.config.max_upload_bytes;
    let (mut file, mut metadata) = (None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        match field.name() {
            Some("file") if file.is_none() => file = Some(receive_file(&st, field).await?),
            Some("metadata") if metadata.is_none() => {
                metadata = Some(receive_metadata(field, limit).await?)
            }
            Some("file" | "metadata") => {
                return Err(AppError::InvalidMultipart("A part is repeated.".into()))
            }
            _ => {
                return Err(AppError::InvalidMultipart(
                    "Only the parts `file` and `metadata` are accepted.".into(),
                ))
            }
        }
    }
    let file =
        file.ok_or_else(|| AppError::InvalidMultipart("The `file` part is missing.".into()))?;
    let id = st.config.new_id();
    let sealed = metadata.as_ref().map(|m| {
        let plain = serde_json::to_vec(m).expect("metadata serialises");
        st.keys.seal(&plain, id, claims.sub)
    });
    let meta_words = metadata
        .as_ref()
        .map(|m| {
            [
                m.title.clone().unwrap_or_default(),
                m.description.clone().unwrap_or_default(),
                m.tags.clone().unwrap_or_default().join(" "),
            ]
            .join(" ")
        })
        .unwrap_or_default()
        .replace('\0', " ");
    let body_text = file.text.clone().unwrap_or_default();
    let name_words = file.filename.replace(['.', '_', '-'], " ");
    let mut tx = st.db.tenant_tx(&claims).await?;
    let row: FileRow = sqlx::query_as(&format!(
        // The id's upload lock, held until the transaction ends: the sweeper leaves this
        // upload's bytes alone for as long as its COMMIT may still land (`Db::settled_row`).
        "INSERT INTO knowledge_files (id, owner_id, filename, mime_type, size_bytes, sha256,
            metadata_ciphertext, metadata_nonce, metadata_key_id, search_text, search_vector)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
            setweight(to_tsvector('english', $3 || ' ' || $11), 'A')
            || setweight(to_tsvector('english', $12), 'B')
            || setweight(to_tsvector('english', $13), 'C')
         FROM pg_advisory_xact_lock($14)
         RETURNING {FILE_COLUMNS}"
    ))
    .bind(id)
    .bind(claims.sub)
    .bind(&file.filename)
    .bind(&file.mime)
    .bind(file.size as i64)
    .bind(&file.sha256)
    .bind(sealed.as_ref().map(|s| s.ciphertext.clone()))
    .bind(sealed.as_ref().map(|s| s.nonce.clone()))
    .bind(sealed.as_ref().map(|s| s.key_id.clone()))
    .bind(format!("{}\n{}", file.filename, body_text))
    .bind(&name_words)
    .bind(&meta_words)
    .bind(&body_text)
    .bind(crate::db::upload_lock(id))
    .fetch_one(tx.conn())
    .await?;
    let final_path = st.storage.path_of(id);
    // Until the commit's outcome is known the marker lets the sweeper settle the bytes.
    st.storage.mark_pending(id, claims.sub).await?;
    tokio::fs::rename(file.temp.path(), &final_path).await?;
    file.temp.keep();
    if let Err(e) = st.storage.sync_dir().await {
        tracing::warn!(error = %e, "could not fsync the storage directory");
    }
    if let Err(e) = tx.commit().await {
        // A failed COMMIT may still have committed (connection lost after sending it). Delete
        // the bytes only when the row is known to be absent: a row without bytes would be a
        // visible half-file, bytes without a row are invisible.
        match st.db.file_row_exists(&claims, id).await {
            Ok(true) => {
                tracing::warn!(file_id = %id, "commit reported an error but the row exists")
            }
            Ok(false) => {
                let _ = tokio::fs::remove_file(&final_path).await;
                st.storage.clear_pending(id, claims.sub).await;
                return Err(e);
            }
            Err(_) => {
                tracing::warn!(file_id = %id, "commit outcome unknown: the sweeper settles it");
                return Err(e);
            }
        }
    }
    st.storage.clear_pending(id, claims.sub).await;
    let info = row.into_info(&st.keys)?;
    Ok(created(format!("/api/v1/knowledge/files/{id}"), info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_reduced_to_a_safe_last_segment() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_filename("a\0b\nc.txt"), "abc.txt");
        assert_eq!(
            sanitize_filename("invoice\u{202e}txt.exe"),
            "invoicetxt.exe"
        );
        assert_eq!(
            sanitize_filename("\u{feff}a\u{200b}b\u{2028}c\u{2029}d\u{2066}.txt"),
            "abcd.txt"
        );
        assert_eq!(sanitize_filename("\u{202e}\u{200b}"), "file");
        assert_eq!(sanitize_filename("dir/"), "file");
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename(&"x".repeat(1000)).chars().count(), 255);
    }

    #[test]
    fn utf8_check_handles_sequences_split_across_chunks() {
        let text = "h\u{e9}llo \u{1f600}".as_bytes();
        for cut in 0..text.len() {
            let mut c = Utf8Check::default();
            c.feed(&text[..cut]);
            c.feed(&text[cut..]);
            assert!(c.valid(), "cut at {cut}");
        }
        let mut c = Utf8Check::default();
        c.feed(&[0xff, b'a']);
        assert!(!c.valid());
        let mut c = Utf8Check::default();
        c.feed(&[0xe2, 0x82]);
        assert!(!c.valid(), "truncated sequence at the end");
    }

    #[test]
    fn metadata_must_be_a_bounded_object() {
        let ok = parse_metadata(br#"{"title":"t","tags":["a"]}"#).unwrap();
        assert_eq!(ok.title.as_deref(), Some("t"));
        for bad in [
            &br#"["t", "d", ["x"]]"#[..],
            b"null",
            b"{\"colour\":1}",
            b"{\"tags\":[\"\"]}",
            b"{oops",
        ] {
            assert!(
                matches!(parse_metadata(bad), Err(AppError::InvalidMetadata(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn mime_essence_drops_parameters() {
        assert_eq!(essence("Text/Plain; charset=utf-8"), "text/plain");
    }
}
