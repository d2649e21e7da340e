//! Last line of defence against secrets in written reports.
//!
//! Evidence is redacted where it is recorded; this pass runs again over every
//! string of the report just before anything is written, so a token that slipped
//! through (a JWT echoed in a body, a bearer header in a message) never reaches
//! a file, a PR comment or a CI log.

use std::sync::OnceLock;

use regex::Regex;

use crate::model::Report;

/// What a masked secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        vec![
            // JWT-shaped: base64url JSON header (`{"` encodes to `eyJ`), payload,
            // signature (empty for `alg: none`).
            (
                Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*").unwrap(),
                "[REDACTED:jwt]",
            ),
            // Any other bearer credential (16+ token characters: long enough
            // not to eat prose such as "Bearer challenge").
            (
                Regex::new(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{16,}").unwrap(),
                "$1 [REDACTED]",
            ),
        ]
    })
}

/// Masks anything that looks like a JWT or a bearer credential in `text`.
pub fn mask_secrets(text: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    for (re, replacement) in patterns() {
        if re.is_match(&out) {
            out = std::borrow::Cow::Owned(re.replace_all(&out, *replacement).into_owned());
        }
    }
    out.into_owned()
}

/// What a known literal secret is replaced with.
pub const REDACTED_SECRET: &str = "[REDACTED:secret]";

/// [`mask_secrets`], then every known literal secret (the target's JWT
/// secret, the database password) replaced by [`REDACTED_SECRET`].
///
/// Made certain for short secrets: one can reappear across the edge of a
/// marker (`]x` in `…]xx`), be a piece of a marker (`e`), or be spelled by
/// another secret's marker, so each secret gets a marker that does not
/// contain it, and a text that still holds a secret afterwards is replaced
/// whole by a marker holding none.
pub fn mask_with<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let secrets: Vec<&str> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    let mut out = mask_secrets(text);
    for secret in &secrets {
        if out.contains(secret) {
            out = out.replace(secret, marker_without(&[secret]));
        }
    }
    if secrets.iter().any(|s| out.contains(s)) {
        out = marker_without(&secrets).to_owned();
    }
    out
}

/// The first marker that contains none of `secrets` ([`REDACTED_SECRET`]
/// unless a secret is a piece of it; the empty text contains none).
fn marker_without(secrets: &[&str]) -> &'static str {
    [REDACTED_SECRET, "***", "###", ""]
        .into_iter()
        .find(|m| !secrets.iter().any(|s| m.contains(s)))
        .unwrap_or("")
}

/// Literal secrets the final pass masks besides anything token-shaped.
/// `Debug` never prints them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Secrets {
        Secrets(secrets.into_iter().filter(|s| !s.is_empty()).collect())
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets([{} redacted])", self.0.len())
    }
}

/// Returns a copy of `report` with [`mask_secrets`] applied to every string
/// value in it, whatever field it sits in.
pub fn redact_report(report: &Report) -> Result<Report, serde_json::Error> {
    redact_report_with(report, &Secrets::default())
}

/// [`redact_report`] that also masks the literal `secrets` (as the harness
/// does field by field), so the last pass is at least as strict as the first.
///
/// Only string *values* are masked. Keys are the model's field names and
/// header names: a secret that happens to spell part of one (`x` inside
/// `expected`) must not rename a field, or the report no longer reads back
/// and the decision is lost. The model's own words (its enums' spellings) and
/// its timestamps are values too, but typed: they carry no evidence, and
/// masking them would break the report the same way.
pub fn redact_report_with(report: &Report, secrets: &Secrets) -> Result<Report, serde_json::Error> {
    let mut value = serde_json::to_value(report)?;
    mask_value(&mut value, secrets);
    serde_json::from_value(value)
}

fn mask_value(value: &mut serde_json::Value, secrets: &Secrets) {
    match value {
        serde_json::Value::String(s) if !is_typed_word(s) => {
            let masked = mask_with(s, secrets.iter());
            if masked != *s {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_value(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| mask_value(v, secrets)),
        _ => {}
    }
}

/// A string the model types rather than writes: an enum's spelling (as its
/// JSON Schema lists them) or an RFC 3339 timestamp. The final pass leaves
/// these alone.
pub fn is_typed_word(s: &str) -> bool {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        let mut words = Vec::new();
        collect_enum_words(&crate::schema::report_schema(), &mut words);
        words
    });
    words.iter().any(|w| w == s) || chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn collect_enum_words(schema: &serde_json::Value, out: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("enum", serde_json::Value::Array(items)) => {
                        out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)))
                    }
                    ("const", serde_json::Value::String(word)) => out.push(word.clone()),
                    _ => collect_enum_words(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_enum_words(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_secret_is_masked_as_well_as_token_shaped_text() {
        let secrets = Secrets::new(["s3cr3t-value-0123".to_string()]);
        assert_eq!(
            mask_with("key s3cr3t-value-0123 leaked", secrets.iter()),
            "key [REDACTED:secret] leaked"
        );
        assert_eq!(format!("{secrets:?}"), "Secrets([1 redacted])");
    }

    #[test]
    fn a_jwt_anywhere_in_a_string_is_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let masked = mask_secrets(&format!("body said {jwt} twice {jwt}"));
        assert_eq!(masked, "body said [REDACTED:jwt] twice [REDACTED:jwt]");
    }

    #[test]
    fn an_unsigned_alg_none_token_is_masked_too() {
        let masked = mask_secrets("token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.");
        assert_eq!(masked, "token=[REDACTED:jwt]");
    }

    #[test]
    fn a_bearer_credential_is_masked_but_the_scheme_kept() {
        assert_eq!(
            mask_secrets("Authorization: Bearer abcdefghijklmnop"),
            "Authorization: Bearer [REDACTED]"
        );
        // The challenge header names the scheme without a credential: untouched.
        assert_eq!(
            mask_secrets(r#"Bearer realm="knowledge""#),
            r#"Bearer realm="knowledge""#
        );
    }
}
