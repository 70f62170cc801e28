//! A folder to run the binary in, set up as the test suite's `Sandbox`
//! sets one up (tests/support/sandbox.rs): its own working directory,
//! state folder (`.migagent`), config and cache folders, and a clean
//! environment. Each command is its own process, measured from spawn to
//! exit: wall time and the peak resident set size `wait4` reports for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Result;

/// One command's run.
pub struct Measured {
    pub code: i32,
    pub wall: Duration,
    /// Peak resident set size of the process, KiB (`ru_maxrss`).
    pub rss_kib: u64,
    pub stdout: String,
    pub stderr: String,
}

impl Measured {
    pub fn ms(&self) -> f64 {
        self.wall.as_secs_f64() * 1000.0
    }
}

/// A folder to run commands in (see the module's comment).
pub struct Place {
    pub dir: PathBuf,
}

impl Place {
    /// A new, empty place at `dir`.
    pub fn new(dir: PathBuf) -> Result<Place> {
        std::fs::create_dir_all(dir.join("config"))?;
        Ok(Place { dir })
    }

    /// A copy of this place, runs and cache and all, at `dir`.
    pub fn copy_to(&self, dir: PathBuf) -> Result<Place> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        copy_dir(&self.dir, &dir)?;
        Ok(Place { dir })
    }

    /// Writes the config file every command of this place reads.
    pub fn write_config(&self, text: &str) -> Result<()> {
        std::fs::write(self.dir.join("config/config.toml"), text)?;
        Ok(())
    }

    /// Where runs are kept.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join(".migagent")
    }

    /// The folder of run `run`.
    pub fn run_dir(&self, run: &str) -> PathBuf {
        self.state_dir().join("runs").join(run)
    }

    /// `bin ARGS` in this place, with this place's environment.
    pub fn command(&self, bin: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.current_dir(&self.dir);
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("MIGAGENT_") || k.starts_with("OPENAI_") {
                cmd.env_remove(&key);
            }
        }
        for var in super::support::child::UNRELATED_ENV {
            cmd.env_remove(var);
        }
        cmd.env("MIGAGENT_CONFIG_DIR", self.dir.join("config"))
            .env("MIGAGENT_CACHE_DIR", self.dir.join("cache"))
            .env("MIGAGENT_APPROVER", "bench")
            .env("MIGAGENT_PAGER", "cat")
            .env("NO_COLOR", "1")
            .env("USER", "bench")
            .env("GIT_CONFIG_GLOBAL", self.dir.join("no-gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .args(args);
        cmd
    }

    /// Runs `bin ARGS` to its end and measures it.
    pub fn run(&self, bin: &Path, args: &[&str]) -> Result<Measured> {
        measure(self.command(bin, args))
    }

    /// Runs `bin ARGS`, which must exit with one of `codes`; anything else
    /// stops the bench with the command's output.
    pub fn expect(&self, bin: &Path, args: &[&str], codes: &[i32]) -> Result<Measured> {
        let m = self.run(bin, args)?;
        if !codes.contains(&m.code) {
            return Err(format!(
                "`migagent {}` in {} exited {} (expected {:?}):\n{}\n{}",
                args.join(" "),
                self.dir.display(),
                m.code,
                codes,
                m.stdout,
                m.stderr
            )
            .into());
        }
        Ok(m)
    }

    /// `status RUN --json`, parsed (not part of any figure).
    pub fn status(&self, bin: &Path, run: &str) -> Result<Value> {
        let m = self.expect(bin, &["status", run, "--json"], &[0])?;
        Ok(serde_json::from_str(&m.stdout)?)
    }
}

/// Spawns `cmd` with its output piped, reads both pipes while it runs and
/// reaps it with `wait4`, which gives the child's own resource usage.
pub fn measure(mut cmd: Command) -> Result<Measured> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let (out, err) = super::support::child::drain(&mut child);
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's `Child`
        // only reaps in `wait`, which is never called on it); the pointers
        // are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4 on pid {pid}: {e}").into());
        }
    }
    let wall = started.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Ok(Measured {
        code,
        wall,
        rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Copies the folder `from` to `to`, recursively (symlinks as links).
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
