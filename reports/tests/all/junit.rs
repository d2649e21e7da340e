//! The JUnit XML: snapshot, and a real XML parser reads what CI servers read.

use gonogo_reports::render::junit;
use gonogo_reports::test_support::ReportBuilder;

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
