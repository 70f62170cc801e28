//! What a decision command says it did: the next command for the run's new
//! standing, and the `--json` document of `approve`, `revise`, `decide`,
//! `edit` and `abort` (docs/json.md, "Decision commands").

use serde::Serialize;

use crate::engine::{Decided, Decision, RunStanding};

/// The `--json` document of a decision command.
#[derive(Debug, Serialize)]
pub(super) struct DecisionReport {
    pub run_id: String,
    /// What was decided: approve, revise, send_back, begin_rollback,
    /// rollback, abort or edit.
    pub decision: &'static str,
    /// The gate option's label as the journal records it; null for an edit
    /// or an abort that named no option.
    pub option: Option<String>,
    /// The artifact decided on; null for an abort of a run with no draft
    /// at a gate.
    pub artifact: Option<String>,
    /// The draft decided on (revision and sha256 of its file).
    pub revision: Option<u32>,
    pub sha256: Option<String>,
    /// For an edit: the draft the edit became.
    pub edited: Option<EditedDraft>,
    pub by: String,
    /// When run.json was saved with the decision (RFC 3339, UTC).
    pub at: String,
    /// The run's standing after the decision, as `status` names it.
    pub state: RunStanding,
    /// The command that moves the run on; null when it is finished.
    pub next: Option<String>,
    /// For an approval: each problem the structure check found in the
    /// approved draft (empty for a clean draft, and for other decisions).
    pub problems: Vec<String>,
    /// The run folder (absolute).
    pub run_dir: std::path::PathBuf,
}

#[derive(Debug, Serialize)]
pub(super) struct EditedDraft {
    pub revision: u32,
    pub sha256: String,
}

/// The name a decision has in JSON.
pub(super) fn decision_name(decision: &Decision) -> &'static str {
    match decision {
        Decision::Proceed { .. } => "approve",
        Decision::Revise { .. } => "revise",
        Decision::SendBack { .. } => "send_back",
        Decision::BeginRollback { .. } => "begin_rollback",
        Decision::Rollback { .. } => "rollback",
        Decision::Abort { .. } => "abort",
        Decision::Edit { .. } => "edit",
        Decision::Quit => "quit",
    }
}

/// The person a decision names.
pub(super) fn decided_by(decision: &Decision) -> String {
    match decision {
        Decision::Proceed { by, .. }
        | Decision::Revise { by, .. }
        | Decision::SendBack { by, .. }
        | Decision::BeginRollback { by, .. }
        | Decision::Rollback { by, .. }
        | Decision::Abort { by, .. }
        | Decision::Edit { by, .. } => by.clone(),
        Decision::Quit => String::new(),
    }
}

/// The command that moves a run on from `state`; `None` once it is
/// finished.
pub(super) fn next_command(run: &str, state: RunStanding) -> Option<String> {
    match state {
        RunStanding::Complete | RunStanding::Aborted => None,
        RunStanding::AwaitingDecision | RunStanding::AwaitingEvidence => {
            Some(format!("migagent status {run}"))
        }
        RunStanding::ReadyToDraft => Some(format!("migagent resume {run}")),
        RunStanding::RollingBack => Some(format!("migagent evidence {run} --note TEXT")),
    }
}

impl DecisionReport {
    pub(super) fn new(
        run_id: &str,
        decision: &Decision,
        decided: Option<&Decided>,
        state: RunStanding,
        at: String,
        run_dir: std::path::PathBuf,
    ) -> DecisionReport {
        DecisionReport {
            run_id: run_id.to_string(),
            decision: decision_name(decision),
            option: decided.and_then(|d| d.option.clone()),
            artifact: decided.map(|d| d.artifact.clone()),
            revision: decided.map(|d| d.revision),
            sha256: decided.map(|d| d.sha256.clone()),
            edited: decided.and_then(|d| {
                d.edited.as_ref().map(|(revision, sha256)| EditedDraft {
                    revision: *revision,
                    sha256: sha256.clone(),
                })
            }),
            by: decided_by(decision),
            at,
            state,
            next: next_command(run_id, state),
            problems: decided.map(|d| d.check.lines()).unwrap_or_default(),
            run_dir,
        }
    }
}
