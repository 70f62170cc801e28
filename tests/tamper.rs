//! Tamper evidence on real runs against the fake server: `verify` names
//! every one of the five tamperings of the red team (an approved artifact
//! edited, approval lines deleted from the journal, an approval forged in
//! `run.json`, a draft edited by hand and then approved, a gate removed
//! from the run's workflow snapshot), and `resume`, `approve` and `status`
//! refuse or warn before any model call.

use std::path::Path;

use crate::support::{FakeServer, Sandbox};
use migagent::store::sha256_hex;
use serde_json::Value;

const NEED: &str = "Move the orders queue from RabbitMQ 3.8 to RabbitMQ 3.13";

/// The exit code of a run that differs from its record.
const TAMPERED: i32 = 12;

/// `migagent verify RUN --json`: the exit code and the report.
async fn verify(sandbox: &Sandbox, run_id: &str) -> (i32, Value) {
    let (code, out, err) = sandbox.cmd(&["verify", run_id, "--json"]).run().await;
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("verify --json is not JSON ({e}): {out}\n{err}"));
    (code, report)
}

/// The findings of a report, each as its message.
fn messages(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|x| x["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The 1-based line of the journal's first event `event` of `artifact`.
fn line_of(sandbox: &Sandbox, run_id: &str, event: &str, artifact: &str) -> usize {
    sandbox
        .journal(run_id)
        .iter()
        .position(|e| e["event"] == event && e["artifact"] == artifact)
        .unwrap_or_else(|| panic!("no {event} of {artifact} in the journal"))
        + 1
}

/// The journal's lines as written, newlines kept.
fn journal_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

/// Starts `run_id`, approves MIG-1 and drafts MIG-2, which then awaits a
/// decision.
async fn run_to_mig2(sandbox: &Sandbox, base: &str, run_id: &str) {
    let (code, out, err) = sandbox.start_run(NEED, base, run_id).await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.approve(run_id).await;
    let (code, out, err) = sandbox.resume(run_id, base).await;
    assert_eq!(code, 10, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_run_verifies_clean_and_its_approvals_say_what_they_stand_on() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    run_to_mig2(&sandbox, &base, "clean").await;
    let (code, _, err) = sandbox
        .cmd(&["revise", "clean", "--feedback", "Name the consumers"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.resume("clean", &base).await.0, 10);
    sandbox.approve("clean").await;
    assert_eq!(sandbox.resume("clean", &base).await.0, 10);

    let (code, report) = verify(&sandbox, "clean").await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["chain"], "chained");
    assert!(messages(&report).is_empty(), "{report:#}");
    let (code, out, _) = sandbox.cmd(&["verify", "clean"]).run().await;
    assert_eq!(code, 0);
    assert!(out.contains("OK"), "{out}");
    assert!(
        !out.contains("TAMPER"),
        "{}",
        sandbox.cmd(&["status", "clean"]).run().await.1
    );

    // The chain: each line carries the sha256 of the line before it.
    let lines = journal_lines(&sandbox.run_dir("clean"));
    let mut prev = "0".repeat(64);
    for (i, line) in lines.iter().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["prev"], prev.as_str(), "line {}", i + 1);
        prev = sha256_hex(line.as_bytes());
    }

    // The approval of MIG-2 (revision 2) records who, the note's place, the
    // artifact, and every file its draft was made from.
    let journal = sandbox.journal("clean");
    let started = &journal[0];
    let approved = journal
        .iter()
        .find(|e| e["event"] == "approved" && e["artifact"] == "MIG-2")
        .unwrap();
    assert_eq!(approved["approver"], "tester");
    assert_eq!(approved["revision"], 2);
    assert_eq!(approved["workflow_sha256"], started["workflow_sha256"]);
    assert_eq!(approved["model"], "fake-model");
    let text = sandbox.artifact("clean", "MIG-2");
    assert_eq!(approved["sha256"], sha256_hex(text.as_bytes()));
    let sources = approved["sources"].as_array().expect("sources");
    let source =
        |kind: &str| -> Vec<&Value> { sources.iter().filter(|s| s["kind"] == kind).collect() };
    let mig1 = source("artifact");
    assert_eq!(mig1.len(), 1, "{sources:?}");
    assert_eq!(mig1[0]["path"], "artifacts/MIG-1.md");
    let mig1_approval = journal
        .iter()
        .find(|e| e["event"] == "approved" && e["artifact"] == "MIG-1")
        .unwrap();
    assert_eq!(mig1[0]["sha256"], mig1_approval["sha256"]);
    assert!(!source("persona").is_empty(), "{sources:?}");
    assert!(
        source("template")
            .iter()
            .any(|s| s["path"].as_str().unwrap().ends_with("draft.hbs")),
        "{sources:?}"
    );
    let previous = source("previous_draft");
    assert_eq!(
        previous.len(),
        1,
        "a revision is made from the draft it revises"
    );
    assert_eq!(previous[0]["path"], "drafts/MIG-2.r1.md");
    // MIG-1 was made from the request the person gave.
    let drafted = journal
        .iter()
        .find(|e| e["event"] == "drafted" && e["artifact"] == "MIG-1")
        .unwrap();
    let input = drafted["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "input")
        .expect("the need is a source");
    let need_file = input["path"].as_str().unwrap();
    let need = std::fs::read(sandbox.run_dir("clean").join(need_file)).unwrap();
    assert_eq!(input["sha256"], sha256_hex(&need));
    // run.json's approval carries the same.
    let state: Value =
        serde_json::from_slice(&std::fs::read(sandbox.run_dir("clean").join("run.json")).unwrap())
            .unwrap();
    let rec = state["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "MIG-2")
        .unwrap();
    assert_eq!(rec["approval"]["sources"], approved["sources"]);
    assert_eq!(
        rec["approval"]["workflow_sha256"],
        started["workflow_sha256"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_artifact_edited_by_hand_is_named_and_never_sent_to_the_model() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, _) = sandbox.start_run(NEED, &base, "t1").await;
    assert_eq!(code, 10);
    sandbox.approve("t1").await;
    let approved_line = line_of(&sandbox, "t1", "approved", "MIG-1");
    let path = sandbox.run_dir("t1").join("artifacts/MIG-1.md");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\nRisk Level: Low (changed after approval)\n");
    std::fs::write(&path, text).unwrap();

    let (code, report) = verify(&sandbox, "t1").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    let named = &report["findings"][0];
    assert_eq!(named["path"], "artifacts/MIG-1.md", "{report:#}");
    assert_eq!(named["artifact"], "MIG-1");
    assert_eq!(named["line"], approved_line);
    assert!(
        messages(&report)[0].contains(&format!("journal line {approved_line}")),
        "{report:#}"
    );

    let requests = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume("t1", &base).await;
    assert_eq!(code, TAMPERED, "{out}{err}");
    assert!(err.contains("artifacts/MIG-1.md"), "{err}");
    assert!(err.contains("migagent verify t1"), "{err}");
    assert_eq!(
        fake.request_bodies().await.len(),
        requests,
        "the edited artifact never reaches the model"
    );
    assert!(!sandbox.run_dir("t1").join("drafts/MIG-2.r1.md").exists());

    let (code, out, _) = sandbox.cmd(&["status", "t1"]).run().await;
    assert_eq!(code, 0);
    assert!(out.contains("TAMPER WARNING"), "{out}");
    assert!(out.contains("artifacts/MIG-1.md"), "{out}");
    let status = sandbox.status("t1").await;
    assert_eq!(status["tamper"][0]["path"], "artifacts/MIG-1.md");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_lines_deleted_from_the_journal_are_named() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();

    // In the middle: the chain breaks where the lines were.
    run_to_mig2(&sandbox, &base, "mid").await;
    let decided = line_of(&sandbox, "mid", "decided", "MIG-1");
    let approved = line_of(&sandbox, "mid", "approved", "MIG-1");
    assert_eq!(approved, decided + 1);
    let dir = sandbox.run_dir("mid");
    let mut lines = journal_lines(&dir);
    lines.drain(decided - 1..approved);
    std::fs::write(dir.join("journal.jsonl"), lines.concat()).unwrap();

    let (code, report) = verify(&sandbox, "mid").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let broken = findings
        .iter()
        .find(|f| f["kind"] == "chain_broken")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(broken["line"], decided - 1, "{report:#}");
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "forged_approval" && f["artifact"] == "MIG-1"),
        "{report:#}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "unrecorded_artifact" && f["path"] == "artifacts/MIG-1.md"),
        "{report:#}"
    );
    let (code, _, err) = sandbox.cmd(&["approve", "mid"]).run().await;
    assert_eq!(code, TAMPERED, "{err}");
    assert!(err.contains("journal line"), "{err}");
    // Who finds a run tampered with can still stop it for good.
    let (code, _, err) = sandbox
        .cmd(&["abort", "mid", "--reason", "journal edited"])
        .run()
        .await;
    assert_eq!(code, 11, "{err}");

    // At the end: the chain holds, and run.json and artifacts/ still tell.
    let (code, _, _) = sandbox.start_run(NEED, &base, "tail").await;
    assert_eq!(code, 10);
    sandbox.approve("tail").await;
    let dir = sandbox.run_dir("tail");
    let mut lines = journal_lines(&dir);
    let decided = line_of(&sandbox, "tail", "decided", "MIG-1");
    lines.truncate(decided - 1);
    std::fs::write(dir.join("journal.jsonl"), lines.concat()).unwrap();
    let (code, report) = verify(&sandbox, "tail").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    let all = messages(&report).join("\n");
    assert!(
        all.contains("run.json records [MIG-1] revision 1 as approved"),
        "{all}"
    );
    assert!(all.contains("artifacts/MIG-1.md is in the run"), "{all}");
    let requests = fake.request_bodies().await.len();
    assert_eq!(sandbox.resume("tail", &base).await.0, TAMPERED);
    assert_eq!(fake.request_bodies().await.len(), requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_forged_in_run_json_is_named_and_stops_resume() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, _) = sandbox.start_run(NEED, &base, "forged").await;
    assert_eq!(code, 10);
    let dir = sandbox.run_dir("forged");
    let draft = std::fs::read(dir.join("drafts/MIG-1.r1.md")).unwrap();
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    std::fs::write(dir.join("artifacts/MIG-1.md"), &draft).unwrap();
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    state["artifacts"][0]["state"] = "approved".into();
    state["artifacts"][0]["approval"] = serde_json::json!({
        "option": "Approved", "by": "mallory", "at": "2026-01-01T00:00:00Z", "note": null,
        "revision": 1, "sha256": sha256_hex(&draft), "path": "artifacts/MIG-1.md"
    });
    state["phase_index"] = 1.into();
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();

    let (code, report) = verify(&sandbox, "forged").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let forged = findings
        .iter()
        .find(|f| f["kind"] == "forged_approval")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(forged["artifact"], "MIG-1");
    assert!(
        forged["message"].as_str().unwrap().contains("mallory"),
        "{forged}"
    );
    assert!(
        findings.iter().any(|f| f["path"] == "artifacts/MIG-1.md"),
        "{report:#}"
    );

    let requests = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume("forged", &base).await;
    assert_eq!(code, TAMPERED, "{out}{err}");
    assert!(err.contains("forged in run.json"), "{err}");
    assert_eq!(fake.request_bodies().await.len(), requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_edited_by_hand_is_refused_at_approval_and_an_edit_goes_on() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, _) = sandbox.start_run(NEED, &base, "hand").await;
    assert_eq!(code, 10);
    let dir = sandbox.run_dir("hand");
    let drafted = line_of(&sandbox, "hand", "drafted", "MIG-1");
    let r1 = dir.join("drafts/MIG-1.r1.md");
    let mut text = std::fs::read_to_string(&r1).unwrap();
    text.push_str("\n## Risk Level\nNone at all (typed in by hand)\n");
    std::fs::write(&r1, &text).unwrap();

    let (code, out, err) = sandbox.cmd(&["approve", "hand"]).run().await;
    assert_eq!(code, TAMPERED, "{out}{err}");
    assert!(err.contains("drafts/MIG-1.r1.md"), "{err}");
    assert!(err.contains("migagent edit hand --file"), "{err}");
    assert!(!dir.join("artifacts/MIG-1.md").exists());
    assert!(!sandbox
        .journal("hand")
        .iter()
        .any(|e| e["event"] == "approved"));
    let (code, report) = verify(&sandbox, "hand").await;
    assert_eq!(code, TAMPERED);
    assert_eq!(report["findings"][0]["path"], "drafts/MIG-1.r1.md");
    assert_eq!(report["findings"][0]["line"], drafted);
    assert_eq!(report["findings"][0]["in_use"], true);
    // `decide` with the approving option refuses the same way.
    let (code, _, err) = sandbox
        .cmd(&["decide", "hand", "--option", "Approved"])
        .run()
        .await;
    assert_eq!(code, TAMPERED, "{err}");

    // The person's text goes to the gate as their own revision.
    let mine = sandbox.write("mine.md", &text);
    let (code, _, err) = sandbox
        .cmd(&["edit", "hand", "--file", mine.to_str().unwrap()])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    sandbox.approve("hand").await;
    let approved = sandbox
        .journal("hand")
        .into_iter()
        .find(|e| e["event"] == "approved")
        .unwrap();
    assert_eq!(approved["revision"], 2);
    // The change to r1 stays on record, no longer in the way.
    let (code, report) = verify(&sandbox, "hand").await;
    assert_eq!(code, TAMPERED);
    assert_eq!(report["findings"][0]["path"], "drafts/MIG-1.r1.md");
    assert_eq!(report["findings"][0]["in_use"], false);
    assert_eq!(sandbox.resume("hand", &base).await.0, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_removed_from_the_workflow_snapshot_stops_the_run() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, _) = sandbox.start_run(NEED, &base, "gate").await;
    assert_eq!(code, 10);
    sandbox.approve("gate").await;
    let snapshot = sandbox.run_dir("gate").join("workflow.md");
    let text = std::fs::read_to_string(&snapshot).unwrap();
    let start = text.find("## Phase 2").unwrap();
    let gate = start + text[start..].find("### GATE").unwrap();
    let end = gate + text[gate..].find("\n---").unwrap();
    let cut =
        format!("{}{}", &text[..gate], &text[end..]).replace("`[MIG-2]` — **GATE**", "`[MIG-2]`");
    assert_ne!(cut, text);
    std::fs::write(&snapshot, cut).unwrap();

    let requests = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume("gate", &base).await;
    assert_eq!(code, TAMPERED, "{out}{err}");
    assert!(err.contains("workflow.md"), "{err}");
    assert!(err.contains("journal line 1"), "{err}");
    assert_eq!(fake.request_bodies().await.len(), requests);
    assert!(!sandbox
        .journal("gate")
        .iter()
        .any(|e| e["artifact"] == "MIG-2"));

    let (code, report) = verify(&sandbox, "gate").await;
    assert_eq!(code, TAMPERED);
    assert_eq!(report["findings"][0]["kind"], "workflow_changed");
    assert_eq!(report["findings"][0]["path"], "workflow.md");
    assert_eq!(report["findings"][0]["line"], 1);
    let (code, out, _) = sandbox.cmd(&["status", "gate"]).run().await;
    assert_eq!(code, TAMPERED);
    assert!(
        out.contains("TAMPER WARNING") && out.contains("workflow.md"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_line_edited_in_the_middle_breaks_the_chain_at_that_line() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    run_to_mig2(&sandbox, &fake.base_url(), "chain").await;
    let dir = sandbox.run_dir("chain");
    let mut lines = journal_lines(&dir);
    let k = line_of(&sandbox, "chain", "decided", "MIG-1");
    assert!(k > 1 && k < lines.len(), "a line in the middle");
    assert!(
        lines[k - 1].contains("\"by\":\"tester\""),
        "{}",
        lines[k - 1]
    );
    lines[k - 1] = lines[k - 1].replace("\"by\":\"tester\"", "\"by\":\"alice\"");
    std::fs::write(dir.join("journal.jsonl"), lines.concat()).unwrap();

    let (code, report) = verify(&sandbox, "chain").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["kind"], "chain_broken");
    assert_eq!(findings[0]["line"], k);
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("line {k} was edited")),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_written_before_the_chain_is_reported_unchained_not_tampered() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    run_to_mig2(&sandbox, &fake.base_url(), "old").await;
    let dir = sandbox.run_dir("old");
    let old: String = journal_lines(&dir)
        .iter()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("prev");
            format!("{v}\n")
        })
        .collect();
    std::fs::write(dir.join("journal.jsonl"), old).unwrap();
    let (code, report) = verify(&sandbox, "old").await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["chain"], "unchained");
    assert!(
        report["notes"][0].as_str().unwrap().contains("unchained"),
        "{report:#}"
    );
    // An unchained journal still has its files checked.
    let original = sandbox.artifact("old", "MIG-1");
    std::fs::write(dir.join("artifacts/MIG-1.md"), "changed\n").unwrap();
    let (code, report) = verify(&sandbox, "old").await;
    assert_eq!(code, TAMPERED, "{report:#}");
    assert_eq!(report["findings"][0]["path"], "artifacts/MIG-1.md");
    // A newer migagent going on with it chains what it appends.
    std::fs::write(dir.join("artifacts/MIG-1.md"), original).unwrap();
    sandbox.approve("old").await;
    let (code, report) = verify(&sandbox, "old").await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["chain"], "partly");
}
