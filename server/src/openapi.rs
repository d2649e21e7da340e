//! The OpenAPI 3.1 document, generated from the handlers' annotations. [`ApiDoc`] is the whole
//! API (served at `/openapi.json`); [`R1Doc`] is the R1 surface (memory + operations) whose
//! committed baseline `server/openapi/r1-baseline.json` the full document may only add to.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;
use crate::routes::{anon, files, memory, ops, search, upload};

mod rules;
pub use rules::InputRules;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Knowledge API", version = "1.0.0", description = "Per-user knowledge files and memories, isolated by PostgreSQL row-level security."),
    paths(
        ops::health, ops::ready, ops::metrics, serve,
        memory::create, memory::list, memory::get_one, memory::delete,
        anon::mint,
        upload::upload, files::list, files::get_one, files::delete, files::content,
        search::search,
    ),
    components(schemas(Problem, upload::UploadForm)),
    modifiers(&Security, &ProblemResponses, &InputRules),
)]
pub struct ApiDoc;

/// The R1 surface: memory and operational endpoints (source of `r1-baseline.json`).
#[derive(OpenApi)]
#[openapi(
    info(title = "Knowledge API", version = "1.0.0", description = "Per-user knowledge files and memories, isolated by PostgreSQL row-level security."),
    paths(ops::health, ops::ready, ops::metrics, serve, memory::create, memory::list, memory::get_one, memory::delete),
    components(schemas(Problem)),
    modifiers(&Security, &ProblemResponses, &InputRules),
)]
pub struct R1Doc;

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn serve() -> Response {
    // Generated once: the description is fixed for the life of the process.
    static DOCUMENT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| to_json(ApiDoc::openapi()).to_string());
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

/// A document as JSON, as served.
///
/// utoipa 5.5 serialises a Link Object's fields in snake_case (`operation_id`), which OpenAPI
/// tools do not read, so a link would point nowhere. The fixed field names are restored here.
pub fn to_json(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    let operations = value
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for op in operations {
        let responses = op
            .get_mut("responses")
            .and_then(serde_json::Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.values_mut());
        for links in responses.filter_map(|r| {
            r.get_mut("links")
                .and_then(serde_json::Value::as_object_mut)
        }) {
            for link in links
                .values_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                *link = std::mem::take(link)
                    .into_iter()
                    .map(|(key, v)| match key.as_str() {
                        "operation_id" => ("operationId".to_owned(), v),
                        "operation_ref" => ("operationRef".to_owned(), v),
                        "request_body" => ("requestBody".to_owned(), v),
                        _ => (key, v),
                    })
                    .collect();
            }
        }
    }
    value
}

/// Bearer JWT security scheme.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The problem responses every tenant route can give, with their rate-limit headers.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        let int_header = |d: &str| {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some(d))
                .build()
        };
        let str_header = |d: &str| {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some(d))
                .build()
        };
        let errors: [(&str, &str); 6] = [
            ("400", "Malformed input (invalid_id, invalid_json, invalid_query, validation_failed, invalid_cursor, invalid_mime_type, content_mismatch, empty_file, invalid_multipart, invalid_metadata)"),
            ("401", "missing_token or invalid_token (see WWW-Authenticate)"),
            ("404", "not_found: no such id for the caller"),
            ("413", "payload_too_large"),
            ("429", "rate_limited (see Retry-After)"),
            ("503", "rate_limiter_unavailable or database_unavailable (see Retry-After)"),
        ];
        // Any route can refuse oversized headers (the outermost middleware, before routing),
        // and any can fail (a panic or a fault becomes a logged 500 problem).
        let everywhere = [
            (
                "431",
                "headers_too_large: too many or too large request headers",
            ),
            (
                "500",
                "internal_error: an unexpected fault, logged under the request id",
            ),
        ];
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                for (status, desc) in everywhere {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(desc)
                                .content("application/problem+json", problem())
                                .build()
                                .into()
                        });
                }
            }
            let tenant =
                path.starts_with("/api/v1/knowledge") || path.starts_with("/api/v1/memory");
            if !tenant {
                continue;
            }
            if let Some(op) = item.post.as_mut() {
                op.responses
                    .responses
                    .entry("415".to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description("unsupported_media_type: the body is not of the type this route accepts")
                            .content("application/problem+json", problem())
                            .build()
                            .into()
                    });
            }
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                for (status, desc) in errors {
                    let mut b = ResponseBuilder::new()
                        .description(desc)
                        .content("application/problem+json", problem());
                    if status == "401" {
                        b = b.header("WWW-Authenticate", str_header("Bearer challenge"));
                    }
                    if status == "429" || status == "503" {
                        b = b.header("Retry-After", int_header("Seconds to wait"));
                    }
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| b.build().into());
                }
                for resp in op.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(r) = resp {
                        r.headers
                            .insert("X-RateLimit-Limit".into(), int_header("Requests per hour"));
                        r.headers.insert(
                            "X-RateLimit-Remaining".into(),
                            int_header("Requests left after this one"),
                        );
                        r.headers.insert(
                            "X-RateLimit-Reset".into(),
                            int_header("Unix time when the allowance is full again"),
                        );
                        r.headers.insert(
                            "RateLimit-Policy".into(),
                            str_header("\"hourly\";q=<limit>;w=3600"),
                        );
                        r.headers.insert(
                            "RateLimit".into(),
                            str_header("\"hourly\";r=<remaining>;t=<seconds>"),
                        );
                    }
                }
            }
        }
    }
}

/// Whether `full` only adds to `base`: every object key of `base` is in `full` with a value
/// that itself only adds; an array keeps its length and order, each element only adding (so a
/// parameter's schema may gain `maximum`, but no parameter, `required` name or `enum` value
/// appears, goes or moves); scalars must be equal.
pub fn only_adds(
    base: &serde_json::Value,
    full: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value::{Array, Object};
    match (base, full) {
        (Object(b), Object(f)) => b.iter().try_for_each(|(k, v)| match f.get(k) {
            Some(fv) => only_adds(v, fv, &format!("{at}/{k}")),
            None => Err(format!("{at}/{k} was removed")),
        }),
        (Array(b), Array(f)) if b.len() == f.len() => b
            .iter()
            .zip(f)
            .enumerate()
            .try_for_each(|(i, (bv, fv))| only_adds(bv, fv, &format!("{at}/{i}"))),
        (b, f) if b == f => Ok(()),
        _ => Err(format!("{at} changed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
        to_json(doc)
    }

    #[test]
    fn full_spec_only_adds_to_the_committed_r1_baseline() {
        let baseline: serde_json::Value =
            serde_json::from_str(include_str!("../openapi/r1-baseline.json"))
                .expect("baseline is JSON");
        only_adds(&baseline, &json(ApiDoc::openapi()), "").unwrap();
    }

    #[test]
    fn r1_surface_still_matches_its_baseline() {
        if std::env::var_os("UPDATE_R1_BASELINE").is_some() {
            // Deliberate re-freeze only (e.g. a documented R1 fix); never in CI.
            let text = serde_json::to_string_pretty(&json(R1Doc::openapi())).unwrap();
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/r1-baseline.json"),
                text + "\n",
            )
            .unwrap();
        }
        let baseline: serde_json::Value =
            serde_json::from_str(include_str!("../openapi/r1-baseline.json")).unwrap();
        only_adds(&baseline, &json(R1Doc::openapi()), "").unwrap();
    }

    #[test]
    fn only_adds_detects_removals_and_changes() {
        let base = serde_json::json!({"a": {"b": 1, "c": [1]}});
        assert!(only_adds(
            &base,
            &serde_json::json!({"a": {"b": 1, "c": [1], "d": 2}}),
            ""
        )
        .is_ok());
        assert!(only_adds(&base, &serde_json::json!({"a": {"c": [1]}}), "").is_err());
        assert!(only_adds(&base, &serde_json::json!({"a": {"b": 2, "c": [1]}}), "").is_err());
        // Inside an array: an element may gain keys; no element appears, goes or moves.
        let base = serde_json::json!({"p": [{"name": "limit"}, {"name": "cursor"}]});
        let narrowed =
            serde_json::json!({"p": [{"name": "limit", "maximum": 100}, {"name": "cursor"}]});
        assert!(only_adds(&base, &narrowed, "").is_ok());
        for broken in [
            serde_json::json!({"p": [{"name": "limit"}]}),
            serde_json::json!({"p": [{"name": "limit"}, {"name": "cursor"}, {"name": "x"}]}),
            serde_json::json!({"p": [{"name": "cursor"}, {"name": "limit"}]}),
            serde_json::json!({"p": [{"name": "limit"}, {}]}),
        ] {
            assert!(only_adds(&base, &broken, "").is_err(), "{broken}");
        }
    }

    #[test]
    fn spec_is_openapi_3_1_and_lists_every_route() {
        let doc = json(ApiDoc::openapi());
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for p in [
            "/health",
            "/ready",
            "/metrics",
            "/openapi.json",
            "/api/v1/stream/auth/anon",
            "/api/v1/memory",
            "/api/v1/memory/{id}",
            "/api/v1/knowledge/files",
            "/api/v1/knowledge/files/{id}",
            "/api/v1/knowledge/files/{id}/content",
            "/api/v1/knowledge/search",
        ] {
            assert!(doc["paths"].get(p).is_some(), "{p} missing");
        }
    }

    /// The bounds in the document are the constants the handlers check, and the handlers
    /// refuse the first value past each.
    #[test]
    fn the_spec_states_the_bounds_the_handlers_check() {
        use crate::routes::page_limit;
        use crate::validate::{LIST_PAGE, SEARCH_PAGE, SEARCH_QUERY, SESSION_ID};
        let doc = json(ApiDoc::openapi());
        let param = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap()["schema"]
                .clone()
        };
        let schemas = &doc["components"]["schemas"];
        let search_limit = &schemas["SearchRequest"]["properties"]["limit"];
        for (schema, size) in [
            (param("/api/v1/knowledge/files", "limit"), LIST_PAGE),
            (param("/api/v1/memory", "limit"), LIST_PAGE),
            (search_limit.clone(), SEARCH_PAGE),
        ] {
            let (min, max) = (
                schema["minimum"].as_i64().unwrap(),
                schema["maximum"].as_i64().unwrap(),
            );
            assert_eq!((min, max), (1, size.max), "{schema}");
            assert!(page_limit(Some(min - 1), size).is_err());
            assert_eq!(page_limit(Some(min), size).unwrap(), min);
            assert_eq!(page_limit(Some(max), size).unwrap(), max);
            assert!(page_limit(Some(max + 1), size).is_err());
        }
        assert_eq!(
            (LIST_PAGE.max, SEARCH_PAGE.max),
            (100, 50),
            "the contract's bounds"
        );
        for (schema, rule) in [
            (param("/api/v1/memory", "session_id"), SESSION_ID),
            (
                schemas["NewMemory"]["properties"]["session_id"].clone(),
                SESSION_ID,
            ),
            (
                schemas["SearchRequest"]["properties"]["query"].clone(),
                SEARCH_QUERY,
            ),
        ] {
            let longest = schema["maxLength"].as_u64().unwrap() as usize;
            assert_eq!(schema["minLength"], 1, "{schema}");
            assert!(rule.accepts(&"x".repeat(longest)) && !rule.accepts(&"x".repeat(longest + 1)));
            assert!(!rule.accepts(""));
        }
        assert_eq!(
            (SESSION_ID.max, SEARCH_QUERY.max),
            (128, 512),
            "the contract's bounds"
        );
        let memory = &schemas["NewMemory"]["properties"];
        let importance = &memory["importance"];
        assert_eq!(
            (
                importance["minimum"].as_f64(),
                importance["maximum"].as_f64()
            ),
            (
                Some(crate::validate::IMPORTANCE.0),
                Some(crate::validate::IMPORTANCE.1)
            )
        );
        assert_eq!(memory["tags"]["maxItems"], 32);
        assert_eq!(
            memory["metadata"]["additionalProperties"]["$ref"],
            "#/components/schemas/JsonWithoutNul"
        );
        // Bodies that refuse unknown fields say so; the upload refuses unknown parts.
        for name in ["NewMemory", "SearchRequest", "FileMetadata", "UploadForm"] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
        let form = &doc["paths"]["/api/v1/knowledge/files"]["post"]["requestBody"]["content"]
            ["multipart/form-data"];
        assert_eq!(
            form["encoding"]["file"]["contentType"],
            crate::ALLOWED_MIME_TYPES.join(", ")
        );
        let anon = &doc["paths"]["/api/v1/stream/auth/anon"]["post"]["requestBody"];
        assert_eq!(
            (
                &anon["required"],
                &anon["content"]["application/json"]["schema"]
            ),
            (
                &serde_json::json!(false),
                &serde_json::json!({"type": "object"})
            )
        );
    }

    /// Each creation links to the operations that take its id, under OpenAPI's own field names.
    #[test]
    fn creations_link_to_the_operations_that_take_their_id() {
        let doc = json(ApiDoc::openapi());
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        for (path, targets) in [
            (
                "/api/v1/knowledge/files",
                &["getFile", "getFileContent", "deleteFile"][..],
            ),
            ("/api/v1/memory", &["getMemory", "deleteMemory"][..]),
        ] {
            let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
            for target in targets {
                assert!(ids.contains(target), "{target} is an operation");
                assert_eq!(links[target]["operationId"], *target, "{path}: {links}");
                assert_eq!(links[target]["parameters"]["id"], "$response.body#/id");
                assert!(links[target].get("operation_id").is_none());
            }
        }
    }

    /// Every route can answer 431 and 500, and says so with the problem schema.
    #[test]
    fn every_operation_documents_its_framework_errors() {
        let doc = json(ApiDoc::openapi());
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for status in ["431", "500"] {
                    let problem = &op["responses"][status]["content"]["application/problem+json"]
                        ["schema"]["$ref"];
                    assert_eq!(
                        problem, "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn openapi_snapshot() {
        insta::assert_json_snapshot!("openapi", json(ApiDoc::openapi()));
    }
}
