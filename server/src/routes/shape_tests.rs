//! The request shapes' sentences (`crate::shape`), on the routes' own body and query types.

use serde_json::Value;

use crate::error::AppError;
use crate::routes::files::ListFilesQuery;
use crate::routes::memory::{ListMemoryQuery, NewMemory};
use crate::routes::search::SearchRequest;
use crate::shape::{from_json, from_query, Shape};

fn body<T: Shape>(json: &str) -> Result<T, String> {
    let Value::Object(map) = serde_json::from_str(json).unwrap() else {
        panic!("not an object: {json}")
    };
    from_json::<T>(map).map_err(detail)
}

fn detail(e: AppError) -> String {
    match e {
        AppError::InvalidJson(d) | AppError::InvalidQuery(d) => d,
        other => panic!("unexpected {other:?}"),
    }
}

/// The issue's examples: each answer names the field and what it must be.
#[test]
fn each_misfit_is_named_in_our_words() {
    let search = |j| body::<SearchRequest>(j).map(|_| ()).unwrap_err();
    assert_eq!(
        search(r#"{"query": 123}"#),
        "`query` must be a string of 1–512 characters, not blank."
    );
    assert_eq!(
        search(r#"{"query": "a", "owner_id": "x"}"#),
        "The field `owner_id` is not one this route takes; it takes only `query` and `limit`."
    );
    assert_eq!(
        search(r#"{"query": "a", "limit": 1e+23}"#),
        "`limit` must be a whole number from 1 to 50 (10 when left out)."
    );
    assert_eq!(
        search(r#"{"limit": 5}"#),
        "The field `query` is required: it must be a string of 1–512 characters, not blank."
    );
    assert_eq!(
        search(r#"{"query": "a", "a b/c": 1}"#),
        "The field given is not one this route takes; it takes only `query` and `limit`."
    );
    let memory = |j| body::<NewMemory>(j).map(|_| ()).unwrap_err();
    assert!(memory(
        r#"{"session_id":"s","role":"user","content":"c","expires_at":"99999-01-01T00:00:00Z"}"#
    )
    .starts_with("`expires_at` must be an RFC 3339 date-time"));
    assert_eq!(
        memory(r#"{"session_id":"s","role":"robot","content":"c"}"#),
        "`role` must be one of `user`, `assistant`, `system`, `tool`."
    );
    assert!(
        memory(r#"{"session_id":"s","role":"user","content":"c","tags":["a", 1]}"#)
            .starts_with("`tags` must be an array of at most 32 tags")
    );
}

#[test]
fn query_strings_are_named_in_our_words() {
    let list = |q| {
        from_query::<ListFilesQuery>(Some(q))
            .map(|_| ())
            .map_err(detail)
            .unwrap_err()
    };
    let limit = "`limit` must be a whole number from 1 to 100 (50 when left out).";
    assert_eq!(list("limit=abc"), limit);
    assert_eq!(list("limit=99999999999999999999"), limit);
    assert_eq!(list("limit="), limit);
    assert_eq!(
        list("limit=1&limit=2"),
        "The query parameter `limit` is given more than once; give each at most once."
    );
    assert_eq!(
        list("owner_id=x"),
        "The query parameter `owner_id` is not one this route takes; it takes only `limit` and `cursor`."
    );
    let ok = from_query::<ListFilesQuery>(Some("limit=7&cursor=abc")).unwrap();
    assert_eq!((ok.limit, ok.cursor.as_deref()), (Some(7), Some("abc")));
    assert!(from_query::<ListMemoryQuery>(None).is_ok());
}
