//! Extractors that wrap axum's own and turn every rejection into an [`AppError`] problem, so
//! malformed input is always a 4xx with a code and a suggestion.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;

use crate::error::AppError;

/// `axum::Json` with problem rejections; the body must be a JSON object (serde would otherwise
/// accept an array for a struct, field by position).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(AppError::InvalidJson(
                "The body must be a JSON object.".into(),
            ));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            AppError::InvalidJson(format!(
                "The JSON body has the wrong shape: {}",
                e.to_string().chars().take(200).collect::<String>()
            ))
        })
    }
}

/// `axum::extract::Path` with problem rejections (a bad id is `invalid_id`).
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with problem rejections.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

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
            JsonRejection::JsonDataError(e) => {
                // serde's message names the field and the expected type; it carries no server
                // internals, only the client's own input shape.
                AppError::InvalidJson(format!(
                    "The JSON body has the wrong shape: {}",
                    serde_reason(&e.body_text())
                ))
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge(crate::JSON_BODY_LIMIT as u64)
            }
            _ => AppError::InvalidJson("The body could not be read.".into()),
        }
    }
}

/// Keeps the part of a serde error after axum's prefix ("missing field `query` at line 1 column 2").
fn serde_reason(text: &str) -> String {
    let reason = text.rsplit(": ").next().unwrap_or(text);
    reason.chars().take(200).collect()
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::InvalidId
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::InvalidQuery(format!(
            "The query string is invalid: {}",
            serde_reason(&r.body_text())
        ))
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

    #[test]
    fn serde_reason_keeps_only_the_field_message() {
        let t = "Failed to deserialize the JSON body into the target type: missing field `query` at line 1 column 2";
        assert_eq!(serde_reason(t), "missing field `query` at line 1 column 2");
    }
}
