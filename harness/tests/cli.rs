//! The `gonogo` binary's usage and infrastructure errors: exit code 3 and one
//! clear sentence, never a stack of library errors. And `gonogo contract`,
//! whose output `docs/CONTRACT.md` is:
//! `GONOGO_UPDATE_CONTRACT=1 cargo test -p gonogo-harness --test cli` rewrites it.

use std::process::{Command, Output};

fn gonogo(args: &[&str], env: &[(&str, &str)]) -> Output {
    gonogo_in(None, args, env)
}

/// `gonogo args` in `dir` (default: the package's), with only `env` of gonogo's variables set.
fn gonogo_in(dir: Option<&std::path::Path>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(args);
    for setting in gonogo_harness::config::SETTINGS {
        for name in setting.env {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("GONOGO_CONFIG")
        .env_remove("GONOGO_CANARY_PLAN");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the gonogo binary runs")
}

#[test]
fn gonogo_config_shows_the_flag_winning_and_names_every_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gonogo.toml"),
        "# pinned by the team\n[run]\ntarget = \"http://from-file:8080\"\n\n[serve]\ntoken = \"file-token-0123456789\"\n",
    )
    .unwrap();
    let out = gonogo_in(
        Some(dir.path()),
        &["config", "--target", "http://from-flag:8080"],
        &[
            ("GONOGO_TARGET", "http://from-env:8080"),
            ("SMOKE_JWT_SECRET", "env-secret-0123456789"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
    };
    let file = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("gonogo.toml");
    let file_shown = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("configuration file: "))
        .and_then(|l| l.strip_suffix(" (found in the working directory)"))
        .unwrap_or_else(|| panic!("first line: {text}"))
        .to_owned();
    assert_eq!(std::fs::canonicalize(&file_shown).unwrap(), file);
    assert_eq!(
        row("run.target"),
        format!("run.target \"http://from-flag:8080\" flag --target (overrides env GONOGO_TARGET, {file_shown} line 3)")
    );
    assert_eq!(
        row("run.jwt_secret"),
        "run.jwt_secret ******** (set) env SMOKE_JWT_SECRET (older name of GONOGO_JWT_SECRET)"
    );
    assert_eq!(
        row("serve.token"),
        format!("serve.token ******** (set) {file_shown} line 6")
    );
    assert!(
        !text.contains("0123456789"),
        "a secret was printed:\n{text}"
    );
}

#[test]
fn a_typo_in_gonogo_toml_exits_3_with_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gonogo.toml"),
        "[thresholds]\np95_ms = 300\nsucess_rate = 0.995\n",
    )
    .unwrap();
    for args in [&["config"][..], &["run"][..]] {
        let (code, err) = failure(&gonogo_in(Some(dir.path()), args, &[]));
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.ends_with("gonogo.toml line 3: unknown key `thresholds.sucess_rate` (did you mean `thresholds.success_rate`?); [thresholds] has p95_ms, success_rate, min_samples"),
            "{err}"
        );
    }
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
fn a_jwt_secret_shorter_than_16_characters_exits_3_before_anything_starts() {
    // Before, `x` reached the run and the report's last pass masked it out of
    // the key `expected`: "cannot serialise the report", and no decision.
    let (code, err) = failure(&gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--jwt-secret",
            "short-secret",
        ],
        &[],
    ));
    assert_eq!(
        (code, err.as_str()),
        (Some(3), "gonogo: run.jwt_secret (flag --jwt-secret) is shorter than 16 characters: pass the target's real HS256 secret (the reference server requires 32 bytes)")
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
            "gonogo: report.formats = [\"json\", \"pdf\"] (flag --format): unknown report format `pdf`: use json, md, junit, html or github"
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

#[test]
fn gonogo_contract_prints_the_contract_and_docs_contract_md_is_that_output() {
    let out = gonogo(&["contract"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", failure(&out).1);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, gonogo_suites::contract::text::markdown());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CONTRACT.md");
    if std::env::var_os("GONOGO_UPDATE_CONTRACT").is_some() {
        std::fs::write(&path, &printed).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "docs/CONTRACT.md is stale: run GONOGO_UPDATE_CONTRACT=1 cargo test -p gonogo-harness --test cli"
    );
}

#[test]
fn gonogo_contract_as_json_gives_every_clause_its_level_words_and_freedoms() {
    use gonogo_suites::contract::{CLAUSES, FREEDOMS};
    let out = gonogo(&["contract", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", failure(&out).1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "1.1");
    let clauses = v["clauses"].as_array().unwrap();
    assert_eq!(clauses.len(), CLAUSES.len());
    for (json, c) in clauses.iter().zip(CLAUSES) {
        assert_eq!(json["id"], c.id);
        assert_eq!(json["section"], c.section);
        assert_eq!(json["level"], c.level.as_str());
        assert_eq!(json["words"], c.words());
        let freedoms: Vec<&str> = FREEDOMS
            .iter()
            .filter(|f| f.clause == c.id)
            .map(|f| f.id)
            .collect();
        let listed: Vec<&str> = json["freedoms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, freedoms, "{}", c.id);
    }

    let (code, err) = failure(&gonogo(&["contract", "--format", "yaml"], &[]));
    assert_eq!(code, Some(3));
    assert!(err.contains("'yaml'"), "{err}");
}
