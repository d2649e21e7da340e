//! The Markdown decision document.

use gonogo_reports::render::{markdown, RenderOptions};
use gonogo_reports::test_support::{
    sample_canary_rollback, warned_no_go, wrong_server_no_go, ReportBuilder,
};

fn render(report: &gonogo_reports::Report) -> String {
    let options = RenderOptions::default();
    markdown::render(report, &options.approval(report), &options.canary_plan)
}

#[test]
fn a_go_report_reads_as_a_decision_document() {
    let md = render(&ReportBuilder::go().build());
    insta::assert_snapshot!("markdown_go", md);
}

#[test]
fn a_no_go_report_shows_the_failed_case_with_its_evidence_and_the_canary() {
    let report = ReportBuilder::go()
        .failing(
            "suite_b::user_b_list_excludes_user_a_file",
            "user B's list contains A's file",
        )
        .canary(sample_canary_rollback())
        .build();
    insta::assert_snapshot!("markdown_no_go", render(&report));
}

#[test]
fn pipes_and_html_in_report_text_cannot_break_the_table_or_inject_markup() {
    let report = ReportBuilder::go()
        .with(|r| r.suites[0].cases[0].title = "a | b <script>alert(1)</script>".into())
        .build();
    let md = render(&report);
    let row = md.lines().find(|l| l.contains("alert(1)")).unwrap();
    assert!(
        row.starts_with(r"| a \| b &lt;script&gt;alert(1)&lt;/script&gt; <br>"),
        "{row}"
    );
}

#[test]
fn the_sign_off_table_names_every_missing_role() {
    let md = render(&ReportBuilder::go().build());
    let section = md.split("## Sign-off").nth(1).unwrap();
    for role in ["Tech Lead", "Security", "DevOps/SRE", "Product"] {
        assert!(
            section.contains(&format!("| {role} | — | — | — | ⏳ missing |")),
            "{role} missing from:\n{section}"
        );
    }
    assert!(section.starts_with(": PENDING"), "{section}");
}

#[test]
fn a_sign_off_for_a_role_that_is_not_required_is_listed_apart_and_approves_nothing() {
    use chrono::TimeZone;
    let signoff = |role: &str| gonogo_reports::Signoff {
        role: role.into(),
        approver: "erin".into(),
        signed_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 11, 0, 0)
            .unwrap(),
        key_id: "0011223344556677".into(),
        algorithm: "ed25519".into(),
        signature: "c2ln".into(),
    };
    let report = ReportBuilder::go()
        .with(|r| r.signoffs = vec![signoff("Security"), signoff("Legal")])
        .build();
    let md = render(&report);
    assert!(md.contains("| Security | erin | 2026-11-29T11:00:00+00:00 | 0011223344556677 | ☑️ signed (not verified here) |"), "{md}");
    assert!(md.contains("| Legal (not required) | erin |"), "{md}");
    // Each missing role once, in the sign-off reasons.
    assert!(
        md.contains("- missing sign-off: Tech Lead, DevOps/SRE, Product"),
        "{md}"
    );
    assert!(!md.contains("Still missing"), "{md}");
}

/// The document up to its deployment facts: decision, warnings, findings by clause.
fn head_and_findings(md: &str) -> &str {
    md.split("## Deployment").next().unwrap()
}

#[test]
fn warnings_are_counted_listed_and_grouped_by_the_clause_they_quote() {
    let md = render(&warned_no_go().build());
    insta::assert_snapshot!("markdown_warned", head_and_findings(&md));
}

#[test]
fn a_warned_case_shows_amber_in_its_table_and_its_clause_in_its_details() {
    let md = render(&warned_no_go().build());
    assert!(md.contains("| ⚠️ warned | 1 ms |"), "{md}");
    assert!(
        md.contains("### ⚠️ Gate 3: UX and telemetry (warned)"),
        "{md}"
    );
    assert!(
        md.contains("### Suite D: Errors (1/2 passed, 1 warned)"),
        "{md}"
    );
    assert!(
        md.contains("Contract: should `errors.refused-before-auth.marked`.\n"),
        "{md}"
    );
}

#[test]
fn a_go_with_a_warning_says_so_in_its_title() {
    let report = ReportBuilder::go()
        .warned(
            "suite_a::x_request_id_present",
            "absent on a 431",
            Vec::new(),
        )
        .build();
    let md = render(&report);
    assert!(
        md.starts_with("# 🟢 Release decision: GO — 1 warning\n"),
        "{md}"
    );
    assert!(
        md.contains("## Warnings\n\nNever a NO-GO: each failed only a *should* of the contract, or an expectation it does not state.\n\n- ⚠️ `suite_a::x_request_id_present`: absent on a 431\n"),
        "{md}"
    );
    assert!(
        !md.contains("by contract clause"),
        "a warning citing no clause is not grouped: {md}"
    );
}

#[test]
fn a_report_without_clauses_or_warnings_renders_as_before() {
    let md = render(
        &ReportBuilder::go()
            .failing("suite_a::no_jwt_returns_401", "got 200")
            .build(),
    );
    assert!(md.starts_with("# 🔴 Release decision: NO-GO\n"), "{md}");
    for absent in ["## Warnings", "by contract clause", "Contract:"] {
        assert!(!md.contains(absent), "`{absent}` in {md}");
    }
}

#[test]
fn a_decision_warning_that_names_no_warned_check_is_still_listed() {
    let report = ReportBuilder::go()
        .with(|r| r.decision.warnings = vec!["The clock skew was 3 s.".into()])
        .build();
    let md = render(&report);
    assert!(
        md.starts_with("# 🟢 Release decision: GO — 1 warning\n"),
        "{md}"
    );
    assert!(md.contains("\n- ⚠️ The clock skew was 3 s.\n"), "{md}");
}

#[test]
fn a_no_go_with_95_failed_checks_fits_a_pr_comment_and_still_names_the_decision() {
    let report = wrong_server_no_go(95).build();
    let full_json = serde_json::to_string(&report).unwrap().len();
    assert!(
        full_json > 500_000,
        "the sample is big: {full_json} bytes of JSON"
    );
    let md = render(&report);
    let chars = md.chars().count();
    assert!(chars < 65_536, "{chars} characters");
    assert!(
        md.starts_with("# 🔴 Release decision: NO-GO"),
        "{}",
        &md[..200]
    );
    assert!(
        md.contains("**Diagnosis:** this target does not look like a Knowledge API: 95 of 95 failed checks got only 401 or 404 (e.g. POST /api/v1/knowledge/files?attempt=0"),
        "{}",
        &md[..3000]
    );
    // The first reasons, then the count of the rest.
    let first_case = report
        .decision
        .reasons
        .iter()
        .find(|r| r.contains("::"))
        .unwrap();
    let head = first_case.split(" | ").next().unwrap();
    assert!(
        md.contains(&format!("- {}", head.replace('_', "\\_"))),
        "{}",
        &md[..3000]
    );
    let more = report.decision.reasons.len() - 10;
    assert!(
        md.contains(&format!("- … and {more} more: every failed check is below")),
        "{}",
        &md[..3000]
    );
    // Each clause: its first check and the count of the others.
    assert!(
        md.contains("- … and 15 more checks under this clause"),
        "{md}"
    );
}
