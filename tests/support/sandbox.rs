//! An isolated place to run the binary, the one way to run it there, and
//! helpers to look at what a run left.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::API_KEY;

/// Variables a developer's shell may carry that would change what the
/// binary does: the model settings, where it keeps runs, who decides; and
/// the log level and proxies ([`super::child::UNRELATED_ENV`]).
const SCRUBBED: &[&str] = &[
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_MODEL",
    "MIGAGENT_MODEL",
    "MIGAGENT_PROFILE",
    "MIGAGENT_STATE_DIR",
    "MIGAGENT_APPROVER",
    "MIGAGENT_LIBRARY",
];

/// An isolated place to run the binary: its own cwd, state folder
/// (`.migagent`), config folder (`config`) and cache folder (`cache`), and a
/// clean environment. Settings made with [`Sandbox::env`] apply to every
/// command it runs:
///
/// ```ignore
/// let sandbox = Sandbox::new().with_api_key();
/// let (code, out, err) = sandbox.cmd(&["status", "pg16", "--json"]).run().await;
/// ```
pub struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        Sandbox {
            dir,
            env: Vec::new(),
        }
    }

    /// Sets `key` to `value` for every command this sandbox runs.
    pub fn env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Hands every command [`API_KEY`] as `OPENAI_API_KEY`.
    pub fn with_api_key(self) -> Sandbox {
        self.env("OPENAI_API_KEY", API_KEY)
    }

    /// The sandbox folder, the binary's working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where runs are kept: `.migagent` in the working directory.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".migagent")
    }

    /// The folder of run `run_id`.
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.state_dir().join("runs").join(run_id)
    }

    /// Writes `text` to `rel` under the sandbox, creating folders.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Writes the user's `config.toml` in the sandbox's config folder.
    pub fn write_config(&self, text: &str) -> PathBuf {
        self.write("config/config.toml", text)
    }

    /// The approved text of artifact `id` of run `run_id`, as on disk.
    pub fn artifact(&self, run_id: &str, id: &str) -> String {
        let p = self.run_dir(run_id).join(format!("artifacts/{id}.md"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The events of run `run_id`'s journal, in order.
    pub fn journal(&self, run_id: &str) -> Vec<Value> {
        let path = self.run_dir(run_id).join("journal.jsonl");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad journal line ({e}): {l}"))
            })
            .collect()
    }

    /// `migagent ARGS` in the sandbox, ready to run or to adjust first.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        self.cmd_under(&[], args)
    }

    /// `WRAPPER... migagent ARGS` in the sandbox, e.g. under
    /// `strace -e inject=...`; with an empty `wrapper`, the same as `cmd`.
    pub fn cmd_under(&self, wrapper: &[&str], args: &[&str]) -> Cmd {
        let binary = env!("CARGO_BIN_EXE_migagent");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        cmd.current_dir(self.dir.path());
        for var in SCRUBBED.iter().chain(super::child::UNRELATED_ENV) {
            cmd.env_remove(var);
        }
        cmd.env("MIGAGENT_CONFIG_DIR", self.dir.path().join("config"))
            .env("MIGAGENT_CACHE_DIR", self.dir.path().join("cache"))
            .env("NO_COLOR", "1")
            // No pager: a test of something else at a pty must not wait in
            // less (tests of the pager remove this).
            .env("MIGAGENT_PAGER", "cat")
            .env("USER", "tester")
            // The developer's own git name would come before USER (see
            // `cli::approver`): git reads no global or system config here.
            .env("GIT_CONFIG_GLOBAL", self.dir.path().join("no-gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd.args(args);
        Cmd(cmd)
    }

    /// `migagent ARGS` that starts once its terminal is `cols` × `rows`,
    /// for [`Pty::spawn_sized`](super::Pty::spawn_sized): it waits for the
    /// size, so migagent never sees another.
    pub fn cmd_sized(&self, cols: u16, rows: u16, args: &[&str]) -> Cmd {
        let script = format!(
            "while [ \"$(stty size)\" != \"{rows} {cols}\" ]; do sleep 0.05; done; exec \"$0\" \"$@\""
        );
        self.cmd_under(&["sh", "-c", &script], args)
    }

    /// `migagent run --no-input` on `need` against `base_url`, as `run_id`.
    pub async fn start_run(
        &self,
        need: &str,
        base_url: &str,
        run_id: &str,
    ) -> (i32, String, String) {
        self.run_started(None, need, base_url, run_id).await
    }

    /// `migagent run WORKFLOW --no-input` on `need` against `base_url`, as
    /// `run_id`, which must stop at its first gate (exit 10).
    pub async fn start_run_of(&self, workflow: &str, need: &str, base_url: &str, run_id: &str) {
        let (code, out, err) = self
            .run_started(Some(workflow), need, base_url, run_id)
            .await;
        assert_eq!(
            code, 10,
            "run {workflow} did not stop at a gate: {out}{err}"
        );
    }

    async fn run_started(
        &self,
        workflow: Option<&str>,
        need: &str,
        base_url: &str,
        run_id: &str,
    ) -> (i32, String, String) {
        let mut args = vec!["run"];
        args.extend(workflow);
        args.extend([
            "--no-input",
            "--need",
            need,
            "--base-url",
            base_url,
            "--run-id",
            run_id,
        ]);
        self.cmd(&args).run().await
    }

    /// `migagent resume RUN --no-input` against `base_url`.
    pub async fn resume(&self, run_id: &str, base_url: &str) -> (i32, String, String) {
        self.cmd(&["resume", run_id, "--no-input", "--base-url", base_url])
            .run()
            .await
    }

    /// `migagent approve RUN`, which must succeed.
    pub async fn approve(&self, run_id: &str) {
        let (code, out, err) = self.cmd(&["approve", run_id]).run().await;
        assert_eq!(code, 0, "approve failed: {out}{err}");
    }

    /// `migagent evidence RUN --note TEXT` on the step awaiting evidence;
    /// asserts it was recorded.
    pub async fn note(&self, run_id: &str, text: &str) {
        self.evidence(run_id, &["--note", text]).await;
    }

    /// `migagent evidence RUN ARGS`, which must succeed; returns stdout.
    pub async fn evidence(&self, run_id: &str, args: &[&str]) -> String {
        let mut all = vec!["evidence", run_id];
        all.extend_from_slice(args);
        let (code, out, err) = self.cmd(&all).run().await;
        assert_eq!(code, 0, "evidence {args:?} failed:\n{out}\n{err}");
        out
    }

    /// `migagent status RUN --json`, parsed.
    pub async fn status(&self, run_id: &str) -> Value {
        let (code, out, err) = self.cmd(&["status", run_id, "--json"]).run().await;
        assert_eq!(code, 0, "status failed: {out}{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
    }
}

/// The artifact a `status --json` report says awaits a decision, or "none".
pub fn pending(status: &Value) -> String {
    status["pending"]["artifact"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

/// One command of the binary in a sandbox (from [`Sandbox::cmd`]): adjust
/// it, then run it to completion with [`Cmd::run`] (async tests) or
/// [`Cmd::run_blocking`], or take the [`Command`] to spawn it yourself.
pub struct Cmd(Command);

impl Cmd {
    pub fn arg(mut self, arg: &str) -> Cmd {
        self.0.arg(arg);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Cmd {
        self.0.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cmd {
        self.0.env(key, value);
        self
    }

    /// Runs in `dir` instead of the sandbox folder (a subfolder, say).
    pub fn current_dir(mut self, dir: &Path) -> Cmd {
        self.0.current_dir(dir);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.0.env_remove(key);
        self
    }

    /// Replaces the sandbox's standard input (`/dev/null`).
    pub fn stdin(mut self, stdin: Stdio) -> Cmd {
        self.0.stdin(stdin);
        self
    }

    /// The command itself, for a pseudo-terminal or a child to kill.
    pub fn into_command(self) -> Command {
        self.0
    }

    /// Runs to completion off the async runtime; returns the exit code,
    /// stdout and stderr.
    pub async fn run(self) -> (i32, String, String) {
        match tokio::task::spawn_blocking(move || self.run_blocking()).await {
            Ok(output) => output,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("migagent task: {e}"),
        }
    }

    /// Runs to completion on this thread; returns how it ended (a signal
    /// too), stdout and stderr.
    pub fn output_blocking(mut self) -> std::process::Output {
        self.0.output().expect("spawn migagent")
    }

    /// Runs to completion, or kills the command once `limit` has passed and
    /// panics: for a command that must not hang, such as one given a FIFO.
    /// A guard against a hang, not a measure of speed; make `limit` generous.
    pub async fn run_or_kill(self, limit: std::time::Duration) -> (i32, String, String) {
        match tokio::task::spawn_blocking(move || self.run_or_kill_blocking(limit)).await {
            Ok(output) => output,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("migagent task: {e}"),
        }
    }

    fn run_or_kill_blocking(mut self, limit: std::time::Duration) -> (i32, String, String) {
        let mut child = self
            .0
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn migagent");
        let (out, err) = super::child::drain(&mut child);
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for migagent") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "migagent hung and was killed after {limit:?}; stderr so far:\n{}",
                    err.join().unwrap_or_default()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        (
            status.code().unwrap_or(-1),
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        )
    }

    /// Runs with stdout a pipe whose reader is already gone, as under
    /// `migagent ... | head -0`; returns the exit code (-1 for a signal) and
    /// stderr.
    pub fn run_closed_stdout_blocking(mut self) -> (i32, String) {
        let mut child = self
            .0
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn migagent");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait for migagent");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs to completion on this thread; returns the exit code, stdout and
    /// stderr.
    pub fn run_blocking(mut self) -> (i32, String, String) {
        let out = self.0.output().expect("spawn migagent");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
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
