//! The run engine: drafts each phase's artifact through a
//! [`ModelClient`](crate::llm::ModelClient), stops at each gate for a
//! [`Reviewer`] (or for a later command), and records every step in the run
//! store.
//!
//! The engine is the only place that moves a run forward. It never passes a
//! gate on its own: a gated artifact leaves `awaiting_decision` only through a
//! [`Decision`] that names a person.
//!
//! It knows the model only through the `crate::llm` trait and its request and
//! answer types, and people only through [`Reviewer`]; it never imports the
//! terminal or the CLI. `impl Engine` is split by concern, one block a file:
//!
//! - `mod.rs`: [`Engine`], [`RunStart`], [`Outcome`]; starting and opening a
//!   run (to change it, or read-only), its accessors, and saving state and
//!   writing the journal;
//! - `reconcile.rs`: opening a run brings its state up to the journal: the
//!   events a kill left unsaved are rolled forward, never recorded twice;
//! - `binding.rs`: [`DraftPin`] and [`Decided`], decisions bound to the
//!   draft a person read;
//! - `error.rs`: [`EngineError`];
//! - `reviewer.rs`: the human side: [`Reviewer`], [`GateView`] and
//!   [`Decision`], and building the view a gate shows;
//! - `advance.rs`: the cursor (which artifact is next, moving past it,
//!   accepting ungated drafts) and the `advance` loop;
//! - `decide.rs`: `apply` (a decision on the pending draft), the check that a
//!   decision's option belongs to the gate, and `promote`;
//! - `loop_back.rs`: an option that sends the work back to an earlier
//!   phase: what is reopened, what becomes stale, and finishing a send-back
//!   that a kill interrupted;
//! - `inputs.rs`: what a draft is made from: declared inputs, context files,
//!   the template, and the check of the inputs at start;
//! - `persona.rs`: the system message: the persona, the secondary one and
//!   the files they link to;
//! - `context_window.rs`: fitting a prompt to the server's context, cutting
//!   linked files and inputs with a note for every cut;
//! - `draft.rs`: drafting, the one repair request, and saving drafts (the
//!   model's and a person's edit), with `Attempt` reading an answer;
//! - `evidence.rs`: a step's card and its evidence (notes, files, commands
//!   run with a yes, a rollback's evidence), `evidence_prompt.rs` what a
//!   draft request carries of it;
//! - `panel.rs`: review panels and their findings;
//! - `redact.rs`: secrets left out of draft requests to a server off this
//!   machine, noted by kind, file and line;
//! - `status.rs`: [`StatusReport`], [`run_state`] and [`pending_artifact`],
//!   and the names of run states;
//! - `run_id.rs`: [`make_run_id`];
//! - `sources.rs`: what a draft is made from, noted as it is read, for the
//!   draft's record and its approval;
//! - `integrity.rs`: the tamper checks of `open`, `advance` and `apply`
//!   (see `store::verify`).
//!
//! Tests: `tests.rs` runs whole workflows through the engine, with the
//! scripted model, reviewer and tiny workflow (`testdata/tiny-workflow.md`)
//! of `test_support.rs`; functions with no run to drive are tested in their
//! own file.

mod advance;
mod binding;
mod context_window;
mod decide;
mod draft;
mod error;
mod evidence;
mod evidence_prompt;
mod inputs;
mod integrity;
mod loop_back;
mod panel;
mod persona;
mod reconcile;
mod redact;
mod reviewer;
mod run_id;
mod sources;
mod status;

pub use binding::{describe as describe_draft, short_sha, Decided, DraftCheck, DraftPin};
pub use error::EngineError;
pub use evidence::NewEvidence;
pub use reviewer::{
    Decision, EvidenceAnswer, EvidenceView, GateView, MissingDetail, OptionDetails, PhaseChoice,
    Reviewer,
};
pub use run_id::make_run_id;
pub use status::{
    pending_artifact, run_state, status_report, ArtifactReport, EvidenceReport, GateReport,
    OptionReport, PendingReport, RunStanding, StatusReport,
};

use std::path::{Path, PathBuf};

pub use inputs::{check_context_budget, check_first_phase_inputs, ContextFile, GivenInput};

use crate::artifact_schema::Bounds;
use crate::evidence::EvidenceSettings;
use crate::library::validate::{self, LoadedWorkflow};
use crate::library::{self, Library, LibraryBuilder, Origin, RootKind};
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
    /// A step waits for evidence of what happened (exit code 10).
    AwaitingEvidence {
        artifact: String,
    },
    /// A step is being rolled back: its evidence and the choice to continue
    /// or abort are awaited (exit code 10).
    RollingBack {
        artifact: String,
    },
    /// The reviewer chose to save and quit at a gate.
    Quit {
        artifact: String,
        path: PathBuf,
    },
    Complete,
    Aborted,
}

/// One run being worked on. Its state is saved as the run moves, so any
/// command may stop and a later one [`open`](Engine::open) the run again.
///
/// The journal is written first and the state saved after it: a kill in
/// between leaves a journal ahead of `run.json`, which `open` rolls
/// forward (see `reconcile.rs`). An engine opened with
/// [`open_read_only`](Engine::open_read_only) shows the same rolled-forward
/// state without writing anything.
pub struct Engine {
    /// The workflow the run follows; after `open`, read from the run's own
    /// snapshot, so edits to the library do not change a run under way.
    loaded: LoadedWorkflow,
    run: RunDir,
    state: RunState,
    prompts: PromptAssembler,
    /// The limits for schemas compiled from templates; see `set_bounds`.
    bounds: Bounds,
    /// How a step's evidence is gathered; see `set_evidence_settings`.
    evidence: EvidenceSettings,
    /// What opening the run found and did, for the command to report.
    notices: Vec<String>,
    /// The files read for the draft being made; see `sources.rs`.
    sources: sources::SourceLog,
}

/// What a new run starts from.
pub struct RunStart<'a> {
    pub run_id: &'a str,
    /// The request (`--need`), kept in `run.json` for lists and the run id.
    pub need: Option<String>,
    /// The free-text inputs given, already matched to their labels; the
    /// request is among them.
    pub inputs: Vec<GivenInput>,
    /// Context files, read already, copied into the run at start.
    pub contexts: &'a [ContextFile],
    pub model: ModelRecord,
    /// What the server takes per request: a context file larger than a
    /// whole request is refused before the run is created.
    pub capabilities: crate::llm::Capabilities,
}

/// A journal entry for `run_id`, stamped now.
fn journal_event(run_id: &str, kind: EventKind) -> JournalEvent {
    JournalEvent {
        at: store::now_rfc3339(),
        run_id: run_id.to_string(),
        kind,
    }
}

/// The run folder's copy of the workflow, which `open` follows.
const WORKFLOW_SNAPSHOT: &str = "workflow.md";

impl Engine {
    /// Creates a run folder, snapshots the workflow and context files, and
    /// checks the run's inputs before any model call.
    pub fn start(
        loaded: LoadedWorkflow,
        runs: &RunStore,
        start: RunStart<'_>,
    ) -> Result<Engine, EngineError> {
        check_first_phase_inputs(&loaded.workflow, &start.inputs, !start.contexts.is_empty())?;
        check_context_budget(start.contexts, &start.capabilities)?;
        let prompts = PromptAssembler::load(&loaded.library)?;
        // Built in a staging folder: until `publish` below, a kill leaves
        // the run id free for `run --run-id` again.
        let run = runs.create(start.run_id)?;
        run.write(WORKFLOW_SNAPSHOT, &loaded.text)?;
        // The roots as found now, canonical, so that a later command run from
        // another folder resolves the same files.
        let library_roots: Vec<PathBuf> = loaded
            .library
            .roots()
            .iter()
            .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
            .collect();
        let library_root = library_roots
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let mut state = RunState {
            version: 1,
            run_id: start.run_id.to_string(),
            workflow: WorkflowRecord {
                name: loaded.workflow.name.clone(),
                source: loaded.origin.to_string(),
                library_root,
                library_roots,
                sha256: store::sha256_hex(loaded.text.as_bytes()),
                snapshot: WORKFLOW_SNAPSHOT.into(),
            },
            created_at: store::now_rfc3339(),
            updated_at: String::new(),
            need: start.need,
            inputs: Vec::new(),
            contexts: Vec::new(),
            model: start.model.clone(),
            status: RunStatus::Active,
            phase_index: 0,
            steps: None,
            artifacts: Vec::new(),
            journal: None,
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
            evidence: EvidenceSettings::default(),
            notices: Vec::new(),
            sources: sources::SourceLog::default(),
        };
        engine.record_inputs(&start.inputs)?;
        engine.add_contexts(start.contexts, &start.capabilities)?;
        engine.run.publish()?;
        Ok(engine)
    }

    /// Opens an existing run to work on it, under its lock, following the
    /// workflow snapshot it started with. A state behind the journal (a
    /// command was killed between the two) is rolled forward and saved.
    pub fn open(runs: &RunStore, run_id: &str) -> Result<Engine, EngineError> {
        Engine::load(runs.open(run_id)?, run_id)
    }

    /// Opens a run to look at it (`status`, `show`, `list`) while another
    /// command may hold its lock and draft: reads `run.json` (replaced
    /// whole, never torn), then the journal, and shows the state rolled
    /// forward to it without writing anything.
    pub fn open_read_only(runs: &RunStore, run_id: &str) -> Result<Engine, EngineError> {
        Engine::load(runs.open_read_only(run_id)?, run_id)
    }

    fn load(run: RunDir, run_id: &str) -> Result<Engine, EngineError> {
        let state = run.load_state()?;
        let text = run.read(&state.workflow.snapshot)?;
        // A snapshot changed by hand (a gate deleted) is never followed.
        integrity::check_snapshot(&run, &state, &text)?;
        let library = if state.workflow.library_roots.is_empty() {
            // A run of an earlier migagent recorded one root; the user's
            // config folder came after it.
            LibraryBuilder::new(&state.workflow.library_root).build()
        } else {
            Library::with_roots(
                state
                    .workflow
                    .library_roots
                    .iter()
                    .map(|r| (r.clone(), RootKind::Recorded))
                    .collect(),
            )
        };
        let file = library::LibraryFile {
            rel: state.workflow.snapshot.clone(),
            origin: Origin::File(run.path().join(&state.workflow.snapshot)),
            text,
            moved_from: None,
        };
        let loaded =
            validate::load_file(file, library).map_err(|source| EngineError::Workflow {
                run_id: run_id.to_string(),
                source,
            })?;
        let prompts = PromptAssembler::load(&loaded.library)?;
        let mut engine = Engine {
            loaded,
            run,
            state,
            prompts,
            bounds: Bounds::default(),
            evidence: EvidenceSettings::default(),
            notices: Vec::new(),
            sources: sources::SourceLog::default(),
        };
        engine.reconcile()?;
        Ok(engine)
    }

    /// What opening the run found and set right (a torn journal end set
    /// aside, events rolled forward), or a command set aside as it went,
    /// since last asked: in words, for the command to report.
    pub fn take_notices(&mut self) -> Vec<String> {
        let mut all = self.run.take_notices();
        all.append(&mut self.notices);
        all
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

    /// Sets the limits of the schemas compiled from templates: a small model
    /// gets tighter ones, so a repetition loop ends early.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        self.bounds = bounds;
    }

    /// Records which server and model later drafts use. A change from
    /// what the run recorded is journalled first (`model_changed`, with
    /// `by` when known), so the journal tells which drafts came from where.
    pub fn set_model(&mut self, model: ModelRecord, by: Option<&str>) -> Result<(), EngineError> {
        let old = &self.state.model;
        if old.base_url == model.base_url
            && old.model == model.model
            && old.profile == model.profile
            && old.offline == model.offline
        {
            return Ok(());
        }
        self.journal(EventKind::ModelChanged {
            from_model: old.model.clone(),
            from_base_url: old.base_url.clone(),
            model: model.model.clone(),
            base_url: model.base_url.clone(),
            profile: model.profile.clone(),
            offline: model.offline,
            by: by.map(str::to_string),
        })?;
        self.state.model = model;
        self.save()
    }

    /// Saves the run state; every change to it goes through here.
    fn save(&mut self) -> Result<(), EngineError> {
        self.run.save_state(&mut self.state)?;
        Ok(())
    }

    /// Records one event in the run's journal.
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

    /// The latest draft of `rec`; an artifact without one has nothing to
    /// show or decide on, which is the error.
    fn latest_draft_of<'r>(&self, rec: &'r ArtifactRecord) -> Result<&'r DraftRecord, EngineError> {
        rec.latest_draft()
            .ok_or_else(|| EngineError::NothingPending {
                run_id: self.state.run_id.clone(),
                state: format!("{} has no draft yet", rec.id),
            })
    }
}

#[cfg(test)]
mod checked_tests;
#[cfg(test)]
mod input_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
