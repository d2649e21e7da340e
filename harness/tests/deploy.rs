//! The example manifests under `deploy/` are valid YAML and name only what
//! exists: every `gonogo` command line parses with the real CLI, every
//! variable is one gonogo reads, every URL is a route of `gonogo serve`, the
//! embedded `gonogo.toml` is a valid configuration, and the verdict strings
//! are the JSON's own spelling.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use gonogo_harness::cli::Cli;
use gonogo_harness::config::{self, SETTINGS};
use gonogo_harness::serve::ROUTES;
use gonogo_reports::Verdict;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every document of every YAML file under `deploy/`, with its file name.
fn documents() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("deploy")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 5, "deploy/ lost manifests: {files:?}");
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        let name = path.strip_prefix(root()).unwrap().display().to_string();
        out.extend(docs.into_iter().map(|d| (name.clone(), d)));
    }
    out
}

fn of_kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a (String, Value)> {
    docs.iter().filter(|(_, d)| d["kind"] == kind).collect()
}

/// Every object under `v` that has a `containers` array: pod specs.
fn containers(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(cs)) = map.get("containers") {
                out.extend(cs.iter().cloned());
            }
            map.values().for_each(|c| containers(c, out));
        }
        Value::Array(items) => items.iter().for_each(|c| containers(c, out)),
        _ => {}
    }
}

/// `{{args.x}}` placeholders replaced by something of the right shape.
fn substituted(arg: &str) -> String {
    let mut s = arg.to_owned();
    while let (Some(a), Some(b)) = (s.find("{{"), s.find("}}")) {
        let name = &s[a + 2..b];
        let value = if name.contains("target") {
            "http://placeholder.svc:8080"
        } else {
            "placeholder"
        };
        s = format!("{}{value}{}", &s[..a], &s[b + 2..]);
    }
    s
}

fn known_variables() -> BTreeSet<&'static str> {
    SETTINGS
        .iter()
        .flat_map(|s| s.env.iter().copied())
        .chain([config::settings::CONFIG_ENV, config::settings::CANARY_ENV])
        .collect()
}

/// The path of a URL, without its query.
fn path_of(url: &str) -> String {
    let u = url::Url::parse(&substituted(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    u.path().to_owned()
}

fn route(method: &str, path: &str) -> bool {
    ROUTES.iter().any(|(m, p)| *m == method && *p == path)
}

/// The JSON's spelling (`label` is pinned to it in `gonogo_reports::label`).
fn verdict(v: Verdict) -> &'static str {
    v.label()
}

#[test]
fn every_gonogo_command_line_parses_and_every_variable_exists() {
    let docs = documents();
    let known = known_variables();
    let mut seen = 0;
    for (file, doc) in &docs {
        let mut cs = Vec::new();
        containers(doc, &mut cs);
        for c in cs {
            let argv: Vec<String> = c["command"]
                .as_array()
                .into_iter()
                .chain(c["args"].as_array())
                .flatten()
                .map(|a| substituted(a.as_str().expect("string arguments")))
                .collect();
            if argv.first().map(String::as_str) != Some("gonogo") {
                continue;
            }
            seen += 1;
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("{file}: `{}` does not parse: {e}", argv.join(" "));
            }
            for var in c["env"].as_array().into_iter().flatten() {
                let name = var["name"].as_str().unwrap();
                if name.starts_with("GONOGO_") || name.starts_with("SMOKE_") {
                    assert!(
                        known.contains(name),
                        "{file}: gonogo reads no variable {name}"
                    );
                }
            }
        }
    }
    assert!(seen >= 2, "the manifests lost their gonogo containers");
}

#[test]
fn the_embedded_configuration_is_valid_and_lists_the_webhook_targets() {
    let docs = documents();
    let maps = of_kind(&docs, "ConfigMap");
    let toml = maps
        .iter()
        .find_map(|(_, d)| d["data"]["gonogo.toml"].as_str())
        .expect("a ConfigMap with gonogo.toml");
    let layer = config::file::parse(toml, "deploy/gonogo-serve.yaml gonogo.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let allowed: Vec<String> = layer
        .values
        .iter()
        .find(|(s, _, _)| s.key == "serve.allowed_targets")
        .and_then(|(_, v, _)| v.as_array().cloned())
        .expect("serve.allowed_targets")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let allowlist = gonogo_harness::serve::Allowlist::parse(&allowed).unwrap();
    // Every target a Flagger webhook or an Argo Rollout names is on it.
    let mut targets = Vec::new();
    for (_, c) in of_kind(&docs, "Canary") {
        for hook in c["spec"]["analysis"]["webhooks"].as_array().unwrap() {
            targets.extend(hook["metadata"]["target"].as_str().map(str::to_owned));
        }
    }
    for (_, r) in of_kind(&docs, "Rollout") {
        let steps = r["spec"]["strategy"]["canary"]["steps"].as_array().unwrap();
        for step in steps {
            for arg in step["analysis"]["args"].as_array().into_iter().flatten() {
                if arg["name"] == "target" {
                    targets.push(arg["value"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert!(targets.len() >= 3, "{targets:?}");
    for t in targets {
        allowlist
            .check(&t)
            .unwrap_or_else(|e| panic!("{t} is named but not allowed: {e}"));
    }
}

#[test]
fn argo_templates_read_the_verdict_as_the_json_spells_it() {
    let docs = documents();
    let templates = of_kind(&docs, "AnalysisTemplate");
    let (mut web, mut job) = (0, 0);
    for (file, t) in &templates {
        let declared: BTreeSet<&str> = t["spec"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        let text = serde_json::to_string(t).unwrap();
        for used in text.split("{{args.").skip(1) {
            let name = &used[..used.find("}}").unwrap()];
            assert!(
                declared.contains(name),
                "{file}: {{{{args.{name}}}}} is not declared"
            );
        }
        for m in t["spec"]["metrics"].as_array().unwrap() {
            let provider = &m["provider"];
            if let Some(w) = provider.get("web") {
                web += 1;
                let url = w["url"].as_str().unwrap();
                assert!(
                    route("GET", &path_of(url)),
                    "{file}: {url} is not a gonogo serve route"
                );
                assert!(url.contains("target="), "{file}: {url}");
                assert_eq!(w["jsonPath"], "{$.verdict}", "{file}");
                assert_eq!(
                    m["successCondition"],
                    format!("result == \"{}\"", verdict(Verdict::Go)),
                    "{file}"
                );
                assert_eq!(
                    m["failureCondition"],
                    format!("result == \"{}\"", verdict(Verdict::NoGo)),
                    "{file}"
                );
                let auth = w["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|h| h["key"] == "Authorization");
                assert!(
                    auth.is_some_and(|h| h["value"].as_str().unwrap().starts_with("Bearer ")),
                    "{file}: the web metric sends no bearer token"
                );
            }
            if let Some(j) = provider.get("job") {
                job += 1;
                assert_eq!(
                    j["spec"]["backoffLimit"], 0,
                    "{file}: a failed run must not be retried"
                );
            }
        }
    }
    assert_eq!((web, job), (1, 1));
    // The Rollout uses a template that exists, with the arguments it declares.
    for (file, r) in of_kind(&docs, "Rollout") {
        for step in r["spec"]["strategy"]["canary"]["steps"].as_array().unwrap() {
            let Some(analysis) = step.get("analysis") else {
                continue;
            };
            for t in analysis["templates"].as_array().unwrap() {
                let name = t["templateName"].as_str().unwrap();
                let template = templates
                    .iter()
                    .find(|(_, d)| d["metadata"]["name"] == name)
                    .unwrap_or_else(|| panic!("{file}: no AnalysisTemplate {name}"));
                for a in template.1["spec"]["args"].as_array().unwrap() {
                    let needs_value = a.get("value").is_none() && a.get("valueFrom").is_none();
                    let given = analysis["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|g| g["name"] == a["name"]);
                    assert!(
                        !needs_value || given,
                        "{file}: {name} needs arg {}",
                        a["name"]
                    );
                }
            }
        }
    }
}

#[test]
fn flagger_webhooks_call_the_route_of_their_type_with_a_token() {
    let docs = documents();
    let canaries = of_kind(&docs, "Canary");
    assert_eq!(canaries.len(), 1);
    let hooks = canaries[0].1["spec"]["analysis"]["webhooks"]
        .as_array()
        .unwrap();
    let types: BTreeSet<&str> = hooks.iter().map(|h| h["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        BTreeSet::from(["pre-rollout", "rollout", "confirm-promotion"])
    );
    for h in hooks {
        let kind = h["type"].as_str().unwrap();
        let path = path_of(h["url"].as_str().unwrap());
        assert_eq!(path, format!("/flagger/{kind}"));
        assert!(route("POST", &path), "{path}");
        assert!(
            h["metadata"]["token"].is_string(),
            "{kind}: no metadata.token"
        );
        if kind != "confirm-promotion" {
            assert!(
                h["metadata"]["target"].is_string(),
                "{kind}: no metadata.target"
            );
        }
    }
}

#[test]
fn the_readme_and_the_manifests_spell_the_verdicts_as_the_json_does() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for v in [Verdict::Go, Verdict::NoGo, Verdict::Inconclusive] {
        assert!(
            readme.contains(&format!("`{}`", verdict(v))),
            "README.md lacks `{}`",
            verdict(v)
        );
    }
    for condition in [
        format!("successCondition: result == \"{}\"", verdict(Verdict::Go)),
        format!("failureCondition: result == \"{}\"", verdict(Verdict::NoGo)),
    ] {
        assert!(readme.contains(&condition), "README.md lacks {condition}");
        let web =
            std::fs::read_to_string(root().join("deploy/argo/analysis-template-web.yaml")).unwrap();
        assert!(
            web.contains(&condition),
            "the web template lacks {condition}"
        );
    }
}
