//! The layers on a temporary directory: precedence, sources, legacy names, masking, refusals.

use std::collections::HashMap;

use super::*;

struct Dir {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Dir {
    fn with_file(text: &str) -> Dir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gonogo.toml"), text).unwrap();
        Dir {
            dir,
            env: HashMap::new(),
        }
    }

    fn empty() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
            env: HashMap::new(),
        }
    }

    fn env(mut self, name: &str, value: &str) -> Dir {
        self.env.insert(name.into(), value.into());
        self
    }

    fn load(&self, flags: Flags) -> Result<Config, ConfigError> {
        let env = |name: &str| self.env.get(name).cloned();
        Config::load_with(
            None,
            None,
            &flags,
            &Surroundings {
                env: &env,
                cwd: self.dir.path(),
            },
        )
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("gonogo.toml")
    }
}

fn flag(key: &'static str, v: &str) -> (&'static str, toml::Value) {
    (key, toml::Value::String(v.into()))
}

#[test]
fn a_flag_beats_the_variable_which_beats_the_file_which_beats_the_default() {
    let dir = Dir::with_file(
        "[run]\ntarget = \"http://file\"\nlabel = \"from-file\"\n\n[report]\ndir = \"out/file\"\n",
    )
    .env("GONOGO_TARGET", "http://env")
    .env("GONOGO_LABEL", "from-env");
    let c = dir.load(vec![flag("run.target", "http://flag")]).unwrap();
    let file = dir.file();
    let target = c.entry("run.target").unwrap();
    assert_eq!(c.string("run.target").as_deref(), Some("http://flag"));
    assert_eq!(target.source, Source::Flag("--target"));
    assert_eq!(
        target.described_source(),
        format!(
            "flag --target (overrides env GONOGO_TARGET, {} line 2)",
            file.display()
        )
    );
    assert_eq!(c.string("run.label").as_deref(), Some("from-env"));
    assert_eq!(c.path("report.dir"), Some(PathBuf::from("out/file")));
    assert_eq!(
        c.entry("report.dir").unwrap().source,
        Source::File {
            path: file.clone(),
            line: 6
        }
    );
    let formats = c.entry("report.formats").unwrap();
    assert_eq!(
        (&formats.source, formats.value.to_string().as_str()),
        (&Source::Default, "[\"json\"]")
    );
    assert_eq!(c.file().map(|(p, _)| p.to_path_buf()), Some(file));
}

#[test]
fn the_older_smoke_variables_still_work_below_the_gonogo_ones() {
    let dir = Dir::empty().env("SMOKE_TARGET_URL", "http://old");
    let c = dir.load(vec![]).unwrap();
    assert_eq!(c.string("run.target").as_deref(), Some("http://old"));
    assert_eq!(
        c.entry("run.target").unwrap().source.to_string(),
        "env SMOKE_TARGET_URL (older name of GONOGO_TARGET)"
    );
    let both = Dir::empty()
        .env("SMOKE_TARGET_URL", "http://old")
        .env("GONOGO_TARGET", "http://new");
    assert_eq!(
        both.load(vec![]).unwrap().string("run.target").as_deref(),
        Some("http://new")
    );
}

#[test]
fn the_table_masks_secrets_and_names_every_source() {
    let dir = Dir::with_file("[serve]\ntoken = \"file-token-value\"\n")
        .env("GONOGO_JWT_SECRET", "env-secret-value");
    let c = dir.load(vec![]).unwrap();
    let table = c.table();
    assert!(!table.contains("file-token-value"), "{table}");
    assert!(!table.contains("env-secret-value"), "{table}");
    let line = |key: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("run.jwt_secret"),
        "run.jwt_secret ******** (set) env GONOGO_JWT_SECRET"
    );
    assert!(line("serve.token").ends_with("line 2"), "{table}");
    assert_eq!(line("run.target"), "run.target (unset) -");
    assert_eq!(line("thresholds.p95_ms"), "thresholds.p95_ms 400.0 default");
    assert_eq!(
        line("canary"),
        "canary \"release plan\", 3 phase(s) default"
            .replace("release plan", &CanaryPlan::default().name)
            .replace("3", &CanaryPlan::default().phases.len().to_string())
    );
    assert!(table.starts_with("configuration file: "), "{table}");
    assert!(table.contains("precedence: flag > env > file > default"));
}

#[test]
fn a_looser_threshold_is_refused_naming_its_key_value_and_line() {
    let dir = Dir::with_file("[thresholds]\np95_ms = 500\n");
    let e = dir.load(vec![]).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "thresholds.p95_ms = 500.0 ({} line 2) must be above 0 and at most the contract's 400 ms: \
             a configuration can tighten the gate, never widen it",
            dir.file().display()
        )
    );
    let stricter = Dir::with_file("[thresholds]\np95_ms = 250\nsuccess_rate = 0.995\n");
    let t = stricter.load(vec![]).unwrap().thresholds();
    assert_eq!((t.max_p95_ms, t.min_success_rate), (250.0, 0.995));
}

#[test]
fn wrong_values_in_variables_and_flags_are_one_sentence() {
    let e = Dir::empty()
        .env("GONOGO_LATENCY_SAMPLES", "many")
        .load(vec![])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "GONOGO_LATENCY_SAMPLES=\"many\" must be a whole number of at least 1"
    );
    let e = Dir::empty()
        .env("GONOGO_SERVE_TOKEN", " ")
        .env("GONOGO_FORMATS", "json,pdf")
        .load(vec![])
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("report.formats = [\"json\", \"pdf\"] (env GONOGO_FORMATS)"),
        "{e}"
    );
    let e = Dir::empty()
        .load(vec![("run.latency_samples", toml::Value::Integer(0))])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--latency-samples must be a whole number of at least 1"
    );
}

#[test]
fn a_named_file_must_exist_and_the_working_directory_one_is_optional() {
    let dir = Dir::empty();
    let env = |_: &str| None;
    let around = Surroundings {
        env: &env,
        cwd: dir.dir.path(),
    };
    let e = Config::load_with(Some(Path::new("nope.toml")), None, &vec![], &around).unwrap_err();
    assert!(
        e.to_string()
            .contains("named by flag --config does not exist"),
        "{e}"
    );
    let c = dir.load(vec![]).unwrap();
    assert!(c.file().is_none());
    assert!(c.table().starts_with("configuration file: none"));
}

#[test]
fn the_existing_signoff_table_and_a_canary_plan_in_the_file_are_read() {
    let dir = Dir::with_file(
        "[signoff]\nrequired_roles = [\"Security\", \"QA\"]\n\n[canary]\nname = \"fast\"\n\n[[canary.phase]]\ntraffic_percent = 10\nduration = \"1m\"\nerror_budget = 1\n",
    );
    let c = dir.load(vec![]).unwrap();
    assert_eq!(c.required_roles(), ["Security", "QA"]);
    assert_eq!(c.canary_plan().name, "fast");
    let options = c.render_options();
    assert_eq!(options.required_roles, ["Security", "QA"]);
    let e = Dir::with_file("[signoff]\nrequired_roles = []\n")
        .load(vec![])
        .unwrap_err();
    assert!(e.to_string().contains("at least one role must sign"), "{e}");
}

#[test]
fn every_setting_is_documented_in_the_readme() {
    let readme = include_str!("../../../README.md");
    for s in SETTINGS {
        for needle in [s.key, s.flag, s.env[0]] {
            assert!(
                readme.contains(&format!("`{needle}`")),
                "README.md does not document `{needle}` ({})",
                s.key
            );
        }
    }
}

#[test]
fn the_example_file_and_the_readme_snippet_are_valid_configurations() {
    let example = include_str!("../../../gonogo.example.toml");
    let readme = include_str!("../../../README.md");
    let snippet: String = readme
        .lines()
        .skip_while(|l| !l.starts_with("# gonogo.toml — the example"))
        .take_while(|l| !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        snippet.contains("[thresholds]"),
        "the README's gonogo.toml snippet moved"
    );
    for text in [example, snippet.as_str()] {
        let dir = Dir::with_file(text);
        let c = dir.load(vec![]).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(!c.canary_plan().phases.is_empty());
        assert!(c.file().is_some());
    }
}

#[test]
fn a_password_inside_a_url_is_masked_even_in_settings_that_are_not_secret() {
    let dir = Dir::empty().env("GONOGO_TARGET", "http://user:hunter2secret@staging:8080");
    let table = dir.load(vec![]).unwrap().table();
    assert!(!table.contains("hunter2secret"), "{table}");
    assert!(table.contains("user:********@staging"), "{table}");
}

#[test]
fn durations_beyond_a_day_are_refused() {
    let e = Dir::empty()
        .env("GONOGO_SERVE_RUN_TIMEOUT", "18446744073709551615s")
        .load(vec![])
        .unwrap_err();
    assert!(e.to_string().contains("serve.run_timeout"), "{e}");
}

#[test]
fn a_refusal_carries_the_setting_its_source_and_the_file_line_as_fields() {
    let dir = Dir::with_file("[thresholds]\np95_ms = 500\n");
    let Err(ConfigError::Looser { setting, .. }) = dir.load(vec![]) else {
        panic!("a looser p95 is refused as Looser");
    };
    assert_eq!(setting.key, "thresholds.p95_ms");
    assert_eq!(
        setting.source,
        Some(Source::File {
            path: dir.file(),
            line: 2
        })
    );
    let dir = Dir::with_file("[run]\ntargt = \"http://x\"\n");
    let Err(ConfigError::File(e)) = dir.load(vec![]) else {
        panic!("an unknown key is a file error");
    };
    let file::ParseError::UnknownKey { at, key, .. } = *e else {
        panic!("an unknown key is UnknownKey: {e}");
    };
    assert_eq!((at.line, key.as_str()), (Some(2), "run.targt"));
}

#[test]
fn the_report_dir_defaults_to_the_one_written_in_the_settings_table() {
    let c = Dir::empty().load(vec![]).unwrap();
    assert_eq!(c.report_dir(), PathBuf::from(settings::DEFAULT_REPORT_DIR));
    assert_eq!(c.run_options().report_dir, Some(c.report_dir()));
    let set = Dir::empty().env("GONOGO_REPORT_DIR", "elsewhere");
    assert_eq!(
        set.load(vec![]).unwrap().report_dir(),
        PathBuf::from("elsewhere")
    );
}
