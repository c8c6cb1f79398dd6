//! The crate's own import graph, file by file, read from its sources: every `use` tree (groups,
//! nesting, `self`, `super`, child modules) and every inline `crate::` / `super::` path, each
//! resolved to the file that defines its target, through the `pub use` re-exports of `mod.rs`
//! files. Code after `#[cfg(test)]` and comments are left out: tests may import anything.
//!
//! Written by hand rather than with `syn`: the crate's sources use a small part of the grammar
//! (paths and use trees), and a parser crate here would be one more dev-dependency for CI to
//! build for one test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path from the crate root (`["data", "pairs"]`); the root is empty.
pub type ModulePath = Vec<String>;

/// One source file of the library.
pub struct SourceFile {
    /// Its path under `src/`, with `/` separators (`data/pairs.rs`).
    pub name: String,
    /// The module it defines.
    pub module: ModulePath,
    /// Its code up to its unit tests, comments removed.
    pub code: String,
}

/// The library's files (the binary's `main.rs` and `cli/` are another crate) under `src`.
pub fn library_sources(src: &Path) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    paths
        .into_iter()
        .filter_map(|path| {
            let name = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if name == "main.rs" || name.starts_with("cli/") {
                return None;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            Some(source_file(&name, &text))
        })
        .collect()
}

/// A file from its name under `src/` and its text.
pub fn source_file(name: &str, text: &str) -> SourceFile {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    SourceFile {
        name: name.to_string(),
        module: module_of(name),
        code: strip_comments(code),
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

fn module_of(name: &str) -> ModulePath {
    let stem = name.trim_end_matches(".rs");
    let mut parts: ModulePath = stem.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments and with every string and character literal emptied, so neither
/// a word in a message nor a path in a doc comment reads as an import.
fn strip_comments(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    let starts = |i: usize, text: &str| {
        text.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if starts(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if starts(i, "/*") {
            i += 2;
            while i < chars.len() && !starts(i, "*/") {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && !after_ident && matches!(chars.get(i + 1), Some('"' | '#')) {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            i += 2 + hashes;
            while i < chars.len() && !starts(i, &closing) {
                i += 1;
            }
            i += closing.chars().count();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && chars.get(i + 1) == Some(&'\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every import of every file, resolved: file name → the file names it imports.
pub struct ImportGraph {
    /// Edges by importing file; a file's imports of itself are left out.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

impl ImportGraph {
    /// Reads the imports of `files` and resolves them among the same files.
    pub fn of(files: &[SourceFile]) -> Self {
        let modules: BTreeMap<ModulePath, String> = files
            .iter()
            .map(|file| (file.module.clone(), file.name.clone()))
            .collect();
        let mut reexports = BTreeMap::new();
        for file in files {
            let mut names = BTreeMap::new();
            for (path, alias) in use_paths(file, &modules, true) {
                if let Some(name) = alias.or_else(|| path.last().cloned()) {
                    names.insert(name, path);
                }
            }
            reexports.insert(file.module.clone(), names);
        }
        let resolver = Resolver {
            modules: &modules,
            reexports: &reexports,
        };
        let mut edges = BTreeMap::new();
        for file in files {
            let mut targets = BTreeSet::new();
            let mut paths: Vec<ModulePath> = use_paths(file, &modules, false)
                .into_iter()
                .map(|(path, _)| path)
                .collect();
            paths.extend(inline_paths(file, &modules));
            for path in paths {
                if let Some(target) = resolver.file_of(&path, 0)
                    && target != file.name
                {
                    targets.insert(target);
                }
            }
            edges.insert(file.name.clone(), targets);
        }
        Self { edges }
    }

    /// The files `from` reaches through one or more imports.
    pub fn reachable(&self, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(file) = stack.pop() {
            for next in self.edges.get(&file).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    }

    /// One import cycle (its files in order, the first repeated at the end), if there is any.
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        fn visit(
            graph: &ImportGraph,
            file: &str,
            marks: &mut BTreeMap<String, Mark>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            marks.insert(file.to_string(), Mark::Open);
            path.push(file.to_string());
            for next in graph.edges.get(file).into_iter().flatten() {
                match marks.get(next) {
                    Some(Mark::Open) => {
                        let start = path.iter().position(|f| f == next).unwrap();
                        let mut cycle = path[start..].to_vec();
                        cycle.push(next.clone());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        if let Some(cycle) = visit(graph, next, marks, path) {
                            return Some(cycle);
                        }
                    }
                }
            }
            path.pop();
            marks.insert(file.to_string(), Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for file in self.edges.keys() {
            if !marks.contains_key(file)
                && let Some(cycle) = visit(self, file, &mut marks, &mut Vec::new())
            {
                return Some(cycle);
            }
        }
        None
    }
}

struct Resolver<'a> {
    modules: &'a BTreeMap<ModulePath, String>,
    reexports: &'a BTreeMap<ModulePath, BTreeMap<String, ModulePath>>,
}

impl Resolver<'_> {
    /// The file that defines what `path` (absolute) names: its longest module prefix, followed
    /// through that module's re-exports.
    fn file_of(&self, path: &[String], depth: usize) -> Option<String> {
        let mut module: ModulePath = Vec::new();
        for (i, segment) in path.iter().enumerate() {
            let mut longer = module.clone();
            longer.push(segment.clone());
            if self.modules.contains_key(&longer) {
                module = longer;
                continue;
            }
            if depth < 8
                && let Some(target) = self.reexports.get(&module).and_then(|m| m.get(segment))
            {
                let mut full = target.clone();
                full.extend(path[i + 1..].iter().cloned());
                return self.file_of(&full, depth + 1);
            }
            break;
        }
        self.modules.get(&module).cloned()
    }
}

/// The paths of `file`'s `use` declarations (only `pub use` ones with `exported_only`), made
/// absolute, each with its `as` alias. External crates' paths are left out.
fn use_paths(
    file: &SourceFile,
    modules: &BTreeMap<ModulePath, String>,
    exported_only: bool,
) -> Vec<(ModulePath, Option<String>)> {
    let code = &file.code;
    let inline = inline_module_spans(code);
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(found) = find_word(code, "use", search) {
        search = found + 3;
        let Some(end) = code[search..].find(';') else {
            break;
        };
        let tree = &code[search..search + end];
        let before = code[..found].trim_end();
        let exported = before.ends_with("pub")
            || before.ends_with(')')
                && before
                    .rfind("pub(")
                    .is_some_and(|start| !before[start..].contains('\n'));
        if exported_only && !exported {
            continue;
        }
        let inside_inline = inline.iter().any(|&(a, b)| a <= found && found < b);
        for (relative, alias) in expand_tree(tree) {
            if let Some(path) = absolute(file, &relative, inside_inline, modules) {
                out.push((path, alias));
            }
        }
    }
    out
}

/// `crate::…` and `super::…` paths written in code outside `use` declarations.
fn inline_paths(file: &SourceFile, modules: &BTreeMap<ModulePath, String>) -> Vec<ModulePath> {
    let code = without_use_declarations(&file.code);
    let inline = inline_module_spans(&code);
    let mut out = Vec::new();
    for root in ["crate", "super"] {
        let mut search = 0;
        while let Some(found) = find_word(&code, root, search) {
            search = found + root.len();
            if !code[search..].starts_with("::") {
                continue;
            }
            let segments = path_segments(&code[found..]);
            let inside_inline = inline.iter().any(|&(a, b)| a <= found && found < b);
            if let Some(path) = absolute(file, &segments, inside_inline, modules) {
                out.push(path);
            }
        }
    }
    out
}

fn without_use_declarations(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(found) = find_word(rest, "use", 0) {
        out.push_str(&rest[..found]);
        rest = rest[found..]
            .find(';')
            .map_or("", |end| &rest[found + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// `a::b::c` at the start of `text`, as segments.
fn path_segments(text: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        segments.push(ident);
        match rest.strip_prefix("::") {
            Some(after) => rest = after,
            None => break,
        }
    }
    segments
}

/// Every path of a use tree (`a::{b, c::{self, d as e}}`), relative as written, with aliases.
pub fn expand_tree(tree: &str) -> Vec<(Vec<String>, Option<String>)> {
    let compact: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand_into(compact.trim(), &[], &mut out);
    out
}

fn expand_into(tree: &str, prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
    let tree = tree.trim().trim_start_matches("::");
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let mut base = prefix.to_vec();
        base.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        let close = tree.rfind('}').unwrap_or(tree.len());
        for item in split_top_level(&tree[open + 1..close]) {
            expand_into(item, &base, out);
        }
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((path, alias)) => (path.trim(), Some(alias.trim().to_string())),
        None => (tree, None),
    };
    let mut full = prefix.to_vec();
    for segment in path.split("::").map(str::trim) {
        if segment == "self" && !full.is_empty() {
            continue;
        }
        if segment == "*" {
            return;
        }
        full.push(segment.to_string());
    }
    out.push((full, alias));
}

fn split_top_level(list: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items
}

/// A relative path made absolute from `file`'s module; `None` for another crate's path.
fn absolute(
    file: &SourceFile,
    relative: &[String],
    inside_inline_module: bool,
    modules: &BTreeMap<ModulePath, String>,
) -> Option<ModulePath> {
    let (first, rest) = relative.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        // Inside an inline `mod x { … }`, `super` is the file's own module.
        "super" if inside_inline_module => file.module.clone(),
        "super" => file.module[..file.module.len().saturating_sub(1)].to_vec(),
        "self" => file.module.clone(),
        child => {
            let mut child_path = file.module.clone();
            child_path.push(child.to_string());
            if !modules.contains_key(&child_path) {
                return None;
            }
            child_path
        }
    };
    let mut rest = rest;
    while let Some((next, after)) = rest.split_first() {
        if next != "super" {
            break;
        }
        base.pop();
        rest = after;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The byte spans of inline `mod name { … }` blocks.
fn inline_module_spans(code: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut search = 0;
    while let Some(found) = find_word(code, "mod", search) {
        search = found + 3;
        let after = &code[search..];
        let name_len = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .count();
        let skipped = after.len() - after.trim_start().len();
        let rest = after[skipped + name_len..].trim_start();
        if name_len == 0 || !rest.starts_with('{') {
            continue;
        }
        let open = code.len() - rest.len();
        let mut depth = 0;
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        spans.push((found, open + i));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    spans
}

/// The next `word` at or after `from` that stands alone (not part of a longer identifier).
fn find_word(code: &str, word: &str, from: usize) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut search = from;
    while let Some(offset) = code[search..].find(word) {
        let at = search + offset;
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        let is_ident = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !is_ident(before) && !is_ident(after) {
            return Some(at);
        }
        search = at + word.len();
    }
    None
}
