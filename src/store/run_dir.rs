//! The run folder: where runs live, creating and opening one under an OS
//! file lock, and reading and writing its files and journal.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::{io_err, now_rfc3339, write_atomic, JournalEvent, RunState, StoreError};

/// Where runs live: `STATE_DIR/runs/RUN_ID/`.
#[derive(Debug, Clone)]
pub struct RunStore {
    runs: PathBuf,
}

pub fn validate_run_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadRunId(id.to_string()))
    }
}

impl RunStore {
    pub fn new(state_dir: &Path) -> RunStore {
        RunStore {
            runs: state_dir.join("runs"),
        }
    }

    pub fn runs_dir(&self) -> &Path {
        &self.runs
    }

    pub fn create(&self, run_id: &str) -> Result<RunDir, StoreError> {
        validate_run_id(run_id)?;
        let path = self.runs.join(run_id);
        private_dir()
            .recursive(true)
            .create(&self.runs)
            .map_err(io_err("create", &self.runs))?;
        match private_dir().create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::RunExists {
                    run_id: run_id.into(),
                    dir: self.runs.clone(),
                })
            }
            Err(e) => return Err(io_err("create", &path)(e)),
        }
        RunDir::lock(path, run_id)
    }

    pub fn open(&self, run_id: &str) -> Result<RunDir, StoreError> {
        validate_run_id(run_id)?;
        let path = self.runs.join(run_id);
        if !path.join("run.json").is_file() {
            return Err(StoreError::NoSuchRun {
                run_id: run_id.into(),
                dir: self.runs.clone(),
            });
        }
        RunDir::lock(path, run_id)
    }

    /// Every run's state, newest first. Unreadable runs are reported, not
    /// skipped silently.
    pub fn list(&self) -> Vec<Result<RunState, StoreError>> {
        let Ok(entries) = fs::read_dir(&self.runs) else {
            return Vec::new();
        };
        let mut out: Vec<Result<RunState, StoreError>> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("run.json"))
            .filter(|p| p.is_file())
            .map(|p| read_state(&p))
            .collect();
        out.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => b.created_at.cmp(&a.created_at),
            _ => std::cmp::Ordering::Equal,
        });
        out
    }
}

/// Folders only their owner may enter: a run holds the request, context
/// files and drafts, which may be confidential, and nobody else on the
/// machine needs to read them. Set at creation (the umask can only take
/// bits away), so there is no moment when the folder is open to others.
fn private_dir() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

fn read_state(path: &Path) -> Result<RunState, StoreError> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// An open, locked run folder.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: File,
}

impl RunDir {
    fn lock(path: PathBuf, run_id: &str) -> Result<RunDir, StoreError> {
        let lock_path = path.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        match file.try_lock() {
            Ok(()) => Ok(RunDir { path, _lock: file }),
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                run_id: run_id.into(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &lock_path)(e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load_state(&self) -> Result<RunState, StoreError> {
        read_state(&self.path.join("run.json"))
    }

    pub fn save_state(&self, state: &mut RunState) -> Result<(), StoreError> {
        state.updated_at = now_rfc3339();
        let path = self.path.join("run.json");
        let json = serde_json::to_vec_pretty(state).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json)
    }

    /// Writes a file inside the run, returning its run-relative path.
    pub fn write(&self, rel: &str, text: &str) -> Result<String, StoreError> {
        write_atomic(&self.path.join(rel), text.as_bytes())?;
        Ok(rel.to_string())
    }

    /// Writes raw bytes inside the run (evidence is kept as it was given,
    /// not as text), returning its run-relative path.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> Result<String, StoreError> {
        write_atomic(&self.path.join(rel), bytes)?;
        Ok(rel.to_string())
    }

    /// The first `max` bytes of a file inside the run, and whether there
    /// was more: evidence files are kept whole, but only their head is read.
    pub fn read_head(&self, rel: &str, max: usize) -> Result<(Vec<u8>, bool), StoreError> {
        use std::io::Read;
        let path = self.path.join(rel);
        let file = File::open(&path).map_err(io_err("read", &path))?;
        let mut head = Vec::new();
        file.take(max as u64 + 1)
            .read_to_end(&mut head)
            .map_err(io_err("read", &path))?;
        let more = head.len() > max;
        head.truncate(max);
        Ok((head, more))
    }

    /// The sha256 of a file inside the run, read in pieces, so a large
    /// command output is hashed without holding it in memory.
    pub fn sha256_of(&self, rel: &str) -> Result<String, StoreError> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let path = self.path.join(rel);
        let mut file = File::open(&path).map_err(io_err("read", &path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(io_err("read", &path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// The bytes of a file inside the run, as stored (a context file need
    /// not be UTF-8).
    pub fn read_bytes(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path.join(rel);
        fs::read(&path).map_err(io_err("read", &path))
    }

    pub fn read(&self, rel: &str) -> Result<String, StoreError> {
        let path = self.path.join(rel);
        fs::read_to_string(&path).map_err(io_err("read", &path))
    }

    /// Appends one event to `journal.jsonl`.
    pub fn journal(&self, event: &JournalEvent) -> Result<(), StoreError> {
        self.journal_all(std::slice::from_ref(event))
    }

    /// Appends events to `journal.jsonl` together. The whole journal is
    /// rewritten atomically, so a crash or a full disk records all of them or
    /// none, and never half a line.
    pub fn journal_all(&self, events: &[JournalEvent]) -> Result<(), StoreError> {
        let path = self.path.join("journal.jsonl");
        let mut bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        for event in events {
            let line = serde_json::to_string(event).map_err(|source| StoreError::Corrupt {
                path: path.clone(),
                source,
            })?;
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        write_atomic(&path, &bytes)
    }

    pub fn read_journal(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let path = self.path.join("journal.jsonl");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|source| StoreError::Corrupt {
                    path: path.clone(),
                    source,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_run_cannot_be_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let first = store.create("r1").unwrap();
        first.write("run.json", "{}").unwrap();
        assert!(matches!(store.open("r1"), Err(StoreError::Locked { .. })));
        drop(first);
        assert!(store.open("r1").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn run_folders_and_the_runs_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(&dir.path().join("state"));
        let run = store.create("r1").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(run.path()), 0o700, "the run folder");
        assert_eq!(mode(store.runs_dir()), 0o700, "runs/");
        assert_eq!(mode(&dir.path().join("state")), 0o700, "the state folder");
    }

    #[test]
    fn run_ids_are_checked() {
        assert!(validate_run_id("2026-11-27-pg-upgrade").is_ok());
        assert!(validate_run_id("../x").is_err());
        assert!(validate_run_id(".hidden").is_err());
    }
}
