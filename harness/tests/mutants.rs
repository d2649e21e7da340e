//! Testing the tester: the suites run against deliberately broken servers —
//! fault layers wrapped around the real app router, served on 127.0.0.1:0 over
//! one shared container stack — and each must be NO-GO with exactly the
//! expected cases failing, while the unmodified server is GO with every case passing.
//!
//! `harness = false`: each mutant is a named trial (`mutant::drops_request_id_on_errors`).
//! All mutants run once in `main` (one stack); trials report the results.

#[path = "mutants/faults.rs"]
mod faults;

use std::collections::BTreeSet;
use std::process::ExitCode;

use gonogo_harness::exit::Exit;
use gonogo_harness::run::{Options, Session};
use gonogo_suites::Outcome;
use libtest_mimic::{Arguments, Failed, Trial};

use faults::{Mode, Mutant};
use gonogo_suites::TokenSource;

/// Runs `gonogo run --target url` (secret through the environment, never argv); returns its exit code.
async fn run_binary(url: &str, secret: Option<String>) -> Option<i32> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(["run", "--target", url, "--report-dir"])
        .arg(dir.path());
    cmd.env_remove("SMOKE_JWT_SECRET")
        .env_remove("SMOKE_TARGET_URL")
        .env_remove("SMOKE_R1_BASELINE");
    if let Some(s) = secret {
        cmd.env("SMOKE_JWT_SECRET", s);
    }
    let out = cmd.output().await.expect("the gonogo binary runs");
    // The report must have been written whatever the verdict.
    if !dir.path().join("go-no-go.json").exists() {
        return Some(-1);
    }
    out.status.code()
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mutants = faults::all();
    let name = |m: &Mutant| format!("mutant::{}", m.name);
    if args.list {
        return libtest_mimic::run(
            &args,
            mutants
                .iter()
                .map(|m| Trial::test(name(m), || Ok(())))
                .collect(),
        )
        .exit_code();
    }
    let chosen: Vec<&Mutant> = mutants
        .iter()
        .filter(|m| !args.is_filtered_out(&Trial::test(name(m), || Ok(()))))
        .collect();
    if chosen.is_empty() {
        return libtest_mimic::run(&args, Vec::new()).exit_code();
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let outcomes = rt.block_on(async {
        let session = Session::start(&Options::default())
            .await
            .map_err(|e| e.to_string())?;
        let server = session.server().expect("hermetic session has a server");
        faults::ops_auth::set_secret(&server.config().jwt_secret);
        let redis = redis::Client::open(server.config().redis_url.as_str()).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for m in &chosen {
            // Every mutant starts from empty buckets: the per-IP anonymous allowance
            // (one client, 127.0.0.1, for every mutant) must not carry over.
            let mut conn = redis.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
            redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.map_err(|e| e.to_string())?;
            let running = faults::serve(m, server).await;
            let mut view = session.target().clone();
            view.base_url = running.base_url();
            if m.mode != Mode::Hermetic {
                view = view.remote();
            }
            if m.mode == Mode::RemoteAnonymous {
                view.tokens = TokenSource::Anonymous;
            }
            let run = session
                .execute_on(&view, &view.groups())
                .await
                .map_err(|e| e.to_string())?;
            // The binary must agree: same verdict, documented exit code (remote modes, and one NO-GO).
            let binary_exit = if m.mode != Mode::Hermetic || m.name == "stack_trace_in_error_body" {
                let secret = (m.mode != Mode::RemoteAnonymous)
                    .then(|| session.target().tokens.secret().unwrap_or_default().to_owned());
                // The binary's run is another run: it starts from empty buckets too.
                redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.map_err(|e| e.to_string())?;
                Some(run_binary(&running.base_url(), secret).await)
            } else {
                None
            };
            running.shutdown().await;
            let failing: BTreeSet<String> = run
                .results
                .iter()
                .filter(|(_, r)| r.outcome != Outcome::Passed)
                .map(|(_, r)| r.id.clone())
                .collect();
            eprintln!(
                "mutants: {} (breaks {:?}) → {}, suites {:.2} s, `gonogo run` exit {:?}, not passing: {failing:?}",
                m.name,
                m.clauses,
                run.report.decision.verdict,
                run.suites_time.as_secs_f64(),
                binary_exit.flatten(),
            );
            let messages: Vec<String> = run
                .results
                .iter()
                .filter_map(|(_, r)| {
                    r.message
                        .as_ref()
                        .filter(|_| r.outcome != Outcome::Passed)
                        .map(|msg| format!("{}: {msg}", r.id))
                })
                .collect();
            let report_ok = run.report.metrics.isolation_scope
                == if m.mode == Mode::Hermetic {
                    "database"
                } else {
                    "api_only"
                };
            // The latency criterion fails exactly when the mutant breaks the p95 clause.
            let p95_failed = run.report.criteria.iter().any(|c| {
                c.name == "query_latency_p95_ms" && c.status == gonogo_reports::CriterionStatus::Fail
            });
            let report_ok = report_ok && p95_failed == m.clauses.contains(&"criteria.search-p95");
            out.push((
                m.name,
                m.expected
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<BTreeSet<_>>(),
                failing,
                m.verdict,
                run.report.decision.verdict,
                report_ok,
                messages,
                binary_exit,
            ));
        }
        session.shutdown().await;
        Ok::<_, String>(out)
    });
    drop(rt);
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mutants: {e}");
            return Exit::Usage.into();
        }
    };
    let trials = outcomes
        .into_iter()
        .map(|(n, expected, failing, want, verdict, report_ok, messages, binary_exit)| {
            Trial::test(format!("mutant::{n}"), move || {
                let want_code = Exit::Verdict(want).code();
                if let Some(code) = binary_exit.filter(|c| *c != Some(i32::from(want_code))) {
                    return Err(Failed::from(format!("`gonogo run` exited {code:?}, not {want_code}")));
                }
                if !report_ok {
                    return Err(Failed::from("the report's isolation_scope does not match the mode, or query_latency_p95_ms failed without the mutant breaking criteria.search-p95 (or passed with it)"));
                }
                if verdict != want || failing != expected {
                    return Err(Failed::from(format!(
                        "verdict {verdict} (want {want})\nunexpectedly failing: {:?}\nexpected but passing: {:?}\n{}",
                        failing.difference(&expected).collect::<Vec<_>>(),
                        expected.difference(&failing).collect::<Vec<_>>(),
                        messages.join("\n")
                    )));
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
