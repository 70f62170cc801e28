//! Running one command from the approved plan, after a person said yes:
//! its output is kept whole on disk, its exit code and duration recorded,
//! and it runs without the model's API key in its environment.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// How a command ran.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRun {
    /// `None` when a signal ended it (or the timeout did).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub seconds: f64,
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot create {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start `sh -c {command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("cannot wait for `{command}`: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
}

/// Runs `command` with `sh -c` in `cwd`, stdin closed, stdout and stderr
/// written to the two files, the environment the user's less `scrub`.
/// After `timeout` the command's whole process group is killed.
pub fn run(
    command: &str,
    cwd: &Path,
    scrub: &[String],
    timeout: Duration,
    stdout: &Path,
    stderr: &Path,
) -> Result<CommandRun, CommandError> {
    let out = File::create(stdout).map_err(|source| CommandError::Output {
        path: stdout.to_path_buf(),
        source,
    })?;
    let err = File::create(stderr).map_err(|source| CommandError::Output {
        path: stderr.to_path_buf(),
        source,
    })?;
    let env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !scrub.iter().any(|s| k.to_str() == Some(s.as_str())))
        .collect();
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group, so a timeout ends everything it started.
        .process_group(0)
        .spawn()
        .map_err(|source| CommandError::Spawn {
            command: command.to_string(),
            source,
        })?;
    let wait_err = |source| CommandError::Wait {
        command: command.to_string(),
        source,
    };
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(wait_err)? {
            break status;
        }
        if started.elapsed() >= timeout {
            timed_out = true;
            if let Ok(pid) = i32::try_from(child.id()) {
                // The group may already be gone; the wait below settles it.
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            break child.wait().map_err(wait_err)?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(CommandRun {
        exit_code: if timed_out { None } else { status.code() },
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_in(dir: &Path, cmd: &str, scrub: &[String], timeout: Duration) -> (CommandRun, String) {
        let out = dir.join("out");
        let err = dir.join("err");
        let r = run(cmd, dir, scrub, timeout, &out, &err).unwrap();
        (r, std::fs::read_to_string(out).unwrap())
    }

    #[test]
    fn output_exit_code_and_a_scrubbed_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("MIGAGENT_TEST_SECRET_FOR_SCRUB", "s3cret");
        let (r, out) = run_in(
            dir.path(),
            "echo \"k=${MIGAGENT_TEST_SECRET_FOR_SCRUB:-none} home=${HOME:+set}\"; pwd; exit 3",
            &["MIGAGENT_TEST_SECRET_FOR_SCRUB".to_string()],
            Duration::from_secs(10),
        );
        assert_eq!(r.exit_code, Some(3));
        assert!(!r.timed_out);
        assert!(out.starts_with("k=none home=set\n"), "{out}");
        assert!(out.contains(&dir.path().display().to_string()), "{out}");
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let (r, _) = run_in(
            dir.path(),
            "sleep 30 & sleep 30; echo never",
            &[],
            Duration::from_millis(300),
        );
        assert!(r.timed_out && r.exit_code.is_none(), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
