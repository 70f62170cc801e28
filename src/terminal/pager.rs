//! A pager for text longer than the screen, the way git and man page.
//!
//! Only when stdout is a terminal, and only for text that would not fit on
//! it. The pager is `MIGAGENT_PAGER`, else `PAGER`, else `less -R` (`-R` so
//! rendered colour shows as colour); an empty value or `cat` means none.
//! The command runs through `sh -c`, so `PAGER="less -FRX"` works as in a
//! shell. A pager that cannot start leaves the text printed directly; a
//! person who quits it early (the pipe to it closes) loses nothing but the
//! rest of the text on screen. While the pager runs, Ctrl-C is the pager's:
//! less uses it to stop a search, and the run must not end under it.

use std::io::{self, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use unicode_width::UnicodeWidthStr;

/// Set while a pager has the terminal (see [`paging`]).
static PAGING: AtomicBool = AtomicBool::new(false);

/// Whether a pager has the terminal now, so Ctrl-C is left to it.
pub fn paging() -> bool {
    PAGING.load(Ordering::SeqCst)
}

/// Prints `text` to stdout, through the pager when stdout is a terminal
/// and the text is taller than it.
pub fn page_or_print(text: &str) {
    if io::stdout().is_terminal() {
        let (cols, rows) = termimad::terminal_size();
        if rows > 0 && screen_lines(text, usize::from(cols)) >= usize::from(rows) {
            if let Some(pager) = chosen_pager(
                std::env::var("MIGAGENT_PAGER").ok(),
                std::env::var("PAGER").ok(),
            ) {
                if run_pager(&pager, text) {
                    return;
                }
            }
        }
    }
    crate::out!("{text}");
    super::output::flush_stdout();
}

/// The pager command to run, if any: the first of `MIGAGENT_PAGER` and
/// `PAGER` that is set wins, else `less -R`; empty or `cat` means none.
fn chosen_pager(migagent: Option<String>, pager: Option<String>) -> Option<String> {
    let command = migagent.or(pager).unwrap_or_else(|| "less -R".to_string());
    let command = command.trim();
    (!command.is_empty() && command != "cat").then(|| command.to_string())
}

/// How many terminal lines `text` takes at `cols` columns, counting the
/// lines the terminal wraps.
fn screen_lines(text: &str, cols: usize) -> usize {
    let cols = cols.max(1);
    text.lines()
        .map(|l| {
            UnicodeWidthStr::width(strip_ansi(l).as_str())
                .div_ceil(cols)
                .max(1)
        })
        .sum()
}

/// `line` without its ANSI escape sequences (rendered Markdown carries
/// them), for measuring its width.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, up to the final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Runs `command` with `text` on its stdin and waits for it. False when it
/// could not start, so the caller prints the text itself.
fn run_pager(command: &str, text: &str) -> bool {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        // As git does: less keeps colour and does not clear the screen on
        // leaving, so the draft stays readable above the gate's menu.
        cmd.env("LESS", "FRX");
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!(pager = command, error = %e, "cannot start the pager; printing directly");
            return false;
        }
    };
    PAGING.store(true, Ordering::SeqCst);
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit before reading everything closes the pipe: that is
        // the person's choice, not an error.
        if let Err(e) = stdin.write_all(text.as_bytes()) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!(pager = command, error = %e, "cannot write to the pager");
            }
        }
    }
    let waited = child.wait();
    PAGING.store(false, Ordering::SeqCst);
    match waited {
        // `sh -c` answers 127 when the pager's program does not exist; the
        // text was then not shown, so it is printed.
        Ok(status) if status.code() == Some(127) => {
            tracing::warn!(
                pager = command,
                "the pager was not found; printing directly"
            );
            false
        }
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(pager = command, error = %e, "cannot wait for the pager");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_is_chosen_by_migagent_pager_then_pager_then_less() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(chosen_pager(None, None).as_deref(), Some("less -R"));
        assert_eq!(chosen_pager(None, s("most")).as_deref(), Some("most"));
        assert_eq!(
            chosen_pager(s("less -FRX"), s("most")).as_deref(),
            Some("less -FRX")
        );
        assert_eq!(chosen_pager(s(""), s("most")), None, "empty means none");
        assert_eq!(chosen_pager(None, s(" cat ")), None);
        assert_eq!(chosen_pager(s("cat"), None), None);
    }

    #[test]
    fn lines_are_counted_as_the_terminal_wraps_them() {
        assert_eq!(screen_lines("a\nb\n", 80), 2);
        assert_eq!(screen_lines("a\n\nb", 80), 3, "an empty line is a line");
        assert_eq!(screen_lines(&"x".repeat(81), 80), 2);
        assert_eq!(screen_lines(&"x".repeat(80), 80), 1);
        assert_eq!(
            screen_lines("\x1b[1;31mred heading\x1b[0m", 11),
            1,
            "escapes take no room"
        );
        assert_eq!(screen_lines("日本語", 4), 2, "wide characters count twice");
    }
}
