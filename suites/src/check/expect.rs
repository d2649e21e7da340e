//! Declarative expectations: status, headers and problem body checked together,
//! so every case asserts the contract the same, exact way.

use crate::check::transport::{ApiResponse, Exchange};

/// A check on one header.
#[derive(Debug, Clone)]
enum HeaderRule {
    Present(&'static str),
    Absent(&'static str),
    Equals(&'static str, String),
    Contains(&'static str, String),
    /// Parses as an integer within the inclusive range.
    IntIn(&'static str, i64, i64),
    /// `WWW-Authenticate` is a Bearer challenge with these auth-params, in any
    /// order (RFC 9110 §11.6.1): a value, or `None` for any non-empty value;
    /// `bare` also refuses an `error` param (RFC 6750 §3: none without credentials).
    Challenge {
        params: Vec<(&'static str, Option<&'static str>)>,
        bare: bool,
    },
}

/// The auth-params of a `Bearer` challenge, lower-cased names, unquoted values;
/// `None` when the value is not a Bearer challenge.
pub fn bearer_challenge(value: &str) -> Option<Vec<(String, String)>> {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (val, tail) = match after.strip_prefix('"') {
            Some(q) => {
                // A quoted-string: up to the next unescaped quote.
                let mut out = String::new();
                let mut chars = q.char_indices();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                out.push(n);
                            }
                        }
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => out.push(c),
                    }
                }
                (out, &q[end?..])
            }
            None => {
                let cut = after.find(',').unwrap_or(after.len());
                (after[..cut].trim().to_owned(), &after[cut..])
            }
        };
        params.push((name.trim().to_ascii_lowercase(), val));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(params)
}

/// What a response must look like.
#[derive(Debug, Clone)]
pub struct Expect {
    status: u16,
    headers: Vec<HeaderRule>,
    code: Option<&'static str>,
    problem: bool,
    suggestion_contains: Vec<String>,
}

impl Expect {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            code: None,
            problem: false,
            suggestion_contains: Vec::new(),
        }
    }
    /// An RFC 9457 error: status, `application/problem+json`, `code`, non-empty `suggestion`.
    pub fn problem(status: u16, code: &'static str) -> Self {
        Self {
            code: Some(code),
            problem: true,
            ..Self::status(status)
        }
    }
    pub fn header(mut self, name: &'static str) -> Self {
        self.headers.push(HeaderRule::Present(name));
        self
    }
    pub fn no_header(mut self, name: &'static str) -> Self {
        self.headers.push(HeaderRule::Absent(name));
        self
    }
    pub fn header_eq(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push(HeaderRule::Equals(name, value.into()));
        self
    }
    pub fn header_contains(mut self, name: &'static str, part: impl Into<String>) -> Self {
        self.headers.push(HeaderRule::Contains(name, part.into()));
        self
    }
    /// `WWW-Authenticate: Bearer` with `realm="knowledge"` and no `error`.
    pub fn bare_challenge(mut self) -> Self {
        self.headers.push(HeaderRule::Challenge {
            params: vec![("realm", Some("knowledge"))],
            bare: true,
        });
        self
    }
    /// `WWW-Authenticate: Bearer` with `realm="knowledge"`, `error="invalid_token"`
    /// and a non-empty `error_description`, in any order.
    pub fn invalid_token_challenge(mut self) -> Self {
        self.headers.push(HeaderRule::Challenge {
            params: vec![
                ("realm", Some("knowledge")),
                ("error", Some("invalid_token")),
                ("error_description", None),
            ],
            bare: false,
        });
        self
    }
    pub fn header_int(mut self, name: &'static str, min: i64, max: i64) -> Self {
        self.headers.push(HeaderRule::IntIn(name, min, max));
        self
    }
    pub fn suggestion_mentions(mut self, part: impl Into<String>) -> Self {
        self.suggestion_contains.push(part.into());
        self
    }

    /// Short human form for the report, e.g. `401 missing_token + WWW-Authenticate`.
    pub fn describe(&self) -> String {
        let mut s = self.status.to_string();
        if let Some(code) = self.code {
            s.push_str(&format!(" {code} + suggestion"));
        }
        for rule in &self.headers {
            s.push_str(&match rule {
                HeaderRule::Present(n) => format!(" + {n}"),
                HeaderRule::Absent(n) => format!(" + no {n}"),
                HeaderRule::Equals(n, v) => format!(" + {n}: {v}"),
                HeaderRule::Contains(n, v) => format!(" + {n} ~ {v}"),
                HeaderRule::IntIn(n, a, b) => format!(" + {n} in {a}..={b}"),
                HeaderRule::Challenge { params, .. } => format!(
                    " + WWW-Authenticate: Bearer {}",
                    params
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", v.unwrap_or("…")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        s
    }

    /// Every way the response differs from the expectation (empty = match).
    pub fn mismatches(&self, r: &ApiResponse) -> Vec<String> {
        let mut out = Vec::new();
        if r.status != self.status {
            out.push(format!("status {} instead of {}", r.status, self.status));
        }
        for rule in &self.headers {
            match rule {
                HeaderRule::Present(n) if r.header(n).is_none_or(|v| v.trim().is_empty()) => {
                    out.push(format!("header {n} missing"))
                }
                HeaderRule::Absent(n) if r.header(n).is_some() => {
                    out.push(format!("header {n} present"))
                }
                HeaderRule::Equals(n, v) => match r.header(n) {
                    Some(got) if got == v => {}
                    got => out.push(format!("header {n} is {}, expected {v:?}", shown(got))),
                },
                HeaderRule::Contains(n, v) => match r.header(n) {
                    Some(got) if got.contains(v.as_str()) => {}
                    got => out.push(format!(
                        "header {n} is {}, expected it to contain {v:?}",
                        shown(got)
                    )),
                },
                HeaderRule::Challenge { params, bare } => {
                    let got = r.header("www-authenticate");
                    match got.and_then(bearer_challenge) {
                        None => out.push(format!(
                            "header www-authenticate is {}, not a Bearer challenge",
                            shown(got)
                        )),
                        Some(found) => {
                            let value = |k: &str| {
                                found.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
                            };
                            for (k, want) in params {
                                match (value(k), want) {
                                    (Some(v), Some(w)) if v == *w => {}
                                    (Some(v), None) if !v.is_empty() => {}
                                    (v, w) => out.push(format!(
                                        "www-authenticate {k} is {v:?}, expected {}",
                                        w.map_or("a value".to_owned(), |w| format!("{w:?}"))
                                    )),
                                }
                            }
                            if *bare && value("error").is_some() {
                                out.push(format!(
                                    "www-authenticate {} has an error param, but no credentials were sent",
                                    shown(got)
                                ));
                            }
                        }
                    }
                }
                HeaderRule::IntIn(n, lo, hi) => {
                    match r.header(n).map(|v| v.trim().parse::<i64>()) {
                        Some(Ok(x)) if (*lo..=*hi).contains(&x) => {}
                        Some(Ok(x)) => out.push(format!("header {n} = {x}, outside {lo}..={hi}")),
                        Some(Err(_)) => out.push(format!("header {n} is not an integer")),
                        None => out.push(format!("header {n} missing")),
                    }
                }
                _ => {}
            }
        }
        if self.problem {
            out.extend(problem_mismatches(r, self.code));
            if let Some(s) = r
                .json()
                .and_then(|j| j.get("suggestion")?.as_str().map(str::to_owned))
            {
                for part in &self.suggestion_contains {
                    if !s.contains(part.as_str()) {
                        out.push(format!("suggestion does not mention {part:?}"));
                    }
                }
            }
        }
        out
    }
}

/// Checks an error response's problem-details shape (any status).
pub fn problem_mismatches(r: &ApiResponse, code: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let ct = r.header("content-type").unwrap_or("");
    if !ct.starts_with("application/problem+json") {
        out.push(format!(
            "content-type {ct:?} instead of application/problem+json"
        ));
    }
    let Some(body) = r.json() else {
        out.push("body is not JSON".into());
        return out;
    };
    match (code, body.get("code").and_then(|c| c.as_str())) {
        (Some(want), Some(got)) if want != got => {
            out.push(format!("code {got:?} instead of {want:?}"))
        }
        (_, None) => out.push("no code in body".into()),
        _ => {}
    }
    out.extend(problem_member_mismatches(r));
    if body
        .get("suggestion")
        .and_then(|s| s.as_str())
        .is_none_or(|s| s.trim().is_empty())
    {
        out.push("no suggestion in body".into());
    }
    out
}

/// The RFC 9457 members beyond code and suggestion: `type` and `title` present, `status`
/// equal to the HTTP status, `code` stable snake_case. Checked by the scans and the
/// provocations (a case's own expectation already names the code it wants).
pub fn problem_member_mismatches(r: &ApiResponse) -> Vec<String> {
    let mut out = Vec::new();
    let Some(body) = r.json() else {
        return out;
    };
    for key in ["type", "title"] {
        if body
            .get(key)
            .and_then(|v| v.as_str())
            .is_none_or(|v| v.is_empty())
        {
            out.push(format!("problem has no {key}"));
        }
    }
    if body.get("status").and_then(|v| v.as_u64()) != Some(u64::from(r.status)) {
        out.push(format!(
            "problem status {} differs from the HTTP status {}",
            body.get("status").cloned().unwrap_or_default(),
            r.status
        ));
    }
    if let Some(code) = body.get("code").and_then(|c| c.as_str()) {
        if !is_snake_case(code) {
            out.push(format!("code {code:?} is not snake_case"));
        }
    }
    out
}

/// `lower_snake_case`: lower-case ASCII letters and digits in words joined by single `_`.
pub fn is_snake_case(code: &str) -> bool {
    code.split('_').all(|w| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && code.starts_with(|c: char| c.is_ascii_lowercase())
}

/// A header value as a reader wants it: quoted, or "missing".
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| format!("{v:?}"))
}

/// Request-line and header bytes from which common HTTP stacks may refuse a
/// request before any handler reads its token (nginx's 8 KiB a line, Node's
/// 16 KiB in all, ...): such a refusal is the contract's "refused before its
/// token is read".
pub const COMMON_HEADER_LIMIT: usize = 8 * 1024;

/// The contract's "request refused before its token is read": a `414` or
/// `431`, or a `400` to a request over [`COMMON_HEADER_LIMIT`]. It need not
/// carry the rate-limit headers and is not an authenticated response; its
/// X-Request-ID, nosniff and problem body are only a *should*.
pub fn refused_before_auth(ex: &Exchange) -> bool {
    let Ok(r) = &ex.response else { return false };
    let size = ex.request.path.len()
        + ex.request
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>();
    match r.status {
        414 | 431 => true,
        400 => size >= COMMON_HEADER_LIMIT,
        _ => false,
    }
}

/// What a refusal before the token is read should still carry (contract:
/// "A server should still give it X-Request-ID, nosniff and a problem body
/// where its stack allows"): each one missing, as a warning.
pub fn refusal_marks(r: &ApiResponse) -> Vec<String> {
    let mut out = Vec::new();
    if r.header("x-request-id").is_none_or(|v| v.is_empty()) {
        out.push("no X-Request-ID".to_owned());
    }
    if r.header("x-content-type-options") != Some("nosniff") {
        out.push("no X-Content-Type-Options: nosniff".to_owned());
    }
    out.extend(problem_mismatches(r, None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> ApiResponse {
        ApiResponse {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.to_owned().into(),
        }
    }

    #[test]
    fn a_problem_must_be_rfc_9457_with_a_snake_case_code() {
        let r = resp(
            404,
            &[("content-type", "application/problem+json")],
            r#"{"status":500,"code":"NotFound","suggestion":"Check the id."}"#,
        );
        let m = Expect::problem(404, "NotFound").mismatches(&r);
        assert_eq!(
            m,
            vec![
                "problem has no type".to_string(),
                "problem has no title".to_string(),
                "problem status 500 differs from the HTTP status 404".to_string(),
                "code \"NotFound\" is not snake_case".to_string(),
            ]
        );
    }

    #[test]
    fn codes_must_be_snake_case() {
        assert!(is_snake_case("invalid_id") && is_snake_case("e2e_failed"));
        for bad in [
            "invalidId",
            "Invalid_id",
            "invalid-id",
            "_x",
            "x__y",
            "x_",
            "",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn a_problem_without_suggestion_is_a_mismatch() {
        let r = resp(
            401,
            &[("content-type", "application/problem+json")],
            r#"{"type":"about:blank","title":"Missing token","status":401,"code":"missing_token"}"#,
        );
        let m = Expect::problem(401, "missing_token").mismatches(&r);
        assert_eq!(m, vec!["no suggestion in body".to_string()]);
    }

    #[test]
    fn status_header_and_code_are_checked_together() {
        let r = resp(
            429,
            &[
                ("content-type", "application/problem+json"),
                ("retry-after", "0"),
            ],
            r#"{"type":"about:blank","title":"Too many","status":429,"code":"rate_limited","suggestion":"Wait 36 s."}"#,
        );
        let m = Expect::problem(429, "rate_limited")
            .header_int("retry-after", 1, 3600)
            .mismatches(&r);
        assert_eq!(
            m,
            vec!["header retry-after = 0, outside 1..=3600".to_string()]
        );
        let ok = resp(
            429,
            &[
                ("content-type", "application/problem+json"),
                ("retry-after", "36"),
            ],
            r#"{"type":"about:blank","title":"Too many","status":429,"code":"rate_limited","suggestion":"Wait 36 s."}"#,
        );
        assert!(Expect::problem(429, "rate_limited")
            .header_int("retry-after", 1, 3600)
            .mismatches(&ok)
            .is_empty());
    }

    #[test]
    fn bearer_challenges_parse_in_any_order() {
        let p = bearer_challenge(
            r#"Bearer error_description="bad, \"x\"", error=invalid_token, realm="knowledge""#,
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                ("error_description".into(), "bad, \"x\"".into()),
                ("error".into(), "invalid_token".into()),
                ("realm".into(), "knowledge".into())
            ]
        );
        assert!(bearer_challenge("Basic realm=\"x\"").is_none());
        assert_eq!(bearer_challenge("bearer").unwrap(), vec![]);
    }
}
