//! `POST /api/v1/knowledge/search`: ranked full-text search over the caller's files
//! (filename, metadata, text of text-like files). The query is always a bound parameter of
//! `websearch_to_tsquery`, which accepts any input without syntax errors.

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Claims;
use crate::error::AppError;
use crate::extract::ApiJson;
use crate::shape::{page, text, Field, Shape};
use crate::state::SharedState;
use crate::validate::{is_blank, SEARCH_PAGE, SEARCH_QUERY};

/// Search request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Web-search syntax (`"exact phrase"`, `or`, `-exclude`), 1–512 characters.
    pub query: String,
    /// 1–50, default 10.
    #[serde(default, deserialize_with = "crate::extract::integral")]
    pub limit: Option<i64>,
}

/// One hit.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SearchHit {
    /// The file.
    pub file_id: Uuid,
    /// Its filename.
    pub filename: String,
    /// `ts_rank` relevance (higher is better).
    pub score: f32,
    /// Matching excerpt; matches are wrapped in `**`.
    pub snippet: String,
}

/// Search response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Best first.
    pub results: Vec<SearchHit>,
    /// Time spent in the database, milliseconds.
    pub took_ms: u64,
}

/// The search: `$1` the query (web-search syntax), `$2` the owner, `$3` the limit.
/// Every match is ranked, then the best `$3` are kept and only those get snippets.
///
/// The tsquery is a function of the bound parameter in `FROM`, not a CTE column: in a
/// custom plan PostgreSQL folds it to a constant, in a generic one it is computed once and
/// passed to the index scan, so `owner_id = $2 AND search_vector @@ q` is an index condition
/// of `knowledge_files_owner_search` (GIN over both, `btree_gin`) either way. Row-level
/// security still decides which rows exist; see the migration for the LEAKPROOF it needs.
pub const SEARCH_SQL: &str = "WITH top AS (
        SELECT f.id, f.filename, f.search_text, ts_rank(f.search_vector, q) AS score, f.created_at, q
        FROM knowledge_files f, websearch_to_tsquery('english', $1) AS q
        WHERE f.owner_id = $2 AND f.search_vector @@ q
        ORDER BY score DESC, f.created_at DESC, f.id DESC
        LIMIT $3)
     SELECT top.id AS file_id, top.filename, top.score,
            ts_headline('english', left(top.search_text, 16384), top.q,
                        'StartSel=**, StopSel=**, MaxWords=35, MinWords=15, MaxFragments=2') AS snippet
     FROM top
     ORDER BY top.score DESC, top.created_at DESC, top.id DESC";

/// Searches the caller's files.
#[utoipa::path(post, path = "/api/v1/knowledge/search", operation_id = "searchFiles", tag = "knowledge", security(("bearer" = [])),
    request_body(content = SearchRequest, example = json!({"query": "\"release plan\" -draft", "limit": 5})),
    responses((status = 200, description = "Ranked results", body = SearchResponse)))]
pub async fn search(
    State(st): State<SharedState>,
    claims: Claims,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, AppError> {
    if !SEARCH_QUERY.accepts(&req.query) || is_blank(&req.query) {
        return Err(AppError::Validation(
            format!(
                "query must be 1-512 characters and not blank, got {}.",
                req.query.chars().count()
            ),
            "Send a non-blank query of at most 512 characters.".into(),
        ));
    }
    let limit = crate::routes::page_limit(req.limit, SEARCH_PAGE)?;
    // PostgreSQL text cannot carry NUL; it cannot match anything anyway.
    let query = req.query.replace('\0', " ");
    let started = Instant::now();
    let mut tx = st.db.tenant_tx(&claims).await?;
    let results: Vec<SearchHit> = sqlx::query_as(SEARCH_SQL)
        .bind(&query)
        .bind(claims.sub)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
    tx.finish_read();
    Ok(Json(SearchResponse {
        results,
        took_ms: started.elapsed().as_millis() as u64,
    }))
}

impl Shape for SearchRequest {
    fn fields() -> &'static [Field] {
        crate::fields! {
            vec![
                Field::required("query", format!("{}, not blank", text(SEARCH_QUERY))),
                Field::optional("limit", page(SEARCH_PAGE)),
            ]
        }
    }
}
