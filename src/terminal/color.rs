//! Whether to colour what is printed: the one place that decides.
//!
//! `--color auto|always|never` (clap's `ColorChoice`, kept by anstream) sets the
//! process-wide choice once at start; with `auto`, the conventions other
//! CLIs follow apply, in this order: `NO_COLOR` (set and not empty) turns
//! colour off, `CLICOLOR_FORCE` turns it on even into a pipe, `CLICOLOR=0`
//! turns it off, and otherwise colour is used only on a terminal whose
//! `TERM` is not `dumb`. An explicit `--color always|never` wins over every
//! variable. stdout and stderr are decided apart: `migagent show > file`
//! at a terminal writes no colour into the file, and still colours the log
//! lines on the terminal's stderr.

use std::io;

/// Records `--color` for the whole process; call once, before anything is
/// printed.
pub fn set_color_choice(choice: anstream::ColorChoice) {
    choice.write_global();
}

/// Whether stdout gets colour (rendered Markdown, a coloured diff).
pub fn use_color() -> bool {
    decide(anstream::AutoStream::choice(&io::stdout()))
}

/// Whether stderr gets colour (the log lines).
pub fn use_color_stderr() -> bool {
    decide(anstream::AutoStream::choice(&io::stderr()))
}

/// anstream's choice, with one rule of ours on top: under `auto`, a `dumb`
/// terminal gets no colour unless `CLICOLOR_FORCE` asks for it. anstream
/// colours a dumb terminal when `CI` is set, which a CI job's own
/// pseudo-terminal (and the person reading its log) does not expect.
fn decide(choice: anstream::ColorChoice) -> bool {
    if choice == anstream::ColorChoice::Never {
        return false;
    }
    let auto = anstream::ColorChoice::global() == anstream::ColorChoice::Auto;
    !(auto && term_is_dumb() && !clicolor_force())
}

fn term_is_dumb() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// `CLICOLOR_FORCE` set to anything but empty or `0`.
fn clicolor_force() -> bool {
    std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0")
}
