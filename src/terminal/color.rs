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
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// Whether stderr gets colour (the log lines).
pub fn use_color_stderr() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never
}
