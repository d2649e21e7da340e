//! Redaction of evidence before it enters the report: tokens, the JWT secret
//! and anything token-shaped are masked, bodies trimmed, headers filtered.

use std::collections::BTreeMap;

use gonogo_reports::redact::mask_with;

/// Longest body kept as evidence, in characters.
pub const MAX_EVIDENCE_BODY: usize = 512;

/// Headers worth showing as evidence; the rest is noise.
const RELEVANT: [&str; 14] = [
    "authorization",
    "content-type",
    "x-request-id",
    "www-authenticate",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "location",
    "cache-control",
    "x-content-type-options",
    "content-disposition",
];

/// Masks JWTs, bearer credentials and `secret` (when known) in `text`.
pub fn redact(text: &str, secret: Option<&str>) -> String {
    mask_with(text, secret)
}

/// [`redact`], then cut to [`MAX_EVIDENCE_BODY`] characters.
pub fn trim_body(text: &str, secret: Option<&str>) -> String {
    let text = redact(text, secret);
    if text.chars().count() <= MAX_EVIDENCE_BODY {
        return text;
    }
    let cut: String = text.chars().take(MAX_EVIDENCE_BODY).collect();
    format!("{cut}… [trimmed]")
}

/// The relevant headers, with `Authorization` always reduced to its scheme.
pub fn headers(list: &[(String, String)], secret: Option<&str>) -> BTreeMap<String, String> {
    list.iter()
        .filter(|(k, _)| RELEVANT.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let v = if k == "authorization" {
                format!("{} [REDACTED]", v.split_whitespace().next().unwrap_or(""))
            } else {
                redact(v, secret)
            };
            (k, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_keeps_only_its_scheme() {
        let h = headers(
            &[
                ("Authorization".into(), "Bearer abc.def.ghi".into()),
                ("Server".into(), "x".into()),
            ],
            None,
        );
        assert_eq!(
            h.into_iter().collect::<Vec<_>>(),
            vec![("authorization".to_string(), "Bearer [REDACTED]".to_string())]
        );
    }

    #[test]
    fn jwts_and_the_secret_are_masked_in_bodies() {
        let jwt = gonogo_suites::check::tokens::sign(
            &gonogo_suites::check::tokens::claims(uuid::Uuid::new_v4()),
            "k".repeat(32).as_str(),
        );
        let body = format!(r#"{{"echo":"{jwt}","detail":"key kkkk-the-secret-kkkk"}}"#);
        let out = trim_body(&body, Some("kkkk-the-secret-kkkk"));
        assert!(
            !out.contains(&jwt) && !out.contains("kkkk-the-secret-kkkk"),
            "{out}"
        );
        assert!(out.contains("[REDACTED:secret]"), "{out}");
    }

    #[test]
    fn long_bodies_are_trimmed() {
        let out = trim_body(&"a".repeat(2000), None);
        assert_eq!(
            out.chars().count(),
            MAX_EVIDENCE_BODY + " [trimmed]".len() + 1
        );
    }
}
