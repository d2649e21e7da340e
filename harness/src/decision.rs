//! The contract's go/no-go criteria and the verdict.
//!
//! A criterion without samples is inconclusive, never a pass. Any failed
//! criterion is NO-GO — in particular any security violation or unverified
//! isolation, whatever else passed. Otherwise any inconclusive criterion makes
//! the run INCONCLUSIVE; only a clean sweep is GO.

use gonogo_reports::{Criterion, CriterionStatus, Decision, Metrics, Verdict};
use gonogo_suites::{CaseReport, Outcome, Section};
use serde_json::json;

use crate::metrics::Isolation;

/// Thresholds from the contract.
pub const MAX_SEARCH_P95_MS: f64 = gonogo_suites::cases::latency::MAX_P95_MS;
pub const MIN_SUCCESS_RATE: f64 = 0.99;

/// What a run is judged by: the contract's thresholds, or stricter ones a team
/// pinned in `gonogo.toml`. A configuration can tighten the gate, never widen it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `query_latency_p95_ms` passes when the upper bound of the p95's 95 % CI is at most this.
    pub max_p95_ms: f64,
    /// `success_rate` passes at or above this share.
    pub min_success_rate: f64,
    /// Fewest latency-phase searches the p95 is judged on; fewer is inconclusive.
    pub min_latency_samples: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_p95_ms: MAX_SEARCH_P95_MS,
            min_success_rate: MIN_SUCCESS_RATE,
            min_latency_samples: gonogo_suites::cases::latency::min_samples() as u64,
        }
    }
}

impl Thresholds {
    /// Which threshold, if any, is looser than the contract's, and why: `(key, sentence)`.
    pub fn looser_than_contract(&self) -> Option<(&'static str, String)> {
        let contract = Thresholds::default();
        if !(self.max_p95_ms > 0.0 && self.max_p95_ms <= contract.max_p95_ms) {
            return Some((
                "thresholds.p95_ms",
                format!(
                    "must be above 0 and at most the contract's {} ms",
                    contract.max_p95_ms
                ),
            ));
        }
        if !(contract.min_success_rate..=1.0).contains(&self.min_success_rate) {
            return Some((
                "thresholds.success_rate",
                format!(
                    "must be between the contract's {} and 1",
                    contract.min_success_rate
                ),
            ));
        }
        if self.min_latency_samples < contract.min_latency_samples {
            return Some((
                "thresholds.min_samples",
                format!(
                    "must be at least {}, the fewest searches a p95 interval needs",
                    contract.min_latency_samples
                ),
            ));
        }
        None
    }
}

fn criterion(
    name: &str,
    description: &str,
    threshold: &str,
    observed: Option<serde_json::Value>,
    samples: u64,
    ok: Option<bool>,
) -> Criterion {
    let status = match (samples, ok) {
        (0, _) | (_, None) => CriterionStatus::Inconclusive,
        (_, Some(true)) => CriterionStatus::Pass,
        (_, Some(false)) => CriterionStatus::Fail,
    };
    Criterion {
        name: name.into(),
        description: description.into(),
        threshold: threshold.into(),
        observed,
        samples,
        status,
    }
}

/// All cases of one kind pass: fail on any failure, inconclusive on any skip
/// (a warned case passes: it failed only a *should*).
fn all_pass(cases: &[&CaseReport]) -> Option<bool> {
    if cases.iter().any(|c| c.outcome == Outcome::Failed) {
        Some(false)
    } else if cases.iter().any(|c| c.outcome == Outcome::Skipped) {
        None
    } else {
        Some(true)
    }
}

/// `query_latency_p95_ms`, judged on the latency phase alone: a pass needs
/// the upper bound of the p95's 95 % interval within the threshold, so a pass
/// is confident and not a lucky draw; below the fewest samples an interval
/// needs it is inconclusive (see harness/README.md, "Latency").
fn search_p95(l: &gonogo_reports::LatencyStats, t: &Thresholds) -> Criterion {
    let observed = l.p95_ms.map(|p95| match &l.p95_ci {
        Some(ci) => json!(format!(
            "p95 {p95:.1} ms, 95 % CI [{:.1}, {:.1}] ms, n = {}",
            ci.low_ms, ci.high_ms, l.count
        )),
        None => json!(format!(
            "p95 {p95:.1} ms, n = {} (no interval below n = {})",
            l.count, t.min_latency_samples
        )),
    });
    let judged = l
        .p95_ci
        .as_ref()
        .filter(|_| l.count >= t.min_latency_samples);
    criterion(
        "query_latency_p95_ms",
        "p95 latency of the latency phase's searches (upper bound of its 95 % CI judged)",
        &format!("<= {}", t.max_p95_ms),
        observed,
        l.count,
        judged.map(|ci| ci.high_ms <= t.max_p95_ms),
    )
}

/// The criteria table for a run.
pub fn criteria(
    results: &[(Section, CaseReport)],
    m: &Metrics,
    isolation: &Isolation,
    t: &Thresholds,
) -> Vec<Criterion> {
    let suites: Vec<&CaseReport> = results
        .iter()
        .filter(|(s, _)| matches!(s, Section::Suite { .. }))
        .map(|(_, r)| r)
        .collect();
    let gates: Vec<&CaseReport> = results
        .iter()
        .filter(|(s, _)| matches!(s, Section::Gate { .. }))
        .map(|(_, r)| r)
        .collect();
    let passed = |v: &[&CaseReport]| {
        v.iter()
            .filter(|c| matches!(c.outcome, Outcome::Passed | Outcome::Warned))
            .count()
    };
    let security_checks = results
        .iter()
        .filter(|(s, _)| *s == gonogo_suites::cases::GATE_2 || *s == gonogo_suites::cases::RLS)
        .count() as u64;
    vec![
        criterion(
            "smoke_suites",
            "Every case of smoke suites A-D passes",
            "all pass",
            Some(json!(format!("{}/{}", passed(&suites), suites.len()))),
            suites.len() as u64,
            all_pass(&suites),
        ),
        criterion(
            "release_gates",
            "Every check of Gates 1-3 (and the database RLS gate) passes",
            "all pass",
            Some(json!(format!("{}/{}", passed(&gates), gates.len()))),
            gates.len() as u64,
            all_pass(&gates),
        ),
        search_p95(&m.latency_phase, t),
        criterion(
            "success_rate",
            "Share of responses matching their case's expectation",
            &format!(">= {}", t.min_success_rate),
            m.success_rate.map(|v| json!(v)),
            m.requests_total,
            m.success_rate.map(|r| r >= t.min_success_rate),
        ),
        criterion(
            "security_violations",
            "Accepted bad tokens, leaks, isolation breaks",
            "= 0",
            Some(json!(m.security_violations)),
            security_checks,
            Some(m.security_violations == 0),
        ),
        criterion(
            "rls_isolation_verified",
            &format!("Tenant isolation proven (scope: {})", isolation.scope),
            "true",
            Some(json!(m.rls_isolation_verified)),
            isolation.samples,
            isolation.proven,
        ),
    ]
}

/// The verdict and its reasons: failed criteria and cases first.
pub fn decide(criteria: &[Criterion], results: &[(Section, CaseReport)], m: &Metrics) -> Decision {
    let failed: Vec<&Criterion> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Fail)
        .collect();
    let inconclusive: Vec<&Criterion> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Inconclusive)
        .collect();
    let mut reasons = Vec::new();
    for c in &failed {
        reasons.push(format!(
            "{} failed: observed {}, threshold {}.",
            c.name,
            c.observed.clone().unwrap_or(json!(null)),
            c.threshold
        ));
    }
    for (_, r) in results.iter().filter(|(_, r)| r.outcome == Outcome::Failed) {
        reasons.push(format!(
            "{} failed: {}",
            r.id,
            r.message.as_deref().unwrap_or("no message")
        ));
    }
    for c in &inconclusive {
        reasons.push(format!(
            "{} is inconclusive ({} samples).",
            c.name, c.samples
        ));
    }
    for (_, r) in results
        .iter()
        .filter(|(_, r)| r.outcome == Outcome::Skipped)
    {
        reasons.push(format!(
            "{} was skipped: {}",
            r.id,
            r.message.as_deref().unwrap_or("no reason")
        ));
    }
    // A security finding is NO-GO even when no security case failed. (Unverified isolation
    // with samples is already a failed `rls_isolation_verified` criterion.)
    let forced = m.security_violations > 0;
    let verdict = if !failed.is_empty() || forced {
        Verdict::NoGo
    } else if !inconclusive.is_empty() {
        Verdict::Inconclusive
    } else {
        Verdict::Go
    };
    if verdict == Verdict::Go {
        reasons.push("Every criterion passed with samples.".into());
    }
    let warnings = results
        .iter()
        .filter(|(_, r)| r.outcome == Outcome::Warned)
        .map(|(_, r)| {
            format!(
                "{} warned: {}",
                r.id,
                r.message.as_deref().unwrap_or("no message")
            )
        })
        .collect();
    Decision {
        verdict,
        reasons,
        warnings,
    }
}

#[cfg(test)]
mod tests;
