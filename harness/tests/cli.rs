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

/// stdout of a command that must succeed.
fn stdout_of(args: &[&str]) -> String {
    let out = gonogo(args, &[]);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", failure(&out).1);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn version_names_the_crate_version_and_the_commit_it_was_built_from() {
    let line = stdout_of(&["--version"]);
    let rest = line
        .strip_prefix(&format!("gonogo {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("{line:?}"));
    // What build.rs sees: the packager's GONOGO_COMMIT, else git's HEAD, else unknown.
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let expected = std::env::var("GONOGO_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or(git)
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(rest, expected, "{line:?}");
}

#[test]
fn completions_are_generated_from_the_command_line_definition() {
    let bash = stdout_of(&["completions", "bash"]);
    let top = bash
        .lines()
        .find(|l| l.contains("opts=\"-h -V"))
        .unwrap_or_else(|| panic!("no top-level completion in\n{bash}"));
    assert!(
        top.contains(" run config serve ") && top.contains(" completions man "),
        "{top}"
    );
    // The sub-command's flags, from its own case.
    let run = &bash[bash
        .find("gonogo__subcmd__run)")
        .expect("a case for `gonogo run`")..];
    let run_opts = run.lines().find(|l| l.contains("opts=")).unwrap();
    assert!(
        run_opts.contains("--target") && run_opts.contains("--latency-samples"),
        "{run_opts}"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        // fish spells a long flag `-l jwt-secret`.
        assert!(
            stdout_of(&["completions", shell]).contains("jwt-secret"),
            "{shell}"
        );
    }
    let (code, err) = failure(&gonogo(&["completions", "tcsh"], &[]));
    assert_eq!(code, Some(3));
    assert!(err.contains("'tcsh'"), "{err}");
}

#[test]
fn the_man_page_is_roff_and_names_every_command() {
    // The page opens with its header, after clap_mangen's `.ie`/`.el` definition of `\*(Aq`.
    let opening = |page: &str| {
        page.lines()
            .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
            .unwrap_or_default()
            .to_owned()
    };
    let page = stdout_of(&["man"]);
    assert!(
        opening(&page).starts_with(&format!(
            ".TH gonogo 1  \"gonogo {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{page}"
    );
    assert!(page.contains("gonogo\\-run(1)"), "{page}");
    assert!(page.contains("gonogo\\-serve(1)"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    stdout_of(&["man", "--dir", dir.path().to_str().unwrap()]);
    let run = std::fs::read_to_string(dir.path().join("gonogo-run.1")).unwrap();
    assert!(
        opening(&run).starts_with(".TH gonogo-run 1 ")
            && opening(&run).contains(env!("CARGO_PKG_VERSION")),
        "{run}"
    );
    assert!(run.contains("\\-\\-latency\\-samples"), "{run}");
    assert!(dir.path().join("gonogo-completions.1").exists());
}

#[test]
fn each_command_s_help_lists_only_what_it_uses() {
    let serve = stdout_of(&["serve", "--help"]);
    for flag in [
        "--listen",
        "--allow-target",
        "--target",
        "--jwt-secret",
        "--report-dir",
    ] {
        assert!(serve.contains(flag), "serve --help lacks {flag}:\n{serve}");
    }
    for flag in [
        "--latency-samples",
        "--format",
        "--label",
        "--max-p95-ms",
        "--quiet",
        "--verbose",
    ] {
        assert!(!serve.contains(flag), "serve --help shows {flag}:\n{serve}");
    }
    let run = stdout_of(&["run", "--help"]);
    for flag in [
        "--latency-samples",
        "--format",
        "--target",
        "--quiet",
        "--verbose",
        "--color",
    ] {
        assert!(run.contains(flag), "run --help lacks {flag}:\n{run}");
    }
    for flag in ["--listen", "--allow-target", "--rollout-step"] {
        assert!(!run.contains(flag), "run --help shows {flag}:\n{run}");
    }
    // `gonogo config` shows what either would use, so it takes every flag.
    let config = stdout_of(&["config", "--help"]);
    for flag in ["--listen", "--latency-samples", "--format", "--target"] {
        assert!(config.contains(flag), "config --help lacks {flag}");
    }
    let (code, err) = failure(&gonogo(&["serve", "--latency-samples", "5"], &[]));
    assert_eq!(code, Some(3), "{err}");
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let help = |args: &[&str], env: &[(&str, &str)]| {
        let out = gonogo(args, env);
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let esc = '\u{1b}';
    assert!(help(&["--color", "always", "run", "--help"], &[]).contains(esc));
    assert!(help(&["run", "--help", "--color=always"], &[("NO_COLOR", "1")]).contains(esc));
    assert!(!help(&["--color", "never", "run", "--help"], &[]).contains(esc));
    // Auto: stdout is a pipe here.
    assert!(!help(&["run", "--help"], &[]).contains(esc));
    let (code, err) = failure(&gonogo(&["--color", "pink", "run"], &[]));
    assert_eq!(code, Some(3));
    assert!(err.contains("'pink'"), "{err}");
}

#[test]
fn verbose_shows_the_phases_quiet_nothing_and_not_both() {
    let run = |flag: &str| {
        failure(&gonogo(
            &["run", flag, "--target", "http://127.0.0.1:9"],
            &[],
        ))
    };
    let (code, err) = run("-v");
    assert_eq!(code, Some(3));
    assert_eq!(
        err.lines().next(),
        Some("gonogo: checking the target answers"),
        "{err}"
    );
    assert!(
        err.lines()
            .nth(1)
            .unwrap_or_default()
            .contains("is unreachable"),
        "{err}"
    );
    let (code, err) = run("-q");
    assert_eq!(code, Some(3));
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, err) = failure(&gonogo(&["run", "-q", "-v"], &[]));
    assert_eq!(code, Some(3));
    assert!(err.contains("cannot be used with"), "{err}");
}

/// A server that answers every request with 404 and no body, on a random port.
fn answering_404() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let _ = reader
                    .by_ref()
                    .take(length as u64)
                    .read_to_end(&mut Vec::new());
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            });
        }
    });
    url
}

#[test]
fn a_verbose_run_shows_each_phase_case_and_exchange_but_no_token() {
    let target = answering_404();
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().to_str().unwrap();
    let args = |extra: &str| {
        let mut a = vec!["run", "--target", &target, "--report-dir", report_dir];
        a.extend(["--jwt-secret", "a-secret-of-at-least-32-characters!!"]);
        a.extend(["--latency-samples", "80", extra]);
        a.retain(|a| !a.is_empty());
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |extra: &str| {
        let a = args(extra);
        gonogo(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    let out = run("-v");
    assert_eq!(out.status.code(), Some(1), "{}", failure(&out).1);
    let err = String::from_utf8(out.stderr).unwrap();
    // The latency phase sends its searches only once its seed uploads worked: not here.
    let phases: Vec<&str> = err.lines().filter(|l| l.starts_with("gonogo: ")).collect();
    assert_eq!(
        phases,
        [
            "gonogo: checking the target answers",
            "gonogo: suites",
            "gonogo: final scans",
            "gonogo: writing reports",
        ],
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("go-no-go.json")).unwrap()).unwrap();
    let cases = err
        .lines()
        .filter(|l| {
            ["pass ", "FAIL ", "warn ", "skip "]
                .iter()
                .any(|m| l.starts_with(m))
        })
        .count();
    let rows = |section: &str, key: &str| -> usize {
        report[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[key].as_array().unwrap().len())
            .sum()
    };
    // One line per case, each case once: as many as the report has rows.
    assert_eq!(
        cases,
        rows("suites", "cases") + rows("gates", "checks"),
        "{err}"
    );
    let exchanges: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(exchanges.len() > cases, "{err}");
    for line in &exchanges {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words.len() == 5 && words[1].starts_with('/') && words[2] == "404" && words[4] == "ms",
            "{line}"
        );
        assert!(!words[1].contains('?'), "{line}");
    }
    for secret in ["a-secret-of-at-least", "Bearer", "eyJ"] {
        assert!(!err.contains(secret), "{secret} on stderr");
    }
    // Not a terminal and no -v: stderr stays empty, stdout has the verdict.
    let out = run("");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gonogo: NO-GO"));
}

#[test]
fn gonogo_config_shows_where_the_contract_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = gonogo_in(
        Some(dir.path()),
        &["config"],
        &[("GONOGO_CONTRACT", "contracts/v1.md")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("attest.contract "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(
        row.as_deref(),
        Some("attest.contract \"contracts/v1.md\" env GONOGO_CONTRACT"),
        "{text}"
    );
}
