//! `gonogo attest` checked by someone else's code: in-toto's Python tooling
//! (securesystemslib's DSSE envelope and Ed25519 key, in_toto_attestation's
//! Statement model and test-result protobuf) verifies gonogo's envelopes and
//! refuses a tampered one; an envelope that Python signs verifies with
//! `gonogo verify`.
//!
//! The tooling comes from PyPI (`tests/intoto/requirements.txt`, pinned) into a
//! venv under the target dir, made by this test the first time it runs:
//! `cargo test` needs nothing prepared beforehand.

#[path = "support/venv.rs"]
mod venv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use base64::Engine as _;
use gonogo_reports::test_support::ReportBuilder;
use gonogo_reports::{Report, Verdict};
use serde_json::Value;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The venv's python, made once per target dir.
fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        venv::python_with(
            "intoto-venv",
            "intoto/requirements.txt",
            "in-toto's tooling",
            |py| {
                Command::new(py)
                    .args([
                        "-c",
                        "import securesystemslib.dsse, in_toto_attestation.v1.statement",
                    ])
                    .output()
                    .is_ok_and(|o| o.status.success())
            },
        )
    })
}

/// Runs `tests/intoto/intoto.py`.
fn intoto(args: &[&Path], keyid: &str) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intoto/intoto.py");
    Command::new(python())
        .arg(script)
        .args(args)
        .arg(keyid)
        .output()
        .expect("python runs")
}

fn gonogo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args(args)
        .env_remove("GONOGO_CONFIG")
        .env_remove("GONOGO_CONTRACT")
        .env_remove("SMOKE_R1_BASELINE")
        .output()
        .expect("the gonogo binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A directory with a key pair (in `trust/`), a contract and a report.
struct Bench {
    dir: tempfile::TempDir,
    key_id: String,
}

impl Bench {
    fn new(report: Report) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let trust = dir.path().join("trust");
        let out = gonogo(&["keygen", "--out", trust.to_str().unwrap(), "--name", "rm"]);
        assert!(out.status.success(), "{}", text(&out));
        let key_id = text(&out)
            .split("key id ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .expect("keygen names the key id")
            .to_string();
        std::fs::write(dir.path().join("CONTRACT.md"), "# The contract\n").unwrap();
        std::fs::write(
            dir.path().join("go-no-go.json"),
            serde_json::to_vec_pretty(&report).unwrap(),
        )
        .unwrap();
        Bench { dir, key_id }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `gonogo attest` into `attestation.json`.
    fn attest(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "attest".to_string(),
            self.s("go-no-go.json"),
            "--key".into(),
            self.s("trust/rm.key.pem"),
            "--out".into(),
            self.s("attestation.json"),
            "--contract".into(),
            self.s("CONTRACT.md"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        gonogo(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn attested(&self) -> Value {
        let out = self.attest(&[]);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&std::fs::read(self.path("attestation.json")).unwrap()).unwrap()
    }

    fn verify(&self, file: &str) -> Output {
        gonogo(&["verify", &self.s(file), "--trust", &self.s("trust")])
    }

    fn python_verify(&self, file: &str) -> Output {
        intoto(
            &[
                Path::new("verify"),
                &self.path(file),
                &self.path("trust/rm.pub.pem"),
            ],
            &self.key_id,
        )
    }
}

fn go() -> Report {
    ReportBuilder::go()
        .with(|r| r.run.target.git_commit = Some(COMMIT.into()))
        .build()
}

fn statement(envelope: &Value) -> Value {
    let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn gonogo_envelope_verifies_with_in_totos_python_tooling() {
    let b = Bench::new(go());
    let envelope = b.attested();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(envelope["signatures"][0]["keyid"], b.key_id.as_str());

    let out = b.python_verify("attestation.json");
    assert!(
        out.status.success(),
        "securesystemslib refused it: {}",
        text(&out)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["result"], "PASSED");
    assert_eq!(seen["failed"], 0);
    assert!(seen["passed"].as_u64().unwrap() > 0, "{seen}");
    let configuration = seen["configuration"].to_string();
    for name in ["CONTRACT.md", "r1-baseline", "config", "go-no-go.json"] {
        assert!(
            configuration.contains(name),
            "{name} missing from {configuration}"
        );
    }

    let out = b.verify("attestation.json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("result PASSED"), "{}", text(&out));
}

#[test]
fn the_statement_carries_the_commit_digests_and_case_ids() {
    let b = Bench::new(go());
    let report_bytes = std::fs::read(b.path("go-no-go.json")).unwrap();
    let s = statement(&b.attested());
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        s["predicateType"],
        "https://in-toto.io/attestation/test-result/v0.1"
    );
    assert_eq!(s["subject"][0]["digest"]["gitCommit"], COMMIT);
    let p = &s["predicate"];
    let report = p["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "go-no-go.json")
        .expect("the report is a configuration entry");
    use sha2::Digest as _;
    assert_eq!(
        report["digest"]["sha256"],
        hex::encode(sha2::Sha256::digest(&report_bytes)).as_str()
    );
    assert_eq!(report["annotations"]["verdict"], "GO");
    assert!(p["url"].as_str().unwrap().starts_with("file:///"), "{p}");
    assert!(
        p["passedTests"]
            .to_string()
            .contains("criterion:smoke_suites"),
        "{p}"
    );
}

#[test]
fn a_changed_payload_byte_fails_in_python_and_in_gonogo() {
    let b = Bench::new(
        ReportBuilder::go()
            .with(|r| r.run.target.git_commit = Some(COMMIT.into()))
            .failing("suite_b::user_b_list_excludes_user_a_file", "leaked")
            .build(),
    );
    let mut envelope = b.attested();
    let mut payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let at = payload
        .windows(6)
        .position(|w| w == b"FAILED")
        .expect("a NO-GO attests FAILED");
    payload[at..at + 6].copy_from_slice(b"PASSED");
    envelope["payload"] = Value::String(B64.encode(&payload));
    std::fs::write(b.path("tampered.json"), envelope.to_string()).unwrap();

    let out = b.python_verify("tampered.json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("VerificationError"), "{}", text(&out));

    let out = b.verify("tampered.json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("INVALID  attestation"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("changed after signing"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_envelope_python_signed_verifies_with_gonogo_verify() {
    let b = Bench::new(go());
    let s = statement(&b.attested());
    std::fs::write(b.path("statement.json"), serde_json::to_vec(&s).unwrap()).unwrap();
    let out = intoto(
        &[
            Path::new("sign"),
            &b.path("statement.json"),
            &b.path("trust/rm.key.pem"),
        ],
        &b.key_id,
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(b.path("python.json"), &out.stdout).unwrap();
    let out = b.verify("python.json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("by key {}", b.key_id)),
        "{}",
        text(&out)
    );

    // The same statement signed by a key the trust directory does not hold.
    let other = Bench::new(go());
    let out = intoto(
        &[
            Path::new("sign"),
            &b.path("statement.json"),
            &other.path("trust/rm.key.pem"),
        ],
        &other.key_id,
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(b.path("stranger.json"), &out.stdout).unwrap();
    let out = b.verify("stranger.json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not in the trust directory"),
        "{}",
        text(&out)
    );
}

#[test]
fn no_go_and_inconclusive_attest_failed_and_verify_exits_1() {
    for (verdict, listed) in [
        (Verdict::NoGo, "failedTests"),
        (Verdict::Inconclusive, "warnedTests"),
    ] {
        let b = Bench::new(
            ReportBuilder::go()
                .with(|r| r.run.target.git_commit = Some(COMMIT.into()))
                .verdict(verdict, "not proven")
                .with(move |r| {
                    r.criteria[0].status = match verdict {
                        Verdict::NoGo => gonogo_reports::CriterionStatus::Fail,
                        _ => gonogo_reports::CriterionStatus::Inconclusive,
                    }
                })
                .build(),
        );
        let s = statement(&b.attested());
        assert_eq!(s["predicate"]["result"], "FAILED", "{verdict:?}");
        assert!(
            s["predicate"][listed]
                .to_string()
                .contains("criterion:smoke_suites"),
            "{verdict:?}: {s}"
        );
        let out = b.python_verify("attestation.json");
        assert!(out.status.success(), "{}", text(&out));
        let out = b.verify("attestation.json");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("genuine, but its result is FAILED"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn subjects_are_the_commit_and_the_given_digests() {
    let b = Bench::new(go());
    let image = format!("registry.example/api=sha256:{}", "ab".repeat(32));
    let out = b.attest(&["--subject", &image]);
    assert!(out.status.success(), "{}", text(&out));
    let envelope: Value =
        serde_json::from_slice(&std::fs::read(b.path("attestation.json")).unwrap()).unwrap();
    let s = statement(&envelope);
    assert_eq!(s["subject"][1]["name"], "registry.example/api");
    assert_eq!(s["subject"][1]["digest"]["sha256"], "ab".repeat(32));

    let out = b.attest(&["--subject", "api=sha256:xyz"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("is not NAME=ALGORITHM:HEX"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_report_without_commit_or_subject_is_refused_in_one_sentence() {
    let b = Bench::new(
        ReportBuilder::go()
            .with(|r| r.run.target.git_commit = None)
            .build(),
    );
    let out = b.attest(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("pass --subject NAME=sha256:HEX"), "{err}");
    assert!(!b.path("attestation.json").exists());
}

#[test]
fn without_a_contract_file_attest_hashes_the_contract_gonogo_judges_by() {
    let b = Bench::new(go());
    // A working directory with neither shared/ nor ../shared/ beside it.
    let cwd = b.path("elsewhere/run");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gonogo"))
        .args([
            "attest",
            "../../go-no-go.json",
            "--key",
            "../../trust/rm.key.pem",
        ])
        .args(["--out", "attestation.json"])
        .current_dir(&cwd)
        .env_remove("GONOGO_CONFIG")
        .env_remove("GONOGO_CONTRACT")
        .env_remove("GONOGO_R1_BASELINE")
        .env_remove("SMOKE_R1_BASELINE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let envelope: Value =
        serde_json::from_slice(&std::fs::read(cwd.join("attestation.json")).unwrap()).unwrap();
    let s = statement(&envelope);
    let contract = s["predicate"]["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["annotations"]["role"] == "contract")
        .unwrap_or_else(|| panic!("no contract entry in {s}"));
    assert_eq!(contract["name"], "gonogo-contract-v1.1.md");
    use sha2::Digest as _;
    let markdown = gonogo_suites::contract::text::markdown();
    assert_eq!(
        contract["digest"]["sha256"],
        hex::encode(sha2::Sha256::digest(markdown.as_bytes())).as_str()
    );

    // --contract still names the file it was given.
    let s = statement(&b.attested());
    let named = s["predicate"]["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["annotations"]["role"] == "contract")
        .unwrap()
        .clone();
    assert!(
        named["name"].as_str().unwrap().ends_with("CONTRACT.md"),
        "{named}"
    );
    assert_ne!(named["digest"], contract["digest"]);
}
