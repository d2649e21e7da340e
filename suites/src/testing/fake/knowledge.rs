//! The fake's knowledge and memory routes: as much of the contract as the checks ask —
//! strict multipart and metadata, content checks, exact size limit, safe filenames,
//! newest-first cursor paging, downloads, deletes, ranked search over text, filename and
//! metadata, and the malformed-input answers of the memory routes (it stores no memories).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::{resp, FakeApi, Fault};
use crate::check::api::{sha256_hex, ALLOWED_MIME};
use crate::check::transport::{ApiRequest, ApiResponse, Body, Part};

/// The contract's default upload limit.
const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

pub(super) struct File {
    pub id: String,
    pub owner: String,
    pub filename: String,
    pub mime: String,
    pub data: Bytes,
    pub metadata: Value,
    /// Upload order: newest first is highest first.
    pub seq: u64,
}

impl File {
    fn info(&self) -> Value {
        json!({"id": self.id, "filename": self.filename, "mime_type": self.mime, "size_bytes": self.data.len(),
            "sha256": sha256_hex(&self.data), "metadata": self.metadata, "created_at": "2026-01-01T00:00:00Z"})
    }
    /// Everything search looks at, lower-cased.
    fn index(&self) -> String {
        let text = if self.mime == "application/pdf" {
            String::new()
        } else {
            String::from_utf8_lossy(&self.data).into_owned()
        };
        let m = &self.metadata;
        let tags: Vec<&str> = m["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        format!(
            "{} {text} {} {} {}",
            self.filename.replace(['.', '-', '_'], " "),
            m["title"].as_str().unwrap_or_default(),
            m["description"].as_str().unwrap_or_default(),
            tags.join(" ")
        )
        .to_lowercase()
    }
}

/// Query parameters, percent-decoded; `Err` on a repeated key or one not in `allowed`.
fn query(req: &ApiRequest, allowed: &[&str]) -> Result<Map<String, Value>, &'static str> {
    let mut out = Map::new();
    let Some((_, q)) = req.path.split_once('?') else {
        return Ok(out);
    };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
        if !allowed.contains(&k) || out.insert(k.into(), v.into()).is_some() {
            return Err("invalid_query");
        }
    }
    Ok(out)
}

/// A `limit` parameter within `1..=max`, `default` when absent.
fn limit(v: Option<&Value>, default: u64, max: u64) -> Option<u64> {
    match v {
        None | Some(Value::Null) => Some(default),
        Some(Value::String(s)) => s.parse().ok(),
        Some(v) => v.as_u64(),
    }
    .filter(|n| (1..=max).contains(n))
}

/// The client filename reduced to its last segment, without control, format or
/// separator characters.
fn sanitize(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !crate::cases::knowledge::uploads::is_format_or_separator(*c)
        })
        .collect();
    match clean.trim() {
        "" | "." | ".." => "file".into(),
        s => s.into(),
    }
}

fn metadata_ok(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.iter().all(|(k, v)| match k.as_str() {
        "title" | "description" => v.is_string(),
        "tags" => v.as_array().is_some_and(|t| t.iter().all(Value::is_string)),
        _ => false,
    })
}

fn content_ok(mime: &str, data: &[u8]) -> bool {
    match mime {
        "application/pdf" => data.starts_with(b"%PDF-"),
        "application/json" => serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok(),
        _ => std::str::from_utf8(data).is_ok(),
    }
}

/// A JSON object body: `Err(code)` for the wrong media type or malformed JSON.
fn json_body(req: &ApiRequest) -> Result<Map<String, Value>, (u16, &'static str)> {
    let value = match &req.body {
        Body::Json(v) => v.clone(),
        Body::Raw { content_type, data } if content_type.starts_with("application/json") => {
            serde_json::from_slice(data).map_err(|_| (400, "invalid_json"))?
        }
        _ => return Err((415, "unsupported_media_type")),
    };
    match value {
        Value::Object(o) => Ok(o),
        _ => Err((400, "invalid_json")),
    }
}

impl FakeApi {
    fn status_problem(&self, (status, code): (u16, &str)) -> ApiResponse {
        self.problem(status, code)
    }

    pub(super) fn files_route(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let path = req.path.split('?').next().unwrap_or_default();
        let rest = path
            .strip_prefix("/api/v1/knowledge/files")
            .unwrap_or_default();
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        let m = req.method.as_str();
        let (id, content) = match (segments.as_slice(), m) {
            ([], "GET") => return self.list(req, sub),
            ([], "POST") => return self.upload(req, sub),
            ([_], "GET" | "DELETE") => (segments[0], false),
            ([_, "content"], "GET") => (segments[0], true),
            ([] | [_] | [_, "content"], _) => return self.problem(405, "method_not_allowed"),
            _ => return self.problem(404, "not_found"),
        };
        let Ok(id) = id.parse::<uuid::Uuid>().map(|u| u.to_string()) else {
            return self.problem(400, "invalid_id");
        };
        let mut st = self.state.lock().unwrap();
        let leak = m == "GET" && self.has(Fault::GetLeaksOtherTenants);
        let Some(i) =
            st.0.iter()
                .position(|f| f.id == id && (f.owner == sub || leak))
        else {
            return self.problem(404, "not_found");
        };
        if m == "DELETE" {
            st.0.remove(i);
            return ApiResponse {
                status: 204,
                headers: vec![],
                body: Bytes::new(),
            };
        }
        let f = &st.0[i];
        if !content {
            return resp(200, f.info());
        }
        let name =
            percent_encoding::utf8_percent_encode(&f.filename, percent_encoding::NON_ALPHANUMERIC);
        ApiResponse {
            status: 200,
            headers: vec![
                ("content-type".into(), f.mime.clone()),
                (
                    "content-disposition".into(),
                    format!("attachment; filename*=UTF-8''{name}"),
                ),
            ],
            body: f.data.clone(),
        }
    }

    fn list(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let q = match query(req, &["limit", "cursor"]) {
            Ok(q) => q,
            Err(code) => return self.problem(400, code),
        };
        let Some(n) = limit(q.get("limit"), 50, 100) else {
            return self.problem(400, "validation_failed");
        };
        let before = match q.get("cursor").and_then(Value::as_str) {
            None => u64::MAX,
            Some(c) => match decode_cursor(c) {
                Some(seq) => seq,
                None => return self.problem(400, "invalid_cursor"),
            },
        };
        let st = self.state.lock().unwrap();
        let mut mine: Vec<&File> =
            st.0.iter()
                .filter(|f| f.owner == sub && f.seq < before)
                .collect();
        mine.sort_by_key(|f| std::cmp::Reverse(f.seq));
        let more = mine.len() as u64 > n;
        mine.truncate(n as usize);
        let next = more.then(|| {
            mine.last()
                .map(|f| URL_SAFE_NO_PAD.encode(format!("seq:{}", f.seq)))
        });
        resp(
            200,
            json!({"items": mine.iter().map(|f| f.info()).collect::<Vec<_>>(), "next_cursor": next.flatten()}),
        )
    }

    fn upload(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let parts = match &req.body {
            Body::Multipart(parts) => parts,
            Body::Raw { content_type, .. } if content_type.starts_with("multipart/") => {
                return self.problem(400, "invalid_multipart")
            }
            _ => return self.problem(415, "unsupported_media_type"),
        };
        let named = |n: &str| parts.iter().filter(|p| p.name == n).collect::<Vec<&Part>>();
        let (files, metas) = (named("file"), named("metadata"));
        if files.len() != 1 || metas.len() > 1 || files.len() + metas.len() != parts.len() {
            return self.problem(400, "invalid_multipart");
        }
        let p = files[0];
        let Some(raw_name) = &p.filename else {
            return self.problem(400, "invalid_multipart");
        };
        let metadata = match metas.first() {
            None => Value::Null,
            Some(m) => match serde_json::from_slice::<Value>(&m.data) {
                Ok(v) if metadata_ok(&v) => v,
                _ => return self.problem(400, "invalid_metadata"),
            },
        };
        let mime = p.content_type.as_deref().unwrap_or_default();
        let mime = mime
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !ALLOWED_MIME.contains(&mime.as_str()) {
            return self.problem(400, "invalid_mime_type");
        }
        if p.data.len() > UPLOAD_LIMIT {
            return self.problem(413, "payload_too_large");
        }
        if p.data.is_empty() {
            return self.problem(400, "empty_file");
        }
        if !content_ok(&mime, &p.data) {
            return self.problem(400, "content_mismatch");
        }
        let mut st = self.state.lock().unwrap();
        let f = File {
            id: uuid::Uuid::new_v4().to_string(),
            owner: sub.into(),
            filename: sanitize(raw_name),
            mime,
            data: p.data.clone(),
            metadata,
            seq: st.0.iter().map(|f| f.seq + 1).max().unwrap_or(1),
        };
        let mut r = resp(201, f.info());
        r.headers.push((
            "location".into(),
            format!("/api/v1/knowledge/files/{}", f.id),
        ));
        st.0.push(f);
        r
    }

    pub(super) fn search(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return self.status_problem(e),
        };
        if body.keys().any(|k| k != "query" && k != "limit") {
            return self.problem(400, "invalid_json");
        }
        let Some(q) = body.get("query").and_then(Value::as_str) else {
            return self.problem(400, "invalid_json");
        };
        let n = match body.get("limit") {
            Some(Value::String(_)) => None,
            l => limit(l, 10, 50),
        };
        let (Some(n), true) = (
            n,
            (1..=512).contains(&q.chars().count()) && !q.trim().is_empty(),
        ) else {
            return self.problem(400, "validation_failed");
        };
        let words: Vec<String> = q
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let st = self.state.lock().unwrap();
        let mut hits: Vec<(usize, &File)> =
            st.0.iter()
                .filter(|f| f.owner == sub || self.has(Fault::SearchIgnoresTenant))
                .map(|f| {
                    let index = f.index();
                    (
                        words
                            .iter()
                            .map(|w| index.matches(w.as_str()).count())
                            .sum(),
                        f,
                    )
                })
                .filter(|(score, _)| *score > 0)
                .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.seq.cmp(&a.1.seq)));
        let results: Vec<Value> = hits
            .iter()
            .take(n as usize)
            .map(|(score, f)| {
                let snippet: String = f.index().chars().take(80).collect();
                json!({"file_id": f.id, "filename": f.filename, "score": *score as f64 / 10.0, "snippet": snippet})
            })
            .collect();
        resp(200, json!({"results": results, "took_ms": 1}))
    }

    /// Memory routes: malformed input is refused as the server does; well-formed
    /// requests go to the memory store ([`super::memory`]).
    pub(super) fn memory(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let path = req.path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path
            .trim_start_matches(crate::check::api::MEMORY)
            .split('/')
            .skip(1)
            .collect();
        match (segments.as_slice(), req.method.as_str()) {
            ([], "GET") => {
                let q = match query(req, &["session_id", "limit", "cursor"]) {
                    Ok(q) => q,
                    Err(code) => return self.problem(400, code),
                };
                if limit(q.get("limit"), 50, 100).is_none() {
                    return self.problem(400, "validation_failed");
                }
                self.memory_route(req, sub)
            }
            ([], "POST") => {
                let body = match json_body(req) {
                    Ok(b) => b,
                    Err(e) => return self.status_problem(e),
                };
                let role_ok = body
                    .get("role")
                    .and_then(Value::as_str)
                    .is_some_and(|r| ["user", "assistant", "system", "tool"].contains(&r));
                let text = |k: &str| body.get(k).is_some_and(Value::is_string);
                if !(role_ok && text("session_id") && text("content")) {
                    return self.problem(400, "invalid_json");
                }
                self.memory_route(req, sub)
            }
            ([id], "GET" | "DELETE") if id.parse::<uuid::Uuid>().is_err() => {
                self.problem(400, "invalid_id")
            }
            ([_], "GET" | "DELETE") => self.memory_route(req, sub),
            ([] | [_], _) => self.problem(405, "method_not_allowed"),
            _ => self.problem(404, "not_found"),
        }
    }
}

fn decode_cursor(c: &str) -> Option<u64> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    raw.strip_prefix("seq:")?.parse().ok()
}
