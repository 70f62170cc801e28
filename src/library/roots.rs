//! Where a library is: the ordered folders a workflow's references resolve
//! against, and why each is there.
//!
//! The roots, first hit wins:
//!
//! 1. the explicit roots: `--library DIR` (repeatable), else
//!    `MIGAGENT_LIBRARY` (a path list, `:`-separated on Unix), else
//!    `library = [...]` in the config. The first of these that is set
//!    replaces the others, as a flag replaces an environment variable and a
//!    config key everywhere else; relative paths are relative to the current
//!    directory (flag, variable) or to the config file's folder (config);
//! 2. the workflow's own library: the nearest folder above the workflow
//!    file that holds a `personas/` or `prompts/` folder, so a library with
//!    its workflows in `prompts/workflows/` is found from anywhere;
//! 3. the current directory;
//! 4. the user's config folder;
//! 5. the copies built into the binary (not a folder; see [`super::Library::resolve`]).
//!
//! A folder that appears twice keeps its first place. An explicit root that
//! is not a folder is an error, never skipped: a typo in `--library` must
//! not quietly run against another library.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use super::{user_config_dir, Library, LibraryError};

/// Why a folder is a library root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// `--library DIR`.
    Flag,
    /// `MIGAGENT_LIBRARY`.
    Env,
    /// `library = [...]` in the config.
    Config,
    /// The nearest folder above the workflow file holding `personas/` or
    /// `prompts/`.
    Workflow,
    /// The current directory.
    Cwd,
    /// The user's config folder.
    UserConfig,
    /// Recorded by a run when it started; a resumed run uses its roots.
    Recorded,
}

impl fmt::Display for RootKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RootKind::Flag => "--library",
            RootKind::Env => "MIGAGENT_LIBRARY",
            RootKind::Config => "config `library`",
            RootKind::Workflow => {
                "the workflow's library: the nearest folder above it with personas/ or prompts/"
            }
            RootKind::Cwd => "current directory",
            RootKind::UserConfig => "user config folder",
            RootKind::Recorded => "recorded when the run started",
        })
    }
}

/// The settings a library is built from, before the workflow is known:
/// pass it to [`super::validate::load`], which adds the workflow's own
/// library once it has found the file.
#[derive(Debug, Clone)]
pub struct LibraryBuilder {
    explicit: Vec<PathBuf>,
    explicit_kind: RootKind,
    workflow_root: Option<PathBuf>,
    cwd: PathBuf,
    user_config: Option<PathBuf>,
}

impl LibraryBuilder {
    /// A search from `cwd` with no explicit roots, and the user's config
    /// folder ([`user_config_dir`]).
    pub fn new(cwd: &Path) -> LibraryBuilder {
        LibraryBuilder {
            explicit: Vec::new(),
            explicit_kind: RootKind::Flag,
            workflow_root: None,
            cwd: cwd.to_path_buf(),
            user_config: user_config_dir(),
        }
    }

    /// The explicit roots from their three sources, the first that is set
    /// winning: `flag` (`--library`), `env` (the value of
    /// `MIGAGENT_LIBRARY`), `config` (already absolute: the config resolves
    /// its relative paths against its own folder). Each must be a folder.
    pub fn explicit(
        mut self,
        flag: &[PathBuf],
        env: Option<&OsStr>,
        config: &[PathBuf],
    ) -> Result<LibraryBuilder, LibraryError> {
        let from_env: Vec<PathBuf> = env
            .map(|v| std::env::split_paths(v).filter(|p| !p.as_os_str().is_empty()))
            .into_iter()
            .flatten()
            .collect();
        let (paths, kind) = if !flag.is_empty() {
            (flag.to_vec(), RootKind::Flag)
        } else if !from_env.is_empty() {
            (from_env, RootKind::Env)
        } else {
            (config.to_vec(), RootKind::Config)
        };
        let mut explicit = Vec::new();
        for path in paths {
            let path = self.cwd.join(path);
            if !path.is_dir() {
                return Err(LibraryError::NoLibraryFolder { path, kind });
            }
            explicit.push(canonical(&path));
        }
        self.explicit = explicit;
        self.explicit_kind = kind;
        Ok(self)
    }

    /// Uses `dir` as the user's config folder (or none).
    pub fn user_config(mut self, dir: Option<PathBuf>) -> LibraryBuilder {
        self.user_config = dir;
        self
    }

    /// Adds the library of the workflow file at `path`: the nearest folder
    /// above it holding `personas/` or `prompts/`, if any.
    pub fn workflow_file(mut self, path: &Path) -> LibraryBuilder {
        self.workflow_root = workflow_root(&self.cwd.join(path));
        self
    }

    /// The current directory the search started from.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The library: the roots in order, each folder once.
    pub fn build(&self) -> Library {
        let mut roots: Vec<(PathBuf, RootKind)> = Vec::new();
        let mut push = |path: PathBuf, kind: RootKind| {
            let path = canonical(&path);
            if !roots.iter().any(|(p, _)| *p == path) {
                roots.push((path, kind));
            }
        };
        for p in &self.explicit {
            push(p.clone(), self.explicit_kind);
        }
        if let Some(p) = &self.workflow_root {
            push(p.clone(), RootKind::Workflow);
        }
        push(self.cwd.clone(), RootKind::Cwd);
        if let Some(p) = &self.user_config {
            push(p.clone(), RootKind::UserConfig);
        }
        Library::with_roots(roots)
    }
}

impl From<&Path> for LibraryBuilder {
    /// A search from that folder with no explicit roots: what a test or an
    /// embedding program that has no flags means.
    fn from(cwd: &Path) -> LibraryBuilder {
        LibraryBuilder::new(cwd)
    }
}

impl From<&PathBuf> for LibraryBuilder {
    fn from(cwd: &PathBuf) -> LibraryBuilder {
        LibraryBuilder::new(cwd)
    }
}

/// The path with symlinks and `..` resolved when it exists, so one folder
/// named two ways is one root and a run records where its files really are;
/// as given otherwise.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The nearest folder above the workflow file at `path` (absolute) that
/// holds a `personas/` or `prompts/` folder. The walk ends at the file
/// system's root, so it is as long as the path is deep.
pub fn workflow_root(path: &Path) -> Option<PathBuf> {
    let path = canonical(path);
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join("personas").is_dir() || dir.join("prompts").is_dir())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkdir(path: &Path) {
        std::fs::create_dir_all(path).unwrap();
    }

    #[test]
    fn the_workflow_root_is_the_nearest_folder_with_personas_or_prompts() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        mkdir(&lib.join("personas/engineering"));
        mkdir(&lib.join("prompts/workflows"));
        let wf = lib.join("prompts/workflows/bug-fix.md");
        std::fs::write(&wf, "# Workflow: Bug Fix\n").unwrap();
        assert_eq!(workflow_root(&wf), Some(canonical(&lib)));
        // A workflow in the classic `workflows/` folder.
        mkdir(&lib.join("workflows"));
        assert_eq!(
            workflow_root(&lib.join("workflows/x.md")),
            Some(canonical(&lib))
        );
        // A nearer folder with prompts/ wins over the library above it.
        mkdir(&lib.join("team/prompts"));
        assert_eq!(
            workflow_root(&lib.join("team/w.md")),
            Some(canonical(&lib.join("team")))
        );
    }

    #[test]
    fn roots_come_in_order_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, cwd, user) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("cwd"),
            dir.path().join("user"),
        );
        for d in [&a, &b, &cwd, &user] {
            mkdir(d);
        }
        mkdir(&b.join("personas"));
        let library = LibraryBuilder::new(&cwd)
            .user_config(Some(user.clone()))
            .explicit(&[a.clone(), PathBuf::from("../b")], None, &[])
            .unwrap()
            .workflow_file(&b.join("workflows/w.md"))
            .build();
        let kinds: Vec<RootKind> = library.described_roots().map(|(_, k)| k).collect();
        // `b` is both explicit and the workflow's library: it keeps its first place.
        assert_eq!(
            kinds,
            [
                RootKind::Flag,
                RootKind::Flag,
                RootKind::Cwd,
                RootKind::UserConfig
            ]
        );
        assert_eq!(
            library.roots(),
            [a, b, cwd, user].map(|p| canonical(&p)).as_slice()
        );
    }

    #[test]
    fn the_flag_replaces_the_variable_which_replaces_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let (f, e1, e2, c) = (
            dir.path().join("f"),
            dir.path().join("e1"),
            dir.path().join("e2"),
            dir.path().join("c"),
        );
        for d in [&f, &e1, &e2, &c] {
            mkdir(d);
        }
        let env = std::env::join_paths([&e1, &e2]).unwrap();
        let roots = |flag: &[PathBuf], env: Option<&OsStr>| {
            LibraryBuilder::new(dir.path())
                .user_config(None)
                .explicit(flag, env, std::slice::from_ref(&c))
                .unwrap()
                .build()
                .described_roots()
                .map(|(p, k)| (p.to_path_buf(), k))
                .collect::<Vec<_>>()
        };
        let with_flag = roots(std::slice::from_ref(&f), Some(&env));
        assert_eq!(with_flag[0], (canonical(&f), RootKind::Flag));
        assert_eq!(with_flag.len(), 2, "flag, then cwd: {with_flag:?}");
        let with_env = roots(&[], Some(&env));
        assert_eq!(
            with_env[..2],
            [
                (canonical(&e1), RootKind::Env),
                (canonical(&e2), RootKind::Env)
            ]
        );
        let with_config = roots(&[], Some(OsStr::new("")));
        assert_eq!(with_config[0], (canonical(&c), RootKind::Config));
    }

    #[test]
    fn an_explicit_root_that_is_not_a_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = LibraryBuilder::new(dir.path())
            .explicit(&[PathBuf::from("nope")], None, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope") && err.contains("--library"), "{err}");
        let err = LibraryBuilder::new(dir.path())
            .explicit(&[], Some(OsStr::new("missing-lib")), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("MIGAGENT_LIBRARY"), "{err}");
    }
}
