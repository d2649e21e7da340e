//! What the suites send and receive, and the [`Transport`] that carries it.
//!
//! The suites never touch a socket: the harness's recording HTTP client
//! implements [`Transport`], and tests can plug in an in-memory fake.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::Method;

/// One request as a case describes it; the transport resolves `path` against the target.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/knowledge/files?limit=1`.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Json(serde_json::Value),
    Multipart(Vec<Part>),
    /// Bytes sent as is (e.g. deliberately malformed JSON).
    Raw {
        content_type: String,
        data: Bytes,
    },
}

/// One `multipart/form-data` part.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Body::Empty,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
    pub fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Body::Json(value);
        self
    }
    pub fn raw(mut self, content_type: &str, data: impl Into<Bytes>) -> Self {
        self.body = Body::Raw {
            content_type: content_type.into(),
            data: data.into(),
        };
        self
    }
    pub fn multipart(mut self, parts: Vec<Part>) -> Self {
        self.body = Body::Multipart(parts);
        self
    }
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The bearer token, if any (used to attribute requests to tenants).
    pub fn bearer_token(&self) -> Option<&str> {
        self.header_value("authorization")?.strip_prefix("Bearer ")
    }
}

/// A response as the transport received it.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    /// Header names in lower case, in arrival order (repeats kept).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ApiResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header_u64(&self, name: &str) -> Option<u64> {
        self.header(name)?.trim().parse().ok()
    }
}

/// A request with what came back and how long it took.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: ApiRequest,
    /// `Err` when no HTTP response came (connection refused, timeout...).
    pub response: Result<ApiResponse, String>,
    pub latency: Duration,
    /// Wall-clock time the response arrived (Unix seconds, fractional), for Reset arithmetic.
    pub received_at: f64,
}

/// Carries requests to the target. Implemented by the harness's recording client.
pub trait Transport: Send + Sync {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Exchange>;
}

/// Route class used for latency metrics: search is measured on its own.
pub fn route_class(method: &Method, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path);
    match (method.as_str(), path) {
        ("POST", "/api/v1/knowledge/search") => "search",
        ("POST", "/api/v1/knowledge/files") => "upload",
        (_, p) if p.starts_with("/api/v1/knowledge/files") => "files",
        (_, p) if p.starts_with("/api/v1/memory") => "memory",
        (_, p) if p.starts_with("/api/v1/stream/auth") => "auth",
        _ => "other",
    }
}
