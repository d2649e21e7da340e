//! The example manifests under `deploy/` are valid YAML and name only what
//! exists: every `gonogo` command line parses with the real CLI, every
//! variable is one gonogo reads, every URL is a route of `gonogo serve`, the
//! embedded `gonogo.toml` is a valid configuration, and the verdict strings
//! are the JSON's own spelling.
//!
//! And they would run: every object validates strictly (unknown fields
//! refused) against the Kubernetes schemas and the pinned Argo Rollouts and
//! Flagger CRD schemas (read from `../shared/crd-schemas/`: `deploy/schemas.md`), every pod meets the Pod Security
//! "restricted" profile with resources and probes, secrets arrive only through
//! `secretKeyRef`, and every object a manifest names is defined (or created by
//! a `kubectl` command of the README). Broken copies of `deploy/` fail each of
//! these checks.
//!
//! The Kubernetes schemas come from PyPI's `kubernetes-validate`
//! (`tests/deploy/requirements.txt`, pinned) installed into a venv under the
//! target dir by this test the first time it runs, as `tests/attest.rs` does;
//! only its JSON files are read.

#[path = "support/venv.rs"]
mod venv;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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
    documents_in(&root().join("deploy"))
}

/// Every document of every YAML file under `deploy` (the real one or a copy),
/// named by its path below the directory holding `deploy`.
fn documents_in(deploy: &Path) -> Vec<(String, Value)> {
    let base = deploy.parent().unwrap();
    let mut files = Vec::new();
    let mut dirs = vec![deploy.to_path_buf()];
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
        let name = path.strip_prefix(base).unwrap().display().to_string();
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

// ---------------------------------------------------------------------------
// Manifests that would run: schemas, Pod Security, secrets, references.
// ---------------------------------------------------------------------------

/// The Kubernetes release whose schemas the core kinds are checked against:
/// an older one than current clusters run, so no field newer than it slips in.
const KUBERNETES: &str = "v1.30.0";

/// The image `just image` builds (the root Dockerfile), as every gonogo
/// container must name it.
fn gonogo_image() -> String {
    format!("gonogo:{}", env!("CARGO_PKG_VERSION"))
}

/// The `$defs` of the strict Kubernetes schemas (`additionalProperties: false`
/// on every object) that PyPI's kubernetes-validate ships, from a venv made
/// once per target dir.
fn kubernetes_defs() -> &'static serde_json::Map<String, Value> {
    static DEFS: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    DEFS.get_or_init(|| {
        let locate = |py: &Path| {
            Command::new(py)
                .args([
                    "-c",
                    "import kubernetes_validate, pathlib; print(pathlib.Path(kubernetes_validate.__file__).parent)",
                ])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        };
        let py = venv::python_with(
            "kubernetes-validate-venv",
            "deploy/requirements.txt",
            "kubernetes-validate",
            |py| locate(py).is_some(),
        );
        let package = locate(&py).expect("the venv has kubernetes_validate");
        let file = package
            .join("kubernetes-json-schema")
            .join(format!("{KUBERNETES}-local-strict"))
            .join("_definitions.json");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut all: Value = serde_json::from_str(&text).unwrap();
        match all["$defs"].take() {
            Value::Object(defs) => defs,
            _ => panic!("{} has no $defs", file.display()),
        }
    })
}

/// The Kubernetes definition of `apiVersion`/`kind`, found by its
/// `x-kubernetes-group-version-kind`.
fn kubernetes_def(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    kubernetes_defs().iter().find_map(|(name, def)| {
        let gvks = def["x-kubernetes-group-version-kind"].as_array()?;
        gvks.iter()
            .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
            .then(|| name.clone())
    })
}

/// A CRD's `openAPIV3Schema` made strict as the API server reads it: an
/// object schema without `x-kubernetes-preserve-unknown-fields` has its
/// unknown fields pruned, so here they are refused; `x-kubernetes-int-or-string`
/// means an integer or a string.
fn closed(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let object =
        map.get("type").and_then(Value::as_str) == Some("object") || map.contains_key("properties");
    if object && !preserve && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !map.contains_key("anyOf")
    {
        map.insert(
            "anyOf".into(),
            serde_json::json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(closed);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = map.get_mut(key) {
            closed(sub);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(subs)) = map.get_mut(key) {
            subs.iter_mut().for_each(closed);
        }
    }
}

/// Follows `properties` through `path` in a schema.
fn property<'a>(schema: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(schema, |s, p| match *p {
        "[]" => &mut s["items"],
        p => &mut s["properties"][p],
    })
}

/// Where the Argo Rollouts and Flagger CRD schemas are read from: the upstream
/// CRDs' `openAPIV3Schema` as JSON, one file a kind (`deploy/schemas.md` names
/// them and their sources). The project does not ship them: they come from the
/// shared folder beside the workspace (`../shared/crd-schemas/`) or
/// `GONOGO_CRD_SCHEMAS`. No package registry this project reaches ships them.
fn crd_schema_dir() -> Option<PathBuf> {
    std::env::var_os("GONOGO_CRD_SCHEMAS")
        .map(PathBuf::from)
        .or_else(|| Some(root().join("../shared/crd-schemas")))
        .filter(|d| d.is_dir())
}

/// The CRD schema `file`, when [`crd_schema_dir`] has it.
fn crd_schema(file: &str) -> Option<Value> {
    let text = std::fs::read_to_string(crd_schema_dir()?.join(file)).ok()?;
    Some(serde_json::from_str(&text).expect("a CRD schema file is JSON"))
}

/// A CRD's own schema is closed to unknown fields ([`closed`]); the stand-in
/// used without it stays open, so only its Kubernetes parts are judged.
fn closed_or_open(crd: &mut Value) {
    if crd["properties"].as_object().is_some_and(|p| !p.is_empty()) {
        closed(crd);
    }
}

/// The schema a document of `apiVersion`/`kind` must satisfy: a Kubernetes
/// definition, or a pinned CRD schema whose `metadata` is Kubernetes'
/// ObjectMeta and whose embedded pod or Job spec is also Kubernetes' (the
/// controller creates those objects from it, and the CRD leaves parts of them,
/// volumes and resources, open).
fn schema_for(api_version: &str, kind: &str) -> Option<Value> {
    let defs = Value::Object(kubernetes_defs().clone());
    let def_ref = |name: &str| serde_json::json!({ "$ref": format!("#/$defs/{name}") });
    let (file, embedded): (&str, Vec<(Vec<&str>, &str)>) = match (api_version, kind) {
        ("argoproj.io/v1alpha1", "Rollout") => (
            "argoproj.io_v1alpha1_Rollout.json",
            vec![(
                vec!["spec", "template"],
                "io.k8s.api.core.v1.PodTemplateSpec",
            )],
        ),
        ("argoproj.io/v1alpha1", "AnalysisTemplate") => (
            "argoproj.io_v1alpha1_AnalysisTemplate.json",
            vec![(
                vec!["spec", "metrics", "[]", "provider", "job", "spec"],
                "io.k8s.api.batch.v1.JobSpec",
            )],
        ),
        ("flagger.app/v1beta1", "Canary") => ("flagger.app_v1beta1_Canary.json", vec![]),
        _ => {
            let name = kubernetes_def(api_version, kind)?;
            return Some(serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": defs,
                "allOf": [def_ref(&name)],
                "required": ["apiVersion", "kind", "metadata"],
            }));
        }
    };
    let mut crd = match crd_schema(file) {
        Some(crd) => crd,
        // Without the CRD's own schema, its Kubernetes parts are still held to
        // Kubernetes' schemas (metadata, the embedded pod or Job spec).
        None => serde_json::json!({"type": "object", "properties": {}}),
    };
    closed_or_open(&mut crd);
    *property(&mut crd, &["metadata"]) = def_ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    for (at, def) in embedded {
        let node = property(&mut crd, &at);
        let own = node.take();
        *node = match own {
            // The stand-in has no schema of its own there.
            Value::Null => def_ref(def),
            own => serde_json::json!({ "allOf": [own, def_ref(def)] }),
        };
    }
    let map = crd.as_object_mut().unwrap();
    map.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    map.insert("$defs".into(), defs);
    Some(crd)
}

/// Schema problems of every document: an unknown kind is one too.
fn schema_problems(docs: &[(String, Value)]) -> Vec<String> {
    let mut validators: BTreeMap<(String, String), Option<jsonschema::Validator>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (file, doc) in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let validator = validators
            .entry((api_version.clone(), kind.clone()))
            .or_insert_with(|| {
                schema_for(&api_version, &kind).map(|schema| {
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft202012)
                        .build(&schema)
                        .unwrap_or_else(|e| panic!("the schema of {kind} compiles: {e}"))
                })
            });
        let Some(validator) = validator else {
            problems.push(format!("{file}: no schema for {api_version} {kind}"));
            continue;
        };
        for e in validator.iter_errors(doc) {
            problems.push(format!(
                "{file}: {kind} {}: {e}",
                if e.instance_path.as_str().is_empty() {
                    "/"
                } else {
                    e.instance_path.as_str()
                }
            ));
        }
    }
    problems
}

/// Each pod spec of a document (an object with `containers`) and its path.
fn pod_specs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            if map.get("containers").is_some_and(Value::is_array) {
                out.push((at.clone(), v));
            }
            for (k, c) in map {
                pod_specs(c, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                pod_specs(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn all_containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(|k| pod[k].as_array().into_iter().flatten())
}

/// Kinds whose pods run until replaced, so need probes.
const LONG_RUNNING: [&str; 4] = ["Deployment", "Rollout", "StatefulSet", "DaemonSet"];

/// The Pod Security "restricted" profile (Kubernetes' pod-security-standards,
/// every control of the baseline and restricted levels that a manifest can
/// break), and this project's own: read-only root filesystem, user 10001,
/// resources, probes on long-running pods.
fn pod_security_problems(docs: &[(String, Value)]) -> Vec<String> {
    const VOLUMES: [&str; 8] = [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    let mut problems = Vec::new();
    for (file, doc) in docs {
        let mut pods = Vec::new();
        pod_specs(doc, String::new(), &mut pods);
        let kind = doc["kind"].as_str().unwrap_or_default();
        for (at, pod) in pods {
            let mut bad = |what: String| problems.push(format!("{file}: {kind} {at}: {what}"));
            for host in ["hostNetwork", "hostPID", "hostIPC"] {
                if pod[host] == true {
                    bad(format!("{host} is true"));
                }
            }
            for v in pod["volumes"].as_array().into_iter().flatten() {
                let types: Vec<&String> = v
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "name")
                    .collect();
                if !types.iter().all(|t| VOLUMES.contains(&t.as_str())) {
                    bad(format!(
                        "volume {} is of a type restricted forbids: {types:?}",
                        v["name"]
                    ));
                }
            }
            let pod_sc = &pod["securityContext"];
            if pod_sc["sysctls"].as_array().is_some_and(|s| !s.is_empty()) {
                bad("sets sysctls".into());
            }
            for c in all_containers(pod) {
                let name = c["name"].as_str().unwrap_or("?");
                let sc = &c["securityContext"];
                // the container's setting wins over the pod's
                let effective = |key: &str| {
                    if sc.get(key).is_some() {
                        &sc[key]
                    } else {
                        &pod_sc[key]
                    }
                };
                let mut bad_c = |what: &str| bad(format!("container {name}: {what}"));
                if sc["privileged"] == true {
                    bad_c("privileged");
                }
                if sc["windowsOptions"]["hostProcess"] == true {
                    bad_c("hostProcess");
                }
                if sc["allowPrivilegeEscalation"] != false {
                    bad_c("allowPrivilegeEscalation is not false");
                }
                if sc["readOnlyRootFilesystem"] != true {
                    bad_c("readOnlyRootFilesystem is not true");
                }
                let drop = sc["capabilities"]["drop"].as_array();
                if !drop.is_some_and(|d| d.iter().any(|c| c == "ALL")) {
                    bad_c("capabilities do not drop ALL");
                }
                let added = sc["capabilities"]["add"].as_array();
                if added.is_some_and(|a| a.iter().any(|c| c != "NET_BIND_SERVICE")) {
                    bad_c("adds a capability other than NET_BIND_SERVICE");
                }
                if effective("runAsNonRoot") != true {
                    bad_c("runAsNonRoot is not true");
                }
                if effective("runAsUser") != 10001 {
                    bad_c("runAsUser is not 10001 (the image's user)");
                }
                let seccomp = effective("seccompProfile")["type"].as_str();
                if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
                    bad_c("seccompProfile is not RuntimeDefault");
                }
                if sc.get("procMount").is_some_and(|p| p != "Default") {
                    bad_c("procMount is not Default");
                }
                let se_type = effective("seLinuxOptions")["type"].as_str();
                if se_type.is_some_and(|t| {
                    !matches!(t, "container_t" | "container_init_t" | "container_kvm_t")
                }) {
                    bad_c("seLinuxOptions.type is not a container type");
                }
                for p in c["ports"].as_array().into_iter().flatten() {
                    if p["hostPort"].as_u64().is_some_and(|h| h != 0) {
                        bad_c("uses a hostPort");
                    }
                }
                for limit in ["requests", "limits"] {
                    for r in ["cpu", "memory"] {
                        if c["resources"][limit][r].is_null() {
                            bad_c(&format!("no resources.{limit}.{r}"));
                        }
                    }
                }
                if LONG_RUNNING.contains(&kind) {
                    for probe in ["readinessProbe", "livenessProbe"] {
                        if c[probe].is_null() {
                            bad_c(&format!("no {probe}"));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// `kubectl -n NS create secret generic NAME --from-literal=KEY=…` and
/// `kubectl -n NS create configmap NAME` commands of a text (lines joined
/// where they end in a backslash): (namespace, kind, name) → keys.
fn created_by_kubectl(text: &str) -> BTreeMap<(String, String, String), BTreeSet<String>> {
    let joined = text.replace("\\\n", " ");
    let mut created = BTreeMap::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(start) = words.iter().position(|w| *w == "kubectl") else {
            continue;
        };
        let words = &words[start..];
        let ns = words
            .windows(2)
            .find(|w| w[0] == "-n" || w[0] == "--namespace")
            .map(|w| w[1].to_owned());
        let Some(create) = words.iter().position(|w| *w == "create") else {
            continue;
        };
        let (kind, name) = match &words[create + 1..] {
            ["secret", "generic", name, ..] => ("Secret", *name),
            ["configmap", name, ..] => ("ConfigMap", *name),
            _ => continue,
        };
        let keys = words
            .iter()
            .filter_map(|w| w.strip_prefix("--from-literal="))
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_owned()))
            .collect();
        created.insert(
            (
                ns.unwrap_or_else(|| "default".into()),
                kind.into(),
                name.into(),
            ),
            keys,
        );
    }
    created
}

/// Every `secretKeyRef` of a value, with where it is.
fn secret_refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("secretKeyRef") {
                out.push((at.clone(), r));
            }
            for (k, c) in map {
                secret_refs(c, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                secret_refs(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A variable or flag name that holds a secret.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "database_url",
        "database-url",
        "credential",
        "private",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Secrets reach pods only through `secretKeyRef` to a Secret that the README
/// creates, with that key, in the object's namespace: never as an env value,
/// on a command line, or through an analysis argument that Argo would write
/// into the Job object.
fn secret_problems(docs: &[(String, Value)], readme: &str) -> Vec<String> {
    let created = created_by_kubectl(readme);
    let mut problems = Vec::new();
    for (file, doc) in docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
        // analysis arguments that carry a secret
        let secret_args: BTreeSet<String> = doc["spec"]["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| !a["valueFrom"]["secretKeyRef"].is_null())
            .filter_map(|a| a["name"].as_str().map(|n| format!("{{{{args.{n}}}}}")))
            .collect();
        let mut pods = Vec::new();
        pod_specs(doc, String::new(), &mut pods);
        for (at, pod) in pods {
            let pod_text = serde_json::to_string(pod).unwrap();
            for arg in &secret_args {
                if pod_text.contains(arg.as_str()) {
                    problems.push(format!(
                        "{file}: {kind} {at}: the secret argument {arg} would be written into the pod's spec as plain text"
                    ));
                }
            }
            for c in all_containers(pod) {
                let name = c["name"].as_str().unwrap_or("?");
                for e in c["env"].as_array().into_iter().flatten() {
                    let var = e["name"].as_str().unwrap_or_default();
                    if secret_name(var) && e.get("value").is_some() {
                        problems.push(format!(
                            "{file}: {kind} {at}: container {name}: {var} is a plain-text value, not a secretKeyRef"
                        ));
                    }
                }
                let argv = c["command"]
                    .as_array()
                    .into_iter()
                    .chain(c["args"].as_array())
                    .flatten()
                    .filter_map(Value::as_str);
                for a in argv {
                    if a.starts_with("--") && secret_name(a) {
                        problems.push(format!(
                            "{file}: {kind} {at}: container {name}: {a} puts a secret on the command line"
                        ));
                    }
                }
            }
        }
        let mut refs = Vec::new();
        secret_refs(doc, String::new(), &mut refs);
        for (at, r) in refs {
            let (name, key) = (
                r["name"].as_str().unwrap_or("?"),
                r["key"].as_str().unwrap_or("?"),
            );
            let made = created.get(&(ns.to_owned(), "Secret".into(), name.to_owned()));
            if !made.is_some_and(|keys| keys.contains(key)) {
                problems.push(format!(
                    "{file}: {kind} {at}: secret {name} key {key} in namespace {ns} is created by no kubectl command of README.md"
                ));
            }
        }
    }
    problems
}

/// Every object a manifest names exists: its namespace, the PVCs and
/// ConfigMaps its pods mount (defined here or created by the README), the
/// Services and AnalysisTemplates a Rollout names, a Canary's target, the
/// `*.svc` URLs, a NetworkPolicy's pods.
fn reference_problems(docs: &[(String, Value)], readme: &str) -> Vec<String> {
    let created = created_by_kubectl(readme);
    let defined = |kind: &str, ns: &str, name: &str| {
        docs.iter().any(|(_, d)| {
            d["kind"] == kind && d["metadata"]["name"] == name && d["metadata"]["namespace"] == ns
        })
    };
    let mut problems = Vec::new();
    for (file, doc) in docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let mut missing = |what: String| problems.push(format!("{file}: {kind}: {what}"));
        if kind == "Namespace" {
            continue;
        }
        let Some(ns) = doc["metadata"]["namespace"].as_str() else {
            missing("no metadata.namespace".into());
            continue;
        };
        let namespace_defined = docs
            .iter()
            .any(|(_, d)| d["kind"] == "Namespace" && d["metadata"]["name"] == ns);
        if !namespace_defined {
            missing(format!("namespace {ns} is not defined"));
        }
        let mut pods = Vec::new();
        pod_specs(doc, String::new(), &mut pods);
        for (_, pod) in pods {
            for v in pod["volumes"].as_array().into_iter().flatten() {
                if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
                    if !defined("PersistentVolumeClaim", ns, claim) {
                        missing(format!("PersistentVolumeClaim {ns}/{claim} is not defined"));
                    }
                }
                if let Some(map) = v["configMap"]["name"].as_str() {
                    let made = created.contains_key(&(ns.into(), "ConfigMap".into(), map.into()));
                    if !defined("ConfigMap", ns, map) && !made {
                        missing(format!(
                            "ConfigMap {ns}/{map} is neither defined nor created by README.md"
                        ));
                    }
                }
            }
        }
        if kind == "Rollout" {
            let canary = &doc["spec"]["strategy"]["canary"];
            for key in ["canaryService", "stableService"] {
                if let Some(service) = canary[key].as_str() {
                    if !defined("Service", ns, service) {
                        missing(format!("{key} {ns}/{service} is not defined"));
                    }
                }
            }
            for step in canary["steps"].as_array().into_iter().flatten() {
                for t in step["analysis"]["templates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let name = t["templateName"].as_str().unwrap_or_default();
                    if !defined("AnalysisTemplate", ns, name) {
                        missing(format!("AnalysisTemplate {ns}/{name} is not defined"));
                    }
                }
            }
        }
        if kind == "Canary" {
            let target = &doc["spec"]["targetRef"];
            let (tk, tn) = (
                target["kind"].as_str().unwrap_or_default(),
                target["name"].as_str().unwrap_or_default(),
            );
            if !defined(tk, ns, tn) {
                missing(format!("targetRef {tk} {ns}/{tn} is not defined"));
            }
        }
        if kind == "NetworkPolicy" {
            let wanted = doc["spec"]["podSelector"]["matchLabels"].as_object();
            let selects = docs.iter().any(|(_, d)| {
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                d["metadata"]["namespace"] == ns
                    && wanted.is_some_and(|w| w.iter().all(|(k, v)| &labels[k] == v))
            });
            if !selects {
                missing("its podSelector selects no pod defined here".into());
            }
        }
        let text = serde_json::to_string(doc).unwrap();
        for url in text.split("http://").skip(1) {
            let host = url.split(['/', '"', '?']).next().unwrap();
            let Some((name, port)) = host.split_once(':') else {
                continue;
            };
            if let Some((service, rest)) = name.split_once('.') {
                if let Some(svc_ns) = rest.strip_suffix(".svc") {
                    let port: u64 = port.parse().unwrap_or(0);
                    let has_port = docs.iter().any(|(_, d)| {
                        d["kind"] == "Service"
                            && d["metadata"]["name"] == service
                            && d["metadata"]["namespace"] == svc_ns
                            && d["spec"]["ports"]
                                .as_array()
                                .is_some_and(|ps| ps.iter().any(|p| p["port"] == port))
                    });
                    if !has_port {
                        missing(format!("http://{host} is no Service port defined here"));
                    }
                }
            }
        }
    }
    problems
}

/// gonogo's containers name the image the project builds; no image is the
/// placeholder registry of old.
fn image_problems(docs: &[(String, Value)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (file, doc) in docs {
        let mut cs = Vec::new();
        containers(doc, &mut cs);
        for c in cs {
            let image = c["image"].as_str().unwrap_or_default();
            let runs_gonogo = c["command"][0] == "gonogo";
            if runs_gonogo && image != gonogo_image() {
                problems.push(format!(
                    "{file}: container {} runs gonogo from {image}, not {} (what `just image` builds)",
                    c["name"],
                    gonogo_image()
                ));
            }
            if image.contains("your-org") || !image.contains(':') || image.ends_with(":latest") {
                problems.push(format!(
                    "{file}: image {image} is a placeholder or unpinned"
                ));
            }
        }
    }
    problems
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// Every check's problems: none for the real manifests.
fn problems(docs: &[(String, Value)], readme: &str) -> Vec<String> {
    let mut all = schema_problems(docs);
    all.extend(pod_security_problems(docs));
    all.extend(secret_problems(docs, readme));
    all.extend(reference_problems(docs, readme));
    all.extend(image_problems(docs));
    all
}

#[test]
fn every_manifest_validates_strictly_against_the_kubernetes_and_crd_schemas() {
    let docs = documents();
    let problems = schema_problems(&docs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let kinds: BTreeSet<&str> = docs
        .iter()
        .filter_map(|(_, d)| d["kind"].as_str())
        .collect();
    for kind in [
        "Namespace",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "NetworkPolicy",
        "AnalysisTemplate",
        "Rollout",
        "Canary",
    ] {
        assert!(kinds.contains(kind), "deploy/ lost its {kind}");
    }
}

#[test]
fn every_pod_meets_the_restricted_profile_with_resources_and_probes() {
    let docs = documents();
    let problems = pod_security_problems(&docs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut pods = Vec::new();
    for (_, d) in &docs {
        pod_specs(d, String::new(), &mut pods);
    }
    assert_eq!(
        pods.len(),
        4,
        "gonogo serve, the Job, the Rollout, Flagger's target"
    );
}

#[test]
fn secrets_come_only_from_secret_key_refs_that_the_readme_creates() {
    let problems = secret_problems(&documents(), &readme());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The README creates them where each reader runs: gonogo serve in its
    // namespace, Argo's analyses in the Rollout's.
    let created = created_by_kubectl(&readme());
    for (ns, name) in [("gonogo", "gonogo"), ("prod", "gonogo-analysis")] {
        let keys = &created[&(ns.into(), "Secret".into(), name.into())];
        assert!(
            keys.contains("serve-token") && keys.contains("jwt-secret"),
            "{ns}/{name}: {keys:?}"
        );
    }
}

#[test]
fn every_object_a_manifest_names_is_defined() {
    let problems = reference_problems(&documents(), &readme());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn gonogo_runs_from_the_image_the_project_builds() {
    let docs = documents();
    let problems = image_problems(&docs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let text = std::fs::read_to_string(root().join("deploy/gonogo-serve.yaml")).unwrap();
    assert!(text.contains(&format!("image: {}", gonogo_image())));
}

/// `deploy/` copied into a temporary directory, `edits` (from, to) applied
/// once each to the text of `file`.
fn broken_copy(file: &str, edits: &[(&str, &str)]) -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("deploy");
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        std::fs::create_dir_all(copy.join(&rel)).unwrap();
        for entry in std::fs::read_dir(root().join("deploy").join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.path().is_dir() {
                dirs.push(rel);
            } else {
                std::fs::copy(entry.path(), copy.join(&rel)).unwrap();
            }
        }
    }
    let path = copy.join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{file} has no {from:?} to break");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&path, text).unwrap();
    documents_in(&copy)
}

#[test]
fn a_broken_copy_of_the_manifests_fails_the_checks() {
    let readme = readme();
    assert_eq!(problems(&documents(), &readme), Vec::<String>::new());
    let job_env = "                        valueFrom:\n                          secretKeyRef:\n                            name: gonogo-analysis\n                            key: jwt-secret\n";
    let secret_arg = "    - name: target\n    - name: jwt-secret\n      valueFrom:\n        secretKeyRef:\n          name: gonogo-analysis\n          key: jwt-secret\n";
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "gonogo-serve.yaml",
            vec![(
                "            allowPrivilegeEscalation: false\n",
                "            allowPrivilegeEscalation: false\n            privileged: true\n",
            )],
            "container gonogo: privileged",
        ),
        (
            "gonogo-serve.yaml",
            vec![(
                "            readOnlyRootFilesystem: true\n",
                "            readOnlyRootFilesystem: false\n",
            )],
            "readOnlyRootFilesystem is not true",
        ),
        (
            "gonogo-serve.yaml",
            vec![("          livenessProbe:", "          livenesProbe:")],
            "'livenesProbe' was unexpected",
        ),
        (
            "argo/rollout.yaml",
            vec![(
                "      canaryService: knowledge-api-canary\n",
                "      canaryService: knowledge-api-canary\n      canaryServise: knowledge-api-canary\n",
            )],
            "'canaryServise' was unexpected",
        ),
        (
            "argo/rollout.yaml",
            vec![("            readOnlyRootFilesystem: true\n", "            readOnlyRootFilesystem: yes-please\n")],
            "Rollout /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
        ),
        (
            "flagger/canary.yaml",
            vec![("    threshold: 3\n", "    threshold: 3\n    treshold: 3\n")],
            "'treshold' was unexpected",
        ),
        (
            "argo/analysis-template-job.yaml",
            vec![(job_env, "                        value: \"0123456789abcdef0123\"\n")],
            "GONOGO_JWT_SECRET is a plain-text value, not a secretKeyRef",
        ),
        (
            "argo/analysis-template-job.yaml",
            vec![
                ("    - name: target\n", secret_arg),
                (job_env, "                        value: \"{{args.jwt-secret}}\"\n"),
            ],
            "the secret argument {{args.jwt-secret}} would be written into the pod's spec as plain text",
        ),
        (
            "argo/analysis-template-web.yaml",
            vec![("          name: gonogo-analysis\n", "          name: gonogo\n")],
            "secret gonogo key serve-token in namespace prod is created by no kubectl command",
        ),
        (
            "gonogo-serve.yaml",
            vec![("            claimName: gonogo-reports\n", "            claimName: gonogo-report\n")],
            "PersistentVolumeClaim gonogo/gonogo-report is not defined",
        ),
        (
            "argo/services.yaml",
            vec![("  name: knowledge-api-canary\n", "  name: knowledge-api-preview\n")],
            "canaryService prod/knowledge-api-canary is not defined",
        ),
        (
            "gonogo-serve.yaml",
            vec![("          image: gonogo:0.1.0\n", "          image: ghcr.io/your-org/gonogo:0.1.0\n")],
            "runs gonogo from ghcr.io/your-org/gonogo:0.1.0",
        ),
    ];
    let with_crds = crd_schema_dir().is_some();
    if !with_crds {
        eprintln!("deploy: no CRD schemas beside the workspace (../shared/crd-schemas or GONOGO_CRD_SCHEMAS): the Argo Rollouts and Flagger kinds are judged by their Kubernetes parts only");
    }
    for (file, edits, expected) in &cases {
        // A misspelt field of a CRD kind itself shows only against its schema.
        if !with_crds
            && ["'canaryServise'", "'treshold'"]
                .iter()
                .any(|m| expected.contains(m))
        {
            continue;
        }
        let found = problems(&broken_copy(file, edits), &readme);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{file} with {edits:?}: expected a problem containing {expected:?}, got:\n{}",
            found.join("\n")
        );
    }
}
