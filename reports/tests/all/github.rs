//! GitHub Actions rendering: which annotations, in which order, the outputs,
//! and a step summary that fits GitHub's limit without losing the decision.

use gonogo_reports::render::github::{self, STEP_SUMMARY_LIMIT};
use gonogo_reports::render::{markdown, RenderOptions};
use gonogo_reports::test_support::{crowded_no_go, warned_no_go, ReportBuilder};
use gonogo_reports::{Outcome, Report};

/// The `title=` of each workflow command.
fn titles(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| {
            l.split("title=")
                .nth(1)
                .unwrap()
                .split("::")
                .next()
                .unwrap()
        })
        .collect()
}

fn of_kind(lines: &[String], kind: &str) -> Vec<String> {
    let prefix = format!("::{kind} ");
    lines
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .cloned()
        .collect()
}

fn summary(report: &Report, budget: usize) -> String {
    let o = RenderOptions::default();
    github::step_summary(
        report,
        &o.approval(report),
        &o.canary_plan,
        budget,
        "out/go-no-go.json",
    )
}

#[test]
fn a_go_report_has_no_annotations() {
    assert_eq!(
        github::annotations(&ReportBuilder::go().build()),
        Vec::<String>::new()
    );
}

#[test]
fn a_crowded_no_go_shows_nine_errors_most_important_first_and_counts_the_rest() {
    // 2 failed criteria + 25 failed cases; 1 inconclusive criterion + 11 skipped cases.
    let lines = github::annotations(&crowded_no_go(25, 11).build());
    let errors = of_kind(&lines, "error");
    assert_eq!(
        titles(&errors),
        [
            "security_violations",
            "gate_2%3A%3Aalg_none_rejected",
            "suite_b%3A%3Auser_b_list_excludes_user_a_file",
            "smoke_suites",
            "suite_c%3A%3Aextra_01",
            "suite_c%3A%3Aextra_02",
            "suite_c%3A%3Aextra_03",
            "suite_c%3A%3Aextra_04",
            "suite_c%3A%3Aextra_05",
            "gonogo",
        ]
    );
    assert_eq!(
        errors[0],
        "::error title=security_violations::Security findings: observed 2, threshold = 0 (420 samples)."
    );
    assert_eq!(
        errors[1],
        "::error title=gate_2%3A%3Aalg_none_rejected::alg: none was accepted with 200."
    );
    assert_eq!(
        errors[9],
        "::error title=gonogo::18 more failed criteria and cases not annotated here (GitHub shows 10 per step): see the step summary or the report."
    );
    assert_eq!(lines.len(), 20, "errors first, then warnings: {lines:#?}");
    assert_eq!(lines[..10], errors[..]);
}

#[test]
fn a_crowded_no_go_shows_nine_warnings_and_counts_the_rest() {
    let lines = github::annotations(&crowded_no_go(25, 11).build());
    let warnings = of_kind(&lines, "warning");
    assert_eq!(warnings.len(), 10);
    assert_eq!(
        warnings[0],
        "::warning title=rls_isolation_verified::Isolation proven at the database: inconclusive, observed true, threshold true (1 samples)."
    );
    assert_eq!(
        warnings[1],
        "::warning title=suite_d%3A%3Askipped_01::Skipped: Needs the JWT secret."
    );
    assert_eq!(titles(&warnings)[8], "suite_d%3A%3Askipped_08");
    assert_eq!(
        warnings[9],
        "::warning title=gonogo::3 more inconclusive criteria, warned checks and skipped cases not annotated here (GitHub shows 10 per step): see the step summary or the report."
    );
}

#[test]
fn ten_findings_are_all_shown_and_eleven_become_nine_and_a_count() {
    let ten = of_kind(&github::annotations(&crowded_no_go(8, 0).build()), "error");
    assert_eq!((ten.len(), titles(&ten)[9]), (10, "suite_c%3A%3Aextra_06"));
    let eleven = of_kind(&github::annotations(&crowded_no_go(9, 0).build()), "error");
    assert_eq!(eleven.len(), 10);
    assert!(
        eleven[9].starts_with("::error title=gonogo::2 more failed"),
        "{}",
        eleven[9]
    );
}

#[test]
fn the_outputs_are_the_verdict_the_decision_as_json_and_the_reasons() {
    let report = ReportBuilder::go()
        .failing("suite_a::no_jwt_returns_401", "got 200")
        .with(|r| r.decision.reasons.push("and 100% more\n".into()))
        .build();
    assert_eq!(
        github::outputs(&report, "ghadelimiter_1").unwrap(),
        concat!(
            "verdict<<ghadelimiter_1\nNO-GO\nghadelimiter_1\n",
            "decision<<ghadelimiter_1\n",
            r#"{"verdict":"NO-GO","reasons":["suite_a::no_jwt_returns_401 failed: got 200","and 100% more\n"],"warnings":[]}"#,
            "\nghadelimiter_1\n",
            "reasons<<ghadelimiter_1\n",
            "suite_a::no_jwt_returns_401 failed: got 200\nand 100% more\n\n",
            "ghadelimiter_1\n",
        )
    );
}

#[test]
fn a_summary_that_fits_is_the_markdown_document() {
    let report = crowded_no_go(3, 1).build();
    let o = RenderOptions::default();
    let md = markdown::render(&report, &o.approval(&report), &o.canary_plan);
    assert_eq!(summary(&report, STEP_SUMMARY_LIMIT), md);
}

#[test]
fn an_oversized_summary_loses_the_evidence_first_and_keeps_the_decision() {
    // Each failed case shows two pieces of evidence of at most 1,500
    // characters (these have one each): 700 of them overflow the step summary.
    let report = crowded_no_go(700, 0).bulky_evidence(60_000).build();
    let o = RenderOptions::default();
    let (head, rest) = markdown::render_parts(&report, &o.approval(&report), &o.canary_plan);
    assert!(
        head.len() + rest.len() > STEP_SUMMARY_LIMIT,
        "{}",
        head.len() + rest.len()
    );

    let md = summary(&report, STEP_SUMMARY_LIMIT);
    assert!(md.len() <= STEP_SUMMARY_LIMIT, "{}", md.len());
    assert!(md.starts_with(&head), "the decision comes first, whole");
    assert!(md.contains("the evidence (requests and responses) is left out. The full report is `out/go-no-go.json`."));
    assert!(!md.contains("xxxxxxxxxx"), "no evidence body is left");
    assert!(
        md.contains("suite\\_c::extra\\_23: Expected 200, got 500 (23)."),
        "the cases' messages stay"
    );
    assert!(
        md.contains("## Sign-off"),
        "the document is otherwise whole"
    );
}

#[test]
fn a_summary_too_big_even_without_evidence_is_cut_after_whole_sections() {
    let report = crowded_no_go(25, 0).build();
    let o = RenderOptions::default();
    let (head, _) = markdown::render_parts(&report, &o.approval(&report), &o.canary_plan);
    let budget = head.len() + 1500;
    let md = summary(&report, budget);
    assert!(md.len() <= budget, "{} > {budget}", md.len());
    assert!(md.starts_with(&head));
    assert!(md.contains("the evidence is left out and the document stops before its end"));
    assert!(md.contains("## Deployment") && !md.contains("## Sign-off"));

    let tiny = summary(&report, 10);
    assert!(
        tiny.starts_with(&head),
        "the decision is never cut, even over budget"
    );
}

#[test]
fn a_warned_check_is_a_warning_annotation_naming_the_check_and_its_clause() {
    let lines = github::annotations(&warned_no_go().build());
    let warnings = of_kind(&lines, "warning");
    assert_eq!(
        titles(&warnings),
        [
            "gate_3%3A%3Arequest_id_on_every_response (errors.refused-before-auth.marked)",
            "suite_d%3A%3Ainvalid_mime_type_returns_400_with_suggestion (errors.suggestion.names-types)",
        ]
    );
    assert_eq!(
        warnings[0],
        "::warning title=gate_3%3A%3Arequest_id_on_every_response (errors.refused-before-auth.marked)::Warned (never a NO-GO): GET /x (431): no X-Request-ID on a refusal before auth — contract clause errors.refused-before-auth.marked (should): “A server should still give it X-Request-ID, nosniff and a problem body where its stack allows (the reference server does).”"
    );
    let errors = of_kind(&lines, "error");
    let case = errors
        .iter()
        .find(|l| l.contains("no_jwt_returns_401"))
        .unwrap();
    assert!(
        case.starts_with("::error title=suite_a%3A%3Ano_jwt_returns_401 (auth.missing-token)::"),
        "{case}"
    );
    assert!(
        case.ends_with("— contract clause auth.missing-token (must): “No Authorization header → 401, WWW-Authenticate: Bearer realm=\"knowledge\", code: missing_token.”"),
        "{case}"
    );
}

#[test]
fn warned_checks_are_annotated_before_skipped_cases_of_the_same_rank() {
    // Added after the eleven skipped cases of suite D, so last in the document.
    let report = crowded_no_go(2, 11)
        .case(
            "D",
            "suite_d::warned_late",
            Outcome::Warned,
            "no suggestion",
        )
        .build();
    let warnings = of_kind(&github::annotations(&report), "warning");
    assert_eq!(
        titles(&warnings)[..3],
        [
            "rls_isolation_verified",
            "suite_d%3A%3Awarned_late",
            "suite_d%3A%3Askipped_01",
        ]
    );
    assert!(warnings[1].ends_with("::Warned (never a NO-GO): no suggestion"));
    assert!(warnings[9].contains("::4 more inconclusive criteria, warned checks and skipped cases"));
}

#[test]
fn the_step_summary_keeps_the_warnings_with_the_decision_when_trimmed() {
    let report = warned_no_go().bulky_evidence(60_000).build();
    let o = RenderOptions::default();
    let (head, _) = markdown::render_parts(&report, &o.approval(&report), &o.canary_plan);
    assert!(
        head.starts_with("# 🔴 Release decision: NO-GO — 2 warnings\n"),
        "{head}"
    );
    assert!(head.contains("## Warnings\n"), "{head}");
    let md = summary(&report, head.len() + 100);
    assert!(md.starts_with(&head), "the warnings are never cut");
}
