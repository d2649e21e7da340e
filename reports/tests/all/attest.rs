//! The attestation's test lists: where a warned check goes.

use gonogo_reports::attest::{statement, Descriptor, StatementInputs};
use gonogo_reports::test_support::ReportBuilder;

#[test]
fn a_warned_check_is_a_warned_test_and_a_go_with_warnings_still_passes() {
    let report = ReportBuilder::go()
        .warned(
            "suite_a::x_request_id_present",
            "absent on a 431",
            Vec::new(),
        )
        .build();
    let inputs = StatementInputs {
        subjects: vec![Descriptor::sha256_of("app", b"image")],
        ..StatementInputs::default()
    };
    let s = statement(&report, b"{}", &inputs).unwrap();
    let predicate = &s["predicate"];
    assert_eq!(predicate["result"], "PASSED");
    assert_eq!(
        predicate["warnedTests"],
        serde_json::json!(["suite_a::x_request_id_present"])
    );
    let listed = |key: &str| predicate[key].as_array().unwrap().clone();
    assert!(!listed("passedTests").contains(&"suite_a::x_request_id_present".into()));
    assert!(listed("failedTests").is_empty());
}
