//! No file imports another that, through its own imports, imports the first back: within
//! each crate of the workspace the files form a layered graph (docs/design.md §1, "No
//! import cycles"). A cycle between files is a cycle between ideas, and it is how a crate
//! turns into one tangle that can only be read, changed and tested as a whole.
//!
//! The graph: one node per source file (a module; `mod.rs` and `lib.rs` are their
//! folder's module), and an edge from a file to every file whose items it names through a
//! path: `use` declarations and paths in code that start with `crate`, `super`, `self`
//! or a child module. Paths are followed through re-exports (`pub use` and plain `use`
//! alike) to the file that defines the item, so `use crate::Tensor` is an edge to
//! tensor.rs, not to lib.rs; `mod` declarations are not edges. Test modules inside a
//! file count as the file. Comments and string literals are skipped; macros are read as
//! their tokens. The parse is a tokenizer, not a Rust parser: it knows the path syntax
//! the workspace uses, which is what the graph needs.
//!
//! [`KNOWN_CYCLES`] lists the cycles that are allowed for now, each with why; every
//! strongly connected set of files found must lie inside one of them, and an entry that
//! no longer matches anything fails too, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked, by folder.
const CRATES: &[&str] = &[
    "core",
    "conformance",
    "backend-cpu",
    "backend-cuda",
    "trainer",
    "tests",
];

/// Cycles allowed for now: (crate folder, files as module paths, why). A cycle found must
/// lie within one entry's files.
const KNOWN_CYCLES: &[(&str, &[&str], &str)] = &[
    (
        "core",
        &["tensor", "autodiff", "autodiff::param"],
        "a Tensor records the autodiff node it came from, and autodiff walks tensors: one \
         recursive structure in two files (docs/design.md §3)",
    ),
    (
        "backend-cpu",
        &["gemm", "tall", "wide"],
        "the GEMM and its tall and wide kernels share helpers both ways (not yet untangled)",
    ),
    (
        "backend-cpu",
        &[
            "conv",
            "conv::choice",
            "conv::fft",
            "conv::fft::dft",
            "conv::fft::transform",
            "conv::fft::products",
        ],
        "the convolution's front file and its algorithms share the geometry both ways \
         (not yet untangled)",
    ),
];

#[test]
fn no_file_imports_itself_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut failures = Vec::new();
    let mut used = vec![false; KNOWN_CYCLES.len()];
    for krate in CRATES {
        let graph = Graph::of_crate(&root.join(krate).join("src"));
        for cycle in graph.cycles() {
            let names: BTreeSet<String> = cycle.iter().map(|m| graph.name(m)).collect();
            let known = KNOWN_CYCLES.iter().position(|(c, files, _)| {
                c == krate && names.iter().all(|n| files.contains(&n.as_str()))
            });
            match known {
                Some(i) => used[i] = true,
                None => failures.push(format!(
                    "{krate}: these files import each other in a cycle:\n{}",
                    graph.explain(&cycle)
                )),
            }
        }
    }
    for ((krate, files, _), used) in KNOWN_CYCLES.iter().zip(used) {
        if !used {
            failures.push(format!(
                "{krate}: the known cycle among {files:?} is gone: remove it from KNOWN_CYCLES"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The checker itself, on a small crate written out here.
#[test]
fn the_checker_follows_every_kind_of_path() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("import_cycles_fixture");
    let _ = std::fs::remove_dir_all(&dir);
    let files: &[(&str, &str)] = &[
        (
            "lib.rs",
            "mod a; mod b; mod c; mod d; mod e; pub use a::Alpha; pub use b::Beta; pub use c::*;",
        ),
        // a -> b in code, through the root's re-export; b -> a through `super`, renamed.
        ("a.rs", "pub struct Alpha; fn f() { let _ = crate::Beta; }"),
        ("b.rs", "pub struct Beta; use super::Alpha as A;"),
        // c -> c::inner (a child) and d (a nested use tree); c::inner -> d and d ->
        // c::inner in code; neither reaches e through a comment or a string.
        (
            "c/mod.rs",
            "mod inner; pub use inner::Gamma; use crate::{d::{self, Delta}};",
        ),
        (
            "c/inner.rs",
            "pub struct Gamma; pub const LEN: u32 = 1;\n\
             fn h() { let _ = crate::d::Delta; } // use crate::e::Eps;",
        ),
        (
            "d.rs",
            "pub struct Delta; fn g() -> u32 { let _ = \"crate::e::Eps\"; crate::c::inner::LEN }",
        ),
        // e -> c::inner from a test module (which counts), through the root's glob and
        // c's re-export.
        (
            "e.rs",
            "pub struct Eps; #[cfg(test)] mod tests { use super::*; use crate::Gamma; }",
        ),
    ];
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    let g = Graph::of_crate(&dir);
    let cycles: BTreeSet<Vec<String>> = g
        .cycles()
        .iter()
        .map(|c| c.iter().map(|m| g.name(m)).collect())
        .collect();
    let want: BTreeSet<Vec<String>> = [vec!["a", "b"], vec!["c::inner", "d"]]
        .into_iter()
        .map(|v| v.into_iter().map(String::from).collect())
        .collect();
    assert_eq!(cycles, want);
    let module = |s: &str| -> Module { s.split("::").map(String::from).collect() };
    assert!(g.edges[&module("e")].contains(&module("c::inner")));
    assert!(g.edges[&module("c")].contains(&module("d")));
    assert!(g.edges.values().all(|to| !to.contains(&module("e"))));
}

// ---- the graph ----------------------------------------------------------------------------

/// A module path inside the crate (`[]` is the crate root).
type Module = Vec<String>;

/// What one file declares and names.
#[derive(Default)]
struct File {
    path: PathBuf,
    /// Items defined in the file (its own names, not those of inline modules).
    defs: BTreeSet<String>,
    /// `use` declarations at the file's top level: the name they bind → the path.
    uses: Vec<(String, Vec<String>)>,
    /// Every path that leaves the file: (inline modules it sits in, the path).
    paths: Vec<(Vec<String>, Vec<String>)>,
}

struct Graph {
    files: BTreeMap<Module, File>,
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

impl Graph {
    fn of_crate(src: &Path) -> Graph {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        let mut g = Graph {
            files,
            edges: BTreeMap::new(),
        };
        let mut edges = BTreeMap::new();
        for (m, f) in &g.files {
            let mut out = BTreeSet::new();
            for (scope, path) in &f.paths {
                if let Some(abs) = g.absolute(m, scope, path) {
                    if let Some(target) = g.resolve(&abs, 0) {
                        if &target != m {
                            out.insert(target);
                        }
                    }
                }
            }
            edges.insert(m.clone(), out);
        }
        g.edges = edges;
        g
    }

    fn name(&self, m: &Module) -> String {
        if m.is_empty() {
            "lib".to_string()
        } else {
            m.join("::")
        }
    }

    /// The module path `path` names, written in module `m` inside inline modules `scope`;
    /// None for paths into other crates.
    fn absolute(&self, m: &Module, scope: &[String], path: &[String]) -> Option<Vec<String>> {
        let mut here: Vec<String> = m.iter().chain(scope).cloned().collect();
        let first = path.first()?;
        match first.as_str() {
            "crate" | "$crate" => Some(path[1..].to_vec()),
            "super" | "self" => {
                let mut rest = path;
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "super" => {
                            here.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                here.extend(rest.iter().cloned());
                Some(here)
            }
            // A child module of the file (2018 paths are relative in `use` too).
            _ => {
                let mut child = m.clone();
                child.push(first.clone());
                if scope.is_empty() && self.files.contains_key(&child) {
                    let mut p = m.clone();
                    p.extend(path.iter().cloned());
                    Some(p)
                } else {
                    None
                }
            }
        }
    }

    /// The file that defines what `path` (absolute) names, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<Module> {
        if depth > 16 {
            return None;
        }
        let split = (0..=path.len())
            .rev()
            .find(|&i| self.files.contains_key(&path[..i]))?;
        let module = path[..split].to_vec();
        let Some(name) = path.get(split) else {
            return Some(module);
        };
        let file = &self.files[&module];
        if name == "*" || file.defs.contains(name) {
            return Some(module);
        }
        // A name the file imports: where it comes from.
        for (bound, target) in &file.uses {
            if bound == name {
                let Some(abs) = self.absolute(&module, &[], target) else {
                    return Some(module); // another crate's item, re-exported
                };
                let mut next = abs;
                next.extend(path[split + 1..].iter().cloned());
                return self.resolve(&next, depth + 1).or(Some(module));
            }
        }
        // Through a glob re-export.
        for (bound, target) in &file.uses {
            if bound == "*" {
                if let Some(abs) = self.absolute(&module, &[], &target[..target.len() - 1]) {
                    let mut next = abs.clone();
                    next.extend(path[split..].iter().cloned());
                    if let Some(found) = self.resolve(&next, depth + 1) {
                        if found != abs
                            || self.files.get(&abs).is_some_and(|f| f.defs.contains(name))
                        {
                            return Some(found);
                        }
                    }
                }
            }
        }
        Some(module)
    }

    /// The strongly connected sets of two or more files (Tarjan).
    fn cycles(&self) -> Vec<Vec<Module>> {
        struct State<'a> {
            g: &'a Graph,
            index: BTreeMap<&'a Module, usize>,
            low: BTreeMap<&'a Module, usize>,
            stack: Vec<&'a Module>,
            on_stack: BTreeSet<&'a Module>,
            out: Vec<Vec<Module>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            s.on_stack.insert(v);
            for w in &s.g.edges[v] {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if s.low[v] == s.index[v] {
                let mut set = Vec::new();
                loop {
                    let w = s.stack.pop().unwrap();
                    s.on_stack.remove(w);
                    set.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    s.out.push(set);
                }
            }
        }
        let mut s = State {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for v in self.edges.keys() {
            if !s.index.contains_key(v) {
                visit(&mut s, v);
            }
        }
        s.out
    }

    /// The edges inside a cycle, one line per file.
    fn explain(&self, cycle: &[Module]) -> String {
        cycle
            .iter()
            .map(|m| {
                let to: Vec<String> = self.edges[m]
                    .iter()
                    .filter(|t| cycle.contains(t))
                    .map(|t| self.name(t))
                    .collect();
                format!(
                    "  {} ({}) imports {}",
                    self.name(m),
                    self.files[m].path.display(),
                    to.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Every `.rs` file under `dir`, by module path (`main.rs`, a binary's root, is skipped:
/// it sees the library as another crate).
fn collect(src: &Path, dir: &Path, out: &mut BTreeMap<Module, File>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(src, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).unwrap().with_extension("");
        let mut module: Module = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match module.last().map(String::as_str) {
            Some("main") if module.len() == 1 => continue,
            Some("lib") if module.len() == 1 => module.clear(),
            Some("mod") => {
                module.pop();
            }
            _ => {}
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut file = parse(&tokens(&text));
        file.path = Path::new("src").join(path.strip_prefix(src).unwrap());
        out.insert(module, file);
    }
}

// ---- reading a file -----------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// The file as tokens, without comments, strings, characters or lifetimes.
fn tokens(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r' && (next == Some('"') || next == Some('#')) && {
            // A raw string: r"..." or r#"..."#.
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            c.get(i + 1 + hashes) == Some(&'"') && (i == 0 || !ident_char(c[i - 1]))
        } {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            i += 2 + hashes;
            loop {
                if i >= c.len() {
                    break;
                }
                if c[i] == '"'
                    && c[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            // 'x', '\n', '\u{..}' are characters; 'a alone is a lifetime or label.
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && ident_char(c[i]) {
                    i += 1;
                }
            }
        } else if ident_char(ch) || (ch == '$' && next.is_some_and(ident_char)) {
            let start = i;
            i += 1;
            while i < c.len() && ident_char(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            // A raw identifier r#name is the name.
            if word == "r" && c.get(i) == Some(&'#') && c.get(i + 1).is_some_and(|&h| ident_char(h))
            {
                continue;
            }
            out.push(Tok::Ident(word));
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::Sep);
            i += 2;
        } else {
            if !ch.is_whitespace() {
                out.push(Tok::Punct(ch));
            }
            i += 1;
        }
    }
    out
}

const ITEM_KEYWORDS: &[&str] = &[
    "fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod",
];

/// What the file defines, imports and names.
fn parse(toks: &[Tok]) -> File {
    let mut file = File::default();
    // Inline modules open here: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    let ident = |k: usize| match toks.get(k) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    while i < toks.len() {
        let scope: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        match &toks[i] {
            Tok::Punct('{') => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Punct(';') => {
                pending_mod = None;
                i += 1;
            }
            Tok::Ident(w) if w == "use" => {
                let end = (i..toks.len())
                    .find(|&k| toks[k] == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                let mut bound = Vec::new();
                use_tree(&toks[i + 1..end], &[], &mut bound);
                for (name, path) in bound {
                    if scope.is_empty() {
                        file.uses.push((name, path.clone()));
                    }
                    let path = if path.last().is_some_and(|s| s == "*") {
                        path[..path.len() - 1].to_vec()
                    } else {
                        path
                    };
                    file.paths.push((scope.clone(), path));
                }
                i = end + 1;
            }
            Tok::Ident(w) if ITEM_KEYWORDS.contains(&w.as_str()) => {
                if let Some(name) = ident(i + 1) {
                    if scope.is_empty() {
                        file.defs.insert(name.to_string());
                    }
                    if w == "mod" {
                        pending_mod = Some(name.to_string());
                    }
                }
                i += 1;
            }
            Tok::Ident(w) if w == "macro_rules" => {
                if let (Some(Tok::Punct('!')), Some(name)) = (toks.get(i + 1), ident(i + 2)) {
                    file.defs.insert(name.to_string());
                }
                i += 1;
            }
            Tok::Ident(w)
                if matches!(w.as_str(), "crate" | "$crate" | "super" | "self")
                    && toks.get(i + 1) == Some(&Tok::Sep)
                    && (i == 0 || toks[i - 1] != Tok::Sep) =>
            {
                let mut path = vec![w.clone()];
                let mut k = i + 1;
                while toks.get(k) == Some(&Tok::Sep) {
                    match ident(k + 1) {
                        Some(s) => path.push(s.to_string()),
                        None => break,
                    }
                    k += 2;
                }
                file.paths.push((scope, path));
                i = k;
            }
            _ => i += 1,
        }
    }
    file
}

/// Expands a use tree (`a::b::{c, d::e as f, self, *}`) into (bound name, full path).
fn use_tree(toks: &[Tok], prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    // A leading `::` (an extern crate path) or `pub`-style qualifiers never reach here.
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(w) if w == "as" => {
                if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                    out.push((alias.clone(), path.clone()));
                }
                return;
            }
            Tok::Ident(w) => {
                path.push(w.clone());
                i += 1;
            }
            Tok::Punct('*') => {
                path.push("*".to_string());
                out.push(("*".to_string(), path));
                return;
            }
            Tok::Sep => i += 1,
            Tok::Punct('{') => {
                // Split the group at top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                for k in i..toks.len() {
                    match toks[k] {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') => {
                            depth -= 1;
                            if depth == 0 {
                                if start < k {
                                    use_tree(&toks[start..k], &path, out);
                                }
                                return;
                            }
                        }
                        Tok::Punct(',') if depth == 1 => {
                            if start < k {
                                use_tree(&toks[start..k], &path, out);
                            }
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => i += 1,
        }
    }
    if let Some(last) = path.last() {
        if last == "self" {
            path.pop();
        }
        if let Some(name) = path.last() {
            out.push((name.clone(), path.clone()));
        }
    }
}
