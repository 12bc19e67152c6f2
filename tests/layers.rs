//! The layering check: no import cycles between the gateway's modules (STYLE.md, "Layering").
//!
//! Reads every file under `src/` and draws one edge per file-level reference in non-test
//! code: a `crate::…` path (in a `use` or inline), or a `super::…` path that names another
//! file. A path goes to the deepest module file it names; a name that module only re-exports
//! (`pub use child::Name`) goes on to the file that defines it. A parent's plain `child::…`
//! paths are not counted: a parent owns the children it declares. Comments, strings and
//! `#[cfg(test)]` items (and the files they declare) are left out.
//!
//! `cargo test --test layers -- --nocapture` prints the whole graph and every cycle; the test
//! fails on any cycle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A module path below the crate root, e.g. `["proxy", "client"]`.
type Module = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

/// What one file says about the module graph.
#[derive(Default)]
struct FileFacts {
    /// Absolute paths (from the crate root) this file refers to, with the text that did.
    paths: Vec<Vec<String>>,
    /// `pub use` names: name → absolute path of what it re-exports.
    reexports: BTreeMap<String, Vec<String>>,
    /// Children declared with `mod name;` under `#[cfg(test)]`.
    test_children: BTreeSet<String>,
}

fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    match stem {
        "lib" if parts.is_empty() => {}
        "main" if parts.is_empty() => return None,
        "mod" => {}
        _ => parts.push(stem.to_owned()),
    }
    Some(parts)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text as tokens, without comments, strings and character literals.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == 'r' && (at(i + 1) == '#' || at(i + 1) == '"') && {
            let mut j = i + 1;
            while at(j) == '#' {
                j += 1;
            }
            at(j) == '"'
        } {
            // A raw string: r"…", r#"…"#.
            let mut hashes = 0;
            i += 1;
            while chars[i] == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or label.
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // b"…" and br"…" are strings: the prefix is dropped and the string skipped next.
            let string_next = at(i) == '"' || at(i) == '#';
            if word == "br" && string_next {
                i -= 1; // the raw-string branch reads from the `r`
            } else if !(word == "b" && string_next) {
                tokens.push(Token::Ident(word));
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token::PathSep);
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

fn is_ident(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Ident(w)) if w == word)
}

fn is_punct(token: Option<&Token>, c: char) -> bool {
    token == Some(&Token::Punct(c))
}

/// The index just past the item starting at `i` (ending in `;` or a `{…}` block at depth 0).
fn skip_item(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0i32;
    while let Some(token) = tokens.get(i) {
        i += 1;
        match token {
            Token::Punct('{') | Token::Punct('(') | Token::Punct('[') => depth += 1,
            Token::Punct('}') | Token::Punct(')') | Token::Punct(']') => {
                depth -= 1;
                if depth == 0 && token == &Token::Punct('}') {
                    return i;
                }
            }
            Token::Punct(';') if depth == 0 => return i,
            _ => {}
        }
    }
    i
}

/// Removes `#[cfg(test)]` items, recording the test children they declare.
fn without_tests(tokens: &[Token], test_children: &mut BTreeSet<String>) -> Vec<Token> {
    let cfg_test = [
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let mut kept = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i..].starts_with(&cfg_test) {
            let mut j = i + cfg_test.len();
            // Further attributes on the same item.
            while is_punct(tokens.get(j), '#') && is_punct(tokens.get(j + 1), '[') {
                j = skip_item_brackets(tokens, j + 1);
            }
            if is_ident(tokens.get(j), "pub") {
                j += 1;
                if is_punct(tokens.get(j), '(') {
                    j = skip_item_brackets(tokens, j);
                }
            }
            if is_ident(tokens.get(j), "mod") && is_punct(tokens.get(j + 2), ';') {
                if let Some(Token::Ident(name)) = tokens.get(j + 1) {
                    test_children.insert(name.clone());
                }
            }
            i = skip_item(tokens, j);
        } else {
            kept.push(tokens[i].clone());
            i += 1;
        }
    }
    kept
}

/// The index just past the bracketed group opening at `i`.
fn skip_item_brackets(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0;
    while let Some(token) = tokens.get(i) {
        i += 1;
        match token {
            Token::Punct('(') | Token::Punct('[') | Token::Punct('{') => depth += 1,
            Token::Punct(')') | Token::Punct(']') | Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    i
}

/// Reads the path tree starting at `i` (`a::b::{c, d::e}`), appending each full path to `out`
/// with `prefix` in front. Returns the index just past it.
fn path_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(i) {
            Some(Token::Ident(word)) => {
                if word != "self" || path.is_empty() {
                    path.push(word.clone());
                }
                i += 1;
            }
            Some(Token::Punct('{')) => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        Some(Token::Punct('}')) => return i + 1,
                        Some(Token::Punct(',')) => i += 1,
                        None => return i,
                        _ => {
                            let next = path_tree(tokens, i, &path, out);
                            // A rename (`x as y`) or anything else: skip to the next item.
                            i = next;
                            while !matches!(
                                tokens.get(i),
                                Some(Token::Punct(',')) | Some(Token::Punct('}')) | None
                            ) {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => {
                out.push(path);
                return i;
            }
        }
        if tokens.get(i) == Some(&Token::PathSep) {
            i += 1;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The module `super` names from a file whose module is `module`.
fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

fn facts(module: &[String], text: &str) -> FileFacts {
    let mut facts = FileFacts::default();
    let tokens = without_tests(&tokenize(text), &mut facts.test_children);
    let children: BTreeSet<String> = tokens
        .windows(3)
        .filter_map(|w| match w {
            [Token::Ident(m), Token::Ident(name), Token::Punct(';')] if m == "mod" => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect();
    let mut i = 0;
    while i < tokens.len() {
        let previous = i.checked_sub(1).and_then(|p| tokens.get(p));
        let starts_path = previous != Some(&Token::PathSep);
        // `pub use …;` (and `pub(crate) use …;`): remember what each name re-exports.
        if is_ident(tokens.get(i), "pub") {
            let mut j = i + 1;
            if is_punct(tokens.get(j), '(') {
                j = skip_item_brackets(&tokens, j);
            }
            if is_ident(tokens.get(j), "use") {
                let mut paths = Vec::new();
                path_tree(&tokens, j + 1, &[], &mut paths);
                for path in paths {
                    if let Some(absolute) = absolute(module, &children, &path) {
                        if let Some(name) = absolute.last() {
                            facts.reexports.insert(name.clone(), absolute.clone());
                        }
                        facts.paths.push(absolute);
                    }
                }
                i = skip_item(&tokens, j);
                continue;
            }
        }
        let anchored =
            matches!(tokens.get(i), Some(Token::Ident(w)) if w == "crate" || w == "super");
        if !anchored || !starts_path || tokens.get(i + 1) != Some(&Token::PathSep) {
            i += 1;
            continue;
        }
        let mut paths = Vec::new();
        i = path_tree(&tokens, i, &[], &mut paths);
        for path in paths {
            if let Some(absolute) = absolute(module, &children, &path) {
                facts.paths.push(absolute);
            }
        }
    }
    facts
}

/// `path` as written in `module`, from the crate root; `None` for other crates' paths.
fn absolute(module: &[String], children: &BTreeSet<String>, path: &[String]) -> Option<Module> {
    let mut base: Vec<String>;
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &rest[1..];
        }
        Some("super") => {
            base = module.to_vec();
            while rest.first().map(String::as_str) == Some("super") {
                base = parent(&base);
                rest = &rest[1..];
            }
        }
        Some("self") => {
            base = module.to_vec();
            rest = &rest[1..];
        }
        Some(first) if children.contains(first) => base = module.to_vec(),
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

struct Graph {
    /// module → module it refers to → one path that does.
    edges: BTreeMap<Module, BTreeMap<Module, String>>,
}

fn build_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut all: BTreeMap<Module, FileFacts> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        all.insert(module.clone(), facts(&module, &text));
    }
    // Files declared only under #[cfg(test)], and everything below them, are test code.
    let test_modules: BTreeSet<Module> = all
        .iter()
        .flat_map(|(module, f)| {
            f.test_children.iter().map(move |child| {
                let mut m = module.clone();
                m.push(child.clone());
                m
            })
        })
        .collect();
    all.retain(|module, _| !test_modules.iter().any(|t| module.starts_with(t)));

    let mut edges: BTreeMap<Module, BTreeMap<Module, String>> = BTreeMap::new();
    for (module, f) in &all {
        let entry = edges.entry(module.clone()).or_default();
        for path in &f.paths {
            let target = resolve(&all, path, 0);
            if &target != module && !target.is_empty() {
                entry.entry(target).or_insert_with(|| path.join("::"));
            }
        }
    }
    Graph { edges }
}

/// The module file that defines what `path` names, following re-exports.
fn resolve(all: &BTreeMap<Module, FileFacts>, path: &[String], depth: usize) -> Module {
    let mut len = path.len();
    while len > 0 && !all.contains_key(&path[..len]) {
        len -= 1;
    }
    let module = path[..len].to_vec();
    if depth < 8 {
        if let (Some(name), Some(f)) = (path.get(len), all.get(&module)) {
            if let Some(target) = f.reexports.get(name) {
                let mut next = target.clone();
                next.extend(path[len + 1..].iter().cloned());
                if next != path {
                    return resolve(all, &next, depth + 1);
                }
            }
        }
    }
    module
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Every elementary cycle, each once, starting from its smallest module.
fn cycles(graph: &Graph) -> Vec<Vec<Module>> {
    let mut found = Vec::new();
    for start in graph.edges.keys() {
        let mut stack = vec![start.clone()];
        walk(graph, start, &mut stack, &mut found);
    }
    found
}

fn walk(graph: &Graph, start: &Module, stack: &mut Vec<Module>, found: &mut Vec<Vec<Module>>) {
    let Some(current) = stack.last().cloned() else {
        return;
    };
    for next in graph.edges.get(&current).into_iter().flat_map(|e| e.keys()) {
        if next == start {
            found.push(stack.clone());
        } else if next > start && !stack.contains(next) && found.len() < 1000 {
            stack.push(next.clone());
            walk(graph, start, stack, found);
            stack.pop();
        }
    }
}

/// Every module `from` reaches through one or more edges.
fn reachable(graph: &Graph, from: &Module) -> BTreeSet<Module> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.clone()];
    while let Some(module) = todo.pop() {
        for next in graph.edges.get(&module).into_iter().flat_map(|e| e.keys()) {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// The groups of modules that import each other around a circle (strongly connected).
fn tangles(graph: &Graph) -> Vec<BTreeSet<Module>> {
    let reach: BTreeMap<&Module, BTreeSet<Module>> = graph
        .edges
        .keys()
        .map(|m| (m, reachable(graph, m)))
        .collect();
    let mut groups: Vec<BTreeSet<Module>> = Vec::new();
    for (module, reached) in &reach {
        if !reached.contains(*module) || groups.iter().any(|g| g.contains(*module)) {
            continue;
        }
        let group = reached
            .iter()
            .filter(|other| reach.get(other).is_some_and(|r| r.contains(*module)))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

fn report(graph: &Graph, cycles: &[Vec<Module>]) -> String {
    let mut out = String::new();
    writeln!(out, "module graph (file level, non-test code):").unwrap();
    for (module, targets) in &graph.edges {
        let list: Vec<String> = targets.keys().map(|t| name(t)).collect();
        writeln!(out, "  {} -> {}", name(module), list.join(", ")).unwrap();
    }
    let groups = tangles(graph);
    writeln!(out, "modules in a cycle: {} groups", groups.len()).unwrap();
    for group in &groups {
        let members: Vec<String> = group.iter().map(|m| name(m)).collect();
        writeln!(out, "  {{{}}}, by:", members.join(", ")).unwrap();
        for module in group {
            for (target, via) in &graph.edges[module] {
                if group.contains(target) {
                    writeln!(out, "    {} -> {} ({via})", name(module), name(target)).unwrap();
                }
            }
        }
    }
    writeln!(out, "import cycles: {}", cycles.len()).unwrap();
    for cycle in cycles {
        writeln!(out, "  {}", cycle_line(cycle)).unwrap();
    }
    out
}

fn cycle_line(cycle: &[Module]) -> String {
    let mut line: Vec<String> = cycle.iter().map(|m| name(m)).collect();
    line.push(name(&cycle[0]));
    line.join(" -> ")
}

#[test]
fn no_import_cycles_between_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = build_graph(&src);
    let cycles = cycles(&graph);
    let report = report(&graph, &cycles);
    println!("{report}");
    let found: Vec<String> = cycles.iter().map(|c| cycle_line(c)).collect();
    assert!(
        found.is_empty(),
        "import cycles between modules: {found:#?}\n{report}"
    );
}

/// The router and the listener sit at the top: no module of the library imports them.
#[test]
fn nothing_imports_startup() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = build_graph(&src);
    let startup: Module = vec!["startup".to_owned()];
    let importers: Vec<String> = graph
        .edges
        .iter()
        .filter(|(_, targets)| targets.contains_key(&startup))
        .map(|(module, _)| name(module))
        .collect();
    assert!(
        importers.is_empty(),
        "modules importing startup: {importers:?}"
    );
}

#[test]
fn the_check_sees_crate_super_and_reexported_paths() {
    let module: Module = vec!["proxy".into(), "upgrade".into()];
    let text = "use super::client::ProxyError;\n\
                // use crate::startup::AppState;\n\
                const S: &str = \"crate::gate::x\";\n\
                fn f() { crate::flow::redirect(\"/\"); let c = 'x'; }\n\
                #[cfg(test)]\nmod tests { use crate::server::Admission; }\n\
                #[cfg(test)]\nmod more_tests;\n\
                pub use crate::{a::{B, c::D as E}, f};\n";
    let f = facts(&module, text);
    let paths: Vec<String> = f.paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "proxy::client::ProxyError",
            "flow::redirect",
            "a::B",
            "a::c::D",
            "f"
        ]
    );
    assert!(f.test_children.contains("more_tests"));
    assert_eq!(f.reexports["B"], ["a", "B"]);
}
