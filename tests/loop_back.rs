//! Gates that send the work back, end to end: an API-design workflow
//! (`fixtures/loop_back/api-design.md`) whose contract review can send the
//! work back to the contract (one phase) or to the requirements or the
//! contract (a choice). Runs the binary against the fake server, deciding
//! with `decide --option … --to-phase`, and once at a real terminal.

use crate::support::{blocking, pending, user_message, FakeServer, Pty, Sandbox};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/loop_back/api-design.md");
const WORKFLOW: &str = "workflows/api-design.md";
const NEED: &str = "An orders API for the shop and the warehouse";
const FEEDBACK: &str = "Version the error codes; the warehouse pins them";

fn events<'a>(journal: &'a [Value], kind: &str) -> Vec<&'a Value> {
    journal.iter().filter(|e| e["event"] == kind).collect()
}

/// The user message of the last chat request the server received.
async fn last_request(fake: &FakeServer) -> String {
    let bodies = fake.request_bodies().await;
    user_message(bodies.last().expect("a request"))
}

/// `(id, state)` of every artifact in a `status --json` report.
fn artifact_states(status: &Value) -> Vec<(String, String)> {
    status["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A sandbox holding the workflow, with a run started against `fake` and
/// taken to the contract review (API-3 awaiting a decision).
async fn at_the_review(fake: &FakeServer, run_id: &str) -> Sandbox {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write(WORKFLOW, FIXTURE);
    let base = fake.base_url();
    sandbox.start_run_of(WORKFLOW, NEED, &base, run_id).await;
    for _ in 0..2 {
        sandbox.approve(run_id).await;
        let (code, out, err) = sandbox.resume(run_id, &base).await;
        assert_eq!(code, 10, "{out}{err}");
    }
    assert_eq!(pending(&sandbox.status(run_id).await), "API-3");
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_sends_the_contract_back_and_the_stale_artifacts_are_redrafted() {
    let fake = FakeServer::new().start().await;
    let sandbox = at_the_review(&fake, "api").await;
    let base = fake.base_url();

    // The gate, as a reviewer who never sees the terminal reads it.
    let status = sandbox.status("api").await;
    let gate = &status["pending"]["gate"];
    assert_eq!(
        gate["criteria"],
        "Every finding names the part of the contract it concerns, and the verdict follows from the findings."
    );
    let options = gate["options"].as_array().expect("options");
    let summary: Vec<(&str, &str, &str)> = options
        .iter()
        .map(|o| {
            (
                o["label"].as_str().unwrap(),
                o["action"].as_str().unwrap(),
                o["does"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Approved", "proceed", "proceed"),
            ("Revise", "revise", "revise this artifact"),
            (
                "Contract changes needed",
                "send_back",
                "send back to Phase 2: Contract, redraft what depends on it, then re-present Phase 3"
            ),
            (
                "Rethink",
                "send_back",
                "send back to Phase 1 or 2 (choice of Phase 1: Requirements, Phase 2: Contract), redraft what depends on it, then re-present Phase 3"
            ),
        ]
    );
    assert_eq!(options[2]["to_phases"], serde_json::json!([2]));
    assert_eq!(
        options[2]["description"],
        "revise contract in Phase 2, then re-present at Phase 3"
    );
    assert!(options[0].get("to_phases").is_none());
    let (code, text, err) = sandbox.cmd(&["status", "api"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains(
            "approval criteria: Every finding names the part of the contract it concerns"
        ),
        "{text}"
    );
    assert!(
        text.contains("    Rethink → return to Phase 1 or 2 as needed, then re-present at Phase 3\n        does: send back to Phase 1 or 2"),
        "{text}"
    );
    assert!(text.contains("--to-phase N"), "{text}");

    let old_contract = sandbox.artifact("api", "API-2");
    let (code, out, err) = sandbox
        .cmd(&[
            "decide",
            "api",
            "--option",
            "Contract changes needed",
            "--feedback",
            FEEDBACK,
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("sent the work back from API-3 revision 1 (sha "),
        "{out}"
    );
    assert!(
        out.contains("The run is back at Phase 2: Contract. Redrafted in order, each at its own gate: [API-2], [API-3]"),
        "{out}"
    );

    let status = sandbox.status("api").await;
    assert_eq!(status["state"], "ready_to_draft");
    assert_eq!(status["phase"], "Phase 2: Contract");
    assert_eq!(
        artifact_states(&status),
        pairs(&[
            ("API-1", "approved"),
            ("API-2", "stale"),
            ("API-3", "stale")
        ])
    );
    let (_, text, _) = sandbox.cmd(&["status", "api"]).run().await;
    assert!(text.contains("API-2      stale"), "{text}");
    // The earlier approval stays until a new one replaces it.
    assert_eq!(sandbox.artifact("api", "API-2"), old_contract);

    // The contract is redrafted with the feedback.
    let (code, out, err) = sandbox.resume("api", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/API-2.r2.md"), "{out}");
    let request = last_request(&fake).await;
    assert!(request.contains(FEEDBACK), "{request}");
    sandbox.approve("api").await;
    let new_contract = sandbox.artifact("api", "API-2");
    assert_ne!(new_contract, old_contract);

    // The review is presented again, drafted from the new contract only.
    let (code, out, err) = sandbox.resume("api", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/API-3.r2.md"), "{out}");
    let request = last_request(&fake).await;
    assert!(request.contains(new_contract.trim()), "{request}");
    assert!(!request.contains(old_contract.trim()), "{request}");
    assert!(request.contains(FEEDBACK), "{request}");
    sandbox.approve("api").await;

    // The rollout reads the contract: the new one.
    let (code, _, err) = sandbox.resume("api", &base).await;
    assert_eq!(code, 10, "{err}");
    let request = last_request(&fake).await;
    assert!(request.contains(new_contract.trim()), "{request}");
    assert!(!request.contains(old_contract.trim()), "{request}");
    sandbox.approve("api").await;
    assert_eq!(sandbox.status("api").await["state"], "complete");
    assert_eq!(
        fake.request_bodies().await.len(),
        6,
        "3 drafts, 2 redrafts, 1"
    );

    let journal = sandbox.journal("api");
    let sent = events(&journal, "sent_back");
    assert_eq!(sent.len(), 1, "{journal:#?}");
    assert_eq!(sent[0]["from_artifact"], "API-3");
    assert_eq!(sent[0]["to_phase"], 2);
    assert_eq!(sent[0]["reason"], FEEDBACK);
    assert_eq!(sent[0]["by"], "tester");
    let stale: Vec<&str> = events(&journal, "marked_stale")
        .iter()
        .map(|e| e["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["API-2", "API-3"]);
    let contract_approvals: Vec<u64> = events(&journal, "approved")
        .iter()
        .filter(|e| e["artifact"] == "API-2")
        .map(|e| e["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(contract_approvals, [1, 2], "the earlier approval is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_option_naming_two_phases_needs_to_phase() {
    let fake = FakeServer::new().start().await;
    let sandbox = at_the_review(&fake, "pick").await;
    let decide = |extra: &[&str]| {
        let mut args = vec![
            "decide",
            "pick",
            "--option",
            "Rethink",
            "--feedback",
            FEEDBACK,
        ];
        args.extend_from_slice(extra);
        sandbox.cmd(&args).run()
    };
    let (code, out, err) = decide(&[]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("choose one with --to-phase N, from phase 1 (Requirements), 2 (Contract)"),
        "{err}"
    );
    let (code, _, err) = decide(&["--to-phase", "3"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot send the work back to phase 3; it may go to phase 1 (Requirements), 2 (Contract)"),
        "{err}"
    );
    let (code, _, err) = sandbox
        .cmd(&["decide", "pick", "--option", "Approved", "--to-phase", "1"])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("--to-phase is for an option that sends the work back"),
        "{err}"
    );
    let (code, _, err) = sandbox
        .cmd(&["decide", "pick", "--option", "Rethink", "--to-phase", "1"])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("give --feedback TEXT"), "{err}");
    assert!(
        events(&sandbox.journal("pick"), "decided").len() == 2,
        "only the two approvals"
    );
    assert_eq!(pending(&sandbox.status("pick").await), "API-3");

    let (code, out, err) = decide(&["--to-phase", "1"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let status = sandbox.status("pick").await;
    assert_eq!(status["phase"], "Phase 1: Requirements");
    assert_eq!(
        artifact_states(&status),
        pairs(&[("API-1", "stale"), ("API-2", "stale"), ("API-3", "stale")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_show_says_what_each_option_does_and_validate_refuses_bad_targets() {
    let sandbox = Sandbox::new();
    sandbox.write(WORKFLOW, FIXTURE);
    let (code, out, err) = sandbox.cmd(&["workflows", "show", WORKFLOW]).run().await;
    assert_eq!(code, 0, "{err}");
    for line in [
        "    Approved: proceed\n",
        "    Revise: revise this artifact\n",
        "    Contract changes needed: send back to Phase 2: Contract, redraft what depends on it, then re-present Phase 3\n",
        "    Rethink: send back to Phase 1 or 2 (choice of Phase 1: Requirements, Phase 2: Contract), redraft what depends on it, then re-present Phase 3\n",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }

    let broken = FIXTURE
        .replace(
            "- **Rethink** → return to Phase 1 or 2 as needed, then",
            "- **Rethink** → return to Phase 1 or 4 as needed, then",
        )
        .replace(
            "- **Approved** → the design is complete\n",
            "- **Approved** → the design is complete\n\n### GATE\n\n**Approval criteria:** Signed off.\n\n- **Approved** → proceed\n",
        );
    sandbox.write("workflows/broken.md", &broken);
    let (code, out, err) = sandbox
        .cmd(&["workflows", "validate", "workflows/broken.md"])
        .run()
        .await;
    assert_eq!(code, 1, "{out}{err}");
    let file = "workflows/broken.md";
    let rethink_line = FIXTURE
        .lines()
        .position(|l| l.starts_with("- **Rethink**"))
        .unwrap()
        + 1;
    assert!(
        out.contains(&format!("{file}:{rethink_line}: option 'Rethink' sends the work back to Phase 4, which comes after this gate's phase 3")),
        "{out}"
    );
    let gates: Vec<usize> = broken
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "### GATE")
        .map(|(i, _)| i + 1)
        .collect();
    let (first, second) = (gates[gates.len() - 2], gates[gates.len() - 1]);
    assert!(
        out.contains(&format!("{file}:{second}: phase 4 has a second GATE section (first at line {first}); one gate per phase")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_terminal_the_person_chooses_the_phase() {
    let sandbox = Sandbox::new().with_api_key().env("TERM", "xterm");
    sandbox.write(WORKFLOW, FIXTURE);
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let cmd = sandbox.cmd(&[
        "run",
        WORKFLOW,
        "--need",
        NEED,
        "--base-url",
        &base,
        "--run-id",
        "tty",
    ]);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("API-1");
        pty.send("1\r");
        pty.menu("API-2");
        pty.send("1\r");
        let menu = pty.menu("API-3");
        assert!(
            menu.contains(
                "4) Rethink → return to Phase 1 or 2 as needed, then re-present at Phase 3"
            ),
            "{menu}"
        );
        pty.send("4\r");
        pty.expect("Feedback for the phase the work goes back to");
        pty.expect("  | ");
        pty.send(&format!("{FEEDBACK}\r"));
        pty.expect("  | ");
        pty.send("\r");
        pty.expect("'Rethink' sends the work back to one of:");
        pty.expect("1) Phase 1: Requirements [API-1]");
        pty.expect("2) Phase 2: Contract [API-2]");
        pty.expect("Which phase? [1/2] ");
        pty.send("3\r");
        pty.expect("Please answer with one of: 1, 2.");
        pty.expect("Which phase? [1/2] ");
        pty.send("1\r");
        // Requirements, contract and review again, in order.
        pty.expect("revision 2");
        pty.menu("API-1");
        pty.send("1\r");
        pty.menu("API-2");
        pty.send("1\r");
        pty.menu("API-3");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");
    let bodies = fake.request_bodies().await;
    assert_eq!(bodies.len(), 6, "three drafts, three redrafts");
    assert!(user_message(&bodies[3]).contains(FEEDBACK));
    let journal = sandbox.journal("tty");
    let sent = events(&journal, "sent_back");
    assert_eq!(sent.len(), 1, "{journal:#?}");
    assert_eq!(sent[0]["to_phase"], 1);
    assert_eq!(sent[0]["to_artifact"], "API-1");
    let status = sandbox.status("tty").await;
    assert_eq!(pending(&status), "API-3");
    assert_eq!(status["pending"]["revision"], 2);
}
