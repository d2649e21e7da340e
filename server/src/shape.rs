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
use crate::validate::{PageSize, TextRule};

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
    pub fn required(name: &'static str, must: String) -> Field {
        Field {
            name,
            required: true,
            must,
        }
    }
    pub fn optional(name: &'static str, must: String) -> Field {
        Field {
            name,
            required: false,
            must,
        }
    }
}

/// A body or query type whose fields we describe in our own words.
pub trait Shape: DeserializeOwned {
    /// Every field it takes, in the order the spec lists them: built once,
    /// on first use (see [`fields!`]), not on every request.
    fn fields() -> &'static [Field];
}

/// The body of [`Shape::fields`]: the list, written once into a static on
/// first use, so a request reads sentences instead of formatting them.
#[macro_export]
macro_rules! fields {
    ($($body:tt)*) => {{
        static FIELDS: std::sync::LazyLock<Vec<$crate::shape::Field>> =
            std::sync::LazyLock::new(|| { $($body)* });
        &FIELDS
    }};
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
    misfit_of_names(Source::Body, fields, &keys)?;
    serde_path_to_error::deserialize(Value::Object(object))
        .map_err(|e| wrong_value(Source::Body, fields, e.path()))
}

/// Reads a query string (`None`: there was none) into `T`.
pub fn from_query<T: Shape>(query: Option<&str>) -> Result<T, AppError> {
    let fields = T::fields();
    let raw = query.unwrap_or_default().as_bytes();
    let names: Vec<String> = url::form_urlencoded::parse(raw)
        .map(|(k, _)| k.into_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    misfit_of_names(Source::Query, fields, &names)?;
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(raw));
    serde_path_to_error::deserialize(de).map_err(|e| wrong_value(Source::Query, fields, e.path()))
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

pub fn text(rule: TextRule) -> String {
    let nul = if rule.nul_free { ", without NUL" } else { "" };
    match rule.min {
        0 => format!("a string of at most {} characters{nul}", rule.max),
        min => format!("a string of {min}–{} characters{nul}", rule.max),
    }
}

pub fn page(size: PageSize) -> String {
    format!(
        "a whole number from 1 to {} ({} when left out)",
        size.max, size.default
    )
}

pub fn cursor() -> String {
    "the `next_cursor` of the previous page, unchanged".into()
}
