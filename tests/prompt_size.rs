//! How much prompt text a run sends, counted as the fake server counts it:
//! whitespace-separated words of every message of every chat request. Sizes
//! are content, not timings; the timings live in `bench/`.
//!
//! Each request carries what its job needs and nothing twice: a prompt file
//! that serves two phases gives each its own part, a step's draft carries
//! its own step in full and the others by name, panel members get the
//! panel's purpose and their own persona, not the whole panel file.

use crate::support::{pending, user_message, FakeServer, Sandbox};
use serde_json::Value;

const NEED: &str = "Move the invoices database from MySQL 5.7 to PostgreSQL 16";

/// The words of every message of a chat request body.
fn words(body: &Value) -> usize {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .map(|c| c.split_whitespace().count())
        .sum()
}

/// The first line naming what a request is for (`# Task: MIG-2: ...`).
fn purpose(body: &Value) -> String {
    user_message(body)
        .lines()
        .find(|l| l.starts_with("# Task:") || l.starts_with("# Panel review:"))
        .unwrap_or("?")
        .to_string()
}

/// Drives `run` from its first gate to the end: approves every draft,
/// records a note as each step's evidence, and drafts what comes next.
async fn drive_to_the_end(sandbox: &Sandbox, run: &str, base: &str) {
    for _ in 0..60 {
        let status = sandbox.status(run).await;
        match status["state"].as_str().unwrap_or_default() {
            "complete" => return,
            "awaiting_decision" => sandbox.approve(run).await,
            "awaiting_evidence" => {
                // The step's evidence, then its draft.
                sandbox.note(run, "the step ran as planned, exit 0").await;
                let (code, out, err) = sandbox.resume(run, base).await;
                assert_eq!(code, 10, "resume: {out}{err}");
            }
            _ => {
                let (code, out, err) = sandbox.resume(run, base).await;
                assert!(code == 0 || code == 10, "resume: {out}{err}");
            }
        }
    }
    panic!("the run did not complete in 60 commands");
}

/// A plan of `n` steps in the seed's step format.
fn plan(n: usize) -> String {
    let mut text =
        String::from("## Pre-Migration Checklist\n- [ ] A fresh backup exists\n\n## Steps\n\n");
    for k in 1..=n {
        text.push_str(&format!(
            "### Step {k}: Move table group {k}\n\
             - **Action:** copy group {k} with `pgloader --with \"batch rows = 5000\" group{k}.load`\n\
             - **Pre-condition:** group {} verified and writes to group {k} paused\n\
             - **Verification:** row counts and checksums of group {k} match the source\n\
             - **Rollback:** point readers of group {k} back at MySQL and drop the copy\n\
             - **Duration estimate:** 20 minutes\n\n",
            k.saturating_sub(1)
        ));
    }
    text.push_str("## Point of No Return\nNone — fully reversible\n\n## Monitoring Plan\n- Error rate of the invoices API\n\n## Communication Plan\n- **Before:** notify finance\n- **During:** #ops every 15 minutes\n- **After:** confirm to finance\n");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_run_sends_under_15k_words() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().answer("MIG-3", &plan(3)).start().await;
    let base = fake.base_url();
    sandbox.start_run_of("migration", NEED, &base, "size").await;
    drive_to_the_end(&sandbox, "size", &base).await;

    let bodies = fake.request_bodies().await;
    let table: Vec<String> = bodies
        .iter()
        .map(|b| format!("{:>6}  {}", words(b), purpose(b)))
        .collect();
    let total: usize = bodies.iter().map(words).sum();
    if let Some(dir) = std::env::var_os("DUMP_PROMPTS") {
        for (i, b) in bodies.iter().enumerate() {
            let text: String = b["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    format!(
                        "===== {}\n{}\n",
                        m["role"],
                        m["content"].as_str().unwrap_or("")
                    )
                })
                .collect();
            std::fs::write(std::path::Path::new(&dir).join(format!("{i:02}.txt")), text).unwrap();
        }
    }
    // 3 phases, 3 steps, 6 members and a moderator, 1 phase.
    assert_eq!(bodies.len(), 14, "{}", table.join("\n"));
    assert!(
        total < 15_000,
        "the seed run sent {total} words:\n{}",
        table.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steps_prompt_grows_by_one_line_per_step_of_the_plan() {
    let mut sizes = Vec::new();
    for n in [3, 30] {
        let sandbox = Sandbox::new().with_api_key();
        let fake = FakeServer::new().answer("MIG-3", &plan(n)).start().await;
        let base = fake.base_url();
        sandbox
            .start_run_of("migration", NEED, &base, "steps")
            .await;
        // To the first step's draft.
        for _ in 0..12 {
            let status = sandbox.status("steps").await;
            if pending(&status) == "MIG-4.1" {
                break;
            }
            match status["state"].as_str().unwrap_or_default() {
                "awaiting_decision" => sandbox.approve("steps").await,
                "awaiting_evidence" => {
                    sandbox.note("steps", "step 1: copied, exit 0").await;
                    sandbox.resume("steps", &base).await;
                }
                _ => {
                    sandbox.resume("steps", &base).await;
                }
            }
        }
        let bodies = fake.request_bodies().await;
        let step = bodies.last().expect("requests");
        assert!(purpose(step).contains("MIG-4.1"), "{}", purpose(step));
        let user = user_message(step);
        assert!(
            user.contains("group 1 with `pgloader"),
            "the current step is in full: {user}"
        );
        assert!(
            user.contains(&format!("### Step {n}: Move table group {n}"))
                && !user.contains(&format!("group {n} with `pgloader")),
            "another step is there by its heading alone: {user}"
        );
        sizes.push(words(step));
    }
    // 27 more steps: 27 headings (`### Step 30: Move table group 30`,
    // 7 words), nothing more.
    let grew = sizes[1] - sizes[0];
    assert!(
        grew <= 27 * 7,
        "the step's prompt grew by {grew} words for 27 more steps: {sizes:?}"
    );
}
