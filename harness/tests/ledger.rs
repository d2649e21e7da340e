//! The ledger through the `gonogo` binary: `can-i-deploy` for each reason it
//! refuses and for yes, `record-deployment`, `history`, and `ledger verify` /
//! `ledger head` on a ledger the binary wrote and an intruder then edited.

use std::path::Path;
use std::process::{Command, Output};

use gonogo_ledger::{EntryKind, Ledger, NewEntry};

/// `gonogo args` in `dir`, with none of gonogo's variables from the caller's environment.
fn gonogo(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(args).current_dir(dir);
    for setting in gonogo_harness::config::SETTINGS {
        for name in setting.env {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("GONOGO_CONFIG")
        .env_remove("GONOGO_CANARY_PLAN");
    cmd.output().expect("the gonogo binary runs")
}

fn stdout(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A deployment commit as `gonogo attest` requires one.
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

const CONFIG: &str = r#"
[report]
dir = "out"

[signoff]
required_roles = ["Tech Lead", "Security"]

[environments.production]
require_attestation = true

[environments.staging]
required_roles = ["Tech Lead"]
"#;

/// A directory with `gonogo.toml` and a ledger (with its default key) in `out/`.
async fn workspace() -> (tempfile::TempDir, Ledger, ed25519_dalek::SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gonogo.toml"), CONFIG).unwrap();
    let out = dir.path().join("out");
    let files = gonogo_reports::signoff::keygen(&out, "ledger").unwrap();
    let key = gonogo_reports::signoff::load_signing_key(&files.private_key).unwrap();
    let ledger = Ledger::open_file(&out.join("ledger.sqlite")).await.unwrap();
    (dir, ledger, key)
}

struct Recorder<'a> {
    ledger: &'a Ledger,
    key: &'a ed25519_dalek::SigningKey,
}

impl Recorder<'_> {
    async fn run(&self, run_id: &str, commit: &str, env: &str, verdict: &str) {
        let mut e = NewEntry::new(EntryKind::Run);
        e.run_id = Some(run_id.into());
        e.commit = Some(commit.into());
        e.environment = Some(env.into());
        e.outcome = Some(verdict.into());
        self.ledger.append(self.key, e).await.unwrap();
    }

    async fn signoff(&self, run_id: &str, role: &str) {
        let mut e = NewEntry::new(EntryKind::Signoff);
        e.run_id = Some(run_id.into());
        e.role = Some(role.into());
        e.signer = Some("someone".into());
        self.ledger.append(self.key, e).await.unwrap();
    }

    async fn attestation(&self, run_id: &str, result: &str) {
        let mut e = NewEntry::new(EntryKind::Attestation);
        e.run_id = Some(run_id.into());
        e.outcome = Some(result.into());
        e.attestation_digest = Some("sha256:00".into());
        self.ledger.append(self.key, e).await.unwrap();
    }
}

fn ask(dir: &Path, commit: &str, to: &str) -> (Option<i32>, String) {
    let out = gonogo(dir, &["can-i-deploy", "--commit", commit, "--to", to]);
    (out.status.code(), stdout(&out))
}

#[tokio::test]
async fn can_i_deploy_says_yes_only_for_a_latest_go_approved_and_attested_run() {
    let (dir, ledger, key) = workspace().await;
    let r = Recorder {
        ledger: &ledger,
        key: &key,
    };
    // c1: GO, then a later run NO-GO: the latest counts.
    r.run("run-1a", "c1", "production", "GO").await;
    r.run("run-1b", "c1", "production", "NO-GO").await;
    // c2: GO, only the Tech Lead signed.
    r.run("run-2", "c2", "production", "GO").await;
    r.signoff("run-2", "Tech Lead").await;
    // c3: GO, approved, not attested (production requires it; a FAILED one does not count).
    r.run("run-3", "c3", "production", "GO").await;
    r.signoff("run-3", "tech lead").await;
    r.signoff("run-3", "Security").await;
    r.attestation("run-3", "FAILED").await;
    // c4: GO, approved, attested.
    r.run("run-4", "c4", "production", "GO").await;
    r.signoff("run-4", "Tech Lead").await;
    r.signoff("run-4", "Security").await;
    r.attestation("run-4", "PASSED").await;
    // c5: staging needs only the Tech Lead and no attestation.
    r.run("run-5", "c5", "staging", "GO").await;
    r.signoff("run-5", "Tech Lead").await;
    // c6: an approved, attested run, then a newer GO run nobody signed.
    r.run("run-6a", "c6", "production", "GO").await;
    r.signoff("run-6a", "Tech Lead").await;
    r.signoff("run-6a", "Security").await;
    r.attestation("run-6a", "PASSED").await;
    r.run("run-6b", "c6", "production", "GO").await;
    ledger.close().await;
    let dir = dir.path();

    let (code, text) = ask(dir, "c0", "production");
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("no decision for c0 in production"), "{text}");

    let (code, text) = ask(dir, "c1", "production");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("run run-1b") && text.contains("is NO-GO, not GO"),
        "{text}"
    );

    let (code, text) = ask(dir, "c2", "production");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("missing sign-off from Security"), "{text}");
    assert!(!text.contains("Tech Lead"), "{text}");

    let (code, text) = ask(dir, "c3", "production");
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("not attested"), "{text}");

    let (code, text) = ask(dir, "c4", "production");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("yes: c4 may go to production"), "{text}");

    let (code, text) = ask(dir, "c5", "staging");
    assert_eq!(code, Some(0), "{text}");
    // The same commit was never decided for production.
    assert_eq!(ask(dir, "c5", "production").0, Some(4));
    // An environment without a table takes the global roles.
    assert_eq!(ask(dir, "c4", "qa").0, Some(4));

    let (code, text) = ask(dir, "c6", "production");
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("run-6b") && text.contains("Tech Lead, Security"),
        "{text}"
    );

    let json = gonogo(
        dir,
        &[
            "can-i-deploy",
            "--commit",
            "c2",
            "--to",
            "production",
            "--json",
        ],
    );
    let line = stdout(&json).lines().nth(1).unwrap_or_default().to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["answer"], "missing_roles");
    assert_eq!(v["roles"], serde_json::json!(["Security"]));
}

#[tokio::test]
async fn a_ledger_the_binary_wrote_verifies_until_an_entry_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gonogo.toml"), CONFIG).unwrap();
    let d = dir.path();
    for (commit, env) in [("a1", "staging"), ("a2", "production"), ("a3", "staging")] {
        let out = gonogo(d, &["record-deployment", "--commit", commit, "--to", env]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }
    assert!(d.join("out/ledger.key.pem").is_file());
    let out = gonogo(d, &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("3 entries, 3 signed heads"),
        "{}",
        stdout(&out)
    );

    let history = gonogo(d, &["history", "--env", "staging", "--format", "json"]);
    let entries: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let commits: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, ["a1", "a3"]);
    let table = stdout(&gonogo(d, &["history"]));
    assert_eq!(table.lines().count(), 4, "{table}");
    let second: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(
        second[..5],
        ["2", second[1], "deployment", "production", "a2"],
        "{table}"
    );

    // The head kept outside, then the last entry and its head removed together.
    let head = gonogo(d, &["ledger", "head"]);
    assert_eq!(head.status.code(), Some(0), "{}", stdout(&head));
    std::fs::write(d.join("head.json"), &head.stdout).unwrap();
    let ledger = Ledger::open_file(&d.join("out/ledger.sqlite"))
        .await
        .unwrap();
    ledger
        .execute_raw("DELETE FROM ledger_entries WHERE seq = 3")
        .await
        .unwrap();
    ledger
        .execute_raw("DELETE FROM ledger_heads WHERE count = 3")
        .await
        .unwrap();
    assert_eq!(gonogo(d, &["ledger", "verify"]).status.code(), Some(0));
    let out = gonogo(d, &["ledger", "verify", "--head", "head.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("entry 3: missing"),
        "{}",
        stdout(&out)
    );

    ledger
        .execute_raw("UPDATE ledger_entries SET git_commit = 'a9' WHERE seq = 1")
        .await
        .unwrap();
    ledger.close().await;
    let out = gonogo(d, &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("INVALID") && stdout(&out).contains("entry 1: altered"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_ledger_commands_refuse_in_one_sentence_when_there_is_no_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let out = gonogo(
        dir.path(),
        &["can-i-deploy", "--commit", "c", "--to", "prod"],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("gonogo: there is no ledger at"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn signoff_and_attest_append_to_the_ledger_beside_the_report_and_can_i_deploy_follows() {
    use gonogo_reports::test_support::ReportBuilder;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("gonogo.toml"), CONFIG).unwrap();
    let report = ReportBuilder::go()
        .with(|r| r.run.target.git_commit = Some(COMMIT.into()))
        .build();
    let reports = d.join("release");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(
        reports.join("go-no-go.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    // The run as `gonogo run` records it (a hermetic run is too slow for this test).
    let files = gonogo_reports::signoff::keygen(&reports, "ledger").unwrap();
    let key = gonogo_reports::signoff::load_signing_key(&files.private_key).unwrap();
    let ledger = Ledger::open_file(&reports.join("ledger.sqlite"))
        .await
        .unwrap();
    Recorder {
        ledger: &ledger,
        key: &key,
    }
    .run(&report.run.id, COMMIT, "production", "GO")
    .await;
    ledger.close().await;
    let ledger_flag = ["--ledger", "release/ledger.sqlite"];
    let ask = |to: &str| {
        let args = [
            &["can-i-deploy", "--commit", COMMIT, "--to", to][..],
            &ledger_flag[..],
        ]
        .concat();
        let out = gonogo(d, &args);
        (out.status.code(), stdout(&out))
    };
    assert_eq!(ask("production").0, Some(2));

    let keys = gonogo(d, &["keygen", "--out", "keys", "--name", "alice"]);
    assert_eq!(keys.status.code(), Some(0), "{}", stdout(&keys));
    for role in ["Tech Lead", "Security"] {
        let out = gonogo(
            d,
            &[
                "signoff",
                "release/go-no-go.json",
                "--role",
                role,
                "--approver",
                "alice",
                "--key",
                "keys/alice.key.pem",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        assert!(stdout(&out).contains("ledger: entry"), "{}", stdout(&out));
    }
    let (code, text) = ask("production");
    assert_eq!(code, Some(5), "{text}");
    let out = gonogo(
        d,
        &[
            "attest",
            "release/go-no-go.json",
            "--key",
            "keys/alice.key.pem",
            "--out",
            "release/go-no-go.intoto.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (code, text) = ask("production");
    assert_eq!(code, Some(0), "{text}");

    let history = gonogo(
        d,
        &[&["history", "--format", "json"][..], &ledger_flag[..]].concat(),
    );
    let entries: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["environment"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("run", "production"),
            ("signoff", "production"),
            ("signoff", "production"),
            ("attestation", "production")
        ]
    );
    let attested = &entries[3];
    let envelope = std::fs::read(d.join("release/go-no-go.intoto.json")).unwrap();
    assert_eq!(
        attested["attestation_digest"],
        format!("sha256:{}", gonogo_ledger::entry::sha256_hex(&envelope))
    );
    assert_eq!(attested["outcome"], "PASSED");
    let out = gonogo(d, &[&["ledger", "verify"][..], &ledger_flag[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
