//! [`InputRules`]: writes the bounds the handlers enforce into the document, from the same
//! constants the handlers check (`crate::validate`, the cursor's in `crate::routes`), so that
//! what `/openapi.json` admits is what the server accepts. JSON Schema cannot say everything
//! (an upload's bytes must be of their declared type, a memory's `expires_at` must be in the
//! future): those rules are in the descriptions.

use utoipa::openapi::content::Content;
use utoipa::openapi::encoding::EncodingBuilder;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, ArrayItems, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required};
use utoipa::{Modify, Number};

use crate::routes::{CURSOR_LEN, CURSOR_PATTERN};
use crate::validate::{
    PageSize, TextRule, DESCRIPTION, IMPORTANCE, LIST_PAGE, MAX_TAGS, MEMORY_CONTENT,
    MEMORY_SOURCE, MEMORY_TAG, NOT_BLANK_PATTERN, NUL_FREE_PATTERN, SEARCH_PAGE, SEARCH_QUERY,
    SESSION_ID, TAG, TITLE,
};
use crate::ALLOWED_MIME_TYPES;

/// Name of the component a memory's metadata values follow.
pub const JSON_WITHOUT_NUL: &str = "JsonWithoutNul";

/// Adds every input bound to the document. Parts a document lacks (the R1 document has no
/// knowledge routes) are skipped.
pub struct InputRules;

impl Modify for InputRules {
    fn modify(&self, doc: &mut OpenApi) {
        for path in ["/api/v1/knowledge/files", "/api/v1/memory"] {
            if let Some(limit) = query_param(doc, path, "limit") {
                page(limit, LIST_PAGE);
            }
            if let Some(cursor) = query_param(doc, path, "cursor") {
                cursor.min_length = Some(CURSOR_LEN);
                cursor.max_length = Some(CURSOR_LEN);
                cursor.pattern = Some(CURSOR_PATTERN.into());
            }
        }
        if let Some(session) = query_param(doc, "/api/v1/memory", "session_id") {
            text(session, SESSION_ID);
        }
        if let Some(memory) = component(doc, "NewMemory") {
            for (name, rule) in [
                ("session_id", SESSION_ID),
                ("content", MEMORY_CONTENT),
                ("source", MEMORY_SOURCE),
            ] {
                if let Some(field) = property(memory, name) {
                    text(field, rule);
                }
            }
            if let Some(tags) = array_property(memory, "tags") {
                tag_list(tags, MEMORY_TAG);
            }
            if let Some(importance) = property(memory, "importance") {
                importance.minimum = Some(Number::Float(IMPORTANCE.0));
                importance.maximum = Some(Number::Float(IMPORTANCE.1));
            }
            if let Some(metadata) = property(memory, "metadata") {
                // jsonb cannot hold NUL, in a key or a string at any depth.
                if let Some(Schema::Object(keys)) = metadata.property_names.as_deref_mut() {
                    keys.pattern = Some(NUL_FREE_PATTERN.into());
                }
                metadata.additional_properties = Some(Box::new(
                    RefOr::Ref(Ref::from_schema_name(JSON_WITHOUT_NUL)).into(),
                ));
                let components = doc.components.get_or_insert_with(Default::default);
                components
                    .schemas
                    .insert(JSON_WITHOUT_NUL.into(), json_without_nul().into());
            }
        }
        if let Some(search) = component(doc, "SearchRequest") {
            if let Some(query) = property(search, "query") {
                text(query, SEARCH_QUERY);
                query.pattern = Some(NOT_BLANK_PATTERN.into());
            }
            if let Some(limit) = property(search, "limit") {
                page(limit, SEARCH_PAGE);
            }
        }
        if let Some(metadata) = component(doc, "FileMetadata") {
            for (name, rule) in [("title", TITLE), ("description", DESCRIPTION)] {
                if let Some(field) = property(metadata, name) {
                    text(field, rule);
                }
            }
            if let Some(tags) = array_property(metadata, "tags") {
                tag_list(tags, TAG);
            }
        }
        if let Some(form) = body_content(doc, "/api/v1/knowledge/files", "multipart/form-data") {
            let part = |content_type: String| {
                EncodingBuilder::new()
                    .content_type(Some(content_type))
                    .build()
            };
            form.encoding
                .insert("file".into(), part(ALLOWED_MIME_TYPES.join(", ")));
            form.encoding
                .insert("metadata".into(), part("application/json".into()));
        }
        if let Some(body) = request_body(doc, "/api/v1/stream/auth/anon") {
            // Empty, or any JSON object; `null` and other JSON values are refused.
            body.required = Some(Required::False);
            if let Some(json) = body.content.get_mut("application/json") {
                json.schema = Some(ObjectBuilder::new().schema_type(Type::Object).into());
            }
        }
    }
}

/// Any JSON value whose object keys and strings, however deep, hold no NUL.
fn json_without_nul() -> Schema {
    let me = || RefOr::Ref(Ref::from_schema_name(JSON_WITHOUT_NUL));
    let nul_free = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(NUL_FREE_PATTERN))
    };
    AnyOfBuilder::new()
        .description(Some(
            "Any JSON value without NUL (`\\u0000`) in its strings and object keys, at any depth: PostgreSQL `jsonb` cannot store it.",
        ))
        .item(ObjectBuilder::new().schema_type(SchemaType::from_iter([
            Type::Null,
            Type::Boolean,
            Type::Number,
        ])))
        .item(nul_free())
        .item(ArrayBuilder::new().items(me()))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property_names(Some(nul_free()))
                .additional_properties(Some(me())),
        )
        .into()
}

fn text(schema: &mut Object, rule: TextRule) {
    if rule.min > 0 {
        schema.min_length = Some(rule.min);
    }
    schema.max_length = Some(rule.max);
    if rule.nul_free {
        schema.pattern = Some(NUL_FREE_PATTERN.into());
    }
}

fn page(schema: &mut Object, size: PageSize) {
    schema.minimum = Some(Number::Int(1));
    schema.maximum = Some(Number::Int(size.max as isize));
}

fn tag_list(tags: &mut utoipa::openapi::schema::Array, rule: TextRule) {
    tags.max_items = Some(MAX_TAGS);
    if let ArrayItems::RefOrSchema(item) = &mut tags.items {
        if let RefOr::T(Schema::Object(item)) = item.as_mut() {
            text(item, rule);
        }
    }
}

fn component<'a>(doc: &'a mut OpenApi, name: &str) -> Option<&'a mut Object> {
    match doc.components.as_mut()?.schemas.get_mut(name)? {
        RefOr::T(Schema::Object(object)) => Some(object),
        _ => None,
    }
}

fn property<'a>(object: &'a mut Object, name: &str) -> Option<&'a mut Object> {
    match object.properties.get_mut(name)? {
        RefOr::T(Schema::Object(field)) => Some(field),
        _ => None,
    }
}

fn array_property<'a>(
    object: &'a mut Object,
    name: &str,
) -> Option<&'a mut utoipa::openapi::schema::Array> {
    match object.properties.get_mut(name)? {
        RefOr::T(Schema::Array(field)) => Some(field),
        _ => None,
    }
}

fn query_param<'a>(doc: &'a mut OpenApi, path: &str, name: &str) -> Option<&'a mut Object> {
    let op = doc.paths.paths.get_mut(path)?.get.as_mut()?;
    let param = op
        .parameters
        .as_mut()?
        .iter_mut()
        .find(|p| p.name == name)?;
    match param.schema.as_mut()? {
        RefOr::T(Schema::Object(schema)) => Some(schema),
        _ => None,
    }
}

fn request_body<'a>(doc: &'a mut OpenApi, path: &str) -> Option<&'a mut RequestBody> {
    doc.paths
        .paths
        .get_mut(path)?
        .post
        .as_mut()?
        .request_body
        .as_mut()
}

fn body_content<'a>(doc: &'a mut OpenApi, path: &str, media: &str) -> Option<&'a mut Content> {
    request_body(doc, path)?.content.get_mut(media)
}
