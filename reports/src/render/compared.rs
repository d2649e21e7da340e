//! The words every rendering of the "Compared with" section shares, so the
//! Markdown, HTML, JUnit and GitHub lines say the same thing.

use crate::compare::{CaseChange, Comparison, MatchedBy, PercentileChange, RuleStatus};
use crate::model::Outcome;

/// The section's heading.
pub const HEADING: &str = "Compared with an earlier run";

/// The heading of the team's rules: never the contract's.
pub const RULES_HEADING: &str = "The team's own rules (gonogo.toml, not the contract)";

/// `run 1b2c… (2026-12-07 01:00 UTC, GO, commit 3f2a9c1)`.
pub fn previous(c: &Comparison) -> String {
    let p = &c.previous;
    format!(
        "run {} ({}, {}, commit {})",
        p.id,
        p.started_at.format("%Y-%m-%d %H:%M UTC"),
        p.verdict,
        p.git_commit.as_deref().unwrap_or("unknown")
    )
}

/// How cases were matched, in words.
pub fn matched_by(c: &Comparison) -> &'static str {
    match c.matched_by {
        MatchedBy::Case => "cases matched by id (same contract version)",
        MatchedBy::Clause => "cases matched by the contract clause they guard",
    }
}

/// One line for a CI log: the previous run, what changed, the rules.
pub fn summary(c: &Comparison) -> String {
    let mut parts = vec![format!("compared with {}", previous(c))];
    if let Some(p95) = c
        .latency
        .percentiles
        .iter()
        .find(|p| p.metric == crate::compare::LatencyMetric::SearchP95)
    {
        parts.push(format!("search p95 {}", ratio(p95)));
    }
    parts.push(format!(
        "{} newly failing, {} newly passing, {} newly warned",
        c.newly_failing.len(),
        c.newly_passing.len(),
        c.newly_warned.len()
    ));
    let broken = c.breaches().count();
    if !c.rules.is_empty() {
        parts.push(format!("{} of {} team rules broken", broken, c.rules.len()));
    }
    parts.join("; ")
}

/// `×1.71`, or `n/a`.
pub fn times(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("×{r:.2}"))
}

/// `[1.52, 1.93]`, or `not tested`.
pub fn interval(p: &PercentileChange) -> String {
    match (p.ratio_low, p.ratio_high) {
        (Some(low), Some(high)) => format!("[{low:.2}, {high:.2}]"),
        _ => "not tested".into(),
    }
}

/// `yes`, `no`, or `not tested`.
pub fn significant(s: Option<bool>) -> &'static str {
    match s {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not tested",
    }
}

/// `×1.71 [1.52, 1.93], significant`.
pub fn ratio(p: &PercentileChange) -> String {
    let verdict = match p.significant {
        Some(true) => "significant",
        Some(false) => "not significant",
        None => "not tested",
    };
    match (p.ratio_low, p.ratio_high) {
        (Some(_), Some(_)) => format!("{} {}, {verdict}", times(p.ratio), interval(p)),
        _ => format!("{} ({verdict})", times(p.ratio)),
    }
}

/// A rule's result as a word, a breach in capitals.
pub fn rule_status(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Pass => "pass",
        RuleStatus::Breach => "BROKEN",
        RuleStatus::NotJudged => "not judged",
    }
}

/// `+71 %`, or `n/a`.
pub fn growth(g: Option<f64>) -> String {
    g.map_or_else(
        || "n/a".into(),
        |g| format!("{}{:.0} %", if g >= 0.0 { "+" } else { "" }, g * 100.0),
    )
}

/// The changed cases, each with its kind: newly failing, then passing, then warned.
pub fn changes(c: &Comparison) -> Vec<(&'static str, &CaseChange)> {
    let failing = c.newly_failing.iter().map(|x| ("newly failing", x));
    let passing = c.newly_passing.iter().map(|x| ("newly passing", x));
    let warned = c.newly_warned.iter().map(|x| ("newly warned", x));
    failing.chain(passing).chain(warned).collect()
}

/// An outcome before, `not run` when the case (or clause) is new.
pub fn before(o: Option<Outcome>) -> &'static str {
    o.map_or("not run", Outcome::label)
}
