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

pub use engine::{run_plan, EngineConfig, Prober};
pub use gonogo_suites::TokenSource;
pub use probe::HttpProber;

/// Why the canary could not be judged at all (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error("{0}")]
    Setup(String),
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
}

/// Sets up the prober and runs the plan against the target.
pub async fn run(options: &CanaryOptions) -> Result<CanaryReport, CanaryError> {
    if !(options.engine.time_scale > 0.0 && options.engine.time_scale.is_finite()) {
        return Err(CanaryError::Setup(
            "--time-scale must be a positive number".into(),
        ));
    }
    if !(options.engine.rps > 0.0 && options.engine.rps <= 1000.0) {
        return Err(CanaryError::Setup(
            "--rps must be between 0 and 1000".into(),
        ));
    }
    let prober =
        HttpProber::connect(&options.target, options.tokens.clone(), options.tenants).await?;
    Ok(run_plan(
        &options.plan,
        &options.plan_label,
        Arc::new(prober),
        &options.engine,
    )
    .await)
}
