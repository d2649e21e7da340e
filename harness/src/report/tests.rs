//! The report's shape, pinned by snapshot (volatile values redacted), and its
//! validity against the committed JSON Schema. Built from a run against the
//! suites' in-memory fake API, so no containers are needed.

use super::*;

const SECRET: &str = "report-test-secret-report-test-secret";

fn fake_run() -> gonogo_reports::Report {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = gonogo_suites::fake::ctx(SECRET, &[]).await;
        let groups = gonogo_suites::registry(false);
        let started_at = chrono::Utc::now();
        let results = gonogo_suites::registry::run(&ctx, &groups).await;
        let facts = RunFacts {
            started_at,
            finished_at: chrono::Utc::now(),
            hermetic: false,
            database: false,
            // The fake has no database: accept its API-only isolation, so the waiver is pinned too.
            api_only_waiver: Some("the fake API has no database".into()),
            base_url: "http://fake.invalid".into(),
            label: Some("snapshot".into()),
            secret: Some(SECRET.into()),
        };
        build(&results, &facts)
    })
}

#[test]
fn the_report_shape_is_stable() {
    let report = fake_run();
    insta::assert_json_snapshot!(report, {
        ".run.id" => "[uuid]",
        ".run.started_at" => "[datetime]",
        ".run.finished_at" => "[datetime]",
        ".run.duration_ms" => "[ms]",
        ".run.target.git_commit" => "[commit]",
        ".suites[].cases[].duration_ms" => "[ms]",
        ".gates[].checks[].duration_ms" => "[ms]",
        ".suites[].cases[].evidence" => "[evidence]",
        ".gates[].checks[].evidence" => "[evidence]",
        ".metrics.query_latency_p95_ms" => "[ms]",
        ".metrics.search_latency" => "[latency]",
        ".metrics.all_latency" => "[latency]",
        ".criteria[2].observed" => "[ms]",
    });
}

#[test]
fn evidence_is_redacted_and_keeps_what_the_verdict_rests_on() {
    let report = fake_run();
    let case = &report.suites[0].cases[2];
    assert_eq!(case.id, "suite_a::valid_jwt_returns_200");
    insta::assert_json_snapshot!(case.evidence[0], {
        ".latency_ms" => "[ms]",
        ".response.headers[\"x-request-id\"]" => "[uuid]",
        ".response.headers[\"x-ratelimit-reset\"]" => "[epoch]",
    });
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(SECRET), "the JWT secret reached the report");
    assert!(!text.contains("eyJ"), "a JWT reached the report");
}

#[test]
fn the_report_validates_against_the_committed_schema() {
    let schema = gonogo_reports::schema::report_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value = serde_json::to_value(fake_run()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
}
