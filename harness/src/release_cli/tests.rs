//! The sign-off commands end to end through [`run`], as a release manager uses them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gonogo_reports::model::Verdict;
use gonogo_reports::render::{write_reports, Format};
use gonogo_reports::test_support::ReportBuilder;

use super::{Documents, ReleaseCommand};

/// The command's exit code, as the process would exit.
async fn run(cmd: ReleaseCommand) -> ExitCode {
    crate::error::settle(super::run(cmd, Default::default()).await).into()
}

const TRUST_TOML: &str = r#"
[[person]]
name = "Alice Martin"
keys = ["alice.pub.pem"]
roles = ["Tech Lead", "Security"]

[[person]]
name = "Bob Chen"
keys = ["bob.pub.pem"]
roles = ["Security"]

[[person]]
name = "Carol Diaz"
keys = ["carol.pub.pem"]
roles = ["DevOps/SRE"]

[[person]]
name = "Dan Evans"
keys = ["dan.pub.pem"]
roles = ["Product"]
"#;

struct Desk {
    dir: tempfile::TempDir,
}

impl Desk {
    /// Four signers' keys, a trust directory with their public keys, and a report.
    async fn new(verdict: Verdict) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let desk = Desk { dir };
        for name in ["alice", "bob", "carol", "dan"] {
            let code = run(ReleaseCommand::Keygen {
                out: desk.path("keys"),
                name: name.into(),
            })
            .await;
            assert_eq!(code, ExitCode::from(0));
            std::fs::create_dir_all(desk.path("trust")).unwrap();
            let public = format!("{name}.pub.pem");
            std::fs::copy(
                desk.path("keys").join(&public),
                desk.path("trust").join(&public),
            )
            .unwrap();
        }
        // alice may sign for Tech Lead or Security; everyone else for one role.
        std::fs::write(desk.path("trust/trust.toml"), TRUST_TOML).unwrap();
        let report = ReportBuilder::go()
            .verdict(verdict, "as the test needs")
            .build();
        write_reports(
            &report,
            &desk.path("out"),
            &[Format::Markdown, Format::Html],
        )
        .unwrap();
        desk
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn report(&self) -> PathBuf {
        self.path("out/go-no-go.json")
    }

    fn roles(required: &[&str]) -> Documents {
        match required {
            [] => Documents::default(),
            roles => Documents::default().with("signoff.required_roles", &roles.join(",")),
        }
    }

    async fn sign(&self, name: &str, role: &str) -> ExitCode {
        self.sign_with(name, role, Default::default()).await
    }

    async fn sign_with(
        &self,
        name: &str,
        role: &str,
        layers: crate::config::args::Layers<{ crate::config::args::SIGNOFF }>,
    ) -> ExitCode {
        run(ReleaseCommand::Signoff {
            report: self.report(),
            role: role.into(),
            approver: name.into(),
            key: self.path(&format!("keys/{name}.key.pem")),
            layers,
        })
        .await
    }

    async fn verify(&self, layers: Documents) -> ExitCode {
        run(ReleaseCommand::Verify {
            report: self.report(),
            trust: self.path("trust"),
            layers,
            render_dir: Some(self.path("verified")),
        })
        .await
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn four_signatures_approve_a_go_report_and_the_documents_show_it() {
    let desk = Desk::new(Verdict::Go).await;
    for (name, role) in [
        ("alice", "Tech Lead"),
        ("bob", "security"),
        ("carol", "devops-sre"),
        ("dan", "product"),
    ] {
        assert_eq!(desk.sign(name, role).await, ExitCode::from(0));
    }
    // The Markdown next to the report was re-rendered with the signatures.
    assert!(read(&desk.path("out/go-no-go.md")).contains("| Security | bob |"));
    assert_eq!(desk.verify(Desk::roles(&[])).await, ExitCode::from(0));
    let md = read(&desk.path("verified/go-no-go.md"));
    assert!(md.contains("## Sign-off: APPROVED"), "{md}");
    assert_eq!(md.matches("✅ valid").count(), 4);
    assert!(read(&desk.path("verified/go-no-go.html")).contains("badge approved"));
}

#[tokio::test]
async fn a_missing_role_is_pending_with_exit_2_unless_the_configuration_drops_it() {
    let desk = Desk::new(Verdict::Go).await;
    desk.sign("alice", "tech lead").await;
    desk.sign("bob", "security").await;
    assert_eq!(desk.verify(Desk::roles(&[])).await, ExitCode::from(2));
    let md = read(&desk.path("verified/go-no-go.md"));
    assert!(
        md.contains("- missing sign-off: DevOps/SRE, Product"),
        "{md}"
    );
    assert_eq!(
        md.matches("Product").count(),
        2,
        "the table row and the reason: {md}"
    );

    let config = desk.path("gonogo.toml");
    std::fs::write(
        &config,
        "[signoff]\nrequired_roles = [\"Tech Lead\", \"Security\"]\n",
    )
    .unwrap();
    let roles = Documents {
        config: Some(config),
        ..Documents::default()
    };
    assert_eq!(desk.verify(roles).await, ExitCode::from(0));
}

#[tokio::test]
async fn a_changed_byte_in_the_signed_report_fails_verification_with_exit_1() {
    let desk = Desk::new(Verdict::Go).await;
    for (name, role) in [
        ("alice", "Tech Lead"),
        ("bob", "Security"),
        ("carol", "DevOps/SRE"),
        ("dan", "Product"),
    ] {
        desk.sign(name, role).await;
    }
    let text =
        read(&desk.report()).replace("\"requests_matching\": 420", "\"requests_matching\": 419");
    std::fs::write(desk.report(), text).unwrap();
    assert_eq!(desk.verify(Desk::roles(&[])).await, ExitCode::from(1));
    let md = read(&desk.path("verified/go-no-go.md"));
    assert_eq!(
        md.matches("changed after signing").count(),
        8,
        "4 rows and 4 reasons:\n{md}"
    );
}

#[tokio::test]
async fn signing_a_no_go_report_is_refused_and_leaves_it_unchanged() {
    let desk = Desk::new(Verdict::NoGo).await;
    let before = read(&desk.report());
    assert_eq!(desk.sign("bob", "security").await, ExitCode::from(3));
    assert_eq!(read(&desk.report()), before);
    assert_eq!(
        desk.verify(Desk::roles(&[])).await,
        ExitCode::from(1),
        "REJECTED exits 1"
    );
}

#[tokio::test]
async fn a_key_not_in_the_trust_directory_fails_verification() {
    let desk = Desk::new(Verdict::Go).await;
    desk.sign("alice", "security").await;
    std::fs::remove_file(desk.path("trust/alice.pub.pem")).unwrap();
    assert_eq!(
        desk.verify(Desk::roles(&["Security"])).await,
        ExitCode::from(1)
    );
    assert!(read(&desk.path("verified/go-no-go.md")).contains("unknown key"));
}

#[tokio::test]
async fn one_key_signing_every_role_is_not_approved_and_verify_says_which_rule_failed() {
    let desk = Desk::new(Verdict::Go).await;
    for role in ["Tech Lead", "Security", "DevOps/SRE", "Product"] {
        assert_eq!(desk.sign("alice", role).await, ExitCode::from(0));
    }
    assert_eq!(
        desk.verify(Desk::roles(&[])).await,
        ExitCode::from(1),
        "an invalid sign-off exits 1"
    );
    let md = read(&desk.path("verified/go-no-go.md"));
    assert!(md.contains("## Sign-off: PENDING"), "{md}");
    assert!(
        md.contains("one person satisfies one role only: Alice Martin signed Tech Lead and Security, and only Tech Lead (signed first) counts"),
        "{md}"
    );
    assert!(
        md.contains("a key counts only for the roles trust.toml gives its person: Alice Martin signed DevOps/SRE and Product but holds Tech Lead and Security"),
        "{md}"
    );
}

#[tokio::test]
async fn a_trust_directory_without_trust_toml_is_a_usage_error_for_a_report() {
    let desk = Desk::new(Verdict::Go).await;
    desk.sign("alice", "tech lead").await;
    std::fs::remove_file(desk.path("trust/trust.toml")).unwrap();
    assert_eq!(desk.verify(Desk::roles(&[])).await, ExitCode::from(3));
}

#[tokio::test]
async fn a_signoff_is_told_to_the_webhook_with_who_signed_and_what_is_missing() {
    let desk = Desk::new(Verdict::Go).await;
    let receiver = crate::notify::tests::Receiver::start(&[200], std::time::Duration::ZERO).await;
    let layers = crate::config::args::Layers::default()
        .with("notify.webhook_url", &receiver.url)
        .with("signoff.required_roles", "Security,Product");
    assert_eq!(
        desk.sign_with("bob", "Security", layers).await,
        ExitCode::from(0)
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    assert_eq!(body["event"], "signoff");
    assert_eq!(body["verdict"], "GO");
    assert_eq!(body["approval"], "PENDING");
    assert_eq!(body["signoff"]["role"], "Security");
    assert_eq!(body["signoff"]["approver"], "bob");
    assert_eq!(body["missing_roles"], serde_json::json!(["Product"]));
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("gonogo: bob signed the GO of "), "{text}");
    assert!(
        !body.to_string().contains("BEGIN"),
        "no key material: {body}"
    );
}

#[tokio::test]
async fn an_undelivered_signoff_notice_leaves_the_signature_and_the_exit_alone() {
    let desk = Desk::new(Verdict::Go).await;
    let receiver = crate::notify::tests::Receiver::start(&[400], std::time::Duration::ZERO).await;
    let layers = crate::config::args::Layers::default().with("notify.webhook_url", &receiver.url);
    assert_eq!(
        desk.sign_with("dan", "Product", layers).await,
        ExitCode::from(0)
    );
    assert_eq!(receiver.bodies().len(), 1);
    assert!(read(&desk.report()).contains("\"approver\": \"dan\""));
}
