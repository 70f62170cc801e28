//! A full migration run without a terminal, against a real HTTP server that
//! speaks the OpenAI chat API with SSE streaming: every gate is a separate
//! command, as in CI or a script.

use crate::support::{
    files_under, pending, system_message, user_message, FakeServer, Sandbox, API_KEY,
};
use migagent::store::sha256_hex;
use serde_json::Value;

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to PostgreSQL 16";
const CONTEXT: &str = "CURRENT-STATE: billing-db runs PostgreSQL 12.9 on two hosts";

/// The run id of the tests that run the default workflow.
const RUN_ID: &str = "pg16";

/// The marker the fake model wrote into the approved text of `id`.
fn marker_of(sandbox: &Sandbox, run_id: &str, id: &str) -> String {
    let text = sandbox.artifact(run_id, id);
    let start = text
        .find(&format!("fake-{id}-call"))
        .unwrap_or_else(|| panic!("no marker in {id}: {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '—')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_migration_run_through_every_gate() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let ctx = sandbox.write("current.md", CONTEXT);
    let base = fake.base_url();
    // The key is sent only to the profile's own host: make the fake server
    // that host, as a team's config would for its gateway.
    sandbox.write_config(&format!("[profiles.openai]\nbase_url = \"{base}\"\n"));

    // Phase 1 is drafted, then the run stops: no terminal means no decision.
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--context",
            ctx.to_str().unwrap(),
            "--base-url",
            &base,
            "--model",
            "fake-model",
            "--run-id",
            RUN_ID,
        ])
        .run()
        .await;
    assert_eq!(
        code, 10,
        "run should stop awaiting a decision\n{out}\n{err}"
    );
    assert!(out.contains("run: pg16"), "{out}");
    assert!(out.contains("drafts/MIG-1.r1.md"), "{out}");
    let status = sandbox.status(RUN_ID).await;
    assert_eq!(status["state"], "awaiting_decision");
    assert_eq!(pending(&status), "MIG-1");

    let reqs = fake.request_bodies().await;
    assert_eq!(reqs.len(), 1);
    let first = user_message(&reqs[0]);
    assert!(
        first.contains(NEED),
        "the need is a declared input of phase 1"
    );
    assert!(
        first.contains(CONTEXT),
        "context files feed 'Current system state'"
    );
    assert!(
        first.contains("## Risk Factors"),
        "the template is in the request"
    );
    assert!(system_message(&reqs[0]).contains("# Persona: Migration Specialist"));
    assert_eq!(reqs[0]["stream"], true);

    // Resuming without a decision drafts nothing and passes no gate.
    let (code, _, _) = sandbox.resume(RUN_ID, &base).await;
    assert_eq!(code, 10);
    assert_eq!(
        fake.request_bodies().await.len(),
        1,
        "no new draft without a decision"
    );
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-1");
    assert!(!sandbox.run_dir(RUN_ID).join("artifacts/MIG-1.md").exists());

    // Revise: the next request carries the feedback and the previous draft.
    let r1 = std::fs::read_to_string(sandbox.run_dir(RUN_ID).join("drafts/MIG-1.r1.md")).unwrap();
    let (code, _, err) = sandbox
        .cmd(&[
            "revise",
            RUN_ID,
            "--feedback",
            "Add the reporting replica to the inventory",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.status(RUN_ID).await["state"], "ready_to_draft");
    let (code, out, _) = sandbox.resume(RUN_ID, &base).await;
    assert_eq!(code, 10);
    assert!(out.contains("drafts/MIG-1.r2.md"), "{out}");
    let reqs = fake.request_bodies().await;
    let revision = user_message(&reqs[1]);
    assert!(revision.contains("Add the reporting replica to the inventory"));
    assert!(
        revision.contains(r1.trim()),
        "the previous draft is in the revision request"
    );
    assert!(
        revision.find(r1.trim()).unwrap() < revision.find("Add the reporting replica").unwrap(),
        "feedback comes last"
    );

    sandbox.approve(RUN_ID).await;
    assert!(
        sandbox
            .artifact(RUN_ID, "MIG-1")
            .contains("fake-MIG-1-call2"),
        "the approved text is revision 2"
    );
    let mig1 = marker_of(&sandbox, RUN_ID, "MIG-1");

    // Phase 2: only [MIG-1] is declared.
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    let reqs = fake.request_bodies().await;
    let p2 = user_message(reqs.last().unwrap());
    assert!(p2.contains(&mig1));
    assert!(!p2.contains(NEED), "phase 2 does not declare the need");
    assert!(
        !p2.contains(CONTEXT),
        "phase 2 does not declare the system state"
    );
    sandbox.approve(RUN_ID).await;
    let mig2 = marker_of(&sandbox, RUN_ID, "MIG-2");

    // Phase 3: MIG-1 and MIG-2, primary and secondary personas.
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    let reqs = fake.request_bodies().await;
    let p3 = reqs.last().unwrap();
    assert!(user_message(p3).contains(&mig1) && user_message(p3).contains(&mig2));
    let sys = system_message(p3);
    assert!(sys.contains("# Persona: Migration Specialist"));
    assert!(
        sys.contains("# Secondary persona") && sys.contains("Site Reliability"),
        "{sys}"
    );
    sandbox.approve(RUN_ID).await;
    let mig3 = marker_of(&sandbox, RUN_ID, "MIG-3");
    assert!(
        sandbox
            .artifact(RUN_ID, "MIG-3")
            .contains("## Point of No Return"),
        "the heading marks MIG-3's text"
    );

    // Phase 4: one artifact per plan step, each with its own gate, drafted
    // from the evidence recorded for it.
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    assert_eq!(sandbox.status(RUN_ID).await["state"], "awaiting_evidence");
    sandbox.note(RUN_ID, "step 1: replica promoted").await;
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-4.1");
    let reqs = fake.request_bodies().await;
    let s1 = user_message(reqs.last().unwrap());
    assert!(s1.contains(&mig3), "the plan is the declared input");
    assert!(!s1.contains(&mig1), "MIG-1 is not declared for phase 4");
    assert!(s1.contains("step 1 of the plan"));
    let (code, _, err) = sandbox
        .cmd(&[
            "decide",
            RUN_ID,
            "--option",
            "Rollback",
            "--reason",
            "replica lag above 30 s",
            "--then",
            "continue",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    sandbox.note(RUN_ID, "step 2: traffic switched").await;
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-4.2");
    sandbox.approve(RUN_ID).await;

    // Phase 5: a panel; each participant reviews, the moderator consolidates.
    let before = fake.request_bodies().await.len();
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    assert_eq!(pending(&sandbox.status(RUN_ID).await), "MIG-5");
    let reqs = fake.request_bodies().await;
    let panel = &reqs[before..];
    assert_eq!(panel.len(), 7, "six participants and a moderator");
    let moderator = user_message(panel.last().unwrap());
    assert!(moderator.contains(&mig1) && moderator.contains(&mig2));
    assert!(moderator.contains(&marker_of(&sandbox, RUN_ID, "MIG-4.2")));
    assert!(moderator.contains("rolled back") && moderator.contains("replica lag above 30 s"));
    assert!(
        !moderator.contains("## Point of No Return"),
        "MIG-3 is not declared for phase 5"
    );
    assert!(
        moderator.contains(CONTEXT),
        "'Current system state' is declared"
    );
    assert!(moderator.contains("## Panel findings"));
    assert!(system_message(panel.last().unwrap()).contains("Moderator"));
    let files = files_under(&sandbox.run_dir(RUN_ID).join("drafts/MIG-5.r1.findings"));
    // Each member's findings, and beside them the request it was sent.
    let prompts = files
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".prompt.json"))
        .count();
    assert_eq!(prompts, 6);
    assert_eq!(files.len() - prompts, 6);

    // "Issues found" is this gate's revise option.
    let (code, _, err) = sandbox
        .cmd(&[
            "decide",
            RUN_ID,
            "--option",
            "issues found",
            "--feedback",
            "Consumer status lacks the invoicing job",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    let before = fake.request_bodies().await.len();
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    let reqs = fake.request_bodies().await;
    assert_eq!(
        reqs.len(),
        before + 1,
        "a revision re-runs only the moderator"
    );
    assert!(user_message(reqs.last().unwrap()).contains("Consumer status lacks the invoicing job"));
    sandbox.approve(RUN_ID).await;
    let mig5 = marker_of(&sandbox, RUN_ID, "MIG-5");

    // Phase 6: MIG-2 and MIG-5 only.
    assert_eq!(sandbox.resume(RUN_ID, &base).await.0, 10);
    let reqs = fake.request_bodies().await;
    let p6 = user_message(reqs.last().unwrap());
    assert!(p6.contains(&mig2) && p6.contains(&mig5));
    assert!(
        !p6.contains(&mig1) && !p6.contains("## Breaking Changes"),
        "MIG-1 is not declared"
    );
    assert!(
        !p6.contains("## Point of No Return"),
        "MIG-3 is not declared"
    );
    assert!(system_message(reqs.last().unwrap()).contains("Failure Engineer"));
    sandbox.approve(RUN_ID).await;

    let (code, out, _) = sandbox.resume(RUN_ID, &base).await;
    assert_eq!(code, 0, "the workflow is complete: {out}");
    let status = sandbox.status(RUN_ID).await;
    assert_eq!(status["state"], "complete");
    assert!(status["pending"].is_null());

    // Approved artifacts only; the rolled-back step has none.
    let dir = sandbox.run_dir(RUN_ID);
    for id in ["MIG-1", "MIG-2", "MIG-3", "MIG-4.2", "MIG-5", "MIG-6"] {
        assert!(
            dir.join(format!("artifacts/{id}.md")).is_file(),
            "{id} approved"
        );
    }
    assert!(!dir.join("artifacts/MIG-4.1.md").exists());

    // The journal records each approval with the approved content's hash.
    let events = sandbox.journal(RUN_ID);
    let approved: Vec<&Value> = events.iter().filter(|e| e["event"] == "approved").collect();
    assert_eq!(approved.len(), 6);
    for e in &approved {
        let id = e["artifact"].as_str().unwrap();
        let text = sandbox.artifact(RUN_ID, id);
        assert_eq!(e["sha256"].as_str().unwrap(), sha256(&text), "{id}");
        assert_eq!(e["approver"], "tester");
    }
    let drafted = events.iter().filter(|e| e["event"] == "drafted").count();
    assert_eq!(
        drafted, 9,
        "MIG-1 twice, 2..3, two steps, MIG-5 twice, MIG-6"
    );
    assert!(events.iter().any(|e| e["event"] == "revised"
        && e["feedback"] == "Add the reporting replica to the inventory"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "rolled_back" && e["artifact"] == "MIG-4.1"));
    assert!(events
        .iter()
        .all(|e| e["event"] != "drafted" || e["prompt_tokens"] == 100));

    // status --json lists every artifact with its path and hash.
    let artifacts = status["artifacts"].as_array().unwrap();
    let mig1_entry = artifacts.iter().find(|a| a["id"] == "MIG-1").unwrap();
    assert_eq!(mig1_entry["state"], "approved");
    assert_eq!(
        mig1_entry["sha256"].as_str().unwrap(),
        sha256(&sandbox.artifact(RUN_ID, "MIG-1"))
    );

    // The key went to the server, and nowhere on disk.
    for (_, auth) in fake.chat_requests().await {
        assert_eq!(auth.as_deref(), Some(format!("Bearer {API_KEY}").as_str()));
    }
    for file in files_under(&sandbox.state_dir()) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(API_KEY),
            "the API key leaked into {}",
            file.display()
        );
    }
}

fn sha256(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_the_declared_need_is_refused_before_any_request() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, err) = sandbox
        .cmd(&["run", "--no-input", "--base-url", &base])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("--need"), "{err}");
    assert!(fake.request_bodies().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_draft_is_flagged_not_taken_as_complete() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().finish_reason("length").start().await;
    let base = fake.base_url();
    let (code, _, err) = sandbox.start_run(NEED, &base, "t").await;
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("STOPPED AT THE TOKEN LIMIT"), "{err}");
    assert_eq!(sandbox.status("t").await["pending"]["truncated"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_starts_no_run_and_the_id_stays_free() {
    let sandbox = Sandbox::new();
    // Nothing listens on port 9 of loopback.
    let (code, _, err) = sandbox
        .start_run(NEED, "http://127.0.0.1:9/v1", "dead")
        .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot reach the model server at http://127.0.0.1:9/v1"),
        "{err}"
    );
    assert!(!sandbox.run_dir("dead").exists(), "no run was created");

    // Once a server answers, the same id starts the run.
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, out, err) = sandbox.start_run(NEED, &base, "dead").await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/MIG-1.r1.md"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_without_a_key_is_refused_with_the_variable_named() {
    let sandbox = Sandbox::new();
    let (code, _, err) = sandbox
        .cmd(&["run", "--no-input", "--need", NEED])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("OPENAI_API_KEY"), "{err}");
    assert!(
        !sandbox.state_dir().exists(),
        "no run is created when the request cannot be made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_needs_a_pending_draft_and_a_known_option() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, _) = sandbox.start_run(NEED, &base, RUN_ID).await;
    assert_eq!(code, 10);
    let (code, _, err) = sandbox
        .cmd(&["decide", RUN_ID, "--option", "Ship it"])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("Approved, Revise"), "{err}");
    let (code, _, err) = sandbox
        .cmd(&["revise", RUN_ID, "--feedback", "  "])
        .run()
        .await;
    assert_eq!(code, 1, "empty feedback is refused");
    assert!(err.contains("feedback cannot be empty"), "{err}");
    // Without USER the approver is still named (see `approver`): the
    // account of the uid comes last, so nobody goes unnamed here.
    assert_eq!(sandbox.status(RUN_ID).await["state"], "awaiting_decision");
    sandbox.approve(RUN_ID).await;
    let (code, _, err) = sandbox.cmd(&["approve", RUN_ID]).run().await;
    assert_eq!(
        code, 1,
        "MIG-2 is not drafted yet, so there is nothing to approve"
    );
    assert!(err.contains("resume"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workflow_runs_with_its_own_prefix_labels_and_a_round_table() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run_id = "upg";
    let workflow = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/workflows/upgrade.md"
    );
    let base = fake.base_url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            workflow,
            "--no-input",
            "--need",
            "Upgrade tokio 0.2 to 1.x",
            "--base-url",
            &base,
            "--run-id",
            run_id,
        ])
        .run()
        .await;
    // UPG-1's phase has no gate: it is accepted and feeds UPG-2, which stops.
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(pending(&sandbox.status(run_id).await), "UPG-2");
    assert!(sandbox
        .artifact(run_id, "UPG-1")
        .contains("fake-UPG-1-call1"));
    let reqs = fake.request_bodies().await;
    assert!(user_message(&reqs[1]).contains("fake-UPG-1-call1"));

    let (code, _, err) = sandbox
        .cmd(&["decide", run_id, "--option", "Go"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.resume(run_id, &base).await.0, 10);
    sandbox.note(run_id, "canary deployed").await;
    assert_eq!(sandbox.resume(run_id, &base).await.0, 10);
    assert_eq!(pending(&sandbox.status(run_id).await), "UPG-3.1");
    let (code, _, err) = sandbox
        .cmd(&[
            "decide",
            run_id,
            "--option",
            "step verified",
            "--note",
            "canary green",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.resume(run_id, &base).await.0, 10);
    sandbox.note(run_id, "fleet upgraded").await;
    assert_eq!(sandbox.resume(run_id, &base).await.0, 10);
    sandbox.approve(run_id).await;

    // The round table: six reviewers and a moderator.
    let before = fake.request_bodies().await.len();
    assert_eq!(sandbox.resume(run_id, &base).await.0, 10);
    assert_eq!(pending(&sandbox.status(run_id).await), "UPG-4");
    assert_eq!(fake.request_bodies().await.len(), before + 7);

    let (code, _, err) = sandbox
        .cmd(&[
            "decide",
            run_id,
            "--option",
            "Abort",
            "--reason",
            "two services pin tokio 0.2",
        ])
        .run()
        .await;
    assert_eq!(code, 11, "an aborted run exits 11: {err}");
    let status = sandbox.status(run_id).await;
    assert_eq!(status["state"], "aborted");
    assert!(status["pending"].is_null());
    let (code, _, _) = sandbox.resume(run_id, &base).await;
    assert_eq!(code, 11, "an aborted run stays aborted");

    let events = sandbox.journal(run_id);
    assert!(events
        .iter()
        .any(|e| e["event"] == "accepted" && e["artifact"] == "UPG-1"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "decided" && e["option"] == "Step verified" && e["by"] == "tester"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "approved" && e["note"] == "canary green"));
    assert!(events
        .iter()
        .any(|e| e["event"] == "aborted" && e["reason"] == "two services pin tokio 0.2"));
}
