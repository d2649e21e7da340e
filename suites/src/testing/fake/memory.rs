//! The fake's R1 memory routes and its OpenAPI document (the R1 baseline plus
//! the knowledge operations), consistent with what the fake returns.

use serde_json::{json, Value};

use super::{resp, FakeApi};
use crate::check::transport::{ApiRequest, ApiResponse, Body};

/// One stored memory: its owner and its R1 body.
pub(super) struct Memory {
    owner: String,
    body: Value,
}

/// The value of query parameter `name` (the suites send them unencoded but for cursors).
fn param<'a>(req: &'a ApiRequest, name: &str) -> Option<&'a str> {
    let query = req.path.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

impl FakeApi {
    pub(super) fn memory_route(&self, req: &ApiRequest, sub: &str) -> ApiResponse {
        let path = req.path.split('?').next().unwrap_or_default();
        let id = path
            .strip_prefix(crate::check::api::MEMORY)
            .unwrap_or_default();
        let id = id.trim_start_matches('/');
        if !id.is_empty() && id.parse::<uuid::Uuid>().is_err() {
            return self.problem(400, "invalid_id");
        }
        let mut all = self.memories.lock().unwrap();
        let pos = all
            .iter()
            .position(|m| m.owner == sub && m.body["id"] == id);
        match (req.method.as_str(), id, pos) {
            ("POST", "", _) => {
                let Body::Json(b) = &req.body else {
                    return self.problem(415, "unsupported_media_type");
                };
                let role_ok = ["user", "assistant", "system", "tool"]
                    .contains(&b["role"].as_str().unwrap_or_default());
                let (Some(session), Some(content)) =
                    (b["session_id"].as_str(), b["content"].as_str())
                else {
                    return self.problem(400, "validation_failed");
                };
                let importance_ok = b
                    .get("importance")
                    .is_none_or(|v| v.is_null() || v.is_number());
                if !role_ok || !importance_ok {
                    return self.problem(400, "validation_failed");
                }
                let id = uuid::Uuid::new_v4().to_string();
                let at = chrono::Utc::now().to_rfc3339();
                let body = json!({"id": id, "session_id": session, "role": b["role"], "content": content,
                    "metadata": b.get("metadata").cloned().unwrap_or(json!({})),
                    "tags": b.get("tags").cloned().unwrap_or(json!([])), "importance": null, "source": null,
                    "token_count": content.split_whitespace().count(), "created_at": at, "updated_at": at, "expires_at": null});
                all.push(Memory {
                    owner: sub.into(),
                    body: body.clone(),
                });
                let mut r = resp(201, body);
                r.headers.push((
                    "location".into(),
                    format!("{}/{id}", crate::check::api::MEMORY),
                ));
                r
            }
            ("GET", "", _) => {
                let limit = match param(req, "limit").map(str::parse::<usize>) {
                    None => 50,
                    Some(Ok(n)) if (1..=100).contains(&n) => n,
                    Some(_) => return self.problem(400, "validation_failed"),
                };
                let session = param(req, "session_id");
                let mut newest_first = all
                    .iter()
                    .rev()
                    .filter(|m| m.owner == sub && session.is_none_or(|s| m.body["session_id"] == s))
                    .map(|m| &m.body)
                    .peekable();
                // The cursor is the id of the last memory of the previous page.
                if let Some(after) = param(req, "cursor") {
                    if !newest_first.clone().any(|m| m["id"] == after) {
                        return self.problem(400, "invalid_cursor");
                    }
                    newest_first.find(|m| m["id"] == after);
                }
                let page: Vec<Value> = newest_first.by_ref().take(limit).cloned().collect();
                let next = match newest_first.peek() {
                    Some(_) => json!(page.last().map(|m| m["id"].clone())),
                    None => Value::Null,
                };
                resp(200, json!({"items": page, "next_cursor": next}))
            }
            (_, "", _) => self.problem(405, "method_not_allowed"),
            (_, _, None) => self.problem(404, "not_found"),
            ("GET", _, Some(i)) => resp(200, all[i].body.clone()),
            ("DELETE", _, Some(i)) => {
                all.remove(i);
                ApiResponse {
                    status: 204,
                    headers: vec![],
                    body: Default::default(),
                }
            }
            _ => self.problem(405, "method_not_allowed"),
        }
    }
}

/// The fake's `/openapi.json`: the R1 baseline with the knowledge operations
/// added (success bodies of any type, errors as the baseline's `Problem`).
pub(super) fn openapi() -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!("../../../../server/openapi/r1-baseline.json"))
            .expect("the R1 baseline is JSON");
    let problem = json!({"description": "A problem", "content": {"application/problem+json":
        {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    for (m, p) in crate::check::openapi::KNOWLEDGE_OPERATIONS {
        let ok = match (m, p) {
            ("post", crate::check::api::FILES) => {
                json!({"201": {"description": "Created", "content": {"application/json": {}}}})
            }
            ("delete", _) => json!({"204": {"description": "Deleted"}}),
            _ => json!({"200": {"description": "OK", "content": {"*/*": {}}}}),
        };
        let mut responses = ok;
        responses["default"] = problem.clone();
        doc["paths"][p][m] = json!({"responses": responses});
    }
    doc["paths"]["/api/v1/stream/auth/anon"]["post"] = json!({"responses": {
        "200": {"description": "A token", "content": {"application/json": {}}}}});
    // Every other error the fake can send (415, 431, 405...) is a documented problem too.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut().filter(|op| op.get("responses").is_some()) {
                if op["responses"].get("default").is_none() {
                    op["responses"]["default"] = problem.clone();
                }
            }
        }
    }
    doc
}
