//! The suites against the fake: a correct API passes everything; each fault is
//! caught by exactly the cases that check that part of the contract, as listed
//! in [`crate::faults`].

use super::Fault;
use crate::ctx::Outcome;

const SECRET: &str = "fake-secret-fake-secret-fake-secret!";

/// Ids of the cases that did not pass (failed, or skipped: not run is not a
/// pass), and of those that warned.
fn not_passing(faults: &[Fault]) -> (Vec<String>, Vec<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = super::ctx(SECRET, faults).await;
        let groups = crate::registry(false);
        let results = crate::registry::run(&ctx, &groups).await;
        assert_eq!(results.len(), crate::registry::case_ids(&groups).len());
        let ids = |o: &[Outcome]| {
            results
                .iter()
                .filter(|(_, r)| o.contains(&r.outcome))
                .map(|(_, r)| {
                    eprintln!("{} {:?}: {:?}", r.id, r.outcome, r.message);
                    r.id.clone()
                })
                .collect::<Vec<_>>()
        };
        (
            ids(&[Outcome::Failed, Outcome::Skipped]),
            ids(&[Outcome::Warned]),
        )
    })
}

#[test]
fn a_correct_api_passes_every_case() {
    assert_eq!(not_passing(&[]), (Vec::new(), Vec::new()));
}

/// Asserts that `fault` makes exactly its listed cases fail, and its listed
/// cases warn, in registry order.
fn caught_by(fault: Fault) {
    let (failed, warned) = not_passing(&[fault]);
    assert_eq!(failed, fault.caught_by(), "{fault:?} failed");
    assert_eq!(warned, fault.warned_by(), "{fault:?} warned");
}

#[test]
fn dropping_request_ids_on_errors_is_caught() {
    caught_by(Fault::DropRequestIdOnErrors);
}

#[test]
fn a_401_without_challenge_is_caught() {
    caught_by(Fault::NoChallengeOn401);
}

#[test]
fn a_limiter_that_never_refuses_is_caught() {
    caught_by(Fault::NeverRefuse);
}

#[test]
fn remaining_that_never_falls_is_caught() {
    caught_by(Fault::RemainingNeverFalls);
}

#[test]
fn search_ignoring_the_tenant_is_caught() {
    caught_by(Fault::SearchIgnoresTenant);
}

#[test]
fn get_by_id_leaking_other_tenants_is_caught() {
    caught_by(Fault::GetLeaksOtherTenants);
}

#[test]
fn missing_suggestions_are_caught() {
    caught_by(Fault::NoSuggestions);
}

#[test]
fn a_stack_trace_in_errors_is_caught() {
    caught_by(Fault::StackTraceInErrors);
}

#[test]
fn a_ten_percent_search_tail_at_800_ms_is_caught() {
    caught_by(Fault::SlowSearchTail);
}
