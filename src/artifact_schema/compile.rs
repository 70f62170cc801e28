//! Template → shape. The template's headings give the sections, and each
//! section's body is classified as a list, key lines, an enum, step blocks,
//! subsections or free text (the rules are listed in the documentation of
//! `artifact_schema`).

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::shape::{
    item_regex, pieces_regex, Field, Heading, Item, Joined, KeyLine, Kind, Lead, List, Marker,
    Matcher, Object, Piece, Section, Steps,
};
use super::text::{
    alternatives, bits, hole_count, is_blank_or_continuation, list_item, snake, static_re,
    template_key_line, unique, Alternatives, Bit, CHECKBOX, CONTINUATION, PLACEHOLDER,
};
use super::SchemaError;
use crate::markdown::Outline;

/// A `Word N: <placeholder>` template heading (`### Step 1: <Name>`,
/// `### Phase 2: <Title>`): one block of a run of numbered blocks. Unlike
/// [`crate::markdown::step_heading`], which reads a plan's `Step N: Name`,
/// any word may number the blocks and the rest must hold a placeholder.
static STEP_HEADING: LazyLock<Regex> =
    LazyLock::new(|| static_re(r"^(\p{L}+)\s+(\d+)\s*([:.—–-])\s*(.*<[^<>]+>.*)$"));

/// The template's shape: its root object, whose subsections are the
/// top-level sections. Only a template without any heading fails.
pub(super) fn template_shape(template: &str) -> Result<Object, SchemaError> {
    let t = Outline::new(template);
    let levels: Vec<usize> = (0..t.len()).filter_map(|i| t.level(i)).collect();
    let root_level = if levels.contains(&2) {
        2
    } else {
        *levels.iter().min().ok_or(SchemaError::NoSections)?
    };
    let first = (0..t.len())
        .find(|i| t.level(*i) == Some(root_level))
        .ok_or(SchemaError::NoSections)?;
    let (_, chunks) = t.split(first, t.len(), |level, _| level <= root_level);
    let c = Compiler { t: &t };
    Ok(c.object(
        Vec::new(),
        HashSet::new(),
        (0, first),
        &chunks,
        "preamble",
        true,
    ))
}

/// Splits a heading's body at its shallowest headings: where the lead
/// ends, and the `(heading line, end)` of each subsection.
fn split_body(t: &Outline, start: usize, end: usize) -> (usize, Vec<(usize, usize)>) {
    let Some(sub) = (start..end).filter_map(|i| t.level(i)).min() else {
        return (end, Vec::new());
    };
    t.split(start, end, |level, _| level <= sub)
}

enum Body {
    Empty,
    Literal(String),
    KeyLines(Vec<(char, String, String)>),
    Field(Kind, String),
}

struct Compiler<'t, 'a> {
    t: &'t Outline<'a>,
}

impl Compiler<'_, '_> {
    fn heading(&self, h: usize) -> (usize, String) {
        match self.t.heading(h) {
            Some((l, t)) => (l, t.to_string()),
            // Chunks always start at a heading; an empty heading is harmless.
            _ => (2, String::new()),
        }
    }

    fn object(
        &self,
        holes: Vec<Field>,
        mut used: HashSet<String>,
        lead: (usize, usize),
        subs: &[(usize, usize)],
        body_key: &str,
        top: bool,
    ) -> Object {
        let lead = match self.classify(lead.0, lead.1) {
            Body::Empty => Lead::None,
            Body::KeyLines(kls) => Lead::KeyLines(key_lines(kls, &mut used)),
            Body::Literal(text) if !subs.is_empty() => Lead::Literal(text),
            Body::Literal(text) => Lead::Body(Field {
                key: unique(body_key, &mut used),
                description: text,
                kind: Kind::Text { inline: false },
            }),
            Body::Field(kind, description) => Lead::Body(Field {
                key: unique(body_key, &mut used),
                description,
                kind,
            }),
        };
        let subs = self.subsections(subs, &mut used, top);
        Object { holes, lead, subs }
    }

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
                            key: unique(&format!("{}s", snake(&steps.word, 4)), used),
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
            self.t
                .lines(h + 1, *end)
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| matches!(l.trim(), "..." | "…"))
        });
        (!top || n >= 2 || continued).then_some(n)
    }

    fn steps(&self, run: &[(usize, usize)]) -> Steps {
        let (h, end) = run.first().copied().unwrap_or((0, 0));
        let (level, text) = self.heading(h);
        let (word, sep, rest) = match STEP_HEADING.captures(&text) {
            Some(c) => (c[1].to_string(), c[3].to_string(), c[4].to_string()),
            None => ("Step".to_string(), ":".to_string(), "<Name>".to_string()),
        };
        let mut own = HashSet::new();
        let (holes, pieces) = heading_holes(&bits(&rest), &mut own);
        let (lead_end, subs) = split_body(self.t, h + 1, end);
        let item = self.object(holes, own, (h + 1, lead_end), &subs, "body", false);
        let source = format!(
            r"(?i)^\s*{}\s*(\d+)\s*[:.—–-]?\s*{}\s*$",
            regex::escape(&word),
            pieces_regex(&pieces)
        );
        // The source is built from escaped text and fixed groups; failing
        // would need a heading beyond the regex size limit, and then the
        // generic pattern still finds `Word N: rest` headings.
        let re = Regex::new(&source)
            .unwrap_or_else(|_| static_re(r"(?i)^\s*\p{L}+\s*(\d+)\s*[:.—–-]?\s*(.*)$"));
        Steps {
            level,
            word,
            sep,
            rest: pieces,
            item,
            re,
            heading: format!("{} {text}", "#".repeat(level)),
        }
    }

    fn section(&self, (h, end): (usize, usize), used: &mut HashSet<String>) -> Section {
        let (level, text) = self.heading(h);
        let hb = bits(&text);
        let literal: String = hb
            .iter()
            .filter_map(|b| match b {
                Bit::Lit(s) => Some(s.as_str()),
                Bit::Hole(_) => None,
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut base = snake(&literal, usize::MAX);
        if base.is_empty() {
            base = hb
                .iter()
                .find_map(|b| match b {
                    Bit::Hole(s) => Some(snake(s, 4)),
                    Bit::Lit(_) => None,
                })
                .unwrap_or_default();
        }
        if base.is_empty() {
            base = "section".to_string();
        }
        let key = unique(&base, used);
        let mut own = HashSet::new();
        let (holes, pieces) = heading_holes(&hb, &mut own);
        let heading = Heading {
            text: format!("{} {text}", "#".repeat(level)),
            matcher: Matcher::new(&hb, &pieces),
            pieces,
        };
        let (lead_end, subs) = split_body(self.t, h + 1, end);
        let lead_blank = self
            .t
            .lines(h + 1, lead_end)
            .iter()
            .all(|l| is_blank_or_continuation(l));
        let (kind, description) = if holes.is_empty() && subs.is_empty() {
            match self.classify(h + 1, lead_end) {
                Body::Empty => (
                    Kind::Text { inline: false },
                    format!("Free Markdown for '{}'", heading.text),
                ),
                Body::Literal(s) => (Kind::Text { inline: false }, s),
                Body::Field(k, d) => (k, d),
                Body::KeyLines(kls) => {
                    let lead = Lead::KeyLines(key_lines(kls, &mut own));
                    let o = Object {
                        holes: Vec::new(),
                        lead,
                        subs: Vec::new(),
                    };
                    (Kind::Object(Box::new(o)), heading.text.clone())
                }
            }
        } else if holes.is_empty() && lead_blank && self.step_run(&subs, false) == Some(subs.len())
        {
            let steps = self.steps(&subs);
            let description = format!(
                "The {}s in order; each renders as '{}' with its fields",
                steps.word.to_lowercase(),
                steps.heading
            );
            (Kind::Steps(Box::new(steps)), description)
        } else {
            let o = self.object(holes, own, (h + 1, lead_end), &subs, "body", false);
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

    fn classify(&self, start: usize, end: usize) -> Body {
        let all = self.t.lines(start, end);
        let first = all.iter().position(|l| !l.trim().is_empty());
        let last = all.iter().rposition(|l| !l.trim().is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Body::Empty;
        };
        let lines = &all[first..=last];
        let text = lines.join("\n");
        let fenced = (start + first..=start + last).any(|i| self.t.is_fenced(i));
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
                let b = bits(line);
                match b.as_slice() {
                    [Bit::Hole(inner)] => {
                        return Body::Field(placeholder_kind(inner, false), inner.clone());
                    }
                    _ if hole_count(&b) > 0 => {
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

fn heading_holes(b: &[Bit], own: &mut HashSet<String>) -> (Vec<Field>, Vec<Piece>) {
    let mut holes = Vec::new();
    let mut pieces = Vec::new();
    for x in b {
        match x {
            Bit::Lit(s) => pieces.push(Piece::Lit(s.clone())),
            Bit::Hole(inner) => {
                let base = match snake(inner, 4) {
                    k if k.is_empty() => "name".to_string(),
                    k => k,
                };
                holes.push(Field {
                    key: unique(&base, own),
                    description: inner.clone(),
                    kind: Kind::Text { inline: true },
                });
                pieces.push(Piece::Hole(holes.len() - 1));
            }
        }
    }
    (holes, pieces)
}

fn all_key_lines(items: &[(Marker, String)]) -> Option<Vec<(char, String, String)>> {
    items
        .iter()
        .map(|(m, t)| match m {
            Marker::Bullet(c) => template_key_line(t).map(|(k, v)| (*c, k, v)),
            _ => None,
        })
        .collect()
}

fn key_lines(kls: Vec<(char, String, String)>, used: &mut HashSet<String>) -> Vec<KeyLine> {
    kls.into_iter()
        .map(|(marker, label, value)| {
            let b = bits(&value);
            let (kind, description) = match b.as_slice() {
                [Bit::Hole(inner)] => (placeholder_kind(inner, true), inner.clone()),
                _ if value.is_empty() => (Kind::Text { inline: true }, label.clone()),
                _ => (Kind::Text { inline: true }, value.clone()),
            };
            KeyLine {
                marker,
                field: Field {
                    key: unique(&snake(&label, usize::MAX), used),
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
    let all: Vec<Vec<Bit>> = texts.iter().map(|t| bits(t)).collect();
    let examples = texts.join("; ");
    let text_item = |description: String| {
        Item::Single(Field {
            key: "item".to_string(),
            description,
            kind: Kind::Text { inline: true },
        })
    };
    let signature = |b: &[Bit]| -> Vec<Option<String>> {
        b.iter()
            .map(|x| match x {
                Bit::Lit(s) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
                Bit::Hole(_) => None,
            })
            .collect()
    };
    let Some(first) = all.first() else {
        return text_item(String::new());
    };
    if !all.iter().all(|b| signature(b) == signature(first)) {
        return text_item(format!("e.g. {examples}"));
    }
    match (hole_count(first), first.as_slice()) {
        (0, _) => text_item(format!("e.g. {examples}")),
        (1, [Bit::Hole(inner)]) => {
            if all.iter().all(|b| b == first) {
                Item::Single(Field {
                    key: "item".to_string(),
                    description: inner.clone(),
                    kind: placeholder_kind(inner, true),
                })
            } else {
                text_item(format!("e.g. {examples}"))
            }
        }
        (1, _) => text_item(examples),
        _ => joined(&all, texts).unwrap_or_else(|| text_item(examples)),
    }
}

fn joined(all: &[Vec<Bit>], texts: &[String]) -> Option<Item> {
    let first = all.first()?;
    // Literal text between two placeholders must separate them visibly, or
    // the fields could not be told apart when read back.
    let holes_at: Vec<usize> = first
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Bit::Hole(_)))
        .map(|(i, _)| i)
        .collect();
    let (lo, hi) = (*holes_at.first()?, *holes_at.last()?);
    let separated = first[lo..=hi].iter().all(|b| match b {
        Bit::Lit(s) => !s.trim().is_empty(),
        Bit::Hole(_) => true,
    });
    if !separated {
        return None;
    }
    let mut used = HashSet::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut pieces = Vec::new();
    for (k, b) in first.iter().enumerate() {
        match b {
            Bit::Lit(s) => pieces.push(Piece::Lit(s.clone())),
            Bit::Hole(inner) => {
                let inners: Vec<&str> = all
                    .iter()
                    .filter_map(|x| match x.get(k) {
                        Some(Bit::Hole(h)) => Some(h.as_str()),
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
                        None => (snake(inner, 4), Kind::Text { inline: true }, inner.clone()),
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
                    key: unique(&base, &mut used),
                    description,
                    kind,
                });
                pieces.push(Piece::Hole(fields.len() - 1));
            }
        }
    }
    let defuse = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = pieces
                .iter()
                .position(|p| matches!(p, Piece::Hole(h) if *h == i));
            let dash_follows = at
                .and_then(|a| pieces.get(a + 1))
                .is_some_and(|p| matches!(p, Piece::Lit(s) if s.contains(['—', '–'])));
            let more =
                at.is_some_and(|a| pieces[a + 1..].iter().any(|p| matches!(p, Piece::Hole(_))));
            matches!(f.kind, Kind::Text { .. }) && dash_follows && more
        })
        .collect();
    let exact = item_regex(&pieces, &fields, false).ok()?;
    let loose = item_regex(&pieces, &fields, true).ok()?;
    Some(Item::Joined(Joined {
        template: texts.first().cloned().unwrap_or_default(),
        pieces,
        fields,
        defuse,
        exact,
        loose,
    }))
}

fn placeholder_kind(inner: &str, inline: bool) -> Kind {
    match alternatives(inner) {
        Some(Alternatives {
            values,
            detail: None,
        }) => Kind::Enum(values),
        Some(Alternatives {
            values,
            detail: Some(d),
        }) => {
            let detail = match snake(&d, 4) {
                k if k.is_empty() || k == "value" => "detail".to_string(),
                k => k,
            };
            Kind::EnumDetail { values, detail }
        }
        None => Kind::Text { inline },
    }
}

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
