//! Runs of whole workflows through the engine with a scripted model and
//! reviewer: the gates, the steps, the repair request and the context cuts.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::context_window::estimate_tokens;
use super::test_support::{journal_event_names, start_engine, tiny_run, FnModel, ScriptedReviewer};
use super::{Decision, NewEvidence, Outcome};
use crate::llm::{Capabilities, ChatRequest, Silent};
use crate::store::{self, AfterRollback, DraftFormat};
use crate::workflow::step;

#[tokio::test]
async fn an_ungated_phase_is_accepted_and_feeds_the_next_one() {
    let (_dir, mut engine, model) = tiny_run();
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-2"));
    assert!(journal_event_names(&engine).contains(&"accepted".to_string()));
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
    let (_dir, mut engine, model) = tiny_run();
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
    assert_eq!(engine.status().state.name(), "aborted");
    let ev = journal_event_names(&engine);
    assert!(ev.contains(&"edited".to_string()));
    assert!(ev.contains(&"rolled_back".to_string()));
    assert_eq!(ev.last().map(String::as_str), Some("aborted"));
}

#[tokio::test]
async fn quitting_at_a_gate_decides_nothing() {
    let (_dir, mut engine, model) = tiny_run();
    let mut reviewer = ScriptedReviewer {
        answers: VecDeque::from([Decision::Quit]),
        seen: Vec::new(),
    };
    let outcome = engine
        .advance(&model, Some(&mut reviewer), &mut Silent)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Quit { ref artifact, .. } if artifact == "T-2"));
    assert!(!journal_event_names(&engine).contains(&"decided".to_string()));
    assert_eq!(engine.status().state.name(), "awaiting_decision");
}

#[tokio::test]
async fn a_decision_must_match_the_option_it_names() {
    let (_dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let err = engine
        .apply(Decision::Proceed {
            option: Some("Revise".into()),
            by: "ana".into(),
            note: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("no option 'Revise'"), "{err}");
    assert_eq!(engine.status().state.name(), "awaiting_decision");
}

/// A server that enforces a schema and has no known context limit.
fn structured_caps() -> Capabilities {
    Capabilities {
        structured: true,
        context_tokens: None,
        max_tokens: Some(500),
        parallel_requests: 1,
    }
}

#[tokio::test]
async fn a_structured_draft_is_rendered_into_the_template_and_its_json_kept() {
    let (_dir, mut engine, _) = tiny_run();
    let model = FnModel {
        caps: structured_caps(),
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
    assert!(matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-2"));
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
    let (_dir, mut engine, _) = tiny_run();
    let model = FnModel {
        caps: structured_caps(),
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
    assert!(journal_event_names(&engine).contains(&"repair_requested".to_string()));
    assert!(engine
        .run
        .read("drafts/T-2.r1.attempt1.txt")
        .unwrap()
        .contains("Alpha"));
    assert_eq!(
        engine.status().state.name(),
        "awaiting_decision",
        "never passed on its own"
    );
}

#[tokio::test]
async fn markdown_mode_repairs_missing_sections_once() {
    let (_dir, mut engine, _) = tiny_run();
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

/// One gated phase that reads context files, for the context-cut test.
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
            parallel_requests: 1,
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

/// Drives the tiny run to its first step without a terminal: T-2 approved.
async fn to_the_first_step(
    engine: &mut super::Engine,
    model: &super::test_support::ScriptedModel,
) -> Outcome {
    engine.advance(model, None, &mut Silent).await.unwrap();
    engine
        .apply(Decision::Proceed {
            option: None,
            by: "ana".into(),
            note: None,
        })
        .unwrap();
    engine.advance(model, None, &mut Silent).await.unwrap()
}

#[tokio::test]
async fn a_step_waits_for_evidence_and_its_draft_carries_it() {
    let (_dir, mut engine, model) = tiny_run();
    let outcome = to_the_first_step(&mut engine, &model).await;
    assert_eq!(
        outcome,
        Outcome::AwaitingEvidence {
            artifact: "T-3.1".into()
        }
    );
    let drafted_before = model.requests.borrow().len();
    // Nothing recorded: resuming drafts nothing and still waits.
    let again = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert_eq!(again, outcome);
    assert_eq!(model.requests.borrow().len(), drafted_before);
    assert_eq!(engine.status().state.name(), "awaiting_evidence");
    let card = engine.evidence_card().unwrap().expect("a card");
    assert_eq!(card.step.name, "Alpha");

    let added = engine
        .add_evidence(NewEvidence::Note("NOTE-OF-STEP-ONE".into()), "ana")
        .unwrap();
    assert_eq!(added[0].id, "note-1");
    let stored = engine.run.read(&added[0].path).unwrap();
    assert_eq!(stored, "NOTE-OF-STEP-ONE");
    assert_eq!(added[0].sha256, store::sha256_hex(stored.as_bytes()));
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(
        matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-3.1")
    );
    let user = model.requests.borrow().last().unwrap().user.clone();
    assert!(user.contains("Evidence for [T-3.1]"), "{user}");
    assert!(user.contains("T-3.1/note-1: reported by ana"), "{user}");
    assert!(user.contains("NOTE-OF-STEP-ONE"), "{user}");
    // Proven by a note: the template still offers "Complete".
    assert!(user.contains("<Complete / Rolled back>"), "{user}");
    assert!(journal_event_names(&engine).contains(&"evidence_added".to_string()));
}

#[tokio::test]
async fn a_step_without_proof_cannot_claim_success() {
    let (_dir, mut engine, model) = tiny_run();
    to_the_first_step(&mut engine, &model).await;
    engine
        .add_evidence(NewEvidence::None("no access to the box".into()), "ana")
        .unwrap();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let user = model.requests.borrow().last().unwrap().user.clone();
    assert!(user.contains("<Rolled back / Unverified>"), "{user}");
    assert!(!user.contains("<Complete"), "{user}");
    // The scripted model claims "Complete" anyway: the gate is told.
    let status = engine.status();
    let pending = status.pending.expect("a draft awaits a decision");
    assert!(
        pending
            .problems
            .iter()
            .any(|p| p.contains("claims 'Complete'") && p.contains("without evidence")),
        "{:?}",
        pending.problems
    );
}
