//! The top-level modules of `src/` import each other without a cycle: leaves (`lead`,
//! `settings`, `clock`, `health`...) → components (sources, sinks, notifiers) → stages
//! (intake, process, deliver, notify, sla) → the config assembler → `http` and the daemon.
//! A cycle is how one module quietly becomes every module's dependency; this test fails CI
//! when one comes back, naming the modules in it and the files that close it.
//!
//! One level down, the children of `src/routing` are layers with the same rule: `model` (the
//! data types) ← `compile` (reading the file) and `eval` (deciding) ← `explain` (rendering
//! traces), with `reload` on top. There a child may also be named as `super::x` (or
//! `super::super::x` from inside a folder), which counts too.
//!
//! Inside `routing/model`, the data types' files are one more such graph: a label, what a
//! test found and the steps of a record are leaves that the conditions, the record and the
//! trace build on.
//!
//! `cargo test --test module_graph -- --nocapture` prints the graphs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the sibling modules it names, with one file per edge (relative to the parent's
/// folder).
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

/// The child modules in the folder `dir` of a module (a `name.rs` or a `name/` folder), but
/// the crate roots and the parent's own `mod.rs`.
fn child_modules(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("the module's folder is readable")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs").map(str::to_string)
            }
        })
        .filter(|m| m != "lib" && m != "main" && m != "mod")
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules `code` names through one of `prefixes` (`crate::`, `crate::routing::`,
/// `super::`): paths (`crate::store::Store`) and groups (`use crate::{lead::Lead, store}`). A
/// prefix counts only where a path starts (`super::` is not the end of `super::super::`).
/// Comment lines are skipped: a doc link is not an import.
fn named_modules(code: &str, prefixes: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for prefix in prefixes {
            let mut from = 0;
            while let Some(at) = line[from..].find(prefix.as_str()).map(|i| from + i) {
                from = at + prefix.len();
                let before = &line[..at];
                if before.ends_with("::")
                    || before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                {
                    continue;
                }
                let rest = &line[from..];
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or_default();
                    names.extend(inner.split(',').map(|part| first_segment(part.trim())));
                } else {
                    names.insert(first_segment(rest));
                }
            }
        }
    }
    names
}

/// `store::Store` → `store`.
fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The import graph between the children of the module whose folder is `dir` and whose path
/// is `module` (`crate`, `crate::routing`). A file names a sibling as `module::x`, or as
/// `super::x` with one `super` per level it sits below `dir` (none for the crate itself).
fn import_graph(dir: &Path, module: &str) -> Graph {
    let modules = child_modules(dir);
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files.sort();
    for file in files {
        let relative = file.strip_prefix(dir).expect("under the folder");
        let first = relative.components().next().expect("a file name");
        let owner = first.as_os_str().to_string_lossy();
        let owner = owner.strip_suffix(".rs").unwrap_or(&owner).to_string();
        let Some(edges) = graph.get_mut(&owner) else {
            continue;
        };
        let mut prefixes = vec![format!("{module}::")];
        if module != "crate" {
            let in_mod_rs = relative.file_name().is_some_and(|n| n == "mod.rs");
            let depth = relative.components().count() - usize::from(in_mod_rs);
            prefixes.push("super::".repeat(depth));
        }
        let code = std::fs::read_to_string(&file).expect("readable source");
        for target in named_modules(&code, &prefixes) {
            if target != owner && modules.contains(&target) {
                edges
                    .entry(target)
                    .or_insert_with(|| relative.to_path_buf());
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph[v].keys() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self
                    .stack
                    .iter()
                    .rposition(|m| *m == v)
                    .expect("on the stack");
                let component: Vec<String> = self.stack.drain(at..).map(String::from).collect();
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for m in graph.keys() {
        if !walk.index.contains_key(m.as_str()) {
            walk.visit(m);
        }
    }
    walk.found
}

/// The graph as text: one module per line with what it imports.
fn render(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(m, edges)| {
            let targets: Vec<&str> = edges.keys().map(String::as_str).collect();
            format!("{m} -> {}", targets.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each cycle with the file that makes each of its edges (under `folder`, as `src/routing`),
/// so the fix is findable.
fn explain(graph: &Graph, cycle: &[String], folder: &str) -> String {
    let members: BTreeSet<&String> = cycle.iter().collect();
    let mut lines = vec![format!("cycle between: {}", cycle.join(", "))];
    for m in cycle {
        for (target, file) in &graph[m] {
            if members.contains(target) {
                lines.push(format!(
                    "  {m} -> {target} (first in {folder}/{})",
                    file.display()
                ));
            }
        }
    }
    lines.join("\n")
}

/// The import graph of the children of `src/{folder}` (module `module`), printed, with each
/// of `expected` in it and no cycle (the report names the files that close each).
fn assert_without_a_cycle(folder: &str, module: &str, expected: &[&str]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let graph = import_graph(&dir, module);
    println!("{}", render(&graph));
    for child in expected {
        assert!(graph.contains_key(*child), "no {child} in {graph:?}");
    }
    let found = cycles(&graph);
    let report: Vec<String> = found.iter().map(|c| explain(&graph, c, folder)).collect();
    assert!(found.is_empty(), "{}", report.join("\n"));
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let modules = [
        "lead", "store", "sources", "process", "deliver", "config", "http",
    ];
    assert_without_a_cycle("src", "crate", &modules);
}

#[test]
fn the_layers_of_routing_import_each_other_without_a_cycle() {
    let layers = ["model", "compile", "eval", "explain", "reload"];
    assert_without_a_cycle("src/routing", "crate::routing", &layers);
}

#[test]
fn the_files_of_the_routing_model_import_each_other_without_a_cycle() {
    let files = [
        "condition",
        "record",
        "steps",
        "trace",
        "decision",
        "outcome",
        "label",
    ];
    assert_without_a_cycle("src/routing/model", "crate::routing::model", &files);
}

#[test]
fn a_cycle_between_modules_is_found_and_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\npub mod c;\n").unwrap();
    std::fs::write(src.join("c.rs"), "//! A leaf.\n").unwrap();
    std::fs::create_dir(src.join("a")).unwrap();
    std::fs::write(
        src.join("a/mod.rs"),
        "use crate::{c, b::Thing};\n/// See [`crate::c`].\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "// crate::a in a comment\nfn f() {}\n").unwrap();

    let graph = import_graph(src, "crate");
    assert!(cycles(&graph).is_empty(), "{}", render(&graph));
    assert_eq!(render(&graph), "a -> b c\nb -> \nc -> ");

    std::fs::write(src.join("b.rs"), "fn f() { crate::a::g(); }\n").unwrap();
    let graph = import_graph(src, "crate");
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{}", render(&graph));
    let mut members = found[0].clone();
    members.sort();
    assert_eq!(members, ["a", "b"]);
    let text = explain(&graph, &found[0], "src");
    assert!(text.contains("b -> a (first in src/b.rs)"), "{text}");
    assert!(text.contains("a -> b (first in src/a/mod.rs)"), "{text}");
}

#[test]
fn a_cycle_between_submodules_is_found_through_super() {
    let dir = tempfile::tempdir().expect("temp dir");
    let parent = dir.path();
    std::fs::write(
        parent.join("mod.rs"),
        "mod low;\nmod high;\nuse self::low::T;\n",
    )
    .unwrap();
    std::fs::create_dir(parent.join("low")).unwrap();
    std::fs::write(parent.join("low/mod.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(
        parent.join("low/a.rs"),
        "use super::b::X;\nuse super::*;\n/// [`super::super::high`]\n",
    )
    .unwrap();
    std::fs::write(parent.join("low/b.rs"), "//! A leaf.\n").unwrap();
    std::fs::create_dir(parent.join("high")).unwrap();
    std::fs::write(
        parent.join("high/mod.rs"),
        "use super::low::{a, b};\nuse crate::p::low::T;\n",
    )
    .unwrap();

    let graph = import_graph(parent, "crate::p");
    assert!(cycles(&graph).is_empty(), "{}", render(&graph));
    assert_eq!(render(&graph), "high -> low\nlow -> ");

    std::fs::write(
        parent.join("low/b.rs"),
        "fn f() { super::super::high::g(); }\n",
    )
    .unwrap();
    let graph = import_graph(parent, "crate::p");
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{}", render(&graph));
    let text = explain(&graph, &found[0], "src/p");
    assert!(
        text.contains("low -> high (first in src/p/low/b.rs)"),
        "{text}"
    );
    assert!(
        text.contains("high -> low (first in src/p/high/mod.rs)"),
        "{text}"
    );

    std::fs::write(parent.join("low/b.rs"), "use crate::p::high::G;\n").unwrap();
    assert_eq!(cycles(&import_graph(parent, "crate::p")).len(), 1);
}
