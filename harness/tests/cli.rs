//! The `gonogo` binary's usage and infrastructure errors: exit code 3 and one
//! clear sentence, never a stack of library errors.

use std::process::{Command, Output};

fn gonogo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(args)
        .env_remove("SMOKE_TARGET_URL")
        .env_remove("SMOKE_JWT_SECRET")
        .env_remove("SMOKE_R1_BASELINE")
        .env_remove("SMOKE_DATABASE_URL")
        .env_remove("SMOKE_ACCEPT_API_ONLY_ISOLATION");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the gonogo binary runs")
}

/// Exit code and the one line on stderr.
fn failure(out: &Output) -> (Option<i32>, String) {
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    (out.status.code(), err)
}

#[test]
fn an_unreachable_target_exits_3_with_one_sentence() {
    let (code, err) = failure(&gonogo(&["run", "--target", "http://127.0.0.1:9"], &[]));
    assert_eq!(code, Some(3));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("gonogo: the target http://127.0.0.1:9 is unreachable"),
        "{err}"
    );
    assert!(
        err.ends_with("check the URL and that the server is running"),
        "{err}"
    );
}

#[test]
fn a_non_http_target_exits_3() {
    let (code, err) = failure(&gonogo(&["run", "--target", "ftp://example.com"], &[]));
    assert_eq!((code, err.as_str()), (Some(3), "gonogo: the target URL \"ftp://example.com\" is not an http(s) URL; pass e.g. --target https://api.example.com"));
}

#[test]
fn an_unknown_report_format_exits_3() {
    let (code, err) = failure(&gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--format",
            "json,pdf",
        ],
        &[],
    ));
    assert_eq!(
        (code, err.as_str()),
        (
            Some(3),
            "gonogo: unknown report format `pdf`: use json, md, junit, html or github"
        )
    );
}

#[test]
fn a_named_baseline_that_does_not_exist_exits_3() {
    let (code, err) = failure(&gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--r1-baseline",
            "/nonexistent/r1.json",
        ],
        &[],
    ));
    assert_eq!(code, Some(3));
    assert!(
        err.starts_with("gonogo: the R1 baseline /nonexistent/r1.json cannot be read"),
        "{err}"
    );
}

#[test]
fn an_unknown_flag_is_a_usage_error_not_inconclusive() {
    let out = gonogo(&["run", "--targett", "x"], &[]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn docker_missing_exits_3_with_one_sentence() {
    let (code, err) = failure(&gonogo(
        &["run"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    ));
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("gonogo: the hermetic run could not start its containers or server"),
        "{err}"
    );
}

#[test]
fn help_exits_0() {
    let out = gonogo(&["run", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--report-dir"));
}

#[test]
fn an_unreachable_database_exits_3_with_one_sentence_and_never_shows_the_url() {
    let url = "postgres://app:pw-not-to-print@127.0.0.1:9/knowledge";
    let (code, err) = failure(&gonogo(
        &["run", "--target", "http://127.0.0.1:9"],
        &[("SMOKE_DATABASE_URL", url)],
    ));
    assert_eq!(code, Some(3));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("gonogo: the database is unreachable with the given --database-url (I/O)"),
        "{err}"
    );
    assert!(
        !err.contains("pw-not-to-print") && !err.contains("127.0.0.1:9/"),
        "{err}"
    );
}

#[test]
fn a_database_url_that_is_not_postgres_exits_3() {
    let (code, err) = failure(&gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--database-url",
            "mysql://u:secretpw@h/d",
        ],
        &[],
    ));
    assert_eq!(code, Some(3));
    assert!(
        err.starts_with("gonogo: the database URL is not a PostgreSQL URL"),
        "{err}"
    );
    assert!(!err.contains("secretpw"), "{err}");
}

#[test]
fn an_empty_waiver_reason_exits_3() {
    let (code, err) = failure(&gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--accept-api-only-isolation",
            " ",
        ],
        &[],
    ));
    assert_eq!(code, Some(3));
    assert!(err.contains("give the reason"), "{err}");
}
