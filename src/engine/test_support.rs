//! What the engine's tests share: the tiny workflow, a scripted model and
//! a scripted reviewer, and a run to try them on.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::{
    ContextFile, Decision, Engine, EngineError, EvidenceAnswer, EvidenceView, GateView, GivenInput,
    Reviewer, RunStart,
};
use crate::library::{self, validate, Library, Origin};
use crate::llm::{Capabilities, ChatRequest, Completion, ModelClient, ModelError, TokenSink};
use crate::store::{ModelRecord, RunStore};

/// A workflow with one of each kind of phase: ungated (`T-1`), gated
/// (`T-2`, a plan) and per-step gated (`T-3.N`, one per plan step).
pub(super) const TINY_WORKFLOW: &str = include_str!("testdata/tiny-workflow.md");

/// A model whose answers come from a function of the request, with the
/// capabilities a test needs.
pub(super) struct FnModel<F: Fn(&ChatRequest) -> (String, &'static str)> {
    pub(super) caps: Capabilities,
    pub(super) answer: F,
    pub(super) requests: RefCell<Vec<ChatRequest>>,
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
pub(super) type ScriptedModel = FnModel<fn(&ChatRequest) -> (String, &'static str)>;

/// Answers by artifact: notes for `T-1`, a two-step plan in a code fence
/// for `T-2` (so the fence is stripped), a complete step for the rest.
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
pub(super) struct ScriptedReviewer {
    pub(super) answers: VecDeque<Decision>,
    pub(super) seen: Vec<(String, u32)>,
}

impl Reviewer for ScriptedReviewer {
    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError> {
        self.seen
            .push((view.artifact.id.clone(), view.draft.revision));
        Ok(self.answers.pop_front().unwrap_or(Decision::Quit))
    }

    /// At a step: reports one note ("did STEP-N as planned"), then is done,
    /// so whole runs go through per-step phases with evidence.
    fn evidence(&mut self, view: &EvidenceView<'_>) -> Result<EvidenceAnswer, EngineError> {
        if view.items.is_empty() {
            return Ok(EvidenceAnswer::Note {
                text: format!("did STEP-{} as planned", view.card.step.number),
                by: "ana".into(),
            });
        }
        Ok(EvidenceAnswer::Done)
    }
}

/// A run of the tiny workflow with a need, and the scripted model.
pub(super) fn tiny_run() -> (tempfile::TempDir, Engine, ScriptedModel) {
    let dir = tempfile::tempdir().unwrap();
    let engine = start_engine(dir.path(), TINY_WORKFLOW, Some("NEED-TEXT"), &[]);
    let model: ScriptedModel = FnModel {
        caps: Capabilities::default(),
        answer: scripted_answer,
        requests: RefCell::new(Vec::new()),
    };
    (dir, engine, model)
}

/// A run of `workflow` in `dir`, with the need and context files given.
pub(super) fn start_engine(
    dir: &Path,
    workflow: &str,
    need: Option<&str>,
    contexts: &[PathBuf],
) -> Engine {
    let contexts = ContextFile::read_all(contexts, 1 << 20).unwrap();
    let library = Library::new(dir.to_path_buf());
    let file = library::LibraryFile {
        rel: "workflow.md".into(),
        origin: Origin::File(dir.join("workflow.md")),
        text: workflow.into(),
        moved_from: None,
    };
    let loaded = validate::load_file(file, library).unwrap();
    let store = RunStore::new(&dir.join("state"));
    let inputs = need
        .map(|text| GivenInput {
            label: loaded.workflow.request_label().unwrap().to_string(),
            text: text.to_string(),
            given_as: "--need".into(),
        })
        .into_iter()
        .collect();
    Engine::start(
        loaded,
        &store,
        RunStart {
            run_id: "r",
            need: need.map(str::to_string),
            inputs,
            contexts: &contexts,
            capabilities: Default::default(),
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

/// The names of the events in the run's journal, in order.
pub(super) fn journal_event_names(engine: &Engine) -> Vec<String> {
    engine
        .run
        .read_journal()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}
