//! Markdown → value: reading an artifact back (as rendered, as a person
//! edited it, or as a model wrote it free-form) into the template's JSON.
//! Sections are found by their headings' words, not by their order.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::shape::{
    captures, kind_matches, object_matches, Field, Intro, Item, Joined, KeyLine, Kind, List,
    Marker, Object, Steps,
};
use super::text::{
    child_path, collapse, is_blank_or_continuation, key_value, list_item, not_one_of, snake_case,
    strip_prefix_ci, CHECKBOX,
};
use super::title;
use crate::markdown::{self, Outline};

/// Reads `markdown` as a value of `root`'s shape, or names every problem.
pub(super) fn read(root: &Object, markdown: &str) -> Result<Value, Vec<String>> {
    let text = markdown::strip_outer_fence(markdown);
    let doc = Outline::new(&text);
    let (start, caps) = match title::read(root, &doc) {
        Some((line, caps)) => (line + 1, caps),
        None => (0, Vec::new()),
    };
    let span = Span {
        start,
        end: doc.len(),
        level: 0,
    };
    let mut problems = Vec::new();
    let v = parse_object(root, &doc, span, &caps, "", &mut problems);
    if problems.is_empty() {
        Ok(v)
    } else {
        Err(problems)
    }
}

/// Lines `start..end` of the document, the region a part of the shape is
/// read from.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// The level of the heading that opened this span (0 for the document).
    level: usize,
}

/// A document heading found for one subsection of an object: the region
/// after it, up to the next anchor, is that subsection's.
#[derive(Debug)]
struct Anchor {
    line: usize,
    level: usize,
    /// Index of the subsection in the object's `subs`.
    target: usize,
    /// The heading's placeholders (for a step block, after its number).
    caps: Vec<String>,
}

/// Where an anchored region ends: at the next anchor, or earlier at an
/// unknown heading no deeper than the anchor's own that no part of its
/// shape claims (an extra `## Notes` a model added ends the section before).
fn region_end(doc: &Outline, a: &Anchor, next: usize, claims: impl Fn(&str) -> bool) -> usize {
    for i in a.line + 1..next {
        if let Some((lv, t)) = doc.heading(i) {
            if lv <= a.level && !claims(t) {
                return i;
            }
        }
    }
    next
}

/// The headings in `span` (not already `taken`) of a run of step blocks;
/// at the template's heading level only, if any are at that level.
fn step_anchors(
    s: &Steps,
    doc: &Outline,
    span: Span,
    taken: &HashSet<usize>,
    target: usize,
) -> Vec<Anchor> {
    let found: Vec<Anchor> = (span.start..span.end)
        .filter(|i| !taken.contains(i))
        .filter_map(|i| {
            let (lv, t) = doc.heading(i)?;
            captures(&s.heading_re, t, 2).map(|caps| Anchor {
                line: i,
                level: lv,
                target,
                caps,
            })
        })
        .collect();
    if found.iter().any(|a| a.level == s.level) {
        found.into_iter().filter(|a| a.level == s.level).collect()
    } else {
        found
    }
}

/// The enum value `text` starts with (case-insensitively, as a whole word)
/// and what follows it.
fn enum_prefix<'t>(values: &[String], text: &'t str) -> Option<(String, &'t str)> {
    let mut vs: Vec<&String> = values.iter().collect();
    vs.sort_by_key(|v| std::cmp::Reverse(v.chars().count()));
    vs.into_iter().find_map(|v| {
        let rest = strip_prefix_ci(text, v)?;
        rest.chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
            .then(|| (v.clone(), rest))
    })
}

/// The enum value `text` is (or starts with), without emphasis.
fn match_enum(values: &[String], text: &str) -> Option<String> {
    let t = markdown::strip_emphasis(text);
    if let Some(v) = values.iter().find(|v| v.to_lowercase() == t.to_lowercase()) {
        return Some(v.clone());
    }
    enum_prefix(values, &t).map(|(v, _)| v)
}

/// `Value — details` (or `Value - details`, `Value: details`, …): the enum
/// value and the details on one line.
fn match_enum_detail(values: &[String], text: &str) -> Option<(String, String)> {
    let t = text.trim().trim_start_matches(['*', '`', '_']);
    let (v, rest) = enum_prefix(values, t)?;
    let rest = rest.trim_start_matches(['*', '`', '_']).trim_start();
    let rest = rest
        .strip_prefix(['—', '–', '-', ':', ',', ';'])
        .unwrap_or(rest);
    Some((v, collapse(rest)))
}

/// An object's value: its holes from the heading's `caps`, its intro from
/// the lines before the first anchored subsection, and each subsection
/// from its anchor's region. Subsections are found by heading, in any order.
fn parse_object(
    o: &Object,
    doc: &Outline,
    span: Span,
    caps: &[String],
    path: &str,
    out: &mut Vec<String>,
) -> Value {
    let mut anchors: Vec<Anchor> = Vec::new();
    let mut taken = HashSet::new();
    let mut cursor = span.start;
    for (si, sub) in o.subs.iter().enumerate() {
        let Some(h) = &sub.heading else { continue };
        let cands: Vec<Anchor> = (span.start..span.end)
            .filter(|i| !taken.contains(i))
            .filter_map(|i| {
                let (lv, t) = doc.heading(i)?;
                h.matcher.matches(t).map(|caps| Anchor {
                    line: i,
                    level: lv,
                    target: si,
                    caps,
                })
            })
            .collect();
        let pick = [
            |a: &Anchor, l: usize, c: usize| a.level == l && a.line >= c,
            |a: &Anchor, l: usize, _: usize| a.level == l,
            |a: &Anchor, _: usize, c: usize| a.line >= c,
            |_: &Anchor, _: usize, _: usize| true,
        ]
        .iter()
        .find_map(|pref| cands.iter().position(|a| pref(a, sub.level, cursor)));
        if let Some(k) = pick {
            let a = cands.into_iter().nth(k);
            if let Some(a) = a {
                taken.insert(a.line);
                cursor = cursor.max(a.line + 1);
                anchors.push(a);
            }
        }
    }
    for (si, sub) in o.subs.iter().enumerate() {
        if let (None, Kind::Steps(s)) = (&sub.heading, &sub.field.kind) {
            let found = step_anchors(s, doc, span, &taken, si);
            taken.extend(found.iter().map(|a| a.line));
            anchors.extend(found);
        }
    }
    anchors.sort_by_key(|a| a.line);

    let mut map = Map::new();
    for (i, h) in o.holes.iter().enumerate() {
        let v = caps.get(i).map_or(String::new(), |c| collapse(c));
        map.insert(h.key.clone(), Value::String(v));
    }
    let intro_end = anchors.first().map_or(span.end, |a| a.line);
    let intro_span = Span {
        start: span.start,
        end: intro_end,
        level: span.level,
    };
    match &o.intro {
        Intro::KeyLines(kls) => parse_key_lines(kls, doc, intro_span, path, &mut map, out),
        Intro::Body(f) => {
            let v = parse_field(f, doc, intro_span, &[], &child_path(path, &f.key), out);
            map.insert(f.key.clone(), v);
        }
        Intro::None | Intro::Literal(_) => {}
    }

    let mut values: Vec<Option<Value>> = vec![None; o.subs.len()];
    for (k, a) in anchors.iter().enumerate() {
        let next = anchors.get(k + 1).map_or(span.end, |n| n.line);
        let Some(sub) = o.subs.get(a.target) else {
            continue;
        };
        let sub_path = child_path(path, &sub.field.key);
        match (&sub.heading, &sub.field.kind) {
            (None, Kind::Steps(s)) => {
                let end = region_end(doc, a, next, |t| object_matches(&s.item, t));
                let list = values[a.target].get_or_insert_with(|| Value::Array(Vec::new()));
                let n = list.as_array().map_or(0, Vec::len);
                let item_span = Span {
                    start: a.line + 1,
                    end,
                    level: a.level,
                };
                let v = parse_object(
                    &s.item,
                    doc,
                    item_span,
                    &a.caps,
                    &format!("{sub_path}[{n}]"),
                    out,
                );
                if let Value::Array(items) = list {
                    items.push(v);
                }
            }
            (_, kind) => {
                let end = region_end(doc, a, next, |t| kind_matches(kind, t));
                let sub_span = Span {
                    start: a.line + 1,
                    end,
                    level: a.level,
                };
                values[a.target] = Some(parse_field(
                    &sub.field, doc, sub_span, &a.caps, &sub_path, out,
                ));
            }
        }
    }
    for (sub, v) in o.subs.iter().zip(values) {
        let sub_path = child_path(path, &sub.field.key);
        let v = match (v, &sub.heading, &sub.field.kind) {
            (Some(v), _, _) => v,
            (None, Some(h), _) => {
                out.push(format!("{sub_path}: missing section '{}'", h.text));
                Value::Null
            }
            (None, None, Kind::Steps(s)) => {
                out.push(format!("{sub_path}: no '{}' sections", s.heading));
                Value::Array(Vec::new())
            }
            (None, None, _) => Value::Null,
        };
        map.insert(sub.field.key.clone(), v);
    }
    Value::Object(map)
}

/// A field's value from the lines of its region.
fn parse_field(
    f: &Field,
    doc: &Outline,
    span: Span,
    caps: &[String],
    path: &str,
    out: &mut Vec<String>,
) -> Value {
    let region = doc.lines(span.start, span.end);
    let content = || {
        region
            .iter()
            .enumerate()
            .filter(|(i, l)| !l.trim().is_empty() && doc.heading(span.start + i).is_none())
            .map(|(_, l)| match list_item(l) {
                Some((_, rest)) => rest.to_string(),
                None => l.trim().to_string(),
            })
            .collect::<Vec<_>>()
    };
    match &f.kind {
        Kind::Text { .. } => Value::String(region.join("\n").trim().to_string()),
        Kind::Enum(values) => {
            let lines = content();
            match lines.first().and_then(|l| match_enum(values, l)) {
                Some(v) => Value::String(v),
                None => {
                    let found = lines
                        .first()
                        .map_or("nothing".to_string(), |l| format!("'{l}'"));
                    out.push(format!(
                        "{path}: found {found}; expected one of: {}",
                        not_one_of(values)
                    ));
                    Value::Null
                }
            }
        }
        Kind::EnumDetail { values, detail } => {
            let lines = content();
            match lines.first().and_then(|l| match_enum_detail(values, l)) {
                Some((v, d)) => {
                    let mut rest = vec![d];
                    rest.extend(lines.iter().skip(1).cloned());
                    let mut m = Map::new();
                    m.insert("value".to_string(), Value::String(v));
                    m.insert(detail.clone(), Value::String(collapse(&rest.join("\n"))));
                    Value::Object(m)
                }
                None => {
                    let found = lines
                        .first()
                        .map_or("nothing".to_string(), |l| format!("'{l}'"));
                    out.push(format!(
                        "{path}: found {found}; expected one of: {} (optionally followed by ' — {detail}')",
                        not_one_of(values)
                    ));
                    Value::Null
                }
            }
        }
        Kind::List(l) => parse_list(l, doc, span, path, out),
        Kind::Object(o) => parse_object(o, doc, span, caps, path, out),
        Kind::Steps(s) => {
            let anchors = step_anchors(s, doc, span, &HashSet::new(), 0);
            if anchors.is_empty() {
                out.push(format!("{path}: no '{}' sections", s.heading));
            }
            let items = anchors
                .iter()
                .enumerate()
                .map(|(k, a)| {
                    let next = anchors.get(k + 1).map_or(span.end, |n| n.line);
                    let end = region_end(doc, a, next, |t| object_matches(&s.item, t));
                    let item_span = Span {
                        start: a.line + 1,
                        end,
                        level: a.level,
                    };
                    parse_object(
                        &s.item,
                        doc,
                        item_span,
                        &a.caps,
                        &format!("{path}[{k}]"),
                        out,
                    )
                })
                .collect();
            Value::Array(items)
        }
    }
}

/// A list's items: a list line at the margin starts one (an indented one
/// only if there is none yet); other lines continue the last item.
fn parse_list(l: &List, doc: &Outline, span: Span, path: &str, out: &mut Vec<String>) -> Value {
    let mut items: Vec<String> = Vec::new();
    for i in span.start..span.end {
        let Some(line) = doc.line(i) else { break };
        if doc.is_fenced(i) || doc.heading(i).is_some() || is_blank_or_continuation(line) {
            continue;
        }
        let indented = line.starts_with("  ") || line.starts_with('\t');
        match list_item(line) {
            Some((_, rest)) if !indented || items.is_empty() => {
                let rest = match (l.marker, CHECKBOX.find(rest)) {
                    (Marker::Checkbox(_), Some(m)) => &rest[m.end()..],
                    _ => rest,
                };
                items.push(rest.trim().to_string());
            }
            _ => match items.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                None => items.push(line.trim().to_string()),
            },
        }
    }
    if items.is_empty() {
        out.push(format!("{path}: no list items"));
    }
    let values = items
        .iter()
        .enumerate()
        .map(|(k, text)| {
            let p = format!("{path}[{k}]");
            match &l.item {
                Item::Single(f) => parse_inline(&f.kind, text, &p, out),
                Item::Joined(j) => parse_joined(j, text, &p, out),
            }
        })
        .collect();
    Value::Array(values)
}

/// A one-line field's value from its text.
fn parse_inline(kind: &Kind, text: &str, path: &str, out: &mut Vec<String>) -> Value {
    match kind {
        Kind::Enum(values) => match match_enum(values, text) {
            Some(v) => Value::String(v),
            None => {
                out.push(format!(
                    "{path}: '{text}' is not one of: {}",
                    not_one_of(values)
                ));
                Value::Null
            }
        },
        Kind::EnumDetail { values, detail } => match match_enum_detail(values, text) {
            Some((v, d)) => {
                let mut m = Map::new();
                m.insert("value".to_string(), Value::String(v));
                m.insert(detail.clone(), Value::String(d));
                Value::Object(m)
            }
            None => {
                out.push(format!(
                    "{path}: '{text}' does not start with one of: {}",
                    not_one_of(values)
                ));
                Value::Null
            }
        },
        _ => Value::String(collapse(text)),
    }
}

/// A joined item's fields, read by its exact pattern or else its loose one.
fn parse_joined(j: &Joined, text: &str, path: &str, out: &mut Vec<String>) -> Value {
    let caps = j
        .exact
        .captures(text)
        .or_else(|| j.loose.captures(text))
        .map(|c| {
            c.iter()
                .skip(1)
                .map(|m| m.map_or("", |m| m.as_str()).to_string())
                .collect::<Vec<_>>()
        });
    let mut m = Map::new();
    match caps {
        Some(caps) => {
            for (f, c) in j.fields.iter().zip(caps) {
                m.insert(
                    f.key.clone(),
                    parse_inline(&f.kind, &c, &child_path(path, &f.key), out),
                );
            }
        }
        None if j.fields.iter().all(|f| matches!(f.kind, Kind::Text { .. })) => {
            // A person who wrote only the first part: the rest is empty.
            for (k, f) in j.fields.iter().enumerate() {
                let v = if k == 0 {
                    collapse(text)
                } else {
                    String::new()
                };
                m.insert(f.key.clone(), Value::String(v));
            }
        }
        None => {
            let allowed: Vec<String> = j
                .fields
                .iter()
                .filter_map(|f| match &f.kind {
                    Kind::Enum(v) => Some(format!("{} one of {}", f.key, not_one_of(v))),
                    _ => None,
                })
                .collect();
            out.push(format!(
                "{path}: '{text}' does not read as '{}' ({})",
                j.template,
                allowed.join("; ")
            ));
            return Value::Null;
        }
    }
    Value::Object(m)
}

/// Key-line fields, matched by their keys' words in any order. Other lines
/// continue the previous value, except a list item that is not a key line.
fn parse_key_lines(
    kls: &[KeyLine],
    doc: &Outline,
    span: Span,
    path: &str,
    map: &mut Map<String, Value>,
    out: &mut Vec<String>,
) {
    let mut found: Vec<Option<String>> = vec![None; kls.len()];
    let mut last: Option<usize> = None;
    for i in span.start..span.end {
        let Some(line) = doc.line(i) else { break };
        if doc.is_fenced(i) || doc.heading(i).is_some() || is_blank_or_continuation(line) {
            continue;
        }
        let indented = line.starts_with("  ") || line.starts_with('\t');
        if !indented {
            if let Some((k, v)) = key_value(line) {
                let wanted = snake_case(&k, usize::MAX);
                last = kls
                    .iter()
                    .position(|kl| snake_case(&kl.label, usize::MAX) == wanted)
                    .filter(|ix| found[*ix].is_none());
                if let Some(ix) = last {
                    found[ix] = Some(v);
                }
                continue;
            }
            if list_item(line).is_some() {
                last = None;
                continue;
            }
        }
        if let Some(Some(v)) = last.and_then(|ix| found.get_mut(ix)) {
            v.push(' ');
            v.push_str(line.trim());
        }
    }
    for (kl, v) in kls.iter().zip(found) {
        let p = child_path(path, &kl.field.key);
        let v = match v {
            Some(v) => parse_inline(&kl.field.kind, &v, &p, out),
            None => {
                out.push(format!(
                    "{p}: missing line '{} **{}:** …'",
                    kl.marker, kl.label
                ));
                Value::Null
            }
        };
        map.insert(kl.field.key.clone(), v);
    }
}
