//! The human side of a gate: the [`Reviewer`] trait, the [`GateView`] it is
//! shown and the [`Decision`] it returns. The engine knows people only
//! through this trait.

use std::path::PathBuf;

use super::{Engine, EngineError};
use crate::evidence::StepCard;
use crate::store::{AfterRollback, ArtifactRecord, DraftRecord, EvidenceRecord};
use crate::workflow::{Gate, GateAction, GateOption, Phase, Workflow};

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
    /// Sends the work back to an earlier phase: its artifact is redrafted
    /// with `feedback`, then everything that depends on it up to this gate
    /// (see `loop_back.rs`). `to_phase` picks among the phases the option
    /// names; it may be left out when it names one.
    SendBack {
        option: Option<String>,
        by: String,
        feedback: String,
        to_phase: Option<u32>,
    },
    /// Undoes a step; `then` says whether the run goes on or aborts.
    Rollback {
        option: Option<String>,
        by: String,
        reason: String,
        then: AfterRollback,
    },
    /// Starts rolling a step back: the rollback's evidence comes next, then
    /// the choice to continue or abort (a [`Decision::Rollback`]).
    BeginRollback {
        option: Option<String>,
        by: String,
        reason: String,
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

/// What a person gives with a gate option beyond choosing it: a note to
/// approve with, feedback to revise with, a reason to roll back or abort,
/// and after a rollback whether the run goes on.
#[derive(Debug, Clone, Default)]
pub struct OptionDetails {
    pub note: Option<String>,
    pub feedback: Option<String>,
    pub reason: Option<String>,
    pub then: Option<AfterRollback>,
    /// For an option that sends the work back to one of several phases:
    /// which one.
    pub to_phase: Option<u32>,
}

/// What an option still needs before it is a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingDetail {
    Feedback,
    Reason,
}

impl std::fmt::Display for MissingDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MissingDetail::Feedback => "feedback for the next draft",
            MissingDetail::Reason => "a reason",
        })
    }
}

impl Decision {
    /// The decision a workflow's gate option makes, with what the person
    /// gave. This is the one mapping from an option to a decision: the gate
    /// at the terminal and the `decide` command both use it, and the engine
    /// checks the option again when it applies the decision.
    pub fn for_option(
        option: &GateOption,
        by: String,
        details: OptionDetails,
    ) -> Result<Decision, MissingDetail> {
        let label = Some(option.label.clone());
        Ok(match option.action {
            GateAction::Proceed => Decision::Proceed {
                option: label,
                by,
                note: details.note,
            },
            GateAction::Revise => Decision::Revise {
                option: label,
                by,
                feedback: details.feedback.ok_or(MissingDetail::Feedback)?,
            },
            GateAction::SendBack => Decision::SendBack {
                option: label,
                by,
                feedback: details.feedback.ok_or(MissingDetail::Feedback)?,
                // One phase named: it is the choice.
                to_phase: details.to_phase.or(match option.targets.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }),
            },
            GateAction::Rollback => {
                let reason = details.reason.ok_or(MissingDetail::Reason)?;
                match details.then {
                    Some(then) => Decision::Rollback {
                        option: label,
                        by,
                        reason,
                        then,
                    },
                    // Without the choice yet, the rollback starts: its
                    // evidence is gathered before anyone chooses.
                    None => Decision::BeginRollback {
                        option: label,
                        by,
                        reason,
                    },
                }
            }
            GateAction::Abort => Decision::Abort {
                option: label,
                by,
                reason: details.reason.ok_or(MissingDetail::Reason)?,
            },
        })
    }
}

/// What a reviewer at a terminal is shown while a step waits for evidence.
pub struct EvidenceView<'a> {
    pub run_id: &'a str,
    pub card: &'a StepCard,
    /// What is recorded so far.
    pub items: &'a [EvidenceRecord],
    /// The step is the plan's point of no return and nobody confirmed yet.
    pub point_of_no_return_pending: bool,
    /// The card's next command to offer (0-based), while commands may run:
    /// from `card.commands`, or from `card.rollback_commands` when rolling
    /// back.
    pub next_command: Option<usize>,
    /// The step is being rolled back: this is the rollback's evidence.
    pub rollback: bool,
    /// Where commands run.
    pub cwd: &'a std::path::Path,
}

/// A reviewer's answer while a step waits for evidence. Commands run only
/// on a `RunCommand` a person gave.
#[derive(Debug, Clone)]
pub enum EvidenceAnswer {
    ConfirmPointOfNoReturn {
        by: String,
    },
    RunCommand {
        index: usize,
        by: String,
    },
    SkipCommand {
        index: usize,
    },
    Note {
        text: String,
        by: String,
    },
    NoEvidence {
        reason: String,
        by: String,
    },
    /// Draft the result from what is recorded.
    Done,
    /// Stop for now; the step keeps waiting.
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

/// A phase an option may send the work back to, as a person is asked to
/// choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseChoice {
    pub number: u32,
    pub name: String,
    /// The artifact the phase produces, reopened if it is chosen.
    pub artifact: String,
}

/// The human side of a gate. The terminal implements it; tests script it.
pub trait Reviewer {
    /// Asks a person at the gate shown in `view`. [`Decision::Quit`] leaves
    /// the draft pending for a later command.
    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError>;

    /// Asks a person for a step's evidence, one question at a time. A
    /// reviewer that cannot gather evidence stops, and the step keeps
    /// waiting for `migagent evidence`.
    fn evidence(&mut self, view: &EvidenceView<'_>) -> Result<EvidenceAnswer, EngineError> {
        let _ = view;
        Ok(EvidenceAnswer::Quit)
    }

    /// The option chosen at `view`'s gate sends the work back to one of
    /// several phases: which one. `None` decides nothing, and the gate stays
    /// pending for `decide --option LABEL --to-phase N`. A reviewer that
    /// cannot ask never picks one for the person.
    fn choose_phase(
        &mut self,
        view: &GateView<'_>,
        option: &GateOption,
        choices: &[PhaseChoice],
    ) -> Result<Option<u32>, EngineError> {
        let _ = (view, option, choices);
        Ok(None)
    }

    /// After a rollback's evidence: continue with the next step or abort
    /// the run, and who chose. `None` stops for now; the choice can be made
    /// later with `decide --then`.
    fn after_rollback(
        &mut self,
        card: &StepCard,
    ) -> Result<Option<(AfterRollback, String)>, EngineError> {
        let _ = card;
        Ok(None)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn option(label: &str, action: GateAction) -> GateOption {
        GateOption {
            label: label.into(),
            description: String::new(),
            action,
            targets: Vec::new(),
            line: 1,
        }
    }

    #[test]
    fn each_option_maps_to_its_decision_or_names_what_it_lacks() {
        let by = || "ana".to_string();
        let d = Decision::for_option(
            &option("Looks good", GateAction::Proceed),
            by(),
            OptionDetails::default(),
        );
        assert!(
            matches!(d, Ok(Decision::Proceed { option: Some(ref l), ref by, note: None }) if l == "Looks good" && by == "ana"),
            "{d:?}"
        );
        let revise = option("Issues found", GateAction::Revise);
        assert_eq!(
            Decision::for_option(&revise, by(), OptionDetails::default()).err(),
            Some(MissingDetail::Feedback)
        );
        let rollback = option("Rollback", GateAction::Rollback);
        let reason_only = OptionDetails {
            reason: Some("lag".into()),
            ..OptionDetails::default()
        };
        assert_eq!(
            Decision::for_option(&rollback, by(), OptionDetails::default()).err(),
            Some(MissingDetail::Reason)
        );
        let d = Decision::for_option(&rollback, by(), reason_only.clone());
        assert!(
            matches!(d, Ok(Decision::BeginRollback { ref reason, .. }) if reason == "lag"),
            "{d:?}"
        );
        let d = Decision::for_option(
            &rollback,
            by(),
            OptionDetails {
                then: Some(AfterRollback::Continue),
                ..reason_only.clone()
            },
        );
        assert!(
            matches!(d, Ok(Decision::Rollback { ref reason, then: AfterRollback::Continue, .. }) if reason == "lag"),
            "{d:?}"
        );
        let d = Decision::for_option(&option("Stop", GateAction::Abort), by(), reason_only);
        assert!(matches!(d, Ok(Decision::Abort { .. })), "{d:?}");
    }
}
