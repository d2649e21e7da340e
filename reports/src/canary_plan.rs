//! The canary plan: phases of traffic share and duration, each with rollback
//! triggers. Read from TOML by `gonogo canary --plan FILE`; shown in the
//! decision document. The default is the release plan's schedule:
//!
//! ```toml
//! name = "release plan"
//!
//! [[phase]]
//! traffic_percent = 5
//! duration = "15m"
//! error_budget = 1
//! min_success_rate = 0.95
//!
//! [[phase]]
//! traffic_percent = 25
//! duration = "30m"
//! error_budget = 5
//! max_p95_ms = 800
//!
//! [[phase]]
//! traffic_percent = 100
//! duration = "12h"
//! rollback_on_security_violation = true
//! min_success_rate = 0.99
//! ```

pub mod metrics;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Samples a phase needs before its rate triggers (success rate, p95) count;
/// a phase that ends with fewer is inconclusive, never a pass.
pub const DEFAULT_MIN_SAMPLES: u64 = 20;

/// The largest error budget a phase may have: more failed probes than a day
/// of probing at 10 per second is a budget that never runs out.
pub const MAX_ERROR_BUDGET: u64 = 864_000;

/// A canary plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryPlan {
    /// Shown in reports.
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(rename = "phase")]
    pub phases: Vec<PhasePlan>,
    /// A metrics source judged at the end of every phase (see [`metrics`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<metrics::MetricsPlan>,
}

fn default_name() -> String {
    "custom".into()
}

/// One phase and its rollback triggers. Every trigger left out is not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePlan {
    /// Defaults to `"<traffic_percent>%"`.
    pub name: Option<String>,
    /// Share of production traffic the deployment routes to the canary (informational:
    /// the judge sends its own probe traffic).
    pub traffic_percent: u8,
    /// `90s`, `15m`, `12h` (before time scaling).
    pub duration: String,
    /// Roll back once more than this many probes failed.
    pub error_budget: Option<u64>,
    /// Roll back if the success rate falls below this (0..1).
    pub min_success_rate: Option<f64>,
    /// Roll back if the p95 latency of probes exceeds this.
    pub max_p95_ms: Option<f64>,
    /// Roll back on the first security violation.
    #[serde(default)]
    pub rollback_on_security_violation: bool,
    /// Samples needed before the phase can pass (default [`DEFAULT_MIN_SAMPLES`]).
    pub min_samples: Option<u64>,
}

impl PhasePlan {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}%", self.traffic_percent))
    }

    /// Planned duration in seconds (validated by [`CanaryPlan::validate`]).
    pub fn duration_s(&self) -> u64 {
        parse_duration_s(&self.duration).unwrap_or(0)
    }

    pub fn min_samples(&self) -> u64 {
        self.min_samples.unwrap_or(DEFAULT_MIN_SAMPLES)
    }

    /// The triggers in words, e.g. `["error budget 1", "success rate < 95%"]`.
    pub fn trigger_descriptions(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = self.error_budget {
            out.push(format!("error budget {b}"));
        }
        if self.rollback_on_security_violation {
            out.push("any security violation".into());
        }
        if let Some(r) = self.min_success_rate {
            out.push(format!("success rate < {}%", r * 100.0));
        }
        if let Some(p) = self.max_p95_ms {
            out.push(format!("p95 > {p} ms"));
        }
        out
    }
}

/// Parses `90s`, `15m`, `12h`, `1d` or a bare number of seconds.
pub fn parse_duration_s(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

impl Default for CanaryPlan {
    fn default() -> Self {
        let phase = |pct: u8, duration: &str| PhasePlan {
            name: None,
            traffic_percent: pct,
            duration: duration.into(),
            error_budget: None,
            min_success_rate: None,
            max_p95_ms: None,
            rollback_on_security_violation: false,
            min_samples: None,
        };
        CanaryPlan {
            name: "release plan".into(),
            phases: vec![
                PhasePlan {
                    error_budget: Some(1),
                    min_success_rate: Some(0.95),
                    ..phase(5, "15m")
                },
                PhasePlan {
                    error_budget: Some(5),
                    max_p95_ms: Some(800.0),
                    ..phase(25, "30m")
                },
                PhasePlan {
                    rollback_on_security_violation: true,
                    min_success_rate: Some(0.99),
                    ..phase(100, "12h")
                },
            ],
            metrics: None,
        }
    }
}

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("canary plan {source_name}: {reason}")]
pub struct PlanError {
    pub source_name: String,
    pub reason: String,
}

impl CanaryPlan {
    /// Parses and validates a plan from TOML text.
    pub fn from_toml(text: &str, source_name: &str) -> Result<CanaryPlan, PlanError> {
        let err = |reason: String| PlanError {
            source_name: source_name.into(),
            reason,
        };
        let plan: CanaryPlan = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
        plan.validate().map_err(err)?;
        Ok(plan)
    }

    /// Reads a plan file.
    pub fn load(path: &Path) -> Result<CanaryPlan, PlanError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PlanError {
            source_name: name.clone(),
            reason: e.to_string(),
        })?;
        CanaryPlan::from_toml(&text, &name)
    }

    /// A plan must have phases, each with a duration, a traffic share of 1-100 %
    /// and at least one trigger (a phase that can never roll back judges nothing).
    pub fn validate(&self) -> Result<(), String> {
        if self.phases.is_empty() {
            return Err("no [[phase]]".into());
        }
        if let Some(m) = &self.metrics {
            m.validate()?;
        }
        for (i, p) in self.phases.iter().enumerate() {
            let which = format!("phase {} ({})", i + 1, p.display_name());
            match parse_duration_s(&p.duration) {
                Some(s) if s > 0 => {}
                _ => {
                    return Err(format!(
                        "{which}: duration `{}` is not like 90s, 15m or 12h",
                        p.duration
                    ))
                }
            }
            if !(1..=100).contains(&p.traffic_percent) {
                return Err(format!("{which}: traffic_percent must be 1-100"));
            }
            if p.trigger_descriptions().is_empty() {
                return Err(format!("{which}: has no rollback trigger"));
            }
            if p.min_success_rate.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
                return Err(format!(
                    "{which}: min_success_rate is a share above 0 and at most 1"
                ));
            }
            // A trigger that can never fire would make the phase pass whatever the canary does.
            if p.max_p95_ms.is_some_and(|ms| !(ms.is_finite() && ms > 0.0)) {
                return Err(format!(
                    "{which}: max_p95_ms must be a finite number of milliseconds above 0"
                ));
            }
            if p.error_budget.is_some_and(|b| b > MAX_ERROR_BUDGET) {
                return Err(format!(
                    "{which}: error_budget must be at most {MAX_ERROR_BUDGET}: a larger one never rolls back"
                ));
            }
            if p.min_samples == Some(0) {
                return Err(format!("{which}: min_samples must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_toml_equals_the_default_plan() {
        let doc = include_str!("canary_plan.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let parsed = CanaryPlan::from_toml(&doc, "doc").unwrap();
        assert_eq!(parsed, CanaryPlan::default());
    }

    #[test]
    fn triggers_that_can_never_fire_are_refused() {
        let phase = |trigger: &str| {
            format!("[[phase]]\ntraffic_percent = 5\nduration = \"1m\"\n{trigger}\n")
        };
        for (trigger, why) in [
            ("max_p95_ms = nan", "max_p95_ms"),
            ("max_p95_ms = inf", "max_p95_ms"),
            ("max_p95_ms = 0.0", "max_p95_ms"),
            ("min_success_rate = 0.0", "min_success_rate"),
            ("min_success_rate = nan", "min_success_rate"),
            ("error_budget = 9223372036854775807", "error_budget"),
        ] {
            let e = CanaryPlan::from_toml(&phase(trigger), "p").unwrap_err();
            assert!(e.to_string().contains(why), "{trigger}: {e}");
        }
        assert!(CanaryPlan::from_toml(&phase("max_p95_ms = 250.0"), "p").is_ok());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_s("15m"), Some(900));
        assert_eq!(parse_duration_s("12h"), Some(43_200));
        assert_eq!(parse_duration_s("90"), Some(90));
        assert_eq!(parse_duration_s("soon"), None);
    }

    #[test]
    fn a_phase_without_triggers_is_refused() {
        let err = CanaryPlan::from_toml("[[phase]]\ntraffic_percent = 5\nduration = \"1m\"\n", "t")
            .unwrap_err();
        assert!(err.to_string().contains("no rollback trigger"), "{err}");
    }

    #[test]
    fn default_triggers_read_like_the_release_plan() {
        let plan = CanaryPlan::default();
        assert_eq!(
            plan.phases[0].trigger_descriptions(),
            ["error budget 1", "success rate < 95%"]
        );
        assert_eq!(
            plan.phases[1].trigger_descriptions(),
            ["error budget 5", "p95 > 800 ms"]
        );
        assert_eq!(
            plan.phases[2].trigger_descriptions(),
            ["any security violation", "success rate < 99%"]
        );
    }
}
