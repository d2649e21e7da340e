//! Partial implementations of the file routes: right on the page, the type,
//! the tag or the part order a check meets first, and wrong on the next one
//! (page two of the list, an empty JSON file, a PDF over the limit, a later
//! tag, a metadata part before the file). Each is NO-GO on the check that
//! looks there; where its clause has several checks, another one still passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use serde_json::{json, Value};

use gonogo_suites::cases::knowledge::uploads::is_format_or_separator;

use super::deeper::{internal_error, mark_undocumented, refused_on_body, SEARCH};
use super::knowledge::{
    body_of, edit_ok, instead, on_problem, problem, replacing, sent_filename_kept, with_json,
};
use super::partial::{acknowledged, file_part, FilePart};
use super::v1_1::warns;
use super::{broken, json_of, over_created, partial, Created, Mutant, FILES};

pub fn all() -> Vec<Mutant> {
    mark_undocumented(vec![
        partial(
            "on the list's pages after the first: page 1 and the whole list are newest first",
            broken(
                "list_oldest_first_after_the_first_page",
                &["files.list"],
                vec![
                    "files::list_is_newest_first",
                    "files::cursor_pages_through_every_file_once",
                    "gate_2::every_list_page_holds_only_the_callers_files",
                ],
                |r, _| r.layer(from_fn(later_pages_reversed)),
            ),
        ),
        partial(
            "on the content route: every other route refuses a tokenless call with 401",
            broken(
                "tokenless_content_lookup_before_auth",
                &["files.auth-required"],
                vec!["files::every_route_needs_a_token"],
                |r, _| r.layer(from_fn(content_lookup_before_auth)),
            ),
        ),
        broken(
            "invalid_mime_type_suggestion_without_the_types",
            &["files.mime-allowed"],
            vec!["suite_d::invalid_mime_type_returns_400_with_suggestion"],
            |r, _| r.layer(from_fn(mime_suggestion_without_types)),
        ),
        partial(
            "in an empty JSON file: an empty text file or PDF is 400 empty_file",
            broken(
                "empty_json_file_is_a_content_mismatch",
                &["files.empty"],
                vec!["uploads::empty_file_is_400_empty_file"],
                |r, _| r.layer(from_fn(empty_json_mismatch)),
            ),
        ),
        partial(
            "in a deleted file's bytes: get, list and search no longer show it",
            broken(
                "content_served_after_delete",
                &["files.delete", "files.read-paths-agree"],
                vec!["files::delete_removes_the_file_everywhere"],
                |r, _| r.layer(from_fn_with_state(Kept::default(), bytes_outlive_the_row)),
            ),
        ),
        partial(
            "in a file's later tags: its first tag, title, description, name and text are searched",
            broken(
                "search_indexes_only_the_first_tag",
                &["search.coverage"],
                vec!["search::covers_text_filename_title_description_and_tags"],
                |r, _| {
                    over_created(r, FILES, |r, seen| {
                        r.layer(from_fn_with_state(seen, later_tags_unsearched))
                    })
                },
            ),
        ),
        partial(
            "in C1 control characters (U+0080-U+009F): C0 ones and DEL are removed",
            broken(
                "c1_controls_kept_in_filenames",
                &["files.filename.control"],
                vec!["uploads::filenames_are_reduced_to_a_safe_last_segment"],
                |r, _| r.layer(from_fn(c1_controls_kept)),
            ),
        ),
        // A *should*: a warning, not a NO-GO.
        partial(
            "in zero-width, BOM and line-separator characters: bidi overrides are removed",
            warns(
                "only_bidi_overrides_removed_from_filenames",
                &["files.filename.format"],
                vec!["uploads::filenames_lose_format_and_bidi_characters"],
                |r, _| r.layer(from_fn(only_bidi_removed)),
            ),
        ),
        partial(
            "in text with multi-byte characters: an ASCII file's size is its bytes",
            broken(
                "size_bytes_counts_characters",
                &["files.bytes-described"],
                vec![
                    "files::content_returns_the_stored_bytes",
                    "files::fileinfo_agrees_across_upload_list_and_get",
                ],
                |r, _| r.layer(from_fn_with_state(Sizes::default(), sizes_in_characters)),
            ),
        ),
        partial(
            "in tsquery operators (`<->`, `:*`): quotes and SQL text give 200",
            broken(
                "search_operators_are_500",
                &["search.bound-parameter"],
                vec!["gate_2::sql_like_search_text_is_not_5xx"],
                |r, _| r.layer(from_fn(operators_500)),
            ),
        ),
        partial(
            "in an upload without a metadata part: one with metadata returns it",
            broken(
                "upload_without_metadata_omits_the_member",
                &["files.upload"],
                vec!["files::upload_without_metadata_part_is_accepted"],
                |r, _| r.layer(from_fn(metadata_member_omitted)),
            ),
        ),
        partial(
            "in the GET by id: the upload and the list give created_at as a date-time string",
            broken(
                "created_at_a_number_in_get_by_id",
                &["ops.responses-documented", "files.get"],
                vec![
                    "gate_1::responses_conform_to_the_served_spec",
                    "files::fileinfo_agrees_across_upload_list_and_get",
                ],
                |r, _| r.layer(from_fn(created_at_epoch_on_get)),
            ),
        ),
        partial(
            "in a metadata part sent before the file part: one that follows it is read",
            broken(
                "metadata_before_the_file_ignored",
                &["files.upload.multipart"],
                vec!["files::upload_without_metadata_part_is_accepted"],
                |r, _| r.layer(from_fn(metadata_first_ignored)),
            ),
        ),
        partial(
            "in a PDF: a text file one byte over the limit is 413",
            broken(
                "pdf_over_the_limit_accepted",
                &["files.size-limit"],
                vec!["uploads::size_limit_is_exact"],
                |r, _| r.layer(from_fn(pdf_over_the_limit_accepted)),
            ),
        ),
    ])
}

/// The request (its body read and put back) and its multipart `file` part.
async fn uploaded_file(req: Request) -> (Request, Option<FilePart>) {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (req, bytes) = body_of(req).await;
    let file = file_part(&content_type, &bytes);
    (req, file)
}

/// Pages fetched with a cursor are served oldest first; the first page is right.
async fn later_pages_reversed(req: Request, next: Next) -> Response {
    let later = req.method() == Method::GET
        && req.uri().path() == FILES
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("cursor=")));
    if !later {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        if let Some(items) = b["items"].as_array_mut() {
            items.reverse();
        }
    })
    .await
}

/// A tokenless `GET …/{id}/content` looks the file up first: 404, not 401.
async fn content_lookup_before_auth(req: Request, next: Next) -> Response {
    let content = req.method() == Method::GET
        && req.uri().path().starts_with(FILES)
        && req.uri().path().ends_with("/content");
    if content && !req.headers().contains_key(header::AUTHORIZATION) {
        let missing = problem(StatusCode::NOT_FOUND, "not_found", "Check the id.");
        return instead(req, next, missing).await;
    }
    next.run(req).await
}

/// `invalid_mime_type`'s suggestion says to upload a supported type without naming one.
async fn mime_suggestion_without_types(req: Request, next: Next) -> Response {
    on_problem(req, next, |body, code| {
        if code == "invalid_mime_type" {
            body["suggestion"] = json!("Upload a file of a supported type.");
        }
        None
    })
    .await
}

/// An empty JSON file is judged as JSON before it is judged empty: 400
/// `content_mismatch` (empty is not a JSON document) instead of `empty_file`.
async fn empty_json_mismatch(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    if !upload {
        return next.run(req).await;
    }
    let (req, file) = uploaded_file(req).await;
    let empty_json = file.is_some_and(|f| f.data.is_empty() && f.mime == "application/json");
    if !empty_json {
        return next.run(req).await;
    }
    on_problem(req, next, |_, code| {
        (code == "empty_file").then(|| {
            problem(
                StatusCode::BAD_REQUEST,
                "content_mismatch",
                "Upload a valid JSON document.",
            )
        })
    })
    .await
}

/// An upload's declared type and bytes.
type StoredBytes = (String, Vec<u8>);

/// Uploaded bytes by file id, and the ids whose DELETE was acknowledged.
#[derive(Clone, Default)]
struct Kept {
    bytes: Arc<Mutex<HashMap<String, StoredBytes>>>,
    deleted: Arc<Mutex<Vec<String>>>,
}

/// The file id of `…/files/{id}` or `…/files/{id}/content`.
fn file_id_in(path: &str) -> Option<String> {
    let rest = path.strip_prefix(FILES)?.strip_prefix('/')?;
    Some(rest.trim_end_matches("/content").to_owned())
}

/// DELETE removes the row but not the stored bytes, and the content route reads
/// the store first: after a 204 the owner's `GET …/content` still gets the bytes.
async fn bytes_outlive_the_row(State(kept): State<Kept>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    if method == Method::POST && path == FILES {
        let (req, file) = uploaded_file(req).await;
        let r = next.run(req).await;
        if r.status() != StatusCode::CREATED {
            return r;
        }
        let (parts, info) = json_of(r).await;
        let info = info.unwrap_or_default();
        if let (Some(id), Some(file)) = (info["id"].as_str(), file) {
            kept.bytes
                .lock()
                .unwrap()
                .insert(id.to_owned(), (file.mime, file.data));
        }
        return with_json(parts, &info);
    }
    let id = file_id_in(&path);
    let r = next.run(req).await;
    let Some(id) = id else { return r };
    if method == Method::DELETE && r.status() == StatusCode::NO_CONTENT {
        kept.deleted.lock().unwrap().push(id);
        return r;
    }
    let stale = method == Method::GET
        && path.ends_with("/content")
        && r.status() == StatusCode::NOT_FOUND
        && kept.deleted.lock().unwrap().contains(&id);
    let Some((mime, data)) = stale
        .then(|| kept.bytes.lock().unwrap().get(&id).cloned())
        .flatten()
    else {
        return r;
    };
    let mut served = Response::new(Body::from(data));
    served.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    served.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename*=UTF-8''file"),
    );
    replacing(r.headers(), served)
}

/// Whether `text` names `word` (case-insensitively).
fn names(text: &Value, word: &str) -> bool {
    text.as_str()
        .is_some_and(|t| t.to_lowercase().contains(word))
}

/// Search over the text, the name, the title, the description and the first
/// tag only: a file matched by a later tag alone is dropped from the results.
async fn later_tags_unsearched(State(seen): State<Created>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || req.uri().path() != SEARCH {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let query: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let word = query["query"].as_str().unwrap_or_default().to_lowercase();
    let r = next.run(req).await;
    if r.status() != StatusCode::OK || word.is_empty() {
        return r;
    }
    let only_in_later_tags: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(info, _)| info)
        .filter(|info| {
            let meta = &info["metadata"];
            let tags = meta["tags"].as_array().cloned().unwrap_or_default();
            let later = tags.iter().skip(1).any(|t| names(t, &word));
            let elsewhere = tags.first().is_some_and(|t| names(t, &word))
                || names(&meta["title"], &word)
                || names(&meta["description"], &word)
                || names(&info["filename"], &word);
            later && !elsewhere
        })
        .filter_map(|info| info["id"].as_str().map(str::to_owned))
        .collect();
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    if let Some(results) = body["results"].as_array_mut() {
        results.retain(|hit| {
            !only_in_later_tags
                .iter()
                .any(|id| hit["file_id"] == id.as_str())
        });
    }
    with_json(parts, &body)
}

/// The last segment of a sent filename (after `/` or `\\`).
fn last_segment(raw: &str) -> &str {
    raw.rsplit(['/', '\\']).next().unwrap_or_default()
}

/// Removes C0 controls and DEL (`c < ' '`), the ASCII idea of a control character:
/// a name with C1 controls keeps them.
async fn c1_controls_kept(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        raw.chars()
            .any(|c| ('\u{80}'..='\u{9f}').contains(&c))
            .then(|| {
                last_segment(raw)
                    .chars()
                    .filter(|c| *c >= ' ' && *c != '\u{7f}')
                    .collect()
            })
    })
    .await
}

/// The bidi embedding, override and isolate characters (U+202A-U+202E, U+2066-U+2069).
fn is_bidi_control(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Names with a bidi override are left to the server, which removes it; other
/// format and separator characters (U+200B, U+FEFF, U+2028) are kept.
async fn only_bidi_removed(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        let other = raw
            .chars()
            .any(|c| is_format_or_separator(c) && !is_bidi_control(c));
        (other && !raw.chars().any(is_bidi_control)).then(|| {
            last_segment(raw)
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        })
    })
    .await
}

/// Per file id, its size counted in characters where that differs from its bytes.
type Sizes = Arc<Mutex<HashMap<String, usize>>>;

/// `size_bytes` of a text file counted in characters (`str::chars`), in the upload's
/// 201, the GET by id and the list: right for ASCII, short for anything else.
async fn sizes_in_characters(State(sizes): State<Sizes>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let upload = method == Method::POST && path == FILES;
    let fileinfo = method == Method::GET && path.starts_with(FILES) && !path.ends_with("/content");
    if !upload && !fileinfo {
        return next.run(req).await;
    }
    let (req, file) = uploaded_file(req).await;
    let characters = file
        .filter(|_| upload)
        .and_then(|f| String::from_utf8(f.data).ok())
        .map(|text| (text.chars().count(), text.len()))
        .filter(|(chars, len)| chars != len)
        .map(|(chars, _)| chars);
    let r = next.run(req).await;
    if !r.status().is_success() {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    if let (Some(n), Some(id)) = (characters, body["id"].as_str()) {
        sizes.lock().unwrap().insert(id.to_owned(), n);
    }
    let sizes = sizes.lock().unwrap();
    let infos: Vec<&mut Value> = if body.get("items").is_some_and(Value::is_array) {
        body["items"].as_array_mut().into_iter().flatten().collect()
    } else {
        vec![&mut body]
    };
    for info in infos {
        let n = info["id"].as_str().and_then(|id| sizes.get(id)).copied();
        if let Some(n) = n {
            info["size_bytes"] = json!(n);
        }
    }
    drop(sizes);
    with_json(parts, &body)
}

/// Query text with a tsquery operator is handed to `to_tsquery` unescaped: a 500.
/// Quotes and SQL are bound and searched.
async fn operators_500(req: Request, next: Next) -> Response {
    refused_on_body(req, next, SEARCH, |body| {
        let query: Value = serde_json::from_slice(body).unwrap_or_default();
        query["query"]
            .as_str()
            .is_some_and(|q| q.contains("<->") || q.contains(":*"))
            .then(internal_error)
    })
    .await
}

/// The 201 of an upload whose FileInfo has no metadata leaves the member out.
async fn metadata_member_omitted(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    let r = next.run(req).await;
    if !upload || r.status() != StatusCode::CREATED {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    let empty = body["metadata"].is_null() || body["metadata"] == json!({});
    if let Some(info) = body.as_object_mut().filter(|_| empty) {
        info.remove("metadata");
    }
    with_json(parts, &body)
}

/// `created_at` as Unix seconds in `GET …/files/{id}` only.
async fn created_at_epoch_on_get(req: Request, next: Next) -> Response {
    let by_id = req.method() == Method::GET
        && file_id_in(req.uri().path()).is_some_and(|id| !id.contains('/'))
        && !req.uri().path().ends_with("/content");
    if !by_id {
        return next.run(req).await;
    }
    edit_ok(req, next, |b| {
        let epoch = b["created_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp());
        if let Some(epoch) = epoch {
            b["created_at"] = json!(epoch);
        }
    })
    .await
}

/// A parser that reads parts only from the file part on: a metadata part sent
/// before it is dropped (the 201 shows no metadata).
async fn metadata_first_ignored(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    if !upload {
        return next.run(req).await;
    }
    let (req, bytes) = body_of(req).await;
    let at = |name: &[u8]| bytes.windows(name.len()).position(|w| w == name);
    let first = matches!(
        (at(b"name=\"metadata\""), at(b"name=\"file\"")),
        (Some(m), Some(f)) if m < f
    );
    let r = next.run(req).await;
    if !first || r.status() != StatusCode::CREATED {
        return r;
    }
    let (parts, body) = json_of(r).await;
    let mut body = body.unwrap_or_default();
    body["metadata"] = Value::Null;
    with_json(parts, &body)
}

/// The limit lives in the text validator: a PDF over it is stored (a 201 with
/// its FileInfo) where the contract refuses it with 413.
async fn pdf_over_the_limit_accepted(req: Request, next: Next) -> Response {
    let upload = req.method() == Method::POST && req.uri().path() == FILES;
    if !upload {
        return next.run(req).await;
    }
    let (req, file) = uploaded_file(req).await;
    let Some(file) = file.filter(|f| f.mime == "application/pdf") else {
        return next.run(req).await;
    };
    on_problem(req, next, |_, code| {
        (code == "payload_too_large").then(|| acknowledged(&file))
    })
    .await
}
