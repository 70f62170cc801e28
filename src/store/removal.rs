//! Removing a run folder (`migagent rm`, `migagent prune`) so that no kill
//! leaves half a run: the folder is taken under the run's lock (a run in
//! use is never removed), renamed to a hidden trash name in `runs/` (one
//! atomic step: from then on `list` and `status` no longer see the run),
//! and only then deleted. A trash folder a kill left behind is hidden and
//! swept by the next removal.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::journal::read_journal;
use super::{io_err, validate_run_id, RunState, RunStore, StoreError, JOURNAL};

/// Told apart trash folders of one process.
static TRASH: AtomicU64 = AtomicU64::new(0);

/// The part of a trash folder's name that marks it.
const TRASH_MARK: &str = ".removing-";

/// A run to remove, held under its lock until [`RunRemoval::remove`].
#[derive(Debug)]
pub struct RunRemoval {
    run_id: String,
    path: PathBuf,
    runs: PathBuf,
    state: RunState,
    approved: Vec<String>,
    /// Held until the folder is renamed away: no command opens the run
    /// meanwhile.
    _lock: File,
}

impl RunRemoval {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's saved state (`run.json`).
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The artifacts a person approved (or a gateless phase accepted), by
    /// run.json or by the journal: either is enough to call the run's work
    /// worth keeping.
    pub fn approved(&self) -> &[String] {
        &self.approved
    }

    /// Renames the run folder to a hidden trash name, then deletes it.
    /// Returns the folder the run was in.
    pub fn remove(self) -> Result<PathBuf, StoreError> {
        let n = TRASH.fetch_add(1, Ordering::Relaxed);
        let trash = self.runs.join(format!(
            ".{}{TRASH_MARK}{}-{n}",
            self.run_id,
            std::process::id()
        ));
        fs::rename(&self.path, &trash).map_err(io_err("move aside", &self.path))?;
        if let Ok(d) = File::open(&self.runs) {
            let _ = d.sync_all();
        }
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))?;
        Ok(self.path)
    }
}

impl RunStore {
    /// Takes run `run_id` for removal: refused when its folder is a
    /// symbolic link or lies outside `runs/`, when it is not a run, or when
    /// another process holds its lock.
    pub fn take_for_removal(&self, run_id: &str) -> Result<RunRemoval, StoreError> {
        validate_run_id(run_id)?;
        let runs = self.runs_dir().to_path_buf();
        let path = runs.join(run_id);
        let meta = fs::symlink_metadata(&path).map_err(|_| StoreError::NoSuchRun {
            run_id: run_id.into(),
            dir: runs.clone(),
        })?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(StoreError::NotARunFolder {
                run_id: run_id.into(),
                path,
            });
        }
        // The id is checked to be one path component; this also holds when
        // `runs/` itself is reached through a link.
        let real_runs = fs::canonicalize(&runs).map_err(io_err("resolve", &runs))?;
        let real = fs::canonicalize(&path).map_err(io_err("resolve", &path))?;
        if real.parent() != Some(real_runs.as_path()) {
            return Err(StoreError::NotARunFolder {
                run_id: run_id.into(),
                path,
            });
        }
        let state_path = path.join("run.json");
        if !state_path.is_file() {
            return Err(StoreError::NoSuchRun {
                run_id: run_id.into(),
                dir: runs,
            });
        }
        let lock_path = path.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    run_id: run_id.into(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        let state = super::run_dir::read_state(&state_path)?;
        let approved = approved_artifacts(&state, &path.join(JOURNAL));
        self.sweep_trash();
        Ok(RunRemoval {
            run_id: run_id.into(),
            path,
            runs,
            state,
            approved,
            _lock: lock,
        })
    }

    /// Deletes trash folders a killed removal left (their lock is free).
    fn sweep_trash(&self) {
        let Ok(entries) = fs::read_dir(self.runs_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with('.') && name.contains(TRASH_MARK)) {
                continue;
            }
            let path = entry.path();
            let free = File::open(path.join(".lock"))
                .map(|f| f.try_lock().is_ok())
                .unwrap_or(true);
            if free && !path.is_symlink() {
                let _ = fs::remove_dir_all(&path);
            }
        }
    }
}

/// The ids of artifacts approved or accepted, by `run.json` and by the
/// journal (which may be ahead of it after a kill). A journal that cannot
/// be read counts as holding approvals: removal then needs `--yes`.
fn approved_artifacts(state: &RunState, journal: &Path) -> Vec<String> {
    let mut ids: Vec<String> = state
        .artifacts
        .iter()
        .filter(|a| a.approval.is_some())
        .map(|a| a.id.clone())
        .collect();
    match read_journal(journal) {
        Ok(read) => {
            for line in &read.lines {
                let kind = line.event["event"].as_str().unwrap_or_default();
                if matches!(kind, "approved" | "accepted") {
                    if let Some(id) = line.event["artifact"].as_str() {
                        if !ids.iter().any(|i| i == id) {
                            ids.push(id.to_string());
                        }
                    }
                }
            }
        }
        Err(_) => ids.push("(the journal cannot be read)".into()),
    }
    ids
}
