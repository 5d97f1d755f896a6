//! No import cycle between the top-level modules of any crate of the workspace (see
//! docs/ARCHITECTURE.md, "Cross-cutting invariants").
//!
//! Each library and binary target is parsed (`syn`) from its root file down its module tree.
//! A module's submodules count as that module. The graph's edges are the paths in the code —
//! `use` trees, `crate::x::…`, `super::…` and `self::…` paths, also inside macro calls and
//! attributes (`#[openapi(...)]`) — resolved against the module they are written in; paths
//! of other crates are not edges. An item reached through the crate root (`crate::Item`)
//! counts as a use of the module the root re-exports it from; an item the root defines
//! itself (`crate::CLOCK_SKEW` in `lib.rs`) makes the root a node, whose edges are its own
//! paths (`pub use module::…` included) — so a module using a constant of `lib.rs` that
//! re-exports the module's items is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The root node's name.
const ROOT: &str = "(crate root)";

/// The crate roots of every workspace member: `(package name, target root file)`.
fn targets() -> Vec<(String, PathBuf)> {
    let workspace: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let members = workspace["workspace"]["members"].as_array().unwrap();
    let mut out = Vec::new();
    for member in members {
        let dir = root().join(member.as_str().unwrap());
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let name = manifest["package"]["name"].as_str().unwrap().to_owned();
        let mut files = BTreeSet::new();
        let lib = manifest
            .get("lib")
            .and_then(|l| l.get("path"))
            .and_then(|p| p.as_str())
            .unwrap_or("src/lib.rs");
        files.insert(dir.join(lib));
        files.insert(dir.join("src/main.rs"));
        for bin in manifest
            .get("bin")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(p) = bin.get("path").and_then(|p| p.as_str()) {
                files.insert(dir.join(p));
            }
        }
        if let Ok(bins) = std::fs::read_dir(dir.join("src/bin")) {
            for b in bins.flatten() {
                files.insert(b.path());
            }
        }
        out.extend(
            files
                .into_iter()
                .filter(|f| f.is_file())
                .map(|f| (name.clone(), f)),
        );
    }
    out
}

/// A path written in module `from` (the full module path) as its segments.
#[derive(Debug)]
struct Reference {
    from: Vec<String>,
    segments: Vec<String>,
    file: PathBuf,
}

/// Walks a crate's module tree, file by file, collecting every path with the module it is
/// written in.
struct Collector {
    /// The top-level modules (declared in the root file).
    top: BTreeSet<String>,
    /// The module the visitor is in.
    current: Vec<String>,
    /// The directory a `mod x;` in the current file is looked up in.
    dir: PathBuf,
    file: PathBuf,
    references: Vec<Reference>,
}

impl Collector {
    fn record(&mut self, segments: Vec<String>) {
        if !segments.is_empty() {
            self.references.push(Reference {
                from: self.current.clone(),
                segments,
                file: self.file.clone(),
            });
        }
    }

    /// Paths inside a token stream (macro calls, attributes): runs of `ident :: ident …`
    /// starting at `crate`, `super` or `self`, or, in the crate root, at a top-level module.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let flat = flatten(tokens);
        let mut i = 0;
        while i < flat.len() {
            let Flat::Ident(first) = &flat[i] else {
                i += 1;
                continue;
            };
            let starts = matches!(first.as_str(), "crate" | "super" | "self")
                || (self.current.is_empty() && self.top.contains(first));
            // `a::crate` is no path start; `$crate::…` in a `macro_rules!` names the crate
            // from wherever the macro is expanded (another crate, usually): no edge.
            let continues = i >= 1 && matches!(flat[i - 1], Flat::Colon2 | Flat::Dollar);
            if !starts || continues {
                i += 1;
                continue;
            }
            let mut segments = vec![first.clone()];
            let mut j = i + 1;
            while j + 1 < flat.len() && matches!(flat[j], Flat::Colon2) {
                let Flat::Ident(next) = &flat[j + 1] else {
                    break;
                };
                segments.push(next.clone());
                j += 2;
            }
            if segments.len() > 1 {
                self.record(segments);
            }
            i = j;
        }
    }

    fn load_module(&mut self, name: &str) {
        let candidates = [
            self.dir.join(format!("{name}.rs")),
            self.dir.join(name).join("mod.rs"),
        ];
        let Some(file) = candidates.into_iter().find(|f| f.is_file()) else {
            panic!("module {name} of {} not found", self.file.display());
        };
        let next_dir = self.dir.join(name);
        let saved_dir = std::mem::replace(&mut self.dir, next_dir);
        let saved_file = std::mem::replace(&mut self.file, file.clone());
        self.current.push(name.to_owned());
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", file.display()));
        self.visit_file(&parsed);
        self.current.pop();
        self.file = saved_file;
        self.dir = saved_dir;
    }
}

enum Flat {
    Ident(String),
    Colon2,
    Dollar,
    Other,
}

fn flatten(tokens: TokenStream) -> Vec<Flat> {
    let mut out = Vec::new();
    let mut pending_colon = false;
    for t in tokens {
        match t {
            TokenTree::Group(g) => {
                pending_colon = false;
                out.push(Flat::Other);
                out.extend(flatten(g.stream()));
                out.push(Flat::Other);
            }
            TokenTree::Ident(i) => {
                pending_colon = false;
                out.push(Flat::Ident(i.to_string()));
            }
            TokenTree::Punct(p) if p.as_char() == ':' => {
                if pending_colon {
                    out.pop();
                    out.push(Flat::Colon2);
                    pending_colon = false;
                } else {
                    out.push(Flat::Other);
                    pending_colon = p.spacing() == proc_macro2::Spacing::Joint;
                }
            }
            TokenTree::Punct(p) if p.as_char() == '$' => {
                pending_colon = false;
                out.push(Flat::Dollar);
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {
                pending_colon = false;
                out.push(Flat::Other);
            }
        }
    }
    out
}

fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            if n.ident != "self" {
                path.push(n.ident.to_string());
            }
            out.push(path);
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push(path);
        }
        syn::UseTree::Glob(_) => {
            let mut path = prefix.clone();
            path.push("*".to_owned());
            out.push(path);
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        for a in &m.attrs {
            self.visit_attribute(a);
        }
        let name = m.ident.to_string();
        match &m.content {
            Some((_, items)) => {
                self.current.push(name.clone());
                let next_dir = self.dir.join(&name);
                let saved_dir = std::mem::replace(&mut self.dir, next_dir);
                for item in items {
                    self.visit_item(item);
                }
                self.dir = saved_dir;
                self.current.pop();
            }
            None => self.load_module(&name),
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for a in &u.attrs {
            self.visit_attribute(a);
        }
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            self.record(p);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.scan_tokens(m.tokens.clone());
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        if let syn::Meta::List(list) = &a.meta {
            self.scan_tokens(list.tokens.clone());
        }
        syn::visit::visit_attribute(self, a);
    }
}

/// What the crate root offers under a name: an item it defines, or one it re-exports.
#[derive(Debug, Default)]
struct RootNames {
    /// The top-level modules.
    top: BTreeSet<String>,
    /// Items defined in the root file itself.
    defined: BTreeSet<String>,
    /// Names the root brings in with `use`: the top-level module they come from (`None`:
    /// another crate).
    imported: BTreeMap<String, Option<String>>,
    /// Top-level modules the root glob-imports (`pub use types::*`).
    globs: Vec<String>,
}

impl RootNames {
    fn read(file: &syn::File) -> Self {
        let mut names = Self::default();
        for item in &file.items {
            match item {
                syn::Item::Mod(m) => {
                    names.top.insert(m.ident.to_string());
                }
                syn::Item::Use(_) => {}
                other => {
                    if let Some(ident) = item_ident(other) {
                        names.defined.insert(ident);
                    }
                }
            }
        }
        for item in &file.items {
            if let syn::Item::Use(u) = item {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                for (alias, path) in leaves {
                    let path: Vec<&str> = path
                        .iter()
                        .map(String::as_str)
                        .skip_while(|s| *s == "self" || *s == "crate")
                        .collect();
                    let module = path
                        .first()
                        .filter(|m| names.top.contains(**m))
                        .map(|m| (*m).to_owned());
                    match alias {
                        Some(alias) => {
                            names.imported.insert(alias, module);
                        }
                        None => names.globs.extend(module),
                    }
                }
            }
        }
        names
    }

    /// The node `crate::<first>::…` belongs to (`None`: another crate's item).
    fn node_of(&self, first: &str) -> Option<String> {
        if self.top.contains(first) {
            return Some(first.to_owned());
        }
        if self.defined.contains(first) {
            return Some(ROOT.to_owned());
        }
        if let Some(module) = self.imported.get(first) {
            return module.clone();
        }
        // Only a glob re-export can bring it in.
        Some(
            self.globs
                .first()
                .cloned()
                .unwrap_or_else(|| ROOT.to_owned()),
        )
    }
}

fn item_ident(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The names a `use` brings in: `(Some(name), path)`, or `(None, path)` for a glob.
fn use_leaves(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Option<String>, Vec<String>)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = if n.ident == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                n.ident.to_string()
            };
            out.push((Some(name), prefix.clone()));
        }
        syn::UseTree::Rename(r) => out.push((Some(r.rename.to_string()), prefix.clone())),
        syn::UseTree::Glob(_) => out.push((None, prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// The node a reference written in module `from` points at, if it points into this crate.
fn target(names: &RootNames, from: &[String], segments: &[String]) -> Option<String> {
    let absolute: Vec<String> = match segments[0].as_str() {
        "crate" => segments[1..].to_vec(),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let base = from.len().checked_sub(ups)?;
            from[..base]
                .iter()
                .chain(&segments[ups..])
                .cloned()
                .collect()
        }
        "self" => from.iter().chain(&segments[1..]).cloned().collect(),
        first if from.is_empty() && names.top.contains(first) => segments.to_vec(),
        // Written inside a module: relative to it (its own items or submodules), or
        // another crate.
        _ => return None,
    };
    let first = absolute.first()?;
    if first == "*" {
        return None;
    }
    names.node_of(first)
}

/// The module graph of one crate: edge → a file that makes it.
fn graph(root_file: &Path) -> BTreeMap<(String, String), PathBuf> {
    let text = std::fs::read_to_string(root_file).unwrap();
    let parsed = syn::parse_file(&text).unwrap();
    let names = RootNames::read(&parsed);
    let mut collector = Collector {
        top: names.top.clone(),
        current: Vec::new(),
        dir: root_file.parent().unwrap().to_path_buf(),
        file: root_file.to_path_buf(),
        references: Vec::new(),
    };
    collector.visit_file(&parsed);
    let mut edges = BTreeMap::new();
    for r in collector.references {
        let from = r.from.first().cloned().unwrap_or_else(|| ROOT.to_owned());
        let Some(to) = target(&names, &r.from, &r.segments) else {
            continue;
        };
        if from != to {
            edges.entry((from, to)).or_insert(r.file);
        }
    }
    edges
}

/// The strongly connected components of more than one node (Tarjan).
fn cycles(edges: &BTreeMap<(String, String), PathBuf>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        next: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.next.get(v).cloned().unwrap_or_default() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        next: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for (from, to) in edges.keys() {
        t.next.entry(from.as_str()).or_default().push(to.as_str());
        t.next.entry(to.as_str()).or_default();
    }
    let nodes: Vec<&str> = t.next.keys().copied().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.found
}

/// What a crate's cycles are, with one file making each edge inside them.
fn describe(edges: &BTreeMap<(String, String), PathBuf>, cycle: &[String]) -> String {
    let base = root().canonicalize().unwrap();
    let within: Vec<String> = edges
        .iter()
        .filter(|((a, b), _)| cycle.contains(a) && cycle.contains(b))
        .map(|((a, b), file)| {
            let file = file.canonicalize().unwrap_or_else(|_| file.clone());
            let shown = file.strip_prefix(&base).unwrap_or(&file);
            format!("    {a} → {b} (e.g. {})", shown.display())
        })
        .collect();
    format!("{{{}}}\n{}", cycle.join(", "), within.join("\n"))
}

#[test]
fn no_import_cycle_between_the_top_level_modules_of_any_crate() {
    let targets = targets();
    assert!(targets.len() >= 14, "{targets:?}");
    let mut found = Vec::new();
    for (name, file) in &targets {
        let edges = graph(file);
        for cycle in cycles(&edges) {
            found.push(format!(
                "{name} ({}): {}",
                file.file_name().unwrap().to_string_lossy(),
                describe(&edges, &cycle)
            ));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles between top-level modules (break them: move the shared type down \
         into a module both use; import items from the module that defines them, not from \
         the crate root):\n{}",
        found.join("\n")
    );
}

/// The detector itself, on a made-up crate: a cycle through a constant of the root,
/// `super::` in a submodule, a path in a macro call; a root re-export counted as its module;
/// no false edge from an inline test module or `$crate` in a `macro_rules!`.
#[test]
fn the_detector_sees_cycles_through_the_root_super_and_macros() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |name: &str, text: &str| {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "lib.rs",
        "mod a;\nmod b;\nmod c;\nmod d;\npub use a::State;\npub const SKEW: u8 = 1;\n",
    );
    write(
        "a/mod.rs",
        "pub mod inner;\npub struct State;\n#[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write(
        "a/inner.rs",
        "pub fn f() { let _ = super::super::b::g(); }\n",
    );
    write(
        "b.rs",
        "pub fn g() -> u8 { 0 }\npub fn h() { println!(\"{}\", crate::SKEW); }\n",
    );
    write(
        "c.rs",
        "pub fn k() { let _ = format!(\"{:?}\", crate::a::State); }\n\
         macro_rules! m { () => { $crate::SKEW }; }\n",
    );
    write("d.rs", "use crate::State;\nuse std::fmt::Debug;\n");
    let edges = graph(&src.join("lib.rs"));
    let keys: BTreeSet<(&str, &str)> = edges
        .keys()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([(ROOT, "a"), ("a", "b"), ("b", ROOT), ("c", "a"), ("d", "a")])
    );
    assert_eq!(
        cycles(&edges),
        vec![vec![ROOT.to_owned(), "a".to_owned(), "b".to_owned()]]
    );
}
