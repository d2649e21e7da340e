//! Partial implementations: servers right where a clause is easy — the first
//! KiB of a file, the first rows a query reads, a name whose extension is its
//! type, one upload of some metadata — and wrong one step further. Each is
//! caught by the check built for that step only: the clause's simple case
//! (its older check) still passes on it, as the mutant's expected set shows.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use knowledge_server::crypto::{Keyring, Sealed};
use serde_json::{json, Value};
use sha2::Digest;

use super::knowledge::{body_of, on_problem, with_json};
use super::{broken, json_of, over_created, partial, Created, Mode, Mutant, FILES};

const SEARCH: &str = "/api/v1/knowledge/search";

/// How much of a file the careless validator reads.
const PREFIX: usize = 1024;

pub fn all() -> Vec<Mutant> {
    vec![
        // Its simple case — bytes wrong from the first one — still passes:
        // `uploads::bytes_contradicting_their_type_are_400_content_mismatch` is not expected.
        partial(
            "past the first KiB of a text or JSON file",
            broken(
                "content_judged_on_its_first_kib_only",
                &["files.content-mismatch"],
                vec!["uploads::bytes_are_judged_to_the_last_byte"],
                |r, _| r.layer(from_fn(first_kib_only)),
            ),
        ),
        // With two matches and the default limit every row is read: the older
        // `search::better_match_ranks_first` still passes.
        partial(
            "in the matches beyond the first `limit` rows read",
            broken(
                "search_ranks_only_the_first_rows_it_reads",
                &["search.ranked"],
                vec!["search::the_best_match_survives_a_small_limit"],
                |r, _| {
                    over_created(r, FILES, |r, seen| {
                        r.layer(from_fn_with_state(seen, rank_after_limit))
                    })
                },
            ),
        ),
        // Names whose extension is their type (`.md`, `.pdf`) are served right:
        // `files::content_returns_the_stored_bytes` still passes.
        partial(
            "in a file whose extension names another type",
            broken(
                "content_type_from_the_extension",
                &["files.content"],
                vec!["files::content_type_is_the_stored_type_whatever_the_extension"],
                |r, _| r.layer(from_fn(type_from_extension)),
            ),
        ),
        // The first page is the owner's alone; from the second on the cursor
        // query reads every tenant's rows. The bulk tenant's cursor paging sees it too.
        partial(
            "on the list's pages after the first",
            broken(
                "files_pages_after_the_first_drop_the_owner_filter",
                &["files.list.cursor", "files.own-data-only"],
                vec![
                    "gate_2::every_list_page_holds_only_the_callers_files",
                    "files::cursor_pages_through_every_file_once",
                    "files::list_is_newest_first",
                ],
                |r, server| {
                    let pool = sqlx::PgPool::connect_lazy(&server.superuser_database_url())
                        .expect("the superuser URL parses");
                    r.layer(from_fn_with_state(
                        (pool, Cursors::default()),
                        owner_on_page_one,
                    ))
                },
            ),
        ),
        // As a deployed target with its database URL: no column holds the
        // metadata in clear (`rls::metadata_not_in_clear_at_rest` passes), but
        // equal metadata is sealed to the same keystream.
        partial(
            "in a second upload of the same metadata",
            Mutant {
                mode: Mode::RemoteWithDatabase,
                ..broken(
                    "metadata_sealed_under_a_fixed_nonce",
                    &["metadata.encrypted-at-rest"],
                    vec!["rls::equal_metadata_is_stored_as_different_bytes"],
                    |r, server| {
                        let pool = sqlx::PgPool::connect_lazy(&server.superuser_database_url())
                            .expect("the superuser URL parses");
                        let keys = Keyring::parse(&server.config().metadata_key)
                            .expect("the shared server's metadata key parses");
                        r.layer(from_fn_with_state((pool, Arc::new(keys)), fixed_nonce))
                    },
                )
            },
        ),
        // Every JSON answer carries them; the one response whose body a browser
        // could sniff or a proxy could cache, a file's bytes, does not.
        partial(
            "on file downloads (`GET …/content`): every JSON answer carries it",
            broken(
                "nosniff_missing_on_file_downloads",
                &["headers.nosniff"],
                vec!["gate_3::security_headers_on_every_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_downloads(req, next, &["x-content-type-options"])
                    }))
                },
            ),
        ),
        partial(
            "on file downloads (`GET …/content`): every JSON answer carries it",
            broken(
                "no_store_missing_on_file_downloads",
                &["headers.no-store"],
                vec!["gate_3::security_headers_on_every_response"],
                |r, _| {
                    r.layer(from_fn(|req, next| {
                        strip_on_downloads(req, next, &["cache-control"])
                    }))
                },
            ),
        ),
        // Too large a page is cut to the largest, where the contract refuses it;
        // 0, negatives and words are still refused.
        partial(
            "above 100: 0, negatives and words are refused",
            broken(
                "list_limit_above_100_clamped",
                &["files.list.limit"],
                vec![
                    "limits::list_limit_defaults_to_50_within_1_to_100",
                    "gate_3::malformed_input_gets_400_with_suggestion",
                ],
                |r, _| r.layer(from_fn(list_limit_clamped)),
            ),
        ),
        partial(
            "below 1: above 50 is refused",
            broken(
                "search_limit_below_1_taken_as_1",
                &["search.limits"],
                vec!["limits::search_limit_defaults_to_10_within_1_to_50"],
                |r, _| r.layer(from_fn(search_limit_raised)),
            ),
        ),
    ]
}

/// Removes the headers `names` from file downloads (`GET …/files/{id}/content`) only.
pub(super) async fn strip_on_downloads(
    req: Request,
    next: Next,
    names: &'static [&'static str],
) -> Response {
    let download = req.method() == Method::GET
        && req.uri().path().starts_with(FILES)
        && req.uri().path().ends_with("/content");
    let mut r = next.run(req).await;
    if download {
        for name in names {
            r.headers_mut().remove(*name);
        }
    }
    r
}

/// A list `limit` above 100 read as 100.
async fn list_limit_clamped(req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path() != FILES {
        return next.run(req).await;
    }
    let Some(query) = req.uri().query() else {
        return next.run(req).await;
    };
    let edited: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("limit", v)) if v.parse::<i64>().is_ok_and(|n| n > 100) => "limit=100".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    let (mut parts, body) = req.into_parts();
    parts.uri = format!("{FILES}?{}", edited.join("&"))
        .parse()
        .expect("the edited list URI parses");
    next.run(Request::from_parts(parts, body)).await
}

/// A search `limit` below 1 read as 1.
async fn search_limit_raised(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let mut body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return next.run(req).await,
    };
    if body["limit"].as_i64().is_some_and(|l| l < 1) {
        body["limit"] = json!(1);
    }
    let (mut parts, _) = req.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    next.run(Request::from_parts(parts, Body::from(body.to_string())))
        .await
}

/// The `file` part of a multipart body: declared type, filename and bytes.
pub(super) struct FilePart {
    pub(super) mime: String,
    pub(super) filename: String,
    pub(super) data: Vec<u8>,
}

/// Reads the `file` part (a careless parser: enough for the suites' own uploads).
pub(super) fn file_part(content_type: &str, body: &[u8]) -> Option<FilePart> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("\r\n--{boundary}");
    // The body starts with `--boundary`: prefix a CRLF so every part follows a delimiter.
    let body = [b"\r\n".as_slice(), body].concat();
    let mut parts = split(&body, delimiter.as_bytes()).into_iter().skip(1);
    parts.find_map(|part| {
        let end = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..end]);
        if !head.contains("name=\"file\"") {
            return None;
        }
        let field = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let filename = head
            .split("filename=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("file")
            .to_owned();
        Some(FilePart {
            mime: field("Content-Type:").unwrap_or_default(),
            filename,
            data: part[end + 4..].to_vec(),
        })
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut hay: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(hay, delimiter) {
        out.push(&hay[..i]);
        hay = &hay[i + delimiter.len()..];
    }
    out.push(hay);
    out
}

/// Whether the first KiB of `data` looks like its declared type: UTF-8 for text
/// (a character cut by the window is forgiven), JSON that is fine so far.
fn prefix_looks_right(mime: &str, data: &[u8]) -> bool {
    let prefix = &data[..data.len().min(PREFIX)];
    match mime {
        "application/json" => serde_json::from_slice::<Value>(prefix)
            .err()
            .is_none_or(|e| e.is_eof()),
        "text/plain" | "text/markdown" | "text/csv" => std::str::from_utf8(prefix)
            .err()
            .is_none_or(|e| e.error_len().is_none()),
        _ => false,
    }
}

/// Judges text and JSON on their first KiB: a longer file refused only for what
/// follows is acknowledged (201) as if stored.
async fn first_kib_only(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    if !upload {
        return next.run(req).await;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (req, bytes) = body_of(req).await;
    let Some(file) = file_part(&content_type, &bytes)
        .filter(|f| f.data.len() > PREFIX && prefix_looks_right(&f.mime, &f.data))
    else {
        return next.run(req).await;
    };
    on_problem(req, next, |_, code| {
        (code == "content_mismatch").then(|| acknowledged(&file))
    })
    .await
}

/// A 201 with the FileInfo `file` would have had, for an upload never stored.
pub(super) fn acknowledged(file: &FilePart) -> Response {
    let id = uuid::Uuid::new_v4();
    let info = json!({"id": id, "filename": file.filename, "mime_type": file.mime,
        "size_bytes": file.data.len(), "sha256": hex::encode(sha2::Sha256::digest(&file.data)),
        "metadata": null, "created_at": chrono::Utc::now().to_rfc3339()});
    let mut r = Response::new(Body::from(info.to_string()));
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("{FILES}/{id}")).unwrap(),
    );
    r
}

/// Reads the first `limit` matching rows in upload order, then ranks only those.
async fn rank_after_limit(State(seen): State<Created>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let mut query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let limit = match &query["limit"] {
        Value::Null => Some(10),
        l => l.as_u64().filter(|n| (1..=50).contains(n)),
    };
    let Some(limit) = limit.filter(|_| query["query"].is_string()) else {
        return next.run(req).await;
    };
    query["limit"] = json!(50);
    let (mut parts, _) = req.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let req = Request::from_parts(parts, Body::from(query.to_string()));
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    let order: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(made, _)| made["id"].as_str().map(str::to_owned))
        .collect();
    if let Some(results) = body["results"].as_array_mut() {
        let uploaded = |r: &Value| {
            order
                .iter()
                .position(|id| r["file_id"] == id.as_str())
                .unwrap_or(usize::MAX)
        };
        results.sort_by_key(uploaded);
        results.truncate(limit as usize);
        let score = |r: &Value| r["score"].as_f64().unwrap_or_default();
        results.sort_by(|a, b| score(b).total_cmp(&score(a)));
    }
    with_json(parts, &body)
}

/// The type a file's extension suggests (what a static file server would send).
fn type_of_extension(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("txt") => "text/plain; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Serves `/content` with the type its filename's extension suggests.
async fn type_from_extension(req: Request, next: Next) -> Response {
    let content = req.method() == Method::GET && req.uri().path().ends_with("/content");
    let mut r = next.run(req).await;
    if !content || r.status() != StatusCode::OK {
        return r;
    }
    let name = r
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| gonogo_suites::cases::knowledge::files::attachment_filename(v).ok());
    if let Some(name) = name {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(type_of_extension(&name)),
        );
    }
    r
}

/// Each `next_cursor` served, with the id of the last file of its page.
type Cursors = Arc<std::sync::Mutex<HashMap<String, uuid::Uuid>>>;

/// A listed file row, metadata left out.
type ListedRow = (
    uuid::Uuid,
    String,
    String,
    i64,
    String,
    chrono::DateTime<chrono::Utc>,
);

/// The value of `name` in a query string, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .map(super::percent_decode)
}

/// Lists the first page as the server does (the owner's files); a page after a
/// cursor it served is read from every tenant's rows older than the cursor's file.
async fn owner_on_page_one(
    State((pool, cursors)): State<(sqlx::PgPool, Cursors)>,
    mut req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET || req.uri().path() != FILES {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or_default().to_owned();
    let limit = query_param(&query, "limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| (1..=100).contains(l))
        .unwrap_or(50);
    let after =
        query_param(&query, "cursor").and_then(|c| cursors.lock().unwrap().get(&c).copied());
    if after.is_some() {
        // The owner's first page answers for authentication, status and headers.
        *req.uri_mut() = format!("{FILES}?limit={limit}").parse().unwrap();
    }
    let r = next.run(req).await;
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    if let Some(after) = after {
        let rows: Vec<ListedRow> = sqlx::query_as(
            "SELECT id, filename, mime_type, size_bytes, sha256, created_at FROM knowledge_files
             WHERE (created_at, id) < (SELECT created_at, id FROM knowledge_files WHERE id = $1)
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&pool)
        .await
        .expect("the mutant reads every tenant's rows");
        let items: Vec<Value> = rows
            .iter()
            .take(limit as usize)
            .map(|(id, filename, mime, size, sha256, at)| {
                json!({"id": id, "filename": filename, "mime_type": mime, "size_bytes": size,
                    "sha256": sha256, "metadata": null, "created_at": at.to_rfc3339()})
            })
            .collect();
        let more = rows.len() as i64 > limit;
        body =
            json!({"items": items, "next_cursor": more.then(|| uuid::Uuid::new_v4().to_string())});
    }
    let last = body["items"]
        .as_array()
        .and_then(|i| i.last())
        .and_then(|f| f["id"].as_str()?.parse::<uuid::Uuid>().ok());
    if let (Some(cursor), Some(last)) = (body["next_cursor"].as_str(), last) {
        cursors.lock().unwrap().insert(cursor.to_owned(), last);
    }
    with_json(parts, &body)
}

/// A file row's owner and sealed metadata (ciphertext, nonce, key id).
type SealedRow = (uuid::Uuid, Option<Vec<u8>>, Option<Vec<u8>>, Option<String>);

/// After each upload with metadata, seals the same plaintext again under one
/// nonce for every file (the key and associated data unchanged, so the API
/// still decrypts it): equal metadata, equal keystream.
async fn fixed_nonce(
    State((pool, keys)): State<(sqlx::PgPool, Arc<Keyring>)>,
    req: Request,
    next: Next,
) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    let r = next.run(req).await;
    if !upload || r.status() != StatusCode::CREATED {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let body = body.unwrap_or_default();
    if let Some(id) = body["id"]
        .as_str()
        .and_then(|i| i.parse::<uuid::Uuid>().ok())
    {
        let row: Option<SealedRow> = sqlx::query_as(
            "SELECT owner_id, metadata_ciphertext, metadata_nonce, metadata_key_id \
                 FROM knowledge_files WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&pool)
        .await
        .expect("the mutant reads the row");
        if let Some((owner, Some(ciphertext), Some(nonce), Some(key_id))) = row {
            let sealed = Sealed {
                ciphertext,
                nonce,
                key_id,
            };
            let plain = keys.open(&sealed, id, owner).expect("the row decrypts");
            let fixed = keys.seal_with_nonce(&plain, id, owner, [7; 12]);
            sqlx::query(
                "UPDATE knowledge_files SET metadata_ciphertext = $1, metadata_nonce = $2 WHERE id = $3",
            )
            .bind(&fixed.ciphertext)
            .bind(&fixed.nonce)
            .bind(id)
            .execute(&pool)
            .await
            .expect("the mutant rewrites the row");
        }
    }
    with_json(parts, &body)
}
