//! A full migration run without a terminal, against a real HTTP server that
//! speaks the OpenAI chat API with SSE streaming: every gate is a separate
//! command, as in CI or a script.

use crate::support::{
    files_under, run, system_message, user_message, FakeServer, Sandbox, API_KEY,
};
use serde_json::Value;

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to PostgreSQL 16";
const CONTEXT: &str = "CURRENT-STATE: billing-db runs PostgreSQL 12.9 on two hosts";

struct Harness {
    sandbox: Sandbox,
    fake: FakeServer,
    run_id: String,
}

impl Harness {
    async fn new() -> Harness {
        Harness {
            sandbox: Sandbox::new(),
            fake: FakeServer::new().start().await,
            run_id: "pg16".into(),
        }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.sandbox.cmd();
        cmd.env("OPENAI_API_KEY", API_KEY).args(args);
        cmd
    }

    async fn migagent(&self, args: &[&str]) -> (i32, String, String) {
        run(self.cmd(args)).await
    }

    async fn resume(&self) -> (i32, String, String) {
        let base = self.fake.base_url();
        self.migagent(&["resume", &self.run_id, "--no-input", "--base-url", &base])
            .await
    }

    async fn status(&self) -> Value {
        self.sandbox.status(&self.run_id).await
    }

    async fn requests(&self) -> Vec<Value> {
        self.fake.request_bodies().await
    }

    async fn approve(&self) {
        let (code, out, err) = self.migagent(&["approve", &self.run_id]).await;
        assert_eq!(code, 0, "approve failed: {out}{err}");
    }

    /// The artifact text as approved on disk.
    fn artifact(&self, id: &str) -> String {
        let p = self
            .sandbox
            .run_dir(&self.run_id)
            .join(format!("artifacts/{id}.md"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn marker_of(&self, id: &str) -> String {
        let text = self.artifact(id);
        let start = text
            .find(&format!("fake-{id}-call"))
            .unwrap_or_else(|| panic!("no marker in {id}: {text}"));
        text[start..]
            .split(|c: char| c.is_whitespace() || c == '—')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

fn pending(status: &Value) -> String {
    status["pending"]["artifact"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_migration_run_through_every_gate() {
    let h = Harness::new().await;
    let ctx = h.sandbox.write("current.md", CONTEXT);
    let base = h.fake.base_url();

    // Phase 1 is drafted, then the run stops: no terminal means no decision.
    let (code, out, err) = h
        .migagent(&[
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
            &h.run_id,
        ])
        .await;
    assert_eq!(
        code, 10,
        "run should stop awaiting a decision\n{out}\n{err}"
    );
    assert!(out.contains("run: pg16"), "{out}");
    assert!(out.contains("drafts/MIG-1.r1.md"), "{out}");
    let status = h.status().await;
    assert_eq!(status["state"], "awaiting_decision");
    assert_eq!(pending(&status), "MIG-1");

    let reqs = h.requests().await;
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
    let (code, _, _) = h.resume().await;
    assert_eq!(code, 10);
    assert_eq!(
        h.requests().await.len(),
        1,
        "no new draft without a decision"
    );
    assert_eq!(pending(&h.status().await), "MIG-1");
    assert!(!h
        .sandbox
        .run_dir(&h.run_id)
        .join("artifacts/MIG-1.md")
        .exists());

    // Revise: the next request carries the feedback and the previous draft.
    let r1 =
        std::fs::read_to_string(h.sandbox.run_dir(&h.run_id).join("drafts/MIG-1.r1.md")).unwrap();
    let (code, _, err) = h
        .migagent(&[
            "revise",
            &h.run_id,
            "--feedback",
            "Add the reporting replica to the inventory",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(h.status().await["state"], "ready_to_draft");
    let (code, out, _) = h.resume().await;
    assert_eq!(code, 10);
    assert!(out.contains("drafts/MIG-1.r2.md"), "{out}");
    let reqs = h.requests().await;
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

    h.approve().await;
    assert!(
        h.artifact("MIG-1").contains("fake-MIG-1-call2"),
        "the approved text is revision 2"
    );
    let mig1 = h.marker_of("MIG-1");

    // Phase 2: only [MIG-1] is declared.
    assert_eq!(h.resume().await.0, 10);
    let reqs = h.requests().await;
    let p2 = user_message(reqs.last().unwrap());
    assert!(p2.contains(&mig1));
    assert!(!p2.contains(NEED), "phase 2 does not declare the need");
    assert!(
        !p2.contains(CONTEXT),
        "phase 2 does not declare the system state"
    );
    h.approve().await;
    let mig2 = h.marker_of("MIG-2");

    // Phase 3: MIG-1 and MIG-2, primary and secondary personas.
    assert_eq!(h.resume().await.0, 10);
    let reqs = h.requests().await;
    let p3 = reqs.last().unwrap();
    assert!(user_message(p3).contains(&mig1) && user_message(p3).contains(&mig2));
    let sys = system_message(p3);
    assert!(sys.contains("# Persona: Migration Specialist"));
    assert!(
        sys.contains("# Secondary persona") && sys.contains("Site Reliability"),
        "{sys}"
    );
    h.approve().await;
    let mig3 = h.marker_of("MIG-3");
    assert!(
        h.artifact("MIG-3").contains("## Point of No Return"),
        "the heading marks MIG-3's text"
    );

    // Phase 4: one artifact per plan step, each with its own gate.
    assert_eq!(h.resume().await.0, 10);
    assert_eq!(pending(&h.status().await), "MIG-4.1");
    let reqs = h.requests().await;
    let s1 = user_message(reqs.last().unwrap());
    assert!(s1.contains(&mig3), "the plan is the declared input");
    assert!(!s1.contains(&mig1), "MIG-1 is not declared for phase 4");
    assert!(s1.contains("step 1 of the plan"));
    let (code, _, err) = h
        .migagent(&[
            "decide",
            &h.run_id,
            "--option",
            "Rollback",
            "--reason",
            "replica lag above 30 s",
            "--then",
            "continue",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(h.resume().await.0, 10);
    assert_eq!(pending(&h.status().await), "MIG-4.2");
    h.approve().await;

    // Phase 5: a panel; each participant reviews, the moderator consolidates.
    let before = h.requests().await.len();
    assert_eq!(h.resume().await.0, 10);
    assert_eq!(pending(&h.status().await), "MIG-5");
    let reqs = h.requests().await;
    let panel = &reqs[before..];
    assert_eq!(panel.len(), 7, "six participants and a moderator");
    let moderator = user_message(panel.last().unwrap());
    assert!(moderator.contains(&mig1) && moderator.contains(&mig2));
    assert!(moderator.contains(&h.marker_of("MIG-4.2")));
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
    let findings = files_under(
        &h.sandbox
            .run_dir(&h.run_id)
            .join("drafts/MIG-5.r1.findings"),
    );
    assert_eq!(findings.len(), 6);

    // "Issues found" is this gate's revise option.
    let (code, _, err) = h
        .migagent(&[
            "decide",
            &h.run_id,
            "--option",
            "issues found",
            "--feedback",
            "Consumer status lacks the invoicing job",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let before = h.requests().await.len();
    assert_eq!(h.resume().await.0, 10);
    let reqs = h.requests().await;
    assert_eq!(
        reqs.len(),
        before + 1,
        "a revision re-runs only the moderator"
    );
    assert!(user_message(reqs.last().unwrap()).contains("Consumer status lacks the invoicing job"));
    h.approve().await;
    let mig5 = h.marker_of("MIG-5");

    // Phase 6: MIG-2 and MIG-5 only.
    assert_eq!(h.resume().await.0, 10);
    let reqs = h.requests().await;
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
    h.approve().await;

    let (code, out, _) = h.resume().await;
    assert_eq!(code, 0, "the workflow is complete: {out}");
    let status = h.status().await;
    assert_eq!(status["state"], "complete");
    assert!(status["pending"].is_null());

    // Approved artifacts only; the rolled-back step has none.
    let dir = h.sandbox.run_dir(&h.run_id);
    for id in ["MIG-1", "MIG-2", "MIG-3", "MIG-4.2", "MIG-5", "MIG-6"] {
        assert!(
            dir.join(format!("artifacts/{id}.md")).is_file(),
            "{id} approved"
        );
    }
    assert!(!dir.join("artifacts/MIG-4.1.md").exists());

    // The journal records each approval with the approved content's hash.
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let events: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let approved: Vec<&Value> = events.iter().filter(|e| e["event"] == "approved").collect();
    assert_eq!(approved.len(), 6);
    for e in &approved {
        let id = e["artifact"].as_str().unwrap();
        let text = h.artifact(id);
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
        sha256(&h.artifact("MIG-1"))
    );

    // The key went to the server, and nowhere on disk.
    for (_, auth) in h.fake.chat_requests().await {
        assert_eq!(auth.as_deref(), Some(format!("Bearer {API_KEY}").as_str()));
    }
    for file in files_under(&h.sandbox.state_dir()) {
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
    migagent::store::sha256_hex(text.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_the_declared_need_is_refused_before_any_request() {
    let h = Harness::new().await;
    let base = h.fake.base_url();
    let (code, _, err) = h
        .migagent(&["run", "--no-input", "--base-url", &base])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("--need"), "{err}");
    assert!(h.requests().await.is_empty());
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
async fn a_dead_server_loses_nothing_and_resume_retries() {
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
    assert!(err.contains("migagent resume dead"), "{err}");

    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let mut cmd = sandbox.cmd();
    cmd.args(["resume", "dead", "--no-input", "--base-url", &base]);
    let (code, out, err) = run(cmd).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/MIG-1.r1.md"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_without_a_key_is_refused_with_the_variable_named() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.cmd();
    cmd.args(["run", "--no-input", "--need", NEED]);
    let (code, _, err) = run(cmd).await;
    assert_eq!(code, 1);
    assert!(err.contains("OPENAI_API_KEY"), "{err}");
    assert!(
        !sandbox.state_dir().exists(),
        "no run is created when the request cannot be made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_needs_a_pending_draft_and_a_known_option() {
    let h = Harness::new().await;
    let base = h.fake.base_url();
    let (code, _, _) = h.sandbox.start_run(NEED, &base, &h.run_id).await;
    assert_eq!(code, 10);
    let (code, _, err) = h
        .migagent(&["decide", &h.run_id, "--option", "Ship it"])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("Approved, Revise"), "{err}");
    let (code, _, err) = h.migagent(&["revise", &h.run_id, "--feedback", "  "]).await;
    assert_eq!(code, 1, "empty feedback is refused");
    assert!(err.contains("feedback cannot be empty"), "{err}");
    let mut anonymous = h.cmd(&["approve", &h.run_id]);
    anonymous
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME");
    let (code, _, err) = run(anonymous).await;
    assert_eq!(code, 1, "a decision nobody can be named for is refused");
    assert!(err.contains("--as NAME"), "{err}");
    assert_eq!(h.status().await["state"], "awaiting_decision");
    h.approve().await;
    let (code, _, err) = h.migagent(&["approve", &h.run_id]).await;
    assert_eq!(
        code, 1,
        "MIG-2 is not drafted yet, so there is nothing to approve"
    );
    assert!(err.contains("resume"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workflow_runs_with_its_own_prefix_labels_and_a_round_table() {
    let h = Harness {
        run_id: "upg".into(),
        ..Harness::new().await
    };
    let workflow = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/workflows/upgrade.md"
    );
    let base = h.fake.base_url();
    let (code, out, err) = h
        .migagent(&[
            "run",
            workflow,
            "--no-input",
            "--need",
            "Upgrade tokio 0.2 to 1.x",
            "--base-url",
            &base,
            "--run-id",
            &h.run_id,
        ])
        .await;
    // UPG-1's phase has no gate: it is accepted and feeds UPG-2, which stops.
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(pending(&h.status().await), "UPG-2");
    assert!(h.artifact("UPG-1").contains("fake-UPG-1-call1"));
    let reqs = h.requests().await;
    assert!(user_message(&reqs[1]).contains("fake-UPG-1-call1"));

    let (code, _, err) = h.migagent(&["decide", &h.run_id, "--option", "Go"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(h.resume().await.0, 10);
    assert_eq!(pending(&h.status().await), "UPG-3.1");
    let (code, _, err) = h
        .migagent(&[
            "decide",
            &h.run_id,
            "--option",
            "step verified",
            "--note",
            "canary green",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(h.resume().await.0, 10);
    h.approve().await;

    // The round table: six reviewers and a moderator.
    let before = h.requests().await.len();
    assert_eq!(h.resume().await.0, 10);
    assert_eq!(pending(&h.status().await), "UPG-4");
    assert_eq!(h.requests().await.len(), before + 7);

    let (code, _, err) = h
        .migagent(&[
            "decide",
            &h.run_id,
            "--option",
            "Abort",
            "--reason",
            "two services pin tokio 0.2",
        ])
        .await;
    assert_eq!(code, 11, "an aborted run exits 11: {err}");
    let status = h.status().await;
    assert_eq!(status["state"], "aborted");
    assert!(status["pending"].is_null());
    let (code, _, _) = h.resume().await;
    assert_eq!(code, 11, "an aborted run stays aborted");

    let journal =
        std::fs::read_to_string(h.sandbox.run_dir(&h.run_id).join("journal.jsonl")).unwrap();
    let events: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
