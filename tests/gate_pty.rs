//! The gate at a real terminal: `migagent run` in a pseudo-terminal, with a
//! person answering the menu. Each test drives the binary through expectrl,
//! then checks what the run left on disk.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{blocking, pending, user_message, Cmd, FakeServer, Pty, Sandbox};
use serde_json::Value;

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to 16";
const RUN_ID: &str = "pty";
const FEEDBACK: &str = "Include the reporting replica";

/// A sandbox whose commands carry the API key and a terminal type, as from
/// a person's shell.
fn terminal_sandbox() -> Sandbox {
    Sandbox::new().with_api_key().env("TERM", "xterm")
}

/// `migagent run` for the default workflow against `fake`.
fn run_cmd(sandbox: &Sandbox, fake: &FakeServer) -> Cmd {
    let base = fake.base_url();
    sandbox.cmd(&[
        "run",
        "--need",
        NEED,
        "--base-url",
        &base,
        "--run-id",
        RUN_ID,
    ])
}

fn events<'a>(journal: &'a [Value], kind: &str) -> Vec<&'a Value> {
    journal.iter().filter(|e| e["event"] == kind).collect()
}

/// Asserts that the run waits for a decision on `artifact`.
async fn assert_awaiting(sandbox: &Sandbox, artifact: &str) {
    let status = sandbox.status(RUN_ID).await;
    assert_eq!(status["state"], "awaiting_decision", "{status:#}");
    assert_eq!(pending(&status), artifact, "{status:#}");
}

/// Asserts that the journal holds no decision of any kind.
fn assert_nothing_decided(sandbox: &Sandbox) {
    let journal = sandbox.journal(RUN_ID);
    for kind in [
        "decided",
        "approved",
        "revised",
        "edited",
        "rolled_back",
        "aborted",
    ] {
        assert!(
            events(&journal, kind).is_empty(),
            "no '{kind}' event expected: {journal:#?}"
        );
    }
    assert!(!sandbox.run_dir(RUN_ID).join("artifacts/MIG-1.md").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_at_the_terminal() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        // The streaming display and the menu appear only when stdin is a
        // terminal, so seeing them shows the child got the pty.
        pty.expect("── drafting");
        pty.expect("fake-MIG-1-call1");
        pty.expect("Structure check:");
        pty.expect("Approval criteria:");
        let menu = pty.menu("MIG-1");
        assert!(menu.contains("1) Approved"), "{menu}");
        assert!(menu.contains("2) Revise"), "{menu}");
        assert!(
            !menu.contains("d) Show the diff"),
            "no diff without a previous draft: {menu}"
        );
        pty.send("1\r");
        pty.expect("fake-MIG-2-call2");
        pty.menu("MIG-2");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "save and quit leaves MIG-2 awaiting:\n{out}");
    assert!(out.contains("awaiting: MIG-2"), "{out}");

    let dir = sandbox.run_dir(RUN_ID);
    assert!(dir.join("artifacts/MIG-1.md").is_file());
    assert!(!dir.join("artifacts/MIG-2.md").exists());
    let journal = sandbox.journal(RUN_ID);
    let approved = events(&journal, "approved");
    assert_eq!(approved.len(), 1, "{journal:#?}");
    assert_eq!(approved[0]["artifact"], "MIG-1");
    assert_eq!(approved[0]["approver"], "tester");
    assert_awaiting(&sandbox, "MIG-2").await;
    assert_eq!(fake.request_bodies().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revise_with_feedback_at_the_terminal() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("fake-MIG-1-call1");
        pty.menu("MIG-1");
        pty.send("2\r");
        pty.expect("Feedback for the next draft");
        pty.expect("  | ");
        pty.send(&format!("{FEEDBACK}\r"));
        pty.expect("  | ");
        pty.send("\r");
        pty.expect("revision 2");
        pty.expect("fake-MIG-1-call2");
        let menu = pty.menu("MIG-1");
        assert!(
            menu.contains("d) Show the diff"),
            "a second draft offers the diff: {menu}"
        );
        pty.send("d\r");
        pty.expect("--- revision 1");
        pty.expect("+++ revision 2");
        let diff = pty.menu("MIG-1");
        assert!(
            diff.contains("fake-MIG-1-call1"),
            "the diff removes r1: {diff}"
        );
        assert!(
            diff.contains("fake-MIG-1-call2"),
            "the diff adds r2: {diff}"
        );
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");

    let reqs = fake.request_bodies().await;
    assert_eq!(reqs.len(), 2, "one draft, one revision");
    assert!(
        user_message(&reqs[1]).contains(FEEDBACK),
        "the revision request carries the feedback"
    );
    let journal = sandbox.journal(RUN_ID);
    let revised = events(&journal, "revised");
    assert_eq!(revised.len(), 1, "{journal:#?}");
    assert_eq!(revised[0]["feedback"], FEEDBACK);
    assert_eq!(revised[0]["by"], "tester");
    assert!(events(&journal, "approved").is_empty());
    assert!(sandbox.run_dir(RUN_ID).join("drafts/MIG-1.r2.md").is_file());
    assert!(!sandbox.run_dir(RUN_ID).join("artifacts/MIG-1.md").exists());
    assert_awaiting(&sandbox, "MIG-1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_at_a_gate_saves_and_decides_nothing() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("MIG-1");
        pty.send("\x03");
        pty.expect("Interrupted");
        pty.finish()
    })
    .await;
    assert_eq!(code, 130, "{out}");
    assert!(out.contains("nothing was decided"), "{out}");
    assert!(out.contains(&format!("migagent resume {RUN_ID}")), "{out}");

    assert_nothing_decided(&sandbox);
    let run_json =
        std::fs::read_to_string(sandbox.run_dir(RUN_ID).join("run.json")).expect("run.json");
    serde_json::from_str::<Value>(&run_json)
        .unwrap_or_else(|e| panic!("run.json is not valid JSON ({e}): {run_json}"));
    assert_awaiting(&sandbox, "MIG-1").await;
    assert_eq!(fake.request_bodies().await.len(), 1);

    // The kept draft still awaits a decision; nothing is drafted again.
    let base = fake.base_url();
    let (code, out, err) = sandbox.resume(RUN_ID, &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/MIG-1.r1.md"), "{out}");
    assert_eq!(
        fake.request_bodies().await.len(),
        1,
        "resume re-drafted the kept draft"
    );
    assert_nothing_decided(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_draft_saves_the_run_and_drafts_again_on_resume() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new()
        .delay(Duration::from_secs(60))
        .start()
        .await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("waiting for the model");
        pty.send("\x03");
        pty.expect("Interrupted");
        pty.finish()
    })
    .await;
    assert_eq!(code, 130, "{out}");
    assert!(out.contains("nothing was decided"), "{out}");
    assert_nothing_decided(&sandbox);
    let status = sandbox.status(RUN_ID).await;
    assert_eq!(status["state"], "ready_to_draft", "{status:#}");
    assert!(!sandbox.run_dir(RUN_ID).join("drafts/MIG-1.r1.md").exists());

    let fast = FakeServer::new().start().await;
    let base = fast.base_url();
    let (code, out, err) = sandbox.resume(RUN_ID, &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/MIG-1.r1.md"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_of_input_at_a_gate_is_not_a_yes() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("MIG-1");
        pty.send("\x04");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");
    assert!(out.contains("awaiting: MIG-1"), "{out}");
    assert_nothing_decided(&sandbox);
    assert_awaiting(&sandbox, "MIG-1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_unknown_answer_asks_again() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("MIG-1");
        for answer in ["\r", "yes\r", "y\r", "9\r"] {
            pty.send(answer);
            pty.expect("Please answer with a number from the list");
            pty.menu("MIG-1");
        }
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");
    assert_nothing_decided(&sandbox);
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_that_is_not_a_terminal_never_means_yes() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    // Sandbox commands read from /dev/null; no --no-input here.
    let (code, out, err) = run_cmd(&sandbox, &fake).stdin(Stdio::null()).run().await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("awaiting: MIG-1"), "{out}");
    assert!(
        !out.contains("Decide on"),
        "no menu without a terminal: {out}"
    );
    assert_nothing_decided(&sandbox);
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_a_step_at_the_terminal_and_continue() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let cmd = run_cmd(&sandbox, &fake);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        for id in ["MIG-1", "MIG-2", "MIG-3"] {
            pty.menu(id);
            pty.send("1\r");
        }
        // A step shows its card and asks what happened before drafting.
        pty.expect("step 1 of the plan");
        pty.expect("What did you do and see at this step?");
        pty.send("Promoted the replica\r");
        pty.send("\r");
        let menu = pty.menu("MIG-4.1");
        assert!(menu.contains("2) Rollback"), "{menu}");
        pty.send("2\r");
        pty.expect("Reason (finish with an empty line):");
        pty.send("Replica lag stayed above 30 s\r");
        pty.send("\r");
        // The rollback's own evidence comes before the choice.
        pty.expect("rolling back step 1");
        pty.expect("What did the rollback do?");
        pty.send("Pointed the app back at the old primary\r");
        pty.send("\r");
        pty.expect("Continue with the next step, or abort the run? [c/a]");
        pty.send("x\r");
        pty.expect("Please answer c or a.");
        pty.send("c\r");
        pty.expect("What did you do and see at this step?");
        pty.send("Switched traffic\r");
        pty.send("\r");
        pty.menu("MIG-4.2");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");
    let journal = sandbox.journal(RUN_ID);
    let rolled = events(&journal, "rolled_back");
    assert_eq!(rolled.len(), 1, "{journal:#?}");
    assert_eq!(rolled[0]["artifact"], "MIG-4.1");
    assert_eq!(rolled[0]["reason"], "Replica lag stayed above 30 s");
    assert_eq!(rolled[0]["then"], "continue");
    assert_eq!(rolled[0]["by"], "tester");
    assert!(!sandbox
        .run_dir(RUN_ID)
        .join("artifacts/MIG-4.1.md")
        .exists());
    assert_awaiting(&sandbox, "MIG-4.2").await;
    let notes = events(&journal, "evidence_added");
    assert_eq!(notes.len(), 3, "{journal:#?}");
    assert_eq!(notes[0]["artifact"], "MIG-4.1");
    assert_eq!(notes[0]["kind"], "note");
    assert!(notes[0].get("rollback").is_none(), "{:?}", notes[0]);
    assert_eq!(notes[1]["artifact"], "MIG-4.1");
    assert_eq!(notes[1]["rollback"], true, "the rollback's own evidence");
    assert_eq!(notes[2]["artifact"], "MIG-4.2");
    let started = events(&journal, "rollback_started");
    assert_eq!(started.len(), 1, "{journal:#?}");
    assert_eq!(started[0]["reason"], "Replica lag stayed above 30 s");
}
