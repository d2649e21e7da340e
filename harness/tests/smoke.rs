//! `cargo test --test smoke`: every registered case is a named trial.
//!
//! The selected groups run once, in `main`, on one runtime with one fixture
//! (hermetic: containers + in-process server; remote: `GONOGO_TARGET` or `SMOKE_TARGET_URL`);
//! each trial then reports its precomputed result, so `--list`, name filters
//! and nextest all work. The report is written to `reports/out/` and the
//! fixture is dropped before the process exits (no leaked containers).

use std::path::Path;
use std::process::ExitCode;

use gonogo_harness::config::{Config, Surroundings};
use gonogo_harness::exit::Exit;
use gonogo_harness::run::{Options, Session};
use gonogo_reports::Verdict;
use gonogo_suites::{Group, Outcome, Phase};
use libtest_mimic::{Arguments, Failed, Trial};

/// Name of the trial that fails unless the whole run decided GO.
const DECISION: &str = "decision::verdict_is_go";

fn main() -> ExitCode {
    let args = Arguments::from_args();
    // The same layers as `gonogo run`: GONOGO_* (or the older SMOKE_*) variables,
    // then gonogo.toml at the workspace root (or $GONOGO_CONFIG), then defaults.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let env = |name: &str| std::env::var(name).ok();
    let around = Surroundings {
        env: &env,
        cwd: &root,
    };
    let config = match Config::load_with(None, None, &vec![], &around) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smoke: {e}");
            return Exit::Usage.into();
        }
    };
    let opts: Options = config.run_options();
    let groups = opts.groups();
    let names: Vec<String> = gonogo_suites::check::registry::case_ids(&groups)
        .into_iter()
        .map(str::to_owned)
        .chain([DECISION.to_owned()])
        .collect();
    if args.list {
        let trials = names
            .into_iter()
            .map(|n| Trial::test(n, || Ok(())))
            .collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let selected = |id: &str| !args.is_filtered_out(&Trial::test(id, || Ok(())));
    let mut chosen: Vec<Group> = groups
        .iter()
        .filter(|g| g.cases.iter().any(|c| selected(c.id)))
        .cloned()
        .collect();
    // The final scans judge what the other groups sent: they need all of them (and so does the decision).
    if selected(DECISION) || chosen.iter().any(|g| g.phase == Phase::Final) {
        chosen = groups.clone();
    }
    if chosen.is_empty() {
        return libtest_mimic::run(&args, Vec::new()).exit_code();
    }

    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let outcome = rt.block_on(Session::run_once(&opts, Some(&chosen)));
    drop(rt);
    let out = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smoke: {e}");
            return Exit::Usage.into();
        }
    };

    // reports/out/go-no-go.json always stands for a whole run: a filtered run does not overwrite it.
    if chosen.len() == groups.len() {
        let report_dir = root.join("reports/out");
        match out.write(&report_dir, &[]) {
            Ok(paths) => paths
                .iter()
                .for_each(|p| eprintln!("smoke: report written to {}", p.display())),
            Err(e) => eprintln!("smoke: {e}"),
        }
    } else {
        eprintln!("smoke: partial selection, so reports/out/ is left as it was");
    }
    eprintln!(
        "smoke: decision {}; suites took {:.2} s (fixture start-up {:.1} s, not counted); {} requests",
        out.report.decision.verdict,
        out.suites_time.as_secs_f64(),
        out.startup.as_secs_f64(),
        out.report.metrics.requests_total
    );
    for r in &out.report.decision.reasons {
        eprintln!("smoke:   - {r}");
    }
    for w in &out.report.decision.warnings {
        eprintln!("smoke:   warning: {w}");
    }

    let mut trials: Vec<Trial> = out
        .results
        .into_iter()
        .map(|(_, r)| {
            let (outcome, msg) = (r.outcome, r.message.unwrap_or_default());
            Trial::test(r.id, move || match outcome {
                Outcome::Passed => Ok(()),
                Outcome::Failed => Err(Failed::from(msg)),
                // A failed *should*: never a NO-GO, so the trial passes; the
                // warning is printed above and kept in every rendering.
                Outcome::Warned => Ok(()),
                // Not run is not a pass.
                Outcome::Skipped => Err(Failed::from(format!("skipped: {msg}"))),
            })
        })
        .collect();
    let verdict = out.report.decision.verdict;
    let reasons = out.report.decision.reasons.join("\n");
    trials.push(Trial::test(DECISION, move || {
        if verdict == Verdict::Go {
            Ok(())
        } else {
            Err(Failed::from(format!("{verdict}:\n{reasons}")))
        }
    }));
    libtest_mimic::run(&args, trials).exit_code()
}
