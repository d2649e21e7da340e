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

use crate::model::comparison::percent;
pub use crate::model::comparison::{
    CaseChange, Comparison, LatencyComparison, LatencyMetric, MatchedBy, Pair, PercentileChange,
    PreviousRun, RelativeCriterion, RuleResult, RuleStatus,
};
use crate::model::{Outcome, Report, Verdict};

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
