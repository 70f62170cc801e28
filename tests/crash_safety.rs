//! Nothing is lost: a run survives kill -9 in the middle of a draft, and a
//! full disk refuses a decision cleanly instead of tearing the run. Kills
//! at every write are in `kill_points`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{temp_files_under, FakeServer, Sandbox};
use serde_json::Value;

const NEED: &str = "Move the session store from Redis 6 to Valkey 8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_draft_keeps_the_run_and_resume_redrafts() {
    let sandbox = Sandbox::new();
    let slow = FakeServer::new()
        .delay(Duration::from_secs(30))
        .start()
        .await;
    let base = slow.base_url();
    let mut child = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            &base,
            "--run-id",
            "k",
        ])
        .into_command()
        .spawn()
        .expect("spawn migagent");

    // Wait until the draft request is on the wire, then kill -9.
    let started = Instant::now();
    while slow.chat_requests().await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no request arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let dir = sandbox.run_dir("k");
    let state: Value = serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap())
        .expect("run.json is whole after kill -9");
    assert_eq!(state["run_id"], "k");
    assert_eq!(sandbox.status("k").await["state"], "ready_to_draft");
    assert_eq!(temp_files_under(&dir), Vec::<PathBuf>::new());

    // The lock died with the process; resume drafts MIG-1 against a live server.
    let fast = FakeServer::new().start().await;
    let base = fast.base_url();
    let (code, out, err) = sandbox.resume("k", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(out.contains("drafts/MIG-1.r1.md"), "{out}");
}

/// A tmpfs of a few kilobytes mounted for the test, unmounted on drop.
struct TinyDisk {
    path: PathBuf,
}

impl TinyDisk {
    fn mount(path: &Path, size: &str) -> Option<TinyDisk> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| TinyDisk {
            path: path.to_path_buf(),
        })
    }

    /// Writes a filler file until the disk refuses more.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 4096];
        while f.write_all(&block).and_then(|_| f.sync_all()).is_ok() {}
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Whole lines appended to the journal after `before`, parsed.
fn appended(before: &[u8], now: &[u8]) -> Vec<Value> {
    assert!(
        now.starts_with(before),
        "the journal is only ever appended to"
    );
    String::from_utf8_lossy(&now[before.len()..])
        .lines()
        .map(|l| serde_json::from_str(l).expect("whole journal lines"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_the_approval_and_loses_nothing() {
    let sandbox = Sandbox::new();
    let Some(disk) = TinyDisk::mount(&sandbox.state_dir(), "1m") else {
        // Mounting needs root, as on CI and the project's machines.
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root)");
        return;
    };
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let (code, _, err) = sandbox.start_run(NEED, &base, "full").await;
    assert_eq!(code, 10, "{err}");

    let dir = sandbox.run_dir("full");
    let state_before = std::fs::read(dir.join("run.json")).unwrap();
    let journal_before = std::fs::read(dir.join("journal.jsonl")).unwrap();
    let filler = disk.fill();

    // The journal is written first. It may still take the two lines (its
    // last page has room), and the copy to artifacts/ then fails: the
    // decision is made, and the next command finishes it. Or the journal
    // write fails and is cut back off: nothing is decided. Never half.
    let (code, out, err) = sandbox.cmd(&["approve", "full"]).run().await;
    assert_eq!(code, 1, "approval on a full disk must fail: {out}{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(std::fs::read(dir.join("run.json")).unwrap(), state_before);
    assert_eq!(temp_files_under(&dir), Vec::<PathBuf>::new());
    assert!(!dir.join("artifacts/MIG-1.md").exists());
    let added = appended(
        &journal_before,
        &std::fs::read(dir.join("journal.jsonl")).unwrap(),
    );
    let recorded = !added.is_empty();
    if recorded {
        let names: Vec<&str> = added.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(names, ["decided", "approved"]);
        assert!(err.contains("is recorded in the journal"), "{err}");
        // `status` reads the journal: approved, not awaiting.
        assert_eq!(sandbox.status("full").await["state"], "ready_to_draft");
    } else {
        assert_eq!(sandbox.status("full").await["state"], "awaiting_decision");
    }

    // With space again, the run stands on exactly one approval.
    std::fs::remove_file(filler).unwrap();
    let (code, out, err) = sandbox.cmd(&["approve", "full"]).run().await;
    if recorded {
        assert_eq!(code, 1, "nothing is left to approve: {out}{err}");
        assert!(err.contains("no draft awaiting a decision"), "{err}");
    } else {
        assert_eq!(code, 0, "{err}");
    }
    assert!(dir.join("artifacts/MIG-1.md").is_file());
    assert_eq!(sandbox.status("full").await["state"], "ready_to_draft");
    let approvals = sandbox
        .journal("full")
        .into_iter()
        .filter(|e| e["event"] == "approved")
        .count();
    assert_eq!(approvals, 1);
    assert_eq!(temp_files_under(&dir), Vec::<PathBuf>::new());
    drop(disk);
}
