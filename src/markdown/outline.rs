//! A document's block outline as CommonMark reads it (pulldown-cmark with
//! source offsets, mapped to lines), plus the one place where the reading
//! follows an author's evident intent instead of the letter of CommonMark:
//! code blocks nested in a fence of the same length (see [`Note`]).

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::heading;

/// One fenced code block (```` ``` ```` or `~~~`), by 0-based line numbers of
/// the text the outline was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The line of the opening fence.
    pub open: usize,
    /// The line of the closing fence; `None` when nothing closes it, and
    /// CommonMark runs the block to the end of the document (or of the list
    /// item or quote it sits in).
    pub close: Option<usize>,
    /// The last line the block covers: its closing fence, or the last line
    /// it ran to.
    pub end: usize,
    /// `` ` `` or `~`.
    pub marker: char,
    /// How many markers open it; a close needs at least as many.
    pub len: usize,
    /// The info string after the opening markers (`json`, `markdown`), trimmed.
    pub info: String,
    /// Whether the block sits inside a list item or block quote.
    pub contained: bool,
}

impl Fence {
    /// The lines between the fences (to the end of the block when unclosed).
    pub fn content(&self) -> Range<usize> {
        self.open + 1..self.close.unwrap_or(self.end + 1)
    }
}

/// A reading the outline chose where CommonMark reads otherwise, with the
/// 0-based line it concerns. The workflow parser turns each into a warning
/// in `workflows validate`.
///
/// Two cases, both inside a fence whose inner fences are as long as its own
/// (so CommonMark cannot tell them apart):
///
/// - A fence line with an info string (```` ```json ````) inside an open
///   block is text to CommonMark, and the next bare ```` ``` ```` closes the
///   outer block. Read instead: it opens an inner block, the next fence line
///   closes that inner block, and the outer block ends at the first bare
///   fence after it. Inner blocks do not nest further. If that reading finds
///   no close, CommonMark's stands.
/// - A fence line with an info string that closes an inner block
///   (```` ```text ```` after ```` ```json ````), or that is the only
///   candidate close of a block opened with an info string that CommonMark
///   would run to the end of the document, closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: usize,
    pub kind: NoteKind,
}

/// What a [`Note`] says; its line numbers are 0-based like the note's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteKind {
    /// `fence` (the line as written) opens a block inside the one opened
    /// at `outer`; the inner block closes at `inner_close`, the outer one at
    /// `outer_close`, where CommonMark closes it at `commonmark` (never,
    /// when `None`).
    InnerBlock {
        fence: String,
        outer: usize,
        inner_close: usize,
        outer_close: usize,
        commonmark: Option<usize>,
    },
    /// `fence` (the line as written, with its info string) closes the block
    /// opened at `opened`.
    InfoClose { fence: String, opened: usize },
}

impl Note {
    /// The note as a sentence, naming lines as a file does when the
    /// outline's first line is line `first` of it (1 for a whole file).
    pub fn message(&self, first: usize) -> String {
        let no = |i: usize| i + first;
        match &self.kind {
            NoteKind::InnerBlock {
                fence,
                outer,
                inner_close,
                outer_close,
                commonmark,
            } => {
                let cm = match commonmark {
                    Some(c) => format!("would end the outer block at line {}", no(*c)),
                    None => "would never close the outer block".to_string(),
                };
                let marker = fence.chars().next().unwrap_or('`');
                let run = fence.chars().take_while(|c| *c == marker).count();
                format!(
                    "'{fence}' is read as opening a code block inside the one opened at line {} (the inner block ends at line {}, the outer one at line {}); CommonMark reads it as text and {cm}. To say this unambiguously, open and close the outer block with more {} than any fence inside it (e.g. {})",
                    no(*outer),
                    no(*inner_close),
                    no(*outer_close),
                    if marker == '`' { "backticks" } else { "tildes" },
                    marker.to_string().repeat(run + 1),
                )
            }
            NoteKind::InfoClose { fence, opened } => {
                let bare: String = fence
                    .chars()
                    .take_while(|c| *c == '`' || *c == '~')
                    .collect();
                format!(
                    "'{fence}' is read as closing the code block opened at line {}, as meant; CommonMark does not close a block with a fence that carries an info string. Write the closing fence bare ('{bare}')",
                    no(*opened)
                )
            }
        }
    }
}

/// A line as a fence: its marker, run length and info string. Follows
/// CommonMark: up to three spaces of indent; a backtick fence's info string
/// holds no backtick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FenceLine<'a> {
    pub(crate) marker: char,
    pub(crate) len: usize,
    pub(crate) info: &'a str,
}

pub(crate) fn fence_line(line: &str) -> Option<FenceLine<'_>> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let marker = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = t.chars().take_while(|c| *c == marker).count();
    if len < 3 {
        return None;
    }
    // The marker is one byte, so `len` is a char boundary.
    let info = t[len..].trim();
    if marker == '`' && info.contains('`') {
        return None;
    }
    Some(FenceLine { marker, len, info })
}

/// A line that could close a fence opened by `marker` × `len`: the same
/// marker, at least as many, nothing after them. List-item indent and
/// block-quote markers in front of it are skipped.
fn closes(line: &str, marker: char, len: usize) -> bool {
    let t = line.trim_start_matches([' ', '\t', '>']);
    fence_line(t).is_some_and(|f| f.marker == marker && f.len >= len && f.info.is_empty())
}

/// What the outline records of a document: per line, the level of an ATX
/// heading outside any container and code; the fenced blocks; the notes.
#[derive(Debug, Default)]
pub(super) struct Reading {
    pub(super) headings: Vec<Option<usize>>,
    pub(super) fences: Vec<Fence>,
    pub(super) notes: Vec<Note>,
}

/// Reads `lines` (joined with `\n`). Each segment is read by CommonMark;
/// where a fence needs the reading described at [`Note`], the text after
/// its intended close is read again from there.
pub(super) fn read(lines: &[&str]) -> Reading {
    let mut text = lines.join("\n");
    text.push('\n');
    let text = mask_html(&text);
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut at = 0;
    for l in lines {
        starts.push(at);
        at += l.len() + 1;
    }
    let mut out = Reading {
        headings: vec![None; lines.len()],
        ..Reading::default()
    };
    let mut from = 0;
    while from < lines.len() {
        let base = starts.get(from).copied().unwrap_or(text.len());
        let segment = blocks(&text, base, &starts, lines);
        let repaired = segment
            .fences
            .iter()
            .filter(|f| !f.contained)
            .find_map(|f| repair(lines, f).map(|r| (f.open, r)));
        match repaired {
            None => {
                out.accept(segment, usize::MAX);
                break;
            }
            Some((open, (fence, notes))) => {
                out.accept(segment, open);
                from = fence.end + 1;
                out.fences.push(fence);
                out.notes.extend(notes);
            }
        }
    }
    out
}

impl Reading {
    /// Takes the headings and fences of `segment` that start before `limit`.
    fn accept(&mut self, segment: Segment, limit: usize) {
        for (line, level) in segment.headings {
            if line < limit {
                if let Some(h) = self.headings.get_mut(line) {
                    *h = Some(level);
                }
            }
        }
        self.fences
            .extend(segment.fences.into_iter().filter(|f| f.open < limit));
    }
}

/// `<` opens a placeholder in this format, not HTML: to CommonMark a line
/// such as `<Summary of findings>` opens an HTML block that swallows the
/// lines after it (headings included) up to a blank line. So every `<` is
/// read as a letter (the same byte length, so offsets still match), except
/// where it opens an HTML comment, which keeps CommonMark's reading.
fn mask_html(text: &str) -> String {
    text.char_indices()
        .map(|(i, c)| {
            if c == '<' && !text[i + 1..].starts_with("!--") {
                'x'
            } else {
                c
            }
        })
        .collect()
}

/// The headings and fences CommonMark finds in `text[base..]`.
#[derive(Debug, Default)]
struct Segment {
    headings: Vec<(usize, usize)>,
    fences: Vec<Fence>,
}

fn blocks(text: &str, base: usize, starts: &[usize], lines: &[&str]) -> Segment {
    let line_of = |offset: usize| {
        starts
            .partition_point(|s| *s <= base + offset)
            .saturating_sub(1)
    };
    let part = text.get(base..).unwrap_or("");
    let mut out = Segment::default();
    let mut containers = 0usize;
    for (event, range) in Parser::new_ext(part, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::BlockQuote(_) | Tag::List(_) | Tag::Item) => containers += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item) => {
                containers = containers.saturating_sub(1);
            }
            Event::Start(Tag::Heading { level, .. }) if containers == 0 => {
                let line = line_of(range.start);
                // An ATX heading is one line; a setext heading (text over
                // `---` or `===`) is not counted: authors use `---` as a
                // separator, and a paragraph right above one would turn
                // into a section.
                let one_line = line_of(range.end.saturating_sub(1)) == line;
                let atx = lines.get(line).is_some_and(|l| heading(l).is_some());
                if one_line && atx {
                    out.headings.push((line, level as usize));
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let open = line_of(range.start);
                let end = line_of(range.end.saturating_sub(1));
                let opener = part.get(range.start..).and_then(|s| s.lines().next());
                let Some(f) = opener.and_then(fence_line) else {
                    continue;
                };
                let ended_by_fence = !part.get(range.clone()).is_some_and(|s| s.ends_with('\n'));
                let closed = end > open
                    && ended_by_fence
                    && lines.get(end).is_some_and(|l| closes(l, f.marker, f.len));
                out.fences.push(Fence {
                    open,
                    close: closed.then_some(end),
                    end,
                    marker: f.marker,
                    len: f.len,
                    info: info.trim().to_string(),
                    contained: containers > 0,
                });
            }
            _ => {}
        }
    }
    out
}

/// The intended reading of `f`, if it holds a fence line with an info
/// string at least as long as its own (see [`Note`]): the block as meant,
/// and notes for where that differs from CommonMark.
fn repair(lines: &[&str], f: &Fence) -> Option<(Fence, Vec<Note>)> {
    let same = |i: usize| {
        lines
            .get(i)
            .and_then(|l| fence_line(l))
            .filter(|x| x.marker == f.marker && x.len >= f.len)
    };
    let signal = f
        .content()
        .find(|i| same(*i).is_some_and(|x| !x.info.is_empty()))?;
    let shown = |i: usize| lines.get(i).map_or("", |l| l.trim());
    if f.close.is_none() && !f.info.is_empty() {
        let note = info_close(shown(signal), signal, f.open);
        let fence = Fence {
            close: Some(signal),
            end: signal,
            ..f.clone()
        };
        return Some((fence, vec![note]));
    }
    let mut inner: Option<usize> = None;
    let mut notes = Vec::new();
    let mut opened = Vec::new();
    for i in f.open + 1..lines.len() {
        let Some(x) = same(i) else { continue };
        match (inner, x.info.is_empty()) {
            (None, false) => inner = Some(i),
            (Some(o), bare) => {
                opened.push((o, i));
                if !bare {
                    notes.push(info_close(shown(i), i, o));
                }
                inner = None;
            }
            (None, true) => {
                if f.close != Some(i) {
                    notes.extend(opened.into_iter().map(|(o, c)| Note {
                        line: o,
                        kind: NoteKind::InnerBlock {
                            fence: shown(o).to_string(),
                            outer: f.open,
                            inner_close: c,
                            outer_close: i,
                            commonmark: f.close,
                        },
                    }));
                }
                notes.sort_by_key(|n| n.line);
                let fence = Fence {
                    close: Some(i),
                    end: i,
                    ..f.clone()
                };
                return Some((fence, notes));
            }
        }
    }
    None
}

/// The note for a fence line with an info string read as a close.
fn info_close(shown: &str, line: usize, opened: usize) -> Note {
    Note {
        line,
        kind: NoteKind::InfoClose {
            fence: shown.to_string(),
            opened,
        },
    }
}
