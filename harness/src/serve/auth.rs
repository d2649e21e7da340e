//! The bearer token. Flagger cannot send headers (fluxcd/flagger#1192), so
//! its webhooks may carry the token as `metadata.token` instead; every other
//! route takes it from `Authorization: Bearer` only, as the [`Authorized`]
//! extractor: a handler that takes it cannot forget the check.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use super::{Problem, State};

/// Proof that the request carried this server's token in `Authorization: Bearer`.
#[derive(Debug, Clone, Copy)]
pub struct Authorized;

impl FromRequestParts<Arc<State>> for Authorized {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Problem> {
        check(&state.settings.token, &parts.headers, None).map(|()| Authorized)
    }
}

/// Compares without stopping at the first differing byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Admits the request when the header (or, for Flagger, `metadata_token`) holds the token.
pub fn check(
    expected: &str,
    headers: &HeaderMap,
    metadata_token: Option<&str>,
) -> Result<(), Problem> {
    let given = gonogo_plumbing::bearer(headers).ok().or(metadata_token);
    match given {
        Some(t) if same(t, expected) => Ok(()),
        Some(_) => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "wrong token",
            "the bearer token is not this server's; use the token in GONOGO_SERVE_TOKEN",
        )),
        None => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "missing token",
            "this route needs Authorization: Bearer <token> (Flagger webhooks: metadata.token)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn only_the_exact_token_passes() {
        let t = "0123456789abcdef0123";
        assert!(check(t, &headers(&format!("Bearer {t}")), None).is_ok());
        assert!(check(t, &headers(&format!("bearer {t}")), None).is_ok());
        assert!(check(t, &HeaderMap::new(), Some(t)).is_ok());
        for wrong in [&t[..19], "0123456789abcdef0124", ""] {
            let p = check(t, &headers(&format!("Bearer {wrong}")), None).unwrap_err();
            assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        }
        assert_eq!(
            check(t, &headers(&format!("Basic {t}")), None)
                .unwrap_err()
                .title,
            "missing token"
        );
        assert_eq!(
            check(t, &HeaderMap::new(), None).unwrap_err().title,
            "missing token"
        );
    }
}
