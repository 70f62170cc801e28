//! Options that send the work back to an earlier phase ("revise contract in
//! Phase 2, then re-present at Phase 3").
//!
//! What a send-back does:
//!
//! - the named phase's artifact is reopened: marked stale, and redrafted
//!   with the person's feedback when the run reaches it again (a per-step
//!   phase reopens every approved step, each redrafted from the evidence
//!   already recorded for it: the steps were carried out, so they are
//!   reported again, not run again);
//! - every artifact after it, up to the gate, whose inputs include it
//!   directly or through other artifacts is marked stale too, and so is the
//!   gate's own draft; each is redrafted in order, at its own gate, until
//!   the gate that sent the work back is presented again. Artifacts that do
//!   not depend on the reopened one stay approved;
//! - a stale artifact keeps its earlier approval (in `run.json`, in the
//!   journal and in `artifacts/` until a new approval replaces it), but it
//!   never feeds a draft: only approved and accepted artifacts are inputs;
//! - the plan of a per-step phase that was carried out is never redrafted:
//!   `workflows validate` refuses such an option, and so does this module.
//!
//! The decision, the send-back and every artifact it marks stale are
//! journalled together, then the state is saved. A kill between the two
//! leaves a journal ahead of the state; opening the run again rolls the
//! send-back forward from the journal (`reconcile.rs`, with
//! [`Engine::replay_send_back`]), so the decision is neither lost nor asked
//! for twice. Runs saved by earlier versions, whose state does not say how
//! far into the journal it goes, are finished by
//! [`Engine::finish_interrupted_send_back`].

use super::decide::{gate_option_label, require_text};
use super::reviewer::{GateView, PhaseChoice};
use super::{Decision, Engine, EngineError, Reviewer};
use crate::store::{ArtifactState, EventKind};
use crate::workflow::{Gate, GateAction, GateOption};

/// What a send-back changes, worked out before anything is recorded, so the
/// journal and the state say the same thing.
struct SendBackPlan {
    /// The phase index the cursor goes back to.
    target: usize,
    /// The reopened phase's artifact id, as the workflow names it.
    target_artifact: String,
    /// Each artifact to redraft (its index in the run) with the feedback its
    /// redraft answers, and the revision its earlier approval was of.
    stale: Vec<(usize, String, Option<u32>)>,
}

/// A send-back as decided: enough to replay it from the journal.
struct SendBack<'a> {
    from: usize,
    to_phase: u32,
    option: &'a str,
    feedback: &'a str,
}

impl Engine {
    /// Records that the gate of the artifact at `from` sends the work back,
    /// and moves the run there.
    pub(super) fn send_back(
        &mut self,
        from: usize,
        gate: &Gate,
        option: Option<&str>,
        by: String,
        feedback: String,
        to_phase: Option<u32>,
    ) -> Result<String, EngineError> {
        require_text(&feedback, "feedback")?;
        let rec = &self.state.artifacts[from];
        let id = rec.id.clone();
        let (revision, sha256) = rec
            .latest_draft()
            .map_or((0, String::new()), |d| (d.revision, d.sha256.clone()));
        let label = gate_option_label(gate, &id, option, GateAction::SendBack)?;
        let chosen = gate
            .option_named(&label)
            .ok_or_else(|| EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: format!("the gate of {id} lost option '{label}'"),
            })?;
        let to_phase = self.target_phase(&id, chosen, to_phase)?;
        let send = SendBack {
            from,
            to_phase,
            option: &label,
            feedback: &feedback,
        };
        let plan = self.plan_send_back(&send)?;
        let mut events = vec![
            EventKind::Decided {
                artifact: id.clone(),
                revision,
                sha256: sha256.clone(),
                option: label.clone(),
                action: GateAction::SendBack,
                by: by.clone(),
                problems: Vec::new(),
            },
            EventKind::SentBack {
                from_artifact: id.clone(),
                revision,
                sha256,
                to_phase,
                to_artifact: plan.target_artifact.clone(),
                option: label.clone(),
                by,
                reason: feedback.clone(),
            },
        ];
        events.extend(
            plan.stale
                .iter()
                .map(|(i, _, approved)| EventKind::MarkedStale {
                    artifact: self.state.artifacts[*i].id.clone(),
                    approved_revision: *approved,
                    because: format!(
                        "the gate of [{id}] sent the work back to Phase {to_phase} ([{}])",
                        plan.target_artifact
                    ),
                }),
        );
        self.journal_all(events)?;
        self.enact(plan, from);
        self.save()?;
        Ok(label)
    }

    /// The phase a send-back goes to: the one given, which must be one the
    /// option names, or the option's only one.
    fn target_phase(
        &self,
        artifact: &str,
        option: &GateOption,
        given: Option<u32>,
    ) -> Result<u32, EngineError> {
        let allowed = || {
            self.phase_choices(option)
                .iter()
                .map(|c| format!("{} ({})", c.number, c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (given, option.targets.as_slice()) {
            (Some(n), targets) if targets.contains(&n) => Ok(n),
            (None, [one]) => Ok(*one),
            (Some(n), _) => Err(EngineError::NoSuchSendBackPhase {
                artifact: artifact.to_string(),
                option: option.label.clone(),
                phase: n,
                allowed: allowed(),
            }),
            (None, _) => Err(EngineError::SendBackNeedsPhase {
                artifact: artifact.to_string(),
                option: option.label.clone(),
                allowed: allowed(),
            }),
        }
    }

    /// The phases `option` may send the work back to, as a person chooses
    /// among them.
    pub(super) fn phase_choices(&self, option: &GateOption) -> Vec<PhaseChoice> {
        let workflow = &self.loaded.workflow;
        option
            .targets
            .iter()
            .filter_map(|n| workflow.phase_index(*n).map(|i| &workflow.phases[i]))
            .map(|ph| PhaseChoice {
                number: ph.number,
                name: ph.name.clone(),
                artifact: ph.artifact_id().unwrap_or_default().to_string(),
            })
            .collect()
    }

    /// A reviewer's send-back that names no phase, from an option that
    /// names several: asks it which. `None` when it does not say; nothing is decided then.
    pub(super) fn ask_phase(
        &self,
        reviewer: &mut dyn Reviewer,
        view: &GateView<'_>,
        decision: Decision,
    ) -> Result<Option<Decision>, EngineError> {
        let Decision::SendBack {
            option: Some(label),
            by,
            feedback,
            to_phase: None,
        } = decision
        else {
            return Ok(Some(decision));
        };
        let Some(option) = view
            .gate
            .option_named(&label)
            .filter(|o| o.targets.len() > 1)
        else {
            // One phase named (or an unknown label, which `apply` refuses).
            return Ok(Some(Decision::SendBack {
                option: Some(label),
                by,
                feedback,
                to_phase: None,
            }));
        };
        let choices = self.phase_choices(option);
        let to_phase = reviewer.choose_phase(view, option, &choices)?;
        Ok(to_phase.map(|n| Decision::SendBack {
            option: Some(label),
            by,
            feedback,
            to_phase: Some(n),
        }))
    }

    /// Works out what sending the work back from the artifact at `from` to
    /// phase `to_phase` reopens and marks stale.
    fn plan_send_back(&self, send: &SendBack<'_>) -> Result<SendBackPlan, EngineError> {
        let workflow = &self.loaded.workflow;
        let from_rec = &self.state.artifacts[send.from];
        let gate = from_rec.phase_index;
        let target = workflow
            .phase_index(send.to_phase)
            .filter(|t| *t <= gate)
            .ok_or_else(|| EngineError::NoSuchSendBackPhase {
                artifact: from_rec.id.clone(),
                option: send.option.to_string(),
                phase: send.to_phase,
                allowed: "an earlier phase".into(),
            })?;
        let target_artifact = workflow.phases[target]
            .artifact_id()
            .unwrap_or_default()
            .to_string();
        if let Some((s, plan)) = workflow.send_back_blocker(target, gate) {
            return Err(EngineError::SendBackAcrossSteps {
                phase: send.to_phase,
                plan,
                steps_phase: workflow.phases[s].number,
            });
        }
        let dependents = workflow.dependents(target);
        let from_id = from_rec.id.clone();
        let mut stale = Vec::new();
        for (i, rec) in self.state.artifacts.iter().enumerate() {
            let approved = match rec.state {
                ArtifactState::Approved => rec.approval.as_ref().map(|a| a.revision),
                ArtifactState::Accepted => rec.latest_draft().map(|d| d.revision),
                _ => None,
            };
            let feedback = if i == send.from {
                format!(
                    "The work was sent back from this gate to Phase {} ([{target_artifact}]), and what depends on it was redrafted. Redraft this artifact against the revised inputs. The reason given at this gate: {}",
                    send.to_phase, send.feedback
                )
            } else if approved.is_none() {
                continue;
            } else if rec.phase_index == target {
                format!(
                    "{}\n\n(Sent back to this phase from the gate of [{from_id}], option '{}'.)",
                    send.feedback, send.option
                )
            } else if rec.phase_index > target
                && rec.phase_index <= gate
                && dependents.contains(&rec.phase_index)
            {
                format!(
                    "[{target_artifact}], an input of this artifact, was sent back for revision from the gate of [{from_id}]. Redraft this artifact to match the revised inputs. The reason given: {}",
                    send.feedback
                )
            } else {
                continue;
            };
            stale.push((i, feedback, approved));
        }
        if !stale
            .iter()
            .any(|(i, _, _)| self.state.artifacts[*i].phase_index == target && *i != send.from)
        {
            return Err(EngineError::NothingToReopen {
                phase: send.to_phase,
            });
        }
        Ok(SendBackPlan {
            target,
            target_artifact,
            stale,
        })
    }

    /// Applies a journalled send-back to the state (the caller saves it):
    /// marks the artifacts stale and moves the cursor back to the reopened
    /// phase.
    fn enact(&mut self, plan: SendBackPlan, from: usize) {
        let gate = self.state.artifacts[from].phase_index;
        for (i, feedback, _) in plan.stale {
            let rec = &mut self.state.artifacts[i];
            rec.state = ArtifactState::Stale;
            rec.pending_feedback = Some(feedback);
            // A panel reviews the new inputs afresh.
            rec.findings.clear();
        }
        self.state.phase_index = plan.target;
        // A per-step phase in the range is walked again from its first step:
        // stale steps are redrafted, the others passed over.
        if let Some(steps) = self
            .state
            .steps
            .as_mut()
            .filter(|s| (plan.target..=gate).contains(&s.phase_index))
        {
            steps.current = 0;
        }
    }

    /// Applies to the state a `sent_back` event the journal holds and the
    /// state does not (the caller saves): its plan is worked out again from
    /// the same state, so the same artifacts are marked stale. `false` when
    /// the event does not fit the state (its draft is no longer pending).
    pub(super) fn replay_send_back(
        &mut self,
        event: &serde_json::Value,
    ) -> Result<bool, EngineError> {
        let from_id = event["from_artifact"].as_str().unwrap_or_default();
        let revision = event["revision"].as_u64();
        let Some(from) = self.state.artifacts.iter().position(|a| {
            a.id == from_id
                && a.state == ArtifactState::AwaitingDecision
                && a.latest_draft().map(|d| u64::from(d.revision)) == revision
        }) else {
            return Ok(false);
        };
        let to_phase = event["to_phase"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let option = event["option"].as_str().unwrap_or_default().to_string();
        let feedback = event["reason"].as_str().unwrap_or_default().to_string();
        tracing::info!(
            artifact = from_id,
            to_phase,
            "finishing a send-back the journal holds"
        );
        let plan = self.plan_send_back(&SendBack {
            from,
            to_phase,
            option: &option,
            feedback: &feedback,
        })?;
        self.enact(plan, from);
        Ok(true)
    }

    /// Finishes a send-back that was journalled but not saved to the state
    /// (a kill between the two) in a run saved by an earlier version, whose
    /// state does not say how far into the journal it goes: the journal's
    /// last `sent_back` names a draft that still awaits a decision at the
    /// same revision. Nothing is journalled twice. `true` when the state
    /// changed (the caller saves).
    pub(super) fn finish_interrupted_send_back(
        &mut self,
        journal: &[serde_json::Value],
    ) -> Result<bool, EngineError> {
        match journal.iter().rev().find(|e| e["event"] == "sent_back") {
            Some(event) => self.replay_send_back(event),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests;
