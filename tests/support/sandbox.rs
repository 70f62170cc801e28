//! An isolated place to run the binary, and helpers to look at what it left.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// An isolated place to run the binary: its own cwd, state folder and
/// config folder, and a clean environment for the model settings.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".migagent")
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.state_dir().join("runs").join(run_id)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// `migagent run --no-input` on `need` against `base_url`, as `run_id`.
    pub async fn start_run(
        &self,
        need: &str,
        base_url: &str,
        run_id: &str,
    ) -> (i32, String, String) {
        let mut cmd = self.cmd();
        cmd.args([
            "run",
            "--no-input",
            "--need",
            need,
            "--base-url",
            base_url,
            "--run-id",
            run_id,
        ]);
        run(cmd).await
    }

    /// `migagent status RUN --json`, parsed.
    pub async fn status(&self, run_id: &str) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["status", run_id, "--json"]);
        let (code, out, err) = run(cmd).await;
        assert_eq!(code, 0, "status failed: {out}{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
    }

    /// The binary, run in the sandbox with no inherited model settings.
    pub fn cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_migagent"));
        cmd.current_dir(self.dir.path())
            .env_remove("OPENAI_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("MIGAGENT_STATE_DIR")
            .env_remove("RUST_LOG")
            .env("MIGAGENT_CONFIG_DIR", self.dir.path().join("config"))
            .env("MIGAGENT_CACHE_DIR", self.dir.path().join("cache"))
            .env("NO_COLOR", "1")
            .env("USER", "tester")
            .stdin(std::process::Stdio::null());
        cmd
    }
}

/// Runs a command to completion off the async runtime, returning its exit
/// code, stdout and stderr.
pub async fn run(mut cmd: std::process::Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("spawn migagent");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Temporary files left under `dir`; atomic writes must leave none.
pub fn temp_files_under(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
