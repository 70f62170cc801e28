//! Every Markdown file a library holds, for the lookups that go beyond an
//! exact path: a reference whose file moved, a panel member named without a
//! link. The walk is bounded (depth and count), so a library that is a huge
//! repository costs a bounded amount, and hidden folders (`.git`) are
//! skipped.

use std::path::{Path, PathBuf};

use super::{Library, Origin, BUILTIN_PERSONAS, BUILTIN_PROMPTS, BUILTIN_WORKFLOWS};

/// Folders deeper than this below a root are not searched.
const MAX_DEPTH: usize = 8;
/// At most this many files are listed per root; the rest are ignored.
const MAX_FILES: usize = 20_000;

/// One Markdown file of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// Library-relative path with `/` separators, e.g. `personas/qa/tester.md`.
    pub rel: String,
    pub origin: Origin,
}

impl IndexedFile {
    /// The file name, e.g. `tester.md`.
    pub fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

impl Library {
    /// The Markdown files under `top` (e.g. `personas`) in every root, then
    /// the built-in copies; a relative path listed by an earlier root hides
    /// the same path in later ones, as [`Library::resolve`] would.
    pub fn markdown_files(&self, top: &str) -> Vec<IndexedFile> {
        let mut out: Vec<IndexedFile> = Vec::new();
        for root in self.roots() {
            let mut found = Vec::new();
            walk(&root.join(top), top, 0, &mut found);
            found.sort();
            for (rel, path) in found {
                if !out.iter().any(|f| f.rel == rel) {
                    out.push(IndexedFile {
                        rel,
                        origin: Origin::File(path),
                    });
                }
            }
        }
        let builtin = match top {
            "personas" => Some(&BUILTIN_PERSONAS),
            "prompts" => Some(&BUILTIN_PROMPTS),
            "workflows" => Some(&BUILTIN_WORKFLOWS),
            _ => None,
        };
        if let Some(dir) = builtin {
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                for file in d.files() {
                    if file.path().extension().is_some_and(|e| e == "md") {
                        let rel = format!("{top}/{}", file.path().to_string_lossy());
                        if !out.iter().any(|f| f.rel == rel) {
                            out.push(IndexedFile {
                                origin: Origin::Builtin(rel.clone()),
                                rel,
                            });
                        }
                    }
                }
                stack.extend(d.dirs());
            }
        }
        out
    }
}

fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FILES {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if out.len() >= MAX_FILES {
            return;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let child = format!("{rel}/{name}");
        // `metadata` follows symlinks: a linked persona folder is searched
        // like any other.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, &child, depth + 1, out),
            Ok(m) if m.is_file() && name.ends_with(".md") => out.push((child, path)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_listed_by_root_then_builtin_and_hidden_folders_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("personas/qa")).unwrap();
        std::fs::create_dir_all(root.join("personas/.git")).unwrap();
        std::fs::write(root.join("personas/qa/tester.md"), "# Tester\n").unwrap();
        std::fs::write(root.join("personas/.git/x.md"), "no").unwrap();
        std::fs::write(root.join("personas/notes.txt"), "no").unwrap();
        let library = Library::new(root.to_path_buf());
        let files = library.markdown_files("personas");
        assert_eq!(files[0].rel, "personas/qa/tester.md");
        assert_eq!(files[0].file_name(), "tester.md");
        assert!(matches!(files[0].origin, Origin::File(_)));
        assert!(!files.iter().any(|f| f.rel.contains(".git")));
        assert!(!files.iter().any(|f| f.rel.ends_with(".txt")));
        // The built-in personas follow the root's own.
        assert!(files.iter().any(|f| matches!(f.origin, Origin::Builtin(_))));
    }
}
