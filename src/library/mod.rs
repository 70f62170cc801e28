//! The persona, prompt, panel and workflow library, and where its files come
//! from.
//!
//! A reference such as `personas/operations/sre.md` resolves, in order,
//! against the workflow's own library root (the folder above `workflows/`,
//! else the current directory), the user's config folder, and the copies
//! built into the binary. The first hit wins, so a team overrides a persona by
//! dropping a file of the same path into its repository.

pub mod index;
pub mod panel;
pub mod validate;

pub use index::IndexedFile;
pub use panel::{parse_panel, Panel, PanelMember};

use std::fmt;
use std::path::{Component, Path, PathBuf};

use include_dir::{include_dir, Dir};

static BUILTIN_PERSONAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/personas");
static BUILTIN_PROMPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");
static BUILTIN_WORKFLOWS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/workflows");

/// The default configuration, documented in the repository's `config.toml`.
pub const BUILTIN_CONFIG: &str = include_str!("../../config.toml");

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("'{path}' was not found; looked in: {searched}")]
    NotFound { path: String, searched: String },
    #[error("'{path}' is not a library-relative path (no absolute paths, no '..' above the root)")]
    BadPath { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no workflow named '{name}'; known workflows: {known}. Pass a path to a workflow file, or see `migagent workflows list`")]
    UnknownWorkflow { name: String, known: String },
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
}

#[derive(Debug, Clone)]
pub struct LibraryFile {
    /// The library-relative path it was asked for by.
    pub rel: String,
    pub origin: Origin,
    pub text: String,
}

/// The ordered search path for library files.
#[derive(Debug, Clone)]
pub struct Library {
    roots: Vec<PathBuf>,
}

/// The user's config folder: `$MIGAGENT_CONFIG_DIR`, else the platform's
/// config folder plus `migagent`.
pub fn user_config_dir() -> Option<PathBuf> {
    match std::env::var_os("MIGAGENT_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::config_dir().map(|d| d.join("migagent")),
    }
}

/// The library root of a workflow file: the folder above `workflows/`, else
/// the current directory.
pub fn root_of_workflow(path: &Path, cwd: &Path) -> PathBuf {
    let parent = path.parent();
    match parent {
        Some(dir) if dir.file_name().is_some_and(|n| n == "workflows") => match dir.parent() {
            Some(root) if root.as_os_str().is_empty() => cwd.to_path_buf(),
            Some(root) => root.to_path_buf(),
            None => cwd.to_path_buf(),
        },
        _ => cwd.to_path_buf(),
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

impl Library {
    /// The search path for a workflow whose library root is `root`.
    pub fn new(root: PathBuf) -> Library {
        let mut roots = vec![root];
        if let Some(dir) = user_config_dir() {
            if !roots.contains(&dir) {
                roots.push(dir);
            }
        }
        Library { roots }
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Reads a library file, searching the roots and then the built-in copies.
    pub fn resolve(&self, path: &str) -> Result<LibraryFile, LibraryError> {
        let rel = normalize_rel(path)?;
        for root in &self.roots {
            let candidate = root.join(&rel);
            if candidate.is_file() {
                let text =
                    std::fs::read_to_string(&candidate).map_err(|source| LibraryError::Read {
                        path: candidate.clone(),
                        source,
                    })?;
                return Ok(LibraryFile {
                    rel,
                    origin: Origin::File(candidate),
                    text,
                });
            }
        }
        if let Some(text) = builtin(&rel) {
            return Ok(LibraryFile {
                origin: Origin::Builtin(rel.clone()),
                rel,
                text: text.to_string(),
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
        })
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
            let Ok(entries) = std::fs::read_dir(root.join("workflows")) else {
                continue;
            };
            let mut names: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect();
            names.sort();
            for p in names {
                if let Some(stem) = p.file_stem() {
                    push(stem.to_string_lossy().into_owned(), Origin::File(p.clone()));
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

    /// A workflow by name (`migration`) or by path to a file.
    pub fn find_workflow(&self, name_or_path: &str) -> Result<LibraryFile, LibraryError> {
        let as_path = Path::new(name_or_path);
        let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".md");
        if looks_like_path || as_path.is_file() {
            let text = std::fs::read_to_string(as_path).map_err(|source| LibraryError::Read {
                path: as_path.to_path_buf(),
                source,
            })?;
            return Ok(LibraryFile {
                rel: name_or_path.to_string(),
                origin: Origin::File(as_path.to_path_buf()),
                text,
            });
        }
        let rel = format!("workflows/{name_or_path}.md");
        self.resolve(&rel).map_err(|e| match e {
            LibraryError::NotFound { .. } | LibraryError::BadPath { .. } => {
                LibraryError::UnknownWorkflow {
                    name: name_or_path.to_string(),
                    known: self
                        .workflows()
                        .into_iter()
                        .map(|(n, _)| n)
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            }
            other => other,
        })
    }
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
    fn root_is_the_folder_above_workflows() {
        let cwd = Path::new("/cwd");
        assert_eq!(
            root_of_workflow(Path::new("/repo/workflows/m.md"), cwd),
            PathBuf::from("/repo")
        );
        assert_eq!(
            root_of_workflow(Path::new("/repo/seeds/m.md"), cwd),
            PathBuf::from("/cwd")
        );
        assert_eq!(
            root_of_workflow(Path::new("workflows/m.md"), cwd),
            PathBuf::from("/cwd")
        );
    }
}
