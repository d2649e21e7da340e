//! Mutants that only generated inputs catch: each is right on the fixed examples of its
//! clause and wrong on a shape the generator draws every run (`gonogo_suites::generated`).

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;

use super::knowledge::sent_filename_kept;
use super::{broken, partial, Mutant};

pub fn all() -> Vec<Mutant> {
    vec![partial(
        "a separator past the first 64 bytes of the name: every fixed example has one before",
        broken(
            "filename_separators_sought_in_the_first_64_bytes_only",
            &["files.filename"],
            vec!["uploads::filenames_are_reduced_to_a_safe_last_segment"],
            |r, _| r.layer(from_fn(separators_in_the_first_64_bytes)),
        ),
    )]
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
