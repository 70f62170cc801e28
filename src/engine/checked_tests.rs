//! A decision does not read the whole journal again when nothing but the
//! last lock holder wrote it since it was checked, and still refuses a
//! journal anyone else changed.

use super::test_support::tiny_run;
use super::{Decision, Engine, EngineError};
use crate::llm::Silent;
use crate::store::verify::checked::CHECKED_FILE;
use crate::store::RunStore;

fn approve() -> Decision {
    Decision::Proceed {
        option: None,
        by: "ana".into(),
        note: None,
    }
}

fn reopen(dir: &tempfile::TempDir, engine: Engine) -> Engine {
    drop(engine);
    Engine::open(&RunStore::new(&dir.path().join("state")), "r").unwrap()
}

#[tokio::test]
async fn the_next_command_takes_the_checked_journal_and_extends_it() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let cache = engine.run_dir().join(CHECKED_FILE);
    assert!(!cache.exists(), "saved once, as the lock is given up");

    let mut engine = reopen(&dir, engine);
    assert!(cache.is_file(), "the check before drafting left it");
    let taken = engine.run.checked_journal().expect("taken on open");
    assert_eq!(taken.lines, engine.run.journal_mark().lines);
    engine.check_untampered().unwrap();
    engine.apply(approve()).unwrap();

    // What the process kept, with its own lines, is what a full read finds.
    let kept = engine.run.checked_journal().expect("kept");
    drop(engine);
    std::fs::remove_file(&cache).unwrap();
    let engine = Engine::open(&RunStore::new(&dir.path().join("state")), "r").unwrap();
    assert!(
        engine.run.checked_journal().is_none(),
        "no cache, no shortcut"
    );
    engine.check_untampered().unwrap();
    let full = engine.run.checked_journal().expect("a full check keeps it");
    let content = |c: &crate::store::verify::CheckedJournal| {
        let mut v = serde_json::to_value(c).unwrap();
        v.as_object_mut().unwrap().remove("stamp");
        v
    };
    assert_eq!(
        content(&kept),
        content(&full),
        "extending by its own lines gives what a full read gives"
    );
}

#[tokio::test]
async fn a_journal_changed_by_anyone_else_is_read_whole_and_refused() {
    let (dir, mut engine, model) = tiny_run();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let journal = engine.run_dir().join("journal.jsonl");
    let dir_path = engine.run_dir().to_path_buf();
    drop(engine);
    assert!(dir_path.join(CHECKED_FILE).is_file());

    // An edit of the first line that keeps the journal's length and file.
    let text = std::fs::read_to_string(&journal).unwrap();
    let edited = text.replacen("\"run_started\"", "\"run_startex\"", 1);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&journal, edited).unwrap();

    let engine = Engine::open(&RunStore::new(&dir.path().join("state")), "r").unwrap();
    assert!(
        engine.run.checked_journal().is_none(),
        "the cache no longer describes the journal"
    );
    let err = engine.check_untampered().unwrap_err();
    assert!(matches!(err, EngineError::Tampered { .. }), "{err}");
    assert!(dir_path.join(CHECKED_FILE).is_file());
}
