//! The backend's module graph keeps the one-way data flow: fal (the `simulator` stands in for
//! it) → `upstream` → `cache` → `reports` → `api`. [`LAYERS`] says, for every top-level module,
//! which others it may use; the test parses every source file with `syn`, resolves every path it
//! names (`use` trees and groups, `crate::`, `self::`, `super::super::`, child modules, paths in
//! expressions, types, patterns and macro bodies) and fails on any use the table does not allow,
//! and on any import cycle. A child module using its ancestors' items is structure, not an
//! import. Test code (`#[cfg(test)]`) is not part of the graph: a test may fake any layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use syn::visit::Visit;

/// One layer of the data flow and its modules, each with the modules it may use.
struct Layer {
    name: &'static str,
    modules: &'static [(&'static str, &'static [&'static str])],
}

/// The crate root (`lib.rs`) in the table and in messages.
const ROOT: &str = "crate";

/// The allowed dependencies, lowest layer first. A module may use only what its row lists, and a
/// row may list only modules of its own layer or lower ones (checked), so the table cannot turn
/// the flow around. A new top-level module needs a row.
const LAYERS: &[Layer] = &[
    Layer {
        name: "base: tools every layer may use",
        modules: &[
            ("clock", &[]),
            ("digest", &[]),
            ("promtext", &[]),
            ("cli", &[]),
            ("server", &[]),
            ("spa", &[]),
            ("telemetry", &["cli"]),
        ],
    },
    Layer {
        // fal itself. The simulator shares no code with the client that reads it (and the
        // client none with it): a wire struct changed on one side must break a test, not
        // change both sides at once.
        name: "fal",
        modules: &[("simulator", &["clock", "cli", "promtext", "server"])],
    },
    Layer {
        // fal's client, and beside it falscope's own database: the two sources reports read.
        name: "upstream",
        modules: &[("upstream", &["promtext"]), ("store", &[])],
    },
    Layer {
        // What falscope keeps of fal's answers: the cache, its Redis sharing, the shared log
        // streams and the per-workspace handle that owns them.
        name: "cache",
        modules: &[
            ("cluster", &["clock", "digest"]),
            ("cache", &["clock", "cluster", "upstream"]),
            ("logs_hub", &["cluster", "upstream"]),
            ("workspace", &["logs_hub", "upstream"]),
        ],
    },
    Layer {
        name: "reports",
        modules: &[
            ("cost", &["upstream"]),
            ("error", &["upstream", "store"]),
            (
                "reports",
                &[
                    "clock",
                    "digest",
                    "promtext",
                    "upstream",
                    "store",
                    "cluster",
                    "cache",
                    "logs_hub",
                    "workspace",
                    "cost",
                    "error",
                ],
            ),
        ],
    },
    Layer {
        // Background jobs: they call reports, never a handler.
        name: "jobs",
        modules: &[
            (
                "alerts",
                &["digest", "upstream", "store", "cluster", "error", "reports"],
            ),
            ("history", &["upstream", "store", "cluster", "reports"]),
            ("live", &["store", "cluster", "workspace", "reports"]),
        ],
    },
    Layer {
        // The HTTP boundary. `api`'s handlers are glue over `reports`: they reach fal, the
        // simulator and the database only through it (the sessions and the app state hold the
        // database for the guard).
        name: "api",
        modules: &[
            ("auth", &["cli", "store"]),
            (
                "state",
                &[
                    "clock",
                    "store",
                    "cluster",
                    "cache",
                    "workspace",
                    "error",
                    "reports",
                    "alerts",
                    "auth",
                ],
            ),
            ("guard", &["cli", "cluster", "error", "auth", "state"]),
            (
                "api",
                &[
                    "cli", "server", "error", "reports", "auth", "state", "guard",
                ],
            ),
        ],
    },
    Layer {
        // Wiring: configuration, the router, `falscope check`, and the root that builds it all.
        name: "app",
        modules: &[
            ("config", &["cli", "cluster", "alerts", "history", "auth"]),
            ("check", &["clock", "upstream", "config"]),
            ("backup", &["store"]),
            ("router", &["spa", "api", "guard", "state"]),
            (ROOT, &["*"]),
        ],
    },
];

/// What `api` must never name, whatever the table says.
const NOT_FROM_API: &[&str] = &["upstream", "simulator", "store"];

/// A module path (`["reports", "cost"]`; the root is `[]`).
type ModPath = Vec<String>;

fn show(m: &[String]) -> String {
    if m.is_empty() {
        ROOT.to_owned()
    } else {
        m.join("::")
    }
}

/// A path as written in module `from`.
#[derive(Debug)]
struct Named {
    from: ModPath,
    segments: Vec<String>,
}

/// Collects the modules of one file and every multi-segment path they name.
struct Collector<'a> {
    module: ModPath,
    modules: &'a mut BTreeSet<ModPath>,
    named: &'a mut Vec<Named>,
}

impl Collector<'_> {
    fn name(&mut self, segments: Vec<String>) {
        if segments.len() > 1 {
            self.named.push(Named {
                from: self.module.clone(),
                segments,
            });
        }
    }

    /// Every path a `use` tree brings in (groups expanded, `self` in a group is its prefix).
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => self.name(prefix.clone()),
            syn::UseTree::Name(n) => {
                self.name([prefix.clone(), vec![n.ident.to_string()]].concat())
            }
            syn::UseTree::Rename(r) => {
                self.name([prefix.clone(), vec![r.ident.to_string()]].concat());
            }
            syn::UseTree::Glob(_) => self.name(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// Paths in a macro's tokens (`matches!(x, crate::guard::Access::Role(_))`): every run of
    /// identifiers joined by `::`, in groups too.
    fn tokens(&mut self, mut cursor: syn::buffer::Cursor) {
        let mut run: Vec<String> = Vec::new();
        while !cursor.eof() {
            if let Some((ident, next)) = cursor.ident() {
                run.push(ident.to_string());
                cursor = next;
                // `::` is two joint `:` puncts.
                let sep = cursor.punct().and_then(|(a, next)| {
                    let (b, next) = next.punct()?;
                    (a.as_char() == ':' && b.as_char() == ':').then_some(next)
                });
                if let Some(next) = sep.filter(|n| n.ident().is_some()) {
                    cursor = next;
                    continue;
                }
            } else if let Some((inside, _, _, next)) = cursor.any_group() {
                self.tokens(inside);
                cursor = next;
            } else if let Some((_, next)) = cursor.token_tree() {
                cursor = next;
            }
            self.name(std::mem::take(&mut run));
        }
    }
}

/// Whether `attrs` hold `#[cfg(test)]`.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string() == "test")
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item as I;
    match item {
        I::Const(i) => &i.attrs,
        I::Enum(i) => &i.attrs,
        I::ExternCrate(i) => &i.attrs,
        I::Fn(i) => &i.attrs,
        I::ForeignMod(i) => &i.attrs,
        I::Impl(i) => &i.attrs,
        I::Macro(i) => &i.attrs,
        I::Mod(i) => &i.attrs,
        I::Static(i) => &i.attrs,
        I::Struct(i) => &i.attrs,
        I::Trait(i) => &i.attrs,
        I::TraitAlias(i) => &i.attrs,
        I::Type(i) => &i.attrs,
        I::Union(i) => &i.attrs,
        I::Use(i) => &i.attrs,
        _ => &[],
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let mut child = self.module.clone();
        child.push(m.ident.to_string());
        self.modules.insert(child.clone());
        if let Some((_, items)) = &m.content {
            let outer = std::mem::replace(&mut self.module, child);
            for item in items {
                self.visit_item(item);
            }
            self.module = outer;
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if u.leading_colon.is_none() {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() {
            self.name(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let buffer = syn::buffer::TokenBuffer::new2(m.tokens.clone());
        self.tokens(buffer.begin());
        syn::visit::visit_macro(self, m);
    }
}

/// The modules of the crate whose sources are `files` (path under `src` → text), and every path
/// each names.
fn collect(files: &BTreeMap<String, String>) -> (BTreeSet<ModPath>, Vec<Named>) {
    let mut modules = BTreeSet::new();
    let mut named = Vec::new();
    for (rel, text) in files {
        let rel = rel.trim_end_matches(".rs").trim_end_matches("/mod");
        let module: ModPath = if rel == "lib" {
            Vec::new()
        } else {
            rel.split('/').map(str::to_owned).collect()
        };
        let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{rel}.rs: {e}"));
        modules.insert(module.clone());
        let mut c = Collector {
            module,
            modules: &mut modules,
            named: &mut named,
        };
        c.visit_file(&file);
    }
    (modules, named)
}

/// The module `n` names, if it names one of `modules`: `crate::`, `self::` and each leading
/// `super::` resolved from `n.from`, a bare first segment only when it is a child module
/// (others are external crates, local items or names a `use` brought in, which that `use`
/// already counted), then the longest known module prefix.
fn resolve(modules: &BTreeSet<ModPath>, n: &Named) -> Option<ModPath> {
    let mut segs = n.segments.as_slice();
    let mut base = match segs.first().map(String::as_str) {
        Some("crate") => {
            segs = &segs[1..];
            Vec::new()
        }
        Some("self") => {
            segs = &segs[1..];
            n.from.clone()
        }
        Some("super") => {
            let mut base = n.from.clone();
            while segs.first().is_some_and(|s| s == "super") {
                base.pop()?;
                segs = &segs[1..];
            }
            base
        }
        Some(first) => {
            let child = [n.from.clone(), vec![first.to_owned()]].concat();
            if !modules.contains(&child) {
                return None;
            }
            n.from.clone()
        }
        None => return None,
    };
    let mut found = base.clone();
    for s in segs {
        base.push(s.clone());
        if modules.contains(&base) {
            found = base.clone();
        }
    }
    Some(found)
}

/// Module → the other modules it uses, each with the first path that showed it.
type Edges = BTreeMap<ModPath, BTreeMap<ModPath, String>>;

fn edges(files: &BTreeMap<String, String>) -> (BTreeSet<ModPath>, Edges) {
    let (modules, named) = collect(files);
    let mut edges: Edges = modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for n in &named {
        let Some(to) = resolve(&modules, n) else {
            continue;
        };
        // A module using its own ancestors' items (or its own) is structure, not an import;
        // except the root's: everything descends from it, and it is the top layer.
        if to == n.from || (!to.is_empty() && n.from.starts_with(&to)) {
            continue;
        }
        edges
            .entry(n.from.clone())
            .or_default()
            .entry(to)
            .or_insert_with(|| n.segments.join("::"));
    }
    (modules, edges)
}

/// A cycle through `start`, if any (depth-first).
fn cycle_from(edges: &Edges, start: &ModPath) -> Option<Vec<String>> {
    let mut stack = vec![(start.clone(), vec![show(start)])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for next in edges.get(&m).into_iter().flat_map(BTreeMap::keys) {
            let path = [path.clone(), vec![show(next)]].concat();
            if next == start {
                return Some(path);
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), path));
            }
        }
    }
    None
}

fn top(m: &[String]) -> &str {
    m.first().map_or(ROOT, String::as_str)
}

/// Top-level module → (its layer: rank and name, what it may use).
type Table = BTreeMap<&'static str, ((usize, &'static str), &'static [&'static str])>;

fn table() -> Table {
    let mut table = Table::new();
    for (rank, layer) in LAYERS.iter().enumerate() {
        for (m, may_use) in layer.modules {
            let row = ((rank, layer.name), *may_use);
            assert!(table.insert(*m, row).is_none(), "{m} twice");
        }
    }
    table
}

/// Every rule broken by the crate whose sources are `files`: uses the table does not allow,
/// modules missing from it, and import cycles.
fn violations(files: &BTreeMap<String, String>) -> Vec<String> {
    let table = table();
    let (modules, edges) = edges(files);
    let mut out = Vec::new();
    for m in &modules {
        if !table.contains_key(top(m)) {
            out.push(format!("{} has no row in LAYERS", show(m)));
        }
    }
    for (from, tos) in &edges {
        let Some((_, may_use)) = table.get(top(from)) else {
            continue;
        };
        for (to, path) in tos {
            let (a, b) = (top(from), top(to));
            if a != b && !may_use.contains(&b) && !may_use.contains(&"*") {
                out.push(format!(
                    "{} uses {b} (`{path}`), which the {a} row does not allow",
                    show(from)
                ));
            }
        }
    }
    // Each cycle once, from its smallest module.
    let mut cycles = BTreeSet::new();
    for m in &modules {
        if let Some(mut cycle) = cycle_from(&edges, m) {
            cycle.pop();
            let first = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
            cycle.rotate_left(first);
            cycles.insert(cycle);
        }
    }
    for mut cycle in cycles {
        cycle.push(cycle[0].clone());
        out.push(format!("import cycle: {}", cycle.join(" → ")));
    }
    out
}

/// `backend/src`'s sources, by path under it (the binary's `main.rs` uses the library by its
/// crate name, `backend::`, so it is outside the graph).
fn backend_sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(&f).unwrap())
        })
        .filter(|(rel, _)| rel != "main.rs")
        .collect()
}

#[test]
fn the_layer_table_keeps_the_flow_one_way() {
    let table = table();
    let mut wrong = Vec::new();
    for (m, (layer, may_use)) in &table {
        for u in may_use.iter().filter(|u| **u != "*") {
            match table.get(u) {
                None => wrong.push(format!("{m} may use {u}, which has no row")),
                Some((used, _)) if used.0 > layer.0 => wrong.push(format!(
                    "{m} ({}) may use {u} ({}), a higher layer",
                    layer.1, used.1
                )),
                Some(_) => {}
            }
        }
    }
    for banned in NOT_FROM_API {
        if table["api"].1.contains(banned) {
            wrong.push(format!("api may use {banned}"));
        }
    }
    for (a, b) in [("simulator", "upstream"), ("upstream", "simulator")] {
        if table[a].1.contains(&b) {
            wrong.push(format!("{a} may use {b}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn data_flows_one_way_through_the_backend_modules() {
    let files = backend_sources();
    let (modules, edges) = edges(&files);
    // The checker sees real imports (a sanity check that it would catch one).
    let m = |s: &str| -> ModPath { s.split("::").map(str::to_owned).collect() };
    assert!(modules.contains(&m("reports::cost")) && modules.contains(&m("api::analytics")));
    assert!(edges[&m("api::analytics")].contains_key(&m("reports")));
    assert!(edges[&m("alerts")].contains_key(&m("alerts::evaluate")));
    let violations = violations(&files);
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Every path form the checker must resolve, in a made-up crate.
#[test]
fn every_path_form_counts() {
    let files: BTreeMap<String, String> = [
        (
            "lib.rs",
            "mod a; mod b; mod c; mod d; mod e; mod f; mod g; mod h;",
        ),
        ("a.rs", "mod inner;"),
        ("a/inner.rs", "mod deep;"),
        (
            "a/inner/deep.rs",
            "fn f() { super::super::super::b::go(); }",
        ),
        ("b.rs", "use crate::{c, d::X};"),
        (
            "c.rs",
            "fn f() -> crate::e::T { let s = \"// not a comment\"; crate::f::go() }",
        ),
        ("d.rs", "fn f() { assert!(matches!(x, crate::g::E::V)); }"),
        ("e.rs", "mod sub; fn f() { self::sub::go(); sub::go() }"),
        ("e/sub.rs", "use super::super::h;"),
        ("f.rs", "#[cfg(test)]\nmod tests { use crate::h; }"),
        ("g.rs", ""),
        ("h.rs", ""),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_owned(), t.to_owned()))
    .collect();
    let (_, edges) = edges(&files);
    let m = |s: &str| -> ModPath { s.split("::").map(str::to_owned).collect() };
    let uses = |from: &str| -> Vec<String> { edges[&m(from)].keys().map(|t| show(t)).collect() };
    assert_eq!(uses("a::inner::deep"), ["b"], "super::super::super::");
    assert_eq!(uses("b"), ["c", "d"], "a use group");
    assert_eq!(uses("c"), ["e", "f"], "paths in types and expressions");
    assert_eq!(uses("d"), ["g"], "a path in a macro");
    assert_eq!(uses("e"), ["e::sub"], "self:: and a child module");
    assert_eq!(uses("e::sub"), ["h"], "super::super:: in a use");
    assert!(uses("f").is_empty(), "test code is not counted");
}

/// Every Rust source file under `dir` (not `target/`).
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
