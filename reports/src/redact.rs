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

/// Returns a copy of `report` with [`mask_secrets`] applied to every string in it
/// (map keys included), whatever field it sits in.
pub fn redact_report(report: &Report) -> Result<Report, serde_json::Error> {
    let mut value = serde_json::to_value(report)?;
    mask_value(&mut value);
    serde_json::from_value(value)
}

fn mask_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let masked = mask_secrets(s);
            if masked != *s {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_value),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                mask_value(&mut v);
                map.insert(mask_secrets(&key), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
