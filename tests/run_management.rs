//! Finding and removing runs: runs found from any subfolder (the nearest
//! `.migagent` upward, as git finds `.git`); `abort` on a run with no draft
//! at a gate; `rm` and `prune`, which never remove an approved run without
//! `--yes` nor a run in use, and never leave half a run behind.

use std::path::Path;

use crate::support::{FakeServer, Sandbox};
use serde_json::Value;

/// A two-phase workflow, different from the other modules' fixtures: a
/// gated inventory, then a gated schedule.
const WORKFLOW: &str = "\
# Workflow: Retire

Retire an old service.

## Phases

1. **Inventory** → `[RET-1]` — **GATE**
2. **Schedule** → `[RET-2]` — **GATE**

---

## Phase 1: Inventory

### Input

- Service to retire (name and owner)

### Process

List what still calls the service.

### Output

**Artifact `[RET-1]: Inventory`**

```
## Callers
- <caller>
```

### GATE

**Approval criteria:** Every caller is named.

- **Approved** → proceed to Phase 2
- **Revise** → re-present `[RET-1]`

---

## Phase 2: Schedule

### Input

- `[RET-1]`: Inventory

### Process

Schedule the shutdown.

### Output

**Artifact `[RET-2]: Schedule`**

```
## Dates
- <date>
```

### GATE

**Approval criteria:** Every caller has moved before the shutdown.

- **Approved** → done
- **Revise** → re-present `[RET-2]`
";

fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write("retire.md", WORKFLOW);
    sandbox
}

async fn start(sandbox: &Sandbox, fake: &FakeServer, id: &str) {
    sandbox
        .start_run_of("retire.md", "Retire the fax gateway", &fake.base_url(), id)
        .await;
}

/// Sets run `id`'s `updated_at` (and `created_at`) in run.json to
/// `days` days ago: what `prune` reads. run.json is a cache of the
/// journal, and these fields are not part of what `verify` checks.
fn age_run(sandbox: &Sandbox, id: &str, days: i64) {
    let path = sandbox.run_dir(id).join("run.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(days);
    let stamp = then
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    state["updated_at"] = Value::from(stamp.clone());
    state["created_at"] = Value::from(stamp);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
}

fn run_ids(list_json: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(list_json).unwrap();
    let mut ids: Vec<String> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_found_from_a_subfolder() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "fax").await;
    let deep = sandbox.path().join("src/gateway/old");
    std::fs::create_dir_all(&deep).unwrap();
    let (code, out, err) = sandbox
        .cmd(&["list", "--json"])
        .current_dir(&deep)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(run_ids(&out), ["fax"]);
    let (code, out, err) = sandbox
        .cmd(&["status", "fax"])
        .current_dir(&deep)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Awaiting a decision: [RET-1]"), "{out}");
    // Decisions work from there too, on the same run.
    let (code, out, err) = sandbox
        .cmd(&["approve", "fax"])
        .current_dir(&deep)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(sandbox.run_dir("fax").join("artifacts/RET-1.md").is_file());
    // No nested .migagent was made.
    assert!(!deep.join(".migagent").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_a_run_with_no_draft_at_a_gate() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "half").await;
    // RET-1 approved: the run waits to draft RET-2, with nothing to decide,
    // as a run a dead server left would.
    sandbox.approve("half").await;
    let (code, out, err) = sandbox
        .cmd(&["abort", "half", "--reason", "the gateway was sold"])
        .run()
        .await;
    assert_eq!(code, 11, "{out}{err}");
    assert!(out.contains("Run half aborted."), "{out}");
    let journal = sandbox.journal("half");
    let aborted: Vec<&Value> = journal.iter().filter(|e| e["event"] == "aborted").collect();
    assert_eq!(aborted.len(), 1, "{journal:?}");
    assert_eq!(aborted[0]["reason"], "the gateway was sold");
    assert_eq!(aborted[0]["by"], "tester");
    assert_eq!(sandbox.status("half").await["state"], "aborted");
    // A finished run is not aborted twice.
    let (code, _, err) = sandbox
        .cmd(&["abort", "half", "--reason", "again"])
        .run()
        .await;
    assert_eq!(code, 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rm_keeps_an_approved_run_without_yes_and_never_a_run_in_use() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "done").await;
    sandbox.approve("done").await;
    start(&sandbox, &fake, "scratch").await;

    let (code, out, err) = sandbox.cmd(&["rm", "done"]).run().await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("has approved artifacts (RET-1)"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert!(sandbox.run_dir("done").join("run.json").is_file());

    let (code, out, err) = sandbox.cmd(&["rm", "done", "--yes", "--json"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["run_id"], "done");
    assert_eq!(doc["approved"], serde_json::json!(["RET-1"]));
    assert!(Path::new(doc["path"].as_str().unwrap()).is_absolute());
    assert!(!sandbox.run_dir("done").exists());

    // A run with nothing approved goes without --yes; nothing is left in
    // runs/, not even a hidden trash folder.
    let (code, out, err) = sandbox.cmd(&["rm", "scratch"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Removed run scratch"), "{out}");
    let left: Vec<_> = std::fs::read_dir(sandbox.state_dir().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let (code, _, err) = sandbox.cmd(&["rm", "scratch"]).run().await;
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");

    // A run in use (its lock held, here by a slow draft) is not removed.
    let slow = FakeServer::new()
        .delay(std::time::Duration::from_secs(600))
        .start()
        .await;
    start(&sandbox, &fake, "busy").await;
    let (code, _, err) = sandbox
        .cmd(&["revise", "busy", "--feedback", "more callers"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    let mut drafting = sandbox
        .cmd(&[
            "resume",
            "busy",
            "--no-input",
            "--base-url",
            &slow.base_url(),
        ])
        .into_command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the draft request reaches the server: the lock is held.
    for _ in 0..600 {
        if !slow.chat_requests().await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!slow.chat_requests().await.is_empty(), "resume never asked");
    let (code, _, err) = sandbox.cmd(&["rm", "busy", "--yes"]).run().await;
    drafting.kill().unwrap();
    drafting.wait().unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("in use"), "{err}");
    assert!(sandbox.run_dir("busy").join("run.json").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rm_refuses_a_run_folder_that_is_a_link_out_of_the_state_folder() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "real").await;
    // Someone links a run id to a folder elsewhere.
    let outside = sandbox.path().join("elsewhere");
    std::fs::rename(sandbox.run_dir("real"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.run_dir("linked")).unwrap();
    let (code, _, err) = sandbox.cmd(&["rm", "linked", "--yes"]).run().await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a run folder"), "{err}");
    assert!(outside.join("run.json").is_file());
    assert!(sandbox.run_dir("linked").is_symlink());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_runs_older_than_the_age_and_lists_them() {
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    for id in ["old-open", "old-approved", "recent"] {
        start(&sandbox, &fake, id).await;
    }
    sandbox.approve("old-approved").await;
    age_run(&sandbox, "old-open", 40);
    age_run(&sandbox, "old-approved", 45);
    age_run(&sandbox, "recent", 3);

    // A dry run removes nothing and says what it would remove.
    let (code, out, err) = sandbox
        .cmd(&["prune", "--older-than", "30d", "--dry-run"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Would remove old-open"), "{out}");
    assert!(out.contains("Kept old-approved"), "{out}");
    assert!(!out.contains("recent"), "{out}");
    for id in ["old-open", "old-approved", "recent"] {
        assert!(sandbox.run_dir(id).join("run.json").is_file(), "{id}");
    }

    let (code, out, err) = sandbox
        .cmd(&["prune", "--older-than", "30d", "--json"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["older_than_secs"], 30 * 86_400);
    let removed: Vec<&str> = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["old-open"]);
    assert_eq!(doc["kept"][0]["run_id"], "old-approved");
    assert!(doc["kept"][0]["reason"].as_str().unwrap().contains("--yes"));
    assert!(!sandbox.run_dir("old-open").exists());

    // 2w keeps the 3-day-old run; --yes takes the approved one too.
    let (code, out, err) = sandbox
        .cmd(&["prune", "--older-than", "2w", "--yes"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Removed old-approved"), "{out}");
    assert!(!sandbox.run_dir("old-approved").exists());
    let (_, out, _) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(run_ids(&out), ["recent"]);

    let (code, _, err) = sandbox
        .cmd(&["prune", "--older-than", "30 days"])
        .run()
        .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("12h, 30d, 2w"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_rm_leaves_the_whole_run_or_none_of_it() {
    let strace = std::process::Command::new("strace").arg("-V").output();
    if !strace.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: strace is not installed; it injects the kills (apt-get install strace)"
        );
        return;
    }
    let fake = FakeServer::new().start().await;
    let sandbox = sandbox();
    start(&sandbox, &fake, "cut").await;
    let run_dir = sandbox.run_dir("cut");
    let files_before = crate::support::files_under(&run_dir).len();
    assert!(files_before > 3, "{files_before}");

    // Killed at the rename: the run is whole, and still listed.
    let (code, _, _) = sandbox
        .cmd_under(
            &[
                "strace",
                "-o",
                "/dev/null",
                "-e",
                "inject=rename,renameat,renameat2:signal=KILL:when=1",
            ],
            &["rm", "cut"],
        )
        .run()
        .await;
    assert_ne!(code, 0);
    assert_eq!(crate::support::files_under(&run_dir).len(), files_before);
    let (_, out, _) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(run_ids(&out), ["cut"]);

    // Killed while deleting its files: the run is gone from `list` and
    // `status` at once, and what is left is a hidden folder the next
    // removal sweeps away.
    let (code, _, _) = sandbox
        .cmd_under(
            &[
                "strace",
                "-o",
                "/dev/null",
                "-e",
                "inject=unlinkat:signal=KILL:when=2",
            ],
            &["rm", "cut"],
        )
        .run()
        .await;
    assert_ne!(code, 0);
    let runs = sandbox.state_dir().join("runs");
    let left: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".cut.removing-"), "{left:?}");
    let (_, out, err) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(run_ids(&out), Vec::<String>::new(), "{err}");
    let (code, _, err) = sandbox.cmd(&["status", "cut"]).run().await;
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");

    start(&sandbox, &fake, "next").await;
    let (code, out, err) = sandbox.cmd(&["rm", "next"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let left: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}
