//! The decision rules on synthetic results: no samples, violations, unverified isolation, skips.

use std::sync::Arc;
use std::time::Duration;

use gonogo_reports::{CriterionStatus, Verdict};
use gonogo_suites::ctx::Judged;
use gonogo_suites::registry::{GATE_2, SUITE_A, SUITE_B};
use gonogo_suites::{ApiRequest, ApiResponse, CaseReport, Exchange, Outcome, Section};

use super::*;
use crate::metrics;

fn search_exchange(ms: u64) -> Judged {
    let ex = Exchange {
        request: ApiRequest::post("/api/v1/knowledge/search"),
        response: Ok(ApiResponse {
            status: 200,
            headers: vec![],
            body: "{}".into(),
        }),
        latency: Duration::from_millis(ms),
        received_at: 0.0,
    };
    Judged {
        exchange: Arc::new(ex),
        expected: "200".into(),
        matched: true,
        primary: true,
    }
}

fn case(id: &str, outcome: Outcome, search_ms: u64) -> CaseReport {
    CaseReport {
        id: id.into(),
        title: id.into(),
        outcome,
        duration: Duration::ZERO,
        message: None,
        evidence: vec![search_exchange(search_ms)],
        security_violations: 0,
    }
}

/// A remote-mode run where every case passed.
fn passing(search_ms: u64) -> Vec<(Section, CaseReport)> {
    let mut v = vec![(
        SUITE_A,
        case("suite_a::valid_jwt_returns_200", Outcome::Passed, search_ms),
    )];
    for id in metrics::API_ISOLATION_CASES {
        let section = if id.starts_with("suite_b") {
            SUITE_B
        } else {
            GATE_2
        };
        v.push((section, case(id, Outcome::Passed, search_ms)));
    }
    v
}

/// The verdict of a remote run whose API-only isolation is waived.
fn verdict(results: &[(Section, CaseReport)]) -> (Verdict, Vec<String>) {
    verdict_with(results, Some("staging has no database access"))
}

fn verdict_with(results: &[(Section, CaseReport)], waiver: Option<&str>) -> (Verdict, Vec<String>) {
    let isolation = metrics::isolation(results, false, waiver);
    let m = metrics::compute(results, &isolation);
    let c = criteria(results, &m, &isolation);
    let d = decide(&c, results, &m);
    (d.verdict, d.reasons)
}

#[test]
fn a_clean_run_with_samples_is_go() {
    assert_eq!(verdict(&passing(20)).0, Verdict::Go);
}

#[test]
fn no_samples_is_inconclusive_never_a_pass() {
    let isolation = metrics::isolation(&[], false, None);
    let m = metrics::compute(&[], &isolation);
    let c = criteria(&[], &m, &isolation);
    assert!(
        c.iter().all(|c| c.status == CriterionStatus::Inconclusive),
        "{c:?}"
    );
    assert_eq!(decide(&c, &[], &m).verdict, Verdict::Inconclusive);
}

#[test]
fn slow_search_is_no_go_and_named_first() {
    let (v, reasons) = verdict(&passing(450));
    assert_eq!(v, Verdict::NoGo);
    assert!(
        reasons[0].starts_with("query_latency_p95_ms failed"),
        "{reasons:?}"
    );
}

#[test]
fn one_security_violation_forces_no_go() {
    let mut results = passing(20);
    results[0].1.security_violations = 1;
    assert_eq!(verdict(&results).0, Verdict::NoGo);
}

#[test]
fn unverified_isolation_forces_no_go() {
    let mut results = passing(20);
    results[1].1.outcome = Outcome::Skipped;
    let (v, reasons) = verdict(&results);
    assert_eq!(v, Verdict::NoGo);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("rls_isolation_verified failed")),
        "{reasons:?}"
    );
}

#[test]
fn a_skipped_smoke_case_is_inconclusive() {
    let mut results = passing(20);
    results[0].1.outcome = Outcome::Skipped;
    assert_eq!(verdict(&results).0, Verdict::Inconclusive);
}

#[test]
fn api_only_isolation_without_a_waiver_is_inconclusive_not_a_pass() {
    let (v, reasons) = verdict_with(&passing(20), None);
    assert_eq!(v, Verdict::Inconclusive);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("rls_isolation_verified is inconclusive")),
        "{reasons:?}"
    );
}

#[test]
fn a_failed_api_isolation_case_is_no_go_with_or_without_a_waiver() {
    let mut results = passing(20);
    results[1].1.outcome = Outcome::Failed;
    for waiver in [None, Some("accepted")] {
        assert_eq!(
            verdict_with(&results, waiver).0,
            Verdict::NoGo,
            "{waiver:?}"
        );
    }
}
