//! Who decides, and what a decision command says: the approver's name
//! resolved the way git finds an author (`--as`, `MIGAGENT_APPROVER`, the
//! config's `approver`, `git config user.name`, `USER`/`LOGNAME`, the
//! uid's account name); `approve` printing and journalling the structure
//! check of a flawed draft; `--json` on `approve`, `revise`, `decide`,
//! `edit` and `abort`.

use crate::support::{FakeServer, Sandbox};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/kill_points/cutover.md");
const WORKFLOW: &str = "cutover.md";

/// Starts run `id` of the cutover workflow; CUT-1 awaits a decision.
async fn start(sandbox: &Sandbox, fake: &FakeServer, id: &str) {
    sandbox
        .start_run_of(WORKFLOW, "Move the queue to NATS", &fake.base_url(), id)
        .await;
}

fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write(WORKFLOW, FIXTURE);
    sandbox
}

/// The approver the journal of run `id` records for CUT-1.
fn approver(sandbox: &Sandbox, id: &str) -> String {
    let journal = sandbox.journal(id);
    let approved: Vec<&Value> = journal
        .iter()
        .filter(|e| e["event"] == "approved")
        .collect();
    assert_eq!(approved.len(), 1, "{journal:?}");
    approved[0]["approver"].as_str().unwrap().to_string()
}

/// A home folder with no git config, or with `user.name` set to `git_name`.
fn home(sandbox: &Sandbox, git_name: Option<&str>) -> std::path::PathBuf {
    let home = sandbox.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let gitconfig = home.join(".gitconfig");
    match git_name {
        Some(name) => std::fs::write(&gitconfig, format!("[user]\n\tname = {name}\n")).unwrap(),
        None => {
            let _ = std::fs::remove_file(&gitconfig);
        }
    }
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_user_an_approval_names_the_account_of_the_uid() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "no-user").await;
    let home = home(&sandbox, None);
    let (code, out, err) = sandbox
        .cmd(&["approve", "no-user"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .env_remove("GIT_CONFIG_GLOBAL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let account = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .expect("this test's uid has an account")
        .name;
    assert_eq!(approver(&sandbox, "no-user"), account);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_of_naming_the_approver_wins_over_the_ones_after_it() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    let home = home(&sandbox, Some("Gita Git"));
    // (run, --as, MIGAGENT_APPROVER, config approver, expected)
    let cases = [
        (
            "flag",
            Some("Fay Flag"),
            Some("Eve Env"),
            Some("Cleo Config"),
            "Fay Flag",
        ),
        ("env", None, Some("Eve Env"), Some("Cleo Config"), "Eve Env"),
        ("config", None, None, Some("Cleo Config"), "Cleo Config"),
        ("git", None, None, None, "Gita Git"),
    ];
    for (id, flag, env, config, expected) in cases {
        start(&sandbox, &fake, id).await;
        match config {
            Some(name) => sandbox.write_config(&format!("approver = \"{name}\"\n")),
            None => sandbox.write_config(""),
        };
        let mut args = vec!["approve", id];
        if let Some(name) = flag {
            args.extend(["--as", name]);
        }
        let mut cmd = sandbox
            .cmd(&args)
            .env_remove("GIT_CONFIG_GLOBAL")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"));
        if let Some(name) = env {
            cmd = cmd.env("MIGAGENT_APPROVER", name);
        }
        let (code, out, err) = cmd.run().await;
        assert_eq!(code, 0, "{id}: {out}{err}");
        assert_eq!(approver(&sandbox, id), expected, "{id}");
    }
    // Without git's name, USER (the sandbox's "tester") comes next.
    start(&sandbox, &fake, "user").await;
    sandbox.write_config("");
    sandbox.approve("user").await;
    assert_eq!(approver(&sandbox, "user"), "tester");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_draft_that_lacks_a_section_says_so_and_journals_it() {
    // The model never writes the template's "## Touches" section, not even
    // when asked to repair the draft.
    let fake = FakeServer::new()
        .answer("CUT-1", "## Scope\n- the message queue\n")
        .start()
        .await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "flawed").await;
    let (code, out, err) = sandbox.cmd(&["approve", "flawed"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Structure check: the draft lacks these template sections:"),
        "{out}"
    );
    assert!(out.contains("  - ## Touches"), "{out}");
    assert!(out.contains("approved with these problems"), "{out}");
    // The check comes before the line that says it was approved.
    let check_at = out.find("Structure check").unwrap();
    let approved_at = out.find("approved CUT-1").expect(&out);
    assert!(check_at < approved_at, "{out}");
    let journal = sandbox.journal("flawed");
    let decided: Vec<&Value> = journal.iter().filter(|e| e["event"] == "decided").collect();
    assert_eq!(decided.len(), 1);
    assert_eq!(
        decided[0]["problems"],
        serde_json::json!(["missing section: ## Touches"])
    );

    // `status` keeps saying it.
    let (code, out, err) = sandbox.cmd(&["status", "flawed"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("approved with: missing section: ## Touches"),
        "{out}"
    );
    let status = sandbox.status("flawed").await;
    assert_eq!(
        status["artifacts"][0]["approved_with_problems"],
        serde_json::json!(["missing section: ## Touches"])
    );

    // A clean draft: nothing extra is said, and no problems are journalled.
    let fake = FakeServer::new().start().await;
    start(&sandbox, &fake, "clean").await;
    let (code, out, err) = sandbox.cmd(&["approve", "clean"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("check"), "{out}");
    assert!(!out.contains("problems"), "{out}");
    let journal = sandbox.journal("clean");
    let decided = journal.iter().find(|e| e["event"] == "decided").unwrap();
    assert!(decided.get("problems").is_none(), "{decided}");
}

/// `ARGS --json` in the sandbox, exit code `want`, parsed; checks the
/// fields every decision document has.
async fn decision_json(sandbox: &Sandbox, args: &[&str], want: i32) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = sandbox.cmd(&all).run().await;
    assert_eq!(code, want, "{args:?}: {out}{err}");
    let doc: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}): {out}"));
    assert_eq!(
        doc.as_object().unwrap().keys().next().unwrap(),
        "schema_version"
    );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["run_id"], args[1]);
    assert!(doc["at"].as_str().is_some_and(|a| a.contains('T')), "{doc}");
    let run_dir = doc["run_dir"].as_str().unwrap();
    assert!(std::path::Path::new(run_dir).is_absolute(), "{doc}");
    assert!(doc["problems"].is_array(), "{doc}");
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_command_prints_what_was_decided_as_json() {
    let fake = FakeServer::new()
        .answer("CUT-2", "## Steps\n- drain the queue\n")
        .start()
        .await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "j").await;

    let doc = decision_json(
        &sandbox,
        &["revise", "j", "--feedback", "Name the topics"],
        0,
    )
    .await;
    assert_eq!(doc["decision"], "revise");
    assert_eq!(doc["option"], "Revise");
    assert_eq!(doc["artifact"], "CUT-1");
    assert_eq!(doc["revision"], 1);
    assert_eq!(doc["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(doc["by"], "tester");
    assert_eq!(doc["state"], "ready_to_draft");
    assert_eq!(doc["next"], "migagent resume j");
    let (code, _, err) = sandbox.resume("j", &fake.base_url()).await;
    assert_eq!(code, 10, "{err}");

    let edited = sandbox.write("edited.md", "## Touches\n- the queue\n- the consumers\n");
    let doc = decision_json(
        &sandbox,
        &[
            "edit",
            "j",
            "--file",
            edited.to_str().unwrap(),
            "--as",
            "Ed",
        ],
        0,
    )
    .await;
    assert_eq!(doc["decision"], "edit");
    assert_eq!(doc["option"], Value::Null);
    assert_eq!(doc["revision"], 2);
    assert_eq!(doc["edited"]["revision"], 3);
    assert_eq!(doc["by"], "Ed");
    assert_eq!(doc["state"], "awaiting_decision");
    assert_eq!(doc["next"], "migagent status j");

    let doc = decision_json(
        &sandbox,
        &["decide", "j", "--option", "Approved", "--note", "fine"],
        0,
    )
    .await;
    assert_eq!(doc["decision"], "approve");
    assert_eq!(doc["option"], "Approved");
    assert_eq!(doc["revision"], 3);
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(doc["state"], "ready_to_draft");
    let (code, _, err) = sandbox.resume("j", &fake.base_url()).await;
    assert_eq!(code, 10, "{err}");

    // CUT-2 lacks its "## Plan" section: the approval lists it, and the
    // check goes to stderr so that stdout stays one JSON document.
    let (code, out, err) = sandbox
        .cmd(&["approve", "j", "--json", "--as", "Ann"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["decision"], "approve");
    assert_eq!(doc["artifact"], "CUT-2");
    assert_eq!(doc["by"], "Ann");
    assert_eq!(
        doc["problems"],
        serde_json::json!(["missing section: ## Plan"])
    );
    assert!(err.contains("  - ## Plan"), "{err}");

    start(&sandbox, &fake, "k").await;
    let doc = decision_json(&sandbox, &["abort", "k", "--reason", "wrong queue"], 11).await;
    assert_eq!(doc["decision"], "abort");
    assert_eq!(doc["artifact"], "CUT-1");
    assert_eq!(doc["state"], "aborted");
    assert_eq!(doc["next"], Value::Null);
}
