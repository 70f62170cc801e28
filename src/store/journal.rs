//! The events of `journal.jsonl`, one line each.

use serde::Serialize;

use super::evidence::{EvidenceKind, EvidenceRecord};
use super::records::{AfterRollback, DraftFormat, DraftRecord, RedactionRecord};
use crate::workflow::GateAction;

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
        /// How the bytes are read as text: "utf-8", or "utf-8 with N
        /// replacement characters".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decoded: Option<String>,
    },
    /// A free-text input filled at start (`--need`, `--input`).
    InputSupplied {
        label: String,
        given_as: String,
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
    /// Secrets were replaced by `[REDACTED: kind]` in the request for
    /// this revision, before it was sent: kind, file and line of each,
    /// never the value.
    SecretsRedacted {
        artifact: String,
        revision: u32,
        redactions: Vec<RedactionRecord>,
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
    /// A step's card was shown; its result waits for evidence.
    AwaitingEvidence {
        artifact: String,
        step: u32,
    },
    /// A piece of evidence was stored; `sha256` is of the file at `path`.
    EvidenceAdded {
        artifact: String,
        evidence: String,
        kind: EvidenceKind,
        path: String,
        sha256: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// Whether a command ran out of time; absent for other kinds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timed_out: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stderr_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stderr_sha256: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    /// A person chose to roll a step back; its evidence and the choice to
    /// continue or abort follow.
    RollbackStarted {
        artifact: String,
        revision: u32,
        option: String,
        reason: String,
        by: String,
    },
    /// A gate sent the work back to an earlier phase: `to_artifact` is
    /// reopened with `reason`, and the `marked_stale` events recorded with
    /// this one name everything redrafted before the gate of
    /// `from_artifact` is presented again.
    SentBack {
        from_artifact: String,
        revision: u32,
        to_phase: u32,
        to_artifact: String,
        option: String,
        by: String,
        reason: String,
    },
    /// An approved (or accepted) artifact is to be redrafted because of the
    /// send-back journalled with it; its approval at `approved_revision`
    /// stays on record.
    MarkedStale {
        artifact: String,
        approved_revision: Option<u32>,
        because: String,
    },
    /// A person confirmed going past the plan's point of no return.
    PointOfNoReturnConfirmed {
        artifact: String,
        step: u32,
        by: String,
    },
    Completed,
}

impl EventKind {
    /// The journal's record of a model's draft, read off the draft's own
    /// record so the two cannot disagree. `cached_tokens` is journalled
    /// only: `run.json` keeps what a reader of the draft needs.
    pub fn drafted(artifact: &str, draft: &DraftRecord, cached_tokens: Option<u64>) -> EventKind {
        EventKind::Drafted {
            artifact: artifact.to_string(),
            revision: draft.revision,
            path: draft.path.clone(),
            sha256: draft.sha256.clone(),
            model: draft.model.clone().unwrap_or_default(),
            prompt_tokens: draft.prompt_tokens,
            cached_tokens,
            completion_tokens: draft.completion_tokens,
            seconds: draft.seconds.unwrap_or_default(),
            finish_reason: draft.finish_reason.clone(),
            truncated: draft.truncated,
            missing_sections: draft.missing_sections.clone(),
            format: draft.format,
            problems: draft.problems.clone(),
            cuts: draft.cuts.clone(),
        }
    }

    /// The journal's record of one evidence item, read off the item.
    pub fn evidence_added(artifact: &str, e: &EvidenceRecord) -> EventKind {
        EventKind::EvidenceAdded {
            artifact: artifact.to_string(),
            evidence: e.id.clone(),
            kind: e.kind,
            path: e.path.clone(),
            sha256: e.sha256.clone(),
            by: e.by.clone(),
            source: e.source.clone(),
            command: e.command.clone(),
            exit_code: e.exit_code,
            timed_out: (e.kind == EvidenceKind::Command).then_some(e.timed_out),
            seconds: e.seconds,
            stderr_path: e.stderr_path.clone(),
            stderr_sha256: e.stderr_sha256.clone(),
            rollback: e.rollback,
        }
    }
}
