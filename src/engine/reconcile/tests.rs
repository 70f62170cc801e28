//! A kill between the journal and `run.json`, at each kind of write: the
//! state is rolled forward from the journal on open, nothing is recorded
//! twice, no draft is overwritten, and `artifacts/` follows the journal.
//! A kill is simulated by putting back the `run.json` saved before the
//! command (and the files it had not written yet).

use super::super::test_support::{journal_event_names, tiny_run, ScriptedReviewer};
use super::super::{Decision, DraftPin, Engine, EngineError, Outcome};
use crate::llm::Silent;
use crate::store::{self, ArtifactState, RunStatus, RunStore};
use std::collections::VecDeque;

fn approve() -> Decision {
    Decision::Proceed {
        option: None,
        by: "ana".into(),
        note: None,
    }
}

fn revise() -> Decision {
    Decision::Revise {
        option: None,
        by: "bob".into(),
        feedback: "shorter".into(),
    }
}

fn count(engine: &Engine, event: &str) -> usize {
    journal_event_names(engine)
        .iter()
        .filter(|e| *e == event)
        .count()
}

/// Reopens run "r" as the next command would.
fn reopen(dir: &tempfile::TempDir, engine: Engine) -> Engine {
    drop(engine);
    Engine::open(&RunStore::new(&dir.path().join("state")), "r").unwrap()
}

#[tokio::test]
async fn an_approval_killed_before_run_json_is_finished_once_on_open() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let before = engine.run.read("run.json").unwrap();
    engine.apply(approve()).unwrap();
    let events = journal_event_names(&engine);
    // Killed after the journal line, before the copy and run.json.
    engine.run.write("run.json", &before).unwrap();
    std::fs::remove_file(engine.run_dir().join("artifacts/T-2.md")).unwrap();

    let mut engine = reopen(&dir, engine);
    let t2 = engine
        .state()
        .artifacts
        .iter()
        .find(|a| a.id == "T-2")
        .unwrap();
    assert_eq!(t2.state, ArtifactState::Approved);
    let approval = t2.approval.clone().unwrap();
    assert_eq!(approval.by, "ana");
    assert_eq!(approval.option, "Approved");
    assert_eq!(
        store::sha256_hex(engine.run.read("artifacts/T-2.md").unwrap().as_bytes()),
        approval.sha256
    );
    assert_eq!(
        journal_event_names(&engine),
        events,
        "nothing journalled again"
    );
    assert!(engine
        .take_notices()
        .iter()
        .any(|n| n.contains("brought up to the journal")));
    // The decision is made: a second approval or revision has nothing to
    // decide, so it cannot be recorded twice.
    assert!(matches!(
        engine.apply(revise()),
        Err(EngineError::NothingPending { .. })
    ));
    assert_eq!(count(&engine, "approved"), 1);
    // And the run goes on from the roll-forward's saved state.
    let engine = reopen(&dir, engine);
    assert_eq!(
        engine.state().journal.as_ref().unwrap().lines as usize,
        events.len()
    );
}

#[tokio::test]
async fn a_draft_killed_before_run_json_is_kept_and_not_drafted_again() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    engine.apply(revise()).unwrap();
    let before = engine.run.read("run.json").unwrap();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let requests = model.requests.borrow().len();
    engine.run.write("run.json", &before).unwrap();

    let mut engine = reopen(&dir, engine);
    let t2 = engine
        .state()
        .artifacts
        .iter()
        .find(|a| a.id == "T-2")
        .unwrap();
    assert_eq!(t2.state, ArtifactState::AwaitingDecision);
    assert_eq!(t2.drafts.len(), 2);
    let r2 = &t2.drafts[1];
    assert_eq!(
        r2.feedback.as_deref(),
        Some("shorter"),
        "the feedback it answered"
    );
    assert_eq!(r2.model.as_deref(), Some("fn"));
    assert!(t2.pending_feedback.is_none());
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(matches!(outcome, Outcome::AwaitingDecision { .. }));
    assert_eq!(model.requests.borrow().len(), requests, "not drafted again");
    assert_eq!(count(&engine, "drafted"), 3);
}

#[tokio::test]
async fn a_draft_file_no_journal_line_records_is_set_aside_not_overwritten() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    engine.apply(revise()).unwrap();
    // Killed after writing r2, before journalling it.
    engine
        .run
        .write("drafts/T-2.r2.md", "LEFT BY A KILLED RUN\n")
        .unwrap();
    let mut engine = reopen(&dir, engine);
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let journal = engine.run.read_journal().unwrap();
    let r2 = journal
        .iter()
        .filter(|e| e["event"] == "drafted" && e["revision"] == 2)
        .collect::<Vec<_>>();
    assert_eq!(r2.len(), 1);
    let text = engine.run.read("drafts/T-2.r2.md").unwrap();
    assert_eq!(store::sha256_hex(text.as_bytes()), r2[0]["sha256"]);
    assert_eq!(
        engine.run.read("drafts/T-2.r2.unrecorded-1.md").unwrap(),
        "LEFT BY A KILLED RUN\n"
    );
}

#[tokio::test]
async fn a_copy_in_artifacts_without_an_approval_is_removed() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    // An earlier version copied first and was killed before journalling.
    let draft = engine.run.read("drafts/T-2.r1.md").unwrap();
    engine.run.write("artifacts/T-2.md", &draft).unwrap();
    let engine = reopen(&dir, engine);
    assert!(!engine.run_dir().join("artifacts/T-2.md").exists());
    assert!(engine.approved_copy("T-2").unwrap().is_none());
    assert!(
        engine.run_dir().join("artifacts/T-1.md").exists(),
        "accepted"
    );
    assert_eq!(engine.pending().unwrap().id, "T-2");
}

#[tokio::test]
async fn a_read_only_open_shows_the_rolled_forward_state_and_writes_nothing() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let before = engine.run.read("run.json").unwrap();
    engine.apply(approve()).unwrap();
    engine.run.write("run.json", &before).unwrap();
    std::fs::remove_file(engine.run_dir().join("artifacts/T-2.md")).unwrap();
    let draft = engine.run.read("drafts/T-2.r1.md").unwrap();

    // The lock is held (by `engine`), and a reader still sees the run.
    let store = RunStore::new(&dir.path().join("state"));
    let reader = Engine::open_read_only(&store, "r").unwrap();
    let t2 = reader
        .state()
        .artifacts
        .iter()
        .find(|a| a.id == "T-2")
        .unwrap();
    assert_eq!(t2.state, ArtifactState::Approved);
    assert_eq!(reader.status().state.name(), "ready_to_draft");
    // `show` prints the approved draft while its copy is not written yet.
    assert_eq!(reader.approved_copy("T-2").unwrap().unwrap().0, draft);
    assert_eq!(
        engine.run.read("run.json").unwrap(),
        before,
        "nothing written"
    );
    assert!(!engine.run_dir().join("artifacts/T-2.md").exists());
    assert!(Engine::open(&store, "r").is_err(), "still locked");
}

#[tokio::test]
async fn the_last_approval_killed_before_run_json_completes_the_run_once() {
    let (dir, mut engine, model) = tiny_run();
    let mut person = ScriptedReviewer {
        answers: VecDeque::from([approve(), approve()]),
        seen: Vec::new(),
    };
    let outcome = engine
        .advance(&model, Some(&mut person), &mut Silent)
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Quit { ref artifact, .. } if artifact == "T-3.2"),
        "{outcome:?}"
    );
    let before = engine.run.read("run.json").unwrap();
    let journal_before = std::fs::read(engine.run_dir().join("journal.jsonl")).unwrap();
    engine.apply(approve()).unwrap();
    assert_eq!(engine.state().status, RunStatus::Complete);
    let journal_after = std::fs::read(engine.run_dir().join("journal.jsonl")).unwrap();

    // Killed before run.json: the journal says completed already.
    engine.run.write("run.json", &before).unwrap();
    let engine = reopen(&dir, engine);
    assert_eq!(engine.state().status, RunStatus::Complete);
    assert_eq!(count(&engine, "completed"), 1);

    // Killed between the approval's line and the completion's: the
    // completion is journalled on open, once.
    let last_line = journal_after[..journal_after.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    assert!(journal_after.len() > journal_before.len());
    std::fs::write(
        engine.run_dir().join("journal.jsonl"),
        &journal_after[..last_line],
    )
    .unwrap();
    engine.run.write("run.json", &before).unwrap();
    let engine = reopen(&dir, engine);
    assert_eq!(engine.state().status, RunStatus::Complete);
    assert_eq!(count(&engine, "completed"), 1);
    assert!(engine
        .run
        .read_journal_lines()
        .unwrap()
        .broken_links()
        .is_empty());
}

#[tokio::test]
async fn a_decision_is_bound_to_the_draft_the_gate_showed() {
    let (_dir, mut engine, model) = tiny_run();
    let mut person = ScriptedReviewer {
        answers: VecDeque::from([revise(), approve()]),
        seen: Vec::new(),
    };
    engine
        .advance(&model, Some(&mut person), &mut Silent)
        .await
        .unwrap();
    assert_eq!(
        person.seen[..2],
        [("T-2".to_string(), 1), ("T-2".to_string(), 2)]
    );
    let journal = engine.run.read_journal().unwrap();
    let drafted = |rev: u64| {
        journal
            .iter()
            .find(|e| e["event"] == "drafted" && e["artifact"] == "T-2" && e["revision"] == rev)
            .unwrap()["sha256"]
            .clone()
    };
    let decided: Vec<_> = journal.iter().filter(|e| e["event"] == "decided").collect();
    assert_eq!(decided[0]["revision"], 1);
    assert_eq!(decided[0]["sha256"], drafted(1));
    assert_eq!(decided[1]["revision"], 2);
    assert_eq!(decided[1]["sha256"], drafted(2));
    let revised = journal.iter().find(|e| e["event"] == "revised").unwrap();
    assert_eq!(revised["sha256"], drafted(1));
}

#[tokio::test]
async fn a_decision_on_a_draft_that_is_no_longer_pending_is_refused() {
    let (_dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let read_by_bob = engine.pending().unwrap().latest_draft().unwrap().clone();
    engine.apply(revise()).unwrap();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let events = journal_event_names(&engine);
    let err = engine
        .apply_pinned(approve(), &DraftPin::exactly(&read_by_bob))
        .unwrap_err();
    assert!(matches!(err, EngineError::NotTheDraftRead { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("revision 2 (sha "), "{message}");
    assert!(message.contains("revision 1 (sha "), "{message}");
    assert_eq!(journal_event_names(&engine), events, "nothing recorded");
    let decided = engine
        .apply_pinned(
            approve(),
            &DraftPin {
                revision: Some(2),
                sha: None,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(decided.revision, 2);
    assert_eq!(decided.artifact, "T-2");
}

#[tokio::test]
async fn a_model_change_killed_before_run_json_is_taken_from_the_journal_on_open() {
    let (dir, mut engine, _model) = tiny_run();
    let before = engine.run.read("run.json").unwrap();
    let mut changed = engine.state().model.clone();
    changed.model = "second-model".into();
    changed.base_url = "http://127.0.0.1:9999/v1".into();
    // The same server and model again is no change, and no journal line.
    engine
        .set_model(engine.state().model.clone(), Some("ana"))
        .unwrap();
    assert_eq!(count(&engine, "model_changed"), 0);
    engine.set_model(changed.clone(), Some("ana")).unwrap();
    assert_eq!(count(&engine, "model_changed"), 1);
    // Killed after the journal line, before run.json.
    engine.run.write("run.json", &before).unwrap();

    let engine = reopen(&dir, engine);
    let model = &engine.state().model;
    assert_eq!(
        (model.model.as_str(), model.base_url.as_str()),
        ("second-model", "http://127.0.0.1:9999/v1")
    );
    assert_eq!(count(&engine, "model_changed"), 1, "not journalled again");
}
