//! The run's cursor: which artifact is next, moving past it, and the
//! `advance` loop that drafts until a gate needs a person.

use std::path::PathBuf;

use super::{Decision, DraftPin, Engine, EngineError, Outcome, Reviewer};
use crate::llm::{ModelClient, TokenSink};
use crate::store::{ArtifactRecord, ArtifactState, EventKind, RunStatus, StepProgress};
use crate::workflow::step::{self, Step};
use crate::workflow::InputKind;

impl Engine {
    /// The phase in progress, its step (for a per-step phase) and the id of
    /// the artifact it produces. Reads the plan's steps on entering a
    /// per-step phase.
    fn current_artifact(&mut self) -> Result<Option<(usize, Option<Step>, String)>, EngineError> {
        let index = self.state.phase_index;
        let Some(phase) = self.loaded.workflow.phases.get(index).cloned() else {
            return Ok(None);
        };
        let Some(output) = phase.output.as_ref() else {
            return Ok(None);
        };
        if !output.per_step {
            return Ok(Some((index, None, output.id.clone())));
        }
        let entering_phase = self
            .state
            .steps
            .as_ref()
            .is_none_or(|s| s.phase_index != index);
        if entering_phase {
            let plan_id = match self.loaded.workflow.plan_for(&phase).map(|i| &i.kind) {
                Some(InputKind::Artifact(id)) => id.clone(),
                _ => {
                    return Err(EngineError::EmptyPlan {
                        plan: "(none)".into(),
                        phase: phase.number,
                    })
                }
            };
            let plan_text = self.approved_text(&plan_id, phase.number)?;
            let steps = step::steps(&plan_text);
            if steps.is_empty() {
                return Err(EngineError::EmptyPlan {
                    plan: plan_id,
                    phase: phase.number,
                });
            }
            self.state.steps = Some(StepProgress {
                phase_index: index,
                plan: plan_id,
                steps,
                current: 0,
            });
            self.save()?;
        }
        let progress = self.state.steps.as_ref();
        let step = progress.and_then(|p| p.steps.get(p.current)).cloned();
        match step {
            Some(step) => {
                let id = step::step_artifact_id(&output.id, &step);
                Ok(Some((index, Some(step), id)))
            }
            None => Ok(None),
        }
    }

    /// Where a plan's written step numbers disagree with the order of its
    /// steps (a number twice, one skipped, two swapped), as problems for the
    /// plan's own gate: steps are taken in the order they appear, so the
    /// person approving the plan sees which step will be which. Empty for
    /// an artifact that is no per-step phase's plan.
    pub(super) fn plan_numbering_problems(
        &self,
        artifact_index: usize,
        markdown: &str,
    ) -> Vec<String> {
        let id = &self.state.artifacts[artifact_index].id;
        let workflow = &self.loaded.workflow;
        let is_plan = workflow.phases.iter().filter(|p| p.is_per_step()).any(|p| {
            matches!(workflow.plan_for(p).map(|i| &i.kind), Some(InputKind::Artifact(plan)) if plan == id)
        });
        if is_plan {
            step::numbering_problems(markdown)
        } else {
            Vec::new()
        }
    }

    /// The index of artifact `id`'s record, added (as `Drafting`) when the
    /// cursor first reaches it. A step's artifact is titled after its step,
    /// so lists show which step it is.
    pub(super) fn find_or_add_record(
        &mut self,
        id: &str,
        phase_index: usize,
        step: Option<&Step>,
    ) -> usize {
        if let Some(i) = self.state.artifacts.iter().position(|a| a.id == id) {
            return i;
        }
        let phase = &self.loaded.workflow.phases[phase_index];
        let title = phase.output.as_ref().map_or(String::new(), |o| match step {
            Some(s) => format!("{} ({})", step::step_title(&o.title, s), s.name),
            None => o.title.clone(),
        });
        self.state.artifacts.push(ArtifactRecord {
            id: id.to_string(),
            title,
            phase_index,
            step: step.cloned(),
            // A step's result is drafted from what really happened, so a
            // step starts by waiting for evidence, never with a draft.
            state: if step.is_some() {
                ArtifactState::AwaitingEvidence
            } else {
                ArtifactState::Drafting
            },
            drafts: Vec::new(),
            pending_feedback: None,
            findings: Vec::new(),
            approval: None,
            rollback: None,
            evidence: Vec::new(),
            point_of_no_return_confirmed_by: None,
            rolling_back: None,
        });
        self.state.artifacts.len() - 1
    }

    /// Moves past the current artifact, journals the run's completion when
    /// that was the last, and saves.
    pub(super) fn advance_cursor(&mut self) -> Result<(), EngineError> {
        if self.move_cursor() {
            self.journal(EventKind::Completed)?;
        }
        self.save()
    }

    /// Moves the cursor past the current artifact, in the state only: the
    /// next step of a per-step phase, or the next phase, or completion
    /// (`true`; the caller journals it).
    pub(super) fn move_cursor(&mut self) -> bool {
        let index = self.state.phase_index;
        if let Some(progress) = self.state.steps.as_mut().filter(|p| p.phase_index == index) {
            progress.current += 1;
            if progress.current < progress.steps.len() {
                return false;
            }
        }
        self.state.phase_index += 1;
        if self.state.phase_index >= self.loaded.workflow.phases.len() {
            self.state.status = RunStatus::Complete;
            return true;
        }
        false
    }

    /// Drafts until a gate needs a person. With a reviewer, asks it at each
    /// gate and goes on; without one, stops at the first gate.
    pub async fn advance<M: ModelClient>(
        &mut self,
        model: &M,
        mut reviewer: Option<&mut dyn Reviewer>,
        sink: &mut dyn TokenSink,
    ) -> Result<Outcome, EngineError> {
        // Nothing changed by hand is sent to the model or passed on.
        self.check_untampered()?;
        loop {
            match self.state.status {
                RunStatus::Complete => return Ok(Outcome::Complete),
                RunStatus::Aborted => return Ok(Outcome::Aborted),
                RunStatus::Active => {}
            }
            let Some((phase_index, step, id)) = self.current_artifact()? else {
                self.state.status = RunStatus::Complete;
                self.journal(EventKind::Completed)?;
                self.save()?;
                return Ok(Outcome::Complete);
            };
            let artifact_index = self.find_or_add_record(&id, phase_index, step.as_ref());
            match self.state.artifacts[artifact_index].state {
                ArtifactState::AwaitingEvidence => {
                    if let Some(reviewer) = reviewer.as_deref_mut() {
                        let cwd =
                            std::env::current_dir().map_err(|source| EngineError::Context {
                                path: PathBuf::from("."),
                                source,
                            })?;
                        if !self.collect_evidence(artifact_index, reviewer, &cwd)? {
                            return Ok(Outcome::AwaitingEvidence { artifact: id });
                        }
                    }
                    let rec = &self.state.artifacts[artifact_index];
                    if rec.evidence.is_empty() || self.needs_point_of_no_return(artifact_index) {
                        // The step's record may be new: keep it, so `status`
                        // and `evidence` find the step waiting.
                        self.save()?;
                        return Ok(Outcome::AwaitingEvidence { artifact: id });
                    }
                    self.state.artifacts[artifact_index].state = ArtifactState::Drafting;
                    self.save()?;
                }
                ArtifactState::RollingBack => {
                    let Some(reviewer) = reviewer.as_deref_mut() else {
                        return Ok(Outcome::RollingBack { artifact: id });
                    };
                    let cwd = std::env::current_dir().map_err(|source| EngineError::Context {
                        path: PathBuf::from("."),
                        source,
                    })?;
                    if !self.collect_evidence(artifact_index, reviewer, &cwd)? {
                        return Ok(Outcome::RollingBack { artifact: id });
                    }
                    let card = self.card_for(artifact_index)?;
                    let Some((then, by)) = reviewer.after_rollback(&card)? else {
                        return Ok(Outcome::RollingBack { artifact: id });
                    };
                    let option = self.state.artifacts[artifact_index]
                        .rolling_back
                        .as_ref()
                        .map(|s| s.option.clone());
                    self.apply(Decision::Rollback {
                        option,
                        by,
                        // Empty: the rollback keeps the reason it started with.
                        reason: String::new(),
                        then,
                    })?;
                }
                ArtifactState::Stale => {
                    // Reached again after a send-back: redrafted with the
                    // reason kept in `pending_feedback`, then decided at its
                    // own gate.
                    self.state.artifacts[artifact_index].state = ArtifactState::Drafting;
                    self.save()?;
                }
                ArtifactState::Drafting => {
                    self.draft(model, phase_index, step.as_ref(), artifact_index, sink)
                        .await?;
                }
                ArtifactState::AwaitingDecision => {
                    let has_gate = self.loaded.workflow.phases[phase_index].gate.is_some();
                    if !has_gate {
                        self.accept_ungated(artifact_index)?;
                        continue;
                    }
                    let path = self.draft_path(artifact_index);
                    let Some(reviewer) = reviewer.as_deref_mut() else {
                        return Ok(Outcome::AwaitingDecision { artifact: id, path });
                    };
                    let (decision, shown) = {
                        let view = self.gate_view(artifact_index)?;
                        let decision = reviewer.review(&view)?;
                        // An option that sends the work back to one of
                        // several phases asks which; no answer, no decision.
                        let decision = self.ask_phase(reviewer, &view, decision)?;
                        (decision, DraftPin::exactly(view.draft))
                    };
                    let Some(decision) = decision.filter(|d| !matches!(d, Decision::Quit)) else {
                        return Ok(Outcome::Quit { artifact: id, path });
                    };
                    // Bound to the draft the gate showed, never to whatever
                    // is pending when the decision is applied.
                    self.apply_pinned(decision, &shown)?;
                }
                ArtifactState::Approved | ArtifactState::Accepted | ArtifactState::RolledBack => {
                    self.advance_cursor()?;
                }
            }
        }
    }

    /// The latest draft's file, which an [`Outcome`] points people to; the
    /// run folder when nothing is drafted yet.
    fn draft_path(&self, artifact_index: usize) -> PathBuf {
        let rec = &self.state.artifacts[artifact_index];
        rec.latest_draft().map_or_else(
            || self.run.path().to_path_buf(),
            |d| self.run.path().join(&d.path),
        )
    }

    /// A phase without a gate has nobody to decide: its draft is stored as
    /// accepted, so later phases can read it, and the run moves on.
    fn accept_ungated(&mut self, artifact_index: usize) -> Result<(), EngineError> {
        let id = self.state.artifacts[artifact_index].id.clone();
        self.promote(artifact_index, |p| {
            vec![EventKind::Accepted {
                artifact: id,
                revision: p.revision,
                sha256: p.sha256.clone(),
                reason: format!("phase has no gate; stored as {}", p.path),
                sources: p.sources.clone(),
                model: p.model.clone(),
                workflow_sha256: p.workflow_sha256.clone(),
            }]
        })?;
        self.state.artifacts[artifact_index].state = ArtifactState::Accepted;
        self.advance_cursor()
    }
}
