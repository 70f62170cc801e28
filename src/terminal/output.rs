//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`migagent status --json |
//! head -1`), because Rust ignores SIGPIPE. Every line a command prints goes
//! through [`outln!`](crate::outln) and friends instead: a closed pipe ends
//! the process quietly with the status a shell gives a command killed by
//! SIGPIPE (141), the way `cat` or `grep` end; any other write error (a full
//! disk behind a redirect) ends it with a one-line message. Either way the
//! run is as safe as after a kill: every write to a run is atomic and the
//! journal is the source of truth.
//!
//! Only stdout and stderr go through here. A pager or a child's stdin is a
//! pipe of its own, whose errors the caller handles.

use std::fmt;
use std::io::{self, Write};

/// The exit status of a command whose stdout was closed by its reader: the
/// status a shell reports for a process killed by SIGPIPE.
pub const EXIT_BROKEN_PIPE: i32 = 128 + 13;

/// Writes formatted text to stdout (what [`outln!`](crate::outln) and
/// [`out!`](crate::out) expand to).
pub fn stdout_fmt(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        failed("standard output", &e);
    }
}

/// Writes formatted text to stderr (what [`errln!`](crate::errln) expands
/// to).
pub fn stderr_fmt(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    if let Err(e) = err.write_fmt(args) {
        failed("standard error", &e);
    }
}

/// Flushes stdout, ending the process the same way on a closed pipe.
pub fn flush_stdout() {
    if let Err(e) = io::stdout().flush() {
        failed("standard output", &e);
    }
}

fn failed(stream: &str, e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(EXIT_BROKEN_PIPE);
    }
    // stderr may be the stream that failed; a message there is best effort.
    let _ = writeln!(io::stderr(), "migagent: cannot write to {stream}: {e}");
    std::process::exit(1);
}

/// `println!` that ends the process quietly when stdout is a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::terminal::output::stdout_fmt(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::terminal::output::stdout_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that ends the process quietly when stdout is a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::terminal::output::stdout_fmt(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    () => { $crate::terminal::output::stderr_fmt(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::terminal::output::stderr_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::terminal::output::stderr_fmt(format_args!($($arg)*)) };
}
