//! What a draft being streamed has got to, for a one-line status instead
//! of the raw answer: which sections are done, which is being written, and
//! how many tokens have come.
//!
//! A JSON answer (the server enforces the artifact's schema) is read by a
//! small scanner that knows strings and escapes: a top-level key is done
//! when the `,` or `}` after its value arrives. A Markdown answer is read by
//! its `##` headings outside code fences: a section is done when the next
//! heading starts. Either way the text is fed in pieces as it streams, and
//! each piece is read once.

use unicode_width::UnicodeWidthStr;

use super::visible;

/// The progress of one streamed answer.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// (JSON key, heading) of the artifact's sections, when known.
    titles: Vec<(String, String)>,
    /// Deltas received (servers send about one token per delta).
    pub(super) tokens: u64,
    mode: Mode,
    /// Sections done, by their display names.
    done: Vec<String>,
    /// The section being written.
    current: Option<String>,
}

#[derive(Debug, Default)]
enum Mode {
    /// Nothing but white space yet.
    #[default]
    Unknown,
    Json(JsonScan),
    Markdown(MarkdownScan),
}

impl Progress {
    /// A fresh progress for an answer whose sections are `titles` (empty
    /// when unknown: keys are then shown humanised).
    pub(super) fn new(titles: &[(String, String)]) -> Progress {
        Progress {
            titles: titles.to_vec(),
            ..Progress::default()
        }
    }

    /// Reads the next piece of the answer.
    pub(super) fn feed(&mut self, text: &str) {
        self.tokens += 1;
        for c in text.chars() {
            if matches!(self.mode, Mode::Unknown) {
                if c.is_whitespace() {
                    continue;
                }
                // A schema-following answer is an object; a fenced one
                // (```json) is still JSON once its `{` comes.
                self.mode = if c == '{' || c == '`' {
                    Mode::Json(JsonScan::default())
                } else {
                    Mode::Markdown(MarkdownScan::default())
                };
            }
            let event = match &mut self.mode {
                Mode::Json(scan) => scan.push(c),
                Mode::Markdown(scan) => scan.push(c),
                Mode::Unknown => None,
            };
            match event {
                Some(Event::Started(key)) => {
                    if let Some(previous) = self.current.take() {
                        self.done.push(previous);
                    }
                    self.current = Some(self.name(&key));
                }
                Some(Event::Ended) => {
                    if let Some(previous) = self.current.take() {
                        self.done.push(previous);
                    }
                }
                None => {}
            }
        }
    }

    /// The display name of a JSON key or a Markdown heading.
    fn name(&self, key: &str) -> String {
        let heading = self
            .titles
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, h)| h.as_str())
            .filter(|h| !h.trim().is_empty());
        let name = match (&self.mode, heading) {
            (_, Some(h)) => clean_heading(h),
            (Mode::Json(_), None) => humanise(key),
            _ => clean_heading(key),
        };
        visible(&name).into_owned()
    }

    /// The status line: `what: ✓ Summary ✓ Risks … Rollback (412 tokens)`,
    /// at most `width` columns wide; the earliest done sections give way
    /// first (`✓ 3 more`).
    pub(super) fn line(&self, what: &str, width: usize) -> String {
        let tail = format!("({} tokens)", self.tokens);
        let current = self.current.as_ref().map(|c| format!("… {c}"));
        let mut skipped = 0;
        loop {
            let mut parts: Vec<String> = Vec::new();
            if skipped > 0 {
                parts.push(format!("✓ {skipped} more"));
            }
            parts.extend(self.done[skipped..].iter().map(|d| format!("✓ {d}")));
            parts.extend(current.clone());
            parts.push(tail.clone());
            let line = format!("{what}: {}", parts.join(" "));
            if UnicodeWidthStr::width(line.as_str()) <= width || skipped >= self.done.len() {
                return truncate(&line, width);
            }
            skipped += 1;
        }
    }
}

/// `line` cut to `width` columns, with `…` where it was cut.
fn truncate(line: &str, width: usize) -> String {
    if UnicodeWidthStr::width(line) <= width {
        return line.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A template heading as a short name: `- **Owner:**` → `Owner`.
fn clean_heading(heading: &str) -> String {
    let h = heading.trim().trim_start_matches('#').trim();
    let h = h.trim_start_matches(['-', '*', '+']).trim();
    let h = h.replace("**", "").replace('`', "");
    h.trim().trim_end_matches(':').trim().to_string()
}

/// A JSON key for people: `affected_components` → `Affected components`.
fn humanise(key: &str) -> String {
    let words = key.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What one character told a scanner.
#[derive(Debug, PartialEq)]
enum Event {
    /// A section with this key or heading started (ending the one before).
    Started(String),
    /// The section being written ended.
    Ended,
}

/// The scanner for a JSON answer: strings and their escapes, nesting, and
/// the keys of the top-level object.
#[derive(Debug, Default)]
struct JsonScan {
    /// Open objects and arrays.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The string being read is a top-level key.
    in_key: bool,
    /// At depth 1, where the next string is a key (after `{` or `,`).
    expect_key: bool,
    key: String,
    /// The top-level object has closed.
    closed: bool,
}

impl JsonScan {
    fn push(&mut self, c: char) -> Option<Event> {
        if self.closed {
            return None;
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
                if self.in_key {
                    self.key.push(match c {
                        'n' | 't' | 'r' => ' ',
                        other => other,
                    });
                }
            } else if c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.in_string = false;
                if self.in_key {
                    self.in_key = false;
                    return Some(Event::Started(std::mem::take(&mut self.key)));
                }
            } else if self.in_key {
                self.key.push(c);
            }
            return None;
        }
        match c {
            '"' => {
                self.in_string = true;
                if self.depth == 1 && self.expect_key {
                    self.in_key = true;
                    self.expect_key = false;
                    self.key.clear();
                }
            }
            '{' | '[' => {
                self.depth += 1;
                if self.depth == 1 {
                    self.expect_key = c == '{';
                }
            }
            '}' | ']' if self.depth > 0 => {
                self.depth -= 1;
                if self.depth == 0 {
                    self.closed = true;
                    return Some(Event::Ended);
                }
            }
            ',' if self.depth == 1 => {
                self.expect_key = true;
                return Some(Event::Ended);
            }
            _ => {}
        }
        None
    }
}

/// The scanner for a Markdown answer: its headings, line by line, outside
/// fenced code.
#[derive(Debug, Default)]
struct MarkdownScan {
    line: String,
    in_fence: bool,
}

impl MarkdownScan {
    fn push(&mut self, c: char) -> Option<Event> {
        if c != '\n' {
            self.line.push(c);
            return None;
        }
        let line = std::mem::take(&mut self.line);
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            self.in_fence = !self.in_fence;
            return None;
        }
        if self.in_fence {
            return None;
        }
        // Sections are the `##` headings; a `#` title is not one, and a
        // `###` is part of its section.
        trimmed
            .strip_prefix("## ")
            .map(|h| Event::Started(h.trim().trim_end_matches('#').trim().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `answer` in pieces of `n` characters.
    fn fed(titles: &[(String, String)], answer: &str, n: usize) -> Progress {
        let mut p = Progress::new(titles);
        let chars: Vec<char> = answer.chars().collect();
        for piece in chars.chunks(n) {
            p.feed(&piece.iter().collect::<String>());
        }
        p
    }

    fn titles() -> Vec<(String, String)> {
        vec![
            ("summary".into(), "Summary".into()),
            ("risks".into(), "Risks and mitigations".into()),
            ("owner".into(), "- **Owner:**".into()),
        ]
    }

    #[test]
    fn json_keys_are_done_when_their_value_ends() {
        let partial =
            r#"{"summary": "Move {the} \"db\", then [check]", "risks": ["a, b", {"x": "}"}], "ow"#;
        for n in [1, 3, 7, 500] {
            let p = fed(&titles(), partial, n);
            assert_eq!(
                p.done,
                ["Summary", "Risks and mitigations"],
                "pieces of {n}"
            );
            assert_eq!(p.current, None, "the third key is not read whole yet");
        }
        let p = fed(&titles(), &format!("{partial}ner\": \"me\\\\\""), 4);
        assert_eq!(p.current.as_deref(), Some("Owner"));
        let p = fed(&titles(), &format!("{partial}ner\": \"me\"}} trailing"), 4);
        assert_eq!(p.done, ["Summary", "Risks and mitigations", "Owner"]);
        assert_eq!(p.current, None);
    }

    #[test]
    fn unknown_keys_are_humanised_and_nested_keys_ignored() {
        let p = fed(
            &[],
            "```json\n{\"affected_components\": {\"name\": 1}, \"rollback-plan\": \"",
            5,
        );
        assert_eq!(p.done, ["Affected components"]);
        assert_eq!(p.current.as_deref(), Some("Rollback plan"));
    }

    #[test]
    fn markdown_sections_are_level_two_headings_outside_fences() {
        let answer = "# MIG-1\n\n## Summary\ntext\n```sh\n## not a heading\n```\n### Detail\n## Risks ##\n- r\n## Rollback\nst";
        let p = fed(&[], answer, 6);
        assert_eq!(p.done, ["Summary", "Risks"]);
        assert_eq!(p.current.as_deref(), Some("Rollback"));
        assert_eq!(p.tokens, answer.chars().count().div_ceil(6) as u64);
    }

    #[test]
    fn the_status_line_fits_the_width_and_keeps_the_latest() {
        let p = fed(&titles(), r#"{"summary": "s", "risks": [], "owner": "#, 2);
        assert_eq!(
            p.line("drafting MIG-1 r1", 200),
            format!(
                "drafting MIG-1 r1: ✓ Summary ✓ Risks and mitigations … Owner ({} tokens)",
                p.tokens
            )
        );
        let full = p.line("drafting MIG-1 r1", 200);
        let width = UnicodeWidthStr::width(full.as_str());
        let narrower = p.line("drafting MIG-1 r1", width - 1);
        assert!(
            narrower.contains(": ✓ 1 more ✓ Risks and mitigations … Owner ("),
            "{narrower}"
        );
        let narrow = p.line("drafting MIG-1 r1", 50);
        assert_eq!(
            narrow,
            format!("drafting MIG-1 r1: ✓ 2 more … Owner ({} tokens)", p.tokens)
        );
        let tiny = p.line("drafting MIG-1 r1", 20);
        assert_eq!(UnicodeWidthStr::width(tiny.as_str()), 20, "{tiny}");
        assert!(tiny.ends_with('…'));
    }

    #[test]
    fn a_model_s_heading_is_shown_with_its_controls_visible() {
        let p = fed(&[], "## Sum\x1b[2Jmary\n", 100);
        assert_eq!(p.current.as_deref(), Some("Sum^[[2Jmary"));
    }
}
