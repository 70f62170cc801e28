//! The live display of a draft as it streams, and the one-line progress
//! for runs without a terminal.
//!
//! At a terminal the answer itself is not echoed: a schema-mode answer is
//! JSON nobody wants to read, and either way the gate shows the finished
//! draft, rendered, right after. What streams is one status line on stderr
//! (see [`live`](super::live)): a spinner, the sections done and the one
//! being written, and the tokens so far. A panel member's findings are
//! shown once they are in, as Markdown.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::live::Progress;
use super::{rule, visible};
use crate::llm::{Completion, TokenSink};

/// The status line on screen now, so Ctrl-C can clear it (see
/// [`clear_live_line`]).
static LIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Clears the status line of a draft being streamed, if one is on screen
/// (a Ctrl-C must not leave a spinner behind); true when there was one.
pub fn clear_live_line() -> bool {
    match LIVE.lock().ok().and_then(|mut live| live.take()) {
        Some(bar) => {
            let drawn = !bar.is_hidden();
            bar.finish_and_clear();
            drawn
        }
        None => false,
    }
}

/// Streams a draft to the terminal as a status line, see the module
/// documentation.
pub struct TerminalSink {
    bar: Option<ProgressBar>,
    /// What is being drafted ("MIG-1 r2").
    purpose: String,
    /// The artifact's sections, for the status line's names.
    sections: Vec<(String, String)>,
    progress: Progress,
}

impl TerminalSink {
    pub fn new() -> TerminalSink {
        TerminalSink {
            bar: None,
            purpose: String::new(),
            sections: Vec::new(),
            progress: Progress::default(),
        }
    }

    fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Ok(mut live) = LIVE.lock() {
            *live = None;
        }
    }
}

impl Default for TerminalSink {
    fn default() -> Self {
        TerminalSink::new()
    }
}

impl Drop for TerminalSink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl TokenSink for TerminalSink {
    fn sections(&mut self, sections: &[(String, String)]) {
        self.sections = sections.to_vec();
    }

    fn started(&mut self, purpose: &str) {
        self.stop();
        crate::outln!();
        crate::outln!("{}", rule(&format!("drafting {}", visible(purpose))));
        self.purpose = visible(purpose).into_owned();
        self.progress = Progress::new(&self.sections);
        let bar = ProgressBar::new_spinner();
        // Known to Ctrl-C before anything is drawn: a Ctrl-C the moment the
        // spinner shows must find it to clear.
        if let Ok(mut live) = LIVE.lock() {
            *live = Some(bar.clone());
        }
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(format!("waiting for the model ({})", self.purpose));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
    }

    fn token(&mut self, text: &str) {
        self.progress.feed(text);
        if let Some(bar) = &self.bar {
            // Room for the spinner and the elapsed time around the message.
            let width = super::width().saturating_sub(8).max(20);
            bar.set_message(
                self.progress
                    .line(&format!("drafting {}", self.purpose), width),
            );
        }
    }

    fn finished(&mut self, c: &Completion) {
        self.stop();
        crate::errln!("{}", stats_line(c));
    }

    fn finding(&mut self, member: &str, markdown: &str) {
        super::print_markdown(&finding_markdown(member, markdown));
    }

    fn panel_started(&mut self, artifact: &str, members: &[String], at_once: usize) {
        self.stop();
        crate::outln!();
        crate::outln!(
            "{}",
            rule(&format!("panel review for {}", visible(artifact)))
        );
        crate::outln!("{}", panel_line(members, at_once));
    }

    fn panel_member(&mut self, member: &str, outcome: Result<&Completion, &str>) {
        crate::outln!("{}", member_line(member, outcome));
    }
}

/// What a panel is about to do: who is asked, how many at once.
fn panel_line(members: &[String], at_once: usize) -> String {
    let names: Vec<String> = members.iter().map(|m| visible(m).into_owned()).collect();
    format!(
        "asking {} member{} ({}), {} at a time",
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        names.join(", "),
        at_once.min(members.len().max(1))
    )
}

/// One member's state once its answer is in: done with what it cost, or
/// failed (asked again on the next resume).
fn member_line(member: &str, outcome: Result<&Completion, &str>) -> String {
    match outcome {
        Ok(c) => format!("  done: {} {}", visible(member), stats_line(c)),
        Err(e) => format!(
            "  failed: {}: {} (asked again on resume; the others' findings are kept)",
            visible(member),
            visible(e)
        ),
    }
}

/// A panel member's findings as a section of their own, to read at the
/// terminal.
fn finding_markdown(member: &str, markdown: &str) -> String {
    format!("### Findings of {member}\n\n{}\n", markdown.trim_end())
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
        crate::errln!("drafting {} ...", visible(purpose));
    }
    fn token(&mut self, _: &str) {}
    fn finished(&mut self, c: &Completion) {
        crate::errln!("  done {}", stats_line(c));
    }
    fn panel_started(&mut self, artifact: &str, members: &[String], at_once: usize) {
        crate::errln!(
            "panel review for {}: {}",
            visible(artifact),
            panel_line(members, at_once)
        );
    }
    fn panel_member(&mut self, member: &str, outcome: Result<&Completion, &str>) {
        crate::errln!("{}", member_line(member, outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_reads_as_a_section_of_bullets() {
        assert_eq!(
            finding_markdown("DBA", "- Replica lag\n- No backup\n\n"),
            "### Findings of DBA\n\n- Replica lag\n- No backup\n"
        );
    }
}
