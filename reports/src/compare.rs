//! This run next to an earlier report: cases newly failing, passing and
//! warned; the latency phase's percentiles side by side with a test of
//! whether they really moved ([`stats`]: a seeded bootstrap interval of each
//! percentile's ratio); success rate and request counts; and the team's own
//! relative criteria ([`RelativeCriterion`], `[[compare.criteria]]` in
//! `gonogo.toml`) judged on it.
//!
//! A relative criterion is the team's rule, not the contract's: it is off
//! unless a team sets one, and it is broken only by a growth above its limit
//! *that is significant*; then the verdict is NO-GO with a reason naming it.
//! An insignificant change, or one that cannot be tested (fewer than
//! [`stats::MIN_SAMPLES`] searches, or an older report without samples), never is.
//!
//! Cases are matched by id when both runs were judged by the same contract
//! version; across versions (or against a report that does not name its
//! version) by the contract clauses they guard, and the comparison says so.

pub mod stats;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{LatencyStats, Mode, Outcome, Report, Verdict};

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
fn percent(share: f64) -> String {
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

/// Compares `current` with `previous` (read from `source`) and judges `criteria` on it.
pub fn compare(
    current: &Report,
    previous: &Report,
    source: &str,
    criteria: &[RelativeCriterion],
) -> Comparison {
    let mut notes = Vec::new();
    let same_contract = match (
        &previous.run.contract_version,
        &current.run.contract_version,
    ) {
        (Some(p), Some(c)) if p == c => true,
        (Some(p), Some(c)) => {
            notes.push(format!("The previous run was judged by contract {p} and this one by contract {c}: cases are compared by the contract clause they guard."));
            false
        }
        _ => {
            notes.push(format!("The previous report (schema {}) does not name its contract version: cases are compared by the contract clause they guard.", previous.schema_version));
            false
        }
    };
    let (matched_by, before, now) = if same_contract {
        (MatchedBy::Case, by_case(previous), by_case(current))
    } else {
        (MatchedBy::Clause, by_clause(previous), by_clause(current))
    };
    let changes = |keep: fn(Option<Outcome>, Outcome) -> bool| -> Vec<CaseChange> {
        now.iter()
            .filter_map(|(id, (title, current))| {
                let previous = before.get(id).map(|(_, o)| *o);
                keep(previous, *current).then(|| CaseChange {
                    id: id.clone(),
                    title: title.clone(),
                    previous,
                    current: *current,
                })
            })
            .collect()
    };
    let newly_failing = changes(|p, c| c == Outcome::Failed && p != Some(Outcome::Failed));
    let newly_passing = changes(|p, c| {
        c == Outcome::Passed && matches!(p, Some(Outcome::Failed | Outcome::Warned))
    });
    let newly_warned = changes(|p, c| c == Outcome::Warned && p != Some(Outcome::Warned));
    let latency = latency(previous, current, &mut notes);
    let rules = criteria.iter().map(|c| judge(c, &latency)).collect();
    let (p, c) = (&previous.metrics, &current.metrics);
    Comparison {
        previous: PreviousRun {
            id: previous.run.id.clone(),
            started_at: previous.run.started_at,
            verdict: previous.decision.verdict,
            git_commit: previous.run.target.git_commit.clone(),
            mode: previous.run.mode,
            contract_version: previous.run.contract_version.clone(),
            schema_version: previous.schema_version.clone(),
            source: source.to_owned(),
        },
        matched_by,
        notes,
        newly_failing,
        newly_passing,
        newly_warned,
        latency,
        success_rate: Pair {
            previous: p.success_rate,
            current: c.success_rate,
        },
        requests_total: Pair {
            previous: p.requests_total,
            current: c.requests_total,
        },
        requests_matching: Pair {
            previous: p.requests_matching,
            current: c.requests_matching,
        },
        rules,
    }
}

/// Each case by id: its title and outcome.
fn by_case(r: &Report) -> BTreeMap<String, (String, Outcome)> {
    r.cases()
        .map(|c| (c.id.clone(), (c.title.clone(), c.outcome)))
        .collect()
}

/// How bad an outcome is, to take a clause's worst case.
fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::Passed => 0,
        Outcome::Skipped => 1,
        Outcome::Warned => 2,
        Outcome::Failed => 3,
    }
}

/// Each clause the cases guard: its words and the worst outcome of its cases.
fn by_clause(r: &Report) -> BTreeMap<String, (String, Outcome)> {
    let mut out: BTreeMap<String, (String, Outcome)> = BTreeMap::new();
    for case in r.cases() {
        for clause in &case.clauses {
            let entry = out
                .entry(clause.id.clone())
                .or_insert_with(|| (clause.words.clone(), case.outcome));
            if severity(case.outcome) > severity(entry.1) {
                entry.1 = case.outcome;
            }
        }
    }
    out
}

/// The latency phase's percentiles side by side, tested when both runs kept
/// at least [`stats::MIN_SAMPLES`] samples.
fn latency(previous: &Report, current: &Report, notes: &mut Vec<String>) -> LatencyComparison {
    let (p, c) = (
        &previous.metrics.latency_phase,
        &current.metrics.latency_phase,
    );
    let seed = stats::seed_of(&previous.run.id, &current.run.id);
    let shares: Vec<f64> = LatencyMetric::ALL.iter().map(|m| m.share()).collect();
    let tested = if p.samples_ms.is_empty() && p.count > 0 {
        notes.push(format!("The previous report (schema {}) keeps no latency samples: its percentiles are shown, but no difference is tested and no relative criterion is judged.", previous.schema_version));
        None
    } else if p.samples_ms.len() < stats::MIN_SAMPLES || c.samples_ms.len() < stats::MIN_SAMPLES {
        notes.push(format!(
            "A latency difference is tested only with at least {} searches in each run (previous {}, this run {}): none is tested and no relative criterion is judged.",
            stats::MIN_SAMPLES,
            p.samples_ms.len(),
            c.samples_ms.len()
        ));
        None
    } else {
        stats::ratio_intervals(&p.samples_ms, &c.samples_ms, &shares, seed)
    };
    let percentiles = LatencyMetric::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (before, now) = (m.of(p), m.of(c));
            let interval = tested.as_ref().map(|t| t[i]);
            PercentileChange {
                metric: *m,
                previous_ms: before,
                current_ms: now,
                ratio: match (before, now) {
                    (Some(b), Some(n)) if b > 0.0 => Some(n / b),
                    _ => None,
                },
                ratio_low: interval.map(|i| i.low),
                ratio_high: interval.map(|i| i.high),
                significant: interval.map(|i| i.significant()),
            }
        })
        .collect();
    LatencyComparison {
        method: format!(
            "percentile bootstrap: each run's searches resampled {} times with replacement, the {} % interval of the ratio current / previous of each percentile (nearest rank); significant when the interval leaves out 1; tested with at least {} searches in each run",
            stats::RESAMPLES,
            stats::CONFIDENCE * 100.0,
            stats::MIN_SAMPLES
        ),
        seed,
        previous_samples: p.count,
        current_samples: c.count,
        percentiles,
    }
}

/// Judges one relative criterion: a breach needs growth above the limit and significant.
fn judge(criterion: &RelativeCriterion, latency: &LatencyComparison) -> RuleResult {
    let change = latency
        .percentiles
        .iter()
        .find(|p| p.metric == criterion.metric);
    let growth = change.and_then(|c| c.ratio).map(|r| r - 1.0);
    let interval = change.and_then(|c| Some((c.ratio_low?, c.ratio_high?)));
    let name = criterion.metric.name();
    let (significant, status, reason) = match (growth, interval) {
        (None, _) => (
            None,
            RuleStatus::NotJudged,
            format!("{name} is not known in both runs: not judged."),
        ),
        (Some(g), None) => (
            None,
            RuleStatus::NotJudged,
            format!(
                "{name} changed by {}, but the difference could not be tested (see the notes): not judged.",
                signed_percent(g)
            ),
        ),
        (Some(g), Some((low, high))) => {
            let grew = low > 1.0;
            let range = format!(
                "95 % interval of the ratio {:.2}–{:.2}",
                low, high
            );
            if grew && g > criterion.max_growth {
                (
                    Some(true),
                    RuleStatus::Breach,
                    format!(
                        "{name} grew by {} ({range}), above the team's limit of {}, and the growth is significant.",
                        signed_percent(g),
                        percent(criterion.max_growth)
                    ),
                )
            } else if grew {
                (
                    Some(true),
                    RuleStatus::Pass,
                    format!(
                        "{name} grew by {} ({range}): significant, but within the team's limit of {}.",
                        signed_percent(g),
                        percent(criterion.max_growth)
                    ),
                )
            } else {
                (
                    Some(false),
                    RuleStatus::Pass,
                    format!(
                        "{name} changed by {} ({range}): no significant growth.",
                        signed_percent(g)
                    ),
                )
            }
        }
    };
    RuleResult {
        criterion: *criterion,
        rule: criterion.words(),
        growth,
        significant,
        status,
        reason,
    }
}

/// `+71 %`, `-3.5 %`.
fn signed_percent(share: f64) -> String {
    let sign = if share >= 0.0 { "+" } else { "-" };
    format!("{sign}{}", percent(share.abs()))
}

/// Puts `comparison` into `report`: each broken rule makes the verdict NO-GO,
/// its reason first, naming the rule as the team's own.
pub fn apply(report: &mut Report, comparison: Comparison) {
    let reasons: Vec<String> = comparison
        .breaches()
        .map(|r| {
            format!(
                "Team rule broken (gonogo.toml, not the contract): {}. Compared with run {}: {}",
                r.rule, comparison.previous.id, r.reason
            )
        })
        .collect();
    if !reasons.is_empty() {
        report.decision.verdict = Verdict::NoGo;
        report.decision.reasons.splice(0..0, reasons);
    }
    report.comparison = Some(comparison);
}

#[cfg(test)]
mod tests;
