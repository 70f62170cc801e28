//! Sending the work back: what is reopened, what becomes stale and is
//! redrafted in order, what stays approved, and what the journal and
//! `status` keep. The workflow (`testdata/loop-back-workflow.md`): API-1
//! requirements → API-2 contract → API-3 examples; API-4 glossary stands
//! alone; API-5 review reads API-3 and API-4 and can send the work back to
//! phase 2, or to phase 1 or 4; API-6 rollout reads API-2.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::super::test_support::{journal_event_names, start_engine, FnModel};
use super::super::{Decision, Engine, EngineError, GateView, Outcome, PhaseChoice, Reviewer};
use crate::llm::{Capabilities, ChatRequest, Silent};
use crate::store::{ArtifactState, RunStore};
use crate::workflow::GateOption;

const WORKFLOW: &str = include_str!("../testdata/loop-back-workflow.md");
const FEEDBACK: &str = "The contract must version its error codes";

type Model = FnModel<fn(&ChatRequest) -> (String, &'static str)>;

/// Answers every draft with its purpose ("API-2 r2"), so each artifact's
/// text says which draft it is.
fn body(request: &ChatRequest) -> (String, &'static str) {
    (format!("## Body\nBODY {}\n", request.purpose), "stop")
}

fn run() -> (tempfile::TempDir, Engine, Model) {
    let dir = tempfile::tempdir().unwrap();
    let engine = start_engine(dir.path(), WORKFLOW, Some("An orders API"), &[]);
    let model: Model = FnModel {
        caps: Capabilities::default(),
        answer: body,
        requests: RefCell::new(Vec::new()),
    };
    (dir, engine, model)
}

fn approve() -> Decision {
    Decision::Proceed {
        option: None,
        by: "ana".into(),
        note: None,
    }
}

fn send_back(option: &str, to_phase: Option<u32>) -> Decision {
    Decision::SendBack {
        option: Some(option.into()),
        by: "ana".into(),
        feedback: FEEDBACK.into(),
        to_phase,
    }
}

/// Drafts and approves API-1 to API-4 without a reviewer, leaving API-5
/// awaiting a decision.
async fn up_to_review(engine: &mut Engine, model: &Model) {
    for _ in 1..=4 {
        engine.advance(model, None, &mut Silent).await.unwrap();
        engine.apply(approve()).unwrap();
    }
    let outcome = engine.advance(model, None, &mut Silent).await.unwrap();
    assert!(
        matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "API-5"),
        "{outcome:?}"
    );
}

fn states(engine: &Engine) -> Vec<(String, ArtifactState)> {
    engine
        .state()
        .artifacts
        .iter()
        .map(|a| (a.id.clone(), a.state))
        .collect()
}

fn with_states(pairs: &[(&str, ArtifactState)]) -> Vec<(String, ArtifactState)> {
    pairs.iter().map(|(id, s)| (id.to_string(), *s)).collect()
}

/// The user message of the request that drafted `purpose` ("API-3 r2").
fn request_for(model: &Model, purpose: &str) -> String {
    model
        .requests
        .borrow()
        .iter()
        .find(|r| r.purpose == purpose)
        .unwrap_or_else(|| panic!("no request for {purpose}"))
        .user
        .clone()
}

/// A person who answers from a script, picks `phase` when asked to choose
/// one, and notes each gate and each choice offered.
struct Person {
    answers: VecDeque<Decision>,
    phase: Option<u32>,
    seen: Vec<(String, u32)>,
    offered: Vec<Vec<PhaseChoice>>,
}

impl Person {
    fn new(answers: Vec<Decision>, phase: Option<u32>) -> Person {
        Person {
            answers: answers.into(),
            phase,
            seen: Vec::new(),
            offered: Vec::new(),
        }
    }
}

impl Reviewer for Person {
    fn review(&mut self, view: &GateView<'_>) -> Result<Decision, EngineError> {
        self.seen
            .push((view.artifact.id.clone(), view.draft.revision));
        Ok(self.answers.pop_front().unwrap_or(Decision::Quit))
    }

    fn choose_phase(
        &mut self,
        _view: &GateView<'_>,
        _option: &GateOption,
        choices: &[PhaseChoice],
    ) -> Result<Option<u32>, EngineError> {
        self.offered.push(choices.to_vec());
        Ok(self.phase)
    }
}

#[tokio::test]
async fn a_send_back_reopens_the_phase_and_redrafts_what_depends_on_it_in_order() {
    let (_dir, mut engine, model) = run();
    let mut person = Person::new(
        vec![
            approve(),
            approve(),
            approve(),
            approve(),
            send_back("Contract changes needed", None),
            approve(),
            approve(),
            approve(),
            approve(),
        ],
        None,
    );
    let outcome = engine
        .advance(&model, Some(&mut person), &mut Silent)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Complete);
    let ids = |v: &[(&str, u32)]| -> Vec<(String, u32)> {
        v.iter().map(|(a, r)| (a.to_string(), *r)).collect()
    };
    // API-4 does not read the contract: it is not shown again.
    assert_eq!(
        person.seen,
        ids(&[
            ("API-1", 1),
            ("API-2", 1),
            ("API-3", 1),
            ("API-4", 1),
            ("API-5", 1),
            ("API-2", 2),
            ("API-3", 2),
            ("API-5", 2),
            ("API-6", 1),
        ])
    );
    assert!(person.offered.is_empty(), "one phase named: no question");

    // The reopened draft carries the feedback; so does the gate's own.
    let contract = request_for(&model, "API-2 r2");
    assert!(contract.contains(FEEDBACK), "{contract}");
    assert!(
        contract.contains("BODY API-2 r1"),
        "the previous draft: {contract}"
    );
    assert!(request_for(&model, "API-5 r2").contains(FEEDBACK));
    // Stale artifacts never feed a draft: the examples and the rollout are
    // drafted from the new contract.
    let examples = request_for(&model, "API-3 r2");
    assert!(examples.contains("BODY API-2 r2"), "{examples}");
    assert!(!examples.contains("BODY API-2 r1"), "{examples}");
    assert!(request_for(&model, "API-6 r1").contains("BODY API-2 r2"));
    assert!(!request_for(&model, "API-6 r1").contains("BODY API-2 r1"));
    let review = request_for(&model, "API-5 r2");
    assert!(review.contains("BODY API-3 r2") && review.contains("BODY API-4 r1"));
    assert_eq!(
        engine.run.read("artifacts/API-2.md").unwrap(),
        "## Body\nBODY API-2 r2\n"
    );
}

#[tokio::test]
async fn stale_artifacts_keep_their_approvals_and_show_in_status() {
    let (_dir, mut engine, model) = run();
    up_to_review(&mut engine, &model).await;
    engine
        .apply(send_back("contract CHANGES needed", None))
        .unwrap();

    use ArtifactState::{Approved, Stale};
    assert_eq!(
        states(&engine),
        with_states(&[
            ("API-1", Approved),
            ("API-2", Stale),
            ("API-3", Stale),
            ("API-4", Approved),
            ("API-5", Stale),
        ])
    );
    let status = engine.status();
    assert_eq!(status.state.name(), "ready_to_draft");
    assert_eq!(status.phase.as_deref(), Some("Phase 2: Contract"));
    assert!(status.pending.is_none());
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["artifacts"][1]["state"], "stale");
    assert_eq!(json["artifacts"][1]["approved_by"], "ana");

    // The earlier approval stays on disk and in the journal until replaced.
    assert_eq!(
        engine.run.read("artifacts/API-2.md").unwrap(),
        "## Body\nBODY API-2 r1\n"
    );
    assert!(engine.approved_text("API-2", 3).is_err());
    let journal = engine.run.read_journal().unwrap();
    let sent: Vec<_> = journal
        .iter()
        .filter(|e| e["event"] == "sent_back")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["from_artifact"], "API-5");
    assert_eq!(sent[0]["to_phase"], 2);
    assert_eq!(sent[0]["to_artifact"], "API-2");
    assert_eq!(sent[0]["option"], "Contract changes needed");
    assert_eq!(sent[0]["reason"], FEEDBACK);
    assert_eq!(sent[0]["by"], "ana");
    let stale: Vec<(&str, Option<u64>)> = journal
        .iter()
        .filter(|e| e["event"] == "marked_stale")
        .map(|e| {
            (
                e["artifact"].as_str().unwrap(),
                e["approved_revision"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [("API-2", Some(1)), ("API-3", Some(1)), ("API-5", None)]
    );
    let decided = journal.iter().rfind(|e| e["event"] == "decided").unwrap();
    assert_eq!(decided["action"], "send_back");
    assert!(journal
        .iter()
        .any(|e| e["event"] == "approved" && e["artifact"] == "API-2" && e["revision"] == 1));

    // Resuming drafts the contract again, and only the contract.
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(
        matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "API-2"),
        "{outcome:?}"
    );
    assert_eq!(model.requests.borrow().last().unwrap().purpose, "API-2 r2");
    engine.apply(approve()).unwrap();
    let examples = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(
        matches!(examples, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "API-3"),
        "{examples:?}"
    );
}

#[tokio::test]
async fn staleness_is_transitive_and_spares_what_does_not_depend() {
    let (_dir, mut engine, model) = run();
    up_to_review(&mut engine, &model).await;
    engine.apply(send_back("Start over", Some(1))).unwrap();
    use ArtifactState::{Approved, Stale};
    // API-3 reads only API-2, which reads API-1.
    assert_eq!(
        states(&engine),
        with_states(&[
            ("API-1", Stale),
            ("API-2", Stale),
            ("API-3", Stale),
            ("API-4", Approved),
            ("API-5", Stale),
        ])
    );
    assert_eq!(engine.state().phase_index, 0);
}

#[tokio::test]
async fn an_option_naming_several_phases_needs_a_choice() {
    let (_dir, mut engine, model) = run();
    up_to_review(&mut engine, &model).await;
    let events_before = journal_event_names(&engine);

    let err = engine.apply(send_back("Start over", None)).unwrap_err();
    assert!(
        matches!(err, EngineError::SendBackNeedsPhase { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("choose one with --to-phase N, from phase 1 (Requirements), 4 (Glossary)"),
        "{err}"
    );
    let err = engine.apply(send_back("Start over", Some(3))).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot send the work back to phase 3; it may go to phase 1 (Requirements), 4 (Glossary)"),
        "{err}"
    );
    // A phase the option does not name is refused even when it is earlier.
    let err = engine
        .apply(send_back("Contract changes needed", Some(1)))
        .unwrap_err();
    assert!(
        err.to_string().contains("it may go to phase 2 (Contract)"),
        "{err}"
    );
    assert_eq!(
        journal_event_names(&engine),
        events_before,
        "nothing decided"
    );
    assert_eq!(engine.status().state.name(), "awaiting_decision");

    engine.apply(send_back("Start over", Some(4))).unwrap();
    use ArtifactState::{Approved, Stale};
    assert_eq!(
        states(&engine),
        with_states(&[
            ("API-1", Approved),
            ("API-2", Approved),
            ("API-3", Approved),
            ("API-4", Stale),
            ("API-5", Stale),
        ])
    );
}

#[tokio::test]
async fn a_reviewer_is_asked_which_phase_and_without_an_answer_nothing_is_decided() {
    let (_dir, mut engine, model) = run();
    up_to_review(&mut engine, &model).await;
    let events_before = journal_event_names(&engine);

    // The default reviewer cannot ask: the gate stays pending.
    let mut silent = Person::new(vec![send_back("Start over", None)], None);
    let outcome = engine
        .advance(&model, Some(&mut silent), &mut Silent)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Quit { ref artifact, .. } if artifact == "API-5"));
    assert_eq!(journal_event_names(&engine), events_before);
    let offered: Vec<u32> = silent.offered[0].iter().map(|c| c.number).collect();
    assert_eq!(offered, [1, 4]);
    assert_eq!(silent.offered[0][1].artifact, "API-4");

    let mut person = Person::new(vec![send_back("Start over", None), approve()], Some(4));
    engine
        .advance(&model, Some(&mut person), &mut Silent)
        .await
        .unwrap();
    // Phase 4 was chosen: the glossary is redrafted first, with the feedback.
    assert_eq!(person.seen.last().unwrap(), &("API-5".to_string(), 2));
    assert!(request_for(&model, "API-4 r2").contains(FEEDBACK));
    let journal = engine.run.read_journal().unwrap();
    let sent = journal.iter().find(|e| e["event"] == "sent_back").unwrap();
    assert_eq!(sent["to_phase"], 4);
}

#[tokio::test]
async fn a_kill_between_the_journal_and_the_state_is_finished_on_open_without_doubling() {
    let (dir, mut engine, model) = run();
    up_to_review(&mut engine, &model).await;
    let state_before = engine.run.read("run.json").unwrap();
    engine
        .apply(send_back("Contract changes needed", None))
        .unwrap();
    let events = journal_event_names(&engine);
    // As if the process died after the journal write, before run.json.
    engine.run.write("run.json", &state_before).unwrap();
    drop(engine);

    let store = RunStore::new(&dir.path().join("state"));
    let engine = Engine::open(&store, "r").unwrap();
    use ArtifactState::{Approved, Stale};
    assert_eq!(
        states(&engine),
        with_states(&[
            ("API-1", Approved),
            ("API-2", Stale),
            ("API-3", Stale),
            ("API-4", Approved),
            ("API-5", Stale),
        ])
    );
    assert_eq!(
        journal_event_names(&engine),
        events,
        "nothing journalled twice"
    );
    assert_eq!(engine.status().state.name(), "ready_to_draft");
    drop(engine);
    // Opening again changes nothing more.
    let engine = Engine::open(&store, "r").unwrap();
    assert_eq!(journal_event_names(&engine), events);
    assert_eq!(engine.state().phase_index, 1);
}

/// The workflow the gate tests read too (`workflow/testdata/`), its
/// check sending the work back to the steps.
fn steps_workflow() -> String {
    include_str!("../../workflow/testdata/steps-workflow.md").replace(
        "OPTION",
        "- **Recheck the steps** → return to Phase 2, then re-present at Phase 3",
    )
}

/// The plan has two steps; every other answer names its draft.
fn steps_answer(request: &ChatRequest) -> (String, &'static str) {
    if request.purpose.starts_with("ST-1") {
        let plan =
            "## Steps\n\n### Step 1: Alpha\n- **Action:** a\n\n### Step 2: Beta\n- **Action:** b\n";
        return (plan.into(), "stop");
    }
    (format!("## Result\nRESULT {}\n", request.purpose), "stop")
}

#[tokio::test]
async fn sent_back_to_executed_steps_they_are_redrafted_from_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start_engine(dir.path(), &steps_workflow(), Some("Move it"), &[]);
    let model: Model = FnModel {
        caps: Capabilities::default(),
        answer: steps_answer,
        requests: RefCell::new(Vec::new()),
    };
    let mut person = super::super::test_support::ScriptedReviewer {
        answers: VecDeque::from([approve(), approve(), approve()]),
        seen: Vec::new(),
    };
    engine
        .advance(&model, Some(&mut person), &mut Silent)
        .await
        .unwrap();
    assert_eq!(engine.pending().map(|a| a.id.as_str()), Some("ST-3"));
    engine.apply(send_back("Recheck the steps", None)).unwrap();
    use ArtifactState::{Approved, Stale};
    assert_eq!(
        states(&engine),
        with_states(&[
            ("ST-1", Approved),
            ("ST-2.1", Stale),
            ("ST-2.2", Stale),
            ("ST-3", Stale),
        ])
    );
    let evidence_before = engine.state().artifacts[1].evidence.len();

    // Without a person, each step is redrafted from what was recorded, with
    // the feedback, and waits at its gate; nothing is run again.
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(
        matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "ST-2.1"),
        "{outcome:?}"
    );
    let step = request_for(&model, "ST-2.1 r2");
    assert!(step.contains(FEEDBACK), "{step}");
    assert!(
        step.contains("did STEP-1 as planned"),
        "the evidence: {step}"
    );
    assert_eq!(engine.state().artifacts[1].evidence.len(), evidence_before);
    engine.apply(approve()).unwrap();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    engine.apply(approve()).unwrap();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    assert_eq!(engine.pending().map(|a| a.id.as_str()), Some("ST-3"));
    let check = request_for(&model, "ST-3 r2");
    assert!(check.contains("RESULT ST-2.2 r2"), "{check}");
    assert!(!check.contains("RESULT ST-2.2 r1"), "{check}");
}
