//! RFC 9457 problem responses. Each server writes its own body (the reference server's has a
//! `code`, a `suggestion` and the request id; `gonogo serve`'s a one-sentence `detail`); this
//! sends it with the right content type, and turns the bare error responses axum makes itself
//! into the server's problems, so that every refusal reads the same.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The problem-details media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `body` (a serialized problem) as a response with `status` and [`PROBLEM_JSON`].
pub fn problem_json(status: StatusCode, body: impl Into<Vec<u8>>) -> Response {
    let mut res = (status, body.into()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

/// Whether a response's body was written on purpose: a problem, or another `application/…`
/// body such as the JSON of a readiness probe's 503. Axum's own rejections are `text/plain`
/// or bodiless.
pub fn is_deliberate(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/"))
}

/// An error response that is not [deliberate](is_deliberate) becomes `problem(status)`, with
/// the status and the headers of the original (Allow, Retry-After, WWW-Authenticate, ...) but
/// its own body and content type. Success and deliberate responses pass unchanged.
pub fn problemize(res: Response, problem: impl FnOnce(StatusCode) -> Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_deliberate(&res) {
        return res;
    }
    let (parts, _body) = res.into_parts();
    let mut out = problem(status);
    *out.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replacement(status: StatusCode) -> Response {
        problem_json(
            StatusCode::IM_A_TEAPOT,
            format!("{{\"status\":{}}}", status.as_u16()),
        )
    }

    #[test]
    fn bare_errors_become_problems_keeping_status_and_headers() {
        let bare = (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET")],
            "text",
        )
            .into_response();
        let res = problemize(bare, replacement);
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(res.headers()[header::ALLOW], "GET");
    }

    #[test]
    fn successes_and_deliberate_bodies_pass_unchanged() {
        let ok = problemize("fine".into_response(), replacement);
        assert_eq!(ok.status(), StatusCode::OK);
        let ready = (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response();
        let kept = problemize(ready, replacement);
        assert_eq!(kept.headers()[header::CONTENT_TYPE], "application/json");
        let problem = problemize(problem_json(StatusCode::CONFLICT, "{}"), |_| {
            unreachable!("a problem is kept")
        });
        assert_eq!(problem.status(), StatusCode::CONFLICT);
    }
}
