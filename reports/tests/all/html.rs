//! The HTML document, checked as text (Chromium checks are in `chromium`).

use gonogo_reports::render::{html, RenderOptions};
use gonogo_reports::test_support::{sample_canary_rollback, ReportBuilder};
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
