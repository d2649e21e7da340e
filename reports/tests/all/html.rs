//! The HTML document, checked as text (Chromium checks are in `chromium`).

use gonogo_reports::render::{html, RenderOptions};
use gonogo_reports::test_support::{sample_canary_rollback, warned_no_go, ReportBuilder};
use gonogo_reports::Report;

pub fn render(report: &Report) -> String {
    let options = RenderOptions::default();
    html::render(report, &options.approval(report), &options.canary_plan)
}

/// A NO-GO report with hostile text in it, for the escaping and offline checks.
pub fn hostile_report() -> Report {
    ReportBuilder::go()
        .failing(
            "suite_b::user_b_list_excludes_user_a_file",
            "<img src=\"https://evil.example/x.png\">",
        )
        .canary(sample_canary_rollback())
        .with(|r| r.run.target.label = Some("<script>alert('x')</script>".into()))
        .build()
}

#[test]
fn report_text_is_escaped_not_interpreted() {
    let page = render(&hostile_report());
    assert!(!page.contains("<script>alert"), "label was not escaped");
    assert!(!page.contains("<img"), "message was not escaped");
    assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    assert!(page.contains("&lt;img src=&quot;https://evil.example/x.png&quot;&gt;"));
}

#[test]
fn the_page_references_nothing_outside_itself() {
    let page = render(&hostile_report());
    for attr in ["src=\"", "href=\"", "url(", "@import", "<script", "<link"] {
        assert!(!page.contains(attr), "found `{attr}` in the page");
    }
}

#[test]
fn the_page_carries_an_inline_svg_chart_with_both_series() {
    let page = render(&ReportBuilder::go().build());
    assert!(page.contains("<svg class=\"chart\""));
    assert_eq!(page.matches("<polyline class=\"series ").count(), 2);
}

#[test]
fn without_latency_samples_the_chart_says_so_instead_of_drawing_nothing() {
    let report = ReportBuilder::go()
        .with(|r| {
            r.metrics.all_latency = Default::default();
            r.metrics.search_latency = Default::default();
        })
        .build();
    let page = render(&report);
    assert!(!page.contains("<svg"));
    assert!(page.contains("No latency samples: nothing to chart."));
}

#[test]
fn warnings_are_counted_amber_listed_and_open_like_failures() {
    let page = render(&warned_no_go().build());
    assert!(
        page.contains(r#"<span class="badge no-go">NO-GO</span> <span class="badge warned">2 warnings</span></h1>"#),
        "the title counts the warnings"
    );
    assert!(page.contains(r#"<p id="tally">21 checks: <span class="badge passed">18 passed</span> <span class="badge failed">1 failed</span> <span class="badge warned">2 warned</span></p>"#));
    assert!(page.contains(r#"<section id="warnings"><h2>Warnings</h2>"#));
    assert!(page.contains(".badge.warned{background:#f2b600"), "amber");
    // Both rows of a warned case (result, then details) are tinted; the details are open.
    assert_eq!(page.matches(r#"<tr class="row-warned">"#).count(), 4);
    assert_eq!(page.matches(r#"<tr class="row-failed">"#).count(), 2);
    assert_eq!(page.matches("<details open>").count(), 3);
}

#[test]
fn each_finding_quotes_its_clause_once_with_the_checks_citing_it() {
    let page = render(&warned_no_go().build());
    let failed = page
        .split(r#"<section id="failed-by-clause">"#)
        .nth(1)
        .unwrap();
    let failed = failed.split("</section>").next().unwrap();
    assert!(failed.contains(r#"<h3><code>auth.missing-token</code> <span class="level level-must">must</span> <span class="section">Authentication</span></h3>"#), "{failed}");
    assert!(
        failed.contains("<blockquote>No <code>Authorization</code> header → <code>401</code>"),
        "{failed}"
    );
    assert!(failed.contains(r#"<code>suite_a::no_jwt_returns_401</code>: GET /api/v1/knowledge/files: status 200, expected 401 …<br><span class="evidence">GET /api/v1/knowledge/files?limit=5 → 200 (expected 404 code: not_found)</span></li>"#), "{failed}");
    let warned = page
        .split(r#"<section id="warned-by-clause">"#)
        .nth(1)
        .unwrap();
    let warned = warned.split("</section>").next().unwrap();
    assert_eq!(warned.matches("<blockquote>").count(), 2, "{warned}");
    assert!(
        !warned.contains("headers.request-id.every"),
        "a warned check is cited under its should, not its must: {warned}"
    );
}

#[test]
fn a_report_without_clauses_has_no_clause_sections() {
    let page = render(&hostile_report());
    assert!(!page.contains("by-clause") && !page.contains(r#"id="warnings""#));
}
