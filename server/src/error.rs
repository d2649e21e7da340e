//! Errors. [`AppError`] is every way a request can fail; it renders as an RFC 9457 problem
//! (`application/problem+json`) with a stable `code`, an actionable `suggestion` and the
//! request id. Internal causes are logged here and never echoed to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ALLOWED_MIME_TYPES;

tokio::task_local! {
    /// The current request's id, set by the request-id middleware so errors can carry it.
    pub static REQUEST_ID: String;
}

/// The current request id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Why the server refused to start. Each message is one sentence saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is missing or malformed.
    #[error("{0}")]
    Config(String),
    /// The database role or schema is unsafe or unreachable.
    #[error("{0}")]
    Database(String),
    /// Redis is unreachable at start-up.
    #[error("{0}")]
    Redis(String),
    /// The storage directory is unusable.
    #[error("{0}")]
    Storage(String),
}

/// Every failure a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: a path id is not a UUID.
    #[error("invalid id")]
    InvalidId,
    /// 400: the body is not JSON of the expected shape.
    #[error("invalid json: {0}")]
    InvalidJson(String),
    /// 400: a query-string parameter is unknown or malformed.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// 400: a field value is out of range (`detail`, `suggestion`).
    #[error("validation failed: {0}")]
    Validation(String, String),
    /// 400: the paging cursor was not produced by this server.
    #[error("invalid cursor")]
    InvalidCursor,
    /// 400: declared MIME type not in the allow-list.
    #[error("invalid mime type {0:?}")]
    InvalidMimeType(String),
    /// 400: the bytes do not match the declared type.
    #[error("content mismatch: {0}")]
    ContentMismatch(String),
    /// 400: the uploaded file has no bytes.
    #[error("empty file")]
    EmptyFile,
    /// 400: the multipart body is malformed or misses the `file` part.
    #[error("invalid multipart: {0}")]
    InvalidMultipart(String),
    /// 400: the `file` part's filename holds a raw control byte the multipart parser refuses.
    #[error("invalid filename")]
    InvalidFilename,
    /// 400: the `metadata` part is not the expected JSON object.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// 401: no `Authorization` header.
    #[error("missing token")]
    MissingToken,
    /// 401: the token is unusable; the reason goes into `WWW-Authenticate`.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// 404: no such resource for this caller (also another tenant's).
    #[error("not found")]
    NotFound,
    /// 404: no route matches the path.
    #[error("route not found")]
    RouteNotFound,
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the upload (or body) exceeds the limit in bytes.
    #[error("payload too large")]
    PayloadTooLarge(u64),
    /// 415: the body's content type is not what the route accepts (`expected`).
    #[error("unsupported media type")]
    UnsupportedMediaType(&'static str),
    /// 429: over the rate limit; retry after the seconds given.
    #[error("rate limited")]
    RateLimited(u64),
    /// 503: Redis unreachable or slow and the limiter fails closed.
    #[error("rate limiter unavailable")]
    RateLimiterUnavailable,
    /// 503: the database is unreachable or its pool is exhausted.
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// 500: anything else; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // Connection-level failures, including the server shutting down (SQLSTATE classes
            // 08 connection exception, 57 operator intervention, 53 insufficient resources).
            sqlx::Error::Database(ref d)
                if d.code().is_some_and(|c| {
                    c.starts_with("08") || c.starts_with("57") || c.starts_with("53")
                }) =>
            {
                tracing::error!(error = %e, "database unavailable");
                AppError::DatabaseUnavailable
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(error = %e, "database unavailable");
                AppError::DatabaseUnavailable
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// A request without a usable bearer token: `MissingToken` without an Authorization header,
/// else `InvalidToken` with the reason.
impl From<gonogo_plumbing::BearerError> for AppError {
    fn from(e: gonogo_plumbing::BearerError) -> Self {
        match e {
            gonogo_plumbing::BearerError::Missing => AppError::MissingToken,
            other => AppError::InvalidToken(other.reason()),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("storage i/o failed"))
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short human title.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
    /// Stable snake_case machine code.
    pub code: String,
    /// What to do about it.
    pub suggestion: String,
    /// The request id (also in `X-Request-ID`).
    pub request_id: String,
}

/// Builds a problem response: body, content type, status.
pub fn problem_response(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: String,
    suggestion: String,
) -> Response {
    let body = Problem {
        type_: format!("https://knowledge.dev/problems/{}", code.replace('_', "-")),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
        suggestion,
        request_id: current_request_id(),
    };
    gonogo_plumbing::problem_json(status, serde_json::to_vec(&body).unwrap_or_default())
}

impl AppError {
    /// Status, code, title, detail, suggestion.
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String, String) {
        use AppError::*;
        let s = |x: &str| x.to_owned();
        match self {
            InvalidId => (StatusCode::BAD_REQUEST, "invalid_id", "Invalid id", s("The id in the path is not a UUID."), s("Use the `id` returned when the resource was created (a UUID such as 3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f).")),
            InvalidJson(d) => (StatusCode::BAD_REQUEST, "invalid_json", "Invalid JSON body", d.clone(), s("Send a JSON object with the documented fields and types (see /openapi.json).")),
            InvalidQuery(d) => (StatusCode::BAD_REQUEST, "invalid_query", "Invalid query parameters", d.clone(), s("Use only the documented query parameters with valid values (see /openapi.json).")),
            Validation(d, sug) => (StatusCode::BAD_REQUEST, "validation_failed", "Invalid value", d.clone(), sug.clone()),
            InvalidCursor => (StatusCode::BAD_REQUEST, "invalid_cursor", "Invalid cursor", s("The cursor was not produced by this API."), s("Pass the `next_cursor` value from the previous page unchanged, or omit it to start from the first page.")),
            InvalidMimeType(got) => (StatusCode::BAD_REQUEST, "invalid_mime_type", "Unsupported file type", format!("The declared content type {got:?} is not accepted."), format!("Upload one of: {}.", ALLOWED_MIME_TYPES.join(", "))),
            ContentMismatch(d) => (StatusCode::BAD_REQUEST, "content_mismatch", "Content does not match its type", d.clone(), s("Declare the content type that matches the bytes (PDF files start with %PDF-, JSON must parse, text must be UTF-8).")),
            EmptyFile => (StatusCode::BAD_REQUEST, "empty_file", "Empty file", s("The `file` part has no bytes."), s("Upload a file with at least one byte.")),
            InvalidMultipart(d) => (StatusCode::BAD_REQUEST, "invalid_multipart", "Invalid multipart body", d.clone(), s("Send multipart/form-data with a `file` part (with a filename and Content-Type) and an optional `metadata` JSON part.")),
            InvalidFilename => (StatusCode::BAD_REQUEST, "invalid_filename", "Invalid filename", s("A part header holds a raw control character, such as a control byte in the file's name."), s("Rename the file without control characters (tabs, line breaks, escape codes) and upload it again.")),
            InvalidMetadata(d) => (StatusCode::BAD_REQUEST, "invalid_metadata", "Invalid metadata", d.clone(), s("Send `metadata` as a JSON object with optional `title` (string), `description` (string) and `tags` (array of strings).")),
            MissingToken => (StatusCode::UNAUTHORIZED, "missing_token", "Authentication required", s("The request has no Authorization header."), s("Send `Authorization: Bearer <token>`; POST /api/v1/stream/auth/anon gives an anonymous token.")),
            InvalidToken(why) => (StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token", format!("The bearer token was refused: {why}."), s("Obtain a fresh token (HS256, aud \"authenticated\", UUID sub) and send it as `Authorization: Bearer <token>`.")),
            NotFound => (StatusCode::NOT_FOUND, "not_found", "Not found", s("No resource with this id exists for the caller."), s("Check the id; list your resources to find valid ids.")),
            RouteNotFound => (StatusCode::NOT_FOUND, "not_found", "Not found", s("No route matches this path."), s("Check the path against /openapi.json.")),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed", s("This route does not accept this HTTP method."), s("Use one of the methods listed in the Allow header (see /openapi.json).")),
            PayloadTooLarge(limit) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large", format!("The file or request body exceeds the limit of {limit} bytes."), format!("Send at most {limit} bytes (for uploads the limit counts the file's bytes).")),
            UnsupportedMediaType(expected) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type", format!("This route expects a body of type {expected}."), format!("Send the body with `Content-Type: {expected}`.")),
            RateLimited(wait) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests", s("The hourly request limit is used up."), format!("Wait {wait} seconds before retrying (see Retry-After).")),
            RateLimiterUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "rate_limiter_unavailable", "Rate limiter unavailable", s("The rate limiter cannot be reached, so the request was not admitted."), s("Retry after the number of seconds in Retry-After.")),
            DatabaseUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "Database unavailable", s("The database cannot be reached right now."), s("Retry after the number of seconds in Retry-After.")),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal error", s("The server failed to handle the request."), s("Retry later; if it persists, report the request_id to the operators.")),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            // Don't expose any details about the error to the client: log them here.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let (status, code, title, detail, suggestion) = self.parts();
        let mut res = problem_response(status, code, title, detail, suggestion);
        let h = res.headers_mut();
        match &self {
            AppError::MissingToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"knowledge\""),
                );
            }
            AppError::InvalidToken(why) => {
                let v = format!("Bearer realm=\"knowledge\", error=\"invalid_token\", error_description=\"{why}\"");
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            AppError::RateLimited(wait) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from((*wait).max(1)));
            }
            AppError::RateLimiterUnavailable | AppError::DatabaseUnavailable => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_never_echo_their_cause() {
        let err = AppError::Internal(anyhow::anyhow!("password=hunter2 at /var/lib/x"));
        let res = REQUEST_ID
            .scope("rid-1".into(), async { err.into_response() })
            .await;
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("/var/lib"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], "internal_error");
        assert_eq!(v["request_id"], "rid-1");
    }

    #[test]
    fn invalid_token_carries_the_bearer_challenge() {
        let res = AppError::InvalidToken("token expired").into_response();
        assert_eq!(
            res.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"knowledge\", error=\"invalid_token\", error_description=\"token expired\""
        );
    }

    #[test]
    fn rate_limited_has_retry_after_of_at_least_one() {
        let res = AppError::RateLimited(0).into_response();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    }
}
