//! The typed MCP views (`core/src/mcp`) form layers: no module imports, directly or through
//! others, a module that imports it back. This test reads the sources, collects every
//! reference one module makes to a sibling (`crate::mcp::tools::Tool`, `super::content`, or a
//! re-exported name such as `crate::mcp::ResultType`, resolved through `mod.rs`), and fails
//! naming the cycle when one exists. Comments are skipped, so doc links do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> the sibling modules it refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn code_lines(source: &str) -> impl Iterator<Item = &str> {
    source.lines().filter(|line| !line.trim_start().starts_with("//"))
}

/// Identifiers that follow `prefix` in `line` (`crate::mcp::` → `tools`, `ResultType`, ...);
/// after `prefix{` every path's first segment up to the closing brace on the same line.
fn names_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    let identifier_end = |text: &str| {
        text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len())
    };
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(prefix) {
        let tail = &rest[at + prefix.len()..];
        if let Some(group) = tail.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            for item in group.split(',').map(str::trim) {
                let end = identifier_end(item);
                if end > 0 {
                    names.push(&item[..end]);
                }
            }
            rest = &tail[1 + group.len()..];
            continue;
        }
        let end = identifier_end(tail);
        if end > 0 {
            names.push(&tail[..end]);
        }
        rest = &tail[end..];
    }
    names
}

/// Which module each name re-exported by `mod.rs` comes from (`pub use tools::{A, B};`).
fn reexports(mod_rs: &str) -> BTreeMap<String, String> {
    let mut owner = BTreeMap::new();
    let flat: String = code_lines(mod_rs).collect::<Vec<_>>().join(" ");
    for statement in flat.split(';') {
        let Some(body) = statement.trim().strip_prefix("pub use ") else { continue };
        let Some((module, names)) = body.split_once("::") else { continue };
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            owner.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    owner
}

fn module_graph(dir: &Path) -> Graph {
    let modules: BTreeMap<String, String> = std::fs::read_dir(dir)
        .expect("core/src/mcp is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("a readable source file"))
        })
        .collect();
    let owner = reexports(&modules["mod"]);
    let mut graph = Graph::new();
    for (module, source) in modules.iter().filter(|(name, _)| *name != "mod") {
        let edges = graph.entry(module.clone()).or_default();
        for line in code_lines(source) {
            let referenced =
                names_after(line, "crate::mcp::").into_iter().chain(names_after(line, "super::"));
            for name in referenced {
                let target = if modules.contains_key(name) {
                    Some(name.to_owned())
                } else {
                    owner.get(name).cloned()
                };
                if let Some(target) = target.filter(|target| target != module && target != "mod") {
                    edges.insert(target);
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_mcp_modules_import_each_other_without_a_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mcp");
    let graph = module_graph(&dir);
    assert!(graph.len() > 10, "the module graph was read: {graph:?}");
    assert!(
        graph["tools"].contains("content") && graph["resources"].contains("result_type"),
        "references are seen: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("core/src/mcp has an import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    let cycle = find_cycle(&graph).expect("a -> b -> c -> a");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}
