//! The events of `journal.jsonl`, one line each, chained: every line
//! carries `prev`, the [`line_hash`] of the line before it (64 zeros on the
//! first line), so an edited, inserted or deleted line breaks the chain at
//! the line after it (`store::verify` checks it). How lines are written and
//! read back is in `journal_file.rs`.

use serde::Serialize;

use super::evidence::{EvidenceKind, EvidenceRecord};
use super::records::{AfterRollback, DraftFormat, DraftRecord, RedactionRecord, SourceRecord};
use crate::workflow::GateAction;

pub use super::journal_file::{
    line_hash, parse_journal, read_journal, JournalLine, JournalRead, TornTail, GENESIS,
};

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
        /// The model's JSON answer kept beside the draft, when it parsed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        json_path: Option<String>,
        /// The files the draft was made from, with their sha256.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<SourceRecord>,
        /// The requests sent for this draft, as sent; absent in runs of
        /// earlier versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_sha256: Option<String>,
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
        /// The sha256 of the file at `first_attempt`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_attempt_sha256: Option<String>,
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
        /// The member's persona file, which says whose findings these are.
        persona: String,
        path: String,
        sha256: String,
        model: String,
        prompt_tokens: Option<u64>,
        /// Prompt tokens the server reused from its cache, when it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        seconds: f64,
        /// The request sent to this member, as sent; absent in runs of
        /// earlier versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_sha256: Option<String>,
    },
    /// A person's edit became draft `revision`; it replaced the draft
    /// they had read, `replaces_revision` with `replaces_sha256`.
    Edited {
        artifact: String,
        revision: u32,
        path: String,
        sha256: String,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces_revision: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces_sha256: Option<String>,
    },
    /// A decision on draft `revision`, whose file had `sha256`: what the
    /// person was shown.
    Decided {
        artifact: String,
        revision: u32,
        sha256: String,
        option: String,
        action: GateAction,
        by: String,
        /// For an approval of a draft the structure check found wanting:
        /// each problem, so the record says it was approved knowingly.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
    },
    Revised {
        artifact: String,
        revision: u32,
        sha256: String,
        feedback: String,
        by: String,
    },
    /// What a person approved, and everything it stands on: the files its
    /// draft was made from, the model and the workflow, each by sha256.
    Approved {
        artifact: String,
        revision: u32,
        approver: String,
        sha256: String,
        path: String,
        note: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<SourceRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        workflow_sha256: String,
    },
    Accepted {
        artifact: String,
        revision: u32,
        sha256: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<SourceRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        workflow_sha256: String,
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
        sha256: String,
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
        sha256: String,
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
    /// Later drafts of the run go to another model, server or profile
    /// than `run.json` recorded (`resume --model`, `--base-url`,
    /// `--profile`). Journalled before `run.json` changes, so opening the
    /// run rolls the state forward to it after a crash between the two.
    /// URLs are redacted as in `run.json`.
    ModelChanged {
        from_model: String,
        from_base_url: String,
        model: String,
        base_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        offline: bool,
        /// Who ran the command, when that can be told.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
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
            json_path: draft.json_path.clone(),
            sources: draft.sources.clone(),
            prompt_path: draft.prompt_path.clone(),
            prompt_sha256: draft.prompt_sha256.clone(),
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

/// `event` as one journal line, `\n` included, chained to the line before
/// it by `prev` (that line's [`line_hash`], or [`GENESIS`]): how tests
/// forge and extend journals by hand. Runs append through
/// `RunDir::journal_all`.
#[cfg(test)]
pub(crate) fn chained_line(event: &JournalEvent, prev: &str) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(event)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("prev".into(), serde_json::Value::String(prev.to_string()));
    }
    let mut line = serde_json::to_vec(&value)?;
    line.push(b'\n');
    Ok(line)
}

/// The `prev` the next line appended to `journal` must carry: the hash of
/// its last line, or [`GENESIS`] for an empty journal.
#[cfg(test)]
pub(crate) fn next_prev(journal: &[u8]) -> String {
    let body = journal.strip_suffix(b"\n").unwrap_or(journal);
    if body.is_empty() {
        return GENESIS.to_string();
    }
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    line_hash(&journal[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> JournalEvent {
        JournalEvent {
            at: "2026-01-01T00:00:00Z".into(),
            run_id: "r".into(),
            kind,
        }
    }

    #[test]
    fn each_line_carries_the_hash_of_the_line_before() {
        let first = chained_line(&event(EventKind::Completed), GENESIS).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(v["prev"], GENESIS);
        assert_eq!(v["event"], "completed");
        assert!(first.ends_with(b"\n"));
        let prev = next_prev(&first);
        assert_eq!(prev, line_hash(&first));
        let mut journal = first.clone();
        journal.extend(chained_line(&event(EventKind::Completed), &prev).unwrap());
        let second_start = first.len();
        assert_eq!(next_prev(&journal), line_hash(&journal[second_start..]));
        assert_eq!(next_prev(b""), GENESIS);
        // The hash covers the newline: a line without it hashes otherwise.
        assert_ne!(line_hash(&first), line_hash(&first[..first.len() - 1]));
    }
}
