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
use gonogo_harness::run::{database_probe, Options, Session};
use gonogo_suites::Outcome;
use libtest_mimic::{Arguments, Failed, Trial};

use faults::{Mode, Mutant};
use gonogo_suites::TokenSource;

/// `mutant::name` for a broken server or a control, `variant::name` for an
/// allowed variant (a correct server that chose differently).
fn trial_name(m: &Mutant) -> String {
    let kind = if m.freedoms.is_empty() {
        "mutant"
    } else {
        "variant"
    };
    format!("{kind}::{}", m.name)
}

/// Runs `gonogo run --target url` with `env` (secrets through the environment,
/// never argv); returns its exit code, or why its output is wrong.
async fn run_binary(
    url: &str,
    env: &[(&str, String)],
    hidden: &[String],
) -> Result<Option<i32>, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args([
        "run",
        "--target",
        url,
        "--format",
        "json,md,html,junit,github",
        "--report-dir",
    ])
    .arg(dir.path());
    for setting in gonogo_harness::config::SETTINGS {
        for var in setting.env {
            cmd.env_remove(var);
        }
    }
    // As in a GitHub Actions step: the summary and outputs files, appended to.
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("outputs"));
    cmd.env_remove("GONOGO_CONFIG")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().await.expect("the gonogo binary runs");
    // The report must have been written whatever the verdict.
    let mut written = Vec::new();
    for file in [
        "go-no-go.json",
        "go-no-go.md",
        "go-no-go.html",
        "go-no-go.junit.xml",
    ] {
        let text =
            std::fs::read_to_string(dir.path().join(file)).map_err(|e| format!("{file}: {e}"))?;
        written.push((file, text));
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    github_published(&written[0].1, &stdout, &summary, &outputs)?;
    written.push(("stdout", stdout));
    written.push(("stderr", String::from_utf8_lossy(&out.stderr).into_owned()));
    for (file, text) in &written {
        if let Some(h) = hidden.iter().find(|h| text.contains(h.as_str())) {
            return Err(format!(
                "{file} shows {}",
                if h.contains("://") {
                    "the database URL"
                } else {
                    "the database password"
                }
            ));
        }
    }
    if env
        .iter()
        .any(|(k, _)| *k == "SMOKE_ACCEPT_API_ONLY_ISOLATION")
    {
        for (file, text) in written.iter().take(4) {
            if !text.contains(faults::WAIVER_REASON) {
                return Err(format!("{file} does not show the waiver's reason"));
            }
        }
    }
    Ok(out.status.code())
}

/// What a GitHub Actions step would show: the `verdict` output is the JSON's,
/// the summary carries the decision, and a NO-GO has 1-10 `::error` lines.
fn github_published(
    json: &str,
    stdout: &str,
    summary: &std::path::Path,
    outputs: &std::path::Path,
) -> Result<(), String> {
    let report: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let verdict = report["decision"]["verdict"].as_str().unwrap_or_default();
    let outputs = std::fs::read_to_string(outputs).map_err(|e| format!("GITHUB_OUTPUT: {e}"))?;
    // every output is `name<<DELIMITER`, the value, `DELIMITER`
    let lines: Vec<&str> = outputs.lines().collect();
    let written = lines
        .windows(2)
        .any(|w| w[0].starts_with("verdict<<ghadelimiter_") && w[1] == verdict);
    if !written {
        return Err(format!(
            "GITHUB_OUTPUT has no verdict {verdict}:\n{outputs}"
        ));
    }
    let summary =
        std::fs::read_to_string(summary).map_err(|e| format!("GITHUB_STEP_SUMMARY: {e}"))?;
    if !summary.contains(verdict) {
        return Err(format!("the step summary does not say {verdict}"));
    }
    let errors = stdout.lines().filter(|l| l.starts_with("::error")).count();
    match (verdict, errors) {
        ("NO-GO", 1..=10) | ("GO" | "INCONCLUSIVE", 0) => Ok(()),
        _ => Err(format!("{verdict} printed {errors} ::error lines")),
    }
}

/// The database URL and its password: never in any output.
fn hidden(url: &str) -> Vec<String> {
    let pw = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned));
    [Some(url.to_owned()), pw].into_iter().flatten().collect()
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mutants = faults::all();
    let name = |m: &Mutant| trial_name(m);
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
        let app_url = server.app_database_url().to_owned();
        for m in &chosen {
            // Every mutant starts from empty buckets: the per-IP anonymous allowance
            // (one client, 127.0.0.1, for every mutant) must not carry over.
            let mut conn = redis.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
            redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.map_err(|e| e.to_string())?;
            if let Some(db) = &m.db {
                // A half-applied fault is put back before the error is reported.
                if let Err(e) = faults::DbFault::execute(server, db.apply).await {
                    faults::DbFault::execute(server, db.revert).await?;
                    return Err(e);
                }
            }
            let running = faults::serve(m, server).await;
            let mut view = session.target().clone();
            view.base_url = running.base_url();
            if m.mode != Mode::Hermetic {
                view = view.remote();
            }
            match m.mode {
                Mode::RemoteAnonymous => view.tokens = TokenSource::Anonymous,
                Mode::RemoteWithDatabase => {
                    view.caps.db = Some(database_probe(&app_url).await.map_err(|e| e.to_string())?)
                }
                Mode::RemoteWithWaiver => view.api_only_waiver = Some(faults::WAIVER_REASON.into()),
                Mode::Hermetic | Mode::RemoteWithSecret => {}
            }
            let run = session.execute_on(&view, &view.groups()).await;
            // The binary must agree: same verdict, documented exit code (remote modes, and one NO-GO).
            let binary_exit = if run.is_ok() && (m.mode != Mode::Hermetic || m.name == "stack_trace_in_error_body") {
                let secret = session.target().tokens.secret().unwrap_or_default().to_owned();
                let mut env = Vec::new();
                if m.mode != Mode::RemoteAnonymous {
                    env.push(("SMOKE_JWT_SECRET", secret));
                }
                match m.mode {
                    Mode::RemoteWithDatabase => env.push(("SMOKE_DATABASE_URL", app_url.clone())),
                    Mode::RemoteWithWaiver => env.push(("SMOKE_ACCEPT_API_ONLY_ISOLATION", faults::WAIVER_REASON.into())),
                    _ => {}
                }
                // The binary's run is another run: it starts from empty buckets too.
                redis::cmd("FLUSHDB").query_async::<()>(&mut conn).await.map_err(|e| e.to_string())?;
                Some(run_binary(&running.base_url(), &env, &hidden(&app_url)).await)
            } else {
                None
            };
            running.shutdown().await;
            // Put back whatever the run did, before anything can stop the loop.
            if let Some(db) = &m.db {
                faults::DbFault::execute(server, db.revert).await?;
            }
            let run = run.map_err(|e| e.to_string())?;
            let ids = |o: &[Outcome]| -> BTreeSet<String> {
                run.results
                    .iter()
                    .filter(|(_, r)| o.contains(&r.outcome))
                    .map(|(_, r)| r.id.clone())
                    .collect()
            };
            let failing = ids(&[Outcome::Failed, Outcome::Skipped]);
            let warned = ids(&[Outcome::Warned]);
            let hides = m.hides.map(|h| format!(", partial: hides in {h}")).unwrap_or_default();
            eprintln!(
                "mutants: {} (breaks {:?}{hides}, takes {:?}) → {}, suites {:.2} s, `gonogo run` exit {:?}, not passing: {failing:?}, warned: {warned:?}",
                trial_name(m),
                m.clauses,
                m.freedoms,
                run.report.decision.verdict,
                run.suites_time.as_secs_f64(),
                binary_exit.as_ref().map(|r| r.as_ref().map(|c| c.unwrap_or(-1))),
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
            let with_db = matches!(m.mode, Mode::Hermetic | Mode::RemoteWithDatabase);
            let waived = run.report.waivers.iter().any(|w| w.reason == faults::WAIVER_REASON);
            let scope_ok = run.report.metrics.isolation_scope
                == if with_db { "database" } else { "api_only" }
                && waived == (m.mode == Mode::RemoteWithWaiver);
            // The latency criterion fails exactly when the mutant breaks the p95 clause.
            let p95_failed = run.report.criteria.iter().any(|c| {
                c.name == "query_latency_p95_ms" && c.status == gonogo_reports::CriterionStatus::Fail
            });
            let report_ok = scope_ok && p95_failed == m.clauses.contains(&"criteria.search-p95");
            let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
            out.push((
                trial_name(m),
                (set(&m.expected), set(&m.warned)),
                (failing, warned),
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
        .map(|(n, (expected, want_warned), (failing, warned), want, verdict, report_ok, messages, binary_exit)| {
            Trial::test(n, move || {
                let want_code = Exit::Verdict(want).code();
                match binary_exit {
                    Some(Err(e)) => return Err(Failed::from(format!("`gonogo run`: {e}"))),
                    Some(Ok(code)) if code != Some(i32::from(want_code)) => {
                        return Err(Failed::from(format!("`gonogo run` exited {code:?}, not {want_code}")))
                    }
                    _ => {}
                }
                if !report_ok {
                    return Err(Failed::from("the report's isolation_scope or waiver does not match the mode, or query_latency_p95_ms failed without the mutant breaking criteria.search-p95 (or passed with it)"));
                }
                if verdict != want || failing != expected || warned != want_warned {
                    return Err(Failed::from(format!(
                        "verdict {verdict} (want {want})\nunexpectedly failing: {:?}\nexpected but passing: {:?}\nunexpectedly warned: {:?}\nexpected but not warned: {:?}\n{}",
                        failing.difference(&expected).collect::<Vec<_>>(),
                        expected.difference(&failing).collect::<Vec<_>>(),
                        warned.difference(&want_warned).collect::<Vec<_>>(),
                        want_warned.difference(&warned).collect::<Vec<_>>(),
                        messages.join("\n")
                    )));
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
