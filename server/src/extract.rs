//! Extractors that wrap axum's own and turn every rejection into an [`AppError`] problem, so
//! malformed input is always a 4xx with a code and a suggestion; and the [`Claims`] extractor,
//! which only reads what the tenant guard verified and counted.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::auth::Claims;
use crate::error::AppError;
use crate::shape::Shape;

/// The caller's claims, as [`crate::guard::authenticate`] verified them and counted the request.
/// Fails closed: on a route outside the guard there are none, and the request is refused
/// (500, logged) rather than authenticated here without being rate-limited.
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts.extensions.get::<Claims>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "a handler taking Claims is mounted outside the tenant guard ({})",
                parts.uri.path()
            ))
        })
    }
}

/// `axum::Json` with problem rejections; the body must be a JSON object (serde would otherwise
/// accept an array for a struct, field by position), and a body that does not fit `T` is
/// refused in our own words ([`crate::shape`]).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: Shape> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        let serde_json::Value::Object(object) = value else {
            return Err(AppError::InvalidJson(
                "The body must be a JSON object.".into(),
            ));
        };
        crate::shape::from_json(object).map(ApiJson)
    }
}

/// Reads an optional integer that JSON may spell `10` or `10.0`: JSON Schema's `integer` is any
/// number without a fractional part, so the spec's `"type": "integer"` admits both.
pub fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Deserialize, Error, Unexpected};
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    // -2^63 is exact in f64, 2^63 is the first value past i64::MAX.
    const BOUND: f64 = 9_223_372_036_854_775_808.0;
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (-BOUND..BOUND).contains(&f) => Ok(Some(f as i64)),
        Some(f) => Err(D::Error::invalid_value(Unexpected::Float(f), &"an integer")),
        None => Err(D::Error::custom("expected an integer")),
    }
}

/// `axum::extract::Path` with problem rejections (a bad id is `invalid_id`).
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// The query string as `T`, refused in our own words when it does not fit ([`crate::shape`]).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: Shape> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        crate::shape::from_query(parts.uri.query()).map(ApiQuery)
    }
}

/// `axum::extract::Multipart` with problem rejections.
pub struct ApiMultipart(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(AppError::from)
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                AppError::UnsupportedMediaType("application/json")
            }
            JsonRejection::JsonSyntaxError(_) => {
                AppError::InvalidJson("The body is not valid JSON.".into())
            }
            // Only reached for a body read as a Value, which any JSON is; never the library's words.
            JsonRejection::JsonDataError(_) => {
                AppError::InvalidJson("The body must be a JSON object.".into())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge(crate::JSON_BODY_LIMIT as u64)
            }
            _ => AppError::InvalidJson("The body could not be read.".into()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::InvalidId
    }
}

impl From<MultipartRejection> for AppError {
    fn from(_: MultipartRejection) -> Self {
        AppError::UnsupportedMediaType("multipart/form-data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    /// A route that takes `Claims` but was mounted without the guard: even a well-formed
    /// bearer token does not authenticate it.
    #[tokio::test]
    async fn claims_outside_the_guard_fail_closed() {
        let app =
            axum::Router::new().route("/x", get(|c: Claims| async move { c.sub.to_string() }));
        let keys = crate::auth::JwtKeys::new("0123456789abcdef0123456789abcdef-test");
        let now = crate::auth::now_secs();
        let token = keys.sign(&serde_json::json!({"sub": uuid::Uuid::new_v4().to_string(), "aud": "authenticated", "exp": now + 60}));
        let req = Request::get("/x")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn integers_may_be_spelled_as_integral_floats() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "integral")]
            limit: Option<i64>,
        }
        let read = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.limit);
        assert_eq!(read(r#"{"limit": 10}"#).unwrap(), Some(10));
        assert_eq!(read(r#"{"limit": 10.0}"#).unwrap(), Some(10));
        assert_eq!(read(r#"{"limit": 1e1}"#).unwrap(), Some(10));
        assert_eq!(read(r#"{"limit": -0.0}"#).unwrap(), Some(0));
        assert_eq!(read(r#"{"limit": null}"#).unwrap(), None);
        assert_eq!(read("{}").unwrap(), None);
        for bad in [
            r#"{"limit": 10.5}"#,
            r#"{"limit": 1e19}"#,
            r#"{"limit": 18446744073709551615}"#,
            r#"{"limit": "10"}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
