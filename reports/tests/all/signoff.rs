//! Sign-off: keys on disk, signing, verification, tampering and the final state.

use chrono::{TimeZone, Utc};
use gonogo_reports::model::Verdict;
use gonogo_reports::signoff::{
    self, default_required_roles, keygen, load_signing_key, ApprovalState, CheckStatus, TrustStore,
};
use gonogo_reports::test_support::{sample_canary_rollback, ReportBuilder};
use gonogo_reports::Report;
use serde_json::Value;

struct Signers {
    dir: tempfile::TempDir,
}

/// The role each test signer holds in the default `trust.toml`.
fn role_of(name: &str) -> &'static str {
    match name {
        "alice" => "Tech Lead",
        "carol" => "DevOps/SRE",
        "dan" => "Product",
        _ => "Security",
    }
}

impl Signers {
    /// Key pairs for `names` and a `trust.toml` binding each to one person
    /// holding one role ([`role_of`]).
    fn new(names: &[&str]) -> Signers {
        let policy: String = names
            .iter()
            .map(|n| {
                format!(
                    "[[person]]\nname = \"{n}\"\nkeys = [\"{n}.pub.pem\"]\nroles = [\"{}\"]\n\n",
                    role_of(n)
                )
            })
            .collect();
        Signers::with_policy(names, &policy)
    }

    /// Key pairs for `names` and this `trust.toml`.
    fn with_policy(names: &[&str], trust_toml: &str) -> Signers {
        let dir = tempfile::tempdir().unwrap();
        for n in names {
            keygen(dir.path(), n).unwrap();
        }
        std::fs::write(dir.path().join("trust.toml"), trust_toml).unwrap();
        Signers { dir }
    }

    fn key(&self, name: &str) -> ed25519_dalek::SigningKey {
        load_signing_key(&self.dir.path().join(format!("{name}.key.pem"))).unwrap()
    }

    fn trust(&self) -> TrustStore {
        TrustStore::load_dir(self.dir.path()).unwrap()
    }
}

fn sign(
    doc: &mut Value,
    signers: &Signers,
    name: &str,
    role: &str,
) -> Result<(), signoff::SignoffError> {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap();
    let mut report: Report = serde_json::from_value(doc.clone()).unwrap();
    signoff::sign(
        &mut report,
        &signers.key(name),
        role,
        name,
        at,
        &default_required_roles(),
    )?;
    *doc = serde_json::to_value(report).unwrap();
    Ok(())
}

fn summary(doc: &Value, trust: &TrustStore) -> signoff::ApprovalSummary {
    let report: Report = serde_json::from_value(doc.clone()).unwrap();
    signoff::summarize(&report, &default_required_roles(), Some(trust))
}

fn typed(doc: &Value) -> Report {
    serde_json::from_value(doc.clone()).unwrap()
}

fn go_doc() -> Value {
    serde_json::to_value(ReportBuilder::go().build()).unwrap()
}

fn all_four(doc: &mut Value, signers: &Signers) {
    for (name, role) in [
        ("alice", "tech lead"),
        ("bob", "security"),
        ("carol", "devops-sre"),
        ("dan", "Product"),
    ] {
        sign(doc, signers, name, role).unwrap();
    }
}

const NAMES: [&str; 4] = ["alice", "bob", "carol", "dan"];

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let files = keygen(dir.path(), "alice").unwrap();
    let mode = std::fs::metadata(&files.private_key)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&files.private_key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(std::fs::read_to_string(&files.public_key)
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(files.key_id.len(), 16);
    // Never overwrites.
    assert!(keygen(dir.path(), "alice").is_err());
    // A key others can read is refused, as ssh does.
    std::fs::set_permissions(&files.private_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_signing_key(&files.private_key)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("is accessible to others (mode 644): run `chmod 600` on it"),
        "{err}"
    );
}

#[test]
fn four_valid_signatures_on_a_go_report_approve_it() {
    let signers = Signers::new(&NAMES);
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    let s = summary(&doc, &signers.trust());
    assert_eq!(s.state, ApprovalState::Approved, "{:?}", s.reasons);
    assert!(s.checks.iter().all(|c| c.status == CheckStatus::Valid));
    // Roles are stored in their configured spelling.
    let roles: Vec<_> = s.checks.iter().map(|c| c.signoff.role.as_str()).collect();
    assert_eq!(roles, ["Tech Lead", "Security", "DevOps/SRE", "Product"]);
}

#[test]
fn a_missing_role_leaves_the_report_pending_and_names_the_role() {
    let signers = Signers::new(&NAMES);
    let mut doc = go_doc();
    sign(&mut doc, &signers, "alice", "tech lead").unwrap();
    sign(&mut doc, &signers, "bob", "security").unwrap();
    let s = summary(&doc, &signers.trust());
    assert_eq!(s.state, ApprovalState::Pending);
    assert_eq!(s.missing_roles, ["DevOps/SRE", "Product"]);
}

#[test]
fn changing_any_signed_value_invalidates_every_signature() {
    let signers = Signers::new(&NAMES);
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    let tamperings: [(&str, Value); 4] = [
        ("/metrics/query_latency_p95_ms", 33.5.into()),
        ("/suites/2/cases/0/outcome", "skipped".into()),
        ("/run/target/git_commit", "deadbeef".into()),
        ("/signoffs/1/approver", "mallory".into()),
    ];
    for (pointer, value) in tamperings {
        let mut tampered = doc.clone();
        *tampered.pointer_mut(pointer).unwrap() = value;
        let s = summary(&tampered, &signers.trust());
        assert_ne!(
            s.state,
            ApprovalState::Approved,
            "tampering {pointer} went unnoticed"
        );
        let invalid = s.checks.iter().filter(|c| matches!(&c.status, CheckStatus::Invalid(r) if r.contains("changed after signing"))).count();
        let expected = if pointer.starts_with("/signoffs") {
            1
        } else {
            4
        };
        assert_eq!(invalid, expected, "tampering {pointer}: {:?}", s.reasons);
    }
}

#[test]
fn a_waiver_is_signed_with_the_report_and_altering_or_dropping_it_breaks_every_signature() {
    let signers = Signers::new(&NAMES);
    let mut doc = serde_json::to_value(
        ReportBuilder::go()
            .with(|r| {
                r.waivers.push(gonogo_reports::Waiver {
                    criterion: "rls_isolation_verified".into(),
                    reason: "staging has no database access; RLS proven in CI".into(),
                })
            })
            .build(),
    )
    .unwrap();
    all_four(&mut doc, &signers);
    assert_eq!(
        summary(&doc, &signers.trust()).state,
        ApprovalState::Approved
    );
    let mut altered = doc.clone();
    *altered.pointer_mut("/waivers/0/reason").unwrap() = "whatever".into();
    let mut dropped = doc.clone();
    dropped.as_object_mut().unwrap().remove("waivers");
    for tampered in [altered, dropped] {
        let s = summary(&tampered, &signers.trust());
        let invalid = s.checks.iter().filter(|c| matches!(&c.status, CheckStatus::Invalid(r) if r.contains("changed after signing"))).count();
        assert_eq!(
            (s.state == ApprovalState::Approved, invalid),
            (false, 4),
            "{:?}",
            s.reasons
        );
    }
}

#[test]
fn writing_the_canary_section_after_approval_keeps_the_signatures() {
    let signers = Signers::new(&NAMES);
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    doc["canary"] = serde_json::to_value(sample_canary_rollback()).unwrap();
    assert_eq!(
        summary(&doc, &signers.trust()).state,
        ApprovalState::Approved
    );
}

#[test]
fn a_signature_from_a_key_outside_the_trust_directory_is_refused() {
    let signers = Signers::new(&NAMES);
    let stranger = Signers::new(&["eve"]);
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    sign(&mut doc, &stranger, "eve", "security").unwrap();
    let s = summary(&doc, &signers.trust());
    let eve = s
        .checks
        .iter()
        .find(|c| c.signoff.approver == "eve")
        .unwrap();
    assert!(
        matches!(&eve.status, CheckStatus::Invalid(r) if r.contains("unknown key")),
        "{:?}",
        eve.status
    );
    assert!(s.has_invalid());
}

#[test]
fn signing_a_no_go_or_inconclusive_report_is_refused() {
    let signers = Signers::new(&["alice"]);
    for (verdict, label) in [
        (Verdict::NoGo, "NO-GO"),
        (Verdict::Inconclusive, "INCONCLUSIVE"),
    ] {
        let mut doc =
            serde_json::to_value(ReportBuilder::go().verdict(verdict, "x").build()).unwrap();
        let err = sign(&mut doc, &signers, "alice", "security").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("refusing to sign: the decision is {label}, only a GO report can be approved")
        );
    }
}

#[test]
fn a_valid_signature_over_a_no_go_report_is_still_rejected_at_verification() {
    // Someone signed with another tool: the signature is genuine but approves a NO-GO.
    let signers = Signers::new(&["alice"]);
    let mut doc =
        serde_json::to_value(ReportBuilder::go().verdict(Verdict::NoGo, "x").build()).unwrap();
    let key = signers.key("alice");
    let mut entry = gonogo_reports::Signoff {
        role: "Security".into(),
        approver: "alice".into(),
        signed_at: Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap(),
        key_id: signoff::key_id(&key.verifying_key()),
        algorithm: "ed25519".into(),
        signature: String::new(),
    };
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;
    let sig = key.sign(&signoff::signed_bytes(&typed(&doc), &entry).unwrap());
    entry.signature = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
    doc["signoffs"] = serde_json::to_value(vec![entry]).unwrap();
    let s = summary(&doc, &signers.trust());
    assert_eq!(s.state, ApprovalState::Rejected);
    assert!(
        matches!(&s.checks[0].status, CheckStatus::Invalid(r) if r.contains("decision is NO-GO, not GO")),
        "{:?}",
        s.checks[0].status
    );
}

#[test]
fn an_unknown_role_is_refused_with_the_configured_list() {
    let signers = Signers::new(&["alice"]);
    let err = sign(&mut go_doc(), &signers, "alice", "legal").unwrap_err();
    assert_eq!(
        err.to_string(),
        "role `legal` is not a required role; use one of: Tech Lead, Security, DevOps/SRE, Product"
    );
}

#[test]
fn signing_again_for_the_same_role_with_the_same_key_replaces_the_old_entry() {
    let signers = Signers::new(&["alice"]);
    let mut doc = go_doc();
    sign(&mut doc, &signers, "alice", "security").unwrap();
    sign(&mut doc, &signers, "alice", "Security").unwrap();
    assert_eq!(doc["signoffs"].as_array().unwrap().len(), 1);
}

#[test]
fn the_signed_bytes_are_rfc_8785_canonical() {
    let doc = go_doc();
    let entry = gonogo_reports::Signoff {
        role: "Security".into(),
        approver: "alice".into(),
        signed_at: Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap(),
        key_id: "00".into(),
        algorithm: "ed25519".into(),
        signature: String::new(),
    };
    let bytes = String::from_utf8(signoff::signed_bytes(&typed(&doc), &entry).unwrap()).unwrap();
    // Sorted keys, no whitespace, signoffs left out.
    assert!(
        bytes.starts_with(
            r#"{"algorithm":"ed25519","approver":"alice","key_id":"00","report":{"criteria":"#
        ),
        "{}",
        &bytes[..120]
    );
    assert!(bytes.ends_with(
        r#""role":"Security","signed_at":"2026-11-29T11:00:00Z","statement":"approved"}"#
    ));
    assert!(!bytes.contains("\"signoffs\""));
}

/// Signs `report` with one key for one role.
fn sign_as(doc: &mut Value, signers: &Signers, key: &str, approver: &str, role: &str) {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap();
    let mut report: Report = serde_json::from_value(doc.clone()).unwrap();
    signoff::sign(
        &mut report,
        &signers.key(key),
        role,
        approver,
        at,
        &default_required_roles(),
    )
    .unwrap();
    *doc = serde_json::to_value(report).unwrap();
}

fn invalid_reason<'a>(s: &'a signoff::ApprovalSummary, approver: &str, role: &str) -> &'a str {
    let check = s
        .checks
        .iter()
        .find(|c| c.signoff.approver == approver && c.signoff.role == role)
        .unwrap();
    match &check.status {
        CheckStatus::Invalid(r) => r,
        other => panic!("{approver} as {role} is {other:?}, not invalid"),
    }
}

#[test]
fn one_key_signing_every_role_satisfies_one_role_only() {
    // The release manager let alice sign for any role; she signed all four.
    let signers = Signers::with_policy(
        &["alice"],
        r#"
[[person]]
name = "Alice Martin"
keys = ["alice.pub.pem"]
roles = ["Tech Lead", "Security", "DevOps/SRE", "Product"]
"#,
    );
    let mut doc = go_doc();
    for role in ["tech lead", "security", "devops-sre", "product"] {
        sign(&mut doc, &signers, "alice", role).unwrap();
    }
    let s = summary(&doc, &signers.trust());
    assert_ne!(s.state, ApprovalState::Approved, "{:?}", s.reasons);
    assert_eq!(s.missing_roles, ["Security", "DevOps/SRE", "Product"]);
    assert!(s.has_invalid());
    assert!(
        s.reasons.contains(&"one person satisfies one role only: Alice Martin signed Tech Lead, Security, DevOps/SRE and Product, and only Tech Lead (signed first) counts".to_string()),
        "{:?}",
        s.reasons
    );
}

#[test]
fn two_keys_of_one_person_still_satisfy_one_role_only() {
    let signers = Signers::with_policy(
        &["alice-laptop", "alice-token", "carol", "dan"],
        r#"
[[person]]
name = "Alice Martin"
keys = ["alice-laptop.pub.pem", "alice-token.pub.pem"]
roles = ["Tech Lead", "Security"]

[[person]]
name = "carol"
keys = ["carol.pub.pem"]
roles = ["DevOps/SRE"]

[[person]]
name = "dan"
keys = ["dan.pub.pem"]
roles = ["Product"]
"#,
    );
    let mut doc = go_doc();
    sign_as(&mut doc, &signers, "alice-laptop", "alice", "tech lead");
    sign_as(&mut doc, &signers, "alice-token", "Alice M.", "security");
    sign(&mut doc, &signers, "carol", "devops-sre").unwrap();
    sign(&mut doc, &signers, "dan", "product").unwrap();
    let s = summary(&doc, &signers.trust());
    assert_ne!(s.state, ApprovalState::Approved, "{:?}", s.reasons);
    assert_eq!(s.missing_roles, ["Security"]);
    assert!(
        invalid_reason(&s, "Alice M.", "Security")
            .contains("Alice Martin already signed Tech Lead"),
        "{:?}",
        s.reasons
    );
}

#[test]
fn a_key_signing_a_role_its_person_does_not_hold_does_not_count() {
    let signers = Signers::new(&NAMES);
    let mut doc = go_doc();
    sign(&mut doc, &signers, "alice", "tech lead").unwrap();
    sign(&mut doc, &signers, "bob", "security").unwrap();
    sign(&mut doc, &signers, "carol", "devops-sre").unwrap();
    // bob holds Security only.
    sign(&mut doc, &signers, "bob", "product").unwrap();
    let s = summary(&doc, &signers.trust());
    assert_ne!(s.state, ApprovalState::Approved, "{:?}", s.reasons);
    assert_eq!(s.missing_roles, ["Product"]);
    assert!(
        s.reasons.contains(&"a key counts only for the roles trust.toml gives its person: bob signed Product but holds Security".to_string()),
        "{:?}",
        s.reasons
    );
}

#[test]
fn a_revoked_key_does_not_count() {
    let signers = Signers::new(&NAMES);
    let policy = std::fs::read_to_string(signers.dir.path().join("trust.toml")).unwrap();
    std::fs::write(
        signers.dir.path().join("trust.toml"),
        format!("{policy}[[revoked]]\nkey = \"carol.pub.pem\"\nreason = \"laptop lost on 2026-11-02\"\n"),
    )
    .unwrap();
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    let s = summary(&doc, &signers.trust());
    assert_ne!(s.state, ApprovalState::Approved, "{:?}", s.reasons);
    assert_eq!(s.missing_roles, ["DevOps/SRE"]);
    assert!(
        invalid_reason(&s, "carol", "DevOps/SRE").contains("revoked (laptop lost on 2026-11-02)"),
        "{:?}",
        s.reasons
    );
    assert!(
        s.reasons
            .iter()
            .any(|r| r.starts_with("a revoked key does not count: carol as DevOps/SRE")),
        "{:?}",
        s.reasons
    );
}

#[test]
fn a_trust_directory_without_trust_toml_approves_nothing_and_says_what_to_add() {
    let signers = Signers::new(&NAMES);
    std::fs::remove_file(signers.dir.path().join("trust.toml")).unwrap();
    let mut doc = go_doc();
    all_four(&mut doc, &signers);
    let s = summary(&doc, &signers.trust());
    assert_eq!(s.state, ApprovalState::Pending, "{:?}", s.reasons);
    assert!(
        s.reasons.iter().any(|r| r.starts_with(
            "the trust directory has no trust.toml: add one naming each key's person and the roles they may sign"
        )),
        "{:?}",
        s.reasons
    );
}
