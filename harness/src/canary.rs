//! Canary judge: steady probe traffic against a canary deployment, judged
//! phase by phase against a plan's rollback triggers.
//!
//! - [`judge`]: per-phase statistics and triggers (pure, no I/O).
//! - [`engine`]: the phase loop over a [`engine::Prober`], on tokio's clock.
//! - [`probe`]: the HTTP prober (tenants, tokens, read/search mix, leak checks).
//! - [`prometheus`]: the plan's metrics criteria over real traffic, canary
//!   against baseline, read from Prometheus at the end of each phase.
//!
//! `gonogo canary` exits as [`crate::exit`] says: 0 PROMOTE, 1 ROLLBACK,
//! 2 INCONCLUSIVE, 3 usage or infrastructure error (bad plan, target
//! unreachable, no tenants).

pub mod engine;
pub mod judge;
pub mod probe;
pub mod prometheus;

use std::sync::Arc;

use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::model::CanaryReport;

pub use engine::{run_plan, run_plan_watched, EngineConfig, Prober, Watch};
pub use gonogo_suites::TokenSource;
pub use probe::HttpProber;

/// Why the canary could not be judged at all (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error("--time-scale must be a positive number")]
    TimeScale,
    #[error("--rps must be between 0 and 1000")]
    Rps,
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("the target {base} is unreachable: check --target")]
    Unreachable { base: String },
    #[error("cannot set up probe tenants on {base}: {source}")]
    Tenants {
        base: String,
        source: probe::TenantError,
    },
}

/// Everything `gonogo canary` needs.
#[derive(Debug, Clone)]
pub struct CanaryOptions {
    pub target: String,
    pub plan: CanaryPlan,
    /// Shown in the report: the plan file, or `default (release plan)`.
    pub plan_label: String,
    pub engine: EngineConfig,
    /// Tenants probing at once.
    pub tenants: usize,
    pub tokens: TokenSource,
    /// CAs trusted besides the platform's and webpki's (`--cacert`).
    pub roots: crate::client::ExtraRoots,
}

/// `gonogo canary`'s progress line: each phase, and the probes so far.
impl Watch for crate::progress::Progress {
    fn phase(
        &self,
        index: usize,
        of: usize,
        phase: &gonogo_reports::canary_plan::PhasePlan,
        planned: std::time::Duration,
    ) {
        self.phase(&format!(
            "canary phase {} ({}/{of}, {} s planned)",
            phase.display_name(),
            index + 1,
            planned.as_secs()
        ));
    }

    fn sample(&self, sample: &judge::Sample, stats: &judge::PhaseStats) {
        self.activity(&format!(
            "{} probes, {} errors, {} security",
            stats.samples, stats.errors, stats.security_violations
        ));
        let verdict = match (sample.security_violation, sample.ok) {
            (true, _) => "LEAK",
            (false, true) => "ok",
            (false, false) => "FAIL",
        };
        self.line(&format!("  probe {verdict} {:.0} ms", sample.latency_ms));
    }
}

/// Sets up the prober and runs the plan against the target.
pub async fn run(options: &CanaryOptions) -> Result<CanaryReport, CanaryError> {
    run_watched(options, &crate::progress::Progress::off()).await
}

/// [`run`], with its phases and probes shown by `progress`.
pub async fn run_watched(
    options: &CanaryOptions,
    progress: &crate::progress::Progress,
) -> Result<CanaryReport, CanaryError> {
    if !(options.engine.time_scale > 0.0 && options.engine.time_scale.is_finite()) {
        return Err(CanaryError::TimeScale);
    }
    if !(options.engine.rps > 0.0 && options.engine.rps <= 1000.0) {
        return Err(CanaryError::Rps);
    }
    progress.phase(&format!(
        "checking the target and minting {} tenants",
        options.tenants
    ));
    let prober = HttpProber::connect(
        &options.target,
        options.tokens.clone(),
        options.tenants,
        &options.roots,
    )
    .await?;
    Ok(run_plan_watched(
        &options.plan,
        &options.plan_label,
        Arc::new(prober),
        &options.engine,
        progress,
    )
    .await)
}
