//! The committed JSON Schema is the generated one, and reports validate against it.

use gonogo_reports::schema::{report_schema, report_schema_text};
use gonogo_reports::test_support::{sample_canary_rollback, warned_no_go, ReportBuilder};
use gonogo_reports::Report;

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

#[test]
fn a_report_with_warnings_and_clauses_validates_and_reads_back() {
    let report = warned_no_go().build();
    let json = serde_json::to_value(&report).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let gate_3 = &json["gates"][2]["checks"][0];
    assert_eq!(gate_3["outcome"], "warned");
    assert_eq!(gate_3["clauses"][1]["level"], "should");
    assert_eq!(
        json["decision"]["warnings"][0],
        "gate_3::request_id_on_every_response warned: GET /x (431): no X-Request-ID on a refusal before auth"
    );
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_1_3_0_report_without_warnings_or_clauses_still_reads_and_validates() {
    let mut json = serde_json::to_value(ReportBuilder::go().build()).unwrap();
    json["schema_version"] = "1.3.0".into();
    json["decision"].as_object_mut().unwrap().remove("warnings");
    for section in ["suites", "gates"] {
        for group in json[section].as_array_mut().unwrap() {
            let key = if section == "suites" {
                "cases"
            } else {
                "checks"
            };
            for case in group[key].as_array_mut().unwrap() {
                assert!(case.as_object_mut().unwrap().remove("clauses").is_some());
            }
        }
    }
    assert!(validator().is_valid(&json));
    let report: Report = serde_json::from_value(json).unwrap();
    assert!(report.decision.warnings.is_empty());
    assert!(report.cases().all(|c| c.clauses.is_empty()));
}
