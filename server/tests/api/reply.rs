//! A response read once (status, headers, body) and the assertions every test shares:
//! the problem-details shape, the conventions headers, the rate-limit headers and the leak check.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset: i64,
}

/// Text that must never reach a client: traces, file-system paths, SQL, driver and library names.
const FORBIDDEN: &[&str] = &[
    "panicked",
    "backtrace",
    "stack trace",
    "src/",
    ".rs:",
    "sqlx",
    "postgres",
    "SELECT ",
    "INSERT ",
    "syntax error",
    "redis",
    "tokio",
    "hyper",
    "multer",
    "/tmp/",
    "/home/",
    "/root/",
    "/var/",
    "/usr/",
    "/etc/",
    "/proc/",
    "/work/",
    // the wording of the libraries a server parses input with (serde, serde_json,
    // serde_urlencoded, std's number parsing, chrono): a client reads our sentences, not theirs
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown field `",
    "unknown variant `",
    "missing field `",
    "duplicate field `",
    "expected a string",
    "expected one of",
    "invalid digit found in string",
    "number too large to fit in target type",
    "number too small to fit in target type",
    "cannot parse integer from empty string",
    "input contains invalid characters",
    "premature end of input",
    "failed to deserialize",
    " at line ",
];

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a complete body");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {}", self.status, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }

    /// The request id, asserted present (the contract puts it on every response).
    pub fn request_id(&self) -> &str {
        self.header("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-ID on a {} response", self.status))
    }

    /// `X-Request-ID` and `nosniff`, which every response carries.
    pub fn assert_conventions(&self) {
        assert!(
            !self.request_id().is_empty(),
            "empty X-Request-ID on {}",
            self.status
        );
        assert_eq!(
            self.header("x-content-type-options"),
            Some("nosniff"),
            "on {}",
            self.status
        );
    }

    /// An RFC 9457 problem with this status and code, a non-empty suggestion, the response's request
    /// id, the conventions headers and nothing internal in it. Returns the body for further checks.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        self.assert_conventions();
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content-type {content_type:?}"
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        assert_eq!(body["status"], status.as_u16(), "body: {body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://")),
            "type in {body}"
        );
        assert!(
            body["title"].as_str().is_some_and(|t| !t.trim().is_empty()),
            "title in {body}"
        );
        assert!(
            body["suggestion"]
                .as_str()
                .is_some_and(|s| !s.trim().is_empty()),
            "suggestion in {body}"
        );
        assert_eq!(
            body["request_id"],
            self.request_id(),
            "request_id in {body}"
        );
        assert_no_leak(&self.text(), None);
        for (name, value) in &self.headers {
            assert_no_leak(
                &format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())),
                None,
            );
        }
        body
    }

    /// The suggestion of a problem body.
    pub fn suggestion(&self) -> String {
        self.json()["suggestion"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `Retry-After` seconds, asserted present and numeric.
    #[track_caller]
    pub fn retry_after(&self) -> u64 {
        self.header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap()
    }

    /// The X-RateLimit-* headers, asserted present and numeric.
    #[track_caller]
    pub fn rate(&self) -> RateHeaders {
        let number = |name: &str| -> i64 {
            self.header(name)
                .unwrap_or_else(|| panic!("no {name} on a {} response", self.status))
                .parse()
                .unwrap_or_else(|_| panic!("{name} is not an integer"))
        };
        RateHeaders {
            limit: number("x-ratelimit-limit") as u64,
            remaining: number("x-ratelimit-remaining") as u64,
            reset: number("x-ratelimit-reset"),
        }
    }
}

/// The keys of a JSON object, sorted (to compare a body's exact field set).
#[track_caller]
pub fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts `text` carries nothing internal (and not the secret, when given).
#[track_caller]
pub fn assert_no_leak(text: &str, secret: Option<&str>) {
    let lower = text.to_lowercase();
    for needle in FORBIDDEN {
        let found = if needle.chars().any(|c| c.is_uppercase()) {
            text.contains(needle)
        } else {
            lower.contains(needle)
        };
        assert!(!found, "a client-visible body contains {needle:?}: {text}");
    }
    if let Some(secret) = secret {
        assert!(
            !text.contains(secret),
            "a client-visible body contains the JWT secret"
        );
    }
}
