//! Input rules that protect PostgreSQL from values it would refuse with an error (which would
//! surface as a 500): NUL characters in text and `jsonb`, and UUID spellings its `uuid` cast
//! does not read. Handlers and the token check call these before anything is bound.

use serde_json::{Map, Value};
use uuid::Uuid;

/// Whether `s` contains NUL, which PostgreSQL `text` cannot store (`invalid byte sequence`).
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// Whether any string or object key anywhere inside `v` contains NUL; `jsonb` refuses the
/// `\u0000` escape (`unsupported Unicode escape sequence`), wherever it is nested.
pub fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => has_nul(s),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map_has_nul(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// [`json_has_nul`] for a JSON object: any key or nested string.
pub fn map_has_nul(map: &Map<String, Value>) -> bool {
    map.iter().any(|(k, v)| has_nul(k) || json_has_nul(v))
}

/// The tag rule shared by file metadata and memories: at most 32 tags of 1–64 characters.
pub fn tags_ok(tags: &[String]) -> bool {
    tags.len() <= 32
        && tags
            .iter()
            .all(|t| !t.is_empty() && t.chars().count() <= 64)
}

/// Reads a token's `sub`: only the hyphenated 8-4-4-4-12 spelling, in either letter case.
///
/// `Uuid::parse_str` also takes `urn:uuid:…`, `{…}` and the 32-digit form; PostgreSQL's `uuid`
/// cast in the RLS policies does not read all of them the same way, so a spelling it cannot
/// cast would fail the request inside the database. Accepting only the form both sides read
/// identically keeps the rate-limit key (`rl:user:<lower-case hyphenated>`) and the RLS
/// identity (`(claims ->> 'sub')::uuid`) the same user.
pub fn canonical_sub(s: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(s).ok()?;
    let mut buf = Uuid::encode_buffer();
    let canonical = id.hyphenated().encode_lower(&mut buf);
    s.eq_ignore_ascii_case(canonical).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_in_text() {
        assert!(has_nul("a\0b"));
        assert!(has_nul("\0"));
        assert!(!has_nul("a b \u{1b} 🦀"));
        assert!(!has_nul(""));
    }

    #[test]
    fn nul_is_found_anywhere_in_json() {
        for bad in [
            json!("a\u{0}b"),
            json!({"note": "a\u{0}b"}),
            json!({"a\u{0}b": 1}),
            json!({"deep": {"list": ["x\u{0}"]}}),
            json!([1, [2, ["\u{0}"]]]),
            json!({"ok": 1, "nested": {"k\u{0}": null}}),
        ] {
            assert!(json_has_nul(&bad), "{bad}");
        }
        for good in [
            json!(null),
            json!({"k": "🦀\u{1b}[0m", "n": 1.5, "b": true, "a": [null, "x"]}),
            json!({"\\u0000": "\\u0000"}),
        ] {
            assert!(!json_has_nul(&good), "{good}");
        }
    }

    #[test]
    fn only_the_hyphenated_sub_spelling_is_accepted() {
        let id = Uuid::new_v4();
        assert_eq!(canonical_sub(&id.hyphenated().to_string()), Some(id));
        assert_eq!(
            canonical_sub(&id.hyphenated().to_string().to_uppercase()),
            Some(id)
        );
        for other in [
            id.simple().to_string(),
            id.braced().to_string(),
            id.urn().to_string(),
            id.urn().to_string().to_uppercase(),
            format!(" {id}"),
            format!("{id}\0"),
            "user-1".to_owned(),
            String::new(),
        ] {
            assert_eq!(canonical_sub(&other), None, "{other:?}");
        }
    }
}
