//! GitHub Actions: the report as workflow commands, step outputs and a step
//! summary, within GitHub's limits. Text only; `gonogo_harness::github`
//! prints the commands and appends the rest to the files GitHub names.
//!
//! - **Workflow commands** `::error title=…::message`, escaped as
//!   `@actions/core` does (`command.ts`): data `%`→`%25`, CR→`%0D`,
//!   LF→`%0A`; property values also `:`→`%3A` and `,`→`%2C`. `%` goes first,
//!   so a literal `%0A` arrives as `%250A`, never as a newline.
//! - **Annotations**: an `::error` per failed criterion or case, a
//!   `::warning` per inconclusive criterion, warned check or skipped case. A
//!   failed or warned check's title names the contract clauses it is cited
//!   under, and its message quotes them. GitHub shows 10 of each kind per
//!   step and drops the rest silently, so each kind is cut to 10: the 9 most
//!   important and one line counting the others. Most important first
//!   ([`Importance`]): security and isolation criteria, then security and
//!   isolation cases, then the other criteria, then the other cases; within a
//!   rank warned checks before skipped cases (a finding about the server
//!   before one about the run), each in the Markdown's order (gates, then suites).
//! - **Outputs** (`$GITHUB_OUTPUT`): `verdict` (`GO`, `NO-GO`,
//!   `INCONCLUSIVE`: the JSON's spelling), `decision` (the report's
//!   `decision` object as one line of JSON, for `fromJSON`) and `reasons` (one
//!   per line), each in the heredoc form with a random delimiter.
//! - **Step summary** (`$GITHUB_STEP_SUMMARY`): the Markdown decision
//!   document, at most 1 MiB; when bigger, the evidence goes first, then the
//!   sections after the decision. The decision, verdict, reasons and warnings
//!   stay whole.

use crate::canary_plan::CanaryPlan;
use crate::model::{CaseResult, Criterion, CriterionStatus, Outcome, Report};
use crate::signoff::ApprovalSummary;

use super::{clauses, fmt_criterion_observed, fmt_threshold, markdown};

/// Annotations of one kind (errors, warnings) GitHub shows per step.
pub const ANNOTATIONS_PER_KIND: usize = 10;

/// The most a step summary may hold: GitHub refuses a bigger one whole.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::name key=value,key=value::message`. Properties with an empty value
/// are left out, as `@actions/core` leaves them out.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let sep = if props.is_empty() { "" } else { " " };
    format!("::{name}{sep}{}::{}", props.join(","), escape_data(message))
}

/// How much an annotation matters; the order annotations are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Importance {
    /// `security_violations`, `rls_isolation_verified`: any failure is NO-GO.
    SecurityCriterion,
    /// A case of Gate 2 (security), the RLS gate or Suite B (isolation), or
    /// one whose id names cross-tenant isolation.
    SecurityCase,
    /// The other criteria (suites, gates, latency, success rate).
    Criterion,
    /// Every other case.
    Case,
}

/// One annotation before it becomes a workflow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub importance: Importance,
    /// The case id or criterion name.
    pub title: String,
    /// One sentence: why.
    pub message: String,
}

const SECURITY_CRITERIA: [&str; 2] = ["security_violations", "rls_isolation_verified"];
const SECURITY_GATES: [&str; 2] = ["gate_2_security", "rls_database"];
const ISOLATION_SUITE: &str = "B";

fn is_isolation_case(id: &str) -> bool {
    id.contains("cross_tenant") || id.contains("isolat")
}

fn criterion_annotation(c: &Criterion) -> Annotation {
    let importance = if SECURITY_CRITERIA.contains(&c.name.as_str()) {
        Importance::SecurityCriterion
    } else {
        Importance::Criterion
    };
    let status = match c.status {
        CriterionStatus::Inconclusive => "inconclusive, ",
        _ => "",
    };
    Annotation {
        importance,
        title: c.name.clone(),
        message: format!(
            "{}: {status}observed {}, threshold {} ({} samples).",
            c.description,
            fmt_criterion_observed(c),
            fmt_threshold(c),
            c.samples
        ),
    }
}

fn case_annotation(c: &CaseResult, security_section: bool) -> Annotation {
    let importance = if security_section || is_isolation_case(&c.id) {
        Importance::SecurityCase
    } else {
        Importance::Case
    };
    let why = c.message.as_deref().unwrap_or("no message");
    let cited = match c.outcome {
        Outcome::Failed | Outcome::Warned => clauses::cited(c),
        _ => Vec::new(),
    };
    let ids: Vec<&str> = cited.iter().map(|k| k.id.as_str()).collect();
    let title = if ids.is_empty() {
        c.id.clone()
    } else {
        format!("{} ({})", c.id, ids.join(", "))
    };
    let mut message = match c.outcome {
        Outcome::Skipped => format!("Skipped: {why}"),
        Outcome::Warned => format!("Warned (never a NO-GO): {why}"),
        _ => why.to_string(),
    };
    for clause in cited {
        message.push_str(&format!(" — {}", clauses::quoted(clause)));
    }
    Annotation {
        importance,
        title,
        message,
    }
}

/// The report's errors (failed criteria and cases) and warnings
/// (inconclusive criteria, warned checks, skipped cases), each most
/// important first.
pub fn findings(report: &Report) -> (Vec<Annotation>, Vec<Annotation>) {
    let (mut errors, mut warnings, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for c in &report.criteria {
        match c.status {
            CriterionStatus::Fail => errors.push(criterion_annotation(c)),
            CriterionStatus::Inconclusive => warnings.push(criterion_annotation(c)),
            CriterionStatus::Pass => {}
        }
    }
    let gates = report
        .gates
        .iter()
        .map(|g| (SECURITY_GATES.contains(&g.id.as_str()), &g.checks));
    let suites = report
        .suites
        .iter()
        .map(|s| (s.id == ISOLATION_SUITE, &s.cases));
    for (security, cases) in gates.chain(suites) {
        for c in cases {
            match c.outcome {
                Outcome::Failed => errors.push(case_annotation(c, security)),
                Outcome::Warned => warnings.push(case_annotation(c, security)),
                Outcome::Skipped => skipped.push(case_annotation(c, security)),
                Outcome::Passed => {}
            }
        }
    }
    if let Some(c) = &report.comparison {
        for r in c.breaches() {
            errors.push(Annotation {
                importance: Importance::Criterion,
                title: format!("team rule {}", r.criterion.metric.name()),
                message: format!(
                    "The team's own rule (gonogo.toml, not the contract): {}. {}",
                    r.rule, r.reason
                ),
            });
        }
    }
    warnings.append(&mut skipped);
    // Stable: within a rank, the document's order.
    errors.sort_by_key(|a| a.importance);
    warnings.sort_by_key(|a| a.importance);
    (errors, warnings)
}

/// At most [`ANNOTATIONS_PER_KIND`] commands named `name`: all of them when
/// they fit, else the first 9 and one line saying how many more `what` there are.
fn capped(name: &str, found: &[Annotation], what: &str) -> Vec<String> {
    let shown = if found.len() > ANNOTATIONS_PER_KIND {
        ANNOTATIONS_PER_KIND - 1
    } else {
        found.len()
    };
    let mut lines: Vec<String> = found[..shown]
        .iter()
        .map(|a| command(name, &[("title", &a.title)], &a.message))
        .collect();
    if shown < found.len() {
        let more = found.len() - shown;
        lines.push(command(
            name,
            &[("title", "gonogo")],
            &format!(
                "{more} more {what} not annotated here (GitHub shows {ANNOTATIONS_PER_KIND} per step): see the step summary or the report."
            ),
        ));
    }
    lines
}

/// The workflow commands for `report`: `::error` lines, then `::warning`
/// lines, at most [`ANNOTATIONS_PER_KIND`] of each. A GO report has none.
pub fn annotations(report: &Report) -> Vec<String> {
    let (errors, warnings) = findings(report);
    let mut lines = capped("error", &errors, "failed criteria and cases");
    lines.extend(capped(
        "warning",
        &warnings,
        "inconclusive criteria, warned checks and skipped cases",
    ));
    if let Some(c) = &report.comparison {
        lines.push(command(
            "notice",
            &[("title", "gonogo comparison")],
            &super::compared::summary(c),
        ));
    }
    lines
}

/// A value that holds the heredoc delimiter it was to be written with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the value of output `{0}` contains its delimiter")]
pub struct DelimiterInValue(pub String);

/// One `$GITHUB_OUTPUT` entry, ending in a newline: `name<<DELIMITER` /
/// value / `DELIMITER`, for every value: the `name=value` form would let a
/// line break that reaches a value (from a target URL or a flag) start an
/// output of its own.
pub fn output(name: &str, value: &str, delimiter: &str) -> Result<String, DelimiterInValue> {
    if value.contains(delimiter) || name.contains(delimiter) {
        return Err(DelimiterInValue(name.to_string()));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// The step outputs: `verdict`, `decision` (one line of JSON) and `reasons`
/// (one per line). `delimiter` should be random (`ghadelimiter_<uuid>`).
pub fn outputs(report: &Report, delimiter: &str) -> Result<String, DelimiterInValue> {
    let d = &report.decision;
    let decision = serde_json::to_string(d).expect("a decision serialises");
    Ok([
        output("verdict", d.verdict.label(), delimiter)?,
        output("decision", &decision, delimiter)?,
        output("reasons", &d.reasons.join("\n"), delimiter)?,
    ]
    .concat())
}

fn trim_note(full_report: &str, cut: bool) -> String {
    let what = if cut {
        "the evidence is left out and the document stops before its end"
    } else {
        "the evidence (requests and responses) is left out"
    };
    format!(
        "> ✂️ **Trimmed to fit GitHub's 1 MiB step summary:** {what}. The full report is `{}`.\n\n",
        full_report.replace('`', "")
    )
}

/// The Markdown for `$GITHUB_STEP_SUMMARY` in at most `budget` bytes: the
/// whole document when it fits; else without evidence, with a note naming
/// `full_report`; else also cut after the last whole section that fits. The
/// decision (title, status, reasons, waivers) is never cut: should it alone
/// exceed `budget`, it is returned whole, over budget.
pub fn step_summary(
    report: &Report,
    approval: &ApprovalSummary,
    plan: &CanaryPlan,
    budget: usize,
    full_report: &str,
) -> String {
    let (head, rest) = markdown::render_parts(report, approval, plan);
    if head.len() + rest.len() <= budget {
        return head + &rest;
    }
    let (_, lean) = markdown::render_parts(&markdown::without_evidence(report), approval, plan);
    let note = trim_note(full_report, false);
    if head.len() + note.len() + lean.len() <= budget {
        return head + &note + &lean;
    }
    let note = trim_note(full_report, true);
    let room = budget.saturating_sub(head.len() + note.len());
    head + &note + markdown::whole_sections(&lean, room)
}

#[cfg(test)]
mod tests;
