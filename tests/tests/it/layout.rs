//! The backend's module graph keeps the one-way data flow: fal → `upstream` → `cache` →
//! `reports` → `api`. No module outside `api` (and the router that mounts it) imports from
//! `crate::api`, and no chain of imports leads a module back to itself. A child module using its
//! parent's items is structure, not a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`reports::cost`) → its source, comments and test modules removed.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let name = rel.to_string_lossy().replace('/', "::");
            let name = if name == "lib" || name == "main" {
                String::new()
            } else {
                name
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(name, code);
        }
    }
    out
}

/// The longest module of `mods` that `path` (`a::b::C`) names.
fn resolve<'a>(mods: &'a BTreeMap<String, String>, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|m| mods.get_key_value(&m).map(|(k, _)| k.as_str()))
}

/// Identifier paths after `prefix` in `code` (`crate::` → `reports::Reports`; groups expanded
/// one level).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        let head: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let head = head.trim_end_matches(':').to_owned();
        if let Some(group) = rest[head.len()..].strip_prefix("::{") {
            for item in group.split('}').next().unwrap_or_default().split(',') {
                let item = item.trim().split(' ').next().unwrap_or_default();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{head}::{item}"));
                }
            }
        }
        out.push(head);
    }
    out
}

fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (m, code) in mods {
        let parent = m.rsplit_once("::").map_or("", |(p, _)| p);
        let mut to = BTreeSet::new();
        let mut named: Vec<String> = paths_after(code, "crate::");
        named.extend(paths_after(code, "super::").into_iter().map(|p| {
            if parent.is_empty() {
                p
            } else {
                format!("{parent}::{p}")
            }
        }));
        // Children named by their own name (`evaluate::judge` in `alerts`).
        for (i, _) in code.match_indices("::") {
            let start = code[..i]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |s| s + 1);
            if start > 0 && code[..start].ends_with("::") {
                continue;
            }
            let child = &code[start..i];
            let full = if m.is_empty() {
                child.to_owned()
            } else {
                format!("{m}::{child}")
            };
            if mods.contains_key(&full) {
                named.push(full);
            }
        }
        for p in named {
            if let Some(t) = resolve(mods, &p) {
                // A module using its own ancestors' items is structure, not an import.
                if !t.is_empty() && t != m && !m.starts_with(&format!("{t}::")) {
                    to.insert(t.to_owned());
                }
            }
        }
        edges.insert(m.clone(), to);
    }
    edges
}

/// A cycle through `start`, if any (depth-first).
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for next in edges.get(&m).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn data_flows_one_way_through_the_backend_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend/src");
    let mods = modules(&src);
    assert!(mods.contains_key("reports") && mods.contains_key("api::analytics"));
    let edges = edges(&mods);
    // The checker sees real imports (a sanity check that it would catch one).
    assert!(
        edges["api::analytics"].contains("reports"),
        "{:?}",
        edges["api::analytics"]
    );
    assert!(edges["alerts"].contains("alerts::evaluate"));
    let outside: Vec<&String> = edges
        .iter()
        .filter(|(m, to)| {
            !(m.starts_with("api") || *m == "router")
                && to.iter().any(|t| t == "api" || t.starts_with("api::"))
        })
        .map(|(m, _)| m)
        .collect();
    assert!(outside.is_empty(), "modules reaching into api: {outside:?}");
    let cycles: Vec<Vec<String>> = mods.keys().filter_map(|m| cycle_from(&edges, m)).collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

/// Every Rust source file of the workspace's crates (not `target/`).
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && name != "node_modules" && name != "dist" {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn unsafe_code_is_allowed_only_where_the_page_splitting_needs_it() {
    // The workspace denies unsafe code (not forbids: `frontend/src/lazy.rs` allows what the
    // `wasm_split` macro generates). No other file may opt out.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["backend", "shared", "frontend", "tests", "xtask"] {
        rust_files(&root.join(krate), &mut files);
    }
    assert!(files.len() > 50, "found {} files", files.len());
    let opted_out: Vec<String> = files
        .iter()
        .filter(|f| {
            !f.ends_with("frontend/src/lazy.rs") && !f.ends_with("tests/tests/it/layout.rs")
        })
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            text.contains("allow(unsafe_code") || text.contains("allow(\n    unsafe_code")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        opted_out.is_empty(),
        "unsafe code allowed in: {opted_out:?}"
    );
    let lazy = std::fs::read_to_string(root.join("frontend/src/lazy.rs")).unwrap();
    assert!(
        lazy.contains("unsafe_code"),
        "the one exception is where it was"
    );
}
