//! The one place that reads Markdown's block structure: code fences,
//! headings and the `Step N: Name` headings of plans. Workflows, templates,
//! plans and drafts are all read through it, so they agree on what is a
//! heading and what sits inside a fence.

use std::sync::LazyLock;

use regex::Regex;

/// Tracks whether a line sits inside a fenced code block (``` or ~~~).
#[derive(Debug, Default)]
pub struct FenceTracker {
    open: Option<(char, usize)>,
}

impl FenceTracker {
    /// Feeds one line; returns true when the line is part of a fence
    /// (including the fence markers themselves).
    pub fn feed(&mut self, line: &str) -> bool {
        let t = line.trim_start();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| t.chars().take_while(|c| *c == m).count());
        match (self.open, marker) {
            (None, Some(m)) if run >= 3 => {
                self.open = Some((m, run));
                true
            }
            (Some((m, n)), Some(c))
                if c == m && run >= n && t.trim_end().chars().all(|x| x == m) =>
            {
                self.open = None;
                true
            }
            (Some(_), _) => true,
            _ => false,
        }
    }
}

/// The content of the first fenced block in `lines`. `Err(offset)` names the
/// line of a fence that never closes.
pub fn first_fenced_block(lines: &[&str]) -> Result<Option<String>, usize> {
    let mut start = None;
    let mut fence = FenceTracker::default();
    let mut body = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let was_open = fence.open.is_some();
        fence.feed(line);
        match (was_open, fence.open.is_some()) {
            (false, true) => start = Some(i),
            (true, false) => return Ok(Some(body.join("\n"))),
            (true, true) => body.push(*line),
            (false, false) => {}
        }
    }
    match start {
        Some(offset) => Err(offset),
        None => Ok(None),
    }
}

/// A Markdown heading found outside code fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub text: String,
}

pub fn headings(markdown: &str) -> Vec<Heading> {
    let mut fence = FenceTracker::default();
    let mut out = Vec::new();
    for line in markdown.lines() {
        if fence.feed(line) {
            continue;
        }
        let t = line.trim_start();
        let level = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && t[level..].starts_with(' ') {
            out.push(Heading {
                level,
                text: t[level..].trim().to_string(),
            });
        }
    }
    out
}

// The pattern is a literal: `expect` cannot fire once the tests have
// compiled it.
static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step\s+(\d+)\s*[:.\-—]\s*(.*)$").expect("static regex"));

/// A `Step N: Name` heading text (without its `#`s): the step's number as
/// written and its name. Plans list their steps this way.
pub fn step_heading(text: &str) -> Option<(&str, &str)> {
    let c = STEP.captures(text)?;
    Some((c.get(1)?.as_str(), c.get(2)?.as_str().trim()))
}

/// Models often wrap their whole answer in a ```markdown fence; the artifact
/// is what is inside it.
pub fn strip_outer_fence(draft: &str) -> String {
    let trimmed = draft.trim();
    let lines: Vec<&str> = trimmed.lines().collect();
    if lines.len() >= 2 {
        let first = lines[0].trim();
        let last = lines[lines.len() - 1].trim();
        let opens =
            first.starts_with("```") && first[3..].chars().all(|c| c.is_ascii_alphanumeric());
        if opens && last == "```" {
            let inner = &lines[1..lines.len() - 1];
            if !inner.iter().any(|l| l.trim_start().starts_with("```")) {
                return inner.join("\n").trim().to_string() + "\n";
            }
        }
    }
    let mut out = trimmed.to_string();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_markdown_fence_is_removed() {
        assert_eq!(strip_outer_fence("```markdown\n## A\nx\n```"), "## A\nx\n");
        assert_eq!(
            strip_outer_fence("## A\n```\ncode\n```\n"),
            "## A\n```\ncode\n```\n"
        );
    }

    #[test]
    fn unclosed_fence_is_reported_at_its_line() {
        assert_eq!(first_fenced_block(&["text", "```", "## A"]), Err(1));
        assert_eq!(
            first_fenced_block(&["```", "## A", "```"]),
            Ok(Some("## A".to_string()))
        );
    }
}
