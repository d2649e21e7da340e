//! The JUnit XML: snapshot, and a real XML parser reads what CI servers read.

use gonogo_reports::render::junit;
use gonogo_reports::test_support::{warned_no_go, ReportBuilder};

fn no_go_xml() -> String {
    let report = ReportBuilder::go()
        .failing(
            "gate_2::alg_none_rejected",
            "alg: none was accepted <200> & \"OK\"\u{1}",
        )
        .build();
    junit::render(&report).unwrap()
}

#[test]
fn the_junit_document_matches_its_snapshot() {
    insta::assert_snapshot!("junit_no_go", no_go_xml());
}

#[test]
fn a_real_parser_finds_one_testcase_per_case_check_and_criterion() {
    let xml = no_go_xml();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    // 1 decision + 8 gate checks + 13 suite cases + 5 criteria.
    assert_eq!(cases.len(), 27);
    assert_eq!(root.attribute("tests"), Some("27"));
    // The failed check and the decision fail; nothing else.
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ["go_no_go", "gate_2::alg_none_rejected"]);
    assert_eq!(root.attribute("failures"), Some("2"));
}

#[test]
fn failure_messages_keep_special_characters_after_parsing() {
    let xml = no_go_xml();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| {
            n.has_tag_name("failure")
                && n.parent().unwrap().attribute("name") == Some("gate_2::alg_none_rejected")
        })
        .unwrap();
    // The control character cannot be carried by XML 1.0: replaced, not dropped silently.
    assert_eq!(
        failure.attribute("message"),
        Some("alg: none was accepted <200> & \"OK\"\u{FFFD}")
    );
    let body = failure.text().unwrap();
    assert!(
        body.contains(r#"{"items":[{"filename":"a<b>&c.txt"}]}"#),
        "{body}"
    );
    assert!(
        body.contains("expected: 404 code: not_found (matched: false)"),
        "{body}"
    );
}

/// The `<testcase>` named `name`.
fn testcase<'a>(doc: &'a roxmltree::Document, name: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

/// `(name, value)` of a testcase's properties.
fn properties<'a>(case: roxmltree::Node<'a, 'a>) -> Vec<(&'a str, &'a str)> {
    case.descendants()
        .filter(|n| n.has_tag_name("property"))
        .map(|p| (p.attribute("name").unwrap(), p.attribute("value").unwrap()))
        .collect()
}

fn system_out<'a>(case: roxmltree::Node<'a, 'a>) -> &'a str {
    let out = case.children().find(|n| n.has_tag_name("system-out"));
    out.and_then(|n| n.text()).unwrap_or_default()
}

#[test]
fn a_warned_check_is_no_failure_but_carries_the_warned_property_and_a_warning_line() {
    let xml = junit::render(&warned_no_go().build()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = testcase(&doc, "gate_3::request_id_on_every_response");
    assert!(
        !case
            .children()
            .any(|n| n.has_tag_name("failure") || n.has_tag_name("skipped")),
        "{xml}"
    );
    assert_eq!(
        properties(case),
        [
            ("gonogo.outcome", "warned"),
            ("gonogo.clause", "errors.refused-before-auth.marked"),
        ]
    );
    let out = system_out(case);
    assert!(
        out.starts_with("WARNING: GET /x (431): no X-Request-ID on a refusal before auth\n"),
        "{out}"
    );
    assert!(out.contains("contract clause errors.refused-before-auth.marked (should): “A server should still give it X-Request-ID, nosniff and a problem body"), "{out}");
    // The decision, the failed case and the failed smoke criterion; no warning.
    assert_eq!(doc.root_element().attribute("failures"), Some("3"));
}

#[test]
fn the_decision_lists_every_warning_and_a_failure_quotes_its_clause() {
    let xml = junit::render(&warned_no_go().build()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let decision = system_out(testcase(&doc, "go_no_go"));
    assert_eq!(decision.lines().count(), 2, "{decision}");
    assert!(
        decision.lines().all(|l| l.starts_with("WARNING: ")),
        "{decision}"
    );
    let failure = testcase(&doc, "suite_a::no_jwt_returns_401")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(failure.text().unwrap().contains("contract clause auth.missing-token (must): “No Authorization header → 401, WWW-Authenticate: Bearer realm=\"knowledge\", code: missing_token.”"), "{xml}");
}

#[test]
fn a_go_with_only_warnings_has_no_failure_at_all() {
    let report = ReportBuilder::go()
        .warned(
            "suite_a::x_request_id_present",
            "absent on a 431",
            Vec::new(),
        )
        .build();
    let xml = junit::render(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"), "{xml}");
    let case = testcase(&doc, "suite_a::x_request_id_present");
    assert_eq!(properties(case), [("gonogo.outcome", "warned")]);
}
