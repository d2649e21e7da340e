//! The decision rules on synthetic results: no samples, violations, unverified isolation, skips.

use std::sync::Arc;
use std::time::Duration;

use gonogo_reports::{CriterionStatus, Verdict};
use gonogo_suites::cases::{GATE_2, LATENCY, SUITE_A, SUITE_B};
use gonogo_suites::Judged;
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
        warned: false,
        primary: true,
    }
}

fn case(id: &str, outcome: Outcome, search_ms: u64) -> CaseReport {
    CaseReport {
        id: id.into(),
        title: id.into(),
        clauses: &[],
        outcome,
        duration: Duration::ZERO,
        message: None,
        evidence: vec![search_exchange(search_ms)],
        security_violations: 0,
    }
}

/// The latency phase's case with one search per entry of `ms`.
fn latency_phase(ms: impl IntoIterator<Item = u64>) -> (Section, CaseReport) {
    let mut c = case(
        gonogo_suites::cases::latency::SEARCH_P95.id,
        Outcome::Passed,
        0,
    );
    c.evidence = ms.into_iter().map(search_exchange).collect();
    (LATENCY, c)
}

/// A remote-mode run where every case passed, with a latency phase of 200
/// searches all taking `search_ms`.
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
    v.push(latency_phase(std::iter::repeat_n(search_ms, 200)));
    v
}

/// The verdict of a remote run whose API-only isolation is waived.
fn verdict(results: &[(Section, CaseReport)]) -> (Verdict, Vec<String>) {
    verdict_with(results, Some("staging has no database access"))
}

fn verdict_with(results: &[(Section, CaseReport)], waiver: Option<&str>) -> (Verdict, Vec<String>) {
    let isolation = metrics::isolation(results, false, waiver);
    let m = metrics::compute(results, &isolation);
    let c = criteria(results, &m, &isolation, &Thresholds::default());
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
    let c = criteria(&[], &m, &isolation, &Thresholds::default());
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

fn p95_criterion(results: &[(Section, CaseReport)]) -> Criterion {
    p95_criterion_with(results, &Thresholds::default())
}

fn p95_criterion_with(results: &[(Section, CaseReport)], t: &Thresholds) -> Criterion {
    let isolation = metrics::isolation(results, false, None);
    let m = metrics::compute(results, &isolation);
    criteria(results, &m, &isolation, t)
        .into_iter()
        .find(|c| c.name == "query_latency_p95_ms")
        .unwrap()
}

#[test]
fn the_p95_is_judged_on_the_upper_bound_of_its_interval() {
    // 200 searches with 4 at 800 ms: the sample p95 (rank 190) is 20 ms, but
    // the interval's upper bound (rank 197) is 800 ms: not confidently fast.
    let mut results = passing(20);
    *results.last_mut().unwrap() = latency_phase(std::iter::repeat_n(20, 196).chain([800; 4]));
    let c = p95_criterion(&results);
    assert_eq!((c.status, c.samples), (CriterionStatus::Fail, 200));
    assert_eq!(
        c.observed,
        Some(json!("p95 20.0 ms, 95 % CI [20.0, 800.0] ms, n = 200"))
    );
    // Three slow ones stay below rank 197: a pass.
    *results.last_mut().unwrap() = latency_phase(std::iter::repeat_n(20, 197).chain([800; 3]));
    assert_eq!(p95_criterion(&results).status, CriterionStatus::Pass);
}

#[test]
fn too_few_latency_samples_are_inconclusive_whatever_else_searched() {
    // 71 fast searches have no 95 % interval for p95; other cases' searches do not count.
    let mut results = passing(20);
    *results.last_mut().unwrap() = latency_phase(std::iter::repeat_n(20, 71));
    let c = p95_criterion(&results);
    assert_eq!((c.status, c.samples), (CriterionStatus::Inconclusive, 71));
    assert_eq!(verdict(&results).0, Verdict::Inconclusive);
    *results.last_mut().unwrap() = latency_phase(std::iter::repeat_n(20, 72));
    assert_eq!(p95_criterion(&results).status, CriterionStatus::Pass);
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

#[test]
fn a_stricter_p95_threshold_from_the_configuration_fails_what_the_contract_passes() {
    let run = passing(250);
    assert_eq!(p95_criterion(&run).status, CriterionStatus::Pass);
    let strict = Thresholds {
        max_p95_ms: 200.0,
        ..Thresholds::default()
    };
    let c = p95_criterion_with(&run, &strict);
    assert_eq!(
        (c.status, c.threshold.as_str()),
        (CriterionStatus::Fail, "<= 200")
    );
}

#[test]
fn more_required_latency_samples_than_were_sent_is_inconclusive() {
    let needs_more = Thresholds {
        min_latency_samples: 500,
        ..Thresholds::default()
    };
    let c = p95_criterion_with(&passing(20), &needs_more);
    assert_eq!(c.status, CriterionStatus::Inconclusive, "{c:?}");
}

#[test]
fn thresholds_looser_than_the_contract_are_named() {
    let loose = |t: Thresholds| t.looser_than_contract().map(|(key, _)| key);
    assert_eq!(loose(Thresholds::default()), None);
    let d = Thresholds::default();
    let cases = [
        (
            Thresholds {
                max_p95_ms: 401.0,
                ..d
            },
            "thresholds.p95_ms",
        ),
        (
            Thresholds {
                max_p95_ms: 0.0,
                ..d
            },
            "thresholds.p95_ms",
        ),
        (
            Thresholds {
                min_success_rate: 0.98,
                ..d
            },
            "thresholds.success_rate",
        ),
        (
            Thresholds {
                min_success_rate: 1.5,
                ..d
            },
            "thresholds.success_rate",
        ),
        (
            Thresholds {
                min_latency_samples: 10,
                ..d
            },
            "thresholds.min_samples",
        ),
    ];
    for (t, key) in cases {
        assert_eq!(loose(t), Some(key), "{t:?}");
    }
}
