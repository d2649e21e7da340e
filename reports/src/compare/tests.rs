use super::*;
use crate::test_support::{clause, compared_no_go, latency_samples, run_with_latency};
use crate::ClauseLevel;

const P95_HALF: RelativeCriterion = RelativeCriterion {
    metric: LatencyMetric::SearchP95,
    max_growth: 0.5,
};

fn run(id: &str, median: f64, seed: u64) -> crate::test_support::ReportBuilder {
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
    assert!(toml::from_str::<File>("[[criteria]]\nmetric = \"p95\"\nmax_growth = 0.5\n").is_err());
    assert!(!RelativeCriterion {
        max_growth: 0.0,
        ..P95_HALF
    }
    .is_valid());
}
