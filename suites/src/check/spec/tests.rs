use serde_json::json;

use super::*;

fn doc() -> Spec {
    Spec::new(json!({
        "openapi": "3.1.0",
        "paths": {
            "/things/{id}": {"get": {"responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "4XX": {"$ref": "#/components/responses/Problem"}
            }}, "delete": {"responses": {"204": {"description": "gone"}}}},
            "/things/search": {"post": {"responses": {"default": {"description": "any", "content": {"text/*": {}}}}}}
        },
        "components": {
            "schemas": {"Thing": {"type": "object", "required": ["id", "size"], "properties": {
                "id": {"type": "string", "format": "uuid"}, "size": {"type": "integer"}}}},
            "responses": {"Problem": {"description": "problem", "content": {"application/problem+json": {"schema": {"type": "object", "required": ["code"]}}}}}
        }
    }))
    .unwrap()
}

fn resp(status: u16, ct: Option<&str>, body: &str) -> ApiResponse {
    ApiResponse {
        status,
        headers: ct
            .map(|c| ("content-type".into(), c.into()))
            .into_iter()
            .collect(),
        body: body.to_owned().into(),
    }
}

fn op(spec: &Spec, method: &str, path: &str) -> Operation {
    match spec.route(method, path) {
        Route::Documented(op) => op,
        other => panic!("{method} {path}: {other:?}"),
    }
}

#[test]
fn a_literal_segment_wins_over_a_template_and_other_methods_are_told_apart() {
    let s = doc();
    assert_eq!(
        op(&s, "POST", "/things/search?x=1").name,
        "POST /things/search"
    );
    assert_eq!(op(&s, "GET", "/things/42").name, "GET /things/{id}");
    assert!(matches!(
        s.route("PUT", "/things/42"),
        Route::OtherMethod { .. }
    ));
    assert!(matches!(s.route("GET", "/nothing"), Route::Unknown));
    assert!(matches!(s.route("GET", "/things/"), Route::Unknown));
}

#[test]
fn a_conforming_response_has_no_findings() {
    let s = doc();
    let get = op(&s, "GET", "/things/1");
    let ok = r#"{"id": "4f1c1d7e-8a51-4f43-9f51-1b1f4c3f8a10", "size": 3}"#;
    assert!(s
        .check(
            &get,
            &resp(200, Some("application/json; charset=utf-8"), ok)
        )
        .is_empty());
    assert!(s
        .check(
            &get,
            &resp(404, Some("application/problem+json"), r#"{"code": "x"}"#)
        )
        .is_empty());
    assert!(s
        .check(&op(&s, "DELETE", "/things/1"), &resp(204, None, ""))
        .is_empty());
    assert!(s
        .check(
            &op(&s, "POST", "/things/search"),
            &resp(500, Some("text/plain"), "x")
        )
        .is_empty());
}

#[test]
fn status_content_type_and_schema_departures_are_each_named() {
    let s = doc();
    let get = op(&s, "GET", "/things/1");
    let one = |r: ApiResponse| {
        let f = s.check(&get, &r);
        assert_eq!(f.len(), 1, "{f:?}");
        f[0].clone()
    };
    assert!(one(resp(500, Some("application/json"), "{}")).contains("status 500 is not documented"));
    assert!(one(resp(200, Some("text/html"), "{}"))
        .contains("content type \"text/html\" is not documented"));
    let retyped = r#"{"id": "4f1c1d7e-8a51-4f43-9f51-1b1f4c3f8a10", "size": "3"}"#;
    assert!(one(resp(200, Some("application/json"), retyped)).contains("/size"));
    let bad_uuid = r#"{"id": "nope", "size": 3}"#;
    assert!(one(resp(200, Some("application/json"), bad_uuid)).contains("/id"));
    assert!(one(resp(404, Some("application/problem+json"), "{}")).contains("code"));
    let f = s.check(
        &op(&s, "DELETE", "/things/1"),
        &resp(204, Some("application/json"), "{}"),
    );
    assert!(f[0].contains("documents no body"), "{f:?}");
}

#[test]
fn openapi_3_0_nullable_is_a_null_type() {
    let s = Spec::new(
        json!({"openapi": "3.0.3", "paths": {"/a": {"get": {"responses": {"200": {"description": "",
        "content": {"application/json": {"schema": {"type": "string", "nullable": true}}}}}}}}}),
    )
    .unwrap();
    let get = op(&s, "GET", "/a");
    assert!(s
        .check(&get, &resp(200, Some("application/json"), "null"))
        .is_empty());
    assert_eq!(
        s.check(&get, &resp(200, Some("application/json"), "1"))
            .len(),
        1
    );
    assert!(Spec::new(json!({"swagger": "2.0"})).is_err());
}
