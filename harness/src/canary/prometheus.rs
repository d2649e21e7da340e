//! The canary's metrics source: the plan's PromQL criteria read from
//! Prometheus' HTTP API (`GET /api/v1/query`) at the end of a phase, canary
//! next to baseline, each answer kept as evidence.
//!
//! No data is never a pass: an empty result, NaN, an error answer or an
//! unreachable Prometheus makes the criterion (and the phase) inconclusive.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gonogo_reports::canary_plan::metrics::{MetricCriterion, MetricsPlan};
use gonogo_reports::label::metric_number as fmt;
use gonogo_reports::model::{MetricCheck, MetricReading};
use serde_json::Value;

/// How a phase fares on its metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsEnd {
    Pass,
    Rollback(String),
    Inconclusive(String),
}

/// Reads the plan's criteria from one Prometheus.
#[derive(Debug, Clone)]
pub struct Prometheus {
    http: reqwest::Client,
    base: String,
}

impl Prometheus {
    pub fn new(base: &str) -> Prometheus {
        Prometheus {
            // The platform's trust store as well as webpki's: a Prometheus
            // behind a private CA is common. Never elsewhere than the
            // configured server (gonogo serve's allowlist holds it).
            http: crate::client::client_builder(&Default::default())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a plain HTTP client builds"),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// One instant query: its single number, or why there is none.
    pub async fn query(&self, promql: &str, at: DateTime<Utc>) -> Result<f64, QueryError> {
        let time = format!("{:.3}", at.timestamp_millis() as f64 / 1000.0);
        let resp = self
            .http
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", promql), ("time", time.as_str())])
            .send()
            .await
            .map_err(|source| QueryError::NoAnswer {
                base: self.base.clone(),
                source,
            })?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|_| QueryError::NotJson { status })?;
        if body["status"] != "success" {
            return Err(QueryError::Refused {
                message: body["error"]
                    .as_str()
                    .unwrap_or("no error message")
                    .to_owned(),
            });
        }
        single_value(&body["data"])
    }

    /// Judges every criterion of `plan` at `at`.
    pub async fn judge(
        &self,
        plan: &MetricsPlan,
        at: DateTime<Utc>,
    ) -> (Vec<MetricCheck>, MetricsEnd) {
        let mut checks = Vec::new();
        for c in &plan.criteria {
            checks.push(self.check(plan, c, at).await);
        }
        let end = conclude(&checks);
        (checks, end)
    }

    async fn check(
        &self,
        plan: &MetricsPlan,
        c: &MetricCriterion,
        at: DateTime<Utc>,
    ) -> MetricCheck {
        let read = |selector: &str| {
            let query = c.query_for(selector, &plan.window);
            async move {
                let answer = self.query(&query, at).await;
                (
                    MetricReading {
                        query,
                        value: answer.as_ref().ok().copied(),
                    },
                    answer.err().map(|e| e.to_string()),
                )
            }
        };
        let (canary, canary_err) = read(&plan.canary).await;
        let (baseline, baseline_err) = if c.is_relative() {
            let (r, e) = read(&plan.baseline).await;
            (Some(r), e)
        } else {
            (None, None)
        };
        let (verdict, reason) = judge_values(
            c,
            canary.value,
            baseline.as_ref().and_then(|b| b.value),
            canary_err.or(baseline_err),
        );
        MetricCheck {
            name: c.name.clone(),
            time: at,
            canary,
            baseline,
            bound: c.bound(),
            verdict: verdict.into(),
            reason,
        }
    }
}

/// The one number of an instant-query answer (`vector` of one series, or `scalar`).
fn single_value(data: &Value) -> Result<f64, QueryError> {
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => {
            let series = data["result"].as_array().map_or(&[][..], Vec::as_slice);
            match series {
                [] => return Err(QueryError::NoSeries),
                [one] => &one["value"],
                many => return Err(QueryError::ManySeries { count: many.len() }),
            }
        }
        other => {
            return Err(QueryError::NotANumber {
                kind: other.unwrap_or("nothing").to_owned(),
            })
        }
    };
    let v: f64 = sample[1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or(QueryError::NoSample)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(QueryError::NotFinite { value: v })
    }
}

/// Why an instant query gave no number: the criterion's reason for being inconclusive.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Prometheus at {base} did not answer ({})", crate::client::root_cause(.source))]
    NoAnswer {
        base: String,
        source: reqwest::Error,
    },
    #[error("Prometheus answered {status} without JSON")]
    NotJson { status: reqwest::StatusCode },
    #[error("Prometheus refused the query: {message}")]
    Refused { message: String },
    #[error("no data: the query matched no series")]
    NoSeries,
    #[error(
        "the query answers {count} series, not one number: aggregate it (sum, histogram_quantile)"
    )]
    ManySeries { count: usize },
    #[error("the query answers a {kind}, not one number")]
    NotANumber { kind: String },
    #[error("Prometheus' answer has no sample value")]
    NoSample,
    #[error("no data: the value is {value} (no traffic in the window)")]
    NotFinite { value: f64 },
}

/// One criterion's verdict (`pass`, `rollback`, `inconclusive`) and reason.
pub fn judge_values(
    c: &MetricCriterion,
    canary: Option<f64>,
    baseline: Option<f64>,
    error: Option<String>,
) -> (&'static str, Option<String>) {
    let no_data = |side: &str, error: Option<String>| {
        let why = error.unwrap_or_else(|| "no data".into());
        ("inconclusive", Some(format!("{side}: {why}")))
    };
    let Some(v) = canary else {
        return no_data("canary", error);
    };
    let mut breaches = Vec::new();
    if let Some(max) = c.max.filter(|m| v > *m) {
        breaches.push(format!("{} {} > {max}", c.name, fmt(v)));
    }
    if let Some(min) = c.min.filter(|m| v < *m) {
        breaches.push(format!("{} {} < {min}", c.name, fmt(v)));
    }
    if c.is_relative() {
        let Some(b) = baseline else {
            return no_data("baseline", error);
        };
        if let Some(r) = c.max_ratio.filter(|r| b > 0.0 && v > r * b) {
            breaches.push(format!("{} {} > {r} x baseline {}", c.name, fmt(v), fmt(b)));
        }
        if let Some(inc) = c.max_increase.filter(|inc| v > b + inc) {
            breaches.push(format!(
                "{} {} > baseline {} + {inc}",
                c.name,
                fmt(v),
                fmt(b)
            ));
        }
    }
    if breaches.is_empty() {
        ("pass", None)
    } else {
        ("rollback", Some(breaches.join("; ")))
    }
}

/// Rollback if any criterion breached, else inconclusive if any had no data.
pub fn conclude(checks: &[MetricCheck]) -> MetricsEnd {
    let named = |verdict: &str| {
        checks
            .iter()
            .filter(|c| c.verdict == verdict)
            .map(|c| c.reason.clone().unwrap_or_else(|| c.name.clone()))
            .collect::<Vec<_>>()
    };
    let rollback = named("rollback");
    if !rollback.is_empty() {
        return MetricsEnd::Rollback(format!("metrics: {}", rollback.join("; ")));
    }
    let unknown = named("inconclusive");
    if !unknown.is_empty() {
        return MetricsEnd::Inconclusive(format!("metrics: {}", unknown.join("; ")));
    }
    MetricsEnd::Pass
}

#[cfg(test)]
mod tests {
    use super::*;
    use gonogo_reports::canary_plan::metrics::default_criteria;
    use serde_json::json;

    fn p95() -> MetricCriterion {
        default_criteria()
            .into_iter()
            .find(|c| c.name == "p95_ms")
            .unwrap()
    }

    #[test]
    fn relative_bounds_roll_back_inside_the_absolute_ones() {
        let c = p95();
        assert_eq!(
            judge_values(&c, Some(60.0), Some(50.0), None),
            ("pass", None)
        );
        let (v, why) = judge_values(&c, Some(240.0), Some(49.0), None);
        assert_eq!(v, "rollback");
        assert_eq!(why.unwrap(), "p95_ms 240 > 1.2 x baseline 49");
        let (v, why) = judge_values(&c, Some(900.0), Some(850.0), None);
        assert_eq!((v, why.unwrap().as_str()), ("rollback", "p95_ms 900 > 800"));
    }

    #[test]
    fn no_data_on_either_side_is_inconclusive_never_a_pass() {
        let c = p95();
        assert_eq!(
            judge_values(&c, None, Some(1.0), Some("down".into())).0,
            "inconclusive"
        );
        assert_eq!(judge_values(&c, Some(1.0), None, None).0, "inconclusive");
    }

    #[test]
    fn answers_are_one_number_or_no_data() {
        let one = json!({"resultType":"vector","result":[{"metric":{},"value":[1.0,"48.75"]}]});
        assert_eq!(single_value(&one).unwrap(), 48.75);
        let scalar = json!({"resultType":"scalar","result":[1.0,"2"]});
        assert_eq!(single_value(&scalar).unwrap(), 2.0);
        let none = json!({"resultType":"vector","result":[]});
        assert!(single_value(&none)
            .unwrap_err()
            .to_string()
            .starts_with("no data"));
        let nan = json!({"resultType":"vector","result":[{"metric":{},"value":[1.0,"NaN"]}]});
        assert!(single_value(&nan)
            .unwrap_err()
            .to_string()
            .starts_with("no data"));
        let two = json!({"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]});
        assert!(single_value(&two)
            .unwrap_err()
            .to_string()
            .contains("2 series"));
    }
}
