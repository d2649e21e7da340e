//! Knowledge files: list (keyset paging), get, delete (row then bytes) and content download.
//! The upload lives in [`crate::routes::upload`]. Metadata is decrypted for its owner only.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Claims;
use crate::crypto::{Keyring, Sealed};
use crate::encode::{self, JsonBytes};
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::{page_limit, Cursor, Listed, Page};
use crate::shape::{cursor, page, Field, Shape};
use crate::state::SharedState;
use crate::validate::LIST_PAGE;

pub use crate::routes::upload::upload;

/// Optional descriptive metadata of a file (encrypted at rest).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileMetadata {
    /// Title, up to 512 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description, up to 4096 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Up to 32 tags of 1–64 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// A stored file as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FileInfo {
    /// Id (also the name of the stored bytes).
    pub id: Uuid,
    /// The sanitised client filename.
    pub filename: String,
    /// The declared (allow-listed) content type.
    pub mime_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Decrypted metadata, `null` when none was given.
    pub metadata: Option<FileMetadata>,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// A row of `knowledge_files` (without the search columns): [`FILE_COLUMNS`], in their order.
pub struct FileRow {
    id: Uuid,
    owner_id: Uuid,
    filename: String,
    mime_type: String,
    size_bytes: i64,
    sha256: String,
    metadata_ciphertext: Option<Vec<u8>>,
    metadata_nonce: Option<Vec<u8>>,
    metadata_key_id: Option<String>,
    created_at: DateTime<Utc>,
}

/// Columns of [`FileRow`]: every query that reads one selects (or returns) these first, in
/// this order.
pub const FILE_COLUMNS: &str =
    "id, owner_id, filename, mime_type, size_bytes, sha256, metadata_ciphertext, metadata_nonce, metadata_key_id, created_at";

/// By position, not by name: a name costs a hash lookup per column and row. The column types
/// are the migrations' (the API tests read every one through this), so they are not compared
/// again per value; each value is still decoded strictly (its width, UTF-8, NULL only where
/// the field is an `Option`).
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for FileRow {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(FileRow {
            id: row.try_get_unchecked(0)?,
            owner_id: row.try_get_unchecked(1)?,
            filename: row.try_get_unchecked(2)?,
            mime_type: row.try_get_unchecked(3)?,
            size_bytes: row.try_get_unchecked(4)?,
            sha256: row.try_get_unchecked(5)?,
            metadata_ciphertext: row.try_get_unchecked(6)?,
            metadata_nonce: row.try_get_unchecked(7)?,
            metadata_key_id: row.try_get_unchecked(8)?,
            created_at: row.try_get_unchecked(9)?,
        })
    }
}

impl FileRow {
    /// Decrypts the metadata; a failure (moved or tampered ciphertext, unknown key) is logged
    /// and becomes a bare 500 — never someone else's data.
    pub fn into_info(self, keys: &Keyring) -> Result<FileInfo, AppError> {
        let metadata = match (
            self.metadata_ciphertext,
            self.metadata_nonce,
            self.metadata_key_id,
        ) {
            (Some(ciphertext), Some(nonce), Some(key_id)) => {
                let sealed = Sealed {
                    ciphertext,
                    nonce,
                    key_id,
                };
                let plain = keys.open(&sealed, self.id, self.owner_id).map_err(|e| {
                    AppError::Internal(anyhow::Error::new(e).context(format!("file {}", self.id)))
                })?;
                let meta: FileMetadata = serde_json::from_slice(&plain).map_err(|e| {
                    AppError::Internal(
                        anyhow::Error::new(e).context("stored metadata is not valid JSON"),
                    )
                })?;
                Some(meta)
            }
            _ => None,
        };
        Ok(FileInfo {
            id: self.id,
            filename: self.filename,
            mime_type: self.mime_type,
            size_bytes: self.size_bytes,
            sha256: self.sha256,
            metadata,
            created_at: self.created_at,
        })
    }
}

/// `GET /api/v1/knowledge/files` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListFilesQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of files.
pub type FilePage = Page<FileInfo>;

impl Listed for FileInfo {
    const PAGE: &'static str = "FilePage";
    const DESCRIPTION: &'static str = "A page of files.";
}

impl FileInfo {
    /// Appends the JSON `serde_json` writes for this file ([`crate::encode`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"id":"#);
        encode::uuid(out, &self.id);
        out.extend_from_slice(br#","filename":"#);
        encode::string(out, &self.filename);
        out.extend_from_slice(br#","mime_type":"#);
        encode::string(out, &self.mime_type);
        out.extend_from_slice(br#","size_bytes":"#);
        encode::value(out, &self.size_bytes);
        out.extend_from_slice(br#","sha256":"#);
        encode::string(out, &self.sha256);
        out.extend_from_slice(br#","metadata":"#);
        match &self.metadata {
            None => out.extend_from_slice(b"null"),
            Some(meta) => encode::value(out, meta),
        }
        out.extend_from_slice(br#","created_at":"#);
        encode::time(out, &self.created_at);
        out.push(b'}');
    }
}

impl FilePage {
    /// The JSON `serde_json` writes for this page, in one buffer sized for it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 320 * self.items.len());
        out.extend_from_slice(br#"{"items":["#);
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(&mut out);
        }
        out.extend_from_slice(br#"],"next_cursor":"#);
        match &self.next_cursor {
            None => out.extend_from_slice(b"null"),
            Some(c) => encode::string(&mut out, c),
        }
        out.push(b'}');
        out
    }
}

/// Lists the caller's files, newest first.
#[utoipa::path(get, path = "/api/v1/knowledge/files", operation_id = "listFiles", tag = "knowledge", security(("bearer" = [])), params(ListFilesQuery),
    responses((status = 200, description = "A page of files", body = FilePage)))]
pub async fn list(
    State(st): State<SharedState>,
    claims: Claims,
    ApiQuery(q): ApiQuery<ListFilesQuery>,
) -> Result<JsonBytes, AppError> {
    let limit = page_limit(q.limit, LIST_PAGE)?;
    let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
    let mut tx = st.db.tenant_tx(&claims).await?;
    static LIST_SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {FILE_COLUMNS} FROM knowledge_files
             WHERE owner_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
             ORDER BY created_at DESC, id DESC LIMIT $4"
        )
    });
    let rows: Vec<FileRow> = sqlx::query_as(&LIST_SQL)
        .bind(claims.sub)
        .bind(cursor.map(|c| c.created_at))
        .bind(cursor.map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(tx.conn())
        .await?;
    tx.finish_read();
    let page = Page::cut(rows, limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id,
    });
    Ok(JsonBytes(
        page.try_map(|r| r.into_info(&st.keys))?.to_json(),
    ))
}

async fn fetch(st: &SharedState, claims: &Claims, id: Uuid) -> Result<FileRow, AppError> {
    let mut tx = st.db.tenant_tx(claims).await?;
    let row: Option<FileRow> = sqlx::query_as(&format!(
        "SELECT {FILE_COLUMNS} FROM knowledge_files WHERE id = $1 AND owner_id = $2"
    ))
    .bind(id)
    .bind(claims.sub)
    .fetch_optional(tx.conn())
    .await?;
    tx.finish_read();
    row.ok_or(AppError::NotFound)
}

/// One file's description.
#[utoipa::path(get, path = "/api/v1/knowledge/files/{id}", operation_id = "getFile", tag = "knowledge", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses((status = 200, description = "The file", body = FileInfo)))]
pub async fn get_one(
    State(st): State<SharedState>,
    claims: Claims,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FileInfo>, AppError> {
    Ok(Json(fetch(&st, &claims, id).await?.into_info(&st.keys)?))
}

/// Deletes the row, then the stored bytes.
#[utoipa::path(delete, path = "/api/v1/knowledge/files/{id}", operation_id = "deleteFile", tag = "knowledge", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(st): State<SharedState>,
    claims: Claims,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    let mut tx = st.db.tenant_tx(&claims).await?;
    let deleted = sqlx::query("DELETE FROM knowledge_files WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(claims.sub)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if deleted == 0 {
        tx.commit().await?;
        return Err(AppError::NotFound);
    }
    // Row first: a crash after the commit leaves unreachable bytes, never a row without bytes,
    // and the pending marker (written once the row is known to be the caller's) lets the
    // sweeper remove them.
    st.storage.mark_pending(id, claims.sub).await?;
    st.storage.sync_dir().await?;
    tx.commit().await?;
    match tokio::fs::remove_file(st.storage.path_of(id)).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(error = %e, file_id = %id, "could not remove stored bytes of a deleted file");
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    st.storage.clear_pending(id, claims.sub).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A file's bytes, as uploaded.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct RawBytes(Vec<u8>);

/// RFC 6266/8187 attachment header with the filename percent-encoded as UTF-8.
pub fn content_disposition(filename: &str) -> HeaderValue {
    // Everything but RFC 5987 attr-chars is encoded.
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(filename, ATTR);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Streams the stored bytes.
#[utoipa::path(get, path = "/api/v1/knowledge/files/{id}/content", operation_id = "getFileContent", tag = "knowledge", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "File id")),
    responses((status = 200, description = "The raw bytes with the stored content type",
        content((inline(RawBytes) = "application/octet-stream"), (String = "text/plain"), (String = "text/markdown"), (String = "text/csv"),
            (serde_json::Value = "application/json"), (inline(RawBytes) = "application/pdf")))))]
pub async fn content(
    State(st): State<SharedState>,
    claims: Claims,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, AppError> {
    let row = fetch(&st, &claims, id).await?;
    let file = match tokio::fs::File::open(st.storage.path_of(id)).await {
        Ok(file) => file,
        // A delete committed (row, then bytes) between our read of the row and the open: the
        // file no longer exists for the caller. Only a row still present without its bytes is
        // a server fault. (An open handle keeps streaming after a later unlink.)
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(match fetch(&st, &claims, id).await {
                Err(AppError::NotFound) => AppError::NotFound,
                Err(other) => other,
                Ok(_) => AppError::Internal(
                    anyhow::Error::new(e).context(format!("stored bytes of file {id} are missing")),
                ),
            });
        }
        Err(e) => {
            return Err(AppError::Internal(
                anyhow::Error::new(e).context(format!("cannot open stored bytes of file {id}")),
            ))
        }
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(row.size_bytes));
    h.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&row.filename),
    );
    Ok(res)
}

impl Shape for ListFilesQuery {
    fn fields() -> &'static [Field] {
        crate::fields! {
            vec![
                Field::optional("limit", page(LIST_PAGE)),
                Field::optional("cursor", cursor()),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_written_as_serde_json_writes_it() {
        let file = |filename: &str, metadata: Option<FileMetadata>, nanos: u32| FileInfo {
            id: Uuid::new_v4(),
            filename: filename.into(),
            mime_type: "text/plain".into(),
            size_bytes: 1234,
            sha256: "ab".repeat(32),
            metadata,
            created_at: DateTime::from_timestamp(1_780_000_000, nanos).unwrap(),
        };
        let meta = FileMetadata {
            title: Some("T\"itle\n\u{e9}".into()),
            description: None,
            tags: Some(vec!["a".into(), "b\\c".into()]),
        };
        let pages = [
            FilePage {
                items: vec![],
                next_cursor: None,
            },
            FilePage {
                items: vec![
                    file("a.txt", None, 0),
                    file("r\u{e9}sum\u{e9} \"1\".md", Some(meta), 123_456_000),
                    file("tab\there", Some(FileMetadata::default()), 5),
                ],
                next_cursor: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
            },
        ];
        for page in pages {
            assert_eq!(
                String::from_utf8(page.to_json()).unwrap(),
                serde_json::to_string(&page).unwrap()
            );
        }
    }

    #[test]
    fn rows_are_read_by_the_position_of_file_columns() {
        // `FileRow::from_row` reads these positions; a reordered FILE_COLUMNS must change it.
        let names: Vec<&str> = FILE_COLUMNS.split(", ").collect();
        assert_eq!(
            names,
            [
                "id",
                "owner_id",
                "filename",
                "mime_type",
                "size_bytes",
                "sha256",
                "metadata_ciphertext",
                "metadata_nonce",
                "metadata_key_id",
                "created_at"
            ]
        );
    }

    #[test]
    fn content_disposition_percent_encodes_utf8() {
        assert_eq!(
            content_disposition("r\u{e9}sum\u{e9} 1.txt"),
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt"
        );
        assert_eq!(
            content_disposition("a\"b;c.pdf"),
            "attachment; filename*=UTF-8''a%22b%3Bc.pdf"
        );
    }
}
