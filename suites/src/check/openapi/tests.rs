//! Unit tests of the breaking-change diff: removals, type changes, additions, renamed path parameters.

use serde_json::json;

use super::*;

fn base() -> Value {
    json!({
      "openapi": "3.1.0",
      "paths": {
        "/api/v1/memory/{id}": {
          "get": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Memory"}}}},
                          "404": {"description": "not found"}}
          },
          "delete": {"responses": {"204": {"description": "gone"}}}
        },
        "/api/v1/memory": {
          "get": {
            "parameters": [{"name": "session_id", "in": "query", "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}
          }
        }
      },
      "components": {"schemas": {"Memory": {"type": "object", "required": ["id"],
        "properties": {"id": {"type": "string"}, "content": {"type": "string"}, "importance": {"type": "number"}}}}}
    })
}

#[test]
fn identical_documents_have_no_breaking_change() {
    assert_eq!(breaking_changes(&base(), &base()), vec![]);
}

#[test]
fn additions_and_renamed_path_parameters_are_fine() {
    let mut cur = base();
    let item = cur["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/v1/memory/{id}")
        .unwrap();
    cur["paths"]["/api/v1/memory/{memory_id}"] = item;
    cur["paths"]["/api/v1/knowledge/search"] = json!({"post": {"responses": {"200": {}}}});
    cur["paths"]["/api/v1/memory"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}));
    cur["components"]["schemas"]["Memory"]["properties"]["tags"] = json!({"type": "array"});
    assert_eq!(breaking_changes(&base(), &cur), vec![]);
}

#[test]
fn removals_and_type_changes_are_reported_by_pointer() {
    let mut cur = base();
    cur["paths"]["/api/v1/memory/{id}"]
        .as_object_mut()
        .unwrap()
        .remove("delete");
    cur["paths"]["/api/v1/memory"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let memory = &mut cur["components"]["schemas"]["Memory"]["properties"];
    memory.as_object_mut().unwrap().remove("content");
    memory["importance"] = json!({"type": "string"});
    let found: Vec<(String, String)> = breaking_changes(&base(), &cur)
        .into_iter()
        .map(|b| (b.pointer, b.message))
        .collect();
    let p = "/paths/~1api~1v1~1memory~1{id}/get/responses/200/content/application~1json/schema/properties";
    assert_eq!(
        found,
        vec![
            (
                format!("{p}/content"),
                "response field `content` removed".to_string()
            ),
            (
                format!("{p}/importance"),
                "type changed from [\"number\"] to [\"string\"]".to_string()
            ),
            (
                "/paths/~1api~1v1~1memory~1{id}/delete".into(),
                "operation DELETE /api/v1/memory/{id} removed".into()
            ),
            (
                "/paths/~1api~1v1~1memory/get/parameters/session_id".into(),
                "query parameter `session_id` removed".into()
            ),
        ]
    );
}

#[test]
fn a_removed_path_and_a_new_required_parameter_break() {
    let mut cur = base();
    cur["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/v1/memory/{id}");
    cur["paths"]["/api/v1/memory"]["get"]["parameters"].as_array_mut().unwrap()
        .push(json!({"name": "tenant", "in": "query", "required": true, "schema": {"type": "string"}}));
    let found: Vec<String> = breaking_changes(&base(), &cur)
        .into_iter()
        .map(|b| b.message)
        .collect();
    assert_eq!(
        found,
        vec![
            "path /api/v1/memory/{id} removed",
            "new required query parameter `tenant`"
        ]
    );
}

#[test]
fn missing_knowledge_operations_are_named() {
    let doc = json!({"paths": {"/api/v1/knowledge/files": {"get": {}}, "/api/v1/knowledge/files/{file_id}": {"get": {}}}});
    assert_eq!(
        missing_operations(&doc, &KNOWLEDGE_OPERATIONS),
        vec![
            "POST /api/v1/knowledge/files",
            "DELETE /api/v1/knowledge/files/{id}",
            "GET /api/v1/knowledge/files/{id}/content",
            "POST /api/v1/knowledge/search"
        ]
    );
}

#[test]
fn a_removed_error_response_is_not_a_break_but_a_removed_success_is() {
    let base = json!({"openapi": "3.1.0", "paths": {"/m": {"get": {"responses": {
        "200": {"description": "ok"}, "413": {"description": "big"}, "503": {"description": "down"}}}}}});
    let errors_gone = json!({"openapi": "3.1.0", "paths": {"/m": {"get": {"responses": {
        "200": {"description": "ok"}}}}}});
    assert!(breaking_changes(&base, &errors_gone).is_empty());
    let success_gone = json!({"openapi": "3.1.0", "paths": {"/m": {"get": {"responses": {
        "413": {"description": "big"}}}}}});
    let found: Vec<String> = breaking_changes(&base, &success_gone)
        .into_iter()
        .map(|b| b.message)
        .collect();
    assert_eq!(found, vec!["response 200 removed".to_string()]);
}

#[test]
fn leaving_out_the_documents_own_path_is_not_a_break() {
    let base = json!({"openapi": "3.1.0", "paths": {
        "/openapi.json": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/m": {"get": {"responses": {"200": {"description": "ok"}}}}}});
    let without = json!({"openapi": "3.1.0", "paths": {
        "/m": {"get": {"responses": {"200": {"description": "ok"}}}}}});
    assert!(breaking_changes(&base, &without).is_empty());
}
