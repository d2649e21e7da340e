//! Aggregates over every request the run made: latency in HDR histograms
//! (all requests, and search alone), the latency phase's searches exactly,
//! match rate, security findings, isolation.

use gonogo_reports::{LatencyStats, Metrics, PercentilePoint, QuantileInterval};
use gonogo_suites::cases::latency;
use gonogo_suites::check::transport::route_class;
use gonogo_suites::{CaseReport, Outcome, Section};
use hdrhistogram::Histogram;

/// Percentiles kept in the report's latency curve.
const CURVE: [f64; 9] = [0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0];

/// Cases whose passing proves tenant isolation through the API.
/// Named through the cases themselves, so a renamed case cannot silently drop out.
pub const API_ISOLATION_CASES: [&str; 4] = [
    gonogo_suites::cases::suite_b::B_LIST_EXCLUDES.id,
    gonogo_suites::cases::suite_b::B_SEARCH_OWN.id,
    gonogo_suites::cases::gate_2::CROSS_GET.id,
    gonogo_suites::cases::gate_2::CROSS_DELETE.id,
];

/// The latency histogram every measurement here uses.
pub(crate) fn histogram() -> Histogram<u64> {
    // Microseconds, 1 µs .. 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("static histogram bounds are valid")
}

/// Microseconds (the histogram's unit) to milliseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Summary statistics of a histogram (all `None` without samples).
pub fn stats(h: &Histogram<u64>) -> LatencyStats {
    if h.is_empty() {
        return LatencyStats::default();
    }
    let q = |p: f64| Some(ms(h.value_at_quantile(p / 100.0)));
    LatencyStats {
        count: h.len(),
        min_ms: Some(ms(h.min())),
        p50_ms: q(50.0),
        p90_ms: q(90.0),
        p95_ms: q(95.0),
        p99_ms: q(99.0),
        max_ms: Some(ms(h.max())),
        curve: CURVE
            .iter()
            .map(|p| PercentilePoint {
                percentile: *p,
                ms: ms(h.value_at_quantile(p / 100.0)),
            })
            .collect(),
        // Histogram buckets are not order statistics: no interval here.
        p95_ci: None,
        samples_ms: Vec::new(),
    }
}

/// How tenant isolation was checked, and whether it was proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    /// Isolation was proven (`proven == Some(true)`).
    pub verified: bool,
    /// The criterion's verdict: `None` when the evidence cannot prove it either way
    /// (the API agreed, but there was no database access and no waiver).
    pub proven: Option<bool>,
    /// `database` (RLS at the database, and the API agreeing) or `api_only`.
    pub scope: &'static str,
    /// How many cases the verdict stands on.
    pub samples: u64,
}

/// Whether isolation was proven, and how. Computed once per run; the metrics
/// and the criteria both read it. Without database access the API cases can
/// disprove isolation but prove it only under `waiver` (API-only accepted).
pub fn isolation(
    results: &[(Section, CaseReport)],
    database: bool,
    waiver: Option<&str>,
) -> Isolation {
    let api: Vec<&CaseReport> = results
        .iter()
        .map(|(_, r)| r)
        .filter(|r| API_ISOLATION_CASES.contains(&r.id.as_str()))
        .collect();
    let db: Vec<&CaseReport> = results
        .iter()
        .filter(|(s, _)| *s == gonogo_suites::cases::RLS)
        .map(|(_, r)| r)
        .collect();
    let passed =
        |v: &[&CaseReport]| !v.is_empty() && v.iter().all(|r| r.outcome == Outcome::Passed);
    let (proven, scope, samples) = if database {
        // At the database, and the API must agree.
        let ok = passed(&db) && passed(&api);
        (Some(ok), "database", db.len() + api.len())
    } else {
        let ok = passed(&api);
        let proven = (!ok || waiver.is_some()).then_some(ok);
        (proven, "api_only", api.len())
    };
    Isolation {
        verified: proven == Some(true),
        proven,
        scope,
        samples: samples as u64,
    }
}

/// Computes the report's metrics from the case results and their [`Isolation`].
pub fn compute(results: &[(Section, CaseReport)], isolation: &Isolation) -> Metrics {
    let (mut all, mut search) = (histogram(), histogram());
    let (mut total, mut matching) = (0u64, 0u64);
    for (_, case) in results {
        for j in case.evidence.iter().filter(|j| j.primary) {
            total += 1;
            // A mismatch at a *should* is a warning: it does not count against the rate.
            matching += u64::from(j.matched || j.warned);
            let us = (j.exchange.latency.as_micros() as u64).max(1);
            all.saturating_record(us);
            // Query latency means answered queries: fast refusals (400, 429) would flatter the p95.
            let answered = j.exchange.response.as_ref().is_ok_and(|r| r.status == 200);
            if answered
                && route_class(&j.exchange.request.method, &j.exchange.request.path) == "search"
            {
                search.saturating_record(us);
            }
        }
    }
    let search_latency = stats(&search);
    let latency_phase = latency_phase(results);
    Metrics {
        query_latency_p95_ms: latency_phase.p95_ms,
        success_rate: (total > 0).then(|| matching as f64 / total as f64),
        requests_total: total,
        requests_matching: matching,
        security_violations: results.iter().map(|(_, r)| r.security_violations).sum(),
        rls_isolation_verified: isolation.verified,
        isolation_scope: isolation.scope.into(),
        search_latency,
        all_latency: stats(&all),
        latency_phase,
    }
}

/// The latency phase's answered searches, from exact order statistics (the
/// p95's interval needs the samples themselves, not histogram buckets).
pub fn latency_phase(results: &[(Section, CaseReport)]) -> LatencyStats {
    let exchanges = results
        .iter()
        .filter(|(s, _)| *s == gonogo_suites::cases::LATENCY)
        .flat_map(|(_, r)| r.evidence.iter().filter(|j| j.primary))
        .map(|j| j.exchange.as_ref());
    let measured = latency::answered_search_ms(exchanges);
    let mut ms = measured.clone();
    ms.sort_by(f64::total_cmp);
    let s = latency::Summary::of(ms.clone());
    let at = |p: f64| latency::nearest_rank(&ms, p / 100.0);
    LatencyStats {
        count: s.n as u64,
        min_ms: ms.first().copied(),
        p50_ms: s.p50,
        p90_ms: at(90.0),
        p95_ms: s.p95,
        p99_ms: s.p99,
        max_ms: ms.last().copied(),
        curve: CURVE
            .iter()
            .filter_map(|p| {
                Some(PercentilePoint {
                    percentile: *p,
                    ms: at(*p)?,
                })
            })
            .collect(),
        p95_ci: s.p95_ci.map(|ci| QuantileInterval {
            confidence: latency::CONFIDENCE,
            low_ms: ci.low_ms,
            high_ms: ci.high_ms,
            low_rank: ci.low_rank as u64,
            high_rank: ci.high_rank as u64,
        }),
        // In the order measured, to the microsecond: what a later run compares with.
        samples_ms: measured
            .into_iter()
            .map(|ms| (ms * 1000.0).round() / 1000.0)
            .collect(),
    }
}
