//! The live display of a draft as it streams, and the one-line progress
//! for runs without a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{rule, visible};
use crate::llm::{Completion, TokenSink};

/// Streams a draft to the terminal: a spinner until the first token, then
/// the tokens as they arrive.
pub struct TerminalSink {
    spinner: Option<ProgressBar>,
    streamed: bool,
}

impl TerminalSink {
    pub fn new() -> TerminalSink {
        TerminalSink {
            spinner: None,
            streamed: false,
        }
    }
}

impl Default for TerminalSink {
    fn default() -> Self {
        TerminalSink::new()
    }
}

impl TokenSink for TerminalSink {
    fn started(&mut self, purpose: &str) {
        crate::outln!();
        crate::outln!("{}", rule(&format!("drafting {purpose}")));
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(format!("waiting for the model ({purpose})"));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.spinner = Some(bar);
        self.streamed = false;
    }

    fn token(&mut self, text: &str) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
        self.streamed = true;
        // Each character is made visible on its own, so an escape split
        // across two tokens is caught as surely as a whole one.
        crate::out!("{}", visible(text));
        super::output::flush_stdout();
    }

    fn finished(&mut self, c: &Completion) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
        if self.streamed {
            crate::outln!();
        }
        crate::errln!("{}", stats_line(c));
    }
}

fn stats_line(c: &Completion) -> String {
    let tokens = match (c.prompt_tokens, c.completion_tokens, c.cached_tokens) {
        (Some(p), Some(o), Some(cached)) if cached > 0 => {
            format!("{p} prompt ({cached} from the server's cache) + {o} completion tokens")
        }
        (Some(p), Some(o), _) => format!("{p} prompt + {o} completion tokens"),
        _ => "token usage not reported by the server".to_string(),
    };
    let mut line = format!("({}: {tokens}, {:.1} s", visible(&c.model), c.seconds);
    if c.truncated() {
        line.push_str(", STOPPED AT THE TOKEN LIMIT");
    }
    line.push(')');
    line
}

/// Progress for runs without a terminal: one line per draft on stderr, so
/// stdout stays for results.
pub struct ProgressSink;

impl TokenSink for ProgressSink {
    fn started(&mut self, purpose: &str) {
        crate::errln!("drafting {purpose} ...");
    }
    fn token(&mut self, _: &str) {}
    fn finished(&mut self, c: &Completion) {
        crate::errln!("  done {}", stats_line(c));
    }
}
