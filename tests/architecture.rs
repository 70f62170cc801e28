//! The architecture as rules read off the source: which module may use
//! which, where `anyhow` may appear, and how big a file may grow. A change
//! that breaks a rule fails here, naming the file and the line, instead of
//! being found by a reader months later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines of code before a file's `#[cfg(test)]` that a source file may hold.
const MAX_CODE_LINES: usize = 600;

/// One source file: its top-level module, path and its code, line by line,
/// without its tests.
struct Source {
    module: String,
    path: PathBuf,
    code: Vec<String>,
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    files.sort();
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable source");
            (path, text)
        })
        .collect();
    let test_files = test_only_files(&texts);
    texts
        .into_iter()
        .filter(|(path, _)| !test_files.iter().any(|t| path.starts_with(t)))
        .map(|(path, text)| {
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = Path::new(first.as_os_str())
                .file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            Source {
                module,
                code: code_lines(&text),
                path,
            }
        })
        .collect()
}

/// A file's lines without its tests: a `#[cfg(test)] mod x;` declaration
/// is left out, and a `#[cfg(test)]` inline module ends the code (tests
/// come last in this crate's files).
fn code_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("#[cfg(test)]") {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            if next.starts_with("mod ") && next.ends_with(';') {
                i += 2;
                continue;
            }
            break;
        }
        out.push(lines[i].to_string());
        i += 1;
    }
    out
}

/// Files and folders that are test modules, declared as `#[cfg(test)] mod
/// x;` by their parent (`engine/tests.rs`, `artifact_schema/tests/`).
fn test_only_files(texts: &[(PathBuf, String)]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for (path, text) in texts {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let dir = match name {
            "mod.rs" | "lib.rs" | "main.rs" => path.parent().map(Path::to_path_buf),
            _ => Some(path.with_extension("")),
        };
        let Some(dir) = dir else { continue };
        let lines: Vec<&str> = text.lines().collect();
        for w in lines.windows(2) {
            if w[0].trim_start().starts_with("#[cfg(test)]") {
                let next = w[1].trim();
                if let Some(m) = next.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
                    // The file, or the whole folder of a test module
                    // with submodules of its own.
                    out.insert(dir.join(format!("{m}.rs")));
                    out.insert(dir.join(m));
                }
            }
        }
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether a line is a comment, where module names may appear freely.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with("//")
}

/// The top-level modules a line refers to through `crate::NAME`.
fn crate_refs(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(i, _)| !line[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(i, m)| {
            line[i + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// Top-level module → the modules its code uses, with one place each.
fn graph(sources: &[Source]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in sources {
        for (i, line) in s.code.iter().enumerate() {
            if is_comment(line) {
                continue;
            }
            for target in crate_refs(line) {
                if target != s.module {
                    edges
                        .entry(s.module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert_with(|| format!("{}:{}", s.path.display(), i + 1));
                }
            }
        }
    }
    edges
}

#[test]
fn modules_form_no_cycle() {
    let edges = graph(&sources());
    // Depth-first search that reports the first cycle it finds as a path.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            let places: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} → {} at {}", w[0], w[1], edges[&w[0]][&w[1]]))
                .collect();
            panic!("module cycle:\n{}", places.join("\n"));
        }
    }
}

#[test]
fn the_layers_use_only_what_they_may() {
    let edges = graph(&sources());
    let forbidden: &[(&str, &[&str])] = &[
        ("llm", &["engine", "cli", "terminal"]),
        ("engine", &["cli", "terminal", "doctor"]),
        ("terminal", &["cli"]),
        ("store", &["engine", "cli", "terminal", "llm"]),
        (
            "markdown",
            &["workflow", "library", "artifact_schema", "engine", "cli"],
        ),
        (
            "workflow",
            &["library", "artifact_schema", "engine", "cli", "llm"],
        ),
        (
            "artifact_schema",
            &["engine", "cli", "llm", "store", "library"],
        ),
        ("evidence", &["engine", "cli", "terminal", "llm", "store"]),
    ];
    let mut broken = Vec::new();
    for (module, never) in forbidden {
        for target in *never {
            if let Some(at) = edges.get(*module).and_then(|m| m.get(*target)) {
                broken.push(format!("{module} uses {target} at {at}"));
            }
        }
    }
    for (module, targets) in &edges {
        if module != "main" {
            if let Some(at) = targets.get("cli") {
                broken.push(format!("{module} uses cli at {at}; nothing may import cli"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_engine_knows_the_model_only_through_the_trait() {
    // The engine may name the trait and its request and answer types,
    // re-exported at `crate::llm`, never the client, the servers or the
    // connection choice.
    let mut broken = Vec::new();
    for s in sources().iter().filter(|s| s.module == "engine") {
        for (i, line) in s.code.iter().enumerate() {
            if is_comment(line) {
                continue;
            }
            for deep in [
                "llm::openai",
                "llm::server",
                "llm::connect",
                "OpenAiCompatible",
            ] {
                if line.contains(deep) {
                    broken.push(format!("{}:{}: {}", s.path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn anyhow_lives_only_in_the_cli() {
    let mut broken = Vec::new();
    for s in sources().iter().filter(|s| s.module != "cli") {
        for (i, line) in s.code.iter().enumerate() {
            if !is_comment(line) && line.contains("anyhow") {
                broken.push(format!("{}:{}: {}", s.path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn no_source_file_outgrows_its_room() {
    let big: Vec<String> = sources()
        .iter()
        .filter(|s| s.code.len() > MAX_CODE_LINES)
        .map(|s| {
            format!(
                "{} has {} lines before its tests",
                s.path.display(),
                s.code.len()
            )
        })
        .collect();
    assert!(
        big.is_empty(),
        "split these by what they own (at most {MAX_CODE_LINES}):\n{}",
        big.join("\n")
    );
}

#[test]
fn the_rules_see_what_they_check() {
    // The checks above read real edges: the engine uses the store, and the
    // CLI uses the engine. If the reader broke, these would vanish and every
    // rule would pass on nothing.
    let edges = graph(&sources());
    assert!(edges["engine"].contains_key("store"), "{edges:?}");
    assert!(edges["cli"].contains_key("engine"), "{edges:?}");
    assert_eq!(
        crate_refs("use crate::llm::{ModelClient}; x(crate::store::a)"),
        ["llm", "store"]
    );
    assert!(crate_refs("use migagent_crate::llm").is_empty());
    let code = code_lines("a\n#[cfg(test)]\nmod tests;\nb\n#[cfg(test)]\nmod tests {\nc\n}\n");
    assert_eq!(code, ["a", "b"]);
    assert!(sources().iter().all(|s| {
        !s.path.ends_with("engine/tests.rs")
            && !s.path.to_string_lossy().contains("artifact_schema/tests/")
    }));
}
