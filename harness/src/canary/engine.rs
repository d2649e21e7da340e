//! The traffic engine: steady, bounded probe traffic through each phase of a
//! plan, judged after every sample, stopping at the first breach.
//!
//! Time is tokio's clock and the request sender is a [`Prober`], so tests run
//! the whole engine on a paused clock with a fake prober, without a network.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gonogo_reports::canary_plan::{CanaryPlan, PhasePlan};
use gonogo_reports::model::{CanaryOutcome, CanaryPhase, CanaryReport, Evidence};
use tokio::task::JoinSet;
use tokio::time::{interval, Instant, MissedTickBehavior};

use super::judge::{check, conclude, Breach, PhaseStats, Sample};
use super::prometheus::{MetricsEnd, Prometheus};

/// Sends one probe. `None` means nothing was sent (no tenant had rate-limit
/// budget left): not a sample, never counted as a pass.
pub trait Prober: Send + Sync + 'static {
    fn probe(&self, seq: u64) -> impl Future<Output = Option<Sample>> + Send;
    /// Evidence of the first probes that failed (request, status, headers,
    /// trimmed body), shown when the canary is not promoted.
    fn failures(&self) -> Vec<Evidence> {
        Vec::new()
    }
}

/// Hears about the engine's phases and samples as they come (`gonogo canary`'s
/// progress line); the unit type hears nothing.
pub trait Watch: Send + Sync {
    /// Phase `index` (0-based) of `of` starts, planned to last `planned`.
    fn phase(&self, _index: usize, _of: usize, _phase: &PhasePlan, _planned: Duration) {}
    /// A probe came back; `stats` are the phase's so far.
    fn sample(&self, _sample: &Sample, _stats: &PhaseStats) {}
}

impl Watch for () {}

/// How much traffic the engine sends.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Probes started per second (wall clock, whatever the time scale).
    pub rps: f64,
    /// Probes in flight at most; ticks beyond it are skipped, so a slow canary
    /// is not buried under a growing queue.
    pub max_in_flight: usize,
    /// Planned durations are multiplied by this (1.0 = real time).
    pub time_scale: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rps: 2.0,
            max_in_flight: 8,
            time_scale: 1.0,
        }
    }
}

enum PhaseEnd {
    Pass,
    Rollback(Breach),
    Inconclusive(String),
}

/// Runs every phase of `plan` until one rolls back or is inconclusive.
pub async fn run_plan<P: Prober>(
    plan: &CanaryPlan,
    plan_label: &str,
    prober: Arc<P>,
    config: &EngineConfig,
) -> CanaryReport {
    run_plan_watched(plan, plan_label, prober, config, &()).await
}

/// [`run_plan`], telling `watch` each phase and sample.
pub async fn run_plan_watched<P: Prober>(
    plan: &CanaryPlan,
    plan_label: &str,
    prober: Arc<P>,
    config: &EngineConfig,
    watch: &dyn Watch,
) -> CanaryReport {
    let mut phases = Vec::new();
    let mut seq = 0;
    let mut outcome = (
        CanaryOutcome::Promote,
        format!("all {} phases passed their triggers", plan.phases.len()),
    );
    for (index, phase) in plan.phases.iter().enumerate() {
        let started = Instant::now();
        let (stats, mut end) = run_phase(
            phase,
            &prober,
            config,
            &mut seq,
            (watch, index, plan.phases.len()),
        )
        .await;
        // The real traffic's metrics, once the probes found nothing to roll back on.
        let mut metrics = Vec::new();
        if let (Some(source), PhaseEnd::Pass | PhaseEnd::Inconclusive(_)) = (&plan.metrics, &end) {
            let (checks, verdict) = Prometheus::new(&source.prometheus)
                .judge(
                    source,
                    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3),
                )
                .await;
            metrics = checks;
            end = match (end, verdict) {
                (_, MetricsEnd::Rollback(why)) => PhaseEnd::Rollback(Breach::Metrics(why)),
                (PhaseEnd::Pass, MetricsEnd::Inconclusive(why)) => PhaseEnd::Inconclusive(why),
                (end, _) => end,
            };
        }
        // One match: the phase's verdict and reason, and the outcome when it ends the plan.
        let (verdict, reason, stop) = match end {
            PhaseEnd::Pass => ("pass", None, None),
            PhaseEnd::Rollback(b) => (
                "rollback",
                Some(b.to_string()),
                Some((
                    CanaryOutcome::Rollback,
                    format!("phase {}: {b}", phase.display_name()),
                )),
            ),
            PhaseEnd::Inconclusive(r) => (
                "inconclusive",
                Some(r.clone()),
                Some((
                    CanaryOutcome::Inconclusive,
                    format!(
                        "phase {}: {r}; not promoted without data",
                        phase.display_name()
                    ),
                )),
            ),
        };
        phases.push(CanaryPhase {
            name: phase.display_name(),
            traffic_percent: phase.traffic_percent,
            planned_duration_s: phase.duration_s(),
            observed_duration_ms: started.elapsed().as_millis() as u64,
            samples: stats.samples,
            errors: stats.errors,
            security_violations: stats.security_violations,
            success_rate: stats.success_rate(),
            p95_ms: stats.p95_ms(),
            verdict: verdict.into(),
            reason,
            triggers: phase.trigger_descriptions(),
            metrics,
        });
        if let Some(end) = stop {
            outcome = end;
            break;
        }
    }
    let failures = match outcome.0 {
        CanaryOutcome::Promote => Vec::new(),
        _ => prober.failures(),
    };
    CanaryReport {
        plan: plan_label.into(),
        time_scale: config.time_scale,
        phases,
        outcome: outcome.0,
        reason: outcome.1,
        failures,
    }
}

async fn run_phase<P: Prober>(
    phase: &PhasePlan,
    prober: &Arc<P>,
    config: &EngineConfig,
    seq: &mut u64,
    (watch, index, of): (&dyn Watch, usize, usize),
) -> (PhaseStats, PhaseEnd) {
    let start = Instant::now();
    let planned = Duration::from_secs_f64(phase.duration_s() as f64 * config.time_scale);
    watch.phase(index, of, phase, planned);
    // Time to collect the minimum samples twice over: past it, the phase is
    // inconclusive rather than waiting forever on a target that does not answer.
    let grace = Duration::from_secs_f64(phase.min_samples() as f64 / config.rps * 2.0 + 1.0);
    let mut ticker = interval(Duration::from_secs_f64(1.0 / config.rps));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut in_flight: JoinSet<Option<Sample>> = JoinSet::new();
    let mut stats = PhaseStats::default();
    let mut accepting = true;

    loop {
        tokio::select! {
            _ = ticker.tick(), if accepting => {
                let elapsed = start.elapsed();
                let enough = stats.samples >= phase.min_samples();
                if (elapsed >= planned && enough) || elapsed >= planned + grace {
                    accepting = false;
                } else if in_flight.len() < config.max_in_flight {
                    *seq += 1;
                    let (prober, n) = (Arc::clone(prober), *seq);
                    in_flight.spawn(async move { prober.probe(n).await });
                }
            }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok(Some(sample)) = done {
                    stats.record(&sample);
                    watch.sample(&sample, &stats);
                    if let Some(breach) = check(phase, &stats) {
                        in_flight.abort_all();
                        return (stats, PhaseEnd::Rollback(breach));
                    }
                }
            }
            else => break,
        }
        if !accepting && in_flight.is_empty() {
            break;
        }
    }
    match conclude(phase, &stats) {
        Ok(()) => (stats, PhaseEnd::Pass),
        Err(reason) => (stats, PhaseEnd::Inconclusive(reason.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Answers after `latency(seq)` of (paused) tokio time; fails when `fail(seq)`.
    struct Fake<L, F> {
        latency: L,
        fail: F,
        sent: AtomicU64,
    }

    impl<L, F> Prober for Fake<L, F>
    where
        L: Fn(u64) -> f64 + Send + Sync + 'static,
        F: Fn(u64) -> bool + Send + Sync + 'static,
    {
        async fn probe(&self, seq: u64) -> Option<Sample> {
            self.sent.fetch_add(1, Ordering::Relaxed);
            let ms = (self.latency)(seq);
            tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0)).await;
            Some(Sample {
                ok: !(self.fail)(seq),
                latency_ms: ms,
                security_violation: false,
            })
        }
    }

    fn fake<L, F>(latency: L, fail: F) -> Arc<Fake<L, F>> {
        Arc::new(Fake {
            latency,
            fail,
            sent: AtomicU64::new(0),
        })
    }

    fn config() -> EngineConfig {
        EngineConfig {
            rps: 10.0,
            max_in_flight: 16,
            time_scale: 0.01,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_healthy_target_is_promoted_after_every_phase() {
        let prober = fake(|_| 20.0, |_| false);
        let report = run_plan(&CanaryPlan::default(), "default", prober.clone(), &config()).await;
        assert_eq!(report.outcome, CanaryOutcome::Promote, "{}", report.reason);
        let verdicts: Vec<_> = report.phases.iter().map(|p| p.verdict.as_str()).collect();
        assert_eq!(verdicts, ["pass", "pass", "pass"]);
        // 12 h at 1 % is 432 s; at 10 rps that is ~4320 probes: steady, not a flood.
        let p3 = &report.phases[2];
        assert!((4000..=4400).contains(&p3.samples), "{}", p3.samples);
        assert!(
            (431_000..=433_000).contains(&p3.observed_duration_ms),
            "{}",
            p3.observed_duration_ms
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_search_rolls_back_in_phase_2_on_p95() {
        // Every other probe is a 900 ms search.
        let prober = fake(|seq| if seq % 2 == 0 { 900.0 } else { 20.0 }, |_| false);
        let report = run_plan(&CanaryPlan::default(), "default", prober, &config()).await;
        assert_eq!(report.outcome, CanaryOutcome::Rollback);
        assert_eq!(report.phases.len(), 2);
        assert_eq!(
            report.phases[0].verdict, "pass",
            "phase 1 has no latency trigger"
        );
        assert!(
            report.reason.starts_with("phase 25%: p95 9"),
            "{}",
            report.reason
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ten_percent_failures_roll_back_in_phase_1() {
        let prober = fake(|_| 20.0, |seq| seq % 10 == 0);
        let report = run_plan(&CanaryPlan::default(), "default", prober.clone(), &config()).await;
        assert_eq!(report.outcome, CanaryOutcome::Rollback);
        assert_eq!(report.phases.len(), 1);
        assert_eq!(
            report.reason,
            "phase 5%: 2 errors exceed the error budget of 1"
        );
        // It stopped at the breach instead of finishing the 9 s phase.
        assert!(prober.sent.load(Ordering::Relaxed) < 40);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_that_never_answers_is_inconclusive_not_promoted() {
        struct Silent;
        impl Prober for Silent {
            async fn probe(&self, _: u64) -> Option<Sample> {
                None
            }
        }
        let report = run_plan(
            &CanaryPlan::default(),
            "default",
            Arc::new(Silent),
            &config(),
        )
        .await;
        assert_eq!(report.outcome, CanaryOutcome::Inconclusive);
        assert_eq!(report.phases[0].samples, 0);
        assert!(
            report.reason.contains("only 0 of the 20 samples"),
            "{}",
            report.reason
        );
    }
}
