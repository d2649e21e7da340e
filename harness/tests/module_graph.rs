//! No import circles between a crate's top-level modules, in any crate of the
//! workspace (containers, plumbing, server, suites, harness, reports, ledger); the suites
//! never depend on the server they judge nor on its plumbing; and the server and
//! `gonogo serve` take their HTTP plumbing from the one crate.
//!
//! Grep-level on purpose: it reads every `src/**/*.rs` as text (comments
//! stripped), takes each file's top-level module from its path (`src/a.rs`,
//! `src/a/**.rs` → `a`), and counts an edge `a → b` for every `crate::b`,
//! `use crate::{b, …}` and `super::…::b` that climbs to the crate root, where
//! `b` is another top-level module. A strongly connected component of more than
//! one module is a circle, and the test names it. Crate roots (`lib.rs`,
//! `main.rs`) and `src/bin/` are not modules of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 7] = [
    "containers",
    "plumbing",
    "server",
    "suites",
    "harness",
    "reports",
    "ledger",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text without `//` and `/* */` comments. String, raw-string and char
/// literals are kept whole, so a `//` or `/*` inside one (a URL, a route
/// pattern such as `"/api/v1/knowledge/*"`) starts no comment.
fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Copies `bytes[from..to]` (always on char boundaries: every stop is ASCII).
    let keep = |out: &mut String, from: usize, to: usize| out.push_str(&text[from..to]);
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        } else if rest.starts_with(b"/*") {
            i += text[i + 2..].find("*/").map_or(rest.len(), |end| end + 4);
        } else if let Some(len) = raw_string_len(rest) {
            keep(&mut out, i, i + len);
            i += len;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            keep(&mut out, i, i + len);
            i += len;
        } else if let Some(len) = char_literal_len(rest) {
            keep(&mut out, i, i + len);
            i += len;
        } else {
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            keep(&mut out, i, i + len);
            i += len;
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `br#"…"#`) at the start of `s`.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let start = usize::from(s.first() == Some(&b'b'));
    if s.get(start) != Some(&b'r') {
        return None;
    }
    let hashes = s[start + 1..].iter().take_while(|&&b| b == b'#').count();
    let open = start + 1 + hashes;
    if s.get(open) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = &s[open + 1..];
    let end = body
        .windows(close.len())
        .position(|w| w == close.as_slice())?;
    Some(open + 1 + end + close.len())
}

/// The length of a char literal (`'"'`, `'\\''`, `b'x'`) at the start of `s`; a
/// lifetime (`'a`) is none.
fn char_literal_len(s: &[u8]) -> Option<usize> {
    let start = usize::from(s.first() == Some(&b'b'));
    if s.get(start) != Some(&b'\'') {
        return None;
    }
    let body = &s[start + 1..];
    let len = if body.first() == Some(&b'\\') {
        body.iter().skip(2).position(|&b| b == b'\'')? + 2
    } else {
        // One (possibly multi-byte) character, then the closing quote.
        let ch = std::str::from_utf8(&body[..body.len().min(4)])
            .ok()
            .or_else(|| std::str::from_utf8(&body[..body.len().min(1)]).ok())
            .and_then(|t| t.chars().next())
            .map_or(1, char::len_utf8);
        (body.get(ch) == Some(&b'\'')).then_some(ch)?
    };
    (len <= 12).then_some(start + 1 + len + 1)
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every path in `rest`, which starts right after `crate::`
/// (or a root-reaching `super::`): `b::c` → `b`, `{b, c::d}` → `b`, `c`.
fn first_segments(rest: &str) -> Vec<String> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    names.push(ident(&group[i..]).to_owned());
                    item_start = false;
                }
                _ => {}
            }
        }
        names
    } else {
        vec![ident(rest).to_owned()]
    }
}

/// `(top-level module, depth)` of a file under `src`: `a.rs` and `a/mod.rs`
/// are depth 1, `a/b.rs` depth 2. `None` for crate roots and binaries.
fn module_of(src: &Path, file: &Path) -> Option<(String, usize)> {
    let rel = file.strip_prefix(src).ok()?;
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        [] | ["lib.rs"] | ["main.rs"] | ["bin", ..] => None,
        [single] => Some((single.trim_end_matches(".rs").to_owned(), 1)),
        [top, .., last] => {
            let depth = parts.len() - usize::from(*last == "mod.rs");
            Some(((*top).to_owned(), depth))
        }
    }
}

/// Names referred to at the crate root from a file at `depth`.
fn root_references(text: &str, depth: usize) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let boundary =
        |i: usize| i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
    for (i, _) in text.match_indices("crate::") {
        if boundary(i) && !text[..i].ends_with('$') {
            names.extend(first_segments(&text[i + "crate::".len()..]));
        }
    }
    for (i, _) in text.match_indices("super::") {
        if !boundary(i) || text[..i].ends_with("super::") {
            continue;
        }
        let mut rest = &text[i..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        if climbs >= depth {
            names.extend(first_segments(rest));
        }
    }
    names
}

fn graph_of(crate_dir: &Path) -> Graph {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let located: Vec<(String, usize, PathBuf)> = files
        .into_iter()
        .filter_map(|f| module_of(&src, &f).map(|(m, d)| (m, d, f)))
        .collect();
    let modules: BTreeSet<String> = located.iter().map(|(m, _, _)| m.clone()).collect();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (module, depth, file) in &located {
        let text = strip_comments(&std::fs::read_to_string(file).unwrap());
        for name in root_references(&text, *depth) {
            if name != *module && modules.contains(&name) {
                graph.get_mut(module).unwrap().insert(name);
            }
        }
    }
    graph
}

/// Every circle of the graph, each as `a → b → … → a`.
fn circles(graph: &Graph) -> Vec<String> {
    fn reach(graph: &Graph, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(n) = stack.pop() {
            for next in &graph[&n] {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    }
    /// A shortest path `from → … → to`, by breadth-first search.
    fn path(graph: &Graph, from: &str, to: &str) -> Vec<String> {
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from.to_owned()]);
        while let Some(n) = queue.pop_front() {
            for next in &graph[&n] {
                if !prev.contains_key(next) && next != from {
                    prev.insert(next.clone(), n.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        let mut out = vec![to.to_owned()];
        while let Some(p) = prev.get(out.last().unwrap()) {
            out.push(p.clone());
            if p == from {
                break;
            }
        }
        out.reverse();
        out
    }
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reach(graph, m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in graph.keys() {
        if done.contains(m) || !reachable[m].contains(m) {
            continue;
        }
        // The strongly connected component of `m`.
        let component: BTreeSet<&String> = graph
            .keys()
            .filter(|o| reachable[m].contains(*o) && reachable[*o].contains(m))
            .collect();
        done.extend(component.iter().map(|s| (*s).clone()));
        let mut cycle = vec![m.clone()];
        let first = graph[m]
            .iter()
            .find(|n| component.contains(n))
            .expect("a module on a circle has an edge into it");
        cycle.extend(path(graph, first, m));
        out.push(format!(
            "{} (component: {})",
            cycle.join(" → "),
            component
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

#[test]
fn no_crate_has_an_import_circle_between_its_top_level_modules() {
    let root = root();
    let mut found = Vec::new();
    for name in CRATES {
        let graph = graph_of(&root.join(name));
        assert!(!graph.is_empty(), "{name}/src has no modules: wrong path?");
        for circle in circles(&graph) {
            found.push(format!("{name}: {circle}"));
        }
    }
    assert!(
        found.is_empty(),
        "import circles between top-level modules:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_scanner_sees_grouped_uses_and_super_paths() {
    let text = strip_comments(
        "use crate::{a, b::{c, d}, e as f};\n// use crate::ignored;\nfn x() { super::super::g::h(); crate::i::j(); }",
    );
    assert_eq!(root_references(&text, 2), ["a", "b", "e", "i", "g"]);
    assert_eq!(root_references("super::k::l", 2), Vec::<String>::new());
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .fold(Graph::new(), |mut g, (from, to)| {
            g.entry(from.into()).or_default().insert(to.into());
            g.entry(to.into()).or_default();
            g
        });
    assert_eq!(circles(&graph), ["a → b → c → a (component: a, b, c)"]);
    let literals = strip_comments(
        "/// for `/api/v1/x/*` and `/y/*`\nlet a = \"/a/*\"; let q = b'\"'; crate::k(); fn f<'a>(x: &'a str) { let r = br#\"{\"//\"}\"#; crate::m(); }",
    );
    assert_eq!(root_references(&literals, 1), ["k", "m"]);
    assert!(literals.contains("\"/a/*\"") && literals.contains("b'\"'"));
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Source without comments and without test modules: an inline
/// `#[cfg(test)] mod name { … }` is cut from there to the end (test modules come
/// last), a `#[cfg(test)] mod name;` declaration is dropped alone, and the code
/// after it is still read.
fn code_of(file: &Path) -> String {
    without_test_modules(&strip_comments(&std::fs::read_to_string(file).unwrap()))
}

fn without_test_modules(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]\nmod ") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        match (item.find(';'), item.find('{')) {
            (Some(semi), brace) if brace.is_none_or(|b| semi < b) => rest = &item[semi + 1..],
            _ => return out,
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn a_test_module_declaration_hides_nothing_after_it() {
    let text = "fn a() {}\n#[cfg(test)]\nmod shape_tests;\nfn bearer() {}\n#[cfg(test)]\nmod tests {\n    fn bearer() {}\n}\n";
    assert_eq!(without_test_modules(text), "fn a() {}\n\nfn bearer() {}\n");
}

/// Every dependency a manifest names, in any of its dependency tables (also
/// target-specific ones), under its package name.
fn manifest_dependencies(manifest: &str) -> BTreeSet<String> {
    let doc: toml::Table = manifest.parse().expect("a Cargo.toml parses");
    let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut sections: Vec<&toml::Table> = tables
        .iter()
        .filter_map(|t| doc.get(*t).and_then(toml::Value::as_table))
        .collect();
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            sections.extend(
                tables
                    .iter()
                    .filter_map(|t| target.get(*t).and_then(toml::Value::as_table)),
            );
        }
    }
    sections
        .into_iter()
        .flat_map(|deps| {
            deps.iter().map(|(key, spec)| {
                spec.get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key)
                    .to_owned()
            })
        })
        .collect()
}

/// The crates the suites must never reach: the server they judge, and its plumbing.
const NOT_FOR_THE_SUITES: [(&str, &str); 2] = [
    ("knowledge-server", "knowledge_server"),
    ("gonogo-plumbing", "gonogo_plumbing"),
];

/// The harness's errors are typed at every boundary: no `Result<_, String>` in
/// `harness/src` outside its tests (a sentence is made where an error is shown).
#[test]
fn no_result_with_a_string_error_in_the_harness() {
    let mut files = Vec::new();
    rust_files(&root().join("harness/src"), &mut files);
    assert!(!files.is_empty(), "no harness sources: wrong path?");
    let found: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs"))
        .flat_map(|f| {
            string_errors(&code_of(f))
                .into_iter()
                .map(move |r| format!("{}: {r}", f.display()))
        })
        .collect();
    assert!(
        found.is_empty(),
        "Result<_, String> in the harness:\n  {}",
        found.join("\n  ")
    );
    assert_eq!(
        string_errors(
            "fn a() -> Result<Vec<(u8, String)>, String> {} fn b() -> Result<String, E> {}"
        ),
        vec!["Result<Vec<(u8, String)>, String>"]
    );
}

/// Every `Result<…>` in `code` whose last type argument is `String`.
fn string_errors(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("Result<") {
        let args = &code[at + "Result<".len()..];
        let (mut depth, mut last_comma, mut end) = (0i32, None, None);
        for (i, c) in args.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                '>' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                '>' => depth -= 1,
                ',' if depth == 0 => last_comma = Some(i),
                _ => {}
            }
        }
        if let (Some(comma), Some(end)) = (last_comma, end) {
            if args[comma + 1..end].trim() == "String" {
                out.push(format!("Result<{}>", &args[..end]));
            }
        }
    }
    out
}

/// The plumbing crate is a leaf: it depends on no crate of this workspace, so the
/// server and `gonogo serve` can share it without either reaching the other.
#[test]
fn the_plumbing_crate_is_a_leaf() {
    let text = std::fs::read_to_string(root().join("plumbing/Cargo.toml")).unwrap();
    let deps = manifest_dependencies(&text);
    let workspace: Vec<String> = CRATES
        .iter()
        .map(|dir| {
            let manifest: toml::Table =
                std::fs::read_to_string(root().join(dir).join("Cargo.toml"))
                    .unwrap()
                    .parse()
                    .unwrap();
            manifest["package"]["name"].as_str().unwrap().to_owned()
        })
        .filter(|name| name != "gonogo-plumbing")
        .collect();
    assert!(
        workspace.contains(&"knowledge-server".to_owned()),
        "{workspace:?}"
    );
    let inner: Vec<&String> = deps.iter().filter(|d| workspace.contains(d)).collect();
    assert!(inner.is_empty(), "gonogo-plumbing depends on {inner:?}");
    assert!(
        deps.contains("hyper"),
        "the manifest was not read: {deps:?}"
    );
}

#[test]
fn the_suites_never_depend_on_the_server_or_its_plumbing() {
    let suites = root().join("suites");
    let deps = manifest_dependencies(&std::fs::read_to_string(suites.join("Cargo.toml")).unwrap());
    let mut found = Vec::new();
    for (package, _) in NOT_FOR_THE_SUITES {
        if deps.contains(package) {
            found.push(format!("suites/Cargo.toml depends on {package}"));
        }
    }
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        rust_files(&suites.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "no suites sources: wrong path?");
    for file in files {
        let text = strip_comments(&std::fs::read_to_string(&file).unwrap());
        for (_, path) in NOT_FOR_THE_SUITES {
            if text.contains(path) {
                found.push(format!("{} names {path}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the suites judge the server from outside:\n  {}",
        found.join("\n  ")
    );
}

/// Text that means a file serves HTTP, parses bearer tokens, writes problem
/// bodies or reads panic payloads by itself instead of through the plumbing
/// crate (whitespace removed before matching).
const OWN_PLUMBING: [(&str, &str); 11] = [
    ("serve_connection(", "a listen loop"),
    ("GracefulShutdown", "a listen loop"),
    ("http1::Builder", "a listen loop"),
    (".accept()", "a listen loop"),
    ("fnbearer(", "bearer parsing"),
    ("AUTHORIZATION", "bearer parsing"),
    ("fnproblemize(", "problem conversion"),
    ("fnproblems_only(", "problem conversion"),
    (
        "from_static(\"application/problem+json\")",
        "a problem content type",
    ),
    ("b\"application/problem+json\"", "a problem content type"),
    ("downcast_ref::<&str>", "panic text"),
];

/// What `code` does by itself that the plumbing crate does.
fn own_plumbing(code: &str) -> Vec<&'static str> {
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    OWN_PLUMBING
        .iter()
        .filter(|(needle, _)| squeezed.contains(needle))
        .map(|(_, what)| *what)
        .collect()
}

/// The names `code` takes from the plumbing crate.
fn plumbing_used(code: &str) -> BTreeSet<String> {
    code.match_indices("gonogo_plumbing::")
        .flat_map(|(i, m)| first_segments(&code[i + m.len()..]))
        .collect()
}

#[test]
fn the_server_and_gonogo_serve_take_their_plumbing_from_the_one_crate() {
    let root = root();
    // (sources, the plumbing each must use)
    let mut serve_files = vec![root.join("harness/src/serve.rs")];
    rust_files(&root.join("harness/src/serve"), &mut serve_files);
    let mut server_files = Vec::new();
    rust_files(&root.join("server/src"), &mut server_files);
    let users = [
        (
            "harness/src/serve",
            serve_files,
            &[
                "listen",
                "ListenOptions",
                "problem_json",
                "problemize",
                "bearer",
            ][..],
        ),
        (
            "server/src",
            server_files,
            &[
                "listen",
                "ListenOptions",
                "problem_json",
                "problemize",
                "bearer",
                "panic_message",
            ][..],
        ),
    ];
    let mut found = Vec::new();
    for (name, files, wanted) in users {
        assert!(files.len() > 1, "{name} has no sources: wrong path?");
        let mut used = BTreeSet::new();
        for file in &files {
            let code = code_of(file);
            used.extend(plumbing_used(&code));
            for what in own_plumbing(&code) {
                found.push(format!("{} has {what} of its own", file.display()));
            }
        }
        for w in wanted {
            if !used.contains(*w) {
                found.push(format!("{name} does not use gonogo_plumbing::{w}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "HTTP plumbing belongs in the plumbing crate:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_plumbing_rules_catch_a_copy_and_see_grouped_uses() {
    let copied = "async fn listen() { let g = GracefulShutdown::new(); loop { let s = listener.accept().await; http.serve_connection(io, svc); } }\n\
                  fn bearer(h: &HeaderMap) { h.get(header::AUTHORIZATION) }\n\
                  fn x() { HeaderValue::from_static( \"application/problem+json\" ); p.downcast_ref::<&str>(); }";
    let caught: BTreeSet<&str> = own_plumbing(copied).into_iter().collect();
    assert_eq!(
        caught,
        BTreeSet::from([
            "a listen loop",
            "bearer parsing",
            "a problem content type",
            "panic text"
        ])
    );
    assert!(own_plumbing("gonogo_plumbing::listen(l, app, o, s, as_is).await").is_empty());
    assert_eq!(
        plumbing_used(
            "use gonogo_plumbing::{listen, ListenOptions};\nlet r = gonogo_plumbing::bearer(h);"
        ),
        BTreeSet::from([
            "listen".to_owned(),
            "ListenOptions".to_owned(),
            "bearer".to_owned()
        ])
    );
    let manifest = "[dependencies]\nserde = \"1\"\n[target.'cfg(unix)'.dev-dependencies]\nsrv = { package = \"knowledge-server\", path = \"../server\" }\n";
    assert!(manifest_dependencies(manifest).contains("knowledge-server"));
}
