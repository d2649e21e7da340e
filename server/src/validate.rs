//! Input rules. The bounds of every field the handlers check ([`TextRule`], [`PageSize`]) are
//! constants here, read both by the handlers and by `openapi::rules`, which writes them into
//! `/openapi.json`: the spec states exactly what the handlers enforce. Also the rules that protect
//! PostgreSQL from values it would refuse with an error (which would surface as a 500): NUL
//! characters in text and `jsonb`, and UUID spellings its `uuid` cast does not read. Handlers and
//! the token check call these before anything is bound.

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

/// Whether `c` is a control, format or bidi character (Unicode general category Cc, Cf, Zl or
/// Zp): invisible or reordering text, such as U+202E RIGHT-TO-LEFT OVERRIDE (which shows
/// `invoice\u{202e}txt.exe` as `invoiceexe.txt`), U+200B ZERO WIDTH SPACE, U+FEFF, U+2028 LINE
/// SEPARATOR. A filename keeps none of them.
pub fn is_hidden_control(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// JSON Schema `pattern` of a string without NUL (see [`has_nul`]).
pub const NUL_FREE_PATTERN: &str = "^[^\\u0000]*$";

/// JSON Schema `pattern` of a string that is not blank: it holds a character outside
/// `char::is_whitespace` (Unicode `White_Space`, what `str::trim` removes), spelled out because
/// the regex dialects' `\\s` classes differ from it and from each other.
pub const NOT_BLANK_PATTERN: &str = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// Whether `s` is empty or only whitespace (what [`NOT_BLANK_PATTERN`] refuses).
pub fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// The rule of one text field: its length in characters (Unicode scalar values, which is what
/// JSON Schema's `minLength`/`maxLength` count) and whether NUL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextRule {
    /// Fewest characters.
    pub min: usize,
    /// Most characters.
    pub max: usize,
    /// NUL is refused (the text is stored in a PostgreSQL `text` column).
    pub nul_free: bool,
}

impl TextRule {
    /// `min..=max` characters, NUL refused (text stored in a PostgreSQL `text` column).
    pub const fn stored(min: usize, max: usize) -> TextRule {
        TextRule {
            min,
            max,
            nul_free: true,
        }
    }

    /// `min..=max` characters, NUL allowed (text kept encrypted, or only matched).
    pub const fn free(min: usize, max: usize) -> TextRule {
        TextRule {
            min,
            max,
            nul_free: false,
        }
    }

    /// Whether `s` obeys the rule.
    pub fn accepts(&self, s: &str) -> bool {
        (self.min..=self.max).contains(&s.chars().count()) && !(self.nul_free && has_nul(s))
    }
}

/// Memory `session_id`, and the list's `session_id` filter.
pub const SESSION_ID: TextRule = TextRule::stored(1, 128);
/// Memory `content`.
pub const MEMORY_CONTENT: TextRule = TextRule::stored(1, 65_536);
/// Memory `source`.
pub const MEMORY_SOURCE: TextRule = TextRule::stored(0, 256);
/// One tag of a file's metadata (stored encrypted, so NUL is kept).
pub const TAG: TextRule = TextRule::free(1, 64);
/// One tag of a memory (a PostgreSQL `text[]` element).
pub const MEMORY_TAG: TextRule = TextRule::stored(TAG.min, TAG.max);
/// Most tags on a file or a memory.
pub const MAX_TAGS: usize = 32;
/// File metadata `title`.
pub const TITLE: TextRule = TextRule::free(0, 512);
/// File metadata `description`.
pub const DESCRIPTION: TextRule = TextRule::free(0, 4096);
/// Search `query` (also not blank; NUL is replaced, not refused, since it is only matched).
pub const SEARCH_QUERY: TextRule = TextRule::free(1, 512);
/// Memory `importance`, inclusive.
pub const IMPORTANCE: (f64, f64) = (0.0, 1.0);

/// The page size of a list or a search: `1..=max`, `default` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize {
    /// When `limit` is absent.
    pub default: i64,
    /// Largest `limit`.
    pub max: i64,
}

/// `limit` of the file and memory lists.
pub const LIST_PAGE: PageSize = PageSize {
    default: 50,
    max: 100,
};
/// `limit` of a search.
pub const SEARCH_PAGE: PageSize = PageSize {
    default: 10,
    max: 50,
};

/// The tag rule shared by file metadata and memories: at most [`MAX_TAGS`] tags obeying `rule`.
pub fn tags_ok(tags: &[String], rule: TextRule) -> bool {
    tags.len() <= MAX_TAGS && tags.iter().all(|t| rule.accepts(t))
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
    fn controls_format_and_bidi_characters_are_hidden_ones() {
        for c in [
            '\0',
            '\t',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{2028}',
            '\u{2029}',
            '\u{202e}',
            '\u{2066}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert!(is_hidden_control(c), "{c:?}");
        }
        for c in [
            'a',
            ' ',
            '\u{a0}',
            '\u{e9}',
            '\u{3000}',
            '\u{1f980}',
            '.',
            '-',
        ] {
            assert!(!is_hidden_control(c), "{c:?}");
        }
    }

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

    /// The class in [`NOT_BLANK_PATTERN`] lists exactly the characters `is_blank` skips.
    #[test]
    fn the_not_blank_pattern_names_exactly_rusts_whitespace() {
        let class = NOT_BLANK_PATTERN
            .strip_prefix("[^")
            .and_then(|c| c.strip_suffix(']'))
            .unwrap();
        let code = |s: &str| {
            char::from_u32(u32::from_str_radix(s.strip_prefix("\\u").unwrap(), 16).unwrap())
                .unwrap()
        };
        // `\uXXXX` or `\uXXXX-\uYYYY`, one after the other.
        let (mut listed, mut rest) = (Vec::new(), class);
        while !rest.is_empty() {
            let (first, after) = rest.split_at(6);
            let (last, after) = match after.strip_prefix('-') {
                Some(range) => range.split_at(6),
                None => (first, after),
            };
            listed.push(code(first)..=code(last));
            rest = after;
        }
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            let in_class = listed.iter().any(|r| r.contains(&c));
            assert_eq!(in_class, c.is_whitespace(), "{:?}", c);
            assert_eq!(is_blank(&c.to_string()), in_class, "{:?}", c);
        }
    }

    #[test]
    fn text_rules_count_characters_and_refuse_nul_where_stored() {
        assert!(SESSION_ID.accepts(&"🦀".repeat(128)));
        assert!(!SESSION_ID.accepts(&"s".repeat(129)));
        assert!(!SESSION_ID.accepts(""));
        assert!(!SESSION_ID.accepts("a\0"));
        assert!(TAG.accepts("a\0") && !MEMORY_TAG.accepts("a\0"));
        assert!(MEMORY_SOURCE.accepts(""));
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
