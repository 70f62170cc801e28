//! Tamper evidence: `verify` re-checks a run folder against its own record.
//!
//! The journal is the record. Each of its lines carries `prev`, the hash of
//! the line before it ([`line_hash`](super::journal::line_hash)), so an
//! edited, deleted or inserted line breaks the chain at the line after it.
//! The journal records the sha256 of every file the run wrote or was given
//! (drafts, evidence, inputs, context files, panel findings, the workflow
//! snapshot, each approved artifact), and of every file a draft was made
//! from. `verify` checks each of these against the files on disk, the
//! approvals in `run.json` against the journal (an approval only `run.json`
//! has is forged, or its journal lines were deleted), and every file in
//! `artifacts/` against an approval.
//!
//! It reads the run without its lock and changes nothing, so it can be
//! run at any time, and by an auditor on a copy of the folder. Library
//! files (personas, prompts, templates) live outside the run and may change
//! between phases: their sha256 is recorded with each draft and approval,
//! not re-checked here.
//!
//! `journal_scan.rs` reads the journal (the chain, and what each line
//! records); `checks.rs` compares that record with the files and `run.json`.

pub mod checked;
mod checks;
mod journal_scan;

pub use checked::CheckedJournal;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path};

use serde::Serialize;

use super::{validate_run_id, RunState, RunStore, StoreError};

/// What `verify` found about one run.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub run_id: String,
    /// No finding: every file and record matches the journal.
    pub ok: bool,
    /// How much of the journal is chained by `prev`.
    pub chain: ChainState,
    /// Lines in the journal.
    pub journal_lines: usize,
    /// Files whose sha256 was checked.
    pub files_checked: usize,
    /// Everything that differs, in the order found.
    pub findings: Vec<Finding>,
    /// What the reader should know that is not a difference, such as a
    /// journal written before lines were chained.
    pub notes: Vec<String>,
}

/// Whether the journal's lines carry `prev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainState {
    /// Every line is chained.
    Chained,
    /// Written by a migagent that did not chain lines: order and
    /// completeness cannot be checked, the files still are.
    Unchained,
    /// Older lines unchained, newer ones chained (a run resumed by a newer
    /// migagent): the chain is checked from its first chained line.
    Partly,
    /// No journal lines at all.
    Empty,
}

/// One thing that differs from the record.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The artifact concerned, e.g. `MIG-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The journal line (1-based) of the record that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The run-relative file that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What differs, in a sentence that names the file, artifact and line.
    pub message: String,
    /// Whether the run still reads what differs: an approved artifact, the
    /// latest draft, the workflow, a context file. A superseded draft or a
    /// repair's first attempt is not; `resume` and the decision commands
    /// stop only on findings in use, `verify` reports them all.
    pub in_use: bool,
}

/// The kinds of difference, as `verify --json` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A line's `prev` is not the hash of the line before it.
    ChainBroken,
    /// A journal line is not a JSON object, or is too long to read.
    UnreadableLine,
    /// The last line has no newline: a write was cut off.
    TornLine,
    /// The workflow snapshot is not the workflow the run started with.
    WorkflowChanged,
    /// A file's sha256 is not the one recorded.
    FileChanged,
    /// A recorded file is gone (or is not a regular file).
    FileMissing,
    /// An approval's sha256 is not that of the draft revision it names.
    ApprovedOtherText,
    /// `run.json` shows an approval the journal does not have.
    ForgedApproval,
    /// A file in `artifacts/` that no approval in the journal accounts for.
    UnrecordedArtifact,
    /// `run.json` and the journal disagree about a file or a draft.
    RecordMismatch,
    /// A draft was made from a file whose text was not the recorded one.
    ChangedSource,
    /// `run.json` cannot be read.
    RunStateUnreadable,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl VerifyReport {
    /// The findings the run still reads: what `resume` and the decision
    /// commands refuse to go on with.
    pub fn in_use(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.in_use)
    }
}

/// Journal lines longer than this are not read: no event comes near it,
/// and an edited journal must not make `verify` read without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Verifies run `run_id` of `store`, without taking its lock.
pub fn verify_run(store: &RunStore, run_id: &str) -> Result<VerifyReport, StoreError> {
    validate_run_id(run_id)?;
    let dir = store.runs_dir().join(run_id);
    if !dir.join("run.json").is_file() && !dir.join("journal.jsonl").is_file() {
        return Err(StoreError::NoSuchRun {
            run_id: run_id.into(),
            dir: store.runs_dir().to_path_buf(),
        });
    }
    verify_dir(&dir, run_id)
}

/// Verifies the run folder `dir` of run `run_id`, reading the whole
/// journal.
pub fn verify_dir(dir: &Path, run_id: &str) -> Result<VerifyReport, StoreError> {
    Ok(verify_dir_with(dir, run_id, None)?.0)
}

/// Verifies the run folder `dir` of run `run_id`, taking the journal as
/// `checked` describes it when given (see [`checked`]); otherwise reads it
/// whole, and returns what it read when it found the journal intact, for
/// the caller to keep.
pub fn verify_dir_with(
    dir: &Path,
    run_id: &str,
    checked: Option<&CheckedJournal>,
) -> Result<(VerifyReport, Option<CheckedJournal>), StoreError> {
    let mut findings = Vec::new();
    let state = read_state(dir, &mut findings);
    match checked {
        Some(journal) => Ok((report(dir, run_id, journal, state, findings), None)),
        None => {
            let before = findings.len();
            let scan = journal_scan::scan(dir, run_id, &mut findings)?;
            let intact = findings.len() == before && scan.lines > 0;
            let journal = CheckedJournal::from_scan(run_id, scan);
            let report = report(dir, run_id, &journal, state, findings);
            Ok((report, intact.then_some(journal)))
        }
    }
}

/// The report on run `run_id` in `dir` whose journal reads as `journal`:
/// every file and `run.json` checked against what it records.
fn report(
    dir: &Path,
    run_id: &str,
    journal: &CheckedJournal,
    state: Option<RunState>,
    mut findings: Vec<Finding>,
) -> VerifyReport {
    let mut notes = Vec::new();
    let lines = usize::try_from(journal.lines).unwrap_or(usize::MAX);
    match journal.chain {
        ChainState::Unchained => notes.push(format!(
            "journal.jsonl is unchained: its {lines} lines were written by a migagent that did not link each line to the one before, so their order and completeness cannot be checked; every file is still checked against the sha256 they record"
        )),
        ChainState::Partly => notes.push(format!(
            "journal lines 1-{} are unchained (written by an earlier migagent); the chain is checked from line {}",
            journal.first_chained.saturating_sub(1),
            journal.first_chained
        )),
        ChainState::Chained | ChainState::Empty => {}
    }
    let mut checker = checks::Checker::new(dir, &journal.recorded, state.as_ref());
    checker.run(&mut findings, &mut notes);
    VerifyReport {
        run_id: run_id.to_string(),
        ok: findings.is_empty(),
        chain: journal.chain,
        journal_lines: lines,
        files_checked: checker.files_checked,
        findings,
        notes,
    }
}

/// The workflow sha256 the journal's `run_started` line recorded, with its
/// line: what `Engine::open` checks the snapshot against before following
/// it. Reads only up to that line (the first, in a run not tampered with).
pub fn recorded_workflow_sha(dir: &Path) -> Option<(usize, String)> {
    use std::io::BufRead;
    let file = File::open(dir.join("journal.jsonl")).ok()?;
    let mut reader = std::io::BufReader::new(file);
    for number in 1.. {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .ok()?;
        if n == 0 || !line.ends_with(b"\n") {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(&line).ok()?;
        if value.get("event").and_then(|e| e.as_str()) == Some("run_started") {
            let sha = value.get("workflow_sha256")?.as_str()?;
            return Some((number, sha.to_string()));
        }
    }
    None
}

/// `run.json`, or a finding saying why it cannot be read.
fn read_state(dir: &Path, findings: &mut Vec<Finding>) -> Option<RunState> {
    let path = dir.join("run.json");
    let result = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice::<RunState>(&bytes).map_err(|e| e.to_string()));
    match result {
        Ok(state) => Some(state),
        Err(e) => {
            findings.push(Finding {
                kind: FindingKind::RunStateUnreadable,
                artifact: None,
                line: None,
                path: Some("run.json".into()),
                message: format!("run.json cannot be read ({e}); its approvals cannot be checked against the journal"),
                in_use: true,
            });
            None
        }
    }
}

/// A path a record names, if it stays inside the run folder: a journal or
/// `run.json` edited to name `../../etc/passwd` is a finding, not a read.
fn inside_run(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// What is at a recorded path.
enum OnDisk {
    Sha(String),
    /// Absent, or not a regular file (a FIFO would block the read).
    Missing(String),
}

/// The sha256 of the regular file `rel` in `dir`, read in pieces.
fn hash_file(dir: &Path, rel: &str) -> OnDisk {
    use sha2::{Digest, Sha256};
    let path = dir.join(rel);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(_) => return OnDisk::Missing("it is not a regular file".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return OnDisk::Missing("it is missing".into())
        }
        Err(e) => return OnDisk::Missing(format!("it cannot be read: {e}")),
    }
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => return OnDisk::Missing(format!("it cannot be read: {e}")),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return OnDisk::Missing(format!("it cannot be read: {e}")),
        }
    }
    OnDisk::Sha(format!("{:x}", hasher.finalize()))
}

/// The first 8 hex digits of a sha256, as messages show it.
fn short(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

#[cfg(test)]
mod tests;
