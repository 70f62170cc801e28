//! The run store: one folder per run with its state, drafts, approved
//! artifacts and an append-only journal.
//!
//! Every file is written atomically (temp file, fsync, rename, fsync of the
//! folder), so a crash, a kill -9 or a full disk leaves either the old or the
//! new version, never a torn one. A run is locked while a command works on
//! it; the lock is an OS file lock, released when the process dies.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::workflow::step::Step;
use crate::workflow::GateAction;

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
    #[error("{path} is not a valid run state: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
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
        fs::create_dir_all(&self.runs).map_err(io_err("create", &self.runs))?;
        match fs::create_dir(&path) {
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

/// The state of a run, saved as `run.json` after every change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub version: u32,
    pub run_id: String,
    pub workflow: WorkflowRecord,
    pub created_at: String,
    pub updated_at: String,
    pub need: Option<String>,
    pub contexts: Vec<ContextRecord>,
    pub model: ModelRecord,
    pub status: RunStatus,
    /// Index into the workflow's phases of the phase in progress.
    pub phase_index: usize,
    /// The steps of the per-step phase in progress, taken from its plan.
    pub steps: Option<StepProgress>,
    pub artifacts: Vec<ArtifactRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowRecord {
    pub name: String,
    /// Where it was loaded from, as shown to users.
    pub source: String,
    /// The library root its references resolve against.
    pub library_root: PathBuf,
    pub sha256: String,
    /// Run-relative path of the copy the run follows.
    pub snapshot: String,
}

/// A context file copied into the run, so the record shows exactly what the
/// model was given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContextRecord {
    pub original: String,
    pub stored: String,
    pub sha256: String,
    pub added_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRecord {
    pub base_url: String,
    pub model: String,
    /// The config profile in use; runs of migagent 0.1 have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A run started offline stays offline: resuming it refuses any server
    /// that is not on this machine (or explicitly allowed).
    #[serde(default)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Active,
    Complete,
    Aborted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepProgress {
    pub phase_index: usize,
    pub plan: String,
    pub steps: Vec<Step>,
    pub current: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactState {
    /// Needs a (new) draft from the model.
    Drafting,
    AwaitingDecision,
    Approved,
    /// Produced by a phase without a gate.
    Accepted,
    RolledBack,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactRecord {
    pub id: String,
    pub title: String,
    pub phase_index: usize,
    pub step: Option<Step>,
    pub state: ArtifactState,
    pub drafts: Vec<DraftRecord>,
    /// Reviewer feedback waiting for the next draft.
    pub pending_feedback: Option<String>,
    /// A panel's findings for the current round.
    #[serde(default)]
    pub findings: Vec<FindingRecord>,
    pub approval: Option<Approval>,
    pub rollback: Option<Rollback>,
}

impl ArtifactRecord {
    pub fn latest_draft(&self) -> Option<&DraftRecord> {
        self.drafts.last()
    }

    /// The revision the next draft (from the model or a person) gets. Panel
    /// findings are filed under it too, so both must agree.
    pub fn next_revision(&self) -> u32 {
        self.drafts.len() as u32 + 1
    }

    /// Run-relative path of a draft revision.
    pub fn draft_path(&self, revision: u32) -> String {
        format!("drafts/{}.r{revision}.md", self.id)
    }

    /// Run-relative path of the approved copy.
    pub fn approved_path(&self) -> String {
        format!("artifacts/{}.md", self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftSource {
    Model,
    /// Edited by a person in $EDITOR or supplied with `edit --file`.
    Human,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftRecord {
    pub revision: u32,
    pub path: String,
    pub sha256: String,
    pub source: DraftSource,
    pub at: String,
    pub model: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub seconds: Option<f64>,
    pub finish_reason: Option<String>,
    /// The model stopped at its token limit: the draft is incomplete.
    pub truncated: bool,
    pub missing_sections: Vec<String>,
    /// The feedback this draft answers.
    pub feedback: Option<String>,
    /// How the model was asked: JSON by schema, rendered into the template,
    /// or Markdown. Absent in runs of migagent 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DraftFormat>,
    /// The model's JSON answer, kept beside the rendered Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// What the draft gets wrong against the template's schema (a value
    /// outside the allowed ones, JSON that could not be read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Inputs shortened to fit the server's context, shown at the gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<String>,
}

/// How a draft was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftFormat {
    Json,
    Markdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingRecord {
    pub member: String,
    pub persona: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Approval {
    pub option: String,
    pub by: String,
    pub at: String,
    pub note: Option<String>,
    pub revision: u32,
    pub sha256: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollback {
    pub option: String,
    pub by: String,
    pub at: String,
    pub reason: String,
    pub then: AfterRollback,
}

/// After a step is rolled back, the run continues with the next step or
/// aborts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AfterRollback {
    Continue,
    Abort,
}

/// One line of `journal.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEvent {
    pub at: String,
    pub run_id: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        workflow: String,
        workflow_sha256: String,
        base_url: String,
        model: String,
    },
    ContextAdded {
        original: String,
        stored: String,
        sha256: String,
    },
    Drafted {
        artifact: String,
        revision: u32,
        path: String,
        sha256: String,
        model: String,
        prompt_tokens: Option<u64>,
        /// Prompt tokens the server reused from its cache, when it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        seconds: f64,
        finish_reason: Option<String>,
        truncated: bool,
        missing_sections: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<DraftFormat>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cuts: Vec<String>,
    },
    /// A draft lacked sections or broke its schema; one repair request
    /// follows. The first answer is kept at `first_attempt`.
    RepairRequested {
        artifact: String,
        revision: u32,
        reason: String,
        first_attempt: String,
        prompt_tokens: Option<u64>,
        /// Prompt tokens the server reused from its cache, when it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        seconds: f64,
    },
    PanelFinding {
        artifact: String,
        member: String,
        path: String,
        sha256: String,
        model: String,
        prompt_tokens: Option<u64>,
        /// Prompt tokens the server reused from its cache, when it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        seconds: f64,
    },
    Edited {
        artifact: String,
        revision: u32,
        path: String,
        sha256: String,
        by: String,
    },
    Decided {
        artifact: String,
        revision: u32,
        option: String,
        action: GateAction,
        by: String,
    },
    Revised {
        artifact: String,
        revision: u32,
        feedback: String,
        by: String,
    },
    Approved {
        artifact: String,
        revision: u32,
        approver: String,
        sha256: String,
        path: String,
        note: Option<String>,
    },
    Accepted {
        artifact: String,
        revision: u32,
        sha256: String,
        reason: String,
    },
    RolledBack {
        artifact: String,
        reason: String,
        then: AfterRollback,
        by: String,
    },
    Aborted {
        reason: String,
        by: String,
    },
    Completed,
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

    #[test]
    fn run_ids_are_checked() {
        assert!(validate_run_id("2026-11-27-pg-upgrade").is_ok());
        assert!(validate_run_id("../x").is_err());
        assert!(validate_run_id(".hidden").is_err());
    }
}
