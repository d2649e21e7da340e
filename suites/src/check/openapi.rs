//! Breaking-change diff of two OpenAPI 3.x documents (Gate 1).
//!
//! Breaking: a removed path, operation, parameter, success response, media type
//! or response field; a changed type; a newly required parameter or request field.
//! A removed *error* response is not a break (as oasdiff's
//! `response-non-success-status-removed`): the contract only says error
//! statuses *should* be documented, and a client loses nothing it could rely on.
//! Additions are fine. Each finding is reported by JSON pointer into the baseline.
//! Path templates compare by shape, so renaming `{id}` to `{file_id}` is not a break.

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];
/// `$ref` chains deeper than this are treated as cycles.
const MAX_DEPTH: usize = 24;

/// One breaking change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaking {
    /// JSON pointer into the baseline document.
    pub pointer: String,
    pub message: String,
}

/// Escapes one JSON-pointer segment (RFC 6901).
fn esc(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in path.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

fn find_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let paths = doc.get("paths")?.as_object()?;
    paths.get(path).or_else(|| {
        paths
            .iter()
            .find(|(p, _)| shape(p) == shape(path))
            .map(|(_, v)| v)
    })
}

/// Follows local `$ref`s (`#/components/...`).
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(target) => v = target,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

fn types(schema: &Value) -> Vec<String> {
    let mut t: Vec<String> = match schema.get("type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        t.push("null".into());
    }
    t.sort();
    t.dedup();
    t
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Request,
    Response,
}

struct Differ<'a> {
    base: &'a Value,
    cur: &'a Value,
    out: Vec<Breaking>,
}

impl Differ<'_> {
    fn push(&mut self, pointer: &str, message: impl Into<String>) {
        self.out.push(Breaking {
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    fn schema(&mut self, b: &Value, c: &Value, ptr: &str, dir: Dir, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (b, c) = (resolve(self.base, b), resolve(self.cur, c));
        let (bt, ct) = (types(b), types(c));
        if !bt.is_empty() && !ct.is_empty() && bt != ct {
            self.push(ptr, format!("type changed from {bt:?} to {ct:?}"));
            return;
        }
        if let Some(props) = b.get("properties").and_then(Value::as_object) {
            let cur_props = c.get("properties").and_then(Value::as_object);
            for (name, bs) in props {
                let p = format!("{ptr}/properties/{}", esc(name));
                match cur_props.and_then(|cp| cp.get(name)) {
                    Some(cs) => self.schema(bs, cs, &p, dir, depth + 1),
                    None if dir == Dir::Response => {
                        self.push(&p, format!("response field `{name}` removed"))
                    }
                    None => {}
                }
            }
        }
        if dir == Dir::Request {
            let was = required(b);
            for name in required(c).into_iter().filter(|n| !was.contains(n)) {
                self.push(
                    &format!("{ptr}/required"),
                    format!("request field `{name}` became required"),
                );
            }
        }
        if let (Some(bi), Some(ci)) = (b.get("items"), c.get("items")) {
            self.schema(bi, ci, &format!("{ptr}/items"), dir, depth + 1);
        }
    }

    fn params<'v>(&self, doc: &'v Value, item: &'v Value, op: &'v Value) -> Vec<&'v Value> {
        let list = |v: &'v Value| {
            v.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        };
        list(item)
            .chain(list(op))
            .map(|p| resolve(doc, p))
            .collect()
    }

    fn operation(&mut self, bi: &Value, bo: &Value, ci: &Value, co: &Value, ptr: &str) {
        let key = |p: &Value| {
            (
                p["in"].as_str().unwrap_or("").to_owned(),
                p["name"].as_str().unwrap_or("").to_owned(),
            )
        };
        let bp = self.params(self.base, bi, bo);
        let cp = self.params(self.cur, ci, co);
        for p in &bp {
            let (loc, name) = key(p);
            let pp = format!("{ptr}/parameters/{}", esc(&name));
            // Path parameters are matched by position through the path shape, not by name.
            if loc == "path" {
                continue;
            }
            match cp.iter().find(|q| key(q) == (loc.clone(), name.clone())) {
                None => self.push(&pp, format!("{loc} parameter `{name}` removed")),
                Some(q) => {
                    if q["required"] == true && p["required"] != true {
                        self.push(&pp, format!("{loc} parameter `{name}` became required"));
                    }
                    self.schema(
                        &p["schema"],
                        &q["schema"],
                        &format!("{pp}/schema"),
                        Dir::Request,
                        0,
                    );
                }
            }
        }
        for q in &cp {
            let (loc, name) = key(q);
            if loc != "path"
                && q["required"] == true
                && !bp.iter().any(|p| key(p) == (loc.clone(), name.clone()))
            {
                self.push(
                    &format!("{ptr}/parameters/{}", esc(&name)),
                    format!("new required {loc} parameter `{name}`"),
                );
            }
        }
        if let Some(bb) = bo.get("requestBody") {
            let bb = resolve(self.base, bb);
            let cb = co.get("requestBody").map(|c| resolve(self.cur, c));
            self.content(bb, cb, &format!("{ptr}/requestBody"), Dir::Request);
        }
        let Some(resps) = bo.get("responses").and_then(Value::as_object) else {
            return;
        };
        for (status, br) in resps {
            let rp = format!("{ptr}/responses/{}", esc(status));
            match co.get("responses").and_then(|r| r.get(status)) {
                None if !is_success(status) => {}
                None => self.push(&rp, format!("response {status} removed")),
                Some(cr) => {
                    let (br, cr) = (resolve(self.base, br), resolve(self.cur, cr));
                    self.content(br, Some(cr), &rp, Dir::Response);
                }
            }
        }
    }

    fn content(&mut self, b: &Value, c: Option<&Value>, ptr: &str, dir: Dir) {
        let Some(media) = b.get("content").and_then(Value::as_object) else {
            return;
        };
        for (mt, bm) in media {
            let mp = format!("{ptr}/content/{}", esc(mt));
            match c.and_then(|c| c.get("content")).and_then(|m| m.get(mt)) {
                None => self.push(&mp, format!("media type {mt} removed")),
                Some(cm) => self.schema(
                    &bm["schema"],
                    &cm["schema"],
                    &format!("{mp}/schema"),
                    dir,
                    0,
                ),
            }
        }
    }
}

/// The document's own path, which a document may leave out (contract v1.1).
const SELF_DESCRIPTION: &str = "/openapi.json";

/// Every breaking change from `base` to `cur`, in baseline order.
pub fn breaking_changes(base: &Value, cur: &Value) -> Vec<Breaking> {
    let mut d = Differ {
        base,
        cur,
        out: Vec::new(),
    };
    let Some(paths) = base.get("paths").and_then(Value::as_object) else {
        return d.out;
    };
    for (path, bi) in paths {
        let ptr = format!("/paths/{}", esc(path));
        let Some(ci) = find_path(cur, path) else {
            // The contract: describing /openapi.json itself is optional.
            if path != SELF_DESCRIPTION {
                d.push(&ptr, format!("path {path} removed"));
            }
            continue;
        };
        for m in METHODS {
            let Some(bo) = bi.get(m) else { continue };
            match ci.get(m) {
                None => d.push(
                    &format!("{ptr}/{m}"),
                    format!("operation {} {path} removed", m.to_uppercase()),
                ),
                Some(co) => d.operation(bi, bo, ci, co, &format!("{ptr}/{m}")),
            }
        }
    }
    d.out
}

/// The R2 knowledge operations every target must describe.
pub const KNOWLEDGE_OPERATIONS: [(&str, &str); 6] = [
    ("post", "/api/v1/knowledge/files"),
    ("get", "/api/v1/knowledge/files"),
    ("get", "/api/v1/knowledge/files/{id}"),
    ("delete", "/api/v1/knowledge/files/{id}"),
    ("get", "/api/v1/knowledge/files/{id}/content"),
    ("post", "/api/v1/knowledge/search"),
];

/// Every operation the contract names: the knowledge paths, the R1 memory API,
/// the anonymous-token endpoint and the operational endpoints.
/// (`GET /openapi.json` is not among them: describing itself is optional.)
pub const CONTRACT_OPERATIONS: [(&str, &str); 14] = [
    KNOWLEDGE_OPERATIONS[0],
    KNOWLEDGE_OPERATIONS[1],
    KNOWLEDGE_OPERATIONS[2],
    KNOWLEDGE_OPERATIONS[3],
    KNOWLEDGE_OPERATIONS[4],
    KNOWLEDGE_OPERATIONS[5],
    ("post", "/api/v1/memory"),
    ("get", "/api/v1/memory"),
    ("get", "/api/v1/memory/{id}"),
    ("delete", "/api/v1/memory/{id}"),
    ("post", "/api/v1/stream/auth/anon"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
];

/// A documented response key for a success: `2xx`/`3xx`, a `2XX` range or `default`.
fn is_success(status: &str) -> bool {
    status == "default" || status.starts_with('2') || status.starts_with('3')
}

/// Which of `ops` the document lacks, as `METHOD path`.
pub fn missing_operations(doc: &Value, ops: &[(&str, &str)]) -> Vec<String> {
    ops.iter()
        .filter(|(m, p)| find_path(doc, p).and_then(|i| i.get(*m)).is_none())
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect()
}

#[cfg(test)]
mod tests;
