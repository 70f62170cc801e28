//! What `run.json` holds: the run, its workflow, model, context files and
//! each artifact with its drafts and decision.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::evidence::{EvidenceKind, EvidenceRecord};
use crate::workflow::step::Step;

/// The state of a run, saved as `run.json` after every change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub version: u32,
    pub run_id: String,
    pub workflow: WorkflowRecord,
    pub created_at: String,
    pub updated_at: String,
    pub need: Option<String>,
    /// Free-text inputs the person filled (`--need`, `--input`), each kept
    /// as a file of the run; runs of migagent 0.1 have none and fill the
    /// request from `need`.
    #[serde(default)]
    pub inputs: Vec<SuppliedInput>,
    pub contexts: Vec<ContextRecord>,
    pub model: ModelRecord,
    pub status: RunStatus,
    /// Index into the workflow's phases of the phase in progress.
    pub phase_index: usize,
    /// The steps of the per-step phase in progress, taken from its plan.
    pub steps: Option<StepProgress>,
    pub artifacts: Vec<ArtifactRecord>,
    /// How far into the journal this state goes. Events after it were
    /// journalled but a crash came before this file was saved: opening the
    /// run rolls the state forward over them. Absent in runs of earlier
    /// versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalMark>,
}

/// The journal line a saved state goes up to: how many whole lines it
/// reflects, and the hash of the last of them (so a journal rewritten under
/// it is noticed rather than trusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalMark {
    pub lines: u64,
    pub last_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowRecord {
    pub name: String,
    /// Where it was loaded from, as shown to users.
    pub source: String,
    /// The first library root (runs of migagent 0.1 recorded only this one).
    pub library_root: PathBuf,
    /// Every library root its references resolve against, in order and
    /// canonical; a resumed run uses these, not the folders of the command
    /// that resumes it. Empty in runs of earlier versions.
    #[serde(default)]
    pub library_roots: Vec<PathBuf>,
    pub sha256: String,
    /// Run-relative path of the copy the run follows.
    pub snapshot: String,
}

/// A context file copied into the run, so the record shows exactly what the
/// model was given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContextRecord {
    pub original: String,
    /// The file in the run: the bytes as given, which `sha256` hashes.
    pub stored: String,
    pub sha256: String,
    pub added_at: String,
    /// How the bytes were read as text for a prompt: "utf-8", or "utf-8
    /// with N replacement characters" for bytes that are not UTF-8 (the
    /// stored file keeps them as they were). Runs of earlier versions
    /// stored text only and have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
}

/// A free-text input the person filled, copied into the run like a context
/// file, so the record shows exactly what the model was given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuppliedInput {
    /// The input's label as the workflow writes it.
    pub label: String,
    /// How it was given: `--need`, `--input`, or `--input @FILE`.
    pub given_as: String,
    /// Run-relative path of the stored text.
    pub stored: String,
    pub sha256: String,
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
    /// A step of a per-step phase, shown as its card: nothing is drafted
    /// until a person has recorded what happened (or that nothing did).
    AwaitingEvidence,
    /// Needs a (new) draft from the model.
    Drafting,
    AwaitingDecision,
    Approved,
    /// Produced by a phase without a gate.
    Accepted,
    /// A person chose to roll the step back: the rollback's evidence and
    /// the choice to continue or abort come next.
    RollingBack,
    RolledBack,
    /// Approved (or accepted) once, then a gate sent the work back to it
    /// or to an artifact it depends on: it is redrafted, with the reason in
    /// `pending_feedback`, when the run reaches it again. Its earlier
    /// approval stays in `approval`, in the journal and in `artifacts/`
    /// until the new one replaces it, but it never feeds a draft.
    Stale,
}

impl std::fmt::Display for ArtifactState {
    /// The state in words, for messages ("it is awaiting a decision"); the
    /// Rust name never reaches a person.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ArtifactState::AwaitingEvidence => "awaiting evidence",
            ArtifactState::Drafting => "to be drafted",
            ArtifactState::AwaitingDecision => "awaiting a decision",
            ArtifactState::Approved => "approved",
            ArtifactState::Accepted => "accepted",
            ArtifactState::RollingBack => "rolling back",
            ArtifactState::RolledBack => "rolled back",
            ArtifactState::Stale => "stale",
        })
    }
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
    /// What was recorded about a step before its result was drafted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRecord>,
    /// Who confirmed going past the plan's point of no return at this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_of_no_return_confirmed_by: Option<String>,
    /// A rollback under way: who started it, why, with which option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_back: Option<RollbackStart>,
}

/// The start of a step's rollback, before its evidence and the choice to
/// continue or abort.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollbackStart {
    pub option: String,
    pub by: String,
    pub at: String,
    pub reason: String,
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

    /// Run-relative path of the requests sent for a draft revision.
    pub fn prompt_path(&self, revision: u32) -> String {
        format!("drafts/{}.r{revision}.prompt.json", self.id)
    }

    /// The id the next evidence item of `kind` gets: `note-2` after
    /// `note-1`; a deliberate "none" is just `none`.
    pub fn next_evidence_id(&self, kind: EvidenceKind) -> String {
        if kind == EvidenceKind::None {
            return "none".into();
        }
        let n = self.evidence.iter().filter(|e| e.kind == kind).count() + 1;
        format!("{}-{n}", kind.id_prefix())
    }

    /// Run-relative folder of this artifact's evidence.
    pub fn evidence_dir(&self) -> String {
        format!("evidence/{}", self.id)
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
    /// Every file the draft was made from, with its sha256 when it was
    /// read: input artifacts, inputs, context and evidence files, personas,
    /// prompts, panels and templates. Empty in runs of earlier versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRecord>,
    /// Secrets left out of the request this draft answers, shown at the
    /// gate: their kind and place, never their value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<RedactionRecord>,
    /// Run-relative path of the requests sent for this draft, as sent
    /// (after redaction): `drafts/ID.rN.prompt.json`. None for a person's
    /// edit and in runs of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_path: Option<String>,
    /// The sha256 of the file at `prompt_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
}

/// A file a draft was made from, as it was when read: an approval carries
/// these, so an auditor can tell exactly which persona, prompt and input
/// text stood behind the approved artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub kind: SourceKind,
    /// Run-relative for the run's own files (`artifacts/MIG-1.md`,
    /// `context/01-db.md`); where it was found for library files (a path,
    /// or `builtin:personas/...`).
    pub path: String,
    pub sha256: String,
}

/// What a source file is to the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An approved (or accepted) artifact of an earlier phase.
    Artifact,
    /// A free-text input given at start (`--need`, `--input`).
    Input,
    /// A `--context` file, or a note or file given for a phase.
    Context,
    /// A step's evidence file.
    Evidence,
    /// A panel member's findings.
    Finding,
    /// The draft a revision revises.
    PreviousDraft,
    Persona,
    /// A file a persona links to (a policy, a scale).
    Linked,
    /// A phase's guidance prompt.
    Prompt,
    Panel,
    /// One of migagent's prompt assembly templates.
    Template,
}

/// A secret replaced by `[REDACTED: kind]` in a draft request: what it
/// looks like and where it is in the run's copy of the file (which keeps
/// it), never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionRecord {
    /// "AWS access key", "password", "private key", ...
    pub kind: String,
    /// The run-relative file it is in: `context/01-env.txt`.
    pub file: String,
    /// The line it starts on, from 1.
    pub line: usize,
}

impl std::fmt::Display for RedactionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {} line {}", self.kind, self.file, self.line)
    }
}

impl DraftRecord {
    /// A draft with only what every draft has: its revision, file, hash,
    /// author kind and time. Model drafts add their usage and checks on top,
    /// a person's edit its checks.
    pub fn new(revision: u32, path: String, sha256: String, source: DraftSource) -> DraftRecord {
        DraftRecord {
            revision,
            path,
            sha256,
            source,
            at: super::now_rfc3339(),
            model: None,
            prompt_tokens: None,
            completion_tokens: None,
            seconds: None,
            finish_reason: None,
            truncated: false,
            missing_sections: Vec::new(),
            feedback: None,
            format: None,
            json_path: None,
            problems: Vec::new(),
            cuts: Vec::new(),
            sources: Vec::new(),
            redactions: Vec::new(),
            prompt_path: None,
            prompt_sha256: None,
        }
    }
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
    /// The files the approved draft was made from (see [`DraftRecord`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRecord>,
    /// The model that drafted it; none for a person's own text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The sha256 of the workflow the run follows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workflow_sha256: String,
    /// What the structure check found wrong with the draft approved, as
    /// the journal's `decided` line lists it; empty for a clean draft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
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
