//! Decisions bound to the draft a person read, and a journal that is the
//! run's truth: `--revision` and `--sha` refuse a draft nobody read, every
//! decision says and records which draft it decided, `status`, `show` and
//! `list` work while another command drafts, and a torn journal end is set
//! aside with a warning.

use std::time::{Duration, Instant};

use crate::support::{pending, FakeServer, Sandbox};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/kill_points/cutover.md");
const WORKFLOW: &str = "cutover.md";

/// A sandbox with a run `id` of the cutover workflow, CUT-1 awaiting a
/// decision at revision 1.
async fn started(fake: &FakeServer, id: &str) -> Sandbox {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write(WORKFLOW, FIXTURE);
    sandbox
        .start_run_of(
            WORKFLOW,
            "Move the sessions to Valkey",
            &fake.base_url(),
            id,
        )
        .await;
    sandbox
}

fn events<'a>(journal: &'a [Value], kind: &str) -> Vec<&'a Value> {
    journal.iter().filter(|e| e["event"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_names_the_draft_read_and_refuses_another() {
    let fake = FakeServer::new().start().await;
    let sandbox = started(&fake, "b").await;
    // Bob reads revision 1.
    let status = sandbox.status("b").await;
    assert_eq!(status["pending"]["revision"], 1);
    let bob_read = status["pending"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(bob_read.len(), 64);
    // Alice revises, and the model drafts revision 2.
    let (code, out, err) = sandbox
        .cmd(&[
            "revise",
            "b",
            "--as",
            "alice",
            "--feedback",
            "Name the replica",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "sent CUT-1 revision 1 (sha {}) back for revision.",
            &bob_read[..8]
        )),
        "{out}"
    );
    let (code, _, err) = sandbox.resume("b", &fake.base_url()).await;
    assert_eq!(code, 10, "{err}");
    let now = sandbox.status("b").await;
    let pending_sha = now["pending"]["sha256"].as_str().unwrap().to_string();
    assert_ne!(pending_sha, bob_read);
    let journal_before = sandbox.journal("b");

    // Bob approves what he read: refused, naming both drafts.
    for pin in [
        vec!["--revision", "1"],
        vec!["--sha", &bob_read[..8]],
        vec!["--revision", "2", "--sha", &bob_read[..6]],
    ] {
        let mut args = vec!["approve", "b", "--as", "bob"];
        args.extend(pin.iter().copied());
        let (code, out, err) = sandbox.cmd(&args).run().await;
        assert_eq!(code, 1, "{pin:?} must be refused: {out}{err}");
        assert!(
            err.contains(&format!("revision 2 (sha {})", &pending_sha[..8])),
            "{err}"
        );
        assert!(err.contains("nothing was decided"), "{err}");
    }
    let (code, _, err) = sandbox
        .cmd(&["edit", "b", "--file", WORKFLOW, "--revision", "1"])
        .run()
        .await;
    assert_eq!(code, 1, "an edit of a draft not read: {err}");
    let (code, _, err) = sandbox.cmd(&["approve", "b", "--sha", "xyz"]).run().await;
    assert_eq!(code, 1);
    assert!(err.contains("not a draft's sha256 prefix"), "{err}");
    assert_eq!(sandbox.journal("b"), journal_before, "nothing recorded");
    assert_eq!(pending(&sandbox.status("b").await), "CUT-1");

    // Pinned to what is pending, it goes through and says what it approved.
    let (code, out, err) = sandbox
        .cmd(&[
            "approve",
            "b",
            "--as",
            "bob",
            "--revision",
            "2",
            "--sha",
            &pending_sha[..10],
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "approved CUT-1 revision 2 (sha {}).",
            &pending_sha[..8]
        )),
        "{out}"
    );
    let journal = sandbox.journal("b");
    let decided = events(&journal, "decided");
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[0]["sha256"], bob_read.as_str());
    assert_eq!(decided[1]["revision"], 2);
    assert_eq!(decided[1]["sha256"], pending_sha.as_str());
    assert_eq!(
        events(&journal, "approved")[0]["sha256"],
        pending_sha.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_records_the_draft_it_replaced() {
    let fake = FakeServer::new().start().await;
    let sandbox = started(&fake, "e").await;
    let read = sandbox.status("e").await["pending"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    sandbox.write("mine.md", "## Touches\n- sessions\n");
    let (code, out, err) = sandbox
        .cmd(&["edit", "e", "--file", "mine.md", "--sha", &read[..12]])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let journal = sandbox.journal("e");
    let edited = events(&journal, "edited")[0];
    assert_eq!(edited["revision"], 2);
    assert_eq!(edited["replaces_revision"], 1);
    assert_eq!(edited["replaces_sha256"], read.as_str());
    let new_sha = edited["sha256"].as_str().unwrap();
    assert!(
        out.contains(&format!(
            "replaced CUT-1 revision 1 (sha {}) with your edit: CUT-1 revision 2 (sha {}).",
            &read[..8],
            &new_sha[..8]
        )),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_show_and_list_work_while_another_command_drafts() {
    let fast = FakeServer::new().start().await;
    let sandbox = started(&fast, "s").await;
    sandbox.approve("s").await;
    // Long enough for the four commands below on a loaded machine (at 4 s
    // they lost the race when other builds ran alongside).
    let slow = FakeServer::new()
        .delay(Duration::from_secs(15))
        .start()
        .await;
    let base = slow.base_url();
    let mut child = sandbox
        .cmd(&["resume", "s", "--no-input", "--base-url", &base])
        .into_command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn resume");
    let started_at = Instant::now();
    while slow.chat_requests().await.is_empty() {
        assert!(
            started_at.elapsed() < Duration::from_secs(30),
            "no draft request arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The resume holds the run's lock and waits on the model.
    let (code, out, err) = sandbox.cmd(&["status", "s", "--json"]).run().await;
    assert_eq!(code, 0, "status while drafting: {out}{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["state"], "ready_to_draft");
    assert_eq!(status["artifacts"][0]["state"], "approved");
    let (code, out, err) = sandbox.cmd(&["show", "s", "CUT-1"]).run().await;
    assert_eq!(code, 0, "show while drafting: {err}");
    assert!(out.contains("Touches"), "{out}");
    let (code, out, err) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"run_id\": \"s\""), "{out}");
    // Commands that change the run still wait their turn.
    let (code, _, err) = sandbox.cmd(&["approve", "s"]).run().await;
    assert_eq!(code, 1);
    assert!(err.contains("in use"), "{err}");

    let done = tokio::task::spawn_blocking(move || child.wait().expect("wait"))
        .await
        .unwrap();
    assert_eq!(done.code(), Some(10));
    assert_eq!(pending(&sandbox.status("s").await), "CUT-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_journal_end_is_set_aside_with_a_warning_and_the_run_goes_on() {
    let fake = FakeServer::new().start().await;
    let sandbox = started(&fake, "t").await;
    let dir = sandbox.run_dir("t");
    let path = dir.join("journal.jsonl");
    let whole = std::fs::read(&path).unwrap();
    // A crash in the middle of an append.
    let torn = b"{\"at\":\"2026-01-01T00:00:00Z\",\"run_id\":\"t\",\"event\":\"appro";
    let mut bytes = whole.clone();
    bytes.extend_from_slice(torn);
    std::fs::write(&path, &bytes).unwrap();

    // Read-only: counted out, said, left in place.
    let (code, out, err) = sandbox.cmd(&["status", "t"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("not whole"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let (code, out, err) = sandbox.cmd(&["approve", "t"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("journal.torn-1"),
        "the warning names where: {err}"
    );
    assert_eq!(std::fs::read(dir.join("journal.torn-1")).unwrap(), torn);
    let now = std::fs::read(&path).unwrap();
    assert!(now.starts_with(&whole), "the whole lines are kept");
    let journal = sandbox.journal("t");
    assert_eq!(events(&journal, "approved").len(), 1);
    // The chain goes on from the last whole line.
    let last_whole = whole[..whole.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let first_new = &journal[journal.len() - 2];
    assert_eq!(
        first_new["prev"],
        migagent::store::journal::line_hash(&whole[last_whole..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_an_earlier_version_opens_unchained_and_says_so() {
    let fake = FakeServer::new().start().await;
    let sandbox = started(&fake, "o").await;
    let dir = sandbox.run_dir("o");
    // As migagent 0.1 wrote them: no "prev", and a run.json without a mark.
    let old: String = sandbox
        .journal("o")
        .into_iter()
        .map(|mut e| {
            e.as_object_mut().unwrap().remove("prev");
            format!("{e}\n")
        })
        .collect();
    std::fs::write(dir.join("journal.jsonl"), old).unwrap();
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("journal");
    std::fs::write(dir.join("run.json"), state.to_string()).unwrap();

    let (code, out, err) = sandbox.cmd(&["approve", "o"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("unchained"), "{err}");
    let journal = sandbox.journal("o");
    assert!(journal[0].get("prev").is_none());
    assert!(journal.last().unwrap()["prev"].is_string());
    assert_eq!(sandbox.status("o").await["state"], "ready_to_draft");
}
