//! The last redaction pass over a whole report: secrets leave string values,
//! and the report still reads back as a [`Report`].

use gonogo_reports::redact::{is_typed_word, redact_report_with, Secrets};
use gonogo_reports::test_support::{crowded_no_go, warned_no_go, ReportBuilder};
use gonogo_reports::Report;
use proptest::prelude::*;

/// Every string value of `report`'s JSON (never its keys).
fn string_values(report: &Report) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::to_value(report).unwrap(), &mut out);
    out
}

/// One of the sample reports, with `leaked` written where evidence and
/// messages carry text: a failure message, a reason, the label.
fn report_leaking(which: usize, leaked: &str) -> Report {
    let base = match which % 3 {
        0 => ReportBuilder::go(),
        1 => crowded_no_go(12, 3),
        _ => warned_no_go(),
    };
    base.failing(
        "suite_b::user_b_list_excludes_user_a_file",
        &format!("the body echoed {leaked} back"),
    )
    .with(|r| {
        r.decision.reasons.push(format!("key {leaked} seen"));
        r.run.target.label = Some(format!("staging ({leaked})"));
    })
    .build()
}

#[test]
fn a_secret_spelled_inside_a_key_leaves_the_report_readable() {
    // `x` is in `expected`, `pected` too; before, the pass renamed the key and
    // the report no longer deserialised ("missing field `expected`").
    for secret in ["x", "pected", "reasons", "e"] {
        let report = report_leaking(1, secret);
        let redacted = redact_report_with(&report, &Secrets::new([secret.to_string()]))
            .unwrap_or_else(|e| panic!("secret {secret:?}: {e}"));
        assert_eq!(redacted.decision.verdict, report.decision.verdict);
        assert_eq!(redacted.cases().count(), report.cases().count());
    }
}

#[test]
fn the_models_own_words_are_never_masked() {
    // A password that spells a verdict must not turn `GO` into a marker.
    let report = ReportBuilder::go().build();
    let redacted = redact_report_with(&report, &Secrets::new(["GO".to_string()])).unwrap();
    assert_eq!(redacted.decision.verdict, report.decision.verdict);
}

proptest! {
    // 64 cases over three report shapes: the property is about text, not size.
    // No regression file: a failure prints its minimal input, which becomes a
    // named test above.
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_secret_survives_and_the_report_still_reads_back(
        which in 0usize..3,
        // Any text, and plain ASCII (what secrets usually are, and what keys
        // and words are made of).
        jwt_secret in prop_oneof!["\\PC{16,48}", "[a-z0-9_-]{16,24}"],
        password in prop_oneof!["\\PC{1,32}", "[a-z]{1,4}", "[ -~]{1,12}"],
    ) {
        let report = report_leaking(which, &format!("{jwt_secret} and {password}"));
        let secrets = Secrets::new([jwt_secret.clone(), password.clone()]);
        let redacted = redact_report_with(&report, &secrets);
        prop_assert!(redacted.is_ok(), "{:?}", redacted.err());
        for value in string_values(&redacted.unwrap()) {
            prop_assert!(!value.contains(&jwt_secret), "the JWT secret is in {value:?}");
            // The model's words and timestamps are typed, not evidence: a
            // one-letter password is in "GO" whatever a redactor does.
            prop_assert!(
                is_typed_word(&value) || !value.contains(&password),
                "the password is in {value:?}"
            );
        }
    }
}
