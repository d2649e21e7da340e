//! Response conformance to an OpenAPI 3.x document: the operation is found by
//! method and path template, the status must be documented for it (or a `2XX`
//! range, or `default`), the content type must be one it documents, and a JSON
//! body must be valid against the documented schema — schemathesis'
//! status-code, content-type and response-schema conformance.
//!
//! Schemas are validated with the `jsonschema` crate as JSON Schema 2020-12
//! (what OpenAPI 3.1 schemas are), with the document's `components` at the
//! root so `#/components/...` references resolve; OpenAPI 3.0's `nullable` is
//! rewritten to a `null` type first. Formats (`uuid`, `date-time`) are checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::check::transport::ApiResponse;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];
/// A failing validation message is cut to this many characters (it may quote the instance).
const MAX_MESSAGE: usize = 200;

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `GET /api/v1/memory/{id}`.
    pub name: String,
    /// JSON pointer of the operation object in the document.
    pointer: String,
}

/// How a request's path relates to the document.
#[derive(Debug, Clone)]
pub enum Route {
    /// The document describes this operation.
    Documented(Operation),
    /// The path is documented but not for this method (e.g. a 405 probe).
    OtherMethod { path: String },
    /// The document does not describe the path at all: nothing to judge.
    Unknown,
}

/// A parsed OpenAPI document with a cache of compiled response schemas.
pub struct Spec {
    doc: Value,
    /// Every `(template segments, template, path pointer)`.
    paths: Vec<(Vec<String>, String, String)>,
    validators: Mutex<HashMap<String, Result<Arc<jsonschema::Validator>, String>>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("paths", &self.paths.len())
            .finish()
    }
}

/// Escapes one JSON-pointer segment (RFC 6901).
fn esc(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').map(str::to_owned).collect()
}

fn is_param(seg: &str) -> bool {
    seg.starts_with('{') && seg.ends_with('}')
}

/// OpenAPI 3.0 `nullable: true` as a JSON Schema `null` type, everywhere.
fn nullable_to_type(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.remove("nullable") == Some(Value::Bool(true)) {
                match o.get_mut("type") {
                    Some(Value::String(t)) => {
                        let t = std::mem::take(t);
                        o.insert("type".into(), serde_json::json!([t, "null"]));
                    }
                    Some(Value::Array(a)) => a.push("null".into()),
                    _ => {}
                }
            }
            o.values_mut().for_each(nullable_to_type);
        }
        Value::Array(a) => a.iter_mut().for_each(nullable_to_type),
        _ => {}
    }
}

/// The bare, lower-case media type of a Content-Type value or a content key.
fn media_type(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn media_matches(documented: &str, got: &str) -> bool {
    let d = media_type(documented);
    d == got
        || d == "*/*"
        || d.strip_suffix("/*")
            .is_some_and(|main| got.split('/').next() == Some(main))
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

impl Spec {
    /// Parses `doc`; `Err` when it is not an OpenAPI 3.x document with paths.
    pub fn new(mut doc: Value) -> Result<Self, String> {
        let version = doc["openapi"].as_str().unwrap_or_default().to_owned();
        if !version.starts_with("3.") {
            return Err("not an OpenAPI 3.x document".into());
        }
        if version.starts_with("3.0") {
            nullable_to_type(&mut doc);
        }
        let paths = doc["paths"]
            .as_object()
            .ok_or("the document has no paths")?
            .keys()
            .map(|p| (segments(p), p.clone(), format!("/paths/{}", esc(p))))
            .collect();
        Ok(Self {
            doc,
            paths,
            validators: Mutex::default(),
        })
    }

    /// The document as parsed (OpenAPI 3.0 `nullable` already rewritten).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The route `method path` (query ignored) takes in the document. A literal
    /// segment wins over a template (`/files/search` before `/files/{id}`).
    pub fn route(&self, method: &str, path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let got = segments(path);
        let best = self
            .paths
            .iter()
            .filter(|(segs, _, _)| {
                segs.len() == got.len()
                    && segs
                        .iter()
                        .zip(&got)
                        .all(|(t, g)| t == g || (is_param(t) && !g.is_empty()))
            })
            .min_by_key(|(segs, _, _)| segs.iter().filter(|s| is_param(s)).count());
        let Some((_, template, pointer)) = best else {
            return Route::Unknown;
        };
        let m = method.to_ascii_lowercase();
        if !METHODS.contains(&m.as_str()) || self.at(pointer).get(&m).is_none() {
            return Route::OtherMethod {
                path: template.clone(),
            };
        }
        Route::Documented(Operation {
            name: format!("{} {template}", m.to_uppercase()),
            pointer: format!("{pointer}/{m}"),
        })
    }

    fn at(&self, pointer: &str) -> &Value {
        self.doc.pointer(pointer).unwrap_or(&Value::Null)
    }

    /// Follows local `$ref`s; returns the target and its pointer.
    fn resolve(&self, mut pointer: String) -> (String, &Value) {
        for _ in 0..16 {
            match self.at(&pointer).get("$ref").and_then(Value::as_str) {
                Some(r) if r.starts_with("#/") => pointer = r[1..].to_owned(),
                _ => break,
            }
        }
        let v = self.at(&pointer);
        (pointer, v)
    }

    /// Every way `r` departs from what `op` documents (empty = conforms).
    pub fn check(&self, op: &Operation, r: &ApiResponse) -> Vec<String> {
        let responses = format!("{}/responses", op.pointer);
        let status = r.status.to_string();
        let range = format!("{}XX", r.status / 100);
        let Some(key) = [status.as_str(), range.as_str(), "default"]
            .into_iter()
            .find(|k| self.at(&responses).get(*k).is_some())
        else {
            return vec![format!(
                "status {} is not documented for {}",
                r.status, op.name
            )];
        };
        let (rp, response) = self.resolve(format!("{responses}/{}", esc(key)));
        let content = response.get("content").and_then(Value::as_object);
        let got = media_type(r.header("content-type").unwrap_or(""));
        let documented = content.map(|c| c.keys().cloned().collect::<Vec<_>>());
        match documented.filter(|d| !d.is_empty()) {
            None if r.body.is_empty() => vec![],
            None => vec![format!(
                "{} response {key} documents no body, but one of {} bytes ({got:?}) came",
                op.name,
                r.body.len()
            )],
            Some(_) if got.is_empty() && r.body.is_empty() => vec![format!(
                "{} response {key} documents a body, but an empty one without Content-Type came",
                op.name
            )],
            Some(keys) => match keys.iter().find(|k| media_matches(k, &got)) {
                None => vec![format!(
                    "content type {got:?} is not documented for {} response {key} (documented: {})",
                    op.name,
                    keys.join(", ")
                )],
                Some(k) if is_json(&got) => {
                    let sp = format!("{rp}/content/{}/schema", esc(k));
                    if self.doc.pointer(&sp).is_none() {
                        return vec![];
                    }
                    match serde_json::from_slice::<Value>(&r.body) {
                        Err(_) => vec![format!("{} response {key}: the body is not JSON", op.name)],
                        Ok(body) => self
                            .violations(&sp, &body)
                            .into_iter()
                            .map(|v| format!("{} response {key}: {v}", op.name))
                            .collect(),
                    }
                }
                // Only JSON bodies are validated against a schema.
                Some(_) => vec![],
            },
        }
    }

    /// Validation errors of `instance` against the schema at `pointer`.
    pub fn violations(&self, pointer: &str, instance: &Value) -> Vec<String> {
        let validator = self
            .validators
            .lock()
            .unwrap()
            .entry(pointer.to_owned())
            .or_insert_with(|| self.compile(pointer))
            .clone();
        match validator {
            Err(e) => vec![format!("the documented schema does not compile: {e}")],
            Ok(v) => v
                .iter_errors(instance)
                .map(|e| {
                    let mut m = format!("at {:?}: {e}", e.instance_path.to_string());
                    if m.chars().count() > MAX_MESSAGE {
                        m = m.chars().take(MAX_MESSAGE).collect::<String>() + "…";
                    }
                    m
                })
                .collect(),
        }
    }

    fn compile(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut root = match self.at(pointer) {
            Value::Object(o) => o.clone(),
            Value::Bool(true) => Default::default(),
            other => return Err(format!("{pointer} is not a schema object: {other}")),
        };
        // `#/components/...` references resolve against the root we build.
        root.entry("components")
            .or_insert_with(|| self.doc["components"].clone());
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;
