//! Knowledge paths — the five file routes beyond the smoke suites: FileInfo agreeing
//! everywhere, newest-first lists, downloads, deletes, and a token on
//! every route.

use serde_json::{json, Value};

use crate::check::api;
use crate::check::calls::{created, list_pages};
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::tokens::Tenant;
use crate::check::transport::{ApiRequest, ApiResponse};

pub const FILEINFO: CaseSpec = CaseSpec {
    id: "files::fileinfo_agrees_across_upload_list_and_get",
    clauses: &["files.upload", "files.get", "metadata.round-trip"],
    title: "Upload, list and get show one complete FileInfo: sha256 and size of the bytes, type, name and metadata exactly as sent",
};
pub const METADATA_OPTIONAL: CaseSpec = CaseSpec {
    id: "files::upload_without_metadata_part_is_accepted",
    clauses: &["files.upload.multipart", "files.upload"],
    title: "An upload with only a file part (metadata is optional) gives 201 and a complete FileInfo, its metadata null or {}; a metadata part sent before the file part is kept",
};
pub const NEWEST_FIRST: CaseSpec = CaseSpec {
    id: "files::list_is_newest_first",
    clauses: &["files.list"],
    title: "The list shows the caller's files newest first, on one page and across pages of two, with next_cursor null when all fit",
};
pub const CONTENT: CaseSpec = CaseSpec {
    id: "files::content_returns_the_stored_bytes",
    clauses: &["files.content", "files.bytes-described"],
    title: "Content is the uploaded bytes with the stored Content-Type and an RFC 8187 attachment filename, and the FileInfo's size_bytes and sha256 describe exactly those bytes",
};
pub const CONTENT_TYPE: CaseSpec = CaseSpec {
    id: "files::content_type_is_the_stored_type_whatever_the_extension",
    clauses: &["files.content"],
    title: "Markdown named notes.txt and JSON named data.csv are served with their stored types, not the ones their extensions suggest",
};
pub const DELETE: CaseSpec = CaseSpec {
    id: "files::delete_removes_the_file_everywhere",
    clauses: &["files.delete", "files.not-found", "files.read-paths-agree"],
    title: "DELETE gives 204; then get, content and DELETE are 404 and the file is gone from list and search",
};
pub const AUTH: CaseSpec = CaseSpec {
    id: "files::every_route_needs_a_token",
    clauses: &["files.auth-required", "auth.missing-token"],
    title: "Every knowledge and memory route without a token gives 401 missing_token with the challenge",
};
/// Files uploaded one after the other for the order case: two full pages of [`ORDER_PAGE`].
const ORDERED: usize = 4;
/// The page size the order case pages with: a second page of two can be out of order.
const ORDER_PAGE: u32 = 2;

/// The cases, in order, as `t` (the knowledge-path tenant of [`super::FILE_ROUTES`]);
/// their list is exact only at the start.
pub async fn run(ctx: &Ctx, t: &Tenant) -> Vec<CaseReport> {
    let mut out = vec![newest_first(ctx, t).await];
    let (info, id) = fileinfo(ctx, t).await;
    out.push(info);
    out.push(metadata_optional(ctx, t).await);
    out.push(content(ctx, t).await);
    out.push(content_type(ctx, t).await);
    out.push(delete(ctx, t).await);
    out.push(auth(ctx, id.as_deref()).await);
    out
}

async fn fileinfo(ctx: &Ctx, t: &Tenant) -> (CaseReport, Option<String>) {
    let mut c = CaseRun::start(ctx, FILEINFO);
    let data = "Knowledge paths: a note about h\u{e9}rons and \u{1f426}.\n".as_bytes();
    let meta = json!({"title": "H\u{e9}rons \u{2713}", "description": "Birds, \"quoted\" and <angled>.", "tags": ["birds", "gonogo-smoke", "\u{fc}ber"]});
    let name = "herons field-notes.txt";
    let Some(up) = created(&mut c, api::upload_with(t, name, "text/plain", data, &meta)).await
    else {
        return (c.finish(), None);
    };
    let id = api::file_id(&up).unwrap_or_default();
    let mut m = api::fileinfo_mismatches(&up, name, "text/plain", data.len());
    if up["sha256"].as_str().map(str::to_ascii_lowercase) != Some(api::sha256_hex(data)) {
        m.push(format!(
            "sha256 {} is not the SHA-256 of the bytes",
            up["sha256"]
        ));
    }
    if up["metadata"] != meta {
        m.push(format!(
            "metadata {} instead of {meta} as sent",
            up["metadata"]
        ));
    }
    for x in m {
        c.fail(format!("upload: {x}"));
    }
    if let Some(r) = c.call(api::list(t, 100), Expect::status(200)).await {
        let body = r.json().unwrap_or_default();
        let item = body["items"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["id"] == id.as_str()));
        match item {
            None => c.fail(format!("the list does not show file {id}")),
            Some(i) if *i != up => c.fail(format!("the list shows {i}, the upload {up}")),
            Some(_) => {}
        }
    }
    if let Some(r) = c.call(api::get_file(t, &id), Expect::status(200)).await {
        let got = r.json().unwrap_or_default();
        c.check(got == up, format!("get shows {got}, the upload {up}"));
    }
    (c.finish(), Some(id))
}

async fn metadata_optional(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, METADATA_OPTIONAL);
    let req = api::upload_parts(
        t,
        vec![api::file_part("bare.txt", "text/plain", "no metadata")],
    );
    if let Some(up) = created(&mut c, req).await {
        c.check(
            up.get("metadata")
                .is_some_and(|m| m.is_null() || m.as_object().is_some_and(|o| o.is_empty())),
            format!("metadata {} for an upload that sent none", up["metadata"]),
        );
    }
    // The contract names the parts, not their order: a metadata part that comes
    // first is as much the upload's as one that follows the file.
    let meta = json!({"title": "Metadata first", "tags": ["gonogo-smoke"]});
    let req = api::upload_parts(
        t,
        vec![
            api::metadata_part(meta.to_string()),
            api::file_part("metadata-first.txt", "text/plain", "metadata came first"),
        ],
    );
    if let Some(up) = created(&mut c, req).await {
        c.check(
            up["metadata"] == meta,
            format!(
                "metadata {} for an upload whose metadata part came first with {meta}",
                up["metadata"]
            ),
        );
    }
    c.finish()
}

/// Uploads a few files one after the other; the list must show them newest first.
async fn newest_first(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut order = CaseRun::start(ctx, NEWEST_FIRST);
    let mut ids = Vec::new();
    for i in 0..ORDERED {
        let req = api::upload(
            t,
            &format!("order-{i}.txt"),
            "text/plain",
            format!("order {i}"),
        );
        if let Some(up) = created(&mut order, req).await {
            ids.extend(api::file_id(&up));
        }
    }
    ids.reverse();
    if let Some(r) = order
        .call(
            ApiRequest::get(api::FILES).bearer(&t.token),
            Expect::status(200),
        )
        .await
    {
        let body = r.json().unwrap_or_default();
        let got = api::item_ids(&body);
        order.check(
            got == ids,
            format!("list order {got:?}, newest first is {ids:?}"),
        );
        order.check(
            body["next_cursor"].is_null(),
            format!("next_cursor {} when every file fits", body["next_cursor"]),
        );
    }
    // "Newest first" holds for the list, not only its first page: the pages after
    // the first continue the order.
    if let Some((pages, _)) = list_pages(&mut order, t, ORDER_PAGE, ORDERED + 1).await {
        let got = pages.concat();
        order.check(
            got == ids,
            format!("pages of {ORDER_PAGE} gave {pages:?}, newest first is {ids:?}"),
        );
    }
    order.finish()
}

/// The filename of an RFC 6266 `attachment; filename*=UTF-8''…` value, decoded.
pub fn attachment_filename(v: &str) -> Result<String, String> {
    let mut params = v.split(';').map(str::trim);
    if !params
        .next()
        .is_some_and(|d| d.eq_ignore_ascii_case("attachment"))
    {
        return Err(format!("{v:?} is not an attachment"));
    }
    let ext = params
        .find_map(|p| {
            let (k, val) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case("filename*").then_some(val)
        })
        .ok_or_else(|| format!("{v:?} has no filename*= parameter"))?;
    let (charset, rest) = ext.split_once('\'').ok_or("filename*= without charset")?;
    let (_lang, encoded) = rest.split_once('\'').ok_or("filename*= without language")?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return Err(format!("filename*= charset {charset:?} instead of UTF-8"));
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "filename*= is not percent-encoded UTF-8".into())
}

async fn content(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, CONTENT);
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..=255u8).rev());
    pdf.extend_from_slice(b"\n%%EOF\n");
    let files: [(&str, &str, Vec<u8>); 2] = [
        (
            "r\u{e9}sum\u{e9} notes; \"draft\".md",
            "text/markdown",
            "# R\u{e9}sum\u{e9}\n\n* one\n".into(),
        ),
        ("report 100% (final).pdf", "application/pdf", pdf),
    ];
    for (name, mime, data) in files {
        let Some(up) = created(&mut c, api::upload(t, name, mime, data.clone())).await else {
            continue;
        };
        let id = api::file_id(&up).unwrap_or_default();
        let stored = up["filename"].as_str().unwrap_or(name).to_owned();
        // What the FileInfo promises, as the upload and a later GET describe it.
        let got = c
            .call(api::get_file(t, &id), Expect::status(200))
            .await
            .and_then(|r| r.json())
            .unwrap_or_default();
        let described: Vec<(&str, Value)> = vec![("upload", up.clone()), ("GET", got)];
        let req = ApiRequest::get(format!("{}/{id}/content", api::FILES)).bearer(&t.token);
        c.call_with(req, "200 + the bytes + stored type + attachment", |r| {
            let mut m = Expect::status(200).mismatches(r);
            let sha = api::sha256_hex(&r.body);
            for (by, info) in &described {
                if info["size_bytes"].as_u64() != Some(r.body.len() as u64) {
                    m.push(format!(
                        "the {by}'s size_bytes {} does not describe the {} bytes /content returned",
                        info["size_bytes"],
                        r.body.len()
                    ));
                }
                if info["sha256"].as_str().map(str::to_ascii_lowercase) != Some(sha.clone()) {
                    m.push(format!(
                        "the {by}'s sha256 {} is not the SHA-256 of the bytes /content returned",
                        info["sha256"]
                    ));
                }
            }
            if r.body.as_ref() != data.as_slice() {
                m.push(format!(
                    "{} bytes differ from the {} uploaded",
                    r.body.len(),
                    data.len()
                ));
            }
            let ct = r.header("content-type").unwrap_or("");
            if !media_type_is(ct, mime) {
                m.push(format!("Content-Type {ct:?} instead of the stored {mime}"));
            }
            match attachment_filename(r.header("content-disposition").unwrap_or("")) {
                Ok(f) if f == stored => {}
                Ok(f) => m.push(format!("Content-Disposition names {f:?}, not {stored:?}")),
                Err(e) => m.push(format!("Content-Disposition: {e}")),
            }
            m
        })
        .await;
    }
    c.finish()
}

/// Files whose names suggest another allowed type: the stored type is served.
async fn content_type(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, CONTENT_TYPE);
    let files: [(&str, &str, &[u8]); 2] = [
        (
            "notes.txt",
            "text/markdown",
            b"# Notes\n\n* kept as markdown\n",
        ),
        ("data.csv", "application/json", br#"{"rows": [["a", 1]]}"#),
    ];
    for (name, mime, data) in files {
        let Some(id) = created(&mut c, api::upload(t, name, mime, data))
            .await
            .and_then(|up| api::file_id(&up))
        else {
            continue;
        };
        let req = ApiRequest::get(format!("{}/{id}/content", api::FILES)).bearer(&t.token);
        c.call_with(req, &format!("200 with Content-Type {mime}"), |r| {
            let mut m = Expect::status(200).mismatches(r);
            let ct = r.header("content-type").unwrap_or("");
            if !media_type_is(ct, mime) {
                m.push(format!(
                    "Content-Type {ct:?} for {name:?}, stored as {mime}"
                ));
            }
            m
        })
        .await;
    }
    c.finish()
}

/// `value`'s media type is `mime` (parameters such as `charset` aside, case-insensitively).
fn media_type_is(value: &str, mime: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(mime))
}

async fn delete(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, DELETE);
    let word = api::unique_word("deleted");
    let req = api::upload(
        t,
        "to-delete.txt",
        "text/plain",
        format!("soon gone: {word}"),
    );
    let Some(id) = created(&mut c, req).await.and_then(|b| api::file_id(&b)) else {
        return c.finish();
    };
    let found = |r: &ApiResponse| api::result_ids(&r.json().unwrap_or_default());
    if let Some(r) = c.call(api::search(t, &word), Expect::status(200)).await {
        c.check(
            found(&r).contains(&id),
            format!("search for {word:?} did not find the file before the delete"),
        );
    }
    c.call_with(api::delete_file(t, &id), "204 with no body", |r| {
        let mut m = Expect::status(204).mismatches(r);
        if !r.body.is_empty() {
            m.push(format!("a {}-byte body on 204", r.body.len()));
        }
        m
    })
    .await;
    let gone = Expect::problem(404, "not_found");
    c.call(api::get_file(t, &id), gone.clone()).await;
    let content = ApiRequest::get(format!("{}/{id}/content", api::FILES)).bearer(&t.token);
    c.call(content, gone.clone()).await;
    c.call(api::delete_file(t, &id), gone).await;
    if let Some(r) = c.call(api::list(t, 100), Expect::status(200)).await {
        c.check(
            !api::item_ids(&r.json().unwrap_or_default()).contains(&id),
            format!("the list still shows deleted file {id}"),
        );
    }
    if let Some(r) = c.call(api::search(t, &word), Expect::status(200)).await {
        c.check(
            !found(&r).contains(&id),
            format!("search still finds deleted file {id}"),
        );
    }
    c.finish()
}

async fn auth(ctx: &Ctx, id: Option<&str>) -> CaseReport {
    let mut c = CaseRun::start(ctx, AUTH);
    let file = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let memory = uuid::Uuid::new_v4();
    let f = api::FILES;
    let routes = [
        ApiRequest::post(f).multipart(vec![api::file_part("a.txt", "text/plain", "x")]),
        ApiRequest::get(f),
        ApiRequest::get(format!("{f}/{file}")),
        ApiRequest::delete(format!("{f}/{file}")),
        ApiRequest::get(format!("{f}/{file}/content")),
        ApiRequest::post(api::SEARCH).json(json!({"query": "anything"})),
        ApiRequest::post(api::MEMORY)
            .json(json!({"session_id": "s", "role": "user", "content": "x"})),
        ApiRequest::get(format!("{}?session_id=s", api::MEMORY)),
        ApiRequest::get(format!("{}/{memory}", api::MEMORY)),
        ApiRequest::delete(format!("{}/{memory}", api::MEMORY)),
    ];
    for req in routes {
        c.call(req, Expect::problem(401, "missing_token").bare_challenge())
            .await;
    }
    c.finish()
}
