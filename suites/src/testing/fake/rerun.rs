//! A rerun within the hour: the anonymous endpoint's allowance was spent by
//! the earlier run, so its first answer is a 429. With the JWT secret the
//! run's tenants are minted locally and every other case still passes; the
//! refusal is judged as the limit holding; the token check passes only on an
//! earlier report's word, else it is skipped with the wait in minutes.

use super::FakeApi;
use crate::cases::gate_2::authentication::{ANON_LIMIT, ANON_TOKEN};
use crate::check::ctx::{Earlier, Outcome};
use crate::{CaseReport, Section};

const SECRET: &str = "fake-secret-fake-secret-fake-secret!";

fn rerun(earlier: Earlier) -> Vec<(Section, CaseReport)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = FakeApi::new(SECRET, &[]).anon_allowance_spent();
        let ctx = super::ctx_over(api).await.with_earlier(earlier);
        crate::check::registry::run(&ctx, &crate::cases::registry(false)).await
    })
}

fn case<'a>(results: &'a [(Section, CaseReport)], id: &str) -> &'a CaseReport {
    &results.iter().find(|(_, r)| r.id == id).unwrap().1
}

#[test]
fn a_rerun_within_the_hour_skips_the_token_check_with_the_wait_in_minutes() {
    let results = rerun(Earlier::default());
    let token = case(&results, ANON_TOKEN.id);
    assert_eq!(token.outcome, Outcome::Skipped, "{:?}", token.message);
    // The fake's Retry-After is 120 s.
    assert!(
        token
            .message
            .as_deref()
            .is_some_and(|m| m.ends_with("run again in 2 minutes (Retry-After: 120 s)")),
        "{:?}",
        token.message
    );
    let limit = case(&results, ANON_LIMIT.id);
    assert_eq!(limit.outcome, Outcome::Passed, "{:?}", limit.message);
    assert_eq!(limit.evidence.len(), 1);
    assert_eq!(
        limit.evidence[0].exchange.response.as_ref().unwrap().status,
        429
    );
    let others: Vec<_> = results
        .iter()
        .filter(|(_, r)| r.id != ANON_TOKEN.id && r.outcome != Outcome::Passed)
        .map(|(_, r)| (&r.id, r.outcome, &r.message))
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

#[test]
fn an_earlier_report_of_the_same_build_counts_the_token_as_verified() {
    let earlier = Earlier {
        anon_token: Some("the report of run 0190 (2026-11-29 10:00 UTC)".into()),
    };
    let results = rerun(earlier);
    let token = case(&results, ANON_TOKEN.id);
    assert_eq!(token.outcome, Outcome::Passed, "{:?}", token.message);
    assert!(
        token
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("verified by the report of run 0190")),
        "{:?}",
        token.message
    );
}
