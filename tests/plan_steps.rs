//! A plan's steps are identified by their place, not by the number a model
//! or a person typed: a model's plan with two `### Step 1:` blocks gives
//! every block its own card, draft, gate and journal lines, and the plan's
//! own gate says the numbering is off before anyone approves it.

use crate::support::{pending, FakeServer, Sandbox};

const NEED: &str = "Move the orders database from PostgreSQL 12 to PostgreSQL 16";

/// The red-team plan: "Step 1" twice, the second the irreversible cut-over,
/// then a "Step 2".
const PLAN_TWICE_ONE: &str = r#"## Pre-Migration Checklist
- [ ] A fresh base backup exists

## Steps

### Step 1: Take a backup
- **Action:** Dump the old primary
- **Pre-condition:** Disk has room
- **Verification:** The dump lists every table
- **Rollback:** Nothing to undo
- **Duration estimate:** 10 minutes

### Step 1: Cut over writes (irreversible)
- **Action:** Point the writers at the new primary
- **Pre-condition:** The backup is verified
- **Verification:** Writes land on the new primary
- **Rollback:** None possible after the first write
- **Duration estimate:** 2 minutes

### Step 2: Watch the error rate
- **Action:** Watch the dashboard for an hour
- **Pre-condition:** Writers moved
- **Verification:** Error rate below 0.1%
- **Rollback:** Point the writers back
- **Duration estimate:** 60 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Error rate of the orders API

## Communication Plan
- **Before:** notify the orders team
- **During:** update #ops every 15 minutes
- **After:** confirm to the orders team
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_block_gets_its_own_gate_whatever_its_number() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new()
        .answer("MIG-3", PLAN_TWICE_ONE)
        .start()
        .await;
    let base = fake.base_url();
    let run = "twice-one";
    let (code, out, err) = sandbox.start_run(NEED, &base, run).await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.approve(run).await;
    for id in ["MIG-2", "MIG-3"] {
        let (code, out, err) = sandbox.resume(run, &base).await;
        assert_eq!(code, 10, "{id}: {out}{err}");
        assert_eq!(pending(&sandbox.status(run).await), id);
        if id == "MIG-2" {
            sandbox.approve(run).await;
        }
    }

    // The plan's gate says the numbering is off, and what each step becomes.
    let status = sandbox.status(run).await;
    let problems: Vec<String> = status["pending"]["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(String::from))
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'Step 1' heads 2 steps") && p.contains("Cut over writes")),
        "{status:#}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("'Step 1: Cut over writes (irreversible)' is step 2")),
        "{status:#}"
    );
    let (code, text, _) = sandbox.cmd(&["status", run]).run().await;
    assert_eq!(code, 0);
    assert!(text.contains("'Step 1' heads 2 steps"), "{text}");
    sandbox.approve(run).await;

    // Three blocks, three steps, each waiting for evidence, drafted and
    // decided at its own gate.
    let expected = [
        ("MIG-4.1", "Take a backup"),
        ("MIG-4.2", "Cut over writes (irreversible)"),
        ("MIG-4.3", "Watch the error rate"),
    ];
    for (id, name) in expected {
        let (code, out, err) = sandbox.resume(run, &base).await;
        assert_eq!(code, 10, "{id}: {out}{err}");
        assert!(
            out.contains(&format!("awaiting evidence: {id}")),
            "{out}{err}"
        );
        assert!(
            err.contains(name),
            "{id}'s card is its own block ({name}):\n{err}"
        );
        sandbox.note(run, &format!("did {name}")).await;
        let (code, out, err) = sandbox.resume(run, &base).await;
        assert_eq!(code, 10, "{id} drafted: {out}{err}");
        assert_eq!(pending(&sandbox.status(run).await), id);
        sandbox.approve(run).await;
    }
    let journal = sandbox.journal(run);
    for (id, _) in expected {
        let approvals = journal
            .iter()
            .filter(|e| e["event"] == "approved" && e["artifact"] == id)
            .count();
        assert_eq!(approvals, 1, "{id} approved once: {journal:#?}");
        assert!(
            journal
                .iter()
                .any(|e| e["event"] == "drafted" && e["artifact"] == id),
            "{id} has its own draft"
        );
    }
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.run_dir(run).join("run.json")).unwrap(),
    )
    .unwrap();
    let second = state["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "MIG-4.2")
        .expect("MIG-4.2 exists");
    assert_eq!(second["step"]["number"], 2);
    assert_eq!(second["step"]["written"], "1", "the typed number is kept");
}
