//! The run engine: drafts each phase's artifact through a [`ModelClient`],
//! stops at each gate for a [`Reviewer`] (or for a later command), and
//! records every step in the run store.
//!
//! The engine is the only place that moves a run forward. It never passes a
//! gate on its own: a gated artifact leaves `awaiting_decision` only through a
//! [`Decision`] that names a person.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::artifact_schema::sections::missing_sections;
use crate::artifact_schema::{ArtifactSchema, Bounds};
use crate::library::validate::{self, LoadError, LoadedWorkflow};
use crate::library::{self, Library, LibraryError, Origin};
use crate::llm::{
    Capabilities, ChatRequest, Completion, ModelClient, ModelError, StructuredRequest, TokenSink,
};
use crate::markdown::strip_outer_fence;
use crate::prompt::{
    ArtifactInfo, DraftContext, Finding, InputSource, JsonInfo, MemberInfo, PanelInfo, PhaseInfo,
    PromptAssembler, PromptError, PromptInput, ReviewContext, RevisionInfo, StepInfo,
    SystemContext,
};
use crate::store::{
    self, AfterRollback, Approval, ArtifactRecord, ArtifactState, ContextRecord, DraftFormat,
    DraftRecord, DraftSource, EventKind, FindingRecord, JournalEvent, ModelRecord, Rollback,
    RunDir, RunState, RunStatus, RunStore, StepProgress, StoreError, WorkflowRecord,
};
use crate::workflow::step::{self, Step};
use crate::workflow::{DirectiveKind, Gate, GateAction, InputKind, Phase, Workflow};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("drafting {artifact} in run '{run_id}': {source}. The run is saved; fix the cause and `migagent resume {run_id}`")]
    Model {
        run_id: String,
        artifact: String,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("run '{run_id}': the workflow it follows no longer loads: {source}")]
    Workflow {
        run_id: String,
        #[source]
        source: LoadError,
    },
    #[error("run '{run_id}' is {status}; there is nothing to decide")]
    Finished { run_id: String, status: String },
    #[error("run '{run_id}' has no draft awaiting a decision ({state}); run `migagent resume {run_id}` to draft the next artifact")]
    NothingPending { run_id: String, state: String },
    #[error("the gate of {artifact} has no option '{label}'; its options are: {available}")]
    NoSuchOption {
        artifact: String,
        label: String,
        available: String,
    },
    #[error("the gate of {artifact} offers no option that does '{action}'; its options are: {available}")]
    NoOptionFor {
        artifact: String,
        action: String,
        available: String,
    },
    #[error("{what} cannot be empty: say what should change")]
    EmptyText { what: String },
    #[error("phase {phase} declares the input '{input}', and this run has none: pass --need TEXT or --need-file FILE")]
    MissingNeed { phase: u32, input: String },
    #[error("the approved plan {plan} lists no steps ('### Step 1: Name' headings), so phase {phase} has nothing to iterate over. The plan is approved; start a new run with a plan that lists its steps")]
    EmptyPlan { plan: String, phase: u32 },
    #[error("input {id} of phase {phase} is not approved yet")]
    InputNotApproved { id: String, phase: u32 },
    #[error("cannot read context file {path}: {source}")]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("at the gate: {0}")]
    Review(String),
    #[error("the inputs of {artifact} need about {need} tokens even after cutting every context file and shortening every approved artifact, and the server takes {have} tokens per request with {answer} kept for the answer. Raise the server's context (scripts/local-llm: MIGAGENT_LLM_CTX), lower max_tokens, or set context_tokens in the profile if the server takes more")]
    ContextTooSmall {
        artifact: String,
        need: u64,
        have: u32,
        answer: u32,
    },
}

/// What a person decided at a gate. `option` names the workflow's own label
/// ("Issues found"); when absent, the gate's option with the matching action
/// is used.
#[derive(Debug, Clone)]
pub enum Decision {
    Proceed {
        option: Option<String>,
        by: String,
        note: Option<String>,
    },
    Revise {
        option: Option<String>,
        by: String,
        feedback: String,
    },
    Rollback {
        option: Option<String>,
        by: String,
        reason: String,
        then: AfterRollback,
    },
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
    pub previous_text: Option<String>,
    pub draft_path: PathBuf,
}

/// The human side of a gate. The terminal implements it; tests script it.
pub trait Reviewer {
    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError>;
}

/// Where `advance` stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A draft waits for a decision (exit code 10).
    AwaitingDecision {
        artifact: String,
        path: PathBuf,
    },
    /// The reviewer chose to save and quit at a gate.
    Quit {
        artifact: String,
        path: PathBuf,
    },
    Complete,
    Aborted,
}

pub struct Engine {
    loaded: LoadedWorkflow,
    run: RunDir,
    state: RunState,
    prompts: PromptAssembler,
    bounds: Bounds,
}

/// What a new run starts from.
pub struct RunStart<'a> {
    pub run_id: &'a str,
    pub need: Option<String>,
    pub contexts: &'a [PathBuf],
    pub model: ModelRecord,
}

fn event(run_id: &str, kind: EventKind) -> JournalEvent {
    JournalEvent {
        at: store::now_rfc3339(),
        run_id: run_id.to_string(),
        kind,
    }
}

const SNAPSHOT: &str = "workflow.md";

impl Engine {
    /// Creates a run folder, snapshots the workflow and context files, and
    /// checks the run's inputs before any model call.
    pub fn start(
        loaded: LoadedWorkflow,
        runs: &RunStore,
        start: RunStart<'_>,
    ) -> Result<Engine, EngineError> {
        check_need(&loaded.workflow, start.need.as_deref())?;
        let prompts = PromptAssembler::load(&loaded.library)?;
        let run = runs.create(start.run_id)?;
        run.write(SNAPSHOT, &loaded.text)?;
        let library_root = loaded
            .library
            .roots()
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let library_root = std::fs::canonicalize(&library_root).unwrap_or(library_root);
        let mut state = RunState {
            version: 1,
            run_id: start.run_id.to_string(),
            workflow: WorkflowRecord {
                name: loaded.workflow.name.clone(),
                source: loaded.origin.to_string(),
                library_root,
                sha256: store::sha256_hex(loaded.text.as_bytes()),
                snapshot: SNAPSHOT.into(),
            },
            created_at: store::now_rfc3339(),
            updated_at: String::new(),
            need: start.need,
            contexts: Vec::new(),
            model: start.model.clone(),
            status: RunStatus::Active,
            phase_index: 0,
            steps: None,
            artifacts: Vec::new(),
        };
        run.journal(&event(
            start.run_id,
            EventKind::RunStarted {
                workflow: state.workflow.source.clone(),
                workflow_sha256: state.workflow.sha256.clone(),
                base_url: start.model.base_url.clone(),
                model: start.model.model.clone(),
            },
        ))?;
        run.save_state(&mut state)?;
        let mut engine = Engine {
            loaded,
            run,
            state,
            prompts,
            bounds: Bounds::default(),
        };
        engine.add_contexts(start.contexts)?;
        Ok(engine)
    }

    /// Opens an existing run, following the workflow snapshot it started with.
    pub fn open(runs: &RunStore, run_id: &str) -> Result<Engine, EngineError> {
        let run = runs.open(run_id)?;
        let state = run.load_state()?;
        let text = run.read(&state.workflow.snapshot)?;
        let library = Library::new(state.workflow.library_root.clone());
        let file = library::LibraryFile {
            rel: state.workflow.snapshot.clone(),
            origin: Origin::File(run.path().join(&state.workflow.snapshot)),
            text,
        };
        let loaded =
            validate::load_file(file, library).map_err(|source| EngineError::Workflow {
                run_id: run_id.to_string(),
                source,
            })?;
        let prompts = PromptAssembler::load(&loaded.library)?;
        Ok(Engine {
            loaded,
            run,
            state,
            prompts,
            bounds: Bounds::default(),
        })
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn workflow(&self) -> &Workflow {
        &self.loaded.workflow
    }

    pub fn run_dir(&self) -> &Path {
        self.run.path()
    }

    /// Records which server and model later drafts use.
    /// The limits of the schemas compiled from templates: a small model gets
    /// tighter ones, so a repetition loop ends early.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        self.bounds = bounds;
    }

    pub fn set_model(&mut self, model: ModelRecord) -> Result<(), EngineError> {
        self.state.model = model;
        self.save()
    }

    /// Copies context files into the run, so the record keeps exactly what the
    /// model was shown even if the originals change.
    pub fn add_contexts(&mut self, paths: &[PathBuf]) -> Result<(), EngineError> {
        for path in paths {
            let bytes = std::fs::read(path).map_err(|source| EngineError::Context {
                path: path.clone(),
                source,
            })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "context".into());
            let stored = format!("context/{:02}-{}", self.state.contexts.len() + 1, name);
            self.run.write(&stored, &text)?;
            let record = ContextRecord {
                original: path.display().to_string(),
                stored: stored.clone(),
                sha256: store::sha256_hex(text.as_bytes()),
                added_at: store::now_rfc3339(),
            };
            self.run.journal(&event(
                &self.state.run_id,
                EventKind::ContextAdded {
                    original: record.original.clone(),
                    stored,
                    sha256: record.sha256.clone(),
                },
            ))?;
            self.state.contexts.push(record);
            self.save()?;
        }
        Ok(())
    }

    fn save(&mut self) -> Result<(), EngineError> {
        self.run.save_state(&mut self.state)?;
        Ok(())
    }

    fn journal(&self, kind: EventKind) -> Result<(), EngineError> {
        self.journal_all(vec![kind])
    }

    /// Records the events of one decision together: all or none.
    fn journal_all(&self, kinds: Vec<EventKind>) -> Result<(), EngineError> {
        let events: Vec<JournalEvent> = kinds
            .into_iter()
            .map(|k| event(&self.state.run_id, k))
            .collect();
        self.run.journal_all(&events)?;
        Ok(())
    }

    /// The phase in progress, its step (for a per-step phase) and the id of
    /// the artifact it produces. Reads the plan's steps on entering a
    /// per-step phase.
    fn target(&mut self) -> Result<Option<(usize, Option<Step>, String)>, EngineError> {
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
        let fresh = self
            .state
            .steps
            .as_ref()
            .is_none_or(|s| s.phase_index != index);
        if fresh {
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

    fn record_index(&mut self, id: &str, phase_index: usize, step: Option<&Step>) -> usize {
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
            state: ArtifactState::Drafting,
            drafts: Vec::new(),
            pending_feedback: None,
            findings: Vec::new(),
            approval: None,
            rollback: None,
        });
        self.state.artifacts.len() - 1
    }

    fn approved_text(&self, id: &str, phase: u32) -> Result<String, EngineError> {
        let record = self.state.artifacts.iter().find(|a| a.id == id);
        match record {
            Some(r) if matches!(r.state, ArtifactState::Approved | ArtifactState::Accepted) => {
                Ok(self.run.read(&r.approved_path())?)
            }
            _ => Err(EngineError::InputNotApproved {
                id: id.to_string(),
                phase,
            }),
        }
    }

    /// Moves past the current artifact: the next step of a per-step phase, or
    /// the next phase, or completion.
    fn advance_cursor(&mut self) -> Result<(), EngineError> {
        let index = self.state.phase_index;
        if let Some(progress) = self.state.steps.as_mut().filter(|p| p.phase_index == index) {
            progress.current += 1;
            if progress.current < progress.steps.len() {
                return self.save();
            }
        }
        self.state.phase_index += 1;
        if self.state.phase_index >= self.loaded.workflow.phases.len() {
            self.state.status = RunStatus::Complete;
            self.journal(EventKind::Completed)?;
        }
        self.save()
    }

    /// Drafts until a gate needs a person. With a reviewer, asks it at each
    /// gate and goes on; without one, stops at the first gate.
    pub async fn advance<M: ModelClient>(
        &mut self,
        model: &M,
        mut reviewer: Option<&mut dyn Reviewer>,
        sink: &mut dyn TokenSink,
    ) -> Result<Outcome, EngineError> {
        loop {
            match self.state.status {
                RunStatus::Complete => return Ok(Outcome::Complete),
                RunStatus::Aborted => return Ok(Outcome::Aborted),
                RunStatus::Active => {}
            }
            let Some((phase_index, step, id)) = self.target()? else {
                self.state.status = RunStatus::Complete;
                self.journal(EventKind::Completed)?;
                self.save()?;
                return Ok(Outcome::Complete);
            };
            let ri = self.record_index(&id, phase_index, step.as_ref());
            match self.state.artifacts[ri].state {
                ArtifactState::Drafting => {
                    self.draft(model, phase_index, step.as_ref(), ri, sink)
                        .await?;
                }
                ArtifactState::AwaitingDecision => {
                    let has_gate = self.loaded.workflow.phases[phase_index].gate.is_some();
                    if !has_gate {
                        self.accept_ungated(ri)?;
                        continue;
                    }
                    let path = self.draft_path(ri);
                    let Some(reviewer) = reviewer.as_deref_mut() else {
                        return Ok(Outcome::AwaitingDecision { artifact: id, path });
                    };
                    let decision = {
                        let view = self.gate_view(ri)?;
                        reviewer.review(&view)?
                    };
                    if let Decision::Quit = decision {
                        return Ok(Outcome::Quit { artifact: id, path });
                    }
                    self.apply(decision)?;
                }
                ArtifactState::Approved | ArtifactState::Accepted | ArtifactState::RolledBack => {
                    self.advance_cursor()?;
                }
            }
        }
    }

    fn draft_path(&self, ri: usize) -> PathBuf {
        let rec = &self.state.artifacts[ri];
        rec.latest_draft().map_or_else(
            || self.run.path().to_path_buf(),
            |d| self.run.path().join(&d.path),
        )
    }

    fn gate_view(&self, ri: usize) -> Result<GateView<'_>, EngineError> {
        let rec = &self.state.artifacts[ri];
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

    fn latest_draft_of<'r>(&self, rec: &'r ArtifactRecord) -> Result<&'r DraftRecord, EngineError> {
        rec.latest_draft()
            .ok_or_else(|| EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: format!("{} has no draft yet", rec.id),
            })
    }

    fn accept_ungated(&mut self, ri: usize) -> Result<(), EngineError> {
        let id = self.state.artifacts[ri].id.clone();
        self.promote(ri, |p| {
            vec![EventKind::Accepted {
                artifact: id,
                revision: p.revision,
                sha256: p.sha256.clone(),
                reason: format!("phase has no gate; stored as {}", p.path),
            }]
        })?;
        self.state.artifacts[ri].state = ArtifactState::Accepted;
        self.advance_cursor()
    }

    /// Copies the latest draft to `artifacts/ID.md` and records `events` for
    /// it. When the events cannot be recorded the copy is removed again, so
    /// `artifacts/` never holds a file the journal does not show accepted.
    fn promote(
        &mut self,
        ri: usize,
        events: impl FnOnce(&Promoted) -> Vec<EventKind>,
    ) -> Result<Promoted, EngineError> {
        let rec = &self.state.artifacts[ri];
        let draft = self.latest_draft_of(rec)?;
        let text = self.run.read(&draft.path)?;
        let promoted = Promoted {
            path: self.run.write(&rec.approved_path(), &text)?,
            sha256: store::sha256_hex(text.as_bytes()),
            revision: draft.revision,
        };
        if let Err(e) = self.journal_all(events(&promoted)) {
            let _ = std::fs::remove_file(self.run.path().join(&promoted.path));
            return Err(e);
        }
        Ok(promoted)
    }

    /// The draft currently awaiting a decision, if any.
    pub fn pending(&self) -> Option<&ArtifactRecord> {
        pending_artifact(&self.state)
    }

    /// Records a decision on the pending draft (from a gate or a command).
    pub fn apply(&mut self, decision: Decision) -> Result<(), EngineError> {
        if self.state.status != RunStatus::Active {
            return Err(EngineError::Finished {
                run_id: self.state.run_id.clone(),
                status: format!("{:?}", self.state.status).to_lowercase(),
            });
        }
        let Some(ri) = self
            .state
            .artifacts
            .iter()
            .rposition(|a| a.state == ArtifactState::AwaitingDecision)
        else {
            return Err(EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: "the next artifact has not been drafted".into(),
            });
        };
        let phase = &self.loaded.workflow.phases[self.state.artifacts[ri].phase_index];
        let Some(gate) = phase.gate.clone() else {
            return Err(EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: "its phase has no gate; `migagent resume` accepts it".into(),
            });
        };
        let id = self.state.artifacts[ri].id.clone();
        let revision = self.state.artifacts[ri]
            .latest_draft()
            .map_or(0, |d| d.revision);
        let pick = |option: &Option<String>, action: GateAction| -> Result<String, EngineError> {
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
                        artifact: id.clone(),
                        label: label.clone(),
                        available,
                    }),
                },
                None => gate
                    .option_for(action)
                    .map(|o| o.label.clone())
                    .ok_or_else(|| EngineError::NoOptionFor {
                        artifact: id.clone(),
                        action: format!("{action:?}").to_lowercase(),
                        available,
                    }),
            }
        };
        match decision {
            Decision::Quit => Ok(()),
            Decision::Edit { by, text } => {
                require_text(&text, "an edited draft")?;
                let text = format!("{}\n", text.trim_end());
                let template = self.template_for(ri);
                let rec = &mut self.state.artifacts[ri];
                let rev = rec.next_revision();
                let path = rec.draft_path(rev);
                self.run.write(&path, &text)?;
                let sha = store::sha256_hex(text.as_bytes());
                rec.drafts.push(DraftRecord {
                    revision: rev,
                    path: path.clone(),
                    sha256: sha.clone(),
                    source: DraftSource::Human,
                    at: store::now_rfc3339(),
                    model: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                    seconds: None,
                    finish_reason: None,
                    truncated: false,
                    missing_sections: missing_sections(&template, &text),
                    feedback: None,
                    format: Some(DraftFormat::Markdown),
                    json_path: None,
                    problems: structure_problems(&template, &text),
                    cuts: Vec::new(),
                });
                self.journal(EventKind::Edited {
                    artifact: id,
                    revision: rev,
                    path,
                    sha256: sha,
                    by,
                })?;
                self.save()
            }
            Decision::Proceed { option, by, note } => {
                let label = pick(&option, GateAction::Proceed)?;
                let promoted = self.promote(ri, |p| {
                    vec![
                        EventKind::Decided {
                            artifact: id.clone(),
                            revision: p.revision,
                            option: label.clone(),
                            action: GateAction::Proceed,
                            by: by.clone(),
                        },
                        EventKind::Approved {
                            artifact: id.clone(),
                            revision: p.revision,
                            approver: by.clone(),
                            sha256: p.sha256.clone(),
                            path: p.path.clone(),
                            note: note.clone(),
                        },
                    ]
                })?;
                let rec = &mut self.state.artifacts[ri];
                rec.state = ArtifactState::Approved;
                rec.approval = Some(Approval {
                    option: label,
                    by,
                    at: store::now_rfc3339(),
                    note,
                    revision: promoted.revision,
                    sha256: promoted.sha256,
                    path: promoted.path,
                });
                self.advance_cursor()
            }
            Decision::Revise {
                option,
                by,
                feedback,
            } => {
                require_text(&feedback, "feedback")?;
                let label = pick(&option, GateAction::Revise)?;
                self.journal_all(vec![
                    EventKind::Decided {
                        artifact: id.clone(),
                        revision,
                        option: label,
                        action: GateAction::Revise,
                        by: by.clone(),
                    },
                    EventKind::Revised {
                        artifact: id,
                        revision,
                        feedback: feedback.clone(),
                        by,
                    },
                ])?;
                let rec = &mut self.state.artifacts[ri];
                rec.pending_feedback = Some(feedback);
                rec.state = ArtifactState::Drafting;
                self.save()
            }
            Decision::Rollback {
                option,
                by,
                reason,
                then,
            } => {
                require_text(&reason, "the rollback reason")?;
                let label = pick(&option, GateAction::Rollback)?;
                let mut events = vec![
                    EventKind::Decided {
                        artifact: id.clone(),
                        revision,
                        option: label.clone(),
                        action: GateAction::Rollback,
                        by: by.clone(),
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
                let rec = &mut self.state.artifacts[ri];
                rec.state = ArtifactState::RolledBack;
                rec.rollback = Some(Rollback {
                    option: label,
                    by,
                    at: store::now_rfc3339(),
                    reason,
                    then,
                });
                match then {
                    AfterRollback::Continue => self.advance_cursor(),
                    AfterRollback::Abort => {
                        self.state.status = RunStatus::Aborted;
                        self.save()
                    }
                }
            }
            Decision::Abort { option, by, reason } => {
                require_text(&reason, "the reason for aborting")?;
                let mut events = Vec::new();
                if let Some(label) = option {
                    let label = pick(&Some(label), GateAction::Abort)?;
                    events.push(EventKind::Decided {
                        artifact: id,
                        revision,
                        option: label,
                        action: GateAction::Abort,
                        by: by.clone(),
                    });
                }
                events.push(EventKind::Aborted { reason, by });
                self.journal_all(events)?;
                self.state.status = RunStatus::Aborted;
                self.save()
            }
        }
    }

    fn template_for(&self, ri: usize) -> String {
        let rec = &self.state.artifacts[ri];
        let phase = &self.loaded.workflow.phases[rec.phase_index];
        let template = phase.output.as_ref().map_or("", |o| o.template.as_str());
        match &rec.step {
            Some(step) => step::step_template(template, step),
            None => template.to_string(),
        }
    }

    fn resolve_text(&self, path: &str) -> Result<String, EngineError> {
        Ok(self.loaded.library.resolve(path)?.text)
    }

    /// The declared inputs of a phase: approved artifacts, the need, context
    /// files. Inputs that the run lacks are listed as missing, never invented.
    fn inputs_for(&self, phase: &Phase) -> Result<(Vec<PromptInput>, Vec<String>), EngineError> {
        let mut inputs = Vec::new();
        let mut missing = Vec::new();
        let mut context_labels = Vec::new();
        for input in &phase.inputs {
            match &input.kind {
                InputKind::Artifact(id) => inputs.push(PromptInput {
                    label: input.text.clone(),
                    origin: Some(format!("approved artifact {id}")),
                    content: self.approved_text(id, phase.number)?,
                    source: InputSource::Artifact,
                }),
                InputKind::AllSteps(pattern) => {
                    let producer = self.loaded.workflow.producer(pattern).map(|(i, _)| i);
                    for rec in self
                        .state
                        .artifacts
                        .iter()
                        .filter(|a| Some(a.phase_index) == producer)
                    {
                        match rec.state {
                            ArtifactState::Approved | ArtifactState::Accepted => {
                                inputs.push(PromptInput {
                                    label: format!("[{}]: {}", rec.id, rec.title),
                                    origin: Some(format!("approved artifact {}", rec.id)),
                                    content: self.run.read(&rec.approved_path())?,
                                    source: InputSource::Artifact,
                                })
                            }
                            ArtifactState::RolledBack => {
                                let rb = rec.rollback.as_ref();
                                inputs.push(PromptInput {
                                    label: format!("[{}]: {}", rec.id, rec.title),
                                    origin: Some("rolled back, not approved".into()),
                                    content: format!(
                                        "This step was rolled back by {} at {}. Reason given: {}",
                                        rb.map_or("unknown", |r| r.by.as_str()),
                                        rb.map_or("unknown", |r| r.at.as_str()),
                                        rb.map_or("none", |r| r.reason.as_str())
                                    ),
                                    source: InputSource::Fixed,
                                })
                            }
                            _ => {}
                        }
                    }
                }
                InputKind::FreeText if input.is_need() => match &self.state.need {
                    Some(need) => inputs.push(PromptInput {
                        label: input.text.clone(),
                        origin: Some("given by the person running migagent".into()),
                        content: need.clone(),
                        source: InputSource::Fixed,
                    }),
                    None => missing.push(input.text.clone()),
                },
                InputKind::FreeText => context_labels.push(input.text.clone()),
            }
        }
        if !context_labels.is_empty() {
            if self.state.contexts.is_empty() {
                missing.extend(context_labels);
            } else {
                for ctx in &self.state.contexts {
                    inputs.push(PromptInput {
                        label: format!("Context file {}", ctx.original),
                        origin: Some(format!(
                            "supplied by the person running migagent, for: {}",
                            context_labels.join("; ")
                        )),
                        content: self.run.read(&ctx.stored)?,
                        source: InputSource::ContextFile,
                    });
                }
            }
        }
        Ok((inputs, missing))
    }

    fn system_message(
        &self,
        phase: &Phase,
        persona: Option<String>,
    ) -> Result<String, EngineError> {
        let persona = match persona {
            Some(p) => p,
            None => match phase.directive(DirectiveKind::Persona) {
                Some(d) => self.resolve_text(&d.path)?,
                None => format!(
                    "You are an experienced engineer helping a team through the \"{}\" workflow.",
                    self.loaded.workflow.name
                ),
            },
        };
        let secondary = phase
            .directive(DirectiveKind::SecondaryPersona)
            .map(|d| self.resolve_text(&d.path))
            .transpose()?;
        Ok(self.prompts.system(&SystemContext {
            workflow: self.loaded.workflow.name.clone(),
            phase: PhaseInfo {
                number: phase.number,
                name: phase.name.clone(),
            },
            persona,
            secondary,
        })?)
    }

    async fn draft<M: ModelClient>(
        &mut self,
        model: &M,
        phase_index: usize,
        step: Option<&Step>,
        ri: usize,
        sink: &mut dyn TokenSink,
    ) -> Result<(), EngineError> {
        let phase = self.loaded.workflow.phases[phase_index].clone();
        let (inputs, missing) = self.inputs_for(&phase)?;
        let template = self.template_for(ri);
        let rec = self.state.artifacts[ri].clone();
        let artifact = ArtifactInfo {
            id: rec.id.clone(),
            title: rec.title.clone(),
            template: template.clone(),
        };
        let revision = match (&rec.pending_feedback, rec.latest_draft()) {
            (Some(feedback), Some(previous)) => Some(RevisionInfo {
                number: previous.revision,
                previous: self.run.read(&previous.path)?,
                feedback: feedback.clone(),
            }),
            _ => None,
        };
        let step_info = match (step, &self.state.steps) {
            (Some(step), Some(progress)) => Some(StepInfo {
                number: step.number,
                name: step.name.clone(),
                section: step::step_section(
                    &self.approved_text(&progress.plan, phase.number)?,
                    step,
                ),
            }),
            _ => None,
        };
        let guidance = phase
            .directive(DirectiveKind::Prompt)
            .map(|d| self.resolve_text(&d.path))
            .transpose()?;
        let rev = rec.next_revision();
        tracing::debug!(
            artifact = %rec.id,
            revision = rev,
            inputs = inputs.len(),
            missing = ?missing,
            "assembling draft request"
        );

        let (panel_info, findings, persona) = match phase.panel() {
            None => (None, Vec::new(), None),
            Some(directive) => {
                let material = PanelMaterial {
                    inputs: &inputs,
                    missing: &missing,
                    artifact: &artifact,
                    revision: rev,
                };
                let (info, findings, moderator) = self
                    .convene_panel(model, &phase, &directive.path, ri, material, sink)
                    .await?;
                (Some(info), findings, moderator)
            }
        };

        let system = self.system_message(&phase, persona)?;
        let caps = model.capabilities();
        let schema = if caps.structured {
            match ArtifactSchema::compile(&template, &self.bounds) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    tracing::warn!(artifact = %rec.id, error = %e, "template does not compile to a schema; drafting Markdown");
                    None
                }
            }
        } else {
            None
        };
        let mut context = DraftContext {
            process: phase.process.clone(),
            guidance,
            panel: panel_info,
            inputs,
            missing,
            step: step_info,
            findings,
            artifact,
            revision,
            json: schema.as_ref().map(|s| JsonInfo {
                keys: s.sections().into_iter().map(|(key, _)| key).collect(),
            }),
            repair: None,
        };
        let mut inputs = std::mem::take(&mut context.inputs);
        let (user, cuts) = self.fit_draft(&caps, &rec.id, &system, &mut inputs, &context)?;
        let structured = schema.as_ref().map(|s| StructuredRequest {
            name: schema_name(&rec.id),
            schema: s.json_schema(),
            schema_without_bounds: s.json_schema_without_bounds(),
        });
        let request = ChatRequest {
            purpose: format!("{} r{rev}", rec.id),
            system: system.clone(),
            user,
            max_tokens: None,
            structured: structured.clone(),
        };
        let completion = self.call(model, &request, &rec.id, sink).await?;
        let first = Attempt::read(&completion, schema.as_ref(), &template);
        let attempt = match first.repair_reason() {
            None => first,
            Some(reason) => {
                // One repair request, never more: whatever it returns goes to
                // the gate with its problems listed.
                let first_path = self.save_attempt(ri, &first)?;
                self.journal(EventKind::RepairRequested {
                    artifact: rec.id.clone(),
                    revision: rev,
                    reason: reason.clone(),
                    first_attempt: first_path,
                    prompt_tokens: first.completion.prompt_tokens,
                    cached_tokens: first.completion.cached_tokens,
                    completion_tokens: first.completion.completion_tokens,
                    seconds: first.completion.seconds,
                })?;
                context.repair = Some(reason);
                let (user, _) = self.fit_draft(&caps, &rec.id, &system, &mut inputs, &context)?;
                let request = ChatRequest {
                    purpose: format!("{} r{rev} repair", rec.id),
                    system,
                    user,
                    max_tokens: None,
                    structured,
                };
                let completion = self.call(model, &request, &rec.id, sink).await?;
                let second = Attempt::read(&completion, schema.as_ref(), &template);
                if second.is_worse_than(&first) {
                    first
                } else {
                    second
                }
            }
        };
        self.save_draft(ri, attempt, cuts)
    }

    /// The draft prompt for `context` with `inputs`, fitted to the context.
    fn fit_draft(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &str,
        inputs: &mut [PromptInput],
        context: &DraftContext,
    ) -> Result<(String, Vec<String>), EngineError> {
        self.fit_to_context(caps, artifact, system, inputs, |inputs| {
            self.prompts.draft(&DraftContext {
                inputs: inputs.to_vec(),
                ..context.clone()
            })
        })
    }

    /// Renders the prompt and, when it would not fit the server's context,
    /// cuts inputs until it does: context files first (largest first), then
    /// approved artifacts down to their opening part. Every cut is returned
    /// as a note for the gate; nothing is cut silently.
    fn fit_to_context(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &str,
        inputs: &mut [PromptInput],
        render: impl Fn(&[PromptInput]) -> Result<String, PromptError>,
    ) -> Result<(String, Vec<String>), EngineError> {
        let mut cuts = Vec::new();
        let mut user = render(inputs)?;
        let Some(window) = caps.context_tokens else {
            return Ok((user, cuts));
        };
        let answer = caps.max_tokens.unwrap_or(0);
        let budget = u64::from(
            window
                .saturating_sub(answer)
                .saturating_sub(PROMPT_OVERHEAD_TOKENS),
        );
        loop {
            let need = estimate_tokens(system) + estimate_tokens(&user);
            if need <= budget {
                return Ok((user, cuts));
            }
            let excess_chars =
                usize::try_from((need - budget) * CHARS_PER_TOKEN_NUM / CHARS_PER_TOKEN_DEN)
                    .unwrap_or(usize::MAX)
                    + 200;
            let Some(note) = cut_one(inputs, excess_chars, window) else {
                return Err(EngineError::ContextTooSmall {
                    artifact: artifact.to_string(),
                    need,
                    have: window,
                    answer,
                });
            };
            tracing::info!(artifact, %note, "cut an input to fit the context");
            cuts.push(note);
            user = render(inputs)?;
        }
    }

    /// Saves a first attempt that a repair request replaces, so the record
    /// keeps what the model actually said.
    fn save_attempt(&self, ri: usize, attempt: &Attempt) -> Result<String, EngineError> {
        let rec = &self.state.artifacts[ri];
        let path = format!("drafts/{}.r{}.attempt1.txt", rec.id, rec.next_revision());
        self.run.write(&path, &attempt.completion.text)?;
        Ok(path)
    }

    /// Asks each panel member that has not yet reported for this round to
    /// review the inputs, saving each finding as it arrives so an interrupted
    /// panel resumes where it stopped. Returns the panel, every finding of the
    /// round and the moderator's persona.
    async fn convene_panel<M: ModelClient>(
        &mut self,
        model: &M,
        phase: &Phase,
        panel_path: &str,
        ri: usize,
        material: PanelMaterial<'_>,
        sink: &mut dyn TokenSink,
    ) -> Result<(PanelInfo, Vec<Finding>, Option<String>), EngineError> {
        let file = self.loaded.library.resolve(panel_path)?;
        let (panel, _) = library::parse_panel(&file);
        let info = PanelInfo {
            title: panel.title.clone(),
            description: panel.description.clone(),
        };
        let id = self.state.artifacts[ri].id.clone();
        for member in &panel.participants {
            let reported = self.state.artifacts[ri]
                .findings
                .iter()
                .any(|f| f.persona == member.path);
            if reported {
                continue;
            }
            let system = self.system_message(phase, Some(self.resolve_text(&member.path)?))?;
            let review = ReviewContext {
                panel: info.clone(),
                member: MemberInfo {
                    name: member.name.clone(),
                    focus: member.focus.clone(),
                },
                process: phase.process.clone(),
                inputs: material.inputs.to_vec(),
                missing: material.missing.to_vec(),
                artifact: material.artifact.clone(),
            };
            let mut inputs = review.inputs.clone();
            let caps = model.capabilities();
            let (user, cuts) = self.fit_to_context(&caps, &id, &system, &mut inputs, |inputs| {
                self.prompts.review(&ReviewContext {
                    inputs: inputs.to_vec(),
                    ..review.clone()
                })
            })?;
            let request = ChatRequest {
                purpose: format!("{id} panel: {}", member.name),
                system,
                user,
                max_tokens: None,
                structured: caps.structured.then(|| findings_schema(&self.bounds)),
            };
            let completion = self.call(model, &request, &id, sink).await?;
            let n = self.state.artifacts[ri].findings.len() + 1;
            let path = format!(
                "drafts/{id}.r{}.findings/{n:02}-{}.md",
                material.revision,
                slug(&member.name)
            );
            let mut text = findings_markdown(&completion.text, request.structured.is_some());
            for cut in &cuts {
                text.push_str(&format!("\n> Note: {cut}\n"));
            }
            self.run.write(&path, &text)?;
            self.journal(EventKind::PanelFinding {
                artifact: id.clone(),
                member: member.name.clone(),
                path: path.clone(),
                sha256: store::sha256_hex(text.as_bytes()),
                model: completion.model.clone(),
                prompt_tokens: completion.prompt_tokens,
                cached_tokens: completion.cached_tokens,
                completion_tokens: completion.completion_tokens,
                seconds: completion.seconds,
            })?;
            self.state.artifacts[ri].findings.push(FindingRecord {
                member: member.name.clone(),
                persona: member.path.clone(),
                path,
            });
            self.save()?;
        }
        let mut findings = Vec::new();
        for f in &self.state.artifacts[ri].findings {
            let focus = panel
                .participants
                .iter()
                .find(|m| m.path == f.persona)
                .map_or(String::new(), |m| m.focus.clone());
            findings.push(Finding {
                name: f.member.clone(),
                focus,
                text: self.run.read(&f.path)?,
            });
        }
        let moderator = panel
            .moderator
            .as_ref()
            .map(|m| self.resolve_text(&m.path))
            .transpose()?;
        Ok((info, findings, moderator))
    }

    async fn call<M: ModelClient>(
        &self,
        model: &M,
        request: &ChatRequest,
        artifact: &str,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, EngineError> {
        model
            .complete(request, sink)
            .await
            .map_err(|source| EngineError::Model {
                run_id: self.state.run_id.clone(),
                artifact: artifact.to_string(),
                source,
            })
    }

    fn save_draft(
        &mut self,
        ri: usize,
        attempt: Attempt,
        cuts: Vec<String>,
    ) -> Result<(), EngineError> {
        let completion = &attempt.completion;
        let text = attempt.markdown.clone();
        let rec = &self.state.artifacts[ri];
        let rev = rec.next_revision();
        let path = rec.draft_path(rev);
        let json_path = if attempt.parsed_json {
            let p = format!("drafts/{}.r{rev}.json", rec.id);
            self.run.write(&p, &completion.text)?;
            Some(p)
        } else {
            None
        };
        self.run.write(&path, &text)?;
        let sha = store::sha256_hex(text.as_bytes());
        let missing = attempt.missing.clone();
        let problems = attempt.problems.clone();
        let format = if attempt.structured {
            DraftFormat::Json
        } else {
            DraftFormat::Markdown
        };
        let id = rec.id.clone();
        self.journal(EventKind::Drafted {
            artifact: id,
            revision: rev,
            path: path.clone(),
            sha256: sha.clone(),
            model: completion.model.clone(),
            prompt_tokens: completion.prompt_tokens,
            cached_tokens: completion.cached_tokens,
            completion_tokens: completion.completion_tokens,
            seconds: completion.seconds,
            finish_reason: completion.finish_reason.clone(),
            truncated: completion.truncated(),
            missing_sections: missing.clone(),
            format: Some(format),
            problems: problems.clone(),
            cuts: cuts.clone(),
        })?;
        let rec = &mut self.state.artifacts[ri];
        rec.drafts.push(DraftRecord {
            revision: rev,
            path,
            sha256: sha,
            source: DraftSource::Model,
            at: store::now_rfc3339(),
            model: Some(completion.model.clone()),
            prompt_tokens: completion.prompt_tokens,
            completion_tokens: completion.completion_tokens,
            seconds: Some(completion.seconds),
            finish_reason: completion.finish_reason.clone(),
            truncated: completion.truncated(),
            missing_sections: missing,
            feedback: rec.pending_feedback.take(),
            format: Some(format),
            json_path,
            problems,
            cuts,
        });
        rec.state = ArtifactState::AwaitingDecision;
        self.save()
    }

    /// A summary for `status` and scripts.
    pub fn status(&self) -> StatusReport {
        status_report(&self.state, self.run.path(), &self.loaded.workflow)
    }
}

/// What every panel member is shown.
struct PanelMaterial<'a> {
    inputs: &'a [PromptInput],
    missing: &'a [String],
    artifact: &'a ArtifactInfo,
    revision: u32,
}

/// An artifact copied to `artifacts/`.
struct Promoted {
    path: String,
    sha256: String,
    revision: u32,
}

/// Feedback, reasons and edits must say something.
fn require_text(text: &str, what: &str) -> Result<(), EngineError> {
    if text.trim().is_empty() {
        Err(EngineError::EmptyText { what: what.into() })
    } else {
        Ok(())
    }
}

fn check_need(workflow: &Workflow, need: Option<&str>) -> Result<(), EngineError> {
    if need.is_some_and(|n| !n.trim().is_empty()) {
        return Ok(());
    }
    for phase in &workflow.phases {
        if let Some(input) = phase.inputs.iter().find(|i| i.is_need()) {
            return Err(EngineError::MissingNeed {
                phase: phase.number,
                input: input.text.clone(),
            });
        }
    }
    Ok(())
}

/// Characters per token assumed when estimating a prompt's size, as a
/// fraction: 3.5, below the 4.5 measured on English Markdown with SmolLM2's
/// tokenizer, so the estimate errs towards cutting rather than overflowing.
const CHARS_PER_TOKEN_NUM: u64 = 7;
const CHARS_PER_TOKEN_DEN: u64 = 2;
/// Tokens kept free for the chat template's own markup.
const PROMPT_OVERHEAD_TOKENS: u32 = 64;
/// An approved artifact is never cut below its opening part.
const MIN_ARTIFACT_CHARS: usize = 600;

fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64 * CHARS_PER_TOKEN_DEN).div_ceil(CHARS_PER_TOKEN_NUM)
}

/// Shortens one input by about `excess` characters: the largest context file
/// first, then the largest approved artifact. Returns the note for the gate,
/// or `None` when nothing more can be cut.
fn cut_one(inputs: &mut [PromptInput], excess: usize, window: u32) -> Option<String> {
    let len = |i: &PromptInput| i.content.chars().count();
    let pick = |source: InputSource, floor: usize| {
        inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.source == source && len(i) > floor && !i.content.ends_with(CUT_MARK_END)
            })
            .max_by_key(|(_, i)| len(i))
            .map(|(n, _)| (n, floor))
    };
    let (index, floor) = pick(InputSource::ContextFile, 0)
        .or_else(|| pick(InputSource::Artifact, MIN_ARTIFACT_CHARS))?;
    let input = &mut inputs[index];
    let total = len(input);
    let keep = total.saturating_sub(excess).max(floor);
    let kept: String = input.content.chars().take(keep).collect();
    input.content = format!(
        "{kept}\n\n[migagent cut this input here: {} of {total} characters kept, because the server takes {window} tokens per request{CUT_MARK_END}",
        keep
    );
    let what = match input.source {
        InputSource::ContextFile => "context file",
        _ => "approved artifact",
    };
    Some(format!(
        "{what} '{}' cut to {keep} of {total} characters to fit the server's context ({window} tokens)",
        input.label
    ))
}

const CUT_MARK_END: &str = " (cut by migagent)]";

/// A panel member answers with a short list of findings; bounded like the
/// artifacts, so a small model cannot loop.
fn findings_schema(bounds: &Bounds) -> StructuredRequest {
    let schema = |bounded: bool| {
        let mut item = serde_json::json!({"type": "string"});
        let mut list = serde_json::json!({"type": "array", "items": null});
        if bounded {
            item["maxLength"] = serde_json::json!(bounds.max_item);
            list["minItems"] = serde_json::json!(1);
            list["maxItems"] = serde_json::json!(bounds.max_items);
        }
        list["items"] = item;
        serde_json::json!({
            "type": "object",
            "properties": {"findings": list},
            "required": ["findings"],
            "additionalProperties": false,
        })
    };
    StructuredRequest {
        name: "panel_findings".into(),
        schema: schema(true),
        schema_without_bounds: schema(false),
    }
}

/// A member's findings as Markdown: a bullet list from JSON, or the answer
/// as written when it is not the JSON asked for.
fn findings_markdown(answer: &str, structured: bool) -> String {
    let listed = structured
        .then(|| json_answer(answer).ok())
        .flatten()
        .and_then(|v| {
            v["findings"].as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(|i| format!("- {}\n", i.split_whitespace().collect::<Vec<_>>().join(" ")))
                    .collect::<String>()
            })
        })
        .filter(|s| !s.is_empty());
    listed.unwrap_or_else(|| strip_outer_fence(answer))
}

/// A schema name servers accept: letters, digits, `_` and `-`.
fn schema_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a Markdown artifact gets wrong against its template's schema, such
/// as a value outside an enum; empty when the template has no schema.
fn structure_problems(template: &str, markdown: &str) -> Vec<String> {
    ArtifactSchema::compile(template, &Bounds::unbounded())
        .ok()
        .and_then(|schema| schema.parse(markdown).err())
        .unwrap_or_default()
        .into_iter()
        // Missing sections are listed on their own, from the section check.
        .filter(|p| !p.contains(": missing section '"))
        .collect()
}

/// One answer of the model, read as the artifact it should be.
struct Attempt {
    completion: Completion,
    /// The Markdown for the gate: rendered from JSON, or the answer itself.
    markdown: String,
    /// A JSON answer was asked for and it parsed (it is kept beside the
    /// draft).
    parsed_json: bool,
    structured: bool,
    /// Schema violations, or why the JSON could not be read.
    problems: Vec<String>,
    missing: Vec<String>,
}

impl Attempt {
    fn read(completion: &Completion, schema: Option<&ArtifactSchema>, template: &str) -> Attempt {
        let mut attempt = Attempt {
            completion: completion.clone(),
            markdown: strip_outer_fence(&completion.text),
            parsed_json: false,
            structured: schema.is_some(),
            problems: Vec::new(),
            missing: Vec::new(),
        };
        match schema {
            Some(schema) => match json_answer(&completion.text) {
                Ok(value) => {
                    attempt.problems = schema.validate(&value);
                    // Rendered even when it breaks a rule, so the gate shows
                    // readable Markdown with the problems listed beside it.
                    match schema.render(&value) {
                        Ok(md) => attempt.markdown = md,
                        Err(e) => attempt
                            .problems
                            .push(format!("cannot render the JSON into the template: {e}")),
                    }
                    attempt.parsed_json = true;
                }
                Err(e) => attempt.problems.push(if completion.truncated() {
                    format!("the JSON answer stopped at the token limit ({e})")
                } else {
                    format!("the answer is not valid JSON: {e}")
                }),
            },
            None => attempt.problems = structure_problems(template, &attempt.markdown),
        }
        attempt.missing = missing_sections(template, &attempt.markdown);
        attempt
    }

    /// Why this answer needs the one repair request, if it does.
    fn repair_reason(&self) -> Option<String> {
        if self.structured && !self.problems.is_empty() {
            return Some(self.problems.join("; "));
        }
        if !self.missing.is_empty() {
            let mut reason = format!(
                "it lacks these template sections: {}",
                self.missing.join(", ")
            );
            if self.completion.truncated() {
                reason.push_str(" (it stopped at the token limit: be briefer)");
            }
            return Some(reason);
        }
        None
    }

    fn is_worse_than(&self, other: &Attempt) -> bool {
        let score = |a: &Attempt| {
            (
                a.structured && !a.parsed_json,
                a.missing.len(),
                a.problems.len(),
            )
        };
        score(self) > score(other)
    }
}

/// The JSON object in an answer: the whole answer, or inside a code fence.
fn json_answer(text: &str) -> Result<serde_json::Value, String> {
    let body = strip_outer_fence(text);
    let body = body.trim();
    let value: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(first) => {
            let start = body.find('{');
            let end = body.rfind('}');
            match (start, end) {
                (Some(a), Some(b)) if a < b => {
                    serde_json::from_str(&body[a..=b]).map_err(|_| first.to_string())?
                }
                _ => return Err(first.to_string()),
            }
        }
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the answer is JSON but not an object".into())
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(40).collect()
}

/// A readable run id: date, a slug of the need, and a short hash so two runs
/// started the same day on the same need do not collide.
pub fn make_run_id(need: Option<&str>) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let words: Vec<String> = need
        .unwrap_or("run")
        .split_whitespace()
        .take(5)
        .map(slug)
        .filter(|w| !w.is_empty())
        .collect();
    let base = if words.is_empty() {
        "run".to_string()
    } else {
        words.join("-")
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let hash = store::sha256_hex(format!("{nanos}{}{base}", std::process::id()).as_bytes());
    format!(
        "{date}-{}-{}",
        base.chars()
            .take(40)
            .collect::<String>()
            .trim_end_matches('-'),
        &hash[..4]
    )
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub run_id: String,
    pub workflow: String,
    pub state: String,
    pub phase: Option<String>,
    pub pending: Option<PendingReport>,
    pub artifacts: Vec<ArtifactReport>,
    pub model: ModelRecord,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct PendingReport {
    pub artifact: String,
    pub title: String,
    pub revision: u32,
    pub path: PathBuf,
    pub truncated: bool,
    pub missing_sections: Vec<String>,
    pub problems: Vec<String>,
    pub cuts: Vec<String>,
    pub format: Option<DraftFormat>,
    pub options: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ArtifactReport {
    pub id: String,
    pub title: String,
    pub state: ArtifactState,
    pub revision: u32,
    pub path: Option<PathBuf>,
    pub sha256: Option<String>,
    pub approved_by: Option<String>,
}

/// The artifact awaiting a decision, if the run is active.
pub fn pending_artifact(state: &RunState) -> Option<&ArtifactRecord> {
    state
        .artifacts
        .iter()
        .rev()
        .find(|a| a.state == ArtifactState::AwaitingDecision)
        .filter(|_| state.status == RunStatus::Active)
}

/// Where a run stands, as `status` and `list` name it.
pub fn run_state(state: &RunState) -> &'static str {
    match state.status {
        RunStatus::Complete => "complete",
        RunStatus::Aborted => "aborted",
        RunStatus::Active if pending_artifact(state).is_some() => "awaiting_decision",
        RunStatus::Active => "ready_to_draft",
    }
}

/// The status of a run from its state and workflow.
pub fn status_report(state: &RunState, run_dir: &Path, workflow: &Workflow) -> StatusReport {
    let pending_rec = pending_artifact(state);
    let run_state = run_state(state);
    let pending = pending_rec.and_then(|rec| {
        let draft = rec.latest_draft()?;
        let options = workflow
            .phases
            .get(rec.phase_index)
            .and_then(|p| p.gate.as_ref())
            .map(|g| g.options.iter().map(|o| o.label.clone()).collect())
            .unwrap_or_default();
        Some(PendingReport {
            artifact: rec.id.clone(),
            title: rec.title.clone(),
            revision: draft.revision,
            path: run_dir.join(&draft.path),
            truncated: draft.truncated,
            missing_sections: draft.missing_sections.clone(),
            problems: draft.problems.clone(),
            cuts: draft.cuts.clone(),
            format: draft.format,
            options,
        })
    });
    let artifacts = state
        .artifacts
        .iter()
        .map(|rec| {
            let (path, sha) = match (&rec.approval, rec.latest_draft()) {
                (Some(a), _) => (Some(run_dir.join(&a.path)), Some(a.sha256.clone())),
                (None, Some(d)) if rec.state == ArtifactState::Accepted => (
                    Some(run_dir.join(rec.approved_path())),
                    Some(d.sha256.clone()),
                ),
                (None, Some(d)) => (Some(run_dir.join(&d.path)), Some(d.sha256.clone())),
                (None, None) => (None, None),
            };
            ArtifactReport {
                id: rec.id.clone(),
                title: rec.title.clone(),
                state: rec.state,
                revision: rec.latest_draft().map_or(0, |d| d.revision),
                path,
                sha256: sha,
                approved_by: rec.approval.as_ref().map(|a| a.by.clone()),
            }
        })
        .collect();
    let phase = workflow
        .phases
        .get(state.phase_index)
        .filter(|_| state.status == RunStatus::Active)
        .map(|p| format!("Phase {}: {}", p.number, p.name));
    StatusReport {
        run_id: state.run_id.clone(),
        workflow: state.workflow.name.clone(),
        state: run_state.into(),
        phase,
        pending,
        artifacts,
        model: state.model.clone(),
        created_at: state.created_at.clone(),
        updated_at: state.updated_at.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;
    use crate::llm::Silent;

    const TINY: &str = include_str!("testdata/tiny-workflow.md");

    /// A model whose answers come from a function of the request, with the
    /// capabilities a test needs.
    struct FnModel<F: Fn(&ChatRequest) -> (String, &'static str)> {
        caps: Capabilities,
        answer: F,
        requests: RefCell<Vec<ChatRequest>>,
    }

    impl<F: Fn(&ChatRequest) -> (String, &'static str)> ModelClient for FnModel<F> {
        fn capabilities(&self) -> Capabilities {
            self.caps
        }

        async fn complete(
            &self,
            request: &ChatRequest,
            _sink: &mut dyn TokenSink,
        ) -> Result<Completion, ModelError> {
            self.requests.borrow_mut().push(request.clone());
            let (text, finish) = (self.answer)(request);
            Ok(Completion {
                text,
                model: "fn".into(),
                prompt_tokens: Some(10),
                cached_tokens: Some(8),
                completion_tokens: Some(5),
                seconds: 0.0,
                finish_reason: Some(finish.into()),
            })
        }
    }

    /// The model of most tests: Markdown answers for the tiny workflow.
    type ScriptedModel = FnModel<fn(&ChatRequest) -> (String, &'static str)>;

    fn scripted_answer(request: &ChatRequest) -> (String, &'static str) {
        let text = if request.purpose.starts_with("T-1") {
            "## Notes\nNOTES-TEXT\n".to_string()
        } else if request.purpose.starts_with("T-2") {
            "```markdown\n## Steps\n\n### Step 1: Alpha\n- **Action:** a\n\n### Step 2: Beta\n- **Action:** b\n```".to_string()
        } else {
            format!("## {}\n\n### Status\nComplete\n", request.purpose)
        };
        (text, "stop")
    }

    /// A person who answers from a script and notes what each gate showed.
    struct ScriptedReviewer {
        answers: VecDeque<Decision>,
        seen: Vec<(String, u32)>,
    }

    impl Reviewer for ScriptedReviewer {
        fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError> {
            self.seen
                .push((view.artifact.id.clone(), view.draft.revision));
            Ok(self.answers.pop_front().unwrap_or(Decision::Quit))
        }
    }

    fn setup() -> (tempfile::TempDir, Engine, ScriptedModel) {
        let dir = tempfile::tempdir().unwrap();
        let engine = start_engine(dir.path(), TINY, Some("NEED-TEXT"), &[]);
        let model: ScriptedModel = FnModel {
            caps: Capabilities::default(),
            answer: scripted_answer,
            requests: RefCell::new(Vec::new()),
        };
        (dir, engine, model)
    }

    /// A run of `workflow` in `dir`, with the need and context files given.
    fn start_engine(
        dir: &Path,
        workflow: &str,
        need: Option<&str>,
        contexts: &[PathBuf],
    ) -> Engine {
        let library = Library::new(dir.to_path_buf());
        let file = library::LibraryFile {
            rel: "workflow.md".into(),
            origin: Origin::File(dir.join("workflow.md")),
            text: workflow.into(),
        };
        let loaded = validate::load_file(file, library).unwrap();
        let store = RunStore::new(&dir.join("state"));
        Engine::start(
            loaded,
            &store,
            RunStart {
                run_id: "r",
                need: need.map(str::to_string),
                contexts,
                model: ModelRecord {
                    profile: None,
                    offline: false,
                    base_url: "http://model.test/v1".into(),
                    model: "scripted".into(),
                },
            },
        )
        .unwrap()
    }

    fn events(engine: &Engine) -> Vec<String> {
        engine
            .run
            .read_journal()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[tokio::test]
    async fn an_ungated_phase_is_accepted_and_feeds_the_next_one() {
        let (_dir, mut engine, model) = setup();
        let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
        assert!(
            matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-2")
        );
        assert!(events(&engine).contains(&"accepted".to_string()));
        let requests = model.requests.borrow().clone();
        assert_eq!(requests.len(), 2);
        assert!(requests[0].user.contains("NEED-TEXT"));
        assert!(requests[1].user.contains("NOTES-TEXT"));
        assert!(
            !requests[1].user.contains("NEED-TEXT"),
            "T-2 does not declare the need"
        );

        // Without a decision, advancing again drafts nothing.
        engine.advance(&model, None, &mut Silent).await.unwrap();
        assert_eq!(model.requests.borrow().len(), 2);
    }

    #[tokio::test]
    async fn edits_steps_and_a_rollback_that_aborts() {
        let (_dir, mut engine, model) = setup();
        let mut reviewer = ScriptedReviewer {
            answers: VecDeque::from([
                Decision::Edit {
                    by: "ana".into(),
                    text: "## Steps\n\n### Step 1: Alpha\n\n### Step 2: Gamma\n".into(),
                },
                Decision::Proceed {
                    option: None,
                    by: "ana".into(),
                    note: None,
                },
                Decision::Proceed {
                    option: Some("approved".into()),
                    by: "ana".into(),
                    note: None,
                },
                Decision::Rollback {
                    option: None,
                    by: "ana".into(),
                    reason: "disk filled".into(),
                    then: AfterRollback::Abort,
                },
            ]),
            seen: Vec::new(),
        };
        let outcome = engine
            .advance(&model, Some(&mut reviewer), &mut Silent)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Aborted);
        assert_eq!(
            reviewer.seen,
            vec![
                ("T-2".to_string(), 1),
                ("T-2".to_string(), 2),
                ("T-3.1".to_string(), 1),
                ("T-3.2".to_string(), 1)
            ]
        );
        // The approved plan is the person's edit, and its steps drive phase 3.
        let plan = engine.run.read("artifacts/T-2.md").unwrap();
        assert!(plan.contains("Gamma"));
        let last = model.requests.borrow().last().unwrap().user.clone();
        assert!(last.contains("step 2 of the plan: Gamma"), "{last}");
        assert_eq!(engine.status().state, "aborted");
        let ev = events(&engine);
        assert!(ev.contains(&"edited".to_string()));
        assert!(ev.contains(&"rolled_back".to_string()));
        assert_eq!(ev.last().map(String::as_str), Some("aborted"));
    }

    #[tokio::test]
    async fn quitting_at_a_gate_decides_nothing() {
        let (_dir, mut engine, model) = setup();
        let mut reviewer = ScriptedReviewer {
            answers: VecDeque::from([Decision::Quit]),
            seen: Vec::new(),
        };
        let outcome = engine
            .advance(&model, Some(&mut reviewer), &mut Silent)
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Quit { ref artifact, .. } if artifact == "T-2"));
        assert!(!events(&engine).contains(&"decided".to_string()));
        assert_eq!(engine.status().state, "awaiting_decision");
    }

    #[tokio::test]
    async fn a_decision_must_match_the_option_it_names() {
        let (_dir, mut engine, model) = setup();
        engine.advance(&model, None, &mut Silent).await.unwrap();
        let err = engine
            .apply(Decision::Proceed {
                option: Some("Revise".into()),
                by: "ana".into(),
                note: None,
            })
            .unwrap_err();
        assert!(err.to_string().contains("no option 'Revise'"), "{err}");
        assert_eq!(engine.status().state, "awaiting_decision");
    }

    fn structured() -> Capabilities {
        Capabilities {
            structured: true,
            context_tokens: None,
            max_tokens: Some(500),
        }
    }

    #[tokio::test]
    async fn a_structured_draft_is_rendered_into_the_template_and_its_json_kept() {
        let (_dir, mut engine, _) = setup();
        let model = FnModel {
            caps: structured(),
            answer: |r: &ChatRequest| {
                let json = if r.purpose.starts_with("T-1") {
                    r#"{"notes": "NOTES-TEXT"}"#
                } else {
                    r#"{"steps": [{"name": "Alpha", "action": "a"}, {"name": "Beta", "action": "b"}]}"#
                };
                (json.to_string(), "stop")
            },
            requests: RefCell::new(Vec::new()),
        };
        let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
        assert!(
            matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-2")
        );
        let requests = model.requests.borrow().clone();
        assert_eq!(requests.len(), 2, "one request per artifact, no repair");
        let schema = &requests[1]
            .structured
            .as_ref()
            .expect("a schema was sent")
            .schema;
        assert_eq!(schema["required"], serde_json::json!(["steps"]));
        assert!(requests[1].user.contains("as one JSON object"));
        let rec = engine.pending().unwrap().clone();
        let draft = rec.latest_draft().unwrap();
        assert_eq!(draft.format, Some(DraftFormat::Json));
        assert!(draft.problems.is_empty(), "{:?}", draft.problems);
        let text = engine.run.read(&draft.path).unwrap();
        assert!(
            text.contains("### Step 1: Alpha") && text.contains("- **Action:** b"),
            "{text}"
        );
        assert_eq!(
            step::steps(&text).len(),
            2,
            "the rendered plan names its steps for the per-step phase"
        );
        let json = engine.run.read(draft.json_path.as_ref().unwrap()).unwrap();
        assert!(json.contains("Alpha"));
        let notes = engine.run.read("artifacts/T-1.md").unwrap();
        assert!(notes.starts_with("## Notes\nNOTES-TEXT"), "{notes}");
    }

    #[tokio::test]
    async fn a_broken_answer_gets_one_repair_and_then_goes_to_the_gate_with_its_problems() {
        let (_dir, mut engine, _) = setup();
        let model = FnModel {
            caps: structured(),
            answer: |r: &ChatRequest| {
                if r.purpose.starts_with("T-1") {
                    (r#"{"notes": "N"}"#.to_string(), "stop")
                } else {
                    (r#"{"steps": [{"name": "Alpha", "act"#.to_string(), "length")
                }
            },
            requests: RefCell::new(Vec::new()),
        };
        engine.advance(&model, None, &mut Silent).await.unwrap();
        let purposes: Vec<String> = model
            .requests
            .borrow()
            .iter()
            .map(|r| r.purpose.clone())
            .collect();
        assert_eq!(purposes, ["T-1 r1", "T-2 r1", "T-2 r1 repair"]);
        let repair = &model.requests.borrow()[2];
        assert!(
            repair.user.contains("## Repair") && repair.user.contains("token limit"),
            "{}",
            repair.user
        );
        let rec = engine.pending().unwrap().clone();
        let draft = rec.latest_draft().unwrap();
        assert!(draft.truncated);
        assert!(!draft.problems.is_empty());
        assert!(events(&engine).contains(&"repair_requested".to_string()));
        assert!(engine
            .run
            .read("drafts/T-2.r1.attempt1.txt")
            .unwrap()
            .contains("Alpha"));
        assert_eq!(
            engine.status().state,
            "awaiting_decision",
            "never passed on its own"
        );
    }

    #[tokio::test]
    async fn markdown_mode_repairs_missing_sections_once() {
        let (_dir, mut engine, _) = setup();
        let model = FnModel {
            caps: Capabilities::default(),
            answer: |r: &ChatRequest| {
                if r.purpose.starts_with("T-1") {
                    ("## Notes\nN\n".to_string(), "stop")
                } else {
                    ("Here is a plan without headings.".to_string(), "stop")
                }
            },
            requests: RefCell::new(Vec::new()),
        };
        engine.advance(&model, None, &mut Silent).await.unwrap();
        let requests = model.requests.borrow().clone();
        assert_eq!(requests.len(), 3, "one draft, one repair, no more");
        assert!(requests.iter().all(|r| r.structured.is_none()));
        assert!(
            requests[2]
                .user
                .contains("lacks these template sections: ## Steps"),
            "{}",
            requests[2].user
        );
        let draft = engine.pending().unwrap().latest_draft().unwrap().clone();
        assert_eq!(draft.format, Some(DraftFormat::Markdown));
        assert!(draft.missing_sections.contains(&"## Steps".to_string()));
    }

    const WITH_CONTEXT: &str = r#"# Workflow: Ctx

One gated phase that reads the system state.

## Phases

1. **Assess** → `[C-1]` — **GATE**

## Phase 1: Assess

### Input

- Current system state

### Process

Assess.

### Output

**Artifact `[C-1]: Assessment`**

```
## Risk Level
<Low / High>
```

### GATE

**Approval criteria:** Good.

- **Approved** → done
- **Revise** → re-present `[C-1]`
"#;

    #[tokio::test]
    async fn context_cuts_are_recorded_with_the_draft_and_shown_in_status() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("state.md");
        std::fs::write(&ctx, format!("STATE-START {}", "C".repeat(40_000))).unwrap();
        let mut engine = start_engine(dir.path(), WITH_CONTEXT, None, &[ctx]);
        let model = FnModel {
            caps: Capabilities {
                structured: true,
                context_tokens: Some(4000),
                max_tokens: Some(500),
            },
            answer: |_: &ChatRequest| (r#"{"risk_level": "High"}"#.to_string(), "stop"),
            requests: RefCell::new(Vec::new()),
        };
        engine.advance(&model, None, &mut Silent).await.unwrap();
        let request = model.requests.borrow()[0].clone();
        assert!(
            request.user.contains("STATE-START"),
            "the head of the file is kept"
        );
        assert!(request.user.contains("cut by migagent"));
        assert!(estimate_tokens(&request.user) + estimate_tokens(&request.system) <= 4000 - 500);
        let status = engine.status();
        let pending = status.pending.unwrap();
        assert_eq!(pending.cuts.len(), 1, "{:?}", pending.cuts);
        assert!(
            pending.cuts[0].contains("context file"),
            "{:?}",
            pending.cuts
        );
        assert!(pending.problems.is_empty());
        let text = std::fs::read_to_string(&pending.path).unwrap();
        assert_eq!(text.trim(), "## Risk Level\nHigh");
    }

    fn input(label: &str, source: InputSource, chars: usize) -> PromptInput {
        PromptInput {
            label: label.into(),
            origin: None,
            content: "x".repeat(chars),
            source,
        }
    }

    #[test]
    fn context_files_are_cut_before_artifacts_and_the_need_never() {
        let mut inputs = vec![
            input("need", InputSource::Fixed, 5000),
            input("[A-1]", InputSource::Artifact, 3000),
            input("ctx-small", InputSource::ContextFile, 1000),
            input("ctx-big", InputSource::ContextFile, 4000),
        ];
        let note = cut_one(&mut inputs, 1500, 4096).unwrap();
        assert!(
            note.contains("context file 'ctx-big'") && note.contains("2500 of 4000"),
            "{note}"
        );
        let note = cut_one(&mut inputs, 5000, 4096).unwrap();
        assert!(
            note.contains("'ctx-small'") && note.contains("0 of 1000"),
            "{note}"
        );
        let note = cut_one(&mut inputs, 5000, 4096).unwrap();
        assert!(note.contains("approved artifact '[A-1]'"), "{note}");
        assert!(inputs[1]
            .content
            .starts_with(&"x".repeat(MIN_ARTIFACT_CHARS)));
        assert!(inputs[1].content.contains("600 of 3000 characters kept"));
        assert_eq!(cut_one(&mut inputs, 5000, 4096), None);
        assert_eq!(inputs[0].content.len(), 5000, "the need is never cut");
    }

    #[test]
    fn the_prompt_is_fitted_to_the_context_or_refused() {
        let (_dir, engine, _model) = setup();
        let caps = Capabilities {
            structured: false,
            context_tokens: Some(1000),
            max_tokens: Some(200),
        };
        let render = |inputs: &[PromptInput]| -> Result<String, PromptError> {
            Ok(inputs.iter().map(|i| i.content.as_str()).collect())
        };
        let mut inputs = vec![
            input("[A-1]", InputSource::Artifact, 1200),
            input("ctx", InputSource::ContextFile, 3000),
        ];
        let (user, cuts) = engine
            .fit_to_context(&caps, "A-2", "system", &mut inputs, render)
            .unwrap();
        assert!(estimate_tokens(&user) + estimate_tokens("system") <= 1000 - 200 - 64);
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert!(cuts[0].contains("context file 'ctx'"));
        assert_eq!(
            inputs[0].content.len(),
            1200,
            "the artifact fitted without a cut"
        );

        let mut too_big = vec![input("[A-1]", InputSource::Artifact, 9000)];
        let caps = Capabilities {
            context_tokens: Some(300),
            ..caps
        };
        let err = engine
            .fit_to_context(&caps, "A-2", "system", &mut too_big, render)
            .unwrap_err();
        assert!(
            matches!(err, EngineError::ContextTooSmall { have: 300, .. }),
            "{err}"
        );

        let unknown = Capabilities::default();
        let mut inputs = vec![input("ctx", InputSource::ContextFile, 90_000)];
        let (_, cuts) = engine
            .fit_to_context(&unknown, "A-2", "system", &mut inputs, render)
            .unwrap();
        assert!(cuts.is_empty(), "no limit known, nothing cut");
    }

    #[test]
    fn run_ids_are_readable() {
        let id = make_run_id(Some("Upgrade PostgreSQL 12 to 16!"));
        assert!(id.contains("-upgrade-postgresql-12-to-16-"), "{id}");
        assert!(store::validate_run_id(&id).is_ok());
    }
}
