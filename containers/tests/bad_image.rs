//! An explicitly named image that exists nowhere fails in one clear sentence
//! and is never replaced by a default. Its own test binary, because it sets
//! `SMOKE_POSTGRES_IMAGE` for the whole process.

mod common;

use gonogo_containers::{Stack, StackError};

#[tokio::test]
async fn an_explicit_image_that_cannot_be_found_or_pulled_fails_in_one_sentence() {
    let image = "gonogo-missing/postgres:does-not-exist";
    std::env::set_var("SMOKE_POSTGRES_IMAGE", image);
    let err = Stack::start()
        .await
        .expect_err("must not start with a missing explicit image");
    assert!(
        matches!(&err, StackError::ExplicitImageMissing { image: i, var: "SMOKE_POSTGRES_IMAGE" } if i == image),
        "{err:?}"
    );
    let message = err.to_string();
    assert_eq!(
        message,
        "image gonogo-missing/postgres:does-not-exist (from SMOKE_POSTGRES_IMAGE) is not present \
         locally and cannot be pulled; build or load it (docker pull / docker load), or unset \
         SMOKE_POSTGRES_IMAGE to use the default"
    );
    assert!(!message.contains('\n'));
    assert!(common::containers_of_session(Stack::session_id()).is_empty());
}
