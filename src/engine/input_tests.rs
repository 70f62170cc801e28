//! What people supply, through the engine: context files kept byte for
//! byte and checked against the context before they are copied, secrets
//! redacted from requests (and named in the record without their value),
//! and a plan's steps taken by place with its numbering flagged at its gate.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::test_support::{start_engine, FnModel, ScriptedReviewer, TINY_WORKFLOW};
use super::{check_context_budget, ContextFile, Decision, EngineError, Outcome};
use crate::llm::{Capabilities, ChatRequest, Silent};
use crate::store::{self, RedactionRecord};

/// One gated phase that reads the need and the system state.
const NEED_AND_CONTEXT: &str = r#"# Workflow: Ctx

One gated phase that reads the need and the system state.

## Phases

1. **Assess** → `[C-1]` — **GATE**

## Phase 1: Assess

### Input

- Migration need
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

const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const PASSWORD: &str = "hunter2-Pa55";

fn markdown_model() -> FnModel<impl Fn(&ChatRequest) -> (String, &'static str)> {
    FnModel {
        caps: Capabilities::default(),
        answer: |_: &ChatRequest| ("## Risk Level\nHigh\n".to_string(), "stop"),
        requests: RefCell::new(Vec::new()),
    }
}

/// A run of [`NEED_AND_CONTEXT`] whose need and context file carry
/// secrets; returns the folder, the engine and the context file's bytes.
fn run_with_secrets(dir: &std::path::Path) -> (super::Engine, Vec<u8>) {
    let ctx = dir.join("env.txt");
    let bytes = format!("region=eu-west-1\naws_access_key_id = {KEY}\n").into_bytes();
    std::fs::write(&ctx, &bytes).unwrap();
    let need = format!("Move the db; its password={PASSWORD}");
    let engine = start_engine(dir, NEED_AND_CONTEXT, Some(&need), &[ctx]);
    (engine, bytes)
}

#[tokio::test]
async fn secrets_are_redacted_from_the_request_and_named_without_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, bytes) = run_with_secrets(dir.path());
    let model = markdown_model();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let user = model.requests.borrow()[0].user.clone();
    assert!(!user.contains(KEY) && !user.contains(PASSWORD), "{user}");
    assert!(
        user.contains("aws_access_key_id = [REDACTED: AWS access key]"),
        "{user}"
    );
    assert!(user.contains("password=[REDACTED: password]"), "{user}");
    assert!(
        user.contains("region=eu-west-1"),
        "the rest is sent: {user}"
    );

    let expected = vec![
        RedactionRecord {
            kind: "password".into(),
            file: engine.state().inputs[0].stored.clone(),
            line: 1,
        },
        RedactionRecord {
            kind: "AWS access key".into(),
            file: "context/01-env.txt".into(),
            line: 2,
        },
    ];
    let pending = engine.status().pending.unwrap();
    assert_eq!(pending.redactions, expected);
    let journal = engine.run.read_journal().unwrap();
    let at = |name: &str| journal.iter().position(|e| e["event"] == name);
    let redacted = at("secrets_redacted").expect("journaled");
    assert!(
        redacted < at("drafted").unwrap(),
        "journaled before the draft"
    );
    assert_eq!(journal[redacted]["redactions"][1]["line"], 2);
    // Nothing recorded about the run holds a value; the run's copy of the
    // context file keeps it.
    for file in ["journal.jsonl", "run.json"] {
        let text = std::fs::read_to_string(engine.run_dir().join(file)).unwrap();
        assert!(!text.contains(KEY), "{file}");
    }
    assert_eq!(
        std::fs::read(engine.run_dir().join("context/01-env.txt")).unwrap(),
        bytes
    );
}

#[tokio::test]
async fn a_server_on_this_machine_gets_the_text_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, _) = run_with_secrets(dir.path());
    engine.set_redaction(false);
    let model = markdown_model();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let user = model.requests.borrow()[0].user.clone();
    assert!(user.contains(KEY) && user.contains(PASSWORD), "{user}");
    assert!(engine.status().pending.unwrap().redactions.is_empty());
    let journal = engine.run.read_journal().unwrap();
    assert!(!journal.iter().any(|e| e["event"] == "secrets_redacted"));
}

#[tokio::test]
async fn a_context_file_that_is_not_utf8_is_kept_as_given_and_read_lossily() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("latin1.txt");
    let bytes = b"Stra\xdfe caf\xe9 ok\n".to_vec();
    std::fs::write(&ctx, &bytes).unwrap();
    let mut engine = start_engine(dir.path(), NEED_AND_CONTEXT, Some("move it"), &[ctx]);
    let record = engine.state().contexts[0].clone();
    let stored = std::fs::read(engine.run_dir().join(&record.stored)).unwrap();
    assert_eq!(stored, bytes, "the original bytes are kept");
    assert_eq!(record.sha256, store::sha256_hex(&bytes), "and hashed");
    assert_eq!(
        record.decoded.as_deref(),
        Some("utf-8 with 2 replacement characters")
    );
    let journal = engine.run.read_journal().unwrap();
    let added = journal
        .iter()
        .find(|e| e["event"] == "context_added")
        .unwrap();
    assert_eq!(added["decoded"], "utf-8 with 2 replacement characters");
    assert_eq!(added["sha256"], store::sha256_hex(&bytes));

    let model = markdown_model();
    engine.advance(&model, None, &mut Silent).await.unwrap();
    let user = model.requests.borrow()[0].user.clone();
    assert!(user.contains("Stra\u{FFFD}e caf\u{FFFD} ok"), "{user}");
    assert!(
        user.contains("read as utf-8 with 2 replacement characters"),
        "the prompt says how: {user}"
    );
}

#[test]
fn a_context_file_larger_than_a_whole_request_is_refused_before_the_run_exists() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("dump.sql");
    std::fs::write(&big, "x".repeat(40_000)).unwrap();
    let files = ContextFile::read_all(std::slice::from_ref(&big), 1 << 20).unwrap();
    let caps = Capabilities {
        structured: false,
        context_tokens: Some(8192),
        max_tokens: Some(2048),
        parallel_requests: 1,
    };
    let err = check_context_budget(&files, &caps).unwrap_err();
    let EngineError::ContextFileTooLarge {
        bytes,
        tokens,
        budget,
        window,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*bytes, *window, *budget), (40_000, 8192, 8192 - 2048 - 64));
    assert!(*tokens > *budget);
    let message = err.to_string();
    assert!(
        message.contains("40000 bytes")
            && message.contains("8192-token")
            && message.contains("dump.sql"),
        "{message}"
    );
    // A file that fits alone passes (it may still be cut beside others),
    // and without a known window only the file limit applies.
    let small = ContextFile {
        path: "small.md".into(),
        bytes: b"x".repeat(1000),
    };
    assert!(check_context_budget(&[small], &caps).is_ok());
    assert!(check_context_budget(&files, &Capabilities::default()).is_ok());
}

#[tokio::test]
async fn a_plan_with_a_repeated_step_number_gets_a_gate_per_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = start_engine(dir.path(), TINY_WORKFLOW, Some("NEED"), &[]);
    let model = FnModel {
        caps: Capabilities::default(),
        answer: |r: &ChatRequest| {
            let text = if r.purpose.starts_with("T-1") {
                "## Notes\nN\n".to_string()
            } else if r.purpose.starts_with("T-2") {
                "## Steps\n\n### Step 1: Backup\n- **Action:** a\n\n### Step 1: Cut over\n- **Action:** b\n\n### Step 2: Watch\n- **Action:** c\n".to_string()
            } else {
                format!("## {}\n\n### Status\nComplete\n", r.purpose)
            };
            (text, "stop")
        },
        requests: RefCell::new(Vec::new()),
    };
    let outcome = engine.advance(&model, None, &mut Silent).await.unwrap();
    assert!(matches!(outcome, Outcome::AwaitingDecision { ref artifact, .. } if artifact == "T-2"));
    let problems = engine.status().pending.unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'Step 1' heads 2 steps")),
        "{problems:?}"
    );
    let mut reviewer = ScriptedReviewer {
        answers: VecDeque::from(vec![
            Decision::Proceed {
                option: None,
                by: "ana".into(),
                note: None,
            };
            4
        ]),
        seen: Vec::new(),
    };
    let outcome = engine
        .advance(&model, Some(&mut reviewer), &mut Silent)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Complete);
    let gates: Vec<&str> = reviewer.seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(gates, ["T-2", "T-3.1", "T-3.2", "T-3.3"]);
    let cut_over = model
        .requests
        .borrow()
        .iter()
        .find(|r| r.purpose.starts_with("T-3.2"))
        .map(|r| r.user.clone())
        .expect("T-3.2 drafted");
    let current = cut_over
        .split("## Current step")
        .nth(1)
        .expect("a current step section");
    assert!(
        current.contains("step 2 of the plan: Cut over"),
        "{current}"
    );
    // The plan (a declared input) carries step 2's own block in full and
    // the other blocks by their heading alone.
    assert!(
        cut_over.contains("### Step 1: Cut over\n- **Action:** b")
            && cut_over.contains("### Step 1: Backup\n\n### Step 1: Cut over")
            && !cut_over.contains("- **Action:** a")
            && !cut_over.contains("- **Action:** c"),
        "step 2's own block reaches its draft: {cut_over}"
    );
}
