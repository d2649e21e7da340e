//! HTML rendering: one self-contained offline file (inline CSS, inline SVG
//! chart, no script, no external URL) with the content of the Markdown
//! document. Built with maud, which escapes every interpolated string.
//! A warned check is amber wherever it shows, and its row is open like a
//! failed one's: a warning is never a NO-GO, but it is never hidden either.

mod findings;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::canary_plan::CanaryPlan;
use crate::compare::{Comparison, RuleStatus};
use crate::model::{CaseResult, CriterionStatus, Outcome, Report, Verdict};
use crate::signoff::{ApprovalSummary, CheckStatus};

use super::html_chart::{chart, Series};
use super::{
    clauses, compared, fmt_ci, fmt_criterion_observed, fmt_ms, fmt_opt_ms, fmt_rate, fmt_threshold,
    fmt_warnings, outcome_label,
};
use crate::label::{evidence_text, metric_value, metric_verdict};

const CSS: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1040px;margin:0 auto;padding:24px;background:#fff}
h1{margin:0 0 8px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.id{display:block;color:#656d76;font:12px ui-monospace,monospace}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.go,.passed,.pass,.valid,.approved,.promote{background:#1a7f37}.no-go,.failed,.fail,.invalid,.rejected,.rollback{background:#cf222e}
.inconclusive,.pending,.skipped,.missing,.unverified{background:#9a6700}
.badge.warned{background:#f2b600;color:#3b2300}
tr.row-failed>td{background:#fff5f5}tr.row-warned>td{background:#fff8d6}
#warnings{background:#fff8d6;border-left:4px solid #f2b600;padding:4px 16px 8px;margin-top:16px}#warnings h2{margin-top:8px;border:0}
.note{color:#656d76;font-size:13px}ul.warnings li{margin:4px 0}
.clause{border-left:4px solid #d0d7de;padding:0 12px;margin:12px 0}.clause-failed{border-color:#cf222e}.clause-warned{border-color:#f2b600}
.clause h3{margin:8px 0 4px;font-size:15px}.clause ul{margin:4px 0 8px;padding-left:20px}.clause li{margin:4px 0}
.level{font:600 11px system-ui,sans-serif;text-transform:uppercase;padding:1px 6px;border-radius:4px;border:1px solid}
.level-must{color:#cf222e}.level-should,.level-expected{color:#7d4e00}.section{color:#656d76;font-size:13px;font-weight:400}
blockquote{margin:4px 0;padding:4px 12px;border-left:3px solid #d0d7de;color:#1f2328;background:#f6f8fa}
.cites{margin:4px 0;font-size:13px}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow:auto;white-space:pre-wrap;font-size:12px}
svg.chart{width:100%;max-width:680px;height:auto;background:#fff;border:1px solid #d0d7de}
.grid{stroke:#d0d7de;stroke-width:1}.tick,.axis,.legend{font:11px system-ui,sans-serif;fill:#656d76}
.series{fill:none;stroke-width:2.5}.series.all{stroke:#0969da}.series.search{stroke:#bf3989}
.swatch.all{fill:#0969da}.swatch.search{fill:#bf3989}
.threshold{stroke:#cf222e;stroke-dasharray:6 4}.threshold-label{font:11px system-ui,sans-serif;fill:#cf222e}
.reasons li{margin:2px 0}
details.passed-cases,details.more-reasons,details.more-checks{margin:4px 0 12px}details.passed-cases>summary,details.more-reasons>summary,details.more-checks>summary{cursor:pointer;color:#656d76}
#diagnosis{background:#fff5f5;border-left:4px solid #cf222e;padding:6px 12px}
.evidence{font:12px ui-monospace,monospace;color:#656d76}
table.cases{table-layout:fixed}table.cases th:nth-child(2){width:110px}table.cases th:nth-child(3){width:90px}
figure{margin:8px 0}figcaption{color:#656d76;font-size:13px}
"#;

/// Decision reasons shown before the rest is folded.
const MAX_REASONS: usize = 5;

fn badge(class: &str, text: &str) -> Markup {
    html! { span class=(format!("badge {class}")) { (text) } }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Go => "go",
        Verdict::NoGo => "no-go",
        Verdict::Inconclusive => "inconclusive",
    }
}

fn outcome_badge(o: Outcome) -> Markup {
    let class = match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
        Outcome::Warned => "warned",
    };
    badge(class, outcome_label(o))
}

/// Renders the HTML document.
pub fn render(report: &Report, approval: &ApprovalSummary, plan: &CanaryPlan) -> String {
    let verdict = report.decision.verdict.label();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Nothing may load from the network: no scripts, images or fonts.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { "Release decision: " (verdict) " · " (report.run.target.base_url) }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                @let warned = clauses::warnings(report).len();
                h1 { "Release decision " (badge(verdict_class(report.decision.verdict), verdict))
                     @if warned > 0 { " " (badge("warned", &fmt_warnings(warned))) } }
                p id="status" {
                    "Sign-off " (badge(&approval.state.label().to_lowercase(), approval.state.label()))
                    " · " (approval.required_roles.len() - approval.missing_roles.len()) "/"
                    (approval.required_roles.len()) " required roles · target " code { (report.run.target.base_url) }
                }
                (findings::tally(report))
                @if let Some(d) = clauses::diagnosis(report) { p id="diagnosis" { strong { "Diagnosis: " } (d) "." } }
                @let reasons = &report.decision.reasons;
                // Each reason's first finding: the whole message is in its case's row.
                ul.reasons { @for r in reasons.iter().take(MAX_REASONS) { li { (clauses::short(&clauses::first_finding(Some(r)), 240)) } } }
                @if reasons.len() > MAX_REASONS {
                    details.more-reasons {
                        summary { "… and " (reasons.len() - MAX_REASONS) " more reasons" }
                        ul.reasons { @for r in reasons.iter().skip(MAX_REASONS) { li { (r) } } }
                    }
                }
                (findings::warnings(report))
                @if !report.waivers.is_empty() {
                    h2 { "Waivers" }
                    table id="waivers" {
                        thead { tr { th { "Criterion" } th { "Accepted because" } } }
                        tbody { @for w in &report.waivers { tr { td { code { (w.criterion) } } td { (w.reason) } } } }
                    }
                }
                (findings::by_clause(report, Outcome::Failed))
                (findings::by_clause(report, Outcome::Warned))
                @if let Some(c) = &report.comparison { (comparison(c)) }
                (deployment(report))
                h2 { "Phase 1: code-quality gates" }
                @for g in &report.gates {
                    h3 { (g.name) " " (outcome_badge(g.outcome)) }
                    (cases(&g.checks))
                }
                h2 { "Smoke suites" }
                @for s in &report.suites {
                    h3 { "Suite " (s.id) ": " (s.name) }
                    (cases(&s.cases))
                }
                (metrics(report))
                (canary(report, plan))
                (signoff(approval))
                p.id { "Report schema " (report.schema_version) " · written by " (report.tool.name) " " (report.tool.version) }
            } }
        }
    };
    page.into_string()
}

fn deployment(report: &Report) -> Markup {
    let run = &report.run;
    html! {
        h2 { "Deployment" }
        table { tbody {
            tr { th { "Target" } td { (run.target.base_url) } }
            tr { th { "Label" } td { (run.target.label.as_deref().unwrap_or("—")) } }
            tr { th { "Build (commit or version)" } td { code { (run.target.git_commit.as_deref().unwrap_or("unknown")) } } }
            tr { th { "Tool" } td { (report.tool.name) " " (report.tool.version) } }
            tr { th { "Mode" } td { (run.mode.label()) } }
            tr { th { "Started" } td { (run.started_at.to_rfc3339()) } }
            tr { th { "Duration" } td { (fmt_ms(run.duration_ms as f64)) } }
            tr { th { "Run id" } td { code { (run.id) } } }
        } }
    }
}

/// A section's cases: the failed, warned and skipped ones in a table, open;
/// the passed ones folded under one summary row, so a GO page is short and
/// a NO-GO page shows what broke first.
fn cases(cases: &[CaseResult]) -> Markup {
    let (passed, shown): (Vec<&CaseResult>, Vec<&CaseResult>) =
        cases.iter().partition(|c| c.outcome == Outcome::Passed);
    html! {
        @if !shown.is_empty() { (case_table(&shown)) }
        @if !passed.is_empty() {
            details.passed-cases {
                summary { (badge("passed", &format!("{} passed", passed.len()))) " "
                          @if shown.is_empty() { "every case of this section" } @else { "the other cases" } }
                (case_table(&passed))
            }
        }
    }
}

fn case_table(cases: &[&CaseResult]) -> Markup {
    html! {
        table.cases {
            thead { tr { th { "Case" } th { "Result" } th { "Duration" } } }
            tbody { @for c in cases {
                // Failed and warned rows are tinted and open: what a reader must see.
                @let finding = matches!(c.outcome, Outcome::Failed | Outcome::Warned);
                @let row = finding.then(|| format!("row-{}", c.outcome.label()));
                tr class=[row.as_deref()] {
                    td { (c.title) span.id { (c.id) } }
                    td { (outcome_badge(c.outcome)) }
                    td.num { (fmt_ms(c.duration_ms as f64)) }
                }
                @if c.outcome != Outcome::Passed {
                    tr class=[row.as_deref()] { td colspan="3" {
                        details open[finding] {
                            summary { (c.message.as_deref().unwrap_or("no message")) }
                            @if finding && !c.clauses.is_empty() { p.cites { "Contract: " (findings::cites(c)) "." } }
                            @for e in &c.evidence { pre { (evidence_text(e)) } }
                        }
                    } }
                }
            } }
        }
    }
}

fn metrics(report: &Report) -> Markup {
    let m = &report.metrics;
    let threshold = report
        .criteria
        .iter()
        .find(|c| c.name == "query_latency_p95_ms")
        .and_then(|c| {
            c.threshold
                .trim_start_matches("<=")
                .trim()
                .parse::<f64>()
                .ok()
        });
    let series = [
        Series {
            label: "all requests",
            class: "all",
            stats: &m.all_latency,
        },
        Series {
            label: "search",
            class: "search",
            stats: &m.search_latency,
        },
    ];
    let rows = [
        ("latency phase (judged)", &m.latency_phase),
        ("search", &m.search_latency),
        ("all requests", &m.all_latency),
    ];
    html! {
        h2 { "Metrics against thresholds" }
        table {
            thead { tr { th { "Criterion" } th { "Observed" } th { "Threshold" } th { "Samples" } th { "Status" } } }
            tbody { @for c in &report.criteria {
                @let (class, label) = match c.status {
                    CriterionStatus::Pass => ("pass", "pass"),
                    CriterionStatus::Fail => ("fail", "fail"),
                    CriterionStatus::Inconclusive if c.samples == 0 => ("inconclusive", "inconclusive (no samples)"),
                    CriterionStatus::Inconclusive => ("inconclusive", "inconclusive"),
                };
                @let waived = report.waivers.iter().any(|w| w.criterion == c.name);
                tr {
                    td { (c.description) span.id { (c.name) } }
                    td.num { (fmt_criterion_observed(c)) }
                    td { (fmt_threshold(c)) }
                    td.num { (c.samples) }
                    td { (badge(class, label)) @if waived { " (waived)" } }
                }
            } }
        }
        p { (m.requests_total) " requests, " (m.requests_matching) " as expected (" (fmt_rate(m.success_rate))
            "); isolation checked at: " (m.isolation_scope) "." }
        table {
            thead { tr { th { "Latency" } th { "n" } th { "p50" } th { "p95" } th { "p99" } th { "max" } th { "p95 95 % CI" } } }
            tbody { @for (label, stats) in rows {
                tr { td { (label) } td.num { (stats.count) } td.num { (fmt_opt_ms(stats.p50_ms)) }
                     td.num { (fmt_opt_ms(stats.p95_ms)) } td.num { (fmt_opt_ms(stats.p99_ms)) }
                     td.num { (fmt_opt_ms(stats.max_ms)) } td.num { (fmt_ci(&stats.p95_ci)) } }
            } }
        }
        p { code { "query_latency_p95_ms" } " is judged on the latency phase alone: it passes only when the upper bound of the p95's 95 % interval is within the threshold." }
        figure id="latency-chart" { (chart(&series, threshold)) figcaption { "Latency by percentile (ms)" } }
    }
}

/// "Compared with an earlier run", as the Markdown shows it.
fn comparison(c: &Comparison) -> Markup {
    let l = &c.latency;
    let rule_class = |s: RuleStatus| match s {
        RuleStatus::Pass => "pass",
        RuleStatus::Breach => "fail",
        RuleStatus::NotJudged => "inconclusive",
    };
    let changes = compared::changes(c);
    html! {
        section id="comparison" {
            h2 { (compared::HEADING) }
            p { "This run is compared with " (compared::previous(c)) ", read from " code { (c.previous.source) } "; " (compared::matched_by(c)) "." }
            @for note in &c.notes { p.note { (note) } }
            @if !c.rules.is_empty() {
                h3 { (compared::RULES_HEADING) }
                table id="team-rules" {
                    thead { tr { th { "Rule" } th { "Growth" } th { "Significant" } th { "Result" } } }
                    tbody { @for r in &c.rules {
                        tr class=(if r.status == RuleStatus::Breach { "row-failed" } else { "" }) {
                            td { (r.rule) span.id { (r.criterion.metric.name()) " · max growth " (compared::growth(Some(r.criterion.max_growth))) } }
                            td.num { (compared::growth(r.growth)) }
                            td { (compared::significant(r.significant)) }
                            td { (badge(rule_class(r.status), compared::rule_status(r.status))) " " (r.reason) }
                        }
                    } }
                }
            }
            table id="latency-compared" {
                thead { tr { th { "Latency phase" } th { "Previous (n = " (l.previous_samples) ")" } th { "This run (n = " (l.current_samples) ")" }
                             th { "Ratio" } th { "95 % interval" } th { "Significant" } } }
                tbody {
                    @for p in &l.percentiles {
                        tr { td { (p.metric.name()) } td.num { (fmt_opt_ms(p.previous_ms)) } td.num { (fmt_opt_ms(p.current_ms)) }
                             td.num { (compared::times(p.ratio)) } td.num { (compared::interval(p)) } td { (compared::significant(p.significant)) } }
                    }
                    tr { td { "success rate" } td.num { (fmt_rate(c.success_rate.previous)) } td.num { (fmt_rate(c.success_rate.current)) } td {} td {} td {} }
                    tr { td { "requests" } td.num { (c.requests_total.previous) } td.num { (c.requests_total.current) } td {} td {} td {} }
                    tr { td { "as expected" } td.num { (c.requests_matching.previous) } td.num { (c.requests_matching.current) } td {} td {} td {} }
                }
            }
            p.note { "Test: " (l.method) " (seed " (l.seed) ")." }
            @if changes.is_empty() {
                p { "No case changed its outcome." }
            } @else {
                table id="changed-cases" {
                    thead { tr { th { "Change" } th { "Case" } th { "Before" } th { "Now" } } }
                    tbody { @for (kind, x) in &changes {
                        tr class=(if x.current == Outcome::Failed { "row-failed" } else if x.current == Outcome::Warned { "row-warned" } else { "" }) {
                            td { (kind) } td { (x.title) span.id { (x.id) } } td { (compared::before(x.previous)) } td { (outcome_badge(x.current)) }
                        }
                    } }
                }
            }
        }
    }
}

fn canary(report: &Report, plan: &CanaryPlan) -> Markup {
    html! {
        h2 { "Canary" }
        @match &report.canary {
            None => {
                p { "Not run yet. Schedule (" (plan.name) "):" }
                table {
                    thead { tr { th { "Phase" } th { "Traffic" } th { "Duration" } th { "Roll back on" } } }
                    tbody { @for p in &plan.phases {
                        tr { td { (p.display_name()) } td.num { (p.traffic_percent) " %" } td { (p.duration) }
                             td { (p.trigger_descriptions().join(", ")) } }
                    } }
                }
            }
            Some(c) => {
                @let class = c.outcome.label().to_lowercase();
                p { (badge(&class, c.outcome.label())) " " (c.reason)
                    " (plan " (c.plan) ", time scale " (c.time_scale) ")" }
                table {
                    thead { tr { th { "Phase" } th { "Traffic" } th { "Planned" } th { "Observed" } th { "Samples" }
                                 th { "Errors" } th { "Success" } th { "p95" } th { "Roll back on" } th { "Verdict" } } }
                    tbody { @for p in &c.phases {
                        tr { td { (p.name) } td.num { (p.traffic_percent) " %" } td.num { (p.planned_duration_s) " s" }
                             td.num { (fmt_ms(p.observed_duration_ms as f64)) } td.num { (p.samples) }
                             td.num { (p.errors) } td.num { (fmt_rate(p.success_rate)) } td.num { (fmt_opt_ms(p.p95_ms)) }
                             td { (p.triggers.join(", ")) }
                             td { (p.verdict) @if let Some(r) = &p.reason { ": " (r) } } }
                    } }
                }
                @let metrics: Vec<_> = c.phases.iter().flat_map(|p| p.metrics.iter().map(move |m| (p, m))).collect();
                @if !metrics.is_empty() {
                    p { "Real traffic, from Prometheus, baseline next to canary:" }
                    table.canary-metrics {
                        thead { tr { th { "Phase" } th { "Criterion" } th { "Baseline" } th { "Canary" } th { "Bound" } th { "Verdict" } } }
                        tbody { @for (p, m) in &metrics {
                            tr { td { (p.name) } td { code { (m.name) } } td.num { (metric_value(m.baseline.as_ref())) }
                                 td.num { (metric_value(Some(&m.canary))) } td { (m.bound) } td { (metric_verdict(m)) } }
                        } }
                    }
                    details.canary-metrics-evidence {
                        summary { "PromQL evidence" }
                        ul { @for (p, m) in &metrics {
                            li { (p.name) " " code { (m.name) } " at " (m.time.to_rfc3339())
                                 ul {
                                     li { "canary = " (metric_value(Some(&m.canary))) ": " code { (m.canary.query) } }
                                     @if let Some(b) = &m.baseline { li { "baseline = " (metric_value(Some(b))) ": " code { (b.query) } } }
                                 } }
                        } }
                    }
                }
                @if !c.failures.is_empty() {
                    details.canary-failures {
                        summary { "First failing probes (" (c.failures.len()) ")" }
                        @for e in &c.failures { pre { (evidence_text(e)) } }
                    }
                }
            }
        }
        p { strong { "Rollback plan: " } "on the first trigger, route all traffic back to the previous release, keep the canary's logs and this report, and re-run " code { "gonogo run" } " against the previous release before retrying." }
    }
}

fn signoff(approval: &ApprovalSummary) -> Markup {
    html! {
        h2 id="signoff" { "Sign-off " (badge(&approval.state.label().to_lowercase(), approval.state.label())) }
        table {
            thead { tr { th { "Role" } th { "Approver" } th { "Signed at" } th { "Key" } th { "Signature" } } }
            tbody { @for (role, check) in approval.rows() {
                @match check {
                    None => {
                        tr.missing-role { td { (role) } td { "—" } td { "—" } td { "—" } td { (badge("missing", "missing")) } }
                    }
                    Some(c) => {
                        tr { td { (role) } td { (c.signoff.approver) } td { (c.signoff.signed_at.to_rfc3339()) }
                             td { code { (c.signoff.key_id) } }
                             td { @match &c.status {
                                 CheckStatus::Valid => { (badge("valid", "valid")) }
                                 CheckStatus::Unverified => { (badge("unverified", "signed, not verified here")) }
                                 CheckStatus::Invalid(r) => { (badge("invalid", "invalid")) " " (r) }
                             } } }
                    }
                }
            } }
        }
        // The reasons name each missing role once (`missing sign-off: …`).
        @if !approval.reasons.is_empty() { ul.reasons { @for r in &approval.reasons { li { (r) } } } }
    }
}
