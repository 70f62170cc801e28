//! The human side of a gate: the [`Reviewer`] trait, the [`GateView`] it is
//! shown and the [`Decision`] it returns. The engine knows people only
//! through this trait.

use std::path::PathBuf;

use super::{Engine, EngineError};
use crate::store::{AfterRollback, ArtifactRecord, DraftRecord};
use crate::workflow::{Gate, Phase, Workflow};

/// What a person decided at a gate. `option` names the workflow's own label
/// ("Issues found"); when absent, the gate's option with the matching action
/// is used.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approves the draft: it is copied to `artifacts/` and the run moves on.
    Proceed {
        option: Option<String>,
        by: String,
        note: Option<String>,
    },
    /// Sends the draft back; the next revision is drafted with `feedback`.
    Revise {
        option: Option<String>,
        by: String,
        feedback: String,
    },
    /// Undoes a step; `then` says whether the run goes on or aborts.
    Rollback {
        option: Option<String>,
        by: String,
        reason: String,
        then: AfterRollback,
    },
    /// Ends the run.
    Abort {
        option: Option<String>,
        by: String,
        reason: String,
    },
    /// A person replaced the draft; the gate asks again.
    Edit { by: String, text: String },
    /// Save and stop without deciding.
    Quit,
}

/// Everything a reviewer needs to decide at a gate.
pub struct GateView<'a> {
    pub run_id: &'a str,
    pub workflow: &'a Workflow,
    pub phase: &'a Phase,
    pub gate: &'a Gate,
    pub artifact: &'a ArtifactRecord,
    pub draft: &'a DraftRecord,
    pub draft_text: String,
    /// The draft before this one, when this is a revision, so the gate can
    /// show what changed.
    pub previous_text: Option<String>,
    /// Where the draft is, for an editor or a later command.
    pub draft_path: PathBuf,
}

/// The human side of a gate. The terminal implements it; tests script it.
pub trait Reviewer {
    /// Asks a person at the gate shown in `view`. [`Decision::Quit`] leaves
    /// the draft pending for a later command.
    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError>;
}

impl Engine {
    /// What the gate of the artifact at `artifact_index` shows: its latest
    /// draft and, for a revision, the draft before it.
    pub(super) fn gate_view(&self, artifact_index: usize) -> Result<GateView<'_>, EngineError> {
        let rec = &self.state.artifacts[artifact_index];
        let phase = &self.loaded.workflow.phases[rec.phase_index];
        let gate = phase
            .gate
            .as_ref()
            .ok_or_else(|| EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: "phase has no gate".into(),
            })?;
        let draft = self.latest_draft_of(rec)?;
        let previous_text = match rec.drafts.len() {
            n if n >= 2 => Some(self.run.read(&rec.drafts[n - 2].path)?),
            _ => None,
        };
        Ok(GateView {
            run_id: &self.state.run_id,
            workflow: &self.loaded.workflow,
            phase,
            gate,
            artifact: rec,
            draft,
            draft_text: self.run.read(&draft.path)?,
            previous_text,
            draft_path: self.run.path().join(&draft.path),
        })
    }
}
