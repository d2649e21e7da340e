//! Request builders for the knowledge API, so cases read as behaviour.

use bytes::Bytes;
use serde_json::json;

use crate::check::tokens::Tenant;
use crate::check::transport::{ApiRequest, Part};

pub const FILES: &str = "/api/v1/knowledge/files";
pub const SEARCH: &str = "/api/v1/knowledge/search";
pub const MEMORY: &str = "/api/v1/memory";
/// The declared MIME types the contract allows.
pub const ALLOWED_MIME: [&str; 5] = [
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/pdf",
];

/// `GET /api/v1/knowledge/files?limit=…` as `tenant` (the cheapest authenticated call).
pub fn list(tenant: &Tenant, limit: u32) -> ApiRequest {
    ApiRequest::get(format!("{FILES}?limit={limit}")).bearer(&tenant.token)
}

pub fn get_file(tenant: &Tenant, id: &str) -> ApiRequest {
    ApiRequest::get(format!("{FILES}/{id}")).bearer(&tenant.token)
}

pub fn delete_file(tenant: &Tenant, id: &str) -> ApiRequest {
    ApiRequest::delete(format!("{FILES}/{id}")).bearer(&tenant.token)
}

/// The `file` part of an upload.
pub fn file_part(filename: &str, content_type: &str, data: impl Into<Bytes>) -> Part {
    Part {
        name: "file".into(),
        filename: Some(filename.into()),
        content_type: Some(content_type.into()),
        data: data.into(),
    }
}

/// A `metadata` part carrying `raw` as sent (valid JSON or not).
pub fn metadata_part(raw: impl Into<Bytes>) -> Part {
    Part {
        name: "metadata".into(),
        filename: None,
        content_type: Some("application/json".into()),
        data: raw.into(),
    }
}

/// A multipart upload of exactly `parts`.
pub fn upload_parts(tenant: &Tenant, parts: Vec<Part>) -> ApiRequest {
    ApiRequest::post(FILES)
        .bearer(&tenant.token)
        .multipart(parts)
}

/// An upload with a `file` part and the given `metadata` object.
pub fn upload_with(
    tenant: &Tenant,
    filename: &str,
    content_type: &str,
    data: impl Into<Bytes>,
    metadata: &serde_json::Value,
) -> ApiRequest {
    upload_parts(
        tenant,
        vec![
            file_part(filename, content_type, data),
            metadata_part(metadata.to_string()),
        ],
    )
}

/// Multipart upload with a `file` part and a `metadata` part.
pub fn upload(
    tenant: &Tenant,
    filename: &str,
    content_type: &str,
    data: impl Into<Bytes>,
) -> ApiRequest {
    upload_with(
        tenant,
        filename,
        content_type,
        data,
        &json!({"title": filename, "tags": ["gonogo-smoke"]}),
    )
}

/// `POST /api/v1/knowledge/search` with any JSON body.
pub fn search_body(tenant: &Tenant, body: serde_json::Value) -> ApiRequest {
    ApiRequest::post(SEARCH).bearer(&tenant.token).json(body)
}

/// `path` with `value` percent-encoded as the query parameter `name`.
pub fn with_query(path: &str, name: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let value = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
    format!("{path}{sep}{name}={value}")
}

/// The `file_id`s of a search response, in order.
pub fn result_ids(body: &serde_json::Value) -> Vec<String> {
    body["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["file_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `id`s of a list response's items, in order.
pub fn item_ids(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(file_id).collect())
        .unwrap_or_default()
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

pub fn search(tenant: &Tenant, query: &str) -> ApiRequest {
    search_body(tenant, json!({"query": query, "limit": 50}))
}

/// A random lowercase word: a search term no other run or tenant uses.
pub fn unique_word(prefix: &str) -> String {
    let letters: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .map(|c| (b'a' + (c.to_digit(16).unwrap_or(0) as u8)) as char)
        .take(10)
        .collect();
    format!("{prefix}{letters}")
}

/// The `id` of a FileInfo body.
pub fn file_id(body: &serde_json::Value) -> Option<String> {
    body.get("id")?.as_str().map(str::to_owned)
}

/// Checks the FileInfo shape of an upload response.
pub fn fileinfo_mismatches(
    body: &serde_json::Value,
    filename: &str,
    mime: &str,
    size: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for key in [
        "id",
        "filename",
        "mime_type",
        "size_bytes",
        "sha256",
        "metadata",
        "created_at",
    ] {
        if body.get(key).is_none() {
            out.push(format!("FileInfo lacks {key}"));
        }
    }
    if body["filename"] != filename {
        out.push(format!(
            "filename {} instead of {filename:?}",
            body["filename"]
        ));
    }
    if body["mime_type"] != mime {
        out.push(format!(
            "mime_type {} instead of {mime:?}",
            body["mime_type"]
        ));
    }
    if body["size_bytes"].as_u64() != Some(size as u64) {
        out.push(format!(
            "size_bytes {} instead of {size}",
            body["size_bytes"]
        ));
    }
    if body["sha256"].as_str().is_none_or(|s| s.len() != 64) {
        out.push("sha256 is not 64 hex digits".into());
    }
    out
}

/// `POST /api/v1/memory` with the R1 body's required fields, one tag and some metadata.
pub fn create_memory(tenant: &Tenant, session_id: &str, content: &str) -> ApiRequest {
    ApiRequest::post(MEMORY).bearer(&tenant.token).json(json!({
        "session_id": session_id, "role": "user", "content": content,
        "tags": ["gonogo-smoke"], "metadata": {"by": "gonogo"}
    }))
}

/// `GET /api/v1/memory?…` with `query` (`session_id=…&limit=…&cursor=…`, already encoded).
pub fn list_memories(tenant: &Tenant, query: &str) -> ApiRequest {
    ApiRequest::get(format!("{MEMORY}?{query}")).bearer(&tenant.token)
}

pub fn get_memory(tenant: &Tenant, id: &str) -> ApiRequest {
    ApiRequest::get(format!("{MEMORY}/{id}")).bearer(&tenant.token)
}

pub fn delete_memory(tenant: &Tenant, id: &str) -> ApiRequest {
    ApiRequest::delete(format!("{MEMORY}/{id}")).bearer(&tenant.token)
}
