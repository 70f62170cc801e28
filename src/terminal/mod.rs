//! The terminal side: a gate that asks a person, and the live display of a
//! draft as it streams.
//!
//! Input is read line by line from the terminal, so the gate works in any
//! terminal and in a pseudo-terminal under test. End of input at a gate saves
//! the run and decides nothing.
//!
//! Files: [`gate`] is the gate ([`TerminalReviewer`]), [`display`] the live
//! draft display (a status line read off the answer by [`live`]) and the
//! progress lines for runs without a terminal, [`pager`] pages long drafts,
//! [`wrap`] wraps the gate's lines at words, [`color`] is the one place that
//! decides colour, and [`sanitize`] the one function ([`visible`]) every
//! piece of model text passes through before it reaches a terminal.

mod color;
mod display;
mod draft_check;
mod evidence;
mod gate;
mod live;
pub mod output;
pub mod pager;
mod sanitize;
mod wrap;

use termimad::MadSkin;

pub use color::{set_color_choice, use_color, use_color_stderr};
pub use display::{clear_live_line, ProgressSink, TerminalSink};
pub use draft_check::{draft_check_lines, print_draft_check};
pub use gate::TerminalReviewer;
pub use sanitize::visible;

/// Prints Markdown, through the [`pager`] when it is longer than the
/// terminal: rendered (headings, bold, lists styled) when stdout gets
/// [colour](use_color), else as written, so the `##` markers still show
/// where a heading is. Either way with its control characters made
/// [`visible`], since the text is a model's (a file written from this output
/// shows them too; the run's own files keep the original bytes).
pub fn print_markdown(text: &str) {
    let text = visible(text);
    let mut shown = if use_color() {
        // crossterm drops colour when NO_COLOR is set; an explicit
        // `--color always` wins over it, as the decision above says.
        termimad::crossterm::style::force_color_output(true);
        // Rendered to a string, not through termimad's own print, so a
        // closed pipe ends quietly (see `output`).
        MadSkin::default()
            .text(text.as_ref(), Some(width()))
            .to_string()
    } else {
        text.into_owned()
    };
    if !shown.ends_with('\n') {
        shown.push('\n');
    }
    pager::page_or_print(&shown);
}

/// The terminal's width in columns (80 when it cannot be told).
pub fn width() -> usize {
    match termimad::terminal_size() {
        (0, _) => 80,
        (w, _) => usize::from(w),
    }
}

/// A horizontal rule with a title, as wide as the terminal allows.
fn rule(title: &str) -> String {
    let width = width().clamp(40, 100);
    let title = format!("── {title} ");
    let fill = width.saturating_sub(title.chars().count());
    format!("{title}{}", "─".repeat(fill))
}
