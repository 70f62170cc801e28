//! The persona, prompt, panel and workflow library, and where its files come
//! from.
//!
//! A library is an ordered list of folders, its roots ([`roots`] says which
//! and why), then the copies built into the binary. A reference such as
//! `personas/operations/sre.md` resolves, in this order:
//!
//! 1. the exact path in a root, the first root that has it;
//! 2. a file of the same name elsewhere under the same top folder
//!    (`personas/`) of the roots, when there is exactly one: libraries get
//!    reorganised (`personas/specialist/x.md` becomes
//!    `personas/special_purpose/x.md`), and the reader is warned with both
//!    paths. Several such files are an error listing them;
//! 3. the exact path among the built-in copies;
//! 4. otherwise an error naming where it looked and the nearest names.
//!
//! A moved file in the team's own library comes before a built-in copy of
//! the old path: the team's file is the one its author meant, and the
//! built-in copies were written for the built-in workflow.

pub mod guidance;
pub mod index;
pub mod links;
pub mod members;
pub mod panel;
pub mod references;
mod resolve;
pub mod roots;
pub mod validate;

pub use guidance::guidance_for;
pub use index::IndexedFile;
pub use links::{persona_links, LinkedFile};
pub use members::{read_panel, resolve_persona, Moderator, ModeratorChoice, DEFAULT_MODERATOR};
pub use panel::{parse_panel, Audience, Panel, PanelEntry, PanelFile, PanelMember};
pub use roots::{LibraryBuilder, RootKind};

use std::fmt;
use std::path::{Component, Path, PathBuf};

use include_dir::{include_dir, Dir};

static BUILTIN_PERSONAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/personas");
static BUILTIN_PROMPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");
static BUILTIN_WORKFLOWS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/workflows");

/// The default configuration, documented in the repository's `config.toml`.
pub const BUILTIN_CONFIG: &str = include_str!("../../config.toml");

/// The largest library file read; a library file is prose for a prompt, and
/// a bigger one is a mistake (a log, a dump) that must not be read whole.
pub const MAX_LIBRARY_FILE_BYTES: u64 = 1024 * 1024;

/// The folders, below each root, that hold workflows: `workflows/` as
/// migagent lays its own out, and `prompts/workflows/` as libraries of the
/// seed's family do. Searched in this order within each root.
pub const WORKFLOW_FOLDERS: [&str; 2] = ["workflows", "prompts/workflows"];

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("'{path}' was not found; looked in: {searched}{hint}")]
    NotFound {
        path: String,
        searched: String,
        /// "; did you mean ...?", or empty when nothing is near.
        hint: String,
    },
    #[error("'{path}' was not found, and the library has several files named '{name}': {candidates}; name the one you mean")]
    Ambiguous {
        path: String,
        name: String,
        candidates: String,
    },
    #[error("'{path}' is not a library-relative path (no absolute paths, no '..' above the root)")]
    BadPath { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than {limit} bytes; a library file is prose for a prompt")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error(transparent)]
    File(crate::files::FileError),
    #[error("{path} is not UTF-8 text (the first invalid byte is at offset {at}); a library file is prose for a prompt")]
    NotUtf8 { path: PathBuf, at: usize },
    #[error("no workflow named '{name}'; known workflows: {known}. Pass a path to a workflow file, or see `migagent workflows list`")]
    UnknownWorkflow { name: String, known: String },
    #[error("library folder {path} (from {kind}) does not exist or is not a folder")]
    NoLibraryFolder { path: PathBuf, kind: RootKind },
}

/// Where a library file came from, shown to users so they know which copy ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Builtin(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Builtin(p) => write!(f, "builtin:{p}"),
        }
    }
}

impl Origin {
    /// The path to name in diagnostics.
    pub fn as_path(&self) -> PathBuf {
        match self {
            Origin::File(p) => p.clone(),
            Origin::Builtin(p) => PathBuf::from(format!("builtin:{p}")),
        }
    }

    pub fn is_builtin(&self) -> bool {
        matches!(self, Origin::Builtin(_))
    }
}

#[derive(Debug, Clone)]
pub struct LibraryFile {
    /// The library-relative path of the file found: the path asked for,
    /// or where the file moved to.
    pub rel: String,
    pub origin: Origin,
    pub text: String,
    /// The path asked for, when the file was found elsewhere (a moved
    /// reference); see the module documentation.
    pub moved_from: Option<String>,
}

/// The ordered search path for library files.
#[derive(Debug, Clone)]
pub struct Library {
    roots: Vec<PathBuf>,
    kinds: Vec<RootKind>,
}

/// The user's config folder: `$MIGAGENT_CONFIG_DIR`, else the platform's
/// config folder plus `migagent`.
pub fn user_config_dir() -> Option<PathBuf> {
    match std::env::var_os("MIGAGENT_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::config_dir().map(|d| d.join("migagent")),
    }
}

/// Normalises `a/b/../c` to `a/c`, refusing absolute paths and escapes.
pub fn normalize_rel(path: &str) -> Result<String, LibraryError> {
    let mut parts: Vec<String> = Vec::new();
    for comp in Path::new(path).components() {
        match comp {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(LibraryError::BadPath { path: path.into() });
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(LibraryError::BadPath { path: path.into() })
            }
        }
    }
    if parts.is_empty() {
        return Err(LibraryError::BadPath { path: path.into() });
    }
    Ok(parts.join("/"))
}

/// The folder of a library-relative path (`personas/qa` for
/// `personas/qa/tester.md`), for links relative to a file.
pub fn rel_dir(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn builtin(rel: &str) -> Option<&'static str> {
    let (dir, rest) = rel.split_once('/')?;
    let tree = match dir {
        "personas" => &BUILTIN_PERSONAS,
        "prompts" => &BUILTIN_PROMPTS,
        "workflows" => &BUILTIN_WORKFLOWS,
        _ => return None,
    };
    tree.get_file(rest).and_then(|f| f.contents_utf8())
}

/// Reads a library file, at most [`MAX_LIBRARY_FILE_BYTES`] of it, and only
/// when it is a regular file: a FIFO or a device named as a workflow
/// (`workflows validate /dev/zero`) is refused before any read, never read
/// until memory runs out or waited on forever.
pub(crate) fn read_bounded(path: &Path) -> Result<String, LibraryError> {
    let bytes = crate::files::read_regular(
        path,
        MAX_LIBRARY_FILE_BYTES,
        "the 1 MiB bound of a library file, which is prose for a prompt",
    )
    .map_err(|e| match e {
        crate::files::FileError::TooLarge { path, .. } => LibraryError::TooLarge {
            path,
            limit: MAX_LIBRARY_FILE_BYTES,
        },
        other => LibraryError::File(other),
    })?;
    String::from_utf8(bytes).map_err(|e| LibraryError::NotUtf8 {
        path: path.to_path_buf(),
        at: e.utf8_error().valid_up_to(),
    })
}

/// The titles of the built-in workflows (`Migration`): a workflow by another
/// name that resolves a reference only through a built-in copy is told so.
pub fn builtin_workflow_titles() -> Vec<String> {
    BUILTIN_WORKFLOWS
        .files()
        .filter_map(|f| f.contents_utf8())
        .filter_map(|text| {
            crate::markdown::headings(text)
                .into_iter()
                .find(|h| h.level == 1)
        })
        .map(|h| {
            let t = h.text.trim();
            t.strip_prefix("Workflow:").unwrap_or(t).trim().to_string()
        })
        .collect()
}

impl Library {
    /// The search path for a workflow whose library root is `root`: that
    /// folder, then the user's config folder. See [`LibraryBuilder`] for the
    /// full order.
    pub fn new(root: PathBuf) -> Library {
        LibraryBuilder::new(&root).build()
    }

    /// Exactly these roots, in this order (a run reopened with the roots it
    /// recorded).
    pub fn with_roots(roots: Vec<(PathBuf, RootKind)>) -> Library {
        let (roots, kinds) = roots.into_iter().unzip();
        Library { roots, kinds }
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Each root with why it is one, in order.
    pub fn described_roots(&self) -> impl Iterator<Item = (&Path, RootKind)> {
        self.roots
            .iter()
            .map(PathBuf::as_path)
            .zip(self.kinds.iter().copied())
    }

    /// The file at `rel` in the first root that has it.
    fn in_roots(&self, rel: &str) -> Result<Option<LibraryFile>, LibraryError> {
        for root in &self.roots {
            let candidate = root.join(rel);
            if candidate.is_file() {
                return Ok(Some(LibraryFile {
                    rel: rel.to_string(),
                    text: read_bounded(&candidate)?,
                    origin: Origin::File(candidate),
                    moved_from: None,
                }));
            }
        }
        Ok(None)
    }

    /// Reads a library file: exact path in a root, then a moved file in
    /// the roots, then the built-in copy (see the module documentation).
    pub fn resolve(&self, path: &str) -> Result<LibraryFile, LibraryError> {
        let rel = normalize_rel(path)?;
        if let Some(file) = self.in_roots(&rel)? {
            return Ok(file);
        }
        if let Some(file) = self.moved(path, &rel)? {
            return Ok(file);
        }
        if let Some(text) = builtin(&rel) {
            return Ok(LibraryFile {
                origin: Origin::Builtin(rel.clone()),
                rel,
                text: text.to_string(),
                moved_from: None,
            });
        }
        let mut searched: Vec<String> = self
            .roots
            .iter()
            .map(|r| r.join(&rel).display().to_string())
            .collect();
        searched.push(format!("builtin:{rel}"));
        Err(LibraryError::NotFound {
            path: path.to_string(),
            searched: searched.join(", "),
            hint: self.suggestion(&rel),
        })
    }

    /// Reads a file by its exact path only: a root, then the built-in copy.
    /// For migagent's own files (the assembly templates, the built-in
    /// moderator), which a library overrides at that path or not at all.
    pub fn resolve_exact(&self, path: &str) -> Result<LibraryFile, LibraryError> {
        let rel = normalize_rel(path)?;
        if let Some(file) = self.in_roots(&rel)? {
            return Ok(file);
        }
        match builtin(&rel) {
            Some(text) => Ok(LibraryFile {
                origin: Origin::Builtin(rel.clone()),
                rel,
                text: text.to_string(),
                moved_from: None,
            }),
            None => Err(LibraryError::NotFound {
                path: path.to_string(),
                searched: self
                    .roots
                    .iter()
                    .map(|r| r.join(&rel).display().to_string())
                    .chain([format!("builtin:{rel}")])
                    .collect::<Vec<_>>()
                    .join(", "),
                hint: String::new(),
            }),
        }
    }

    /// Every workflow name on the search path, first hit per name.
    pub fn workflows(&self) -> Vec<(String, Origin)> {
        let mut found: Vec<(String, Origin)> = Vec::new();
        let mut push = |name: String, origin: Origin| {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, origin));
            }
        };
        for root in &self.roots {
            for folder in WORKFLOW_FOLDERS {
                let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
                    continue;
                };
                let mut names: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "md") && p.is_file())
                    .collect();
                names.sort();
                for p in names {
                    if let Some(stem) = p.file_stem() {
                        push(stem.to_string_lossy().into_owned(), Origin::File(p.clone()));
                    }
                }
            }
        }
        for file in BUILTIN_WORKFLOWS.files() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "md") {
                if let Some(stem) = path.file_stem() {
                    push(
                        stem.to_string_lossy().into_owned(),
                        Origin::Builtin(format!("workflows/{}", path.display())),
                    );
                }
            }
        }
        found
    }

    /// A workflow by name (`bug-fix`: `workflows/bug-fix.md` or
    /// `prompts/workflows/bug-fix.md` in each root, then the built-in ones)
    /// or by path to a file.
    pub fn find_workflow(&self, name_or_path: &str) -> Result<LibraryFile, LibraryError> {
        let as_path = Path::new(name_or_path);
        let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".md");
        if looks_like_path || as_path.is_file() {
            return Ok(LibraryFile {
                rel: name_or_path.to_string(),
                text: read_bounded(as_path)?,
                origin: Origin::File(as_path.to_path_buf()),
                moved_from: None,
            });
        }
        // Within one root, `workflows/` comes before `prompts/workflows/`;
        // an earlier root comes before both folders of a later one.
        for root in &self.roots {
            for folder in WORKFLOW_FOLDERS {
                let candidate = root.join(folder).join(format!("{name_or_path}.md"));
                if candidate.is_file() {
                    return Ok(LibraryFile {
                        rel: format!("{folder}/{name_or_path}.md"),
                        text: read_bounded(&candidate)?,
                        origin: Origin::File(candidate),
                        moved_from: None,
                    });
                }
            }
        }
        let rel = format!("workflows/{name_or_path}.md");
        match normalize_rel(&rel).ok().and_then(|r| builtin(&r)) {
            Some(text) => Ok(LibraryFile {
                origin: Origin::Builtin(rel.clone()),
                rel,
                text: text.to_string(),
                moved_from: None,
            }),
            None => Err(LibraryError::UnknownWorkflow {
                name: name_or_path.to_string(),
                known: self
                    .workflows()
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// A library of one root in a temporary folder holding `files` (path,
/// text): the setup the library's unit tests share.
#[cfg(test)]
pub(crate) fn temp_library(files: &[(&str, &str)]) -> (tempfile::TempDir, Library) {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    let library = Library::with_roots(vec![(dir.path().to_path_buf(), RootKind::Cwd)]);
    (dir, library)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        assert_eq!(
            normalize_rel("personas/panels/../sre.md").unwrap(),
            "personas/sre.md"
        );
        assert!(normalize_rel("../x.md").is_err());
        assert!(normalize_rel("/etc/passwd").is_err());
    }

    #[test]
    fn named_workflows_are_found_in_both_folders_of_each_root() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (root, folder, name) in [
            (&a, "prompts/workflows", "bug-fix"),
            (&a, "workflows", "shared"),
            (&b, "prompts/workflows", "shared"),
            (&b, "workflows", "incident"),
        ] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            std::fs::write(
                root.join(folder).join(format!("{name}.md")),
                format!("# Workflow: {name} in {}\n", root.display()),
            )
            .unwrap();
        }
        let library = Library::with_roots(vec![
            (a.clone(), RootKind::Flag),
            (b.clone(), RootKind::Cwd),
        ]);
        let bug = library.find_workflow("bug-fix").unwrap();
        assert_eq!(
            bug.origin,
            Origin::File(a.join("prompts/workflows/bug-fix.md"))
        );
        assert_eq!(bug.rel, "prompts/workflows/bug-fix.md");
        // The earlier root wins, whichever of its folders holds the file.
        let shared = library.find_workflow("shared").unwrap();
        assert_eq!(shared.origin, Origin::File(a.join("workflows/shared.md")));
        assert!(library.find_workflow("incident").is_ok());
        assert!(library
            .find_workflow("migration")
            .unwrap()
            .origin
            .is_builtin());
        let names: Vec<String> = library.workflows().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["shared", "bug-fix", "incident", "migration"]);
        let err = library.find_workflow("nope").unwrap_err().to_string();
        assert!(err.contains("bug-fix, incident"), "{err}");
    }

    #[test]
    fn a_library_file_is_read_only_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("personas/big.md");
        std::fs::create_dir_all(big.parent().unwrap()).unwrap();
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_LIBRARY_FILE_BYTES + 10).unwrap();
        let library = Library::with_roots(vec![(dir.path().to_path_buf(), RootKind::Cwd)]);
        let err = library.resolve("personas/big.md").unwrap_err();
        assert!(matches!(err, LibraryError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn the_builtin_workflow_titles_are_known() {
        assert_eq!(builtin_workflow_titles(), ["Migration"]);
    }
}
