//! Decisions at a gate: `apply` records what a person decided on the
//! pending draft (bound to the draft they read, see `binding.rs`), and
//! `promote` journals an acceptance, then copies the draft to `artifacts/`.

use super::status::finished_status_name;
use super::{Decided, Decision, DraftCheck, DraftPin, Engine, EngineError};
use crate::store::{
    self, AfterRollback, Approval, ArtifactState, EventKind, Rollback, RollbackStart, RunStatus,
    SourceRecord,
};
use crate::workflow::{Gate, GateAction};

impl Engine {
    /// Journals `events` for the latest draft of the artifact at
    /// `artifact_index`, then copies the draft to `artifacts/ID.md`. The
    /// journal comes first: a kill before it decides nothing, a kill after
    /// it leaves a decision that opening the run finishes (the copy is made
    /// then), so `artifacts/` never holds a file the journal does not show
    /// accepted, and no decision is asked for twice.
    pub(super) fn promote(
        &mut self,
        artifact_index: usize,
        events: impl FnOnce(&Promoted) -> Vec<EventKind>,
    ) -> Result<Promoted, EngineError> {
        let rec = &self.state.artifacts[artifact_index];
        let draft = self.latest_draft_of(rec)?;
        let text = self.run.read(&draft.path)?;
        let sha256 = store::sha256_hex(text.as_bytes());
        // What is approved is the draft as recorded, or nothing: a hand
        // edit made after the checks of `apply` is caught here.
        if sha256 != draft.sha256 {
            return Err(self.draft_changed(&rec.id, draft, &sha256));
        }
        let model = draft
            .model
            .clone()
            .or_else(|| rec.drafts.iter().rev().find_map(|d| d.model.clone()));
        let promoted = Promoted {
            path: rec.approved_path(),
            sha256,
            revision: draft.revision,
            sources: draft.sources.clone(),
            model,
            workflow_sha256: self.state.workflow.sha256.clone(),
        };
        let id = rec.id.clone();
        self.journal_all(events(&promoted))?;
        self.run
            .write(&promoted.path, &text)
            .map_err(|source| EngineError::DecidedNotStored {
                run_id: self.state.run_id.clone(),
                artifact: id,
                path: promoted.path.clone(),
                source: Box::new(source),
            })?;
        Ok(promoted)
    }

    /// Records a decision on the pending draft, whichever it is (from a
    /// command that names no draft); returns the draft decided, `None` for
    /// [`Decision::Quit`].
    pub fn apply(&mut self, decision: Decision) -> Result<Option<Decided>, EngineError> {
        self.apply_pinned(decision, &DraftPin::default())
    }

    /// Records a decision on the pending draft if it is the one `pin`
    /// names, and refuses it otherwise: a person decides on what they read.
    /// The journal records the revision and sha256 of the draft decided.
    pub fn apply_pinned(
        &mut self,
        decision: Decision,
        pin: &DraftPin,
    ) -> Result<Option<Decided>, EngineError> {
        if self.state.status != RunStatus::Active {
            return Err(EngineError::Finished {
                run_id: self.state.run_id.clone(),
                status: finished_status_name(self.state.status),
            });
        }
        if matches!(decision, Decision::Quit) {
            return Ok(None);
        }
        // A decision binds to the record: a draft changed by hand is not
        // what the model wrote, so only an edit, which records the person's
        // own text as the next revision, may replace it. Aborting passes
        // nothing on, so a person who finds a run tampered with can stop it.
        let pending_draft = self
            .pending()
            .and_then(|a| a.latest_draft())
            .map(|d| d.path.clone());
        match decision {
            Decision::Abort { .. } => {}
            Decision::Edit { .. } => self.refuse_tampered(pending_draft.as_deref())?,
            _ => self.refuse_tampered(None)?,
        }
        let awaiting = self.state.artifacts.iter().rposition(|a| {
            matches!(
                a.state,
                ArtifactState::AwaitingDecision | ArtifactState::RollingBack
            )
        });
        // A run with no draft at a gate (one a dead server left before its
        // first draft, or between drafts) can still be stopped for good:
        // the abort is journalled with its reason like any other.
        if let (
            None,
            Decision::Abort {
                option: None,
                by,
                reason,
            },
        ) = (awaiting, &decision)
        {
            require_text(reason, "the reason for aborting")?;
            self.journal(EventKind::Aborted {
                reason: reason.clone(),
                by: by.clone(),
            })?;
            self.state.status = RunStatus::Aborted;
            self.save()?;
            return Ok(None);
        }
        let Some(artifact_index) = awaiting else {
            return Err(EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: "the next artifact has not been drafted".into(),
            });
        };
        let phase = &self.loaded.workflow.phases[self.state.artifacts[artifact_index].phase_index];
        let Some(gate) = phase.gate.clone() else {
            return Err(EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: "its phase has no gate; `migagent resume` accepts it".into(),
            });
        };
        let rec = &self.state.artifacts[artifact_index];
        let id = rec.id.clone();
        let (revision, sha256) = match rec.latest_draft() {
            Some(d) => {
                if !matches!(decision, Decision::Quit) {
                    pin.check(rec, d)?;
                }
                (d.revision, d.sha256.clone())
            }
            None => (0, String::new()),
        };
        let mut decided = Decided {
            artifact: id.clone(),
            revision,
            sha256: sha256.clone(),
            edited: None,
            option: None,
            check: DraftCheck::default(),
        };
        let started = rec.rolling_back.clone();
        // A step being rolled back takes only the rollback's end (or an
        // abort): its draft is no longer up for approval.
        if started.is_some()
            && !matches!(
                decision,
                Decision::Rollback { .. } | Decision::Abort { .. } | Decision::Quit
            )
        {
            return Err(EngineError::RollingBack {
                run_id: self.state.run_id.clone(),
                artifact: id,
            });
        }
        match decision {
            Decision::Quit => return Ok(None),
            Decision::BeginRollback { option, by, reason } => {
                require_text(&reason, "the rollback reason")?;
                if self.state.artifacts[artifact_index].step.is_none() || started.is_some() {
                    return Err(EngineError::RollbackNeedsThen { artifact: id });
                }
                let label = gate_option_label(&gate, &id, option.as_deref(), GateAction::Rollback)?;
                decided.option = Some(label.clone());
                self.journal(EventKind::RollbackStarted {
                    artifact: id,
                    revision,
                    sha256,
                    option: label.clone(),
                    reason: reason.clone(),
                    by: by.clone(),
                })?;
                let rec = &mut self.state.artifacts[artifact_index];
                rec.state = ArtifactState::RollingBack;
                rec.rolling_back = Some(RollbackStart {
                    option: label,
                    by,
                    at: store::now_rfc3339(),
                    reason,
                });
                self.save()?;
            }
            Decision::Edit { by, text } => {
                require_text(&text, "an edited draft")?;
                let replaced = (revision, sha256);
                decided.edited =
                    Some(self.save_edited_draft(artifact_index, id, by, &text, replaced)?);
            }
            Decision::Proceed { option, by, note } => {
                let label = gate_option_label(&gate, &id, option.as_deref(), GateAction::Proceed)?;
                let check = self.state.artifacts[artifact_index]
                    .latest_draft()
                    .map(DraftCheck::of)
                    .unwrap_or_default();
                decided.option = Some(label.clone());
                let promoted = self.promote(artifact_index, |p| {
                    vec![
                        EventKind::Decided {
                            artifact: id.clone(),
                            revision: p.revision,
                            sha256: p.sha256.clone(),
                            option: label.clone(),
                            action: GateAction::Proceed,
                            by: by.clone(),
                            problems: check.lines(),
                        },
                        EventKind::Approved {
                            artifact: id.clone(),
                            revision: p.revision,
                            approver: by.clone(),
                            sha256: p.sha256.clone(),
                            path: p.path.clone(),
                            note: note.clone(),
                            sources: p.sources.clone(),
                            model: p.model.clone(),
                            workflow_sha256: p.workflow_sha256.clone(),
                        },
                    ]
                })?;
                decided.check = check;
                let rec = &mut self.state.artifacts[artifact_index];
                rec.state = ArtifactState::Approved;
                rec.approval = Some(Approval {
                    option: label,
                    by,
                    at: store::now_rfc3339(),
                    note,
                    revision: promoted.revision,
                    sha256: promoted.sha256,
                    path: promoted.path,
                    sources: promoted.sources,
                    model: promoted.model,
                    workflow_sha256: promoted.workflow_sha256,
                    problems: decided.check.lines(),
                });
                self.advance_cursor()?;
            }
            Decision::Revise {
                option,
                by,
                feedback,
            } => {
                require_text(&feedback, "feedback")?;
                let label = gate_option_label(&gate, &id, option.as_deref(), GateAction::Revise)?;
                decided.option = Some(label.clone());
                self.journal_all(vec![
                    EventKind::Decided {
                        artifact: id.clone(),
                        revision,
                        sha256: sha256.clone(),
                        option: label,
                        action: GateAction::Revise,
                        by: by.clone(),
                        problems: Vec::new(),
                    },
                    EventKind::Revised {
                        artifact: id,
                        revision,
                        sha256,
                        feedback: feedback.clone(),
                        by,
                    },
                ])?;
                let rec = &mut self.state.artifacts[artifact_index];
                rec.pending_feedback = Some(feedback);
                rec.state = ArtifactState::Drafting;
                self.save()?;
            }
            Decision::SendBack {
                option,
                by,
                feedback,
                to_phase,
            } => {
                decided.option = Some(self.send_back(
                    artifact_index,
                    &gate,
                    option.as_deref(),
                    by,
                    feedback,
                    to_phase,
                )?)
            }
            Decision::Rollback {
                option,
                by,
                reason,
                then,
            } => {
                // Ending a rollback that was started keeps its reason.
                let reason = match &started {
                    Some(s) if reason.trim().is_empty() => s.reason.clone(),
                    _ => reason,
                };
                require_text(&reason, "the rollback reason")?;
                let label = gate_option_label(&gate, &id, option.as_deref(), GateAction::Rollback)?;
                decided.option = Some(label.clone());
                let mut events = vec![
                    EventKind::Decided {
                        artifact: id.clone(),
                        revision,
                        sha256,
                        option: label.clone(),
                        action: GateAction::Rollback,
                        by: by.clone(),
                        problems: Vec::new(),
                    },
                    EventKind::RolledBack {
                        artifact: id,
                        reason: reason.clone(),
                        then,
                        by: by.clone(),
                    },
                ];
                if then == AfterRollback::Abort {
                    events.push(EventKind::Aborted {
                        reason: format!("after rollback: {reason}"),
                        by: by.clone(),
                    });
                }
                self.journal_all(events)?;
                let rec = &mut self.state.artifacts[artifact_index];
                rec.state = ArtifactState::RolledBack;
                rec.rollback = Some(Rollback {
                    option: label,
                    by,
                    at: store::now_rfc3339(),
                    reason,
                    then,
                });
                match then {
                    AfterRollback::Continue => self.advance_cursor()?,
                    AfterRollback::Abort => {
                        self.state.status = RunStatus::Aborted;
                        self.save()?;
                    }
                }
            }
            Decision::Abort { option, by, reason } => {
                require_text(&reason, "the reason for aborting")?;
                let mut events = Vec::new();
                if let Some(label) = option {
                    let label =
                        gate_option_label(&gate, &id, Some(label.as_str()), GateAction::Abort)?;
                    decided.option = Some(label.clone());
                    events.push(EventKind::Decided {
                        artifact: id,
                        revision,
                        sha256,
                        option: label,
                        action: GateAction::Abort,
                        by: by.clone(),
                        problems: Vec::new(),
                    });
                }
                events.push(EventKind::Aborted { reason, by });
                self.journal_all(events)?;
                self.state.status = RunStatus::Aborted;
                self.save()?;
            }
        }
        Ok(Some(decided))
    }
}

/// The label of the gate option a decision goes through. A decision that
/// names an option must name one of this gate's options with the decision's
/// own action, so a label cannot smuggle in a different action; one that
/// names none takes the gate's option for its action.
pub(super) fn gate_option_label(
    gate: &Gate,
    artifact: &str,
    option: Option<&str>,
    action: GateAction,
) -> Result<String, EngineError> {
    let available = gate
        .options
        .iter()
        .map(|o| o.label.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    match option {
        Some(label) => match gate.option_named(label) {
            Some(o) if o.action == action => Ok(o.label.clone()),
            _ => Err(EngineError::NoSuchOption {
                artifact: artifact.to_string(),
                label: label.to_string(),
                available,
            }),
        },
        None => gate
            .option_for(action)
            .map(|o| o.label.clone())
            .ok_or_else(|| EngineError::NoOptionFor {
                artifact: artifact.to_string(),
                action: action.to_string(),
                available,
            }),
    }
}

/// An artifact copied to `artifacts/`.
pub(super) struct Promoted {
    pub(super) path: String,
    pub(super) sha256: String,
    pub(super) revision: u32,
    /// What its draft was made from, the model and the workflow, carried
    /// into the approval.
    pub(super) sources: Vec<SourceRecord>,
    pub(super) model: Option<String>,
    pub(super) workflow_sha256: String,
}

/// Feedback, reasons and edits must say something.
pub(super) fn require_text(text: &str, what: &str) -> Result<(), EngineError> {
    if text.trim().is_empty() {
        Err(EngineError::EmptyText { what: what.into() })
    } else {
        Ok(())
    }
}
