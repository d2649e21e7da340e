//! Mutants that only generated inputs catch: each is right on the fixed examples of its
//! clause and wrong on a shape the generator draws every run (`gonogo_suites::check::generated`).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{from_fn, Next};
use axum::response::Response;

use super::knowledge::sent_filename_kept;
use super::{broken, partial, Mutant};

pub fn all() -> Vec<Mutant> {
    vec![
        partial(
            "a bad character past the 64th of a request id: the fixed examples fail early",
            broken(
                "request_id_checked_on_its_first_64_characters",
                &["headers.request-id.echo"],
                vec!["gate_3::x_request_id_echoed"],
                |r, _| r.layer(from_fn(request_id_first_64_checked)),
            ),
        ),
        partial(
            "a valid request id longer than 64 characters: the fixed examples are shorter",
            broken(
                "request_id_echoed_up_to_64_characters_only",
                &["headers.request-id.echo"],
                vec!["gate_3::x_request_id_echoed"],
                |r, _| r.layer(from_fn(request_id_up_to_64_echoed)),
            ),
        ),
        partial(
            "a separator past the first 64 bytes of the name: every fixed example has one before",
            broken(
                "filename_separators_sought_in_the_first_64_bytes_only",
                &["files.filename"],
                vec!["uploads::filenames_are_reduced_to_a_safe_last_segment"],
                |r, _| r.layer(from_fn(separators_in_the_first_64_bytes)),
            ),
        ),
    ]
}

fn id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-".contains(&b)
}

/// Echoes an inbound X-Request-ID of at most 128 bytes whose first 64 are valid, whatever
/// follows (a check on a fixed-size prefix).
async fn request_id_first_64_checked(req: Request, next: Next) -> Response {
    let inbound = req.headers().get("x-request-id").cloned();
    let mut res = next.run(req).await;
    if let Some(id) = inbound {
        let b = id.as_bytes();
        if (1..=128).contains(&b.len()) && b.iter().take(64).all(|&c| id_char(c)) {
            res.headers_mut().insert("x-request-id", id);
        }
    }
    res
}

/// Replaces a valid inbound X-Request-ID longer than 64 characters with a fresh UUID (a
/// column or buffer sized for 64).
async fn request_id_up_to_64_echoed(req: Request, next: Next) -> Response {
    let long = req
        .headers()
        .get("x-request-id")
        .is_some_and(|id| id.len() > 64);
    let mut res = next.run(req).await;
    if long {
        let fresh = uuid::Uuid::new_v4().to_string();
        res.headers_mut().insert(
            "x-request-id",
            HeaderValue::from_str(&fresh).expect("a UUID is a header value"),
        );
    }
    res
}

/// Reduces a name only when a separator sits in its first 64 bytes (as a check on a
/// fixed-size prefix would); otherwise keeps it whole, separators and all.
async fn separators_in_the_first_64_bytes(req: Request, next: Next) -> Response {
    sent_filename_kept(req, next, |raw| {
        let early = raw.bytes().take(64).any(|b| b == b'/' || b == b'\\');
        (!early && raw.contains(['/', '\\'])).then(|| raw.to_owned())
    })
    .await
}
