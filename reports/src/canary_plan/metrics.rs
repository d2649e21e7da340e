//! The canary plan's metrics source: Prometheus, and criteria over the traffic
//! real users send, canary next to baseline.
//!
//! ```toml
//! [metrics]
//! prometheus = "http://prometheus.monitoring:9090"
//! canary = 'job="knowledge-api", track="canary"'     # label matchers, no braces
//! baseline = 'job="knowledge-api", track="stable"'
//! window = "5m"                                      # $window in the queries
//!
//! [[metrics.criterion]]                              # repeat; omit for the defaults
//! name = "p95_ms"
//! query = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{$canary}[$window]))) * 1000'
//! max = 800           # absolute: canary <= 800
//! max_ratio = 1.2     # relative: canary <= 1.2 x baseline
//! ```
//!
//! A query is written for the canary (`$canary`); the baseline's value is the
//! same query with the baseline's selector in its place. A criterion with a
//! relative bound (`max_ratio`, `max_increase`) reads both. No data (no series,
//! NaN, Prometheus down) is inconclusive, never a pass.

use serde::{Deserialize, Serialize};

use super::parse_duration_s;

/// Where the metrics come from and what they must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsPlan {
    /// Prometheus base URL (its HTTP API is under `/api/v1/`).
    pub prometheus: String,
    /// Label matchers selecting the canary's series, e.g. `track="canary"`.
    pub canary: String,
    /// Label matchers selecting the baseline's series.
    pub baseline: String,
    /// The range of `rate()`/`increase()` (`$window`), e.g. `5m`.
    #[serde(default = "default_window")]
    pub window: String,
    /// The criteria; the defaults over the reference server's metric names when omitted.
    #[serde(rename = "criterion", default = "default_criteria")]
    pub criteria: Vec<MetricCriterion>,
}

fn default_window() -> String {
    "5m".into()
}

/// One PromQL criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricCriterion {
    pub name: String,
    /// PromQL with `$canary` (the selector) and `$window`; must answer one number.
    pub query: String,
    /// Roll back when the canary's value exceeds this.
    pub max: Option<f64>,
    /// Roll back when the canary's value is below this.
    pub min: Option<f64>,
    /// Roll back when canary > max_ratio x baseline (judged when the baseline is above 0).
    pub max_ratio: Option<f64>,
    /// Roll back when canary > baseline + max_increase (ratios: 0.005 = 0.5 pp).
    pub max_increase: Option<f64>,
}

impl MetricCriterion {
    /// Whether the baseline's value is needed.
    pub fn is_relative(&self) -> bool {
        self.max_ratio.is_some() || self.max_increase.is_some()
    }

    /// The bounds in words: `<= 800; <= 1.2 x baseline`.
    pub fn bound(&self) -> String {
        let mut out = Vec::new();
        if let Some(v) = self.max {
            out.push(format!("<= {v}"));
        }
        if let Some(v) = self.min {
            out.push(format!(">= {v}"));
        }
        if let Some(v) = self.max_ratio {
            out.push(format!("<= {v} x baseline"));
        }
        if let Some(v) = self.max_increase {
            out.push(format!("<= baseline + {v}"));
        }
        if out.is_empty() {
            "has data".into()
        } else {
            out.join("; ")
        }
    }

    /// The query for one side: `selector` for `$canary`, `window` for `$window`.
    pub fn query_for(&self, selector: &str, window: &str) -> String {
        self.query
            .replace("$canary", selector)
            .replace("$window", window)
    }
}

/// The defaults, over the reference server's own `/metrics` names.
pub fn default_criteria() -> Vec<MetricCriterion> {
    let c = |name: &str, query: &str| MetricCriterion {
        name: name.into(),
        query: query.into(),
        max: None,
        min: None,
        max_ratio: None,
        max_increase: None,
    };
    let total = "sum(rate(http_requests_total{$canary}[$window]))";
    vec![
        // No bound: no traffic in Prometheus makes the phase inconclusive.
        c("request_rate", total),
        MetricCriterion {
            max: Some(0.01),
            max_increase: Some(0.005),
            ..c(
                "error_ratio_5xx",
                &format!("(sum(rate(http_requests_total{{$canary,status=~\"5..\"}}[$window])) or vector(0)) / {total}"),
            )
        },
        MetricCriterion {
            max: Some(800.0),
            max_ratio: Some(1.2),
            ..c(
                "p95_ms",
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{$canary}[$window]))) * 1000",
            )
        },
        MetricCriterion {
            max_increase: Some(0.05),
            ..c(
                "rate_limit_rejection_ratio",
                &format!("(sum(rate(rate_limit_rejections_total{{$canary}}[$window])) or vector(0)) / {total}"),
            )
        },
        MetricCriterion {
            max: Some(0.0),
            ..c(
                "fail_open_admissions",
                "sum(increase(rate_limit_fail_open_admissions_total{$canary}[$window])) or vector(0)",
            )
        },
    ]
}

impl MetricsPlan {
    /// Non-empty selectors without braces, an http(s) URL, a window, named criteria
    /// whose queries name `$canary`.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.prometheus.starts_with("http://") || self.prometheus.starts_with("https://")) {
            return Err(format!(
                "[metrics] prometheus = {:?} is not an http(s) URL",
                self.prometheus
            ));
        }
        for (key, sel) in [("canary", &self.canary), ("baseline", &self.baseline)] {
            if sel.trim().is_empty() || sel.contains(['{', '}']) {
                return Err(format!(
                    "[metrics] {key} must be label matchers without braces, e.g. track=\"{key}\""
                ));
            }
        }
        if self.canary.trim() == self.baseline.trim() {
            return Err("[metrics] canary and baseline select the same series".into());
        }
        if parse_duration_s(&self.window).is_none_or(|s| s == 0) {
            return Err(format!(
                "[metrics] window {:?} is not a duration like 90s, 5m",
                self.window
            ));
        }
        if self.criteria.is_empty() {
            return Err("[metrics] has no criterion".into());
        }
        for c in &self.criteria {
            if c.name.trim().is_empty() {
                return Err("[[metrics.criterion]] without a name".into());
            }
            if !c.query.contains("$canary") {
                return Err(format!(
                    "[[metrics.criterion]] {}: the query does not name $canary, so canary and baseline would read the same series",
                    c.name
                ));
            }
            for (k, v) in [("max_ratio", c.max_ratio), ("max_increase", c.max_increase)] {
                if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                    return Err(format!(
                        "[[metrics.criterion]] {}: {k} must be a number >= 0",
                        c.name
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::canary_plan::CanaryPlan;

    const PHASE: &str = "[[phase]]\ntraffic_percent = 5\nduration = \"1m\"\nerror_budget = 1\n";

    #[test]
    fn a_metrics_section_gets_the_default_criteria() {
        let plan = CanaryPlan::from_toml(
            &format!("{PHASE}[metrics]\nprometheus = \"http://p:9090\"\ncanary = 'track=\"canary\"'\nbaseline = 'track=\"stable\"'\n"),
            "t",
        )
        .unwrap();
        let m = plan.metrics.unwrap();
        assert_eq!(m.window, "5m");
        let names: Vec<_> = m.criteria.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "request_rate",
                "error_ratio_5xx",
                "p95_ms",
                "rate_limit_rejection_ratio",
                "fail_open_admissions"
            ]
        );
        let p95 = &m.criteria[2];
        assert_eq!(p95.bound(), "<= 800; <= 1.2 x baseline");
        assert!(p95
            .query_for(&m.baseline, &m.window)
            .contains(r#"{track="stable"}[5m]"#));
    }

    #[test]
    fn a_bad_metrics_section_is_refused_with_its_key() {
        let base = "prometheus = \"http://p:9090\"\ncanary = 'track=\"canary\"'\nbaseline = 'track=\"stable\"'\n";
        for (extra, want) in [
            (
                "canary = '{track=\"c\"}'\nprometheus = \"http://p\"\nbaseline = 'a=\"b\"'\n",
                "without braces",
            ),
            (
                &format!("{base}[[metrics.criterion]]\nname = \"x\"\nquery = \"up\"\n") as &str,
                "does not name $canary",
            ),
            (&format!("{base}window = \"soon\"\n"), "is not a duration"),
            (
                "prometheus = \"p:9090\"\ncanary = 'a=\"1\"'\nbaseline = 'a=\"2\"'\n",
                "not an http(s) URL",
            ),
            (&format!("{base}colour = 1\n"), "unknown field `colour`"),
        ] {
            let err =
                CanaryPlan::from_toml(&format!("{PHASE}[metrics]\n{extra}"), "t").unwrap_err();
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
    }
}
