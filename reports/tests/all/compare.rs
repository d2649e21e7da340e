//! The "Compared with an earlier run" section in every rendering: a run 1.7
//! times as slow as the last GO, NO-GO on the team's rule, shows the previous
//! run, the rule as the team's own, the percentiles side by side with the
//! test, and the case that newly fails.

use gonogo_reports::compare::RuleStatus;
use gonogo_reports::render::{self, github, write_reports, Format, RenderOptions};
use gonogo_reports::test_support::{compared_no_go, ReportBuilder};
use gonogo_reports::{Report, Verdict};

const PREVIOUS: &str = "00000000-0000-4000-8000-00000000000a";

fn rendered(format: Format) -> String {
    render::render(&compared_no_go(), format, &RenderOptions::default()).unwrap()
}

#[test]
fn the_json_keeps_the_comparison_and_reads_back_and_validates() {
    let report = compared_no_go();
    assert_eq!(report.decision.verdict, Verdict::NoGo);
    let json = rendered(Format::Json);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let validator = jsonschema::validator_for(&gonogo_reports::schema::report_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(value["comparison"]["previous"]["id"], PREVIOUS);
    assert_eq!(value["comparison"]["rules"][0]["status"], "breach");
    assert_eq!(
        value["metrics"]["latency_phase"]["samples_ms"]
            .as_array()
            .map(Vec::len),
        Some(200)
    );
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let rule = &back.comparison.unwrap().rules[0];
    assert_eq!(rule.status, RuleStatus::Breach);
}

#[test]
fn a_report_without_a_comparison_writes_no_section_and_keeps_no_samples_it_lacks() {
    let go = ReportBuilder::go().build();
    let json = render::render(&go, Format::Json, &RenderOptions::default()).unwrap();
    assert!(!json.contains("\"comparison\""));
    assert!(!json.contains("samples_ms"));
    let md = render::render(&go, Format::Markdown, &RenderOptions::default()).unwrap();
    assert!(!md.contains("Compared with"));
}

#[test]
fn the_markdown_shows_the_previous_run_the_team_rule_and_the_latency_side_by_side() {
    let md = rendered(Format::Markdown);
    let section = &md[md
        .find("## Compared with an earlier run")
        .expect("the section")..];
    assert!(section.contains(&format!("run {PREVIOUS}")), "{section}");
    assert!(section.contains("GO, commit 1b2c3d4e5f60"), "{section}");
    assert!(
        section.contains("### The team's own rules (gonogo.toml, not the contract)"),
        "{section}"
    );
    assert!(
        section.contains("| search\\_p95 may not grow by more than 50 % over the run compared with when the growth is significant |"),
        "{section}"
    );
    assert!(section.contains("| **BROKEN**:"), "{section}");
    for metric in ["search_p50", "search_p90", "search_p95", "search_p99"] {
        assert!(
            section.contains(&format!("| {metric} |")),
            "{metric}: {section}"
        );
    }
    assert!(
        section.contains("| newly failing | `suite_a::no_jwt_returns_401`"),
        "{section}"
    );
    assert!(section.contains("percentile bootstrap"), "{section}");
    // The decision names the rule first.
    let decision = &md[..md.find("## Compared with").unwrap()];
    assert!(decision.contains("Team rule broken"), "{decision}");
}

#[test]
fn the_html_shows_the_comparison_with_the_broken_rule_in_red() {
    let html = rendered(Format::Html);
    assert!(html.contains("<section id=\"comparison\">"));
    assert!(html.contains("The team's own rules (gonogo.toml, not the contract)"));
    assert!(html.contains("<span class=\"badge fail\">BROKEN</span>"));
    assert!(html.contains("id=\"latency-compared\""));
    assert!(html.contains("id=\"changed-cases\""));
    assert!(html.contains(PREVIOUS));
}

#[test]
fn junit_and_github_carry_at_least_a_line() {
    let xml = rendered(Format::Junit);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let rule = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("classname") == Some("team_rules"))
        .expect("a case per team rule");
    assert_eq!(rule.attribute("name"), Some("search_p95"));
    assert!(rule.children().any(|c| c.has_tag_name("failure")));
    assert!(xml.contains(&format!("compared with run {PREVIOUS}")));
    let lines = github::annotations(&compared_no_go());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error title=team rule search_p95::")),
        "{lines:?}"
    );
    let notice = lines.iter().find(|l| l.starts_with("::notice")).unwrap();
    assert!(notice.contains("1 of 1 team rules broken"), "{notice}");
    assert!(notice.contains("search p95 ×"), "{notice}");
}

/// The section in a real browser: rendered, and a screenshot to look at
/// (`GONOGO_KEEP_SCREENSHOT=compare.png`).
#[test]
fn chromium_renders_the_comparison() {
    super::chromium::runtime().block_on(async {
        let chromium = super::chromium::chromium().await;
        let dir = tempfile::tempdir().unwrap();
        let paths = write_reports(&compared_no_go(), dir.path(), &[Format::Html]).unwrap();
        let page = std::fs::read(&paths[1]).unwrap();
        let dom = chromium.dump_dom(&page).await.unwrap();
        assert!(
            dom.contains("id=\"team-rules\""),
            "no rules table in the DOM"
        );
        assert!(dom.contains("</main>"), "the page is truncated");
        let png = chromium.screenshot(&page, 1100, 1600).await.unwrap();
        assert!(
            png.len() > 20_000,
            "a blank screenshot ({} bytes)",
            png.len()
        );
        if let Some(keep) = std::env::var_os("GONOGO_KEEP_SCREENSHOT") {
            std::fs::write(keep, &png).unwrap();
        }
    });
}
