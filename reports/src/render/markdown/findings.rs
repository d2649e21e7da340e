//! The Markdown's findings: the Warnings section under the decision, and the
//! failed and warned checks grouped by the contract clause they cite, each
//! clause quoted, so a reader judges the server against the contract's words.

use std::fmt::Write as _;

use crate::model::{CaseResult, Outcome, Report};
use crate::render::clauses::{self, ClauseGroup, Span};

use super::{cell, icon};

/// A check id as inline code (ids hold `_` and `:`; a backtick cannot occur
/// in one, and is dropped should it ever).
fn code(id: &str) -> String {
    format!("`{}`", id.replace('`', ""))
}

/// A clause's words, its code spans and bold kept, the rest escaped.
fn words(words: &str) -> String {
    clauses::spans(words)
        .into_iter()
        .map(|s| match s {
            Span::Text(t) => cell(t),
            Span::Code(t) => format!("`{}`", t.replace(['\n', '\r'], " ")),
            Span::Strong(t) => format!("**{}**", cell(t)),
        })
        .collect()
}

/// The clause ids a check is cited under, as `should `a.b`, must `c.d``.
fn cited_ids(check: &CaseResult) -> String {
    clauses::cited(check)
        .iter()
        .map(|c| format!("{} {}", c.level, code(&c.id)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Contract: must `auth.missing-token``, in a failed or warned case's
/// details; the words are in the by-clause section.
pub(super) fn cites(md: &mut String, check: &CaseResult) {
    if !check.clauses.is_empty() {
        let _ = writeln!(md, "Contract: {}.\n", cited_ids(check));
    }
}

/// `## Warnings`: each warned check with its message and the clauses it
/// cites. Nothing when there is none.
pub(super) fn warnings(md: &mut String, report: &Report) {
    let warnings = clauses::warnings(report);
    if warnings.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Warnings\n\nNever a NO-GO: each failed only a *should* of the contract, or an expectation it does not state.\n"
    );
    for (check, message) in warnings {
        match check {
            Some(c) if !c.clauses.is_empty() => {
                let _ = writeln!(
                    md,
                    "- ⚠️ {} ({}): {}",
                    code(&c.id),
                    cited_ids(c),
                    cell(message)
                );
            }
            Some(c) => {
                let _ = writeln!(md, "- ⚠️ {}: {}", code(&c.id), cell(message));
            }
            None => {
                let _ = writeln!(md, "- ⚠️ {}", cell(message));
            }
        }
    }
    md.push('\n');
}

/// `## Failed, by contract clause` (or `Warned`): one entry per clause with
/// its level, section and words, then the first check citing it with its
/// first finding and first failing evidence, and the count of the rest.
/// Nothing when no such check cites a clause.
pub(super) fn by_clause(md: &mut String, report: &Report, outcome: Outcome) {
    let groups = clauses::by_clause(report, outcome);
    if groups.is_empty() {
        return;
    }
    let title = match outcome {
        Outcome::Warned => "Warned",
        _ => "Failed",
    };
    let _ = writeln!(md, "## {title}, by contract clause\n");
    for ClauseGroup { clause, checks } in groups {
        match clause {
            Some(c) => {
                let _ = writeln!(
                    md,
                    "### {} ({}, {})\n\n> {}\n",
                    code(&c.id),
                    c.level,
                    cell(&c.section),
                    words(&c.words)
                );
            }
            None => {
                let _ = writeln!(md, "### No clause cited\n");
            }
        }
        // The first check with its first evidence; the rest are counted
        // (each is in its suite's table, and all of them in the JSON).
        let first = checks[0];
        let _ = writeln!(
            md,
            "- {} {}: {}",
            icon(first.outcome),
            code(&first.id),
            cell(&clauses::short(
                &clauses::first_finding(first.message.as_deref()),
                300
            ))
        );
        if let Some(evidence) = clauses::first_evidence(first) {
            let _ = writeln!(md, "  - {}", cell(&evidence));
        }
        if checks.len() > 1 {
            let _ = writeln!(
                md,
                "- … and {} more {} under this clause",
                checks.len() - 1,
                if checks.len() == 2 { "check" } else { "checks" }
            );
        }
        md.push('\n');
    }
}
