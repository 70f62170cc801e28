//! What a shell and `man` need: completion scripts (clap_complete) and a
//! man page (clap_mangen), both generated from the same clap definition as
//! `--help`, so they never drift from the flags.

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// `migagent completions SHELL`: the completion script on stdout.
pub(super) fn cmd_completions(shell: Shell) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "migagent", &mut script);
    write_stdout(&script)
}

/// `migagent man`: the man page, in roff, on stdout
/// (`migagent man > ~/.local/share/man/man1/migagent.1`).
pub(super) fn cmd_man() -> Result<u8> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("cannot render the man page")?;
    write_stdout(&page)
}

/// Writes bytes through the same closed-pipe rule as every other output.
fn write_stdout(bytes: &[u8]) -> Result<u8> {
    let text = String::from_utf8_lossy(bytes);
    crate::out!("{text}");
    crate::terminal::output::flush_stdout();
    Ok(0)
}
