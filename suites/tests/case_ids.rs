//! Case ids are names users filter, waive and compare reports by: moving a
//! module must never change one. The registry's full list (hermetic mode, so
//! the database gate too), with each case's section and phase, in report
//! order, is checked in as `fixtures/case_ids.txt`; `fixtures/smoke_list.txt` is
//! what `cargo test --test smoke -- --list` printed when it was captured.
//!
//! A new or renamed case is a deliberate change: run with
//! `GONOGO_BLESS_CASE_IDS=1` to rewrite the list, and say why in the commit.

use std::path::PathBuf;

use gonogo_suites::{registry, Phase, Section};

/// The registry's trial the smoke test adds after the cases.
const DECISION: &str = "decision::verdict_is_go";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One line per case: `section id · section name · phase · case id`.
fn listed() -> String {
    let mut out = String::new();
    for group in registry(true) {
        let (kind, id, name) = match group.section {
            Section::Suite { id, name } => ("suite", id, name),
            Section::Gate { id, name } => ("gate", id, name),
        };
        let phase = match group.phase {
            Phase::Main => "main",
            Phase::Final => "final",
        };
        for case in group.cases {
            out.push_str(&format!("{kind} {id} · {name} · {phase} · {}\n", case.id));
        }
    }
    out
}

fn diff(want: &str, got: &str) -> String {
    let gone = want.lines().filter(|l| !got.lines().any(|g| g == *l));
    let new = got.lines().filter(|l| !want.lines().any(|w| w == *l));
    gone.map(|l| format!("- {l}"))
        .chain(new.map(|l| format!("+ {l}")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn case_ids_sections_and_order_are_unchanged() {
    let got = listed();
    let path = fixture("case_ids.txt");
    if std::env::var_os("GONOGO_BLESS_CASE_IDS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert!(
        got == want,
        "the registry's cases differ from {} (moved or reordered if no line differs):\n{}",
        path.display(),
        diff(&want, &got)
    );
}

#[test]
fn the_smoke_tests_list_is_the_registry_and_the_decision() {
    let list = std::fs::read_to_string(fixture("smoke_list.txt")).unwrap();
    let trials: Vec<&str> = list
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    let groups = registry(true);
    let mut want = gonogo_suites::check::registry::case_ids(&groups);
    want.push(DECISION);
    assert_eq!(trials, want);
}
