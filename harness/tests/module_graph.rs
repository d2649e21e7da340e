//! No import circles between a crate's top-level modules, in any crate of the
//! workspace (containers, server, suites, harness, reports).
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

const CRATES: [&str; 5] = ["containers", "server", "suites", "harness", "reports"];

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

/// Source text without `//` and `/* */` comments (string literals are not
/// parsed: a `//` inside one only hides the rest of that line).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
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
}
