//! The pure part of the canary judge: per-phase statistics and the rollback
//! triggers of a [`PhasePlan`]. No clock, no network: the engine feeds samples in.
//!
//! Security violations and the error budget fire on the sample that crosses
//! them; success rate and p95 are only judged once the phase has
//! `min_samples`, so one early slow request does not roll back a release. A
//! phase that ends without enough samples is inconclusive: no data is not a pass.

use std::fmt;

use gonogo_reports::canary_plan::PhasePlan;
use hdrhistogram::Histogram;

/// The outcome of one probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The response matched what the probe expected.
    pub ok: bool,
    pub latency_ms: f64,
    /// The response showed another tenant's data, or accepted a missing token.
    pub security_violation: bool,
}

/// What one phase has seen so far.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub samples: u64,
    pub errors: u64,
    pub security_violations: u64,
    /// Latency in microseconds (1 µs .. 10 min, 3 significant figures).
    latency_us: Histogram<u64>,
}

impl Default for PhaseStats {
    fn default() -> Self {
        PhaseStats {
            samples: 0,
            errors: 0,
            security_violations: 0,
            latency_us: crate::metrics::histogram(),
        }
    }
}

impl PhaseStats {
    pub fn record(&mut self, s: &Sample) {
        self.samples += 1;
        // A security violation is never a matching response.
        if !s.ok || s.security_violation {
            self.errors += 1;
        }
        if s.security_violation {
            self.security_violations += 1;
        }
        let us = (s.latency_ms * 1000.0).round().max(1.0) as u64;
        self.latency_us.saturating_record(us);
    }

    /// Share of probes that matched, `None` without samples.
    pub fn success_rate(&self) -> Option<f64> {
        (self.samples > 0).then(|| (self.samples - self.errors) as f64 / self.samples as f64)
    }

    /// p95 latency in ms, `None` without samples.
    pub fn p95_ms(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.latency_us.value_at_quantile(0.95) as f64 / 1000.0)
    }
}

/// A rollback trigger that fired.
#[derive(Debug, Clone, PartialEq)]
pub enum Breach {
    SecurityViolation {
        count: u64,
    },
    ErrorBudget {
        errors: u64,
        budget: u64,
    },
    SuccessRate {
        rate: f64,
        min: f64,
    },
    P95 {
        p95_ms: f64,
        max_ms: f64,
    },
    /// A metrics criterion read from Prometheus, in words.
    Metrics(String),
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breach::SecurityViolation { count } => write!(f, "{count} security violation(s)"),
            Breach::ErrorBudget { errors, budget } => {
                write!(f, "{errors} errors exceed the error budget of {budget}")
            }
            Breach::SuccessRate { rate, min } => {
                write!(f, "success rate {:.1}% < {}%", rate * 100.0, min * 100.0)
            }
            Breach::P95 { p95_ms, max_ms } => write!(f, "p95 {p95_ms:.0} ms > {max_ms} ms"),
            Breach::Metrics(why) => f.write_str(why),
        }
    }
}

/// Checks the triggers after a sample; the first that fired, if any.
pub fn check(plan: &PhasePlan, stats: &PhaseStats) -> Option<Breach> {
    if plan.rollback_on_security_violation && stats.security_violations > 0 {
        return Some(Breach::SecurityViolation {
            count: stats.security_violations,
        });
    }
    if let Some(budget) = plan.error_budget {
        if stats.errors > budget {
            return Some(Breach::ErrorBudget {
                errors: stats.errors,
                budget,
            });
        }
    }
    if stats.samples < plan.min_samples() {
        return None;
    }
    if let (Some(min), Some(rate)) = (plan.min_success_rate, stats.success_rate()) {
        if rate < min {
            return Some(Breach::SuccessRate { rate, min });
        }
    }
    if let (Some(max_ms), Some(p95_ms)) = (plan.max_p95_ms, stats.p95_ms()) {
        if p95_ms > max_ms {
            return Some(Breach::P95 { p95_ms, max_ms });
        }
    }
    None
}

/// At the end of a phase with no breach: `Ok` to pass, `Err(reason)` when the
/// phase had too little data for its triggers to mean anything.
pub fn conclude(plan: &PhasePlan, stats: &PhaseStats) -> Result<(), TooFewSamples> {
    let needed = plan.min_samples();
    if stats.samples < needed {
        return Err(TooFewSamples {
            samples: stats.samples,
            needed,
            triggers: plan.trigger_descriptions(),
        });
    }
    Ok(())
}

/// A phase that ended without the samples its triggers need: inconclusive, not passed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("only {samples} of the {needed} samples needed to judge {}", .triggers.join(", "))]
pub struct TooFewSamples {
    pub samples: u64,
    pub needed: u64,
    /// The phase's triggers as the plan describes them.
    pub triggers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use gonogo_reports::canary_plan::CanaryPlan;

    fn ok(ms: f64) -> Sample {
        Sample {
            ok: true,
            latency_ms: ms,
            security_violation: false,
        }
    }

    fn err() -> Sample {
        Sample {
            ok: false,
            latency_ms: 5.0,
            security_violation: false,
        }
    }

    fn feed(
        plan: &PhasePlan,
        samples: impl IntoIterator<Item = Sample>,
    ) -> (PhaseStats, Option<Breach>) {
        let mut stats = PhaseStats::default();
        for s in samples {
            stats.record(&s);
            if let Some(b) = check(plan, &stats) {
                return (stats, Some(b));
            }
        }
        (stats, None)
    }

    #[test]
    fn phase_1_rolls_back_on_the_second_error() {
        let plan = &CanaryPlan::default().phases[0];
        let (stats, breach) = feed(plan, [ok(5.0), err(), ok(5.0), err(), ok(5.0)]);
        assert_eq!(
            breach,
            Some(Breach::ErrorBudget {
                errors: 2,
                budget: 1
            })
        );
        assert_eq!(stats.samples, 4, "stops at the first breach");
    }

    #[test]
    fn phase_2_rolls_back_on_p95_once_it_has_enough_samples() {
        let plan = &CanaryPlan::default().phases[1];
        let slow = std::iter::repeat_n(ok(900.0), 19);
        let (_, breach) = feed(plan, slow.clone());
        assert_eq!(breach, None, "19 samples are not enough to judge p95");
        let (stats, breach) = feed(plan, slow.chain([ok(900.0)]));
        assert!(
            matches!(breach, Some(Breach::P95 { p95_ms, .. }) if p95_ms >= 899.0),
            "{breach:?}"
        );
        assert_eq!(stats.samples, 20);
    }

    #[test]
    fn phase_3_rolls_back_on_a_single_security_violation() {
        let plan = &CanaryPlan::default().phases[2];
        let leak = Sample {
            ok: true,
            latency_ms: 5.0,
            security_violation: true,
        };
        let (stats, breach) = feed(plan, [ok(5.0), leak]);
        assert_eq!(breach, Some(Breach::SecurityViolation { count: 1 }));
        assert_eq!(stats.errors, 1, "a leak is never a matching response");
    }

    #[test]
    fn phase_3_rolls_back_below_99_percent_success() {
        let plan = &CanaryPlan::default().phases[2];
        let (_, breach) = feed(
            plan,
            std::iter::repeat_n(ok(5.0), 200).chain([err(), err()]),
        );
        assert_eq!(breach, None, "200/202 = 99.01 % is not below 99 %");
        let samples = std::iter::repeat_n(ok(5.0), 200).chain([err(), err(), err()]);
        let (stats, breach) = feed(plan, samples);
        assert!(
            matches!(breach, Some(Breach::SuccessRate { .. })),
            "{breach:?}"
        );
        assert_eq!(stats.samples, 203);
    }

    #[test]
    fn a_phase_without_enough_samples_is_inconclusive_not_passed() {
        let plan = &CanaryPlan::default().phases[0];
        let (stats, breach) = feed(plan, std::iter::repeat_n(ok(5.0), 3));
        assert_eq!(breach, None);
        let reason = conclude(plan, &stats).unwrap_err().to_string();
        assert_eq!(
            reason,
            "only 3 of the 20 samples needed to judge error budget 1, success rate < 95%"
        );
        let (stats, _) = feed(plan, std::iter::repeat_n(ok(5.0), 20));
        assert_eq!(conclude(plan, &stats), Ok(()));
    }

    #[test]
    fn no_samples_means_no_rate_and_no_p95() {
        let stats = PhaseStats::default();
        assert_eq!(stats.success_rate(), None);
        assert_eq!(stats.p95_ms(), None);
    }
}
