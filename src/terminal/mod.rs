//! The terminal side: a gate that asks a person, and the live display of a
//! draft as it streams.
//!
//! Input is read line by line from the terminal, so the gate works in any
//! terminal and in a pseudo-terminal under test. End of input at a gate saves
//! the run and decides nothing.
//!
//! Files: [`gate`] is the gate ([`TerminalReviewer`]), [`display`] the live
//! draft display and the progress lines for runs without a terminal,
//! [`sanitize`] the one function ([`visible`]) every piece of model text
//! passes through before it reaches a terminal.

mod display;
mod draft_check;
mod evidence;
mod gate;
pub mod output;
mod sanitize;

use std::io::{self, IsTerminal};

use termimad::MadSkin;

pub use display::{ProgressSink, TerminalSink};
pub use draft_check::{draft_check_lines, print_draft_check};
pub use gate::TerminalReviewer;
pub use sanitize::visible;

/// Colour is used only on a terminal and never when NO_COLOR is set.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

/// Prints Markdown rendered for a terminal, or as-is when stdout is not one;
/// either way with its control characters made [`visible`], since the text
/// is a model's (a file written from this output shows them too; the run's
/// own files keep the original bytes).
pub fn print_markdown(text: &str) {
    let text = visible(text);
    let text = text.as_ref();
    if io::stdout().is_terminal() {
        let skin = if use_color() {
            MadSkin::default()
        } else {
            MadSkin::no_style()
        };
        // Through `out!`, not termimad's own print, so a closed pipe ends
        // quietly.
        crate::out!("{}", skin.term_text(text));
    } else {
        crate::out!("{text}");
        if !text.ends_with('\n') {
            crate::outln!();
        }
    }
}

/// A horizontal rule with a title, as wide as the terminal allows.
fn rule(title: &str) -> String {
    let width = termimad::terminal_size().0.clamp(40, 100) as usize;
    let title = format!("── {title} ");
    let fill = width.saturating_sub(title.chars().count());
    format!("{title}{}", "─".repeat(fill))
}
