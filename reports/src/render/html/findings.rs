//! The HTML's findings: the count of each outcome, the Warnings section under
//! the decision, and the failed and warned checks grouped by the contract
//! clause they cite, each clause quoted (the Markdown's [`findings`] as HTML).
//!
//! [`findings`]: super::super::markdown

use maud::{html, Markup};

use crate::model::{CaseResult, Outcome, Report};
use crate::render::clauses::{self, ClauseGroup, Span};

use super::{badge, outcome_badge};

/// `27 checks: [24 passed] [1 failed] [2 warned]`: every suite case and
/// gate check, by outcome (those that occur), each in its outcome's colour.
pub(super) fn tally(report: &Report) -> Markup {
    let total = report.cases().count();
    let counts: Vec<(Outcome, usize)> = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::Warned,
        Outcome::Skipped,
    ]
    .into_iter()
    .map(|o| (o, report.cases().filter(|c| c.outcome == o).count()))
    .filter(|(_, n)| *n > 0)
    .collect();
    html! {
        p id="tally" {
            (total) " checks: "
            @for (i, (outcome, n)) in counts.iter().enumerate() {
                @if i > 0 { " " }
                (badge(outcome.label(), &format!("{n} {}", outcome.label())))
            }
        }
    }
}

/// A clause's words, its code spans and bold kept, the rest text.
fn words(words: &str) -> Markup {
    html! {
        @for span in clauses::spans(words) {
            @match span {
                Span::Text(t) => { (t) }
                Span::Code(t) => { code { (t) } }
                Span::Strong(t) => { strong { (t) } }
            }
        }
    }
}

/// `should errors.x, expected y`: the clauses a check is cited under.
pub(super) fn cites(check: &CaseResult) -> Markup {
    html! {
        @for (i, c) in clauses::cited(check).into_iter().enumerate() {
            @if i > 0 { ", " }
            (c.level.label()) " " code { (c.id) }
        }
    }
}

/// The Warnings section: each warned check with its message and the clauses
/// it cites. Nothing when there is none.
pub(super) fn warnings(report: &Report) -> Markup {
    let warnings = clauses::warnings(report);
    html! {
        @if !warnings.is_empty() {
            section id="warnings" {
                h2 { "Warnings" }
                p.note { "Never a NO-GO: each failed only a " em { "should" }
                         " of the contract, or an expectation it does not state." }
                ul.warnings { @for (check, message) in &warnings {
                    li {
                        (badge("warned", "warned")) " "
                        @if let Some(c) = check {
                            code { (c.id) }
                            @if !c.clauses.is_empty() { " (" (cites(c)) ")" }
                            ": "
                        }
                        (message)
                    }
                } }
            }
        }
    }
}

/// "Failed, by contract clause" (or "Warned, …"): one entry per clause with
/// its level, section and words, then the first check citing it with its
/// first finding and failing request, the rest folded under their count.
/// Nothing when no such check cites a clause.
pub(super) fn by_clause(report: &Report, outcome: Outcome) -> Markup {
    let groups = clauses::by_clause(report, outcome);
    let (id, title) = match outcome {
        Outcome::Warned => ("warned-by-clause", "Warned, by contract clause"),
        _ => ("failed-by-clause", "Failed, by contract clause"),
    };
    html! {
        @if !groups.is_empty() {
            section id=(id) {
                h2 { (title) }
                @for ClauseGroup { clause, checks } in &groups {
                    div class=(format!("clause clause-{}", outcome.label())) {
                        @match clause {
                            Some(c) => {
                                h3 { code { (c.id) } " " span class=(format!("level level-{}", c.level.label())) { (c.level.label()) }
                                     " " span.section { (c.section) } }
                                blockquote { (words(&c.words)) }
                            }
                            None => { h3 { "No clause cited" } }
                        }
                        // The first check with its first evidence; the rest folded.
                        ul { (check_item(checks[0], true)) }
                        @if checks.len() > 1 {
                            details.more-checks {
                                summary { "… and " (checks.len() - 1) " more under this clause" }
                                ul { @for check in &checks[1..] { (check_item(check, false)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One check under a clause: its first finding, and for the first of a
/// clause its first failing request.
fn check_item(check: &CaseResult, with_evidence: bool) -> Markup {
    html! {
        li { (outcome_badge(check.outcome)) " " code { (check.id) } ": "
             (clauses::first_finding(check.message.as_deref()))
             @if with_evidence { @if let Some(e) = clauses::first_evidence(check) { br; span.evidence { (e) } } } }
    }
}
