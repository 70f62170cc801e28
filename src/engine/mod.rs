//! The run engine: drafts each phase's artifact through a [`ModelClient`](crate::llm::ModelClient),
//! stops at each gate for a [`Reviewer`] (or for a later command), and
//! records every step in the run store.
//!
//! The engine is the only place that moves a run forward. It never passes a
//! gate on its own: a gated artifact leaves `awaiting_decision` only through a
//! [`Decision`] that names a person.

mod advance;
mod context_window;
mod decide;
mod draft;
mod error;
mod inputs;
mod panel;
mod reviewer;
mod run_id;
mod status;

pub use error::EngineError;
pub use reviewer::{Decision, GateView, Reviewer};
pub use run_id::make_run_id;
pub use status::{
    pending_artifact, run_state, status_report, ArtifactReport, PendingReport, StatusReport,
};

use std::path::{Path, PathBuf};

use inputs::check_need;

use crate::artifact_schema::Bounds;
use crate::library::validate::{self, LoadedWorkflow};
use crate::library::{self, Library, Origin};
use crate::prompt::PromptAssembler;
use crate::store::{
    self, ArtifactRecord, DraftRecord, EventKind, JournalEvent, ModelRecord, RunDir, RunState,
    RunStatus, RunStore, WorkflowRecord,
};
use crate::workflow::Workflow;

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

fn journal_event(run_id: &str, kind: EventKind) -> JournalEvent {
    JournalEvent {
        at: store::now_rfc3339(),
        run_id: run_id.to_string(),
        kind,
    }
}

const WORKFLOW_SNAPSHOT: &str = "workflow.md";

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
        run.write(WORKFLOW_SNAPSHOT, &loaded.text)?;
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
                snapshot: WORKFLOW_SNAPSHOT.into(),
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
        run.journal(&journal_event(
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
            .map(|k| journal_event(&self.state.run_id, k))
            .collect();
        self.run.journal_all(&events)?;
        Ok(())
    }

    fn latest_draft_of<'r>(&self, rec: &'r ArtifactRecord) -> Result<&'r DraftRecord, EngineError> {
        rec.latest_draft()
            .ok_or_else(|| EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: format!("{} has no draft yet", rec.id),
            })
    }
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
