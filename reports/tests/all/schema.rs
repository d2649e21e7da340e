//! The committed JSON Schema is the generated one, and reports validate against it.

use gonogo_reports::schema::{report_schema, report_schema_text};
use gonogo_reports::test_support::{sample_canary_rollback, ReportBuilder};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");

#[test]
fn the_committed_schema_equals_the_generated_one() {
    let generated = report_schema_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed =
        std::fs::read_to_string(COMMITTED).expect("reports/schema/report.schema.json exists");
    assert!(
        committed == generated,
        "reports/schema/report.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test -p gonogo-reports --test all schema` and commit it"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&report_schema()).expect("the schema is a valid JSON Schema")
}

#[test]
fn a_sample_report_with_canary_and_signoffs_validates() {
    let report = ReportBuilder::go().canary(sample_canary_rollback()).build();
    let json = serde_json::to_value(&report).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_report_with_a_wrong_verdict_does_not_validate() {
    let mut json = serde_json::to_value(ReportBuilder::go().build()).unwrap();
    json["decision"]["verdict"] = "MAYBE".into();
    assert!(!validator().is_valid(&json));
}
