//! R1 Memory API: create, list (by session, keyset paging), get and delete memories, each in the
//! caller's RLS transaction. Expired memories are invisible.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Claims;
use crate::error::AppError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{created, page_limit, Cursor, Listed, Page};
use crate::shape::{cursor, page, text, Field, Shape};
use crate::state::SharedState;
use crate::validate::{
    has_nul, map_has_nul, tags_ok, IMPORTANCE, LIST_PAGE, MAX_TAGS, MEMORY_CONTENT, MEMORY_SOURCE,
    MEMORY_TAG, SESSION_ID,
};

/// Who produced a memory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemoryRole {
    /// The end user.
    User,
    /// The assistant.
    Assistant,
    /// A system prompt.
    System,
    /// A tool result.
    Tool,
}

impl MemoryRole {
    fn as_str(self) -> &'static str {
        match self {
            MemoryRole::User => "user",
            MemoryRole::Assistant => "assistant",
            MemoryRole::System => "system",
            MemoryRole::Tool => "tool",
        }
    }
}

/// `POST /api/v1/memory` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemory {
    /// Conversation id, 1–128 chars.
    pub session_id: String,
    /// Who produced it.
    pub role: MemoryRole,
    /// The text, 1–65536 chars.
    pub content: String,
    /// Free-form JSON object.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    /// Up to 32 tags of 1–64 chars.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// 0.0–1.0.
    // Read as f64 and checked before it is narrowed to the `real` column: as f32, 1.00000001
    // would round to 1.0 and pass, although the spec's `maximum: 1` refuses it.
    #[serde(default)]
    #[schema(value_type = Option<f32>)]
    pub importance: Option<f64>,
    /// Where it came from, up to 256 chars.
    #[serde(default)]
    pub source: Option<String>,
    /// When it stops being returned.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored memory (the 13 columns minus `owner_id`, which is the caller).
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Memory {
    /// Id.
    pub id: Uuid,
    /// Conversation id.
    pub session_id: String,
    /// `user`, `assistant`, `system` or `tool`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Free-form JSON object.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Tags.
    pub tags: Vec<String>,
    /// 0.0–1.0, if given.
    pub importance: Option<f32>,
    /// Origin, if given.
    pub source: Option<String>,
    /// Whitespace-separated word count of `content`.
    pub token_count: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/memory` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListMemoryQuery {
    /// Only this conversation.
    pub session_id: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of memories.
pub type MemoryPage = Page<Memory>;

impl Listed for Memory {
    const PAGE: &'static str = "MemoryPage";
    const DESCRIPTION: &'static str = "A page of memories.";
}

const COLUMNS: &str = "id, session_id, role, content, metadata, tags, importance, source, token_count, created_at, updated_at, expires_at";

fn invalid(detail: &str, suggestion: &str) -> AppError {
    AppError::Validation(detail.into(), suggestion.into())
}

fn validate(m: &NewMemory) -> Result<(), AppError> {
    if has_nul(&m.session_id) || has_nul(&m.content) || m.source.as_deref().is_some_and(has_nul) {
        return Err(invalid(
            "Text fields must not contain NUL characters.",
            "Remove \\u0000 from the text.",
        ));
    }
    if !SESSION_ID.accepts(&m.session_id) {
        return Err(invalid(
            "session_id must be 1-128 characters.",
            "Send a non-empty session_id of at most 128 characters.",
        ));
    }
    if !MEMORY_CONTENT.accepts(&m.content) {
        return Err(invalid(
            "content must be 1-65536 characters.",
            "Send non-empty content of at most 65536 characters.",
        ));
    }
    // `metadata` is stored as jsonb, which refuses `\u0000` in any key or string, however deep.
    if m.metadata.as_ref().is_some_and(map_has_nul) {
        return Err(invalid(
            "metadata must not contain NUL characters.",
            "Remove \\u0000 from the keys and values of metadata.",
        ));
    }
    if let Some(tags) = &m.tags {
        if !tags_ok(tags, MEMORY_TAG) {
            return Err(invalid(
                &format!("tags must be at most {MAX_TAGS} strings of 1-64 characters without NUL."),
                "Send at most 32 short, non-empty tags.",
            ));
        }
    }
    let (low, high) = IMPORTANCE;
    if m.importance.is_some_and(|i| !(low..=high).contains(&i)) {
        return Err(invalid(
            "importance must be between 0 and 1.",
            "Send an importance from 0.0 to 1.0, or omit it.",
        ));
    }
    if m.source
        .as_deref()
        .is_some_and(|s| !MEMORY_SOURCE.accepts(s))
    {
        return Err(invalid(
            "source must be at most 256 characters.",
            "Shorten source to 256 characters.",
        ));
    }
    Ok(())
}

/// The list's `session_id` filter obeys the create route's rule (1-128 characters, no NUL), so
/// nothing PostgreSQL text cannot hold is bound and a filter that can match no memory says so.
fn validate_session_filter(session_id: Option<&str>) -> Result<(), AppError> {
    match session_id {
        Some(s) if !SESSION_ID.accepts(s) => Err(invalid(
            "session_id must be 1-128 characters without NUL.",
            "Filter by the session_id a memory was created with, or omit session_id.",
        )),
        _ => Ok(()),
    }
}

/// A memory whose `expires_at` has passed would be stored and never shown: refused instead.
fn expired() -> AppError {
    invalid(
        "expires_at is not in the future: the memory would never be returned.",
        "Send an expires_at later than the current time (RFC 3339, e.g. 2030-01-01T00:00:00Z), or omit it for a memory that does not expire.",
    )
}

/// Stores a memory.
///
/// `expires_at`, when given, must be later than the server's current time: a memory whose expiry
/// has passed is never returned, so creating one is refused with 400 `validation_failed`.
#[utoipa::path(post, path = "/api/v1/memory", operation_id = "createMemory", tag = "memory", security(("bearer" = [])),
    request_body(content = NewMemory, example = json!({"session_id": "chat-42", "role": "user", "content": "I prefer tea to coffee.", "tags": ["preference"], "importance": 0.7})),
    responses((status = 201, description = "Created", body = Memory, headers(("Location" = String, description = "URL of the new memory")),
        links(
            ("getMemory" = (operation_id = "getMemory", parameters(("id" = "$response.body#/id")), description = "The memory just created")),
            ("deleteMemory" = (operation_id = "deleteMemory", parameters(("id" = "$response.body#/id")), description = "Deletes the memory just created"))))))]
pub async fn create(
    State(st): State<SharedState>,
    claims: Claims,
    ApiJson(m): ApiJson<NewMemory>,
) -> Result<Response, AppError> {
    validate(&m)?;
    let id = st.config.new_id();
    let token_count = m.content.split_whitespace().count().min(i32::MAX as usize) as i32;
    let mut tx = st.db.tenant_tx(&claims).await?;
    // The expiry is compared with the database's `now()`, the clock the reads hide expired
    // memories by, so a memory accepted here is visible to the next read.
    let memory: Option<Memory> = sqlx::query_as(&format!(
        "INSERT INTO memories (id, owner_id, session_id, role, content, metadata, tags, importance, source, token_count, expires_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
         WHERE $11::timestamptz IS NULL OR $11::timestamptz > now()
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(claims.sub)
    .bind(&m.session_id)
    .bind(m.role.as_str())
    .bind(&m.content)
    .bind(Value::Object(m.metadata.unwrap_or_default()))
    .bind(m.tags.unwrap_or_default())
    .bind(m.importance.map(|i| i as f32))
    .bind(&m.source)
    .bind(token_count)
    .bind(m.expires_at)
    .fetch_optional(tx.conn())
    .await?;
    let memory = memory.ok_or_else(expired)?;
    tx.commit().await?;
    Ok(created(format!("/api/v1/memory/{id}"), memory))
}

/// Lists the caller's memories, newest first.
#[utoipa::path(get, path = "/api/v1/memory", operation_id = "listMemories", tag = "memory", security(("bearer" = [])), params(ListMemoryQuery),
    responses((status = 200, description = "A page of memories", body = MemoryPage)))]
pub async fn list(
    State(st): State<SharedState>,
    claims: Claims,
    ApiQuery(q): ApiQuery<ListMemoryQuery>,
) -> Result<Json<MemoryPage>, AppError> {
    let limit = page_limit(q.limit, LIST_PAGE)?;
    let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
    validate_session_filter(q.session_id.as_deref())?;
    let mut tx = st.db.tenant_tx(&claims).await?;
    let rows: Vec<Memory> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM memories
         WHERE owner_id = $1 AND ($2::text IS NULL OR session_id = $2)
           AND (expires_at IS NULL OR expires_at > now())
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(claims.sub)
    .bind(&q.session_id)
    .bind(cursor.map(|c| c.created_at))
    .bind(cursor.map(|c| c.id))
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    tx.finish_read();
    Ok(Json(Page::cut(rows, limit, |m| Cursor {
        created_at: m.created_at,
        id: m.id,
    })))
}

/// One memory.
#[utoipa::path(get, path = "/api/v1/memory/{id}", operation_id = "getMemory", tag = "memory", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Memory id")),
    responses((status = 200, description = "The memory", body = Memory)))]
pub async fn get_one(
    State(st): State<SharedState>,
    claims: Claims,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Memory>, AppError> {
    let mut tx = st.db.tenant_tx(&claims).await?;
    let memory: Option<Memory> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM memories WHERE id = $1 AND owner_id = $2 AND (expires_at IS NULL OR expires_at > now())"
    ))
    .bind(id)
    .bind(claims.sub)
    .fetch_optional(tx.conn())
    .await?;
    tx.finish_read();
    memory.map(Json).ok_or(AppError::NotFound)
}

/// Deletes a memory.
#[utoipa::path(delete, path = "/api/v1/memory/{id}", operation_id = "deleteMemory", tag = "memory", security(("bearer" = [])), params(("id" = Uuid, Path, description = "Memory id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(st): State<SharedState>,
    claims: Claims,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppError> {
    let mut tx = st.db.tenant_tx(&claims).await?;
    let deleted = sqlx::query("DELETE FROM memories WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(claims.sub)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

impl Shape for ListMemoryQuery {
    fn fields() -> &'static [Field] {
        crate::fields! {
            vec![
                Field::optional("session_id", text(SESSION_ID)),
                Field::optional("limit", page(LIST_PAGE)),
                Field::optional("cursor", cursor()),
            ]
        }
    }
}

impl Shape for NewMemory {
    fn fields() -> &'static [Field] {
        crate::fields! {
            let (lo, hi) = IMPORTANCE;
            vec![
                Field::required("session_id", text(SESSION_ID)),
                Field::required("role", "one of `user`, `assistant`, `system`, `tool`".into()),
                Field::required("content", text(MEMORY_CONTENT)),
                Field::optional("metadata", "a JSON object".into()),
                Field::optional(
                    "tags",
                    format!(
                        "an array of at most {MAX_TAGS} tags, each {}",
                        text(MEMORY_TAG)
                    ),
                ),
                Field::optional("importance", format!("a number from {lo} to {hi}")),
                Field::optional("source", text(MEMORY_SOURCE)),
                Field::optional(
                    "expires_at",
                    "an RFC 3339 date-time in the future with a year from 1 to 9999, such as 2030-01-31T12:00:00Z".into(),
                ),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> NewMemory {
        serde_json::from_value(v).unwrap()
    }

    fn refusal(m: &NewMemory) -> Option<String> {
        match validate(m) {
            Ok(()) => None,
            Err(AppError::Validation(detail, suggestion)) => {
                assert!(!suggestion.is_empty());
                Some(detail)
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nul_anywhere_in_metadata_is_refused() {
        for meta in [
            json!({"note": "a\u{0}b"}),
            json!({"a\u{0}b": 1}),
            json!({"deep": {"list": ["x\u{0}"]}}),
        ] {
            let m =
                body(json!({"session_id": "s", "role": "user", "content": "c", "metadata": meta}));
            assert_eq!(
                refusal(&m).as_deref(),
                Some("metadata must not contain NUL characters.")
            );
        }
        let m = body(json!({"session_id": "s", "role": "user", "content": "c",
            "metadata": {"k": "🦀\u{1b}[0m", "n": [1, {"x": null}]}}));
        assert_eq!(refusal(&m), None);
    }

    #[test]
    fn nul_in_the_text_fields_is_refused() {
        for (field, value) in [
            ("session_id", json!("a\u{0}")),
            ("content", json!("\u{0}")),
            ("source", json!("s\u{0}")),
            ("tags", json!(["t\u{0}"])),
        ] {
            let mut v = json!({"session_id": "s", "role": "user", "content": "c"});
            v[field] = value;
            assert!(refusal(&body(v)).is_some(), "{field}");
        }
    }

    #[test]
    fn the_session_filter_follows_the_create_rule() {
        assert!(validate_session_filter(None).is_ok());
        assert!(validate_session_filter(Some("s")).is_ok());
        assert!(validate_session_filter(Some(&"s".repeat(128))).is_ok());
        for bad in ["", "a\0b", "\0", &"s".repeat(129)] {
            assert!(
                matches!(
                    validate_session_filter(Some(bad)),
                    Err(AppError::Validation(..))
                ),
                "{bad:?}"
            );
        }
    }
}
