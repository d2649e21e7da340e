//! The bearer token of a request. What a missing or unusable token means (which status,
//! which body, which challenge) is each server's own; this only reads the header.

use axum::http::{header, HeaderMap};

/// Why a request has no usable bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No `Authorization` header.
    Missing,
    /// The header is not visible ASCII.
    Malformed,
    /// Another scheme (`Basic …`).
    NotBearer,
    /// `Bearer` with nothing after it.
    Empty,
}

impl BearerError {
    /// A short reason, fit for `WWW-Authenticate`'s `error_description`.
    pub fn reason(self) -> &'static str {
        match self {
            BearerError::Missing => "missing authorization header",
            BearerError::Malformed => "malformed authorization header",
            BearerError::NotBearer => "expected a Bearer token",
            BearerError::Empty => "empty bearer token",
        }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, token trimmed).
pub fn bearer(headers: &HeaderMap) -> Result<&str, BearerError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?;
    let value = value.to_str().map_err(|_| BearerError::Malformed)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(BearerError::Empty);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(value).unwrap(),
        );
        h
    }

    #[test]
    fn bearer_parsing_tells_each_failure_apart() {
        assert_eq!(bearer(&HeaderMap::new()), Err(BearerError::Missing));
        assert_eq!(bearer(&with(b"Bearer \xff")), Err(BearerError::Malformed));
        assert_eq!(bearer(&with(b"Basic abc")), Err(BearerError::NotBearer));
        assert_eq!(bearer(&with(b"Bearer")), Err(BearerError::Empty));
        assert_eq!(bearer(&with(b"Bearer   ")), Err(BearerError::Empty));
        assert_eq!(bearer(&with(b"bearer abc")), Ok("abc"));
        assert_eq!(bearer(&with(b"BEARER  abc ")), Ok("abc"));
    }
}
