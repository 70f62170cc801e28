//! The one place that reads Markdown's block structure: code fences,
//! headings (one line at a time, or a whole document's `Outline`), the
//! `Step N: Name` headings of plans, and the emphasis that is dropped when
//! words are compared. Workflows, templates, plans and drafts are all read
//! through it, so they agree on what is a heading and what sits inside a
//! fence.

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

/// A heading line: a run of 1 to 6 `#`s followed by a space, after any
/// leading whitespace. Returns its level and its text, trimmed; closing
/// `#`s are kept as part of the text. Whether the line sits in a fence is
/// the caller's business ([`Outline`] and [`headings`] skip fenced lines).
pub(crate) fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let level = t.chars().take_while(|c| *c == '#').count();
    // `#` is one byte, so `level` is a char boundary.
    if (1..=6).contains(&level) && t[level..].starts_with(' ') {
        Some((level, t[level..].trim()))
    } else {
        None
    }
}

/// A document's lines, each marked as inside a fence or not and, outside
/// fences, as a heading or not. Documents are cut into sections by their
/// headings; marking every line once lets the template compiler, the
/// artifact reader and the workflow parser all cut the same way.
#[derive(Debug)]
pub(crate) struct Outline<'a> {
    lines: Vec<&'a str>,
    headings: Vec<Option<(usize, &'a str)>>,
    fenced: Vec<bool>,
}

impl<'a> Outline<'a> {
    pub(crate) fn new(text: &'a str) -> Outline<'a> {
        Outline::from_lines(text.lines())
    }

    /// For a caller that has already split (or trimmed) its lines.
    pub(crate) fn from_lines(lines: impl IntoIterator<Item = &'a str>) -> Outline<'a> {
        let lines: Vec<&'a str> = lines.into_iter().collect();
        let mut fence = FenceTracker::default();
        let mut headings = Vec::with_capacity(lines.len());
        let mut fenced = Vec::with_capacity(lines.len());
        for l in &lines {
            let inside = fence.feed(l);
            fenced.push(inside);
            headings.push(if inside { None } else { heading(l) });
        }
        Outline {
            lines,
            headings,
            fenced,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(crate) fn line(&self, i: usize) -> Option<&'a str> {
        self.lines.get(i).copied()
    }

    /// Lines `start..end`; empty when the range is out of bounds.
    pub(crate) fn lines(&self, start: usize, end: usize) -> &[&'a str] {
        self.lines.get(start..end).unwrap_or(&[])
    }

    /// Line `i`'s level and text if it is a heading outside a fence.
    pub(crate) fn heading(&self, i: usize) -> Option<(usize, &'a str)> {
        self.headings.get(i).copied().flatten()
    }

    pub(crate) fn level(&self, i: usize) -> Option<usize> {
        self.heading(i).map(|(level, _)| level)
    }

    pub(crate) fn is_fenced(&self, i: usize) -> bool {
        self.fenced.get(i) == Some(&true)
    }

    /// Cuts lines `start..end` at every heading that `at(level, line)`
    /// accepts: returns where the intro (the lines before the first cut)
    /// ends, and each part as `(heading line, end)`.
    pub(crate) fn split(
        &self,
        start: usize,
        end: usize,
        at: impl Fn(usize, &str) -> bool,
    ) -> (usize, Vec<(usize, usize)>) {
        let cuts: Vec<usize> = (start..end)
            .filter(|i| match (self.heading(*i), self.line(*i)) {
                (Some((level, _)), Some(line)) => at(level, line),
                _ => false,
            })
            .collect();
        let intro_end = cuts.first().copied().unwrap_or(end);
        let parts = cuts
            .iter()
            .enumerate()
            .map(|(k, h)| (*h, cuts.get(k + 1).copied().unwrap_or(end)))
            .collect();
        (intro_end, parts)
    }
}

/// A Markdown heading found outside code fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub text: String,
}

/// Every heading outside code fences, in order.
pub fn headings(markdown: &str) -> Vec<Heading> {
    let outline = Outline::new(markdown);
    (0..outline.len())
        .filter_map(|i| outline.heading(i))
        .map(|(level, text)| Heading {
            level,
            text: text.to_string(),
        })
        .collect()
}

/// Text without emphasis or code marks: every `*` and backtick goes, and
/// the ends are trimmed. Templates and artifacts compare words this way,
/// so `**SEV2**`, `*SEV2*` and `` `SEV2` `` all read as `SEV2`.
pub(crate) fn strip_emphasis(text: &str) -> String {
    text.replace(['*', '`'], "").trim().to_string()
}

/// Text without `**` bold markers and backticks, trimmed. Unlike
/// [`strip_emphasis`] a single `*` stays (`*.sql` keeps its star, and
/// `***x***` becomes `*x*`): the workflow parser has always shown input
/// items this way.
pub(crate) fn strip_bold(text: &str) -> String {
    text.replace("**", "").replace('`', "").trim().to_string()
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
    if let [first, inner @ .., last] = lines.as_slice() {
        let (first, last) = (first.trim(), last.trim());
        let opens =
            first.starts_with("```") && first[3..].chars().all(|c| c.is_ascii_alphanumeric());
        if opens && last == "```" && !inner.iter().any(|l| l.trim_start().starts_with("```")) {
            return inner.join("\n").trim().to_string() + "\n";
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
