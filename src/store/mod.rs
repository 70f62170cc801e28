//! The run store: one folder per run with its state, drafts, approved
//! artifacts and an append-only journal.
//!
//! The journal (`journal.jsonl`) is the source of truth and is written
//! first: each event is appended as one line with one write and one fsync,
//! and the events of one decision with a single write, so they are recorded
//! all together or not at all. Every other file follows from it: `run.json`
//! is a cache of the current state that says how far into the journal it
//! goes ([`JournalMark`]); the engine rolls it forward from the journal when
//! a crash came between the two. Files the journal names (drafts, evidence)
//! are never overwritten: a file found where a new one goes, which no
//! journal line records, is set aside first.
//!
//! Every other file is written atomically (temp file, fsync, rename, fsync
//! of the folder), so a crash, a kill -9 or a full disk leaves either the
//! old or the new version, never a torn one. A run is locked while a command
//! works on it; the lock is an OS file lock, released when the process dies.
//! Read-only commands (`status`, `show`, `list`) take no lock: they read
//! `run.json`, which is only ever replaced whole, then the journal.
//!
//! A new run is built in a hidden staging folder (`runs/.ID.starting-…`)
//! and renamed into place once its `run.json` is written, so a kill while a
//! run starts never burns its id: `run --run-id ID` simply starts it again.
//!
//! Files: [`run_dir`] is the run folder, its lock and its journal appends,
//! [`records`] the state kept in `run.json`, [`journal`] the events of
//! `journal.jsonl` and `journal_file` their format on disk.

mod evidence;
pub mod journal;
mod journal_file;
mod records;
mod removal;
mod run_dir;
mod run_files;
pub mod verify;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use evidence::{EvidenceKind, EvidenceRecord};
pub use journal::{EventKind, JournalEvent};
pub use records::*;
pub use removal::RunRemoval;
pub use run_dir::{validate_run_id, RunDir, RunStore, JOURNAL};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run '{run_id}' not found under {dir}; see `migagent list`")]
    NoSuchRun { run_id: String, dir: PathBuf },
    #[error("run '{run_id}' already exists under {dir}; continue it with `migagent resume {run_id}`, or pick another --run-id")]
    RunExists { run_id: String, dir: PathBuf },
    #[error("run '{run_id}' is in use by another migagent process; wait for it to finish")]
    Locked { run_id: String },
    #[error("{path} is not a run folder inside the state folder (a symbolic link, or not a folder); run '{run_id}' was not removed: remove it by hand if you mean to")]
    NotARunFolder { run_id: String, path: PathBuf },
    #[error("{path} is not a valid run state: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} line {line} {why}: the journal was damaged or edited; restore it from a backup or version control")]
    CorruptJournal {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("run '{run_id}' was opened read-only (for status, show or list); it cannot be changed this way")]
    ReadOnly { run_id: String },
    #[error(
        "'{0}' is not a valid run id: use letters, digits, '-', '_' and '.', not starting with '.'"
    )]
    BadRunId(String),
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new content,
/// never a mix, even across a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(bytes).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("sync", &tmp))?;
        fs::rename(&tmp, path).map_err(io_err("replace", path))?;
        if let Ok(d) = File::open(dir) {
            // Persisting the rename itself; some filesystems refuse to fsync a
            // directory, and the data is already safe in the file.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown-time".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }
}
