//! Markdown rendering: the release decision document, fit for a PR comment or
//! `$GITHUB_STEP_SUMMARY`.
//!
//! Order follows the release plan: status and decision (with the warnings),
//! the failed and warned checks by contract clause ([`findings`]), deployment
//! facts, Phase 1 gates, smoke suites, metrics against thresholds, canary
//! schedule and rollback plan, sign-off. Every piece of report text goes through
//! [`cell`] or [`fenced`], so a `|`, `<` or backtick in evidence cannot break
//! the layout or inject HTML.

mod findings;

use std::fmt::Write as _;

use crate::canary_plan::CanaryPlan;
use crate::model::{CaseResult, CriterionStatus, Outcome, Report};
use crate::signoff::{ApprovalState, ApprovalSummary, CheckStatus};

use super::{
    clauses, fmt_ci, fmt_criterion_observed, fmt_ms, fmt_opt_ms, fmt_rate, fmt_threshold,
    fmt_warnings, outcome_label,
};
use crate::label::{evidence_text, metric_value, metric_verdict};

/// Escapes text for a Markdown table cell or paragraph.
pub(crate) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{text}\n{fence}\n")
}

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✅",
        Outcome::Failed => "❌",
        Outcome::Skipped => "⏭️",
        Outcome::Warned => "⚠️",
    }
}

/// GitHub refuses a comment longer than 65,536 characters; `go-no-go.md` is
/// posted as one (a byte count, which is never below the character count).
pub const PR_COMMENT_LIMIT: usize = 65_536;

/// Decision reasons shown before the rest is counted.
const MAX_REASONS: usize = 10;

/// Pieces of evidence a failed case shows, and characters of each.
const MAX_EVIDENCE: usize = 2;
const MAX_EVIDENCE_CHARS: usize = 1_500;

/// Renders the decision document, under [`PR_COMMENT_LIMIT`] whatever failed:
/// the whole document when it fits, else without evidence, else cut after the
/// last whole section that fits, each with a note (the full evidence stays in
/// the JSON and HTML).
pub fn render(report: &Report, approval: &ApprovalSummary, plan: &CanaryPlan) -> String {
    let (head, rest) = render_parts(report, approval, plan);
    let room = PR_COMMENT_LIMIT - 1_024;
    if head.len() + rest.len() <= room {
        return head + &rest;
    }
    let (_, lean) = render_parts(&without_evidence(report), approval, plan);
    let note = "> ✂️ **Trimmed to fit a PR comment:** the evidence (requests and responses) is left out; `go-no-go.json` and `go-no-go.html` hold all of it.\n\n";
    if head.len() + note.len() + lean.len() <= room {
        return head + note + &lean;
    }
    let note = "> ✂️ **Trimmed to fit a PR comment:** the evidence is left out and the document stops before its end; `go-no-go.json` and `go-no-go.html` hold all of it.\n\n";
    let left = room.saturating_sub(head.len() + note.len());
    head + note + whole_sections(&lean, left)
}

/// `report` without its evidence: the requests and responses behind each
/// case and the canary's failing probes. Messages and everything else stay.
pub(crate) fn without_evidence(report: &Report) -> Report {
    let mut lean = report.clone();
    for c in lean.cases_mut() {
        c.evidence.clear();
    }
    if let Some(canary) = &mut lean.canary {
        canary.failures.clear();
    }
    lean
}

/// The longest run of whole sections (up to a `##`/`###` heading) of `md`
/// within `budget` bytes.
pub(crate) fn whole_sections(md: &str, budget: usize) -> &str {
    if md.len() <= budget {
        return md;
    }
    let end = md
        .match_indices("\n##")
        .map(|(i, _)| i + 1)
        .take_while(|&i| i <= budget)
        .last()
        .unwrap_or(0);
    &md[..end]
}

/// The decision document in two parts: the decision (title, status line,
/// reasons, warnings, waivers) and everything after it (findings by clause,
/// deployment, gates, suites, metrics, canary, sign-off). A step summary that must shrink cuts only
/// the second ([`super::github::step_summary`]).
pub fn render_parts(
    report: &Report,
    approval: &ApprovalSummary,
    plan: &CanaryPlan,
) -> (String, String) {
    let mut head = String::new();
    status(&mut head, report, approval);
    let mut md = String::new();
    findings::by_clause(&mut md, report, Outcome::Failed);
    findings::by_clause(&mut md, report, Outcome::Warned);
    comparison(&mut md, report);
    deployment(&mut md, report);
    gates(&mut md, report);
    suites(&mut md, report);
    metrics(&mut md, report);
    canary(&mut md, report, plan);
    signoff(&mut md, approval);
    (head, md)
}

fn status(md: &mut String, report: &Report, approval: &ApprovalSummary) {
    let verdict = report.decision.verdict;
    let mark = match report.decision.verdict {
        crate::model::Verdict::Go => "🟢",
        crate::model::Verdict::NoGo => "🔴",
        crate::model::Verdict::Inconclusive => "🟡",
    };
    let warned = clauses::warnings(report).len();
    let count = if warned > 0 {
        format!(" — {}", fmt_warnings(warned))
    } else {
        String::new()
    };
    let _ = writeln!(md, "# {mark} Release decision: {verdict}{count}\n");
    let signed = approval.required_roles.len() - approval.missing_roles.len();
    let _ = writeln!(
        md,
        "**Status:** {verdict} · sign-off **{}** ({signed}/{} required roles) · target `{}`\n",
        approval.state.label(),
        approval.required_roles.len(),
        report.run.target.base_url.replace('`', "")
    );
    let _ = writeln!(md, "## Decision\n");
    if let Some(diagnosis) = clauses::diagnosis(report) {
        let _ = writeln!(md, "**Diagnosis:** {}.\n", cell(&diagnosis));
    }
    let reasons = &report.decision.reasons;
    for reason in reasons.iter().take(MAX_REASONS) {
        // Each reason's first finding: the whole message is in its case's details.
        let _ = writeln!(
            md,
            "- {}",
            cell(&clauses::short(&clauses::first_finding(Some(reason)), 300))
        );
    }
    if reasons.len() > MAX_REASONS {
        let _ = writeln!(
            md,
            "- … and {} more: every failed check is below, by contract clause and by suite",
            reasons.len() - MAX_REASONS
        );
    }
    md.push('\n');
    findings::warnings(md, report);
    if !report.waivers.is_empty() {
        let _ = writeln!(
            md,
            "## Waivers\n\n| Criterion | Accepted because |\n|---|---|"
        );
        for w in &report.waivers {
            let _ = writeln!(
                md,
                "| `{}` | {} |",
                w.criterion.replace('`', ""),
                cell(&w.reason)
            );
        }
        md.push('\n');
    }
}

fn deployment(md: &mut String, report: &Report) {
    let run = &report.run;
    let _ = writeln!(md, "## Deployment\n\n| | |\n|---|---|");
    let rows = [
        ("Target", run.target.base_url.clone()),
        (
            "Label",
            run.target.label.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "Build (commit or version)",
            run.target
                .git_commit
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "Tool",
            format!("{} {}", report.tool.name, report.tool.version),
        ),
        ("Mode", run.mode.to_string()),
        ("Started", run.started_at.to_rfc3339()),
        ("Duration", fmt_ms(run.duration_ms as f64)),
        ("Run id", run.id.clone()),
        ("Report schema", report.schema_version.clone()),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {} |", cell(&v));
    }
    md.push('\n');
}

fn case_table(md: &mut String, cases: &[CaseResult]) {
    let _ = writeln!(md, "| Case | Result | Duration |\n|---|---|---|");
    for c in cases {
        let _ = writeln!(
            md,
            "| {} <br><sub>{}</sub> | {} {} | {} |",
            cell(&c.title),
            cell(&c.id),
            icon(c.outcome),
            outcome_label(c.outcome),
            fmt_ms(c.duration_ms as f64)
        );
    }
    md.push('\n');
    for c in cases.iter().filter(|c| c.outcome != Outcome::Passed) {
        let _ = writeln!(
            md,
            "<details><summary>{} {}: {}</summary>\n",
            icon(c.outcome),
            cell(&c.id),
            cell(&clauses::short(
                c.message.as_deref().unwrap_or("no message"),
                500
            ))
        );
        if matches!(c.outcome, Outcome::Failed | Outcome::Warned) {
            findings::cites(md, c);
        }
        for e in c.evidence.iter().take(MAX_EVIDENCE) {
            md.push_str(&fenced(&clauses::short(
                &evidence_text(e),
                MAX_EVIDENCE_CHARS,
            )));
        }
        if c.evidence.len() > MAX_EVIDENCE {
            let _ = writeln!(
                md,
                "\n… and {} more requests, in `go-no-go.json` and `go-no-go.html`.",
                c.evidence.len() - MAX_EVIDENCE
            );
        }
        md.push_str("\n</details>\n\n");
    }
}

fn gates(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Phase 1: code-quality gates\n");
    if report.gates.is_empty() {
        let _ = writeln!(md, "_No gate was run._\n");
    }
    for g in &report.gates {
        let _ = writeln!(
            md,
            "### {} {} ({})\n",
            icon(g.outcome),
            cell(&g.name),
            outcome_label(g.outcome)
        );
        case_table(md, &g.checks);
    }
}

fn suites(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Smoke suites\n");
    for s in &report.suites {
        let passed = s
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Passed)
            .count();
        let warned = s
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Warned)
            .count();
        let warned = if warned > 0 {
            format!(", {warned} warned")
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "### Suite {}: {} ({passed}/{} passed{warned})\n",
            cell(&s.id),
            cell(&s.name),
            s.cases.len()
        );
        case_table(md, &s.cases);
    }
}

fn metrics(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Metrics against thresholds\n");
    let _ = writeln!(
        md,
        "| Criterion | Observed | Threshold | Samples | Status |\n|---|---|---|---|---|"
    );
    for c in &report.criteria {
        let status = match c.status {
            CriterionStatus::Pass => "✅ pass",
            CriterionStatus::Fail => "❌ fail",
            CriterionStatus::Inconclusive if c.samples == 0 => "🟡 inconclusive (no samples)",
            CriterionStatus::Inconclusive => "🟡 inconclusive",
        };
        let waived = if report.waivers.iter().any(|w| w.criterion == c.name) {
            " (waived)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {} <br><sub>{}</sub> | {} | {} | {} | {status}{waived} |",
            cell(&c.description),
            cell(&c.name),
            cell(&fmt_criterion_observed(c)),
            cell(&fmt_threshold(c)),
            c.samples
        );
    }
    let m = &report.metrics;
    let _ = writeln!(
        md,
        "\n{} requests, {} as expected ({}); isolation checked at: {}.\n",
        m.requests_total,
        m.requests_matching,
        fmt_rate(m.success_rate),
        cell(&m.isolation_scope)
    );
    let _ = writeln!(
        md,
        "| Latency | n | p50 | p95 | p99 | max | p95 95 % CI |\n|---|---|---|---|---|---|---|"
    );
    for (name, l) in [
        ("latency phase (judged)", &m.latency_phase),
        ("search", &m.search_latency),
        ("all requests", &m.all_latency),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            l.count,
            fmt_opt_ms(l.p50_ms),
            fmt_opt_ms(l.p95_ms),
            fmt_opt_ms(l.p99_ms),
            fmt_opt_ms(l.max_ms),
            fmt_ci(&l.p95_ci)
        );
    }
    let _ = writeln!(
        md,
        "\n`query_latency_p95_ms` is judged on the latency phase alone: it passes only when the upper bound of the p95's 95 % interval is within the threshold."
    );
    md.push('\n');
}

/// "Compared with an earlier run": the previous run, the team's rules, the
/// latency side by side with its test, totals, and the cases that changed.
fn comparison(md: &mut String, report: &Report) {
    use super::compared;
    let Some(c) = &report.comparison else {
        return;
    };
    let _ = writeln!(
        md,
        "## {}
",
        compared::HEADING
    );
    let _ = writeln!(
        md,
        "This run is compared with {}, read from {}; {}.\n",
        cell(&compared::previous(c)),
        cell(&c.previous.source),
        compared::matched_by(c)
    );
    for note in &c.notes {
        let _ = writeln!(md, "> {}\n", cell(note));
    }
    if !c.rules.is_empty() {
        let _ = writeln!(
            md,
            "### {}\n\n| Rule | Growth | Significant | Result |\n|---|---|---|---|",
            compared::RULES_HEADING
        );
        for r in &c.rules {
            let _ = writeln!(
                md,
                "| {} | {} | {} | **{}**: {} |",
                cell(&r.rule),
                compared::growth(r.growth),
                compared::significant(r.significant),
                compared::rule_status(r.status),
                cell(&r.reason)
            );
        }
        md.push('\n');
    }
    let l = &c.latency;
    let _ = writeln!(
        md,
        "| Latency phase | Previous (n = {}) | This run (n = {}) | Ratio | 95 % interval | Significant |\n|---|---|---|---|---|---|",
        l.previous_samples, l.current_samples
    );
    for p in &l.percentiles {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            p.metric.name(),
            fmt_opt_ms(p.previous_ms),
            fmt_opt_ms(p.current_ms),
            compared::times(p.ratio),
            compared::interval(p),
            compared::significant(p.significant)
        );
    }
    let _ = writeln!(
        md,
        "| success rate | {} | {} | | | |\n| requests | {} | {} | | | |\n| as expected | {} | {} | | | |\n",
        fmt_rate(c.success_rate.previous),
        fmt_rate(c.success_rate.current),
        c.requests_total.previous,
        c.requests_total.current,
        c.requests_matching.previous,
        c.requests_matching.current
    );
    let _ = writeln!(md, "Test: {} (seed {}).\n", cell(&l.method), l.seed);
    let changes = compared::changes(c);
    if changes.is_empty() {
        let _ = writeln!(md, "No case changed its outcome.\n");
        return;
    }
    let _ = writeln!(md, "| Change | Case | Before | Now |\n|---|---|---|---|");
    for (kind, x) in changes {
        let _ = writeln!(
            md,
            "| {kind} | `{}` {} | {} | {} |",
            x.id.replace('`', ""),
            cell(&x.title),
            compared::before(x.previous),
            outcome_label(x.current)
        );
    }
    md.push('\n');
}

fn canary(md: &mut String, report: &Report, plan: &CanaryPlan) {
    let _ = writeln!(md, "## Canary\n");
    match &report.canary {
        None => {
            let _ = writeln!(md, "Not run yet. Schedule ({}):\n", cell(&plan.name));
            let _ = writeln!(
                md,
                "| Phase | Traffic | Duration | Roll back on |\n|---|---|---|---|"
            );
            for p in &plan.phases {
                let _ = writeln!(
                    md,
                    "| {} | {} % | {} | {} |",
                    cell(&p.display_name()),
                    p.traffic_percent,
                    cell(&p.duration),
                    cell(&p.trigger_descriptions().join(", "))
                );
            }
        }
        Some(c) => {
            let _ = writeln!(
                md,
                "**{}**: {} (plan {}, time scale {})\n",
                c.outcome,
                cell(&c.reason),
                cell(&c.plan),
                c.time_scale
            );
            let _ = writeln!(
                md,
                "| Phase | Traffic | Planned | Observed | Samples | Errors | Success | p95 | Roll back on | Verdict |\n|---|---|---|---|---|---|---|---|---|---|"
            );
            for p in &c.phases {
                let verdict = match &p.reason {
                    Some(r) => format!("{}: {}", p.verdict, r),
                    None => p.verdict.clone(),
                };
                let _ = writeln!(
                    md,
                    "| {} | {} % | {} s | {} | {} | {} | {} | {} | {} | {} |",
                    cell(&p.name),
                    p.traffic_percent,
                    p.planned_duration_s,
                    fmt_ms(p.observed_duration_ms as f64),
                    p.samples,
                    p.errors,
                    fmt_rate(p.success_rate),
                    fmt_opt_ms(p.p95_ms),
                    cell(&p.triggers.join(", ")),
                    cell(&verdict)
                );
            }
            let metrics: Vec<_> = c
                .phases
                .iter()
                .flat_map(|p| p.metrics.iter().map(move |m| (p, m)))
                .collect();
            if !metrics.is_empty() {
                let _ = writeln!(
                    md,
                    "\nReal traffic, from Prometheus, baseline next to canary:\n\n| Phase | Criterion | Baseline | Canary | Bound | Verdict |\n|---|---|---|---|---|---|"
                );
                for (p, m) in &metrics {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {} | {} |",
                        cell(&p.name),
                        cell(&m.name),
                        metric_value(m.baseline.as_ref()),
                        metric_value(Some(&m.canary)),
                        cell(&m.bound),
                        cell(&metric_verdict(m))
                    );
                }
                md.push_str("\n<details><summary>PromQL evidence</summary>\n\n");
                for (p, m) in &metrics {
                    let _ = writeln!(
                        md,
                        "- {} `{}` at {}:",
                        cell(&p.name),
                        m.name,
                        m.time.to_rfc3339()
                    );
                    for (side, r) in [
                        ("canary", Some(&m.canary)),
                        ("baseline", m.baseline.as_ref()),
                    ] {
                        if let Some(r) = r {
                            let _ = writeln!(
                                md,
                                "  - {side} = {}: `{}`",
                                metric_value(Some(r)),
                                r.query.replace('`', "'")
                            );
                        }
                    }
                }
                md.push_str("\n</details>\n");
            }
            if !c.failures.is_empty() {
                let _ = writeln!(
                    md,
                    "\n<details><summary>First failing probes ({})</summary>\n",
                    c.failures.len()
                );
                for e in &c.failures {
                    md.push_str(&fenced(&evidence_text(e)));
                }
                md.push_str("\n</details>\n");
            }
        }
    }
    let _ = writeln!(
        md,
        "\n**Rollback plan:** on the first trigger, route all traffic back to the previous release, \
         keep the canary's logs and this report, and re-run `gonogo run` against the previous release \
         before retrying.\n"
    );
}

fn signoff(md: &mut String, approval: &ApprovalSummary) {
    let _ = writeln!(md, "## Sign-off: {}\n", approval.state.label());
    let _ = writeln!(
        md,
        "| Role | Approver | Signed at | Key | Signature |\n|---|---|---|---|---|"
    );
    for (role, check) in approval.rows() {
        let Some(c) = check else {
            let _ = writeln!(md, "| {} | — | — | — | ⏳ missing |", cell(&role));
            continue;
        };
        let status = match &c.status {
            CheckStatus::Valid => "✅ valid".to_string(),
            CheckStatus::Unverified => "☑️ signed (not verified here)".to_string(),
            CheckStatus::Invalid(r) => format!("❌ invalid: {}", cell(r)),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {status} |",
            cell(&role),
            cell(&c.signoff.approver),
            c.signoff.signed_at.to_rfc3339(),
            cell(&c.signoff.key_id)
        );
    }
    // The reasons name each missing role once (`missing sign-off: …`).
    if approval.state != ApprovalState::Approved {
        md.push('\n');
        for r in &approval.reasons {
            let _ = writeln!(md, "- {}", cell(r));
        }
    }
}
