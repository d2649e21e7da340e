//! GitHub Actions end to end: the real `gonogo` binary publishes a report
//! into a step's `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` (temp files that
//! already hold what an earlier command wrote), and `action.yml` is a
//! composite action whose command line the real CLI accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser as _;
use gonogo_harness::cli::{Cli, Command as Sub};
use gonogo_reports::render::github::STEP_SUMMARY_LIMIT;
use gonogo_reports::render::{write_reports, FormatList};
use gonogo_reports::test_support::{clause, crowded_no_go, ReportBuilder};
use gonogo_reports::{ClauseLevel, Report, Verdict};

const EARLIER_SUMMARY: &str = "## An earlier command\n\nIt wrote this first.\n";
const EARLIER_OUTPUT: &str = "earlier=kept\n";

/// One GitHub Actions step: a report on disk and the step's files.
struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    /// `report` written as `gonogo run` writes it (redacted JSON).
    fn new(report: &Report) -> Step {
        let step = Step::empty();
        write_reports(report, &step.path("out"), &[]).unwrap();
        step
    }

    /// The step's files hold what an earlier command wrote; no report yet.
    fn empty() -> Step {
        let step = Step {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(step.path("summary.md"), EARLIER_SUMMARY).unwrap();
        std::fs::write(step.path("output"), EARLIER_OUTPUT).unwrap();
        step
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn report(&self) -> PathBuf {
        self.path("out/go-no-go.json")
    }

    /// `gonogo github out/go-no-go.json` inside the step.
    fn publish(&self) -> Output {
        gonogo(
            &["github", self.report().to_str().unwrap()],
            Some(self.dir.path()),
        )
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary.md")).unwrap()
    }

    fn outputs(&self) -> BTreeMap<String, String> {
        parse_outputs(&std::fs::read_to_string(self.path("output")).unwrap())
    }
}

/// The binary with `step`'s files as `$GITHUB_STEP_SUMMARY` / `$GITHUB_OUTPUT`
/// (none: outside GitHub Actions), and nothing else of this environment's.
fn gonogo(args: &[&str], step: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    cmd.args(args);
    for var in [
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GONOGO_CONFIG",
        "GONOGO_CANARY_PLAN",
        "SMOKE_TARGET_URL",
        "SMOKE_JWT_SECRET",
        "SMOKE_DATABASE_URL",
        "SMOKE_ACCEPT_API_ONLY_ISOLATION",
    ] {
        cmd.env_remove(var);
    }
    if let Some(dir) = step {
        cmd.env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
            .env("GITHUB_OUTPUT", dir.join("output"));
    }
    cmd.output().expect("the gonogo binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn commands<'a>(o: &'a str, kind: &str) -> Vec<&'a str> {
    let prefix = format!("::{kind} ");
    o.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// `$GITHUB_OUTPUT` read as the runner reads it: `name=value` when `=` comes
/// before any `<<`, else `name<<DELIMITER`, the value's lines, `DELIMITER`.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                outputs.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                assert!(delimiter.starts_with("ghadelimiter_"), "{line}");
                let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
                outputs.insert(name.to_string(), value.join("\n"));
            }
            _ => panic!("not an output line: {line:?}"),
        }
    }
    outputs
}

#[test]
fn a_no_go_report_appends_the_summary_and_outputs_and_prints_at_most_ten_errors() {
    let report = crowded_no_go(25, 11).build();
    let step = Step::new(&report);
    let out = step.publish();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "inside Actions nothing is skipped");

    let printed = stdout(&out);
    let errors = commands(&printed, "error");
    assert_eq!(errors.len(), 10, "{printed}");
    assert_eq!(
        errors[0],
        "::error title=security_violations::Security findings: observed 2, threshold = 0 (420 samples)."
    );
    assert!(
        errors[9].starts_with("::error title=gonogo::18 more failed criteria and cases"),
        "{}",
        errors[9]
    );
    assert_eq!(commands(&printed, "warning").len(), 10, "{printed}");

    let summary = step.summary();
    let appended = summary
        .strip_prefix(EARLIER_SUMMARY)
        .expect("the earlier summary is kept");
    assert!(
        appended.starts_with("\n# 🔴 Release decision: NO-GO\n"),
        "{appended}"
    );

    let outputs = step.outputs();
    assert_eq!(outputs["earlier"], "kept");
    assert_eq!(outputs["verdict"], "NO-GO");
    let decision: serde_json::Value = serde_json::from_str(&outputs["decision"]).unwrap();
    assert_eq!(decision, serde_json::to_value(&report.decision).unwrap());
    assert_eq!(outputs["reasons"], report.decision.reasons.join("\n"));
}

#[test]
fn a_go_report_prints_no_annotation_and_exits_0() {
    let step = Step::new(&ReportBuilder::go().build());
    let out = step.publish();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(step.outputs()["verdict"], "GO");
}

#[test]
fn a_go_with_a_warned_check_exits_0_and_publishes_the_warning() {
    let report = ReportBuilder::go()
        .warned(
            "suite_a::x_request_id_present",
            "absent on a 431",
            vec![clause(
                "errors.refused-before-auth.marked",
                ClauseLevel::Should,
                "Conventions",
                "A server should still give it `X-Request-ID`.",
            )],
        )
        .build();
    let step = Step::new(&report);
    let out = step.publish();
    assert_eq!(out.status.code(), Some(0), "a warning never fails the step");
    let printed = stdout(&out);
    assert_eq!(commands(&printed, "error"), Vec::<&str>::new());
    assert_eq!(
        commands(&printed, "warning"),
        ["::warning title=suite_a%3A%3Ax_request_id_present (errors.refused-before-auth.marked)::Warned (never a NO-GO): absent on a 431 — contract clause errors.refused-before-auth.marked (should): “A server should still give it X-Request-ID.”"]
    );
    let summary = step.summary();
    assert!(
        summary.contains("\n# 🟢 Release decision: GO — 1 warning\n"),
        "{summary}"
    );
    assert!(summary.contains("\n## Warnings\n"), "{summary}");
    let decision: serde_json::Value = serde_json::from_str(&step.outputs()["decision"]).unwrap();
    assert_eq!(
        decision["warnings"],
        serde_json::json!(["suite_a::x_request_id_present warned: absent on a 431"])
    );
}

#[test]
fn outside_github_actions_the_annotations_are_printed_and_one_line_says_what_was_skipped() {
    let step = Step::new(&crowded_no_go(3, 0).build());
    let out = gonogo(&["github", step.report().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(commands(&stdout(&out), "error").len(), 5);
    assert_eq!(
        stderr(&out),
        "gonogo: GITHUB_STEP_SUMMARY and GITHUB_OUTPUT are not set (not in GitHub Actions?): printed the annotations, skipped the step summary and the decision/verdict outputs\n"
    );
    assert_eq!(step.summary(), EARLIER_SUMMARY, "nothing written");
}

#[test]
fn a_summary_over_one_mebibyte_is_trimmed_and_keeps_the_decision_and_its_reasons() {
    // A failed case shows at most two pieces of evidence of 1,500 characters:
    // 700 of them overflow the step summary.
    let report = crowded_no_go(700, 0).bulky_evidence(60_000).build();
    let step = Step::new(&report);
    let out = step.publish();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let summary = step.summary();
    assert!(
        summary.len() <= STEP_SUMMARY_LIMIT,
        "{} bytes",
        summary.len()
    );
    assert!(summary.starts_with(EARLIER_SUMMARY));
    assert!(summary.contains("# 🔴 Release decision: NO-GO\n"));
    // The first ten reasons in full, then how many more (every failed check is
    // still listed below, by clause and by suite).
    let reasons = &report.decision.reasons;
    for reason in reasons.iter().take(10) {
        let cell = reason.replace('_', "\\_");
        assert!(summary.contains(&format!("- {cell}\n")), "{reason}");
    }
    assert!(
        summary.contains(&format!("- … and {} more", reasons.len() - 10)),
        "the rest are counted"
    );
    let note = format!(
        "the evidence (requests and responses) is left out. The full report is `{}`.",
        step.report().display()
    );
    assert!(summary.contains(&note), "the note says where the rest is");
    assert!(!summary.contains("xxxxxxxxxx"), "the evidence is gone");
}

#[test]
fn the_verdict_output_and_the_summary_spell_the_verdict_as_the_json_does() {
    for (verdict, code) in [
        (Verdict::Go, 0),
        (Verdict::NoGo, 1),
        (Verdict::Inconclusive, 2),
    ] {
        let step = Step::new(
            &ReportBuilder::go()
                .verdict(verdict, "as the test needs")
                .build(),
        );
        let out = step.publish();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{verdict:?}: exits as `run` does"
        );

        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(step.report()).unwrap()).unwrap();
        let spelled = serde_json::to_value(verdict).unwrap();
        assert_eq!(json["decision"]["verdict"], spelled);
        let spelled = spelled.as_str().unwrap();
        assert_eq!(step.outputs()["verdict"], spelled);
        assert!(
            step.summary().contains(&format!(
                "Release decision: {spelled}\n\n**Status:** {spelled} ·"
            )),
            "{verdict:?}"
        );
    }
}

#[test]
fn a_token_in_a_report_written_elsewhere_never_reaches_github() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let report = ReportBuilder::go()
        .failing("suite_a::no_jwt_returns_401", &format!("echoed {jwt}"))
        .build();
    let step = Step::empty();
    std::fs::create_dir_all(step.path("out")).unwrap();
    std::fs::write(step.report(), serde_json::to_vec(&report).unwrap()).unwrap();
    let out = step.publish();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = [
        stdout(&out),
        step.summary(),
        step.outputs()["decision"].clone(),
    ];
    for text in written {
        assert!(!text.contains("eyJhbGciOiJIUzI1NiJ9"), "{text}");
        assert!(text.contains("REDACTED:jwt"), "{text}");
    }
}

#[test]
fn run_accepts_github_among_its_formats() {
    let out = gonogo(
        &[
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--format",
            "json,md,github",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with("gonogo: the target http://127.0.0.1:9 is unreachable"),
        "the format list is accepted; the run fails on the target: {}",
        stderr(&out)
    );
}

mod action {
    use super::*;

    fn text() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../action.yml");
        std::fs::read_to_string(path).expect("action.yml at the repository root")
    }

    fn action() -> serde_json::Value {
        serde_saphyr::from_str(&text()).expect("action.yml is YAML")
    }

    fn run_scripts(action: &serde_json::Value) -> Vec<String> {
        let steps = action["runs"]["steps"].as_array().unwrap();
        steps
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_owned))
            .collect()
    }

    /// What each `${{ … }}` of the file holds, trimmed.
    fn expressions(text: &str) -> Vec<&str> {
        text.split("${{")
            .skip(1)
            .map(|rest| rest.split("}}").next().unwrap().trim())
            .collect()
    }

    #[test]
    fn it_is_a_composite_action_using_only_declared_inputs() {
        let action = action();
        assert_eq!(action["runs"]["using"], "composite");
        let inputs = action["inputs"].as_object().unwrap();
        assert_eq!(inputs["target"]["required"], true);
        let text = text();
        let used: Vec<&str> = expressions(&text)
            .into_iter()
            .filter_map(|e| e.strip_prefix("inputs."))
            .collect();
        assert!(
            used.contains(&"target") && used.contains(&"jwt-secret"),
            "{used:?}"
        );
        for name in used {
            assert!(inputs.contains_key(name), "`inputs.{name}` is not declared");
        }
    }

    #[test]
    fn no_run_script_interpolates_an_expression() {
        for script in run_scripts(&action()) {
            assert!(!script.contains("${{"), "use env: instead, in\n{script}");
        }
    }

    #[test]
    fn its_outputs_are_what_gonogo_writes_for_the_gate_step() {
        let action = action();
        let step = Step::new(&ReportBuilder::go().build());
        assert_eq!(step.publish().status.code(), Some(0));
        let written = step.outputs();
        for (name, output) in action["outputs"].as_object().unwrap() {
            assert_eq!(
                output["value"],
                format!("${{{{ steps.gate.outputs.{name} }}}}"),
                "{name}"
            );
            assert!(
                written.contains_key(name) || name == "report",
                "gonogo writes no `{name}` output"
            );
        }
        let gate = action["runs"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "gate")
            .unwrap();
        assert!(gate["run"].as_str().unwrap().contains("put report "));
    }

    #[test]
    fn its_gonogo_command_line_parses_with_the_real_cli() {
        let action = action();
        let scripts = run_scripts(&action);
        let line = scripts
            .iter()
            .flat_map(|s| s.lines())
            .map(str::trim)
            .find(|l| l.contains("\"$gonogo\" run "))
            .expect("the run step calls gonogo run");
        // the command itself, without the braces and redirections around it
        let line = &line[line.find("\"$gonogo\"").unwrap()..line.find(" 2>&1").unwrap()];
        let default_formats = action["inputs"]["formats"]["default"].as_str().unwrap();
        let placeholders = [
            ("\"$gonogo\"", "gonogo"),
            ("\"$GONOGO_TARGET\"", "https://knowledge.example.com"),
            ("\"$GONOGO_FORMATS\"", default_formats),
            ("\"$GONOGO_REPORT_DIR\"", "gonogo-report"),
            ("\"${extra[@]}\"", "--label staging --latency-samples 400"),
        ];
        let mut argv = line.to_string();
        for (var, value) in placeholders {
            argv = argv.replace(var, value);
        }
        assert!(!argv.contains('$'), "a variable left: {argv}");
        let cli = Cli::try_parse_from(argv.split_whitespace()).expect("gonogo accepts it");
        let Sub::Run(args) = cli.command else {
            panic!("not `gonogo run`: {argv}")
        };
        assert_eq!(
            args.layers.flag("run.target"),
            Some("https://knowledge.example.com")
        );
        assert_eq!(args.layers.flag("run.latency_samples"), Some("400"));
        assert!(
            FormatList::parse(args.layers.flag("report.formats").unwrap_or_default())
                .unwrap()
                .github
        );
    }

    /// The `run:` script of the step with this `id`.
    fn script(id: &str) -> String {
        let action = action();
        let steps = action["runs"]["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["id"] == id).unwrap();
        step["run"].as_str().unwrap().to_owned()
    }

    /// The gate step's inputs as the action passes them: each input's default.
    fn default_inputs() -> Vec<(&'static str, String)> {
        let action = action();
        let default = |name: &str| {
            action["inputs"][name]["default"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        vec![
            ("GONOGO_TARGET", "http://127.0.0.1:9".to_owned()),
            ("GONOGO_FORMATS", default("formats")),
            ("GONOGO_REPORT_DIR", default("report-dir")),
            ("GONOGO_ARGS", default("args")),
            ("GONOGO_JWT_SECRET", default("jwt-secret")),
            ("GONOGO_DATABASE_URL", default("database-url")),
            (
                "GONOGO_ACCEPT_API_ONLY_ISOLATION",
                default("accept-api-only-isolation"),
            ),
            ("GONOGO_CONFIG", default("config")),
        ]
    }

    /// Runs `script` as a composite step's `shell: bash` does
    /// (`bash --noprofile --norc -eo pipefail`), inside `step` (its files as
    /// `$GITHUB_OUTPUT` / `$GITHUB_STEP_SUMMARY`, its directory as the
    /// workspace, `$RUNNER_TEMP` and `$HOME`), with `env` and nothing of this
    /// environment's gonogo settings.
    fn run_step(script: &str, step: &Step, env: &[(&str, String)]) -> Output {
        let file = step.path("step.sh");
        std::fs::write(&file, script).unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(step.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("GONOGO_") || k.starts_with("SMOKE_") || k.starts_with("GITHUB_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("GITHUB_OUTPUT", step.path("output"))
            .env("GITHUB_STEP_SUMMARY", step.path("summary.md"))
            .env("RUNNER_TEMP", step.dir.path())
            .env("HOME", step.dir.path())
            .env("RUNNER_OS", "Linux");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("bash runs")
    }

    /// The gate step with `gonogo` as the binary the install steps gave it.
    fn gate(step: &Step, gonogo: &Path, inputs: &[(&'static str, String)]) -> Output {
        let mut env = vec![("ACTION_GONOGO_BIN", gonogo.display().to_string())];
        env.extend(inputs.iter().cloned());
        run_step(&script("gate"), step, &env)
    }

    /// Every output the step appended takes the heredoc form, one-line values too.
    fn assert_all_heredoc(step: &Step) {
        let text = std::fs::read_to_string(step.path("output")).unwrap();
        let appended = text.strip_prefix(EARLIER_OUTPUT).unwrap();
        let mut lines = appended.lines();
        while let Some(line) = lines.next() {
            let (_, delimiter) = line
                .split_once("<<ghadelimiter_")
                .unwrap_or_else(|| panic!("not the heredoc form: {line:?} in\n{appended}"));
            let delimiter = format!("ghadelimiter_{delimiter}");
            assert!(lines.any(|l| l == delimiter), "{line} is not closed");
        }
    }

    #[test]
    fn on_exit_3_the_action_still_writes_verdict_error_a_decision_a_summary_and_one_error() {
        let step = Step::empty();
        let out = gate(
            &step,
            Path::new(env!("CARGO_BIN_EXE_gonogo")),
            &default_inputs(),
        );
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let reason = "gonogo: the target http://127.0.0.1:9 is unreachable";

        let outputs = step.outputs();
        assert_eq!(outputs["earlier"], "kept");
        assert_eq!(outputs["verdict"], "ERROR");
        assert_eq!(outputs["report"], "gonogo-report/go-no-go.json");
        assert!(outputs["reasons"].starts_with(reason), "{outputs:?}");
        assert!(!outputs["decision"].contains('\n'), "one line");
        let decision: serde_json::Value = serde_json::from_str(&outputs["decision"]).unwrap();
        assert_eq!(decision["verdict"], "ERROR");
        assert_eq!(decision["reasons"], serde_json::json!([outputs["reasons"]]));
        assert_eq!(decision["warnings"], serde_json::json!([]));
        assert_all_heredoc(&step);

        let summary = step.summary();
        let appended = summary.strip_prefix(EARLIER_SUMMARY).unwrap();
        assert!(
            appended.starts_with("\n# ⚠️ Release decision: ERROR\n"),
            "{appended}"
        );
        assert!(
            appended.contains(&format!("- {}", outputs["reasons"])),
            "{appended}"
        );

        let printed = stdout(&out);
        let errors = commands(&printed, "error");
        assert_eq!(
            errors,
            [format!("::error title=gonogo::{}", outputs["reasons"])],
            "{printed}"
        );
        assert!(
            stderr(&out).contains(reason),
            "gonogo's own message is still shown: {}",
            stderr(&out)
        );
    }

    #[test]
    fn the_error_reason_is_gonogo_s_last_line_escaped_for_json_and_the_annotation() {
        let step = Step::empty();
        let fake = step.path("gonogo");
        std::fs::write(
            &fake,
            "#!/bin/sh\nprintf 'gonogo: checking\\n\\n' >&2\nprintf 'progress\\rgonogo: bad \"value\" \\\\ at 100%%\\tend\\n\\n' >&2\nexit 3\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&fake).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&fake, perms).unwrap();
        let out = gate(&step, &fake, &default_inputs());
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let outputs = step.outputs();
        let reason = r#"gonogo: bad "value" \ at 100%end"#;
        assert_eq!(outputs["reasons"], reason);
        let decision: serde_json::Value = serde_json::from_str(&outputs["decision"]).unwrap();
        assert_eq!(decision["reasons"][0], reason);
        assert_eq!(
            commands(&stdout(&out), "error"),
            [r#"::error title=gonogo::gonogo: bad "value" \ at 100%25end"#]
        );
    }

    #[test]
    fn a_newline_in_any_input_adds_no_output() {
        for (name, _) in default_inputs() {
            let step = Step::empty();
            let inputs: Vec<(&'static str, String)> = default_inputs()
                .into_iter()
                .map(|(k, v)| {
                    let v = if k == name {
                        format!("{v}\ninjected=yes\nverdict=GO")
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect();
            let out = gate(&step, Path::new(env!("CARGO_BIN_EXE_gonogo")), &inputs);
            assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
            let outputs = step.outputs();
            let keys: Vec<&str> = outputs.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["decision", "earlier", "reasons", "report", "verdict"],
                "{name}"
            );
            assert_eq!(outputs["verdict"], "ERROR", "{name}");
            assert_all_heredoc(&step);
        }
        // report-dir reaches $GITHUB_OUTPUT whole: inside the one value
        let step = Step::empty();
        let mut inputs = default_inputs();
        inputs[2].1 = "out\nverdict=GO".into();
        gate(&step, Path::new(env!("CARGO_BIN_EXE_gonogo")), &inputs);
        assert_eq!(step.outputs()["report"], "out\nverdict=GO/go-no-go.json");
    }

    #[test]
    fn without_a_release_asset_the_download_step_leaves_the_build_to_the_next_steps() {
        let download = script("download");
        for (repository, server) in [
            ("", "http://127.0.0.1:9"),
            ("o/gonogo", "http://127.0.0.1:9"),
        ] {
            let step = Step::empty();
            let out = run_step(
                &download,
                &step,
                &[
                    ("ACTION_REPOSITORY", repository.into()),
                    ("ACTION_REF", "v0.1.0".into()),
                    ("GITHUB_SERVER_URL", server.into()),
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert!(stderr(&out).contains("building it"), "{}", stderr(&out));
            assert_eq!(
                step.outputs().len(),
                1,
                "no `bin` output: {:?}",
                step.outputs()
            );
        }
    }

    #[test]
    fn the_install_steps_agree_with_the_release_workflow_and_each_other() {
        let text = text();
        let action = action();
        let steps = action["runs"]["steps"].as_array().unwrap();
        let asset = "gonogo-x86_64-unknown-linux-gnu.tar.gz";
        assert!(script("download").contains(&format!("/releases/download/$ACTION_REF/{asset}")));
        // the release workflow uploads that asset, `gonogo` at its top, built as the action builds
        let release = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/release.yml"),
        )
        .expect(".github/workflows/release.yml");
        let workflow: serde_json::Value = serde_saphyr::from_str(&release).expect("YAML");
        assert!(workflow["jobs"]["binary"].is_object() && workflow["jobs"]["image"].is_object());
        assert!(release.contains(&format!("tar -czf {asset} -C target/release gonogo")));
        assert!(release.contains(&format!("gh release upload \"$TAG\" {asset}")));
        assert!(release.contains("--no-default-features -p gonogo-harness --bin gonogo"));
        assert!(release.contains("docker build -f Dockerfile"));
        // the cache holds what `cargo install` writes and the gate runs by default
        let cache = steps.iter().find(|s| s["id"] == "cache").unwrap();
        assert_eq!(cache["uses"], "actions/cache@v4");
        assert_eq!(cache["with"]["path"], "~/.cargo/bin/gonogo");
        assert_eq!(cache["with"]["key"], "${{ steps.key.outputs.key }}");
        assert!(script("key").contains("${ACTION_REF:-local}"));
        let build = steps
            .iter()
            .find_map(|s| s["run"].as_str().filter(|r| r.starts_with("cargo install")))
            .unwrap();
        assert!(!build.contains("--root"), "installs into ~/.cargo/bin");
        assert!(script("gate").contains("${ACTION_GONOGO_BIN:-$HOME/.cargo/bin/gonogo}"));
        assert!(text.contains("ACTION_GONOGO_BIN: ${{ steps.download.outputs.bin }}"));
    }
}
