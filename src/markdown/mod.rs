//! The one place that reads Markdown's block structure: code fences,
//! headings (one line at a time, or a whole document's [`Outline`]), the
//! `Step N: Name` headings of plans, and the emphasis that is dropped when
//! words are compared. Workflows, panels, personas, templates, plans and
//! drafts are all read through it, so they agree on what is a heading and
//! what sits inside a fence.
//!
//! # How a document is read
//!
//! Blocks are read by CommonMark (pulldown-cmark, with source offsets mapped
//! to lines, so every finding keeps its line). On top of that reading:
//!
//! - A heading is an ATX heading (`## Name`, up to three spaces of indent)
//!   outside lists, block quotes and code. Setext headings (a line over
//!   `---`) are not: `---` separates phases, and a paragraph right above
//!   it must not become a section.
//! - `<` is a placeholder, never HTML, so `<Summary of it>` does not open an
//!   HTML block that would swallow the next heading (HTML comments stay
//!   comments).
//! - A fence that CommonMark never closes runs to the end of the document;
//!   [`Fence::close`] is `None` for it, so callers report it at the line
//!   where it opens.
//! - Inner code blocks written with fences as long as the outer one are read
//!   as the author meant, and each such reading leaves a [`Note`] (see there).

mod outline;

pub use outline::{Fence, Note, NoteKind};

use std::sync::LazyLock;

use regex::Regex;

/// Tracks whether a line sits inside a fenced code block (``` or ~~~), one
/// line at a time. It predates [`Outline`] and does not know CommonMark's
/// containers or the readings [`Note`] describes; read whole documents with
/// [`Outline`] (or [`headings`], [`first_fenced_block`]) instead.
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

/// The content of the first fenced block in `lines`, as [`Outline`] reads
/// it (an inner block inside it included). `Err(offset)` names the line of a
/// fence that never closes.
pub fn first_fenced_block(lines: &[&str]) -> Result<Option<String>, usize> {
    let outline = Outline::from_lines(lines.iter().copied());
    let Some(fence) = outline.fences().first() else {
        return Ok(None);
    };
    match fence.close {
        Some(_) => Ok(Some(
            outline
                .lines(fence.content().start, fence.content().end)
                .join("\n"),
        )),
        None => Err(fence.open),
    }
}

/// A heading line as CommonMark writes an ATX heading: up to three spaces
/// of indent, a run of 1 to 6 `#`s, then a space, a tab or the end of the
/// line. Returns its level and its text, trimmed, without a closing run of
/// `#`s. Whether the line sits in a fence or a list is the caller's
/// business ([`Outline`] and [`headings`] count only headings outside them).
pub(crate) fn heading(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let level = t.chars().take_while(|c| *c == '#').count();
    // `#` is one byte, so `level` is a char boundary.
    let rest = &t[level..];
    if !(1..=6).contains(&level)
        || !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t'))
    {
        return None;
    }
    let text = rest.trim();
    // A closing sequence is `#`s after a space, or a text of `#`s only.
    let stripped = text.trim_end_matches('#');
    let text = if stripped.is_empty() {
        ""
    } else if stripped.ends_with([' ', '\t']) {
        stripped.trim_end()
    } else {
        text
    };
    Some((level, text))
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
    fences: Vec<Fence>,
    notes: Vec<Note>,
}

impl<'a> Outline<'a> {
    pub(crate) fn new(text: &'a str) -> Outline<'a> {
        Outline::from_lines(text.lines())
    }

    /// For a caller that has already split (or trimmed) its lines. Line
    /// numbers in fences and notes count from the first of them.
    pub(crate) fn from_lines(lines: impl IntoIterator<Item = &'a str>) -> Outline<'a> {
        let lines: Vec<&'a str> = lines.into_iter().collect();
        let reading = outline::read(&lines);
        let mut fenced = vec![false; lines.len()];
        for f in &reading.fences {
            for i in f.open..=f.end {
                if let Some(x) = fenced.get_mut(i) {
                    *x = true;
                }
            }
        }
        let headings = lines
            .iter()
            .zip(&reading.headings)
            .map(|(l, level)| {
                level
                    .and_then(|_| heading(l))
                    .filter(|(lv, _)| Some(*lv) == *level)
            })
            .collect();
        Outline {
            lines,
            headings,
            fenced,
            fences: reading.fences,
            notes: reading.notes,
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

    /// The fenced code blocks, in order.
    pub(crate) fn fences(&self) -> &[Fence] {
        &self.fences
    }

    /// Where the reading differs from CommonMark's, for a warning.
    pub(crate) fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The document's title: its first non-blank line, when that is a
    /// level-1 heading and the next heading after it is deeper. A template's
    /// `# Migration Assessment: <system>` names the artifact; its sections
    /// are the `##` headings below it.
    pub(crate) fn title(&self) -> Option<usize> {
        let first = (0..self.len()).find(|i| !self.lines[*i].trim().is_empty())?;
        if self.level(first) != Some(1) {
            return None;
        }
        let next = (first + 1..self.len()).find_map(|i| self.level(i))?;
        (next > 1).then_some(first)
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

/// `lines`, each ended by a newline, with every run of blank lines kept
/// as its first: what is left when sections are cut out of a document, or
/// when template blocks render to nothing.
pub(crate) fn collapse_blank_runs<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in lines {
        let is_blank = line.trim().is_empty();
        if is_blank && blank {
            continue;
        }
        blank = is_blank;
        out.push_str(line);
        out.push('\n');
    }
    out
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
/// is what is inside it. The fence is read as [`Outline`] reads it, so an
/// answer whose wrapper holds code blocks of its own is unwrapped too.
pub fn strip_outer_fence(draft: &str) -> String {
    let trimmed = draft.trim();
    let outline = Outline::new(trimmed);
    let last = outline.len().saturating_sub(1);
    let wrapper = outline.fences().first().filter(|f| {
        f.open == 0
            && f.close == Some(last)
            && last > 0
            && f.info.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if let Some(f) = wrapper {
        let inner = outline.lines(f.content().start, f.content().end);
        return inner.join("\n").trim().to_string() + "\n";
    }
    let mut out = trimmed.to_string();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests;
