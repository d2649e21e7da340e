//! The suites against the fake: a correct API passes everything; each fault is
//! caught by exactly the cases that check that part of the contract, as listed
//! in [`crate::testing::faults`].

use super::Fault;
use crate::check::ctx::Outcome;

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
        let groups = crate::cases::registry(false);
        let results = crate::check::registry::run(&ctx, &groups).await;
        assert_eq!(
            results.len(),
            crate::check::registry::case_ids(&groups).len()
        );
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

/// Records what the runner tells an observer.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl crate::check::ctx::progress::Observer for Recorder {
    fn event(&self, event: crate::check::ctx::progress::Event<'_>) {
        use crate::check::ctx::progress::Event;
        let line = match event {
            Event::Phase { phase, cases } => format!("phase {phase:?} {cases}"),
            Event::Tenant(label) => format!("tenant {label}"),
            Event::Latency { searches } => format!("latency {searches}"),
            Event::Exchange(_) => "exchange".into(),
            Event::CaseDone(r) => format!("done {}", r.id),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[test]
fn the_runner_announces_its_phases_and_each_case_once_to_an_observer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The fake, and a target that never answers: there no tenant can be minted
    // and whole groups report without a `CaseRun`.
    for down in [false, true] {
        let recorder = std::sync::Arc::new(Recorder::default());
        let groups = crate::cases::registry(false);
        let results = rt.block_on(async {
            let ctx = if down {
                crate::Ctx::new(
                    std::sync::Arc::new(Down),
                    crate::TokenSource::Anonymous,
                    Err("no baseline".into()),
                    crate::Capabilities::default(),
                )
            } else {
                super::ctx(SECRET, &[]).await
            };
            let ctx = ctx.with_observer(recorder.clone()).with_latency_samples(80);
            crate::check::registry::run(&ctx, &groups).await
        });
        let events = recorder.0.lock().unwrap().clone();
        let main = groups.iter().filter(|g| g.phase == crate::Phase::Main);
        let final_ = groups.iter().filter(|g| g.phase == crate::Phase::Final);
        let count = |gs: &mut dyn Iterator<Item = &crate::Group>| -> usize {
            gs.map(|g| g.cases.len()).sum()
        };
        let phases: Vec<&String> = events.iter().filter(|e| e.starts_with("phase")).collect();
        assert_eq!(
            phases,
            [
                &format!("phase Main {}", count(&mut main.clone())),
                &format!("phase Final {}", count(&mut final_.clone())),
            ],
            "down: {down}"
        );
        // Every case once, and each final case only after the final phase began.
        let mut done: Vec<&str> = events
            .iter()
            .filter_map(|e| e.strip_prefix("done "))
            .collect();
        let final_at = events.iter().position(|e| e.starts_with("phase Final"));
        for g in final_ {
            for c in g.cases {
                let at = events.iter().position(|e| e == &format!("done {}", c.id));
                assert!(at > final_at, "{} announced before the final phase", c.id);
            }
        }
        done.sort_unstable();
        let mut ids: Vec<&str> = results.iter().map(|(_, r)| r.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(done, ids, "down: {down}");
        assert!(
            events.iter().any(|e| e.starts_with("tenant ")),
            "down: {down}"
        );
        assert!(events.iter().any(|e| e == "exchange"), "down: {down}");
    }
}

/// A target that never answers.
struct Down;

impl crate::Transport for Down {
    fn send(&self, request: crate::ApiRequest) -> futures::future::BoxFuture<'_, crate::Exchange> {
        Box::pin(async move {
            crate::Exchange {
                request,
                response: Err("connection refused".into()),
                latency: std::time::Duration::ZERO,
                received_at: 0.0,
            }
        })
    }
}

/// The names the run's uploads sent, in order, under `seed`.
fn uploaded_names(seed: u64) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = super::ctx(SECRET, &[]).await.with_seed(seed);
        let groups = crate::cases::registry(false);
        crate::check::registry::run(&ctx, &groups).await;
        ctx.log()
            .iter()
            .filter_map(|e| match &e.request.body {
                crate::check::transport::Body::Multipart(parts) => Some(parts),
                _ => None,
            })
            .flat_map(|parts| parts.iter().filter_map(|p| p.filename.clone()))
            .collect()
    })
}

#[test]
fn a_reports_seed_replays_the_same_generated_cases() {
    let seed = 7_340_213;
    let names = uploaded_names(seed);
    let generated = crate::check::generated::filenames(&mut crate::check::generated::rng(
        seed,
        crate::cases::knowledge::uploads::FILENAME.id,
    ));
    for case in &generated {
        assert!(names.contains(&case.sent), "{case:?} was not sent");
    }
    // The same seed, the same generated names in the same order (the other names carry a
    // run's unique tag); another seed, other generated names.
    let of_the_seed = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| generated.iter().any(|c| &c.sent == *n))
            .cloned()
            .collect()
    };
    assert_eq!(of_the_seed(&names).len(), generated.len());
    assert_eq!(of_the_seed(&names), of_the_seed(&uploaded_names(seed)));
    let other = uploaded_names(seed + 1);
    assert!(generated.iter().all(|c| !other.contains(&c.sent)));
}
