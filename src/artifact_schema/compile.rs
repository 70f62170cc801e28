//! Template → shape. The template's headings give the sections, and each
//! section's body is classified as a list, key lines, an enum, step blocks,
//! subsections or free text (the rules are listed in the documentation of
//! `artifact_schema`).

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::shape::{
    pieces_regex, Field, Intro, Item, Joined, KeyLine, Kind, List, Marker, Matcher, Object, Piece,
    Section, SectionHeading, Steps,
};
use super::text::{
    alternatives, is_blank_or_continuation, list_item, placeholder_count, segments, snake_case,
    static_re, template_key_line, unique_key, Alternatives, Segment, CHECKBOX, CONTINUATION,
    PLACEHOLDER,
};
use super::{title, SchemaError};
use crate::markdown::Outline;

/// A `Word N: <placeholder>` template heading (`### Step 1: <Name>`,
/// `### Phase 2: <Title>`): one block of a run of numbered blocks. Unlike
/// [`crate::markdown::step_heading`], which reads a plan's `Step N: Name`,
/// any word may number the blocks and the rest must hold a placeholder.
static STEP_HEADING: LazyLock<Regex> =
    LazyLock::new(|| static_re(r"^(\p{L}+)\s+(\d+)\s*([:.—–-])\s*(.*<[^<>]+>.*)$"));

/// The template's shape: its root object, whose subsections are the
/// top-level sections. Only a template without any heading fails.
///
/// A title line ([`Outline::title`]: a first-line H1 above deeper
/// headings) is not a section. Without placeholders it is copied into every
/// rendering like any literal intro; with placeholders it renders from the
/// root's title fields: `title` for one placeholder
/// (`# Migration Assessment: <system>` → `title`), `title_<words>` for
/// each of several.
pub(super) fn template_shape(template: &str) -> Result<Object, SchemaError> {
    let outline = Outline::new(template);
    let t = &outline;
    let title_line = t.title();
    let headed = |i: &usize| Some(*i) != title_line;
    let levels: Vec<usize> = (0..t.len())
        .filter(headed)
        .filter_map(|i| t.level(i))
        .collect();
    let root_level = if levels.contains(&2) {
        2
    } else {
        *levels.iter().min().ok_or(SchemaError::NoSections)?
    };
    let first = (0..t.len())
        .filter(headed)
        .find(|i| t.level(*i) == Some(root_level))
        .ok_or(SchemaError::NoSections)?;
    let (_, chunks) = t.split(first, t.len(), |level, _| level <= root_level);
    let c = Compiler { template: t };
    let mut used = HashSet::new();
    let title = title_line.and_then(|h| title::compile(t, h, &mut used));
    let (holes, title, intro_start) = match (title, title_line) {
        (Some((holes, title)), Some(h)) => (holes, Some(title), h + 1),
        _ => (Vec::new(), None, 0),
    };
    let mut root = c.object(holes, used, (intro_start, first), &chunks, "preamble", true);
    root.title = title;
    Ok(root)
}

/// What a run of template lines is, before it becomes an object's intro or
/// a section's field.
enum Body {
    Empty,
    Literal(String),
    KeyLines(Vec<(char, String, String)>),
    Field(Kind, String),
}

/// Builds the shape of each part of one template. Parts are named by line
/// ranges of the template's outline: a chunk is `(heading line, end)`.
struct Compiler<'t, 'a> {
    template: &'t Outline<'a>,
}

impl Compiler<'_, '_> {
    /// A heading line's level and text.
    fn heading(&self, h: usize) -> (usize, String) {
        match self.template.heading(h) {
            Some((l, t)) => (l, t.to_string()),
            // Chunks always start at a heading; an empty heading is harmless.
            _ => (2, String::new()),
        }
    }

    /// Splits a heading's body at its shallowest headings: where the intro
    /// ends, and the chunk of each subsection.
    fn split_body(&self, start: usize, end: usize) -> (usize, Vec<(usize, usize)>) {
        let t = self.template;
        let Some(sub) = (start..end).filter_map(|i| t.level(i)).min() else {
            return (end, Vec::new());
        };
        t.split(start, end, |level, _| level <= sub)
    }

    /// An object from its heading's `holes` (their keys already `used`), its
    /// intro lines and its subsection chunks. An intro that is a field is
    /// keyed `body_key`; `top` is set for the root (see `step_run`).
    fn object(
        &self,
        holes: Vec<Field>,
        mut used: HashSet<String>,
        intro: (usize, usize),
        subs: &[(usize, usize)],
        body_key: &str,
        top: bool,
    ) -> Object {
        let intro = match self.classify(intro.0, intro.1) {
            Body::Empty => Intro::None,
            Body::KeyLines(kls) => Intro::KeyLines(key_lines(kls, &mut used)),
            Body::Literal(text) if !subs.is_empty() => Intro::Literal(text),
            Body::Literal(text) => Intro::Body(Field {
                key: unique_key(body_key, &mut used),
                description: text,
                kind: Kind::Text { inline: false },
            }),
            Body::Field(kind, description) => Intro::Body(Field {
                key: unique_key(body_key, &mut used),
                description,
                kind,
            }),
        };
        let subs = self.subsections(subs, &mut used, top);
        Object {
            holes,
            intro,
            subs,
            title: None,
        }
    }

    /// The sections of subsection chunks; a run of step blocks becomes one
    /// section without a heading of its own.
    fn subsections(
        &self,
        subs: &[(usize, usize)],
        used: &mut HashSet<String>,
        top: bool,
    ) -> Vec<Section> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < subs.len() {
            match self.step_run(&subs[i..], top) {
                Some(n) => {
                    let run = &subs[i..i + n];
                    let steps = self.steps(run);
                    out.push(Section {
                        field: Field {
                            key: unique_key(&format!("{}s", snake_case(&steps.word, 4)), used),
                            description: format!(
                                "The {}s in order; each renders as '{}' with its fields",
                                steps.word.to_lowercase(),
                                steps.heading
                            ),
                            kind: Kind::Steps(Box::new(steps.clone())),
                        },
                        level: steps.level,
                        heading: None,
                    });
                    i += n;
                }
                None => {
                    out.push(self.section(subs[i], used));
                    i += 1;
                }
            }
        }
        out
    }

    /// How many chunks from the first form a `Step 1`, `Step 2`, … run. A
    /// run must start at 1: a lone `Step 3` is one step's own heading. At
    /// the top level (`top`) a lone `Step 1` is also one step's own heading
    /// (a per-step template instantiated for step 1) unless a bare `...`
    /// line ends it to say more steps follow.
    fn step_run(&self, subs: &[(usize, usize)], top: bool) -> Option<usize> {
        let first = subs.first()?;
        let (_, text) = self.heading(first.0);
        let c = STEP_HEADING.captures(&text)?;
        if &c[2] != "1" {
            return None;
        }
        let word = c[1].to_lowercase();
        let mut n = 1;
        while let Some(next) = subs.get(n) {
            let (_, t) = self.heading(next.0);
            match STEP_HEADING.captures(&t) {
                Some(c2) if c2[1].to_lowercase() == word && c2[2] == (n + 1).to_string() => n += 1,
                _ => break,
            }
        }
        let continued = subs[..n].last().is_some_and(|(h, end)| {
            self.template
                .lines(h + 1, *end)
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| matches!(l.trim(), "..." | "…"))
        });
        (!top || n >= 2 || continued).then_some(n)
    }

    /// The shape of a run of step blocks, from its first block.
    fn steps(&self, run: &[(usize, usize)]) -> Steps {
        let (h, end) = run.first().copied().unwrap_or((0, 0));
        let (level, text) = self.heading(h);
        let (word, sep, rest) = match STEP_HEADING.captures(&text) {
            Some(c) => (c[1].to_string(), c[3].to_string(), c[4].to_string()),
            None => ("Step".to_string(), ":".to_string(), "<Name>".to_string()),
        };
        let mut own = HashSet::new();
        let (holes, pieces) = heading_holes(&segments(&rest), &mut own);
        let (intro_end, subs) = self.split_body(h + 1, end);
        let item = self.object(holes, own, (h + 1, intro_end), &subs, "body", false);
        let source = format!(
            r"(?i)^\s*{}\s*(\d+)\s*[:.—–-]?\s*{}\s*$",
            regex::escape(&word),
            pieces_regex(&pieces)
        );
        // The source is built from escaped text and fixed groups; failing
        // would need a heading beyond the regex size limit, and then the
        // generic pattern still finds `Word N: rest` headings.
        let heading_re = Regex::new(&source)
            .unwrap_or_else(|_| static_re(r"(?i)^\s*\p{L}+\s*(\d+)\s*[:.—–-]?\s*(.*)$"));
        Steps {
            level,
            word,
            sep,
            rest: pieces,
            item,
            heading_re,
            heading: format!("{} {text}", "#".repeat(level)),
        }
    }

    /// One section: keyed by its heading's words (or its first placeholder),
    /// its field a string, enum, list, key-line object, step run or object
    /// of subsections.
    fn section(&self, (h, end): (usize, usize), used: &mut HashSet<String>) -> Section {
        let (level, text) = self.heading(h);
        let heading_segments = segments(&text);
        let literal: String = heading_segments
            .iter()
            .filter_map(|b| match b {
                Segment::Literal(s) => Some(s.as_str()),
                Segment::Placeholder(_) => None,
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut base = snake_case(&literal, usize::MAX);
        if base.is_empty() {
            base = heading_segments
                .iter()
                .find_map(|b| match b {
                    Segment::Placeholder(s) => Some(snake_case(s, 4)),
                    Segment::Literal(_) => None,
                })
                .unwrap_or_default();
        }
        if base.is_empty() {
            base = "section".to_string();
        }
        let key = unique_key(&base, used);
        let mut own = HashSet::new();
        let (holes, pieces) = heading_holes(&heading_segments, &mut own);
        let heading = SectionHeading {
            text: format!("{} {text}", "#".repeat(level)),
            matcher: Matcher::new(&heading_segments, &pieces),
            pieces,
        };
        let (intro_end, subs) = self.split_body(h + 1, end);
        let intro_blank = self
            .template
            .lines(h + 1, intro_end)
            .iter()
            .all(|l| is_blank_or_continuation(l));
        let (kind, description) = if holes.is_empty() && subs.is_empty() {
            match self.classify(h + 1, intro_end) {
                Body::Empty => (
                    Kind::Text { inline: false },
                    format!("Free Markdown for '{}'", heading.text),
                ),
                Body::Literal(s) => (Kind::Text { inline: false }, s),
                Body::Field(k, d) => (k, d),
                Body::KeyLines(kls) => {
                    let intro = Intro::KeyLines(key_lines(kls, &mut own));
                    let o = Object {
                        holes: Vec::new(),
                        intro,
                        subs: Vec::new(),
                        title: None,
                    };
                    (Kind::Object(Box::new(o)), heading.text.clone())
                }
            }
        } else if holes.is_empty() && intro_blank && self.step_run(&subs, false) == Some(subs.len())
        {
            let steps = self.steps(&subs);
            let description = format!(
                "The {}s in order; each renders as '{}' with its fields",
                steps.word.to_lowercase(),
                steps.heading
            );
            (Kind::Steps(Box::new(steps)), description)
        } else {
            let o = self.object(holes, own, (h + 1, intro_end), &subs, "body", false);
            (Kind::Object(Box::new(o)), heading.text.clone())
        };
        Section {
            field: Field {
                key,
                description,
                kind,
            },
            level,
            heading: Some(heading),
        }
    }

    /// What template lines `start..end` are. A body holding a code fence is
    /// never a list or a single placeholder: it is copied as literal text,
    /// or is free text if it holds placeholders.
    fn classify(&self, start: usize, end: usize) -> Body {
        let all = self.template.lines(start, end);
        let first = all.iter().position(|l| !l.trim().is_empty());
        let last = all.iter().rposition(|l| !l.trim().is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Body::Empty;
        };
        let lines = &all[first..=last];
        let text = lines.join("\n");
        let fenced = (start + first..=start + last).any(|i| self.template.is_fenced(i));
        if !fenced {
            let mut items: Vec<(Marker, String)> = Vec::new();
            let mut other: Vec<&str> = Vec::new();
            let mut hint = None;
            for l in lines.iter().filter(|l| !l.trim().is_empty()) {
                if let Some(c) = CONTINUATION.captures(l) {
                    if hint.is_none() {
                        hint = c.get(1).map(|m| m.as_str().trim().to_string());
                    }
                    continue;
                }
                match template_list_line(l) {
                    Some(item) => items.push(item),
                    None => other.push(l),
                }
            }
            if items.is_empty() && other.is_empty() {
                return Body::Empty;
            }
            if other.is_empty() {
                if let Some(kls) = all_key_lines(&items) {
                    return Body::KeyLines(kls);
                }
                if let Some((m, _)) = items.first() {
                    if items.iter().all(|(m2, _)| m2 == m) {
                        let texts: Vec<String> = items.iter().map(|(_, t)| t.clone()).collect();
                        let item = item_shape(&texts);
                        let mut examples: Vec<&str> = Vec::new();
                        for t in &texts {
                            if !examples.contains(&t.as_str()) {
                                examples.push(t);
                            }
                        }
                        let mut description =
                            format!("One entry per item, like: {}", examples.join(" | "));
                        if let Some(h) = hint {
                            description.push_str(&format!(" ({h})"));
                        }
                        return Body::Field(
                            Kind::List(Box::new(List { marker: *m, item })),
                            description,
                        );
                    }
                }
            }
            if let ([line], true) = (other.as_slice(), items.is_empty()) {
                let line = line.trim();
                let b = segments(line);
                match b.as_slice() {
                    [Segment::Placeholder(inner)] => {
                        return Body::Field(Kind::of_placeholder(inner, false), inner.clone());
                    }
                    _ if placeholder_count(&b) > 0 => {
                        return Body::Field(Kind::Text { inline: false }, line.to_string());
                    }
                    _ => {}
                }
            }
        }
        if !PLACEHOLDER.is_match(&text) {
            return Body::Literal(text);
        }
        Body::Field(
            Kind::Text { inline: false },
            format!("Free Markdown shaped like:\n{text}"),
        )
    }
}

/// A heading's placeholders as inline string fields (keyed in `own`, the
/// heading object's keys) and its pieces, each hole indexing those fields.
pub(super) fn heading_holes(b: &[Segment], own: &mut HashSet<String>) -> (Vec<Field>, Vec<Piece>) {
    let mut holes = Vec::new();
    let mut pieces = Vec::new();
    for x in b {
        match x {
            Segment::Literal(s) => pieces.push(Piece::Lit(s.clone())),
            Segment::Placeholder(inner) => {
                let base = match snake_case(inner, 4) {
                    k if k.is_empty() => "name".to_string(),
                    k => k,
                };
                holes.push(Field {
                    key: unique_key(&base, own),
                    description: inner.clone(),
                    kind: Kind::Text { inline: true },
                });
                pieces.push(Piece::Hole(holes.len() - 1));
            }
        }
    }
    (holes, pieces)
}

/// `(marker, key, value)` of each item if every item is a bulleted
/// `**Key:** value` line.
fn all_key_lines(items: &[(Marker, String)]) -> Option<Vec<(char, String, String)>> {
    items
        .iter()
        .map(|(m, t)| match m {
            Marker::Bullet(c) => template_key_line(t).map(|(k, v)| (*c, k, v)),
            _ => None,
        })
        .collect()
}

/// Key lines as fields: a value that is one placeholder is a string or an
/// enum; any other value is an inline string described by it.
fn key_lines(kls: Vec<(char, String, String)>, used: &mut HashSet<String>) -> Vec<KeyLine> {
    kls.into_iter()
        .map(|(marker, label, value)| {
            let b = segments(&value);
            let (kind, description) = match b.as_slice() {
                [Segment::Placeholder(inner)] => (Kind::of_placeholder(inner, true), inner.clone()),
                _ if value.is_empty() => (Kind::Text { inline: true }, label.clone()),
                _ => (Kind::Text { inline: true }, value.clone()),
            };
            KeyLine {
                marker,
                field: Field {
                    key: unique_key(&snake_case(&label, usize::MAX), used),
                    description,
                    kind,
                },
                label,
            }
        })
        .collect()
}

/// The shape of a list's items, from the template's example items.
fn item_shape(texts: &[String]) -> Item {
    let all: Vec<Vec<Segment>> = texts.iter().map(|t| segments(t)).collect();
    let examples = texts.join("; ");
    let text_item = |description: String| {
        Item::Single(Field {
            key: "item".to_string(),
            description,
            kind: Kind::Text { inline: true },
        })
    };
    let signature = |b: &[Segment]| -> Vec<Option<String>> {
        b.iter()
            .map(|x| match x {
                Segment::Literal(s) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
                Segment::Placeholder(_) => None,
            })
            .collect()
    };
    let Some(first) = all.first() else {
        return text_item(String::new());
    };
    if !all.iter().all(|b| signature(b) == signature(first)) {
        return text_item(format!("e.g. {examples}"));
    }
    match (placeholder_count(first), first.as_slice()) {
        (0, _) => text_item(format!("e.g. {examples}")),
        (1, [Segment::Placeholder(inner)]) => {
            if all.iter().all(|b| b == first) {
                Item::Single(Field {
                    key: "item".to_string(),
                    description: inner.clone(),
                    kind: Kind::of_placeholder(inner, true),
                })
            } else {
                text_item(format!("e.g. {examples}"))
            }
        }
        (1, _) => text_item(examples),
        _ => joined(&all, texts).unwrap_or_else(|| text_item(examples)),
    }
}

/// A joined item from example items with several placeholders, or `None`
/// when two placeholders are not separated by literal text.
fn joined(all: &[Vec<Segment>], texts: &[String]) -> Option<Item> {
    let first = all.first()?;
    // Literal text between two placeholders must separate them visibly, or
    // the fields could not be told apart when read back.
    let holes_at: Vec<usize> = first
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Segment::Placeholder(_)))
        .map(|(i, _)| i)
        .collect();
    let (lo, hi) = (*holes_at.first()?, *holes_at.last()?);
    let separated = first[lo..=hi].iter().all(|b| match b {
        Segment::Literal(s) => !s.trim().is_empty(),
        Segment::Placeholder(_) => true,
    });
    if !separated {
        return None;
    }
    let mut used = HashSet::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut pieces = Vec::new();
    for (k, b) in first.iter().enumerate() {
        match b {
            Segment::Literal(s) => pieces.push(Piece::Lit(s.clone())),
            Segment::Placeholder(inner) => {
                let inners: Vec<&str> = all
                    .iter()
                    .filter_map(|x| match x.get(k) {
                        Some(Segment::Placeholder(h)) => Some(h.as_str()),
                        _ => None,
                    })
                    .collect();
                let (base, kind, description) = if inners.iter().all(|x| x == inner) {
                    match alternatives(inner) {
                        Some(Alternatives {
                            values,
                            detail: None,
                        }) => ("value".to_string(), Kind::Enum(values), inner.clone()),
                        // An enum with details inside a joined item would need
                        // its own separator; it stays free text.
                        Some(_) => (
                            "value".to_string(),
                            Kind::Text { inline: true },
                            inner.clone(),
                        ),
                        None => (
                            snake_case(inner, 4),
                            Kind::Text { inline: true },
                            inner.clone(),
                        ),
                    }
                } else {
                    let generic = if fields.is_empty() { "item" } else { "detail" };
                    (
                        generic.to_string(),
                        Kind::Text { inline: true },
                        format!("e.g. {}", inners.join("; ")),
                    )
                };
                fields.push(Field {
                    key: unique_key(&base, &mut used),
                    description,
                    kind,
                });
                pieces.push(Piece::Hole(fields.len() - 1));
            }
        }
    }
    Joined::new(texts.first().cloned().unwrap_or_default(), pieces, fields).map(Item::Joined)
}

/// A template list line: its marker and its text.
fn template_list_line(line: &str) -> Option<(Marker, String)> {
    let (bullet, rest) = list_item(line)?;
    Some(match bullet {
        Some(b) => match CHECKBOX.find(rest) {
            Some(m) => (Marker::Checkbox(b), rest[m.end()..].trim().to_string()),
            None => (Marker::Bullet(b), rest.trim().to_string()),
        },
        None => (Marker::Numbered, rest.trim().to_string()),
    })
}
