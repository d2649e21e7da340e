//! The "compared with an earlier run" section of the report (schema 1.5.0):
//! the types alone; [`crate::compare`] fills them in and judges the rules.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LatencyStats, Mode, Outcome, Verdict};

/// A percentile of the latency phase's searches a relative criterion can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LatencyMetric {
    SearchP50,
    SearchP90,
    SearchP95,
    SearchP99,
}

impl LatencyMetric {
    /// Every metric, in the order the comparison shows them.
    pub const ALL: [LatencyMetric; 4] = [
        LatencyMetric::SearchP50,
        LatencyMetric::SearchP90,
        LatencyMetric::SearchP95,
        LatencyMetric::SearchP99,
    ];

    /// Its name as `gonogo.toml` and the report spell it, e.g. `search_p95`.
    pub fn name(self) -> &'static str {
        match self {
            LatencyMetric::SearchP50 => "search_p50",
            LatencyMetric::SearchP90 => "search_p90",
            LatencyMetric::SearchP95 => "search_p95",
            LatencyMetric::SearchP99 => "search_p99",
        }
    }

    /// The percentile as a share (0..1].
    pub fn share(self) -> f64 {
        match self {
            LatencyMetric::SearchP50 => 0.50,
            LatencyMetric::SearchP90 => 0.90,
            LatencyMetric::SearchP95 => 0.95,
            LatencyMetric::SearchP99 => 0.99,
        }
    }

    /// Its value in a report's latency statistics.
    pub fn of(self, s: &LatencyStats) -> Option<f64> {
        match self {
            LatencyMetric::SearchP50 => s.p50_ms,
            LatencyMetric::SearchP90 => s.p90_ms,
            LatencyMetric::SearchP95 => s.p95_ms,
            LatencyMetric::SearchP99 => s.p99_ms,
        }
    }
}

/// A team's relative criterion: `metric` may not grow by more than
/// `max_growth` (a share: 0.5 = 50 %) over the run compared with, when the
/// growth is significant. `[[compare.criteria]]` in `gonogo.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelativeCriterion {
    pub metric: LatencyMetric,
    pub max_growth: f64,
}

impl RelativeCriterion {
    /// A limit above 0 and finite: a rule that can be met.
    pub fn is_valid(&self) -> bool {
        self.max_growth.is_finite() && self.max_growth > 0.0
    }

    /// The rule in words, e.g. `search_p95 may not grow by more than 50 %
    /// over the run compared with when the growth is significant`.
    pub fn words(&self) -> String {
        format!(
            "{} may not grow by more than {} over the run compared with when the growth is significant",
            self.metric.name(),
            percent(self.max_growth)
        )
    }
}

/// `50 %`, `12.5 %`.
pub(crate) fn percent(share: f64) -> String {
    let text = format!("{:.1}", share * 100.0);
    format!("{} %", text.trim_end_matches('0').trim_end_matches('.'))
}

/// The earlier run this one is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PreviousRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub verdict: Verdict,
    /// The build it judged, when known.
    pub git_commit: Option<String>,
    pub mode: Mode,
    /// The contract version it was judged by; `null` for a report before schema 1.5.0.
    pub contract_version: Option<String>,
    pub schema_version: String,
    /// Where its report was read, e.g. `reports/out/history/….json (the last GO)`.
    pub source: String,
}

/// How the two runs' cases were matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// By case id: both runs were judged by the same contract version.
    Case,
    /// By the contract clause each case guards: the contract versions differ or are unknown.
    Clause,
}

/// A case (or a clause, when matched by clause) whose outcome changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseChange {
    /// The case id, or the clause id when matched by clause.
    pub id: String,
    /// The case's title, or the clause's words.
    pub title: String,
    /// `null`: the previous run had no such case (or clause).
    pub previous: Option<Outcome>,
    pub current: Outcome,
}

/// One percentile of the latency phase, before and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PercentileChange {
    pub metric: LatencyMetric,
    pub previous_ms: Option<f64>,
    pub current_ms: Option<f64>,
    /// `current_ms / previous_ms`.
    pub ratio: Option<f64>,
    /// The bootstrap interval of the ratio (see `method`); `null` when not tested.
    pub ratio_low: Option<f64>,
    pub ratio_high: Option<f64>,
    /// The interval leaves out 1; `null` when not tested (see the notes).
    pub significant: Option<bool>,
}

/// How the latency difference was tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyComparison {
    /// The test, in words.
    pub method: String,
    /// The resamples' seed (from the two run ids): the same reports replay the same interval.
    pub seed: u64,
    pub previous_samples: u64,
    pub current_samples: u64,
    pub percentiles: Vec<PercentileChange>,
}

/// A value in the previous run and in this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pair<T> {
    pub previous: T,
    pub current: T,
}

/// A relative criterion's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Within the limit, or the growth is not significant.
    Pass,
    /// Above the limit and significant: NO-GO.
    Breach,
    /// Not tested (too few samples, an older report): never a NO-GO.
    NotJudged,
}

/// One of the team's relative criteria, judged on the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleResult {
    pub criterion: RelativeCriterion,
    /// The rule in words, as the team's own (not the contract's).
    pub rule: String,
    /// `current / previous - 1` of the metric; `null` without both values.
    pub growth: Option<f64>,
    /// Whether the growth is significant; `null` when not tested.
    pub significant: Option<bool>,
    pub status: RuleStatus,
    /// One sentence: what was observed and why this status.
    pub reason: String,
}

/// This run next to an earlier report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    pub previous: PreviousRun,
    pub matched_by: MatchedBy,
    /// What the reader must know: contract versions that differ, samples the
    /// previous report does not keep, too few samples to test.
    pub notes: Vec<String>,
    /// Failed now, not failed before (or not run before).
    pub newly_failing: Vec<CaseChange>,
    /// Passed now, failed or warned before.
    pub newly_passing: Vec<CaseChange>,
    /// Warned now, not warned before.
    pub newly_warned: Vec<CaseChange>,
    pub latency: LatencyComparison,
    pub success_rate: Pair<Option<f64>>,
    pub requests_total: Pair<u64>,
    pub requests_matching: Pair<u64>,
    /// The team's relative criteria (`[[compare.criteria]]`), in the order configured.
    pub rules: Vec<RuleResult>,
}

impl Comparison {
    /// The rules broken: each makes the verdict NO-GO.
    pub fn breaches(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.status == RuleStatus::Breach)
    }
}
