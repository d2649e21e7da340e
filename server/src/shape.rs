//! Our own words for a JSON body or a query string that does not fit its type: one sentence per
//! kind of misfit (a field it does not take, a field given twice, a required field missing, a
//! field of the wrong type or out of its type's range), naming the field and what it must be.
//!
//! A library's message never reaches a client. serde, serde_json, serde_urlencoded, std's number
//! parsing and chrono describe what they saw in their own vocabulary (`invalid type: integer`,
//! `number too large to fit in target type`, `input contains invalid characters`); the contract
//! forbids a library error string in any error body, and those words change with a library's
//! version. So the libraries only tell us *where* the input failed (`serde_path_to_error`), and
//! [`Shape::fields`] says what that field must be, in the words the spec's bounds come from.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::routes::files::ListFilesQuery;
use crate::routes::memory::{ListMemoryQuery, NewMemory};
use crate::routes::search::SearchRequest;
use crate::validate::{
    PageSize, TextRule, IMPORTANCE, LIST_PAGE, MAX_TAGS, MEMORY_CONTENT, MEMORY_SOURCE, MEMORY_TAG,
    SEARCH_PAGE, SEARCH_QUERY, SESSION_ID,
};

/// One field of a body or a query string, as a client must send it.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Whether it must be present.
    pub required: bool,
    /// What its value must be, as the end of a sentence ("a whole number from 1 to 50").
    pub must: String,
}

impl Field {
    fn required(name: &'static str, must: String) -> Field {
        Field {
            name,
            required: true,
            must,
        }
    }
    fn optional(name: &'static str, must: String) -> Field {
        Field {
            name,
            required: false,
            must,
        }
    }
}

/// A body or query type whose fields we describe in our own words.
pub trait Shape: DeserializeOwned {
    /// Every field it takes, in the order the spec lists them.
    fn fields() -> Vec<Field>;
}

/// Where the input came from: it decides the error code and how fields are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Body,
    Query,
}

impl Source {
    fn error(self, detail: String) -> AppError {
        match self {
            Source::Body => AppError::InvalidJson(detail),
            Source::Query => AppError::InvalidQuery(detail),
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Source::Body => "field",
            Source::Query => "query parameter",
        }
    }
    fn whole(self) -> &'static str {
        match self {
            Source::Body => "The body",
            Source::Query => "The query string",
        }
    }
}

/// Reads a JSON object (already checked to be one) into `T`.
pub fn from_json<T: Shape>(object: Map<String, Value>) -> Result<T, AppError> {
    let fields = T::fields();
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    misfit_of_names(Source::Body, &fields, &keys)?;
    serde_path_to_error::deserialize(Value::Object(object))
        .map_err(|e| wrong_value(Source::Body, &fields, e.path()))
}

/// Reads a query string (`None`: there was none) into `T`.
pub fn from_query<T: Shape>(query: Option<&str>) -> Result<T, AppError> {
    let fields = T::fields();
    let raw = query.unwrap_or_default().as_bytes();
    let names: Vec<String> = url::form_urlencoded::parse(raw)
        .map(|(k, _)| k.into_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    misfit_of_names(Source::Query, &fields, &names)?;
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(raw));
    serde_path_to_error::deserialize(de).map_err(|e| wrong_value(Source::Query, &fields, e.path()))
}

/// A name the input has that `fields` lacks, a name given twice, a required field missing.
fn misfit_of_names(source: Source, fields: &[Field], names: &[&str]) -> Result<(), AppError> {
    let takes = taken_names(fields);
    if let Some(stray) = names.iter().find(|n| !fields.iter().any(|f| f.name == **n)) {
        return Err(source.error(format!(
            "The {} {} is not one this route takes; it takes only {takes}.",
            source.noun(),
            quoted(stray)
        )));
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(source.error(format!(
                "The {} `{n}` is given more than once; give each at most once.",
                source.noun()
            )));
        }
    }
    if let Some(f) = fields
        .iter()
        .find(|f| f.required && !names.contains(&f.name))
    {
        return Err(source.error(format!(
            "The {} `{}` is required: it must be {}.",
            source.noun(),
            f.name,
            f.must
        )));
    }
    Ok(())
}

/// The value at `path` does not fit: what its field must be.
fn wrong_value(source: Source, fields: &[Field], path: &serde_path_to_error::Path) -> AppError {
    let named = path.iter().next().and_then(|seg| match seg {
        serde_path_to_error::Segment::Map { key } => fields.iter().find(|f| f.name == key),
        _ => None,
    });
    match named {
        Some(f) => source.error(format!("`{}` must be {}.", f.name, f.must)),
        None => source.error(format!(
            "{} must hold only {}.",
            source.whole(),
            taken_names(fields)
        )),
    }
}

/// "`query` and `limit`", "`a`, `b` and `c`".
fn taken_names(fields: &[Field]) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
    match names.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A client's name, quoted when it is a plain identifier; any other spelling is not repeated
/// (it could hold anything, and our sentence must stay ours).
fn quoted(name: &str) -> String {
    let plain = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("`{name}`")
    } else {
        "given".into()
    }
}

fn text(rule: TextRule) -> String {
    let nul = if rule.nul_free { ", without NUL" } else { "" };
    match rule.min {
        0 => format!("a string of at most {} characters{nul}", rule.max),
        min => format!("a string of {min}–{} characters{nul}", rule.max),
    }
}

fn page(size: PageSize) -> String {
    format!(
        "a whole number from 1 to {} ({} when left out)",
        size.max, size.default
    )
}

fn cursor() -> String {
    "the `next_cursor` of the previous page, unchanged".into()
}

impl Shape for SearchRequest {
    fn fields() -> Vec<Field> {
        vec![
            Field::required("query", format!("{}, not blank", text(SEARCH_QUERY))),
            Field::optional("limit", page(SEARCH_PAGE)),
        ]
    }
}

impl Shape for ListFilesQuery {
    fn fields() -> Vec<Field> {
        vec![
            Field::optional("limit", page(LIST_PAGE)),
            Field::optional("cursor", cursor()),
        ]
    }
}

impl Shape for ListMemoryQuery {
    fn fields() -> Vec<Field> {
        vec![
            Field::optional("session_id", text(SESSION_ID)),
            Field::optional("limit", page(LIST_PAGE)),
            Field::optional("cursor", cursor()),
        ]
    }
}

impl Shape for NewMemory {
    fn fields() -> Vec<Field> {
        let (lo, hi) = IMPORTANCE;
        vec![
            Field::required("session_id", text(SESSION_ID)),
            Field::required("role", "one of `user`, `assistant`, `system`, `tool`".into()),
            Field::required("content", text(MEMORY_CONTENT)),
            Field::optional("metadata", "a JSON object".into()),
            Field::optional(
                "tags",
                format!(
                    "an array of at most {MAX_TAGS} tags, each {}",
                    text(MEMORY_TAG)
                ),
            ),
            Field::optional("importance", format!("a number from {lo} to {hi}")),
            Field::optional("source", text(MEMORY_SOURCE)),
            Field::optional(
                "expires_at",
                "an RFC 3339 date-time in the future with a year from 1 to 9999, such as 2030-01-31T12:00:00Z".into(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body<T: Shape>(json: &str) -> Result<T, String> {
        let Value::Object(map) = serde_json::from_str(json).unwrap() else {
            panic!("not an object: {json}")
        };
        from_json::<T>(map).map_err(detail)
    }

    fn detail(e: AppError) -> String {
        match e {
            AppError::InvalidJson(d) | AppError::InvalidQuery(d) => d,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The issue's examples: each answer names the field and what it must be.
    #[test]
    fn each_misfit_is_named_in_our_words() {
        let search = |j| body::<SearchRequest>(j).map(|_| ()).unwrap_err();
        assert_eq!(
            search(r#"{"query": 123}"#),
            "`query` must be a string of 1–512 characters, not blank."
        );
        assert_eq!(
            search(r#"{"query": "a", "owner_id": "x"}"#),
            "The field `owner_id` is not one this route takes; it takes only `query` and `limit`."
        );
        assert_eq!(
            search(r#"{"query": "a", "limit": 1e+23}"#),
            "`limit` must be a whole number from 1 to 50 (10 when left out)."
        );
        assert_eq!(
            search(r#"{"limit": 5}"#),
            "The field `query` is required: it must be a string of 1–512 characters, not blank."
        );
        assert_eq!(
            search(r#"{"query": "a", "a b/c": 1}"#),
            "The field given is not one this route takes; it takes only `query` and `limit`."
        );
        let memory = |j| body::<NewMemory>(j).map(|_| ()).unwrap_err();
        assert!(memory(
            r#"{"session_id":"s","role":"user","content":"c","expires_at":"99999-01-01T00:00:00Z"}"#
        )
        .starts_with("`expires_at` must be an RFC 3339 date-time"));
        assert_eq!(
            memory(r#"{"session_id":"s","role":"robot","content":"c"}"#),
            "`role` must be one of `user`, `assistant`, `system`, `tool`."
        );
        assert!(
            memory(r#"{"session_id":"s","role":"user","content":"c","tags":["a", 1]}"#)
                .starts_with("`tags` must be an array of at most 32 tags")
        );
    }

    #[test]
    fn query_strings_are_named_in_our_words() {
        let list = |q| {
            from_query::<ListFilesQuery>(Some(q))
                .map(|_| ())
                .map_err(detail)
                .unwrap_err()
        };
        let limit = "`limit` must be a whole number from 1 to 100 (50 when left out).";
        assert_eq!(list("limit=abc"), limit);
        assert_eq!(list("limit=99999999999999999999"), limit);
        assert_eq!(list("limit="), limit);
        assert_eq!(
            list("limit=1&limit=2"),
            "The query parameter `limit` is given more than once; give each at most once."
        );
        assert_eq!(
            list("owner_id=x"),
            "The query parameter `owner_id` is not one this route takes; it takes only `limit` and `cursor`."
        );
        let ok = from_query::<ListFilesQuery>(Some("limit=7&cursor=abc")).unwrap();
        assert_eq!((ok.limit, ok.cursor.as_deref()), (Some(7), Some("abc")));
        assert!(from_query::<ListMemoryQuery>(None).is_ok());
    }
}
