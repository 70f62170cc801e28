//! Kill at every write. Each of `run`, `revise`, `resume`, `edit`,
//! `approve` (and the `resume` that accepts the last phase and completes
//! the run) is killed with SIGKILL at each write it makes to the run's
//! files, and at each rename, by `strace -e inject=SYSCALL:signal=KILL:when=N`.
//! After each kill the run is driven to its end as a person would (`run`
//! again when no run exists, `resume` when a draft is due, `approve` when
//! one awaits a decision), against the fake server. Then:
//!
//! - every gate is decided exactly once, and no draft revision is decided
//!   twice;
//! - no draft file was overwritten: every `drafted` and `edited` line names
//!   a revision once, and its file still has the sha256 journalled;
//! - the approved copies in `artifacts/` are what the journal approved;
//! - the journal is whole and chained, the run complete, no temporary file
//!   or half-started run is left, and `migagent verify`
//!   passes.
//!
//! The points to kill at are found by a dry run of the command under
//! `strace -y` (file paths shown), main thread only (no `-f`): every file
//! write and rename happens there, and strace counts `when=N` per thread.
//! Skipped, with the reason printed, where `strace` is missing.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use migagent::store::journal::read_journal;
use migagent::store::sha256_hex;
use serde_json::Value;

use crate::support::{files_under, temp_files_under, FakeServer, Sandbox};

const FIXTURE: &str = include_str!("fixtures/kill_points/cutover.md");
const WORKFLOW: &str = "cutover.md";
const RUN: &str = "k";
const EDITED: &str = "## Touches\n- the session store\n- its replica, added by hand\n";

/// The walk every sweep follows: each command and the exit code it ends
/// with when nothing kills it.
fn walk(base: &str) -> Vec<(Vec<String>, i32)> {
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let resume = strings(&["resume", RUN, "--no-input", "--base-url", base]);
    vec![
        (
            strings(&[
                "run",
                WORKFLOW,
                "--no-input",
                "--need",
                "Move the sessions to Valkey",
                "--base-url",
                base,
                "--run-id",
                RUN,
            ]),
            10,
        ),
        (
            strings(&["revise", RUN, "--feedback", "Name the replica too"]),
            0,
        ),
        (resume.clone(), 10),
        (strings(&["edit", RUN, "--file", "edited.md"]), 0),
        (strings(&["approve", RUN]), 0),
        (resume.clone(), 10),
        (strings(&["approve", RUN]), 0),
        (resume, 0),
    ]
}

fn strace_missing() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .map_or(true, |o| !o.status.success())
}

/// Copies the tree at `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    for file in files_under(from) {
        let dest = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, &dest).unwrap();
    }
}

/// Puts the state folder back as it was before the command under test.
fn restore(sandbox: &Sandbox, template: &Path) {
    let state = sandbox.state_dir();
    if state.exists() {
        std::fs::remove_dir_all(&state).unwrap();
    }
    if template.exists() {
        copy_tree(template, &state);
    }
}

const WRITES: &str = "write";
const RENAMES: &str = "rename,renameat,renameat2";

/// The N (1-based, counted per syscall on the main thread) at which
/// `args` writes to a file of the state folder, or renames: found by a
/// dry run under `strace -y`.
async fn points(sandbox: &Sandbox, args: &[String], set: &'static str) -> Vec<usize> {
    let log = sandbox.path().join("strace.log");
    let trace = format!("trace={set}");
    let wrapper = [
        "strace",
        "-qq",
        "-y",
        "-o",
        log.to_str().unwrap(),
        "-e",
        &trace,
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.cmd_under(&wrapper, &args).run().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let state = sandbox.state_dir();
    let state = state.to_str().unwrap();
    let names: Vec<String> = set.split(',').map(|s| format!("{s}(")).collect();
    text.lines()
        .filter(|l| names.iter().any(|n| l.starts_with(n.as_str())))
        .enumerate()
        .filter(|(_, l)| set == RENAMES || l.contains(state))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Runs `args` killed at its `n`-th syscall of `set`; whether it was.
async fn killed_at(sandbox: &Sandbox, args: &[String], set: &str, n: usize) -> bool {
    let trace = format!("trace={set}");
    let inject = format!("inject={set}:signal=KILL:when={n}");
    let wrapper = [
        "strace",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        &trace,
        "-e",
        &inject,
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cmd = sandbox.cmd_under(&wrapper, &args);
    let out = tokio::task::spawn_blocking(move || cmd.output_blocking())
        .await
        .unwrap();
    out.status.signal() == Some(9)
}

/// Drives the run to its end as a person would after a kill: `run` again
/// when no run exists, else `resume`, approving each draft it stops at.
async fn finish(sandbox: &Sandbox, start: &[String], base: &str, what: &str) {
    for _ in 0..12 {
        if !sandbox.run_dir(RUN).join("run.json").is_file() {
            // Killed before the run existed: its id is free again.
            let args: Vec<&str> = start.iter().map(String::as_str).collect();
            let (code, out, err) = sandbox.cmd(&args).run().await;
            assert_eq!(code, 10, "{what}: run again\n{out}{err}");
        }
        let (code, out, err) = sandbox.resume(RUN, base).await;
        match code {
            0 => return,
            10 => {
                let (code, out, err) = sandbox.cmd(&["approve", RUN]).run().await;
                assert_eq!(code, 0, "{what}: approve\n{out}{err}");
            }
            _ => panic!("{what}: resume\n{out}{err}"),
        }
    }
    panic!("{what}: the run did not reach its end");
}

fn events<'a>(journal: &'a [Value], event: &str, artifact: &str) -> Vec<&'a Value> {
    journal
        .iter()
        .filter(|e| e["event"] == event && (artifact.is_empty() || e["artifact"] == artifact))
        .collect()
}

/// Every check of the module's comment, on the finished run.
async fn check(sandbox: &Sandbox, what: &str) {
    let dir = sandbox.run_dir(RUN);
    let read = read_journal(&dir.join("journal.jsonl")).unwrap();
    assert!(read.torn.is_none(), "{what}: torn journal end left");
    assert!(read.broken_links().is_empty(), "{what}: chain broken");
    assert_eq!(read.unchained, 0, "{what}");
    let journal: Vec<Value> = read.events().cloned().collect();
    let names = || {
        journal
            .iter()
            .map(|e| format!("{} {}", e["event"], e["artifact"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        events(&journal, "run_started", "").len(),
        1,
        "{what}: {:?}",
        names()
    );
    assert_eq!(
        events(&journal, "completed", "").len(),
        1,
        "{what}: {:?}",
        names()
    );

    // Each gate decided exactly once; no revision decided twice.
    for id in ["CUT-1", "CUT-2"] {
        assert_eq!(
            events(&journal, "approved", id).len(),
            1,
            "{what}: {id}: {:?}",
            names()
        );
        let proceed = events(&journal, "decided", id)
            .into_iter()
            .filter(|e| e["action"] == "proceed")
            .count();
        assert_eq!(proceed, 1, "{what}: {id}: {:?}", names());
    }
    assert_eq!(
        events(&journal, "accepted", "CUT-3").len(),
        1,
        "{what}: {:?}",
        names()
    );
    let mut decided: Vec<(String, u64)> = events(&journal, "decided", "")
        .iter()
        .map(|e| (e["artifact"].to_string(), e["revision"].as_u64().unwrap()))
        .collect();
    let all = decided.len();
    decided.sort();
    decided.dedup();
    assert_eq!(decided.len(), all, "{what}: a revision decided twice");

    // No draft overwritten: one line per revision, its file unchanged.
    let mut drafts: Vec<(String, u64)> = Vec::new();
    for e in journal
        .iter()
        .filter(|e| e["event"] == "drafted" || e["event"] == "edited")
    {
        drafts.push((e["artifact"].to_string(), e["revision"].as_u64().unwrap()));
        let path = dir.join(e["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{what}: {path:?}: {err}"));
        assert_eq!(
            sha256_hex(&bytes),
            e["sha256"],
            "{what}: {path:?} was overwritten"
        );
    }
    let all = drafts.len();
    drafts.sort();
    drafts.dedup();
    assert_eq!(
        drafts.len(),
        all,
        "{what}: two drafts journalled under one revision"
    );

    // artifacts/ holds what the journal approved or accepted.
    for e in journal
        .iter()
        .filter(|e| e["event"] == "approved" || e["event"] == "accepted")
    {
        let id = e["artifact"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(format!("artifacts/{id}.md"))).unwrap();
        assert_eq!(sha256_hex(&bytes), e["sha256"], "{what}: artifacts/{id}.md");
    }

    assert_eq!(sandbox.status(RUN).await["state"], "complete", "{what}");
    assert_eq!(
        temp_files_under(&dir),
        Vec::<std::path::PathBuf>::new(),
        "{what}"
    );
    let starting: Vec<_> = std::fs::read_dir(sandbox.state_dir().join("runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".starting-"))
        .collect();
    assert!(starting.is_empty(), "{what}: a half-started run is left");
    let (code, out, err) = sandbox.cmd(&["verify", RUN]).run().await;
    assert_eq!(code, 0, "{what}: verify\n{out}{err}");
}

/// Kills step `target` of the walk at each of its writes and renames, and
/// checks each run it leaves; returns how many kills there were.
async fn sweep(fake: &FakeServer, target: usize) -> usize {
    let base = fake.base_url();
    let steps = walk(&base);
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write(WORKFLOW, FIXTURE);
    sandbox.write("edited.md", EDITED);
    for (args, expected) in &steps[..target] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = sandbox.cmd(&args).run().await;
        assert_eq!(code, *expected, "{args:?}\n{out}{err}");
    }
    let template = sandbox.path().join("template");
    if sandbox.state_dir().exists() {
        copy_tree(&sandbox.state_dir(), &template);
    }
    let args = &steps[target].0;
    let mut kills = 0;
    for set in [WRITES, RENAMES] {
        restore(&sandbox, &template);
        let points = points(&sandbox, args, set).await;
        assert!(!points.is_empty(), "{args:?} makes no {set} to find");
        for n in points {
            restore(&sandbox, &template);
            let what = format!("`{}` killed at {set} #{n}", args.join(" "));
            if killed_at(&sandbox, args, set, n).await {
                kills += 1;
            }
            finish(&sandbox, &steps[0].0, &base, &what).await;
            check(&sandbox, &what).await;
        }
    }
    kills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_write_leaves_every_gate_decided_exactly_once() {
    if strace_missing() {
        eprintln!(
            "SKIPPED: strace is not installed; it injects the kills (apt-get install strace)"
        );
        return;
    }
    let fake = FakeServer::new().start().await;
    let started = std::time::Instant::now();
    // run, revise, resume (a redraft), edit, approve, and the resume that
    // accepts the last phase and completes the run: each in its own
    // sandbox, side by side (they wait on fsync and each other's CPU).
    let targets = [0, 1, 2, 3, 4, 7];
    let kills = futures_util::future::join_all(targets.map(|t| sweep(&fake, t))).await;
    for (target, k) in targets.iter().zip(&kills) {
        assert!(*k > 0, "step {target}: no kill landed");
    }
    eprintln!(
        "{} kills ({kills:?}), each run finished and checked, in {:?}",
        kills.iter().sum::<usize>(),
        started.elapsed()
    );
}
