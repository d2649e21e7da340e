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

fn flag(key: &str, v: &str) -> (String, String) {
    (key.into(), v.into())
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
    assert_eq!(c.settings.run.target.as_deref(), Some("http://flag"));
    assert_eq!(target.source, Source::Flag("--target"));
    assert_eq!(
        target.described_source(),
        format!(
            "flag --target (overrides env GONOGO_TARGET, {} line 2)",
            file.display()
        )
    );
    assert_eq!(c.settings.run.label.as_deref(), Some("from-env"));
    assert_eq!(c.settings.report.dir, PathBuf::from("out/file"));
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
    assert_eq!(c.settings.run.target.as_deref(), Some("http://old"));
    assert_eq!(
        c.entry("run.target").unwrap().source.to_string(),
        "env SMOKE_TARGET_URL (older name of GONOGO_TARGET)"
    );
    let both = Dir::empty()
        .env("SMOKE_TARGET_URL", "http://old")
        .env("GONOGO_TARGET", "http://new");
    assert_eq!(
        both.load(vec![]).unwrap().settings.run.target.as_deref(),
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
        .load(vec![flag("run.latency_samples", "0")])
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
    assert_eq!(options.policy.required_roles, ["Security", "QA"]);
    let e = Dir::with_file("[signoff]\nrequired_roles = []\n")
        .load(vec![])
        .unwrap_err();
    assert!(e.to_string().contains("at least one role must sign"), "{e}");
}

#[test]
fn the_readme_s_settings_table_is_the_settings_table() {
    // `GONOGO_UPDATE_README=1 cargo test -p gonogo-harness --lib readme` writes it.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let table = settings::readme_table();
    let start = readme
        .find("| key | flag | variable | default | what |")
        .expect("README.md has the settings table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |i| start + i + 1);
    if std::env::var_os("GONOGO_UPDATE_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    assert!(
        readme[start..end] == table,
        "README.md's settings table is not the settings table: run \
         GONOGO_UPDATE_README=1 cargo test -p gonogo-harness --lib readme"
    );
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
    let default = settings::find("report.dir")
        .and_then(|s| s.default)
        .unwrap();
    assert_eq!(c.report_dir(), PathBuf::from(default));
    assert_eq!(c.run_options().report_dir, Some(c.report_dir()));
    let set = Dir::empty().env("GONOGO_REPORT_DIR", "elsewhere");
    assert_eq!(
        set.load(vec![]).unwrap().report_dir(),
        PathBuf::from("elsewhere")
    );
}

#[test]
fn an_unknown_flag_key_is_an_error_not_dropped() {
    let e = Dir::empty()
        .load(vec![flag("run.tagret", "http://x")])
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::UnknownFlag { key } if key == "run.tagret"),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("`run.tagret` is not a setting"),
        "{e}"
    );
}

#[test]
fn the_contract_goes_through_the_layers() {
    // `gonogo config`'s row for it: tests/cli.rs.
    let c = Dir::empty()
        .env("GONOGO_CONTRACT", "contracts/v1.md")
        .load(vec![])
        .unwrap();
    assert_eq!(
        c.entry("attest.contract").map(Entry::described_source),
        Some("env GONOGO_CONTRACT".to_owned())
    );
    let flagged = Dir::with_file("[attest]\ncontract = \"file.md\"\n")
        .env("GONOGO_CONTRACT", "env.md")
        .load(vec![flag("attest.contract", "flag.md")])
        .unwrap();
    assert_eq!(
        flagged.settings.attest.contract,
        Some(PathBuf::from("flag.md"))
    );
}

#[test]
fn every_setting_is_a_field_of_its_section() {
    // `deny_unknown_fields`: a row without its field fails here, with every setting set.
    let sample = |s: &Setting| match s.kind {
        Kind::Str | Kind::Path => match s.key {
            "run.jwt_secret" | "serve.token" => "0123456789abcdef0123",
            "serve.listen" => "127.0.0.1:1",
            _ => "x",
        },
        Kind::Count => "100",
        Kind::Number => match s.key {
            "thresholds.p95_ms" => "300",
            _ => "0.995",
        },
        Kind::List => match s.key {
            "report.formats" => "md",
            "serve.allowed_targets" => "http://a:1",
            _ => "Security",
        },
        Kind::Duration => "1m",
    };
    let flags = SETTINGS.iter().map(|s| flag(s.key, sample(s))).collect();
    let c = Dir::empty().load(flags).unwrap();
    for s in SETTINGS {
        assert!(
            matches!(c.entry(s.key).map(|e| &e.source), Some(Source::Flag(_))),
            "{}",
            s.key
        );
    }
}

#[test]
fn an_environment_table_sets_what_can_i_deploy_requires_and_a_wrong_one_is_refused() {
    let d = Dir::with_file(
        "[signoff]\nrequired_roles = [\"A\", \"B\"]\n\n[environments.production]\nrequire_attestation = true\n\n[environments.staging]\nrequired_roles = [\"A\"]\n",
    );
    let c = d.load(vec![]).unwrap();
    let production = c.environment_policy("production");
    assert_eq!(production.required_roles, ["A", "B"]);
    assert!(production.require_attestation);
    let staging = c.environment_policy("staging");
    assert_eq!(staging.required_roles, ["A"]);
    assert!(!staging.require_attestation);
    assert_eq!(c.environment_policy("qa").required_roles, ["A", "B"]);
    assert!(c.table().contains("environments.production"));

    let typo = Dir::with_file("[environments.production]\nrequire_attestaton = true\n");
    let e = typo.load(vec![]).unwrap_err().to_string();
    assert!(
        e.contains("line 2: [environments]:") && e.contains("require_attestaton"),
        "{e}"
    );
    let empty = Dir::with_file("[environments.production]\nrequired_roles = []\n");
    let e = empty.load(vec![]).unwrap_err().to_string();
    assert!(
        e.starts_with("[environments.production] required_roles:"),
        "{e}"
    );
}
