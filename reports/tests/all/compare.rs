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

/// The comparison itself on sample reports: cases, clauses, notes and the rules.
mod judged {
    use gonogo_reports::compare::*;
    use gonogo_reports::test_support::{clause, compared_no_go, latency_samples, run_with_latency};
    use gonogo_reports::{ClauseLevel, Outcome, Verdict};
    use serde::Deserialize;

    const P95_HALF: RelativeCriterion = RelativeCriterion {
        metric: LatencyMetric::SearchP95,
        max_growth: 0.5,
    };

    fn run(id: &str, median: f64, seed: u64) -> gonogo_reports::test_support::ReportBuilder {
        run_with_latency(id, 0, latency_samples(200, median, seed))
    }

    #[test]
    fn a_significant_growth_above_the_limit_is_no_go_naming_the_team_rule() {
        let r = compared_no_go();
        assert_eq!(r.decision.verdict, Verdict::NoGo);
        let c = r.comparison.as_ref().unwrap();
        let rule = &c.rules[0];
        assert_eq!(rule.status, RuleStatus::Breach, "{rule:?}");
        assert_eq!(rule.significant, Some(true));
        assert!(rule.growth.unwrap() > 0.5, "{rule:?}");
        let first = &r.decision.reasons[0];
        assert!(
            first.starts_with("Team rule broken (gonogo.toml, not the contract): search_p95 may not grow by more than 50 %"),
            "{first}"
        );
        assert!(
            first.contains("00000000-0000-4000-8000-00000000000a"),
            "{first}"
        );
        assert_eq!(c.previous.git_commit.as_deref(), Some("1b2c3d4e5f60"));
        assert_eq!(c.matched_by, MatchedBy::Case);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        let ids: Vec<&str> = c.newly_failing.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["suite_a::no_jwt_returns_401"]);
        assert_eq!(c.newly_failing[0].previous, Some(Outcome::Passed));
    }

    #[test]
    fn two_draws_of_the_same_server_never_break_the_rule() {
        for seed in 0..10 {
            let previous = run("p", 6.0, 2 * seed).build();
            let mut current = run("c", 6.0, 2 * seed + 1).build();
            let c = compare(&current, &previous, "x", &[P95_HALF]);
            assert_eq!(c.rules[0].status, RuleStatus::Pass, "{:?}", c.rules[0]);
            apply(&mut current, c);
            assert_eq!(current.decision.verdict, Verdict::Go);
        }
    }

    #[test]
    fn a_growth_within_the_limit_or_not_significant_is_not_a_breach() {
        let previous = run("p", 6.0, 1).build();
        // 1.3 times as slow: significant, but within 50 %.
        let slower: Vec<f64> = latency_samples(200, 6.0, 2)
            .iter()
            .map(|ms| ms * 1.3)
            .collect();
        let current = run_with_latency("c", 0, slower).build();
        let c = compare(&current, &previous, "x", &[P95_HALF]);
        assert_eq!(c.rules[0].status, RuleStatus::Pass);
        assert_eq!(c.rules[0].significant, Some(true), "{:?}", c.rules[0]);
        assert!(c.rules[0].reason.contains("within the team's limit"));
        // A tight limit with the same samples on both sides: no growth at all.
        let tight = RelativeCriterion {
            metric: LatencyMetric::SearchP99,
            max_growth: 0.01,
        };
        let c = compare(&previous, &previous, "x", &[tight]);
        assert_eq!(c.rules[0].status, RuleStatus::Pass);
        assert_eq!(c.rules[0].significant, Some(false));
    }

    #[test]
    fn an_older_report_without_samples_is_compared_by_what_it_has_and_never_breaks_a_rule() {
        let previous = run("p", 6.0, 1)
            .with(|r| {
                r.metrics.latency_phase.samples_ms.clear();
                r.schema_version = "1.4.0".into();
                r.run.contract_version = None;
            })
            .build();
        let slower: Vec<f64> = latency_samples(200, 6.0, 2)
            .iter()
            .map(|ms| ms * 3.0)
            .collect();
        let mut current = run_with_latency("c", 0, slower).build();
        let c = compare(&current, &previous, "x", &[P95_HALF]);
        assert_eq!(c.rules[0].status, RuleStatus::NotJudged);
        assert!(c
            .latency
            .percentiles
            .iter()
            .all(|p| p.significant.is_none()));
        assert!(c.latency.percentiles[2].ratio.unwrap() > 2.0);
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("keeps no latency samples")),
            "{:?}",
            c.notes
        );
        assert_eq!(c.matched_by, MatchedBy::Clause);
        assert!(c
            .notes
            .iter()
            .any(|n| n.contains("does not name its contract version")));
        apply(&mut current, c);
        assert_eq!(current.decision.verdict, Verdict::Go);
    }

    #[test]
    fn across_contract_versions_cases_are_compared_by_clause() {
        let guard = || {
            vec![clause(
                "auth.missing",
                ClauseLevel::Must,
                "Authentication",
                "401 without a token",
            )]
        };
        let previous = run("p", 6.0, 1)
            .with(|r| r.run.contract_version = Some("1.0".into()))
            .clauses("suite_a::no_jwt_returns_401", guard())
            .build();
        let current = run("c", 6.0, 2)
            .failing("suite_a::no_jwt_returns_401", "got 200")
            .clauses("suite_a::no_jwt_returns_401", guard())
            .build();
        let c = compare(&current, &previous, "x", &[]);
        assert_eq!(c.matched_by, MatchedBy::Clause);
        assert!(c.notes[0].contains("contract 1.0") && c.notes[0].contains("contract 1.1"));
        assert_eq!(c.newly_failing.len(), 1, "{:?}", c.newly_failing);
        assert_eq!(c.newly_failing[0].id, "auth.missing");
        assert_eq!(c.newly_failing[0].title, "401 without a token");
        // And back: the clause passes again.
        let c = compare(&previous, &current, "x", &[]);
        assert_eq!(c.newly_passing[0].id, "auth.missing");
        assert!(c.rules.is_empty() && c.newly_failing.is_empty());
    }

    #[test]
    fn newly_passing_and_newly_warned_cases_are_named() {
        let previous = run("p", 6.0, 1)
            .failing("suite_a::no_jwt_returns_401", "got 200")
            .build();
        let current = run("c", 6.0, 2)
            .warned(
                "suite_b::user_b_list_excludes_user_a_file",
                "slow",
                Vec::new(),
            )
            .build();
        let c = compare(&current, &previous, "x", &[]);
        let ids = |v: &[CaseChange]| v.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&c.newly_passing), ["suite_a::no_jwt_returns_401"]);
        assert_eq!(
            ids(&c.newly_warned),
            ["suite_b::user_b_list_excludes_user_a_file"]
        );
        assert!(c.newly_failing.is_empty());
        assert_eq!(c.requests_total.previous, c.requests_total.current);
    }

    #[test]
    fn too_few_samples_are_said_and_not_judged() {
        let previous = run_with_latency("p", 0, latency_samples(150, 6.0, 1)).build();
        let current = run_with_latency("c", 0, latency_samples(400, 20.0, 2)).build();
        let c = compare(&current, &previous, "x", &[P95_HALF]);
        assert_eq!(c.rules[0].status, RuleStatus::NotJudged);
        assert!(
            c.notes[0].contains("previous 150, this run 400"),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_rule_is_read_from_toml_and_an_unknown_metric_is_refused() {
        #[derive(Deserialize)]
        struct File {
            criteria: Vec<RelativeCriterion>,
        }
        let f: File =
            toml::from_str("[[criteria]]\nmetric = \"search_p95\"\nmax_growth = 0.5\n").unwrap();
        assert_eq!(f.criteria, [P95_HALF]);
        assert_eq!(
            f.criteria[0].words(),
            "search_p95 may not grow by more than 50 % over the run compared with when the growth is significant"
        );
        assert!(
            toml::from_str::<File>("[[criteria]]\nmetric = \"p95\"\nmax_growth = 0.5\n").is_err()
        );
        assert!(!RelativeCriterion {
            max_growth: 0.0,
            ..P95_HALF
        }
        .is_valid());
    }
}
