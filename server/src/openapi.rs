//! The OpenAPI 3.1 document, generated from the handlers' annotations. [`ApiDoc`] is the whole
//! API (served at `/openapi.json`); [`R1Doc`] is the R1 surface (memory + operations) whose
//! committed baseline `server/openapi/r1-baseline.json` the full document may only add to.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;
use crate::routes::{anon, files, memory, ops, search, upload};

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
    modifiers(&Security, &ProblemResponses),
)]
pub struct ApiDoc;

/// The R1 surface: memory and operational endpoints (source of `r1-baseline.json`).
#[derive(OpenApi)]
#[openapi(
    info(title = "Knowledge API", version = "1.0.0", description = "Per-user knowledge files and memories, isolated by PostgreSQL row-level security."),
    paths(ops::health, ops::ready, ops::metrics, serve, memory::create, memory::list, memory::get_one, memory::delete),
    components(schemas(Problem)),
    modifiers(&Security, &ProblemResponses),
)]
pub struct R1Doc;

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn serve() -> Response {
    // Generated once: the description is fixed for the life of the process.
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        serde_json::to_string(&ApiDoc::openapi()).expect("the OpenAPI document serialises")
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
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
        // Any route can refuse oversized headers (the outermost middleware, before routing).
        let headers_too_large = || {
            ResponseBuilder::new()
                .description("headers_too_large: too many or too large request headers")
                .content("application/problem+json", problem())
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                op.responses
                    .responses
                    .entry("431".to_owned())
                    .or_insert_with(|| headers_too_large().into());
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
/// that itself only adds; arrays and scalars must be equal.
pub fn only_adds(
    base: &serde_json::Value,
    full: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value::Object;
    match (base, full) {
        (Object(b), Object(f)) => b.iter().try_for_each(|(k, v)| match f.get(k) {
            Some(fv) => only_adds(v, fv, &format!("{at}/{k}")),
            None => Err(format!("{at}/{k} was removed")),
        }),
        (b, f) if b == f => Ok(()),
        _ => Err(format!("{at} changed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
        serde_json::to_value(doc).unwrap()
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

    #[test]
    fn openapi_snapshot() {
        insta::assert_json_snapshot!("openapi", json(ApiDoc::openapi()));
    }
}
