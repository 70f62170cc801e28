//! A closed stdout (`migagent ... | head -1`) ends every command quietly:
//! the status a shell gives a process killed by SIGPIPE (141), never a
//! panic (101) and never a message about the pipe.

use crate::support::{FakeServer, Sandbox};

/// What a command did with a reader that is gone: 141 when it printed, and
/// never a panic.
fn assert_quiet(sandbox: &Sandbox, args: &[&str]) -> i32 {
    let (code, err) = sandbox.cmd(args).run_closed_stdout_blocking();
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe") && code != 101,
        "{args:?} with a closed stdout: exit {code}\n{err}"
    );
    code
}

/// Commands that print to stdout: with its reader gone, each ends with 141.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_printing_command_ends_quietly_on_a_closed_pipe() {
    let fake = FakeServer::new().start().await;
    let sandbox = Sandbox::new();
    let (code, _, err) = sandbox
        .start_run("Upgrade PostgreSQL 12 to 16", &fake.base_url(), "p")
        .await;
    assert_eq!(code, 10, "{err}");
    let sandbox_ref = &sandbox;
    let base = fake.base_url();
    let printing: Vec<Vec<&str>> = vec![
        vec!["workflows", "list"],
        vec!["workflows", "show", "migration"],
        vec!["workflows", "validate", "migration"],
        vec!["workflows", "schema", "migration"],
        vec!["status", "p"],
        vec!["status", "p", "--json"],
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "p", "MIG-1", "--draft"],
        vec!["verify", "p"],
        vec!["verify", "p", "--json"],
        vec!["doctor", "--base-url", &base],
        vec!["doctor", "--base-url", &base, "--json"],
        vec!["workflows", "show", "migration", "--json"],
        vec!["workflows", "validate", "migration", "--json"],
        vec!["log", "p"],
        vec!["log", "p", "--json"],
        vec!["report", "p"],
        vec!["report", "p", "--format", "html"],
        vec!["report", "p", "--format", "json"],
        vec!["prune", "--older-than", "30d", "--dry-run"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["man"],
    ];
    for args in &printing {
        // Each prints to stdout when its reader is there...
        let (code, out, err) = sandbox_ref.cmd(args).run().await;
        assert!(
            !out.is_empty(),
            "{args:?} prints nothing (exit {code}), so it proves nothing here: {err}"
        );
        // ...and ends with 141 when it is not.
        assert_eq!(
            assert_quiet(sandbox_ref, args),
            141,
            "{args:?} with a closed stdout"
        );
    }
}

/// clap prints help itself and ignores a closed pipe: quiet, status 0.
#[test]
fn help_ends_quietly_on_a_closed_pipe() {
    let sandbox = Sandbox::new();
    for args in [&["--help"][..], &["status", "--help"], &["--version"]] {
        assert_eq!(assert_quiet(&sandbox, args), 0, "{args:?}");
    }
}

/// Commands that change a run print after the change is recorded; a closed
/// stdout ends them quietly and the run is consistent after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_drafts_with_a_closed_pipe_leave_the_run_consistent() {
    let fake = FakeServer::new().start().await;
    let sandbox = Sandbox::new();
    let base = fake.base_url();
    assert_quiet(
        &sandbox,
        &[
            "run",
            "--no-input",
            "--need",
            "Move the queue to a new cluster",
            "--base-url",
            &base,
            "--run-id",
            "q",
        ],
    );
    let status = sandbox.status("q").await;
    assert_eq!(status["pending"]["artifact"], "MIG-1", "{status:#}");
    assert_quiet(&sandbox, &["approve", "q", "--as", "ana"]);
    let status = sandbox.status("q").await;
    assert_eq!(status["artifacts"][0]["state"], "approved", "{status:#}");
    assert_quiet(
        &sandbox,
        &["resume", "q", "--no-input", "--base-url", &base],
    );
    // Whether that draft was made before the first line was printed or
    // not, the run goes on from where it stands.
    let (code, _, err) = sandbox.resume("q", &base).await;
    assert_eq!(code, 10, "{err}");
    assert_quiet(
        &sandbox,
        &["revise", "q", "--as", "ana", "--feedback", "Name the owner"],
    );
    let (code, _, err) = sandbox.resume("q", &base).await;
    assert_eq!(code, 10, "{err}");
    assert_quiet(&sandbox, &["abort", "q", "--as", "ana", "--reason", "done"]);
    let (code, _, err) = sandbox.cmd(&["verify", "q"]).run().await;
    assert_eq!(code, 0, "the run is whole after every closed pipe: {err}");
    let decisions = sandbox
        .journal("q")
        .iter()
        .filter(|e| e["event"] == "decided" || e["event"] == "aborted")
        .count();
    let events: Vec<String> = sandbox
        .journal("q")
        .iter()
        .map(|e| e["event"].to_string())
        .collect();
    assert_eq!(decisions, 3, "each decision recorded once: {events:#?}");
    assert_eq!(status_state(&sandbox).await, "aborted");
    // Removing it with a closed stdout removes it whole.
    assert_quiet(&sandbox, &["rm", "q", "--yes"]);
    let (code, out, err) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("\"q\""), "{out}");
    assert!(!sandbox.run_dir("q").exists());
}

async fn status_state(sandbox: &Sandbox) -> String {
    sandbox.status("q").await["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
