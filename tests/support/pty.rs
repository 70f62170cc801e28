//! The binary in a pseudo-terminal (expectrl), for tests of what a person
//! sees and answers at a real terminal.

use std::process::Stdio;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect, Regex};

use super::Cmd;

/// Long enough for a slow build machine, short enough that a hang fails.
const EXPECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The binary in a pseudo-terminal, with everything it printed so far kept
/// for failure messages.
pub struct Pty {
    session: OsSession,
    seen: String,
}

impl Pty {
    /// Spawns `cmd` with the pty as stdin, stdout and stderr.
    pub fn spawn(cmd: Cmd) -> Pty {
        // The sandbox command reads from /dev/null; the child must inherit
        // the pty that expectrl installs as its standard streams instead.
        let mut cmd = cmd.into_command();
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let mut session = OsSession::spawn(cmd).expect("spawn migagent in a pty");
        session.set_expect_timeout(Some(EXPECT_TIMEOUT));
        Pty {
            session,
            seen: String::new(),
        }
    }

    /// Spawns `cmd` in a terminal of `cols` × `rows`. The pty is given its
    /// size after the spawn (the pty library sets 80 × 24 on its own), so
    /// `cmd` should wait for it: see [`Sandbox::cmd_sized`](super::Sandbox::cmd_sized).
    pub fn spawn_sized(cmd: Cmd, cols: u16, rows: u16) -> Pty {
        let mut pty = Pty::spawn(cmd);
        pty.session
            .get_process_mut()
            .set_window_size(cols, rows)
            .expect("set the pty's size");
        pty
    }

    /// Whatever the child printed that no expectation consumed yet, without
    /// waiting for more.
    pub fn unread(&mut self) -> String {
        match self.session.check(Regex(r"(?s).+")) {
            Ok(c) => String::from_utf8_lossy(c.as_bytes()).into_owned(),
            Err(e) => format!("<{e}>"),
        }
    }

    /// Waits for `needle` and returns the output up to and including it.
    pub fn expect(&mut self, needle: &str) -> String {
        match self.session.expect(needle) {
            Ok(c) => {
                let text = String::from_utf8_lossy(c.as_bytes()).into_owned();
                self.seen.push_str(&text);
                text
            }
            Err(e) => {
                let rest = self.unread();
                panic!(
                    "expected {needle:?} on the terminal: {e}\n--- output so far ---\n{}{rest}\n---",
                    self.seen
                )
            }
        }
    }

    /// Waits for the gate menu of `artifact` and its prompt.
    pub fn menu(&mut self, artifact: &str) -> String {
        let mut text = self.expect(&format!("Decide on [{artifact}]:"));
        text.push_str(&self.expect("Save and quit"));
        text.push_str(&self.expect("> "));
        text
    }

    pub fn send(&mut self, bytes: &str) {
        self.session
            .send(bytes)
            .unwrap_or_else(|e| panic!("cannot write {bytes:?} to the pty: {e}"));
    }

    /// Reads to the end of output, then reaps the child; returns its exit
    /// code and the rest of its output.
    pub fn finish(mut self) -> (i32, String) {
        let rest = match self.session.expect(Eof) {
            Ok(c) => String::from_utf8_lossy(c.as_bytes()).into_owned(),
            Err(e) => panic!(
                "migagent did not exit: {e}\n--- output so far ---\n{}\n---",
                self.seen
            ),
        };
        self.seen.push_str(&rest);
        let status = self
            .session
            .get_process()
            .wait()
            .expect("wait for migagent");
        match status {
            WaitStatus::Exited(_, code) => (code, self.seen),
            other => panic!(
                "migagent ended without an exit code: {other:?}\n{}",
                self.seen
            ),
        }
    }
}

/// Runs blocking pty work off the async runtime, so the fake server keeps
/// answering while the child runs.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        // Re-raise the pty task's own panic so its message is shown as is.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("pty task: {e}"),
    }
}
