//! Value checks (shape, bounds, enum values, prose that would break the
//! Markdown), normalisation (the value as it renders and reads back) and
//! the listing of enum fields.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::shape::{object_matches, Item, Joined, Kind, Object, Piece};
use super::text::{child_path, collapse, display_path, not_one_of, trim_prose, CONTINUATION};
use super::{Bounds, EnumField};
use crate::markdown::Outline;

/// One thing wrong with a value, at a path such as `timeline[0].event`.
pub(super) struct Problem {
    path: String,
    message: String,
    /// Missing keys and wrong types: rendering is impossible.
    pub(super) shape: bool,
}

impl Problem {
    /// `path: message`, as `validate` and `render` report it.
    pub(super) fn text(&self) -> String {
        format!("{}: {}", display_path(&self.path), self.message)
    }
}

/// Checks values against one compiled shape and its bounds.
struct Checker<'s> {
    bounds: &'s Bounds,
    /// The whole shape, whose headings a prose field must not repeat.
    root: &'s Object,
}

/// Every problem in `value`, the root object of `root`'s shape.
pub(super) fn problems(root: &Object, bounds: &Bounds, value: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    Checker { bounds, root }.check_object(root, value, "", 0, &mut out);
    out
}

impl Checker<'_> {
    /// Problems of a value of `kind` at `path`, in a section at heading
    /// `level` (a prose value must not hold a heading that would end it).
    fn check(&self, kind: &Kind, v: &Value, path: &str, level: usize, out: &mut Vec<Problem>) {
        let b = self.bounds;
        let mut push = |message: String, shape: bool| {
            out.push(Problem {
                path: path.to_string(),
                message,
                shape,
            })
        };
        match kind {
            Kind::Text { inline } => {
                let Some(s) = v.as_str() else {
                    return push(format!("expected a string, found {}", json_type(v)), true);
                };
                let max = if *inline { b.max_item } else { b.max_text };
                let n = s.chars().count();
                if n > max {
                    push(format!("{n} characters long; at most {max}"), false);
                }
                if !*inline {
                    for m in self.prose_problems(s, level) {
                        push(m, false);
                    }
                }
            }
            Kind::Enum(values) => match v.as_str() {
                Some(s) if values.iter().any(|x| x == s) => {}
                Some(s) => push(
                    format!("'{s}' is not one of: {}", not_one_of(values)),
                    false,
                ),
                None => push(format!("expected a string, found {}", json_type(v)), true),
            },
            Kind::EnumDetail { values, detail } => {
                let Some(m) = v.as_object() else {
                    return push(
                        format!(
                            "expected an object {{\"value\", \"{detail}\"}}, found {}",
                            json_type(v)
                        ),
                        true,
                    );
                };
                for key in ["value", detail.as_str()] {
                    if !m.contains_key(key) {
                        out.push(Problem {
                            path: child_path(path, key),
                            message: "missing".to_string(),
                            shape: true,
                        });
                    }
                }
                for k in m.keys().filter(|k| *k != "value" && *k != detail) {
                    out.push(Problem {
                        path: child_path(path, k),
                        message: "unexpected key".to_string(),
                        shape: false,
                    });
                }
                if let Some(x) = m.get("value") {
                    self.check(
                        &Kind::Enum(values.clone()),
                        x,
                        &child_path(path, "value"),
                        level,
                        out,
                    );
                }
                if let Some(x) = m.get(detail) {
                    self.check(
                        &Kind::Text { inline: true },
                        x,
                        &child_path(path, detail),
                        level,
                        out,
                    );
                }
            }
            Kind::List(l) => {
                let Some(items) = v.as_array() else {
                    return push(format!("expected an array, found {}", json_type(v)), true);
                };
                self.check_len(items.len(), b.max_items, path, out);
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match &l.item {
                        Item::Single(f) => {
                            self.check(&f.kind, item, &p, level, out);
                            if item.as_str().is_some_and(|s| {
                                CONTINUATION.is_match(&format!("- {}", collapse(s)))
                            }) {
                                out.push(Problem {
                                    path: p,
                                    message: "a '...' continuation marker, not an item".to_string(),
                                    shape: false,
                                });
                            }
                        }
                        Item::Joined(j) => self.check_joined(j, item, &p, level, out),
                    }
                }
            }
            Kind::Object(o) => self.check_object(o, v, path, level, out),
            Kind::Steps(s) => {
                let Some(items) = v.as_array() else {
                    return push(format!("expected an array, found {}", json_type(v)), true);
                };
                self.check_len(items.len(), b.max_steps, path, out);
                for (i, item) in items.iter().enumerate() {
                    self.check_object(&s.item, item, &format!("{path}[{i}]"), s.level, out);
                }
            }
        }
    }

    fn check_len(&self, n: usize, max: usize, path: &str, out: &mut Vec<Problem>) {
        let message = if n == 0 {
            "the list is empty; it needs at least 1 item".to_string()
        } else if n > max {
            format!("{n} items; at most {max}")
        } else {
            return;
        };
        out.push(Problem {
            path: path.to_string(),
            message,
            shape: false,
        });
    }

    fn check_joined(
        &self,
        j: &Joined,
        v: &Value,
        path: &str,
        level: usize,
        out: &mut Vec<Problem>,
    ) {
        let Some(m) = object_or_problem(v, path, out) else {
            return;
        };
        let before = out.len();
        let mut known = HashSet::new();
        for f in &j.fields {
            known.insert(f.key.as_str());
            match m.get(&f.key) {
                Some(x) => self.check(&f.kind, x, &child_path(path, &f.key), level, out),
                None => out.push(Problem {
                    path: child_path(path, &f.key),
                    message: "missing".to_string(),
                    shape: true,
                }),
            }
        }
        for k in m.keys().filter(|k| !known.contains(k.as_str())) {
            out.push(Problem {
                path: child_path(path, k),
                message: "unexpected key".to_string(),
                shape: false,
            });
        }
        if out.len() > before {
            return;
        }
        // A field holding the literal that separates it from the next one
        // would be cut there when read back.
        let Value::Object(normal) = normalize_item(&Item::Joined(j.clone()), v) else {
            return;
        };
        let line = joined_line(j, &normal);
        let back = j.exact.captures(&line).map(|c| {
            c.iter()
                .skip(1)
                .map(|x| x.map_or("", |x| x.as_str()).trim().to_string())
                .collect::<Vec<_>>()
        });
        for (k, f) in j.fields.iter().enumerate() {
            let want = normal.get(&f.key).and_then(Value::as_str).unwrap_or("");
            let got = back.as_ref().and_then(|b| b.get(k)).map(String::as_str);
            if matches!(f.kind, Kind::Text { .. }) && got.is_some_and(|g| g != want) {
                out.push(Problem {
                    path: child_path(path, &f.key),
                    message: format!(
                        "contains the text that separates the parts of '{}', so it cannot be read back",
                        j.template
                    ),
                    shape: false,
                });
                break;
            }
        }
    }

    fn check_object(
        &self,
        o: &Object,
        v: &Value,
        path: &str,
        level: usize,
        out: &mut Vec<Problem>,
    ) {
        let Some(m) = object_or_problem(v, path, out) else {
            return;
        };
        let members = o.members();
        for (f, sub_level) in &members {
            let member_level = if *sub_level == 0 { level } else { *sub_level };
            match m.get(&f.key) {
                Some(x) => self.check(&f.kind, x, &child_path(path, &f.key), member_level, out),
                None => out.push(Problem {
                    path: child_path(path, &f.key),
                    message: "missing".to_string(),
                    shape: true,
                }),
            }
        }
        for k in m
            .keys()
            .filter(|k| !members.iter().any(|(f, _)| f.key == **k))
        {
            out.push(Problem {
                path: child_path(path, k),
                message: "unexpected key".to_string(),
                shape: false,
            });
        }
    }

    /// Lines of a prose value that would change the document's structure,
    /// read as the artifact reader will read them (headings outside code
    /// blocks, CommonMark's fences).
    fn prose_problems(&self, s: &str, level: usize) -> Vec<String> {
        let mut out = Vec::new();
        let prose = Outline::new(s);
        for i in 0..prose.len() {
            let (Some((lv, t)), Some(l)) = (prose.heading(i), prose.line(i)) else {
                continue;
            };
            if lv <= level {
                out.push(format!(
                    "the line '{}' is a level-{lv} heading, which would end the section; use a deeper heading",
                    l.trim()
                ));
            } else if object_matches(self.root, t) {
                out.push(format!(
                    "the line '{}' is one of the template's headings, which would split the artifact",
                    l.trim()
                ));
            }
        }
        if prose.fences().iter().any(|f| f.close.is_none()) {
            out.push("opens a code fence (```) that never closes".to_string());
        }
        out
    }
}

/// `v` as an object, or a shape problem at `path` saying what it is instead.
fn object_or_problem<'v>(
    v: &'v Value,
    path: &str,
    out: &mut Vec<Problem>,
) -> Option<&'v Map<String, Value>> {
    let object = v.as_object();
    if object.is_none() {
        out.push(Problem {
            path: path.to_string(),
            message: format!("expected an object, found {}", json_type(v)),
            shape: true,
        });
    }
    object
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The Markdown line a joined item renders to.
fn joined_line(j: &Joined, m: &Map<String, Value>) -> String {
    j.pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.clone(),
            Piece::Hole(i) => j
                .fields
                .get(*i)
                .and_then(|f| m.get(&f.key))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A value as it renders and reads back (see `ArtifactSchema::normalize`).
/// Values of the wrong type are left as they are, for the checks to name.
fn normalize_value(kind: &Kind, v: &Value) -> Value {
    match (kind, v) {
        (Kind::Text { inline: true }, Value::String(s)) => Value::String(collapse(s)),
        (Kind::Text { inline: false }, Value::String(s)) => Value::String(trim_prose(s)),
        (Kind::Enum(values), Value::String(s)) => {
            Value::String(match_exact(values, s).unwrap_or_else(|| s.trim().to_string()))
        }
        (Kind::EnumDetail { values, detail }, Value::Object(m)) => {
            let mut out = Map::new();
            if let Some(x) = m.get("value") {
                out.insert(
                    "value".to_string(),
                    normalize_value(&Kind::Enum(values.clone()), x),
                );
            }
            if let Some(x) = m.get(detail) {
                out.insert(
                    detail.clone(),
                    normalize_value(&Kind::Text { inline: true }, x),
                );
            }
            Value::Object(out)
        }
        (Kind::List(l), Value::Array(a)) => {
            Value::Array(a.iter().map(|x| normalize_item(&l.item, x)).collect())
        }
        (Kind::Object(o), Value::Object(_)) => normalize_object(o, v),
        (Kind::Steps(s), Value::Array(a)) => {
            Value::Array(a.iter().map(|x| normalize_object(&s.item, x)).collect())
        }
        _ => v.clone(),
    }
}

/// A list item's value; the dashes of a joined item's field that a dash
/// separates from the next one become `-`, so the item reads back.
fn normalize_item(item: &Item, v: &Value) -> Value {
    match (item, v) {
        (Item::Single(f), _) => normalize_value(&f.kind, v),
        (Item::Joined(j), Value::Object(m)) => {
            let mut out = Map::new();
            for (f, rewrite_dashes) in j.fields.iter().zip(&j.rewrite_dashes) {
                if let Some(x) = m.get(&f.key) {
                    let mut n = normalize_value(&f.kind, x);
                    if let (true, Value::String(s)) = (*rewrite_dashes, &n) {
                        n = Value::String(s.replace(['—', '–'], "-"));
                    }
                    out.insert(f.key.clone(), n);
                }
            }
            Value::Object(out)
        }
        _ => v.clone(),
    }
}

/// An object's value with only its known members, each normalised.
pub(super) fn normalize_object(o: &Object, v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (f, _) in o.members() {
        if let Some(x) = m.get(&f.key) {
            out.insert(f.key.clone(), normalize_value(&f.kind, x));
        }
    }
    Value::Object(out)
}

/// The template's spelling of `s`, if it is one of `values` in any case.
fn match_exact(values: &[String], s: &str) -> Option<String> {
    let t = s.trim().to_lowercase();
    values.iter().find(|v| v.to_lowercase() == t).cloned()
}

/// Pushes every enum field inside a value of `kind` at `path`.
fn enum_fields_in(kind: &Kind, v: &Value, path: &str, out: &mut Vec<EnumField>) {
    match (kind, v) {
        (Kind::Enum(values), Value::String(s)) => out.push(EnumField {
            path: path.to_string(),
            value: s.clone(),
            allowed: values.clone(),
        }),
        (Kind::EnumDetail { values, .. }, Value::Object(m)) => {
            if let Some(x) = m.get("value") {
                enum_fields_in(
                    &Kind::Enum(values.clone()),
                    x,
                    &child_path(path, "value"),
                    out,
                );
            }
        }
        (Kind::List(l), Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match (&l.item, x) {
                    (Item::Single(f), _) => enum_fields_in(&f.kind, x, &p, out),
                    (Item::Joined(j), Value::Object(m)) => {
                        for f in &j.fields {
                            if let Some(y) = m.get(&f.key) {
                                enum_fields_in(&f.kind, y, &child_path(&p, &f.key), out);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        (Kind::Object(o), Value::Object(_)) => object_enum_fields(o, v, path, out),
        (Kind::Steps(s), Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                object_enum_fields(&s.item, x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Pushes every enum field inside an object's value at `path`.
pub(super) fn object_enum_fields(o: &Object, v: &Value, path: &str, out: &mut Vec<EnumField>) {
    let Value::Object(m) = v else { return };
    for (f, _) in o.members() {
        if let Some(x) = m.get(&f.key) {
            enum_fields_in(&f.kind, x, &child_path(path, &f.key), out);
        }
    }
}

/// The first place where `a` and `b` differ.
pub(super) fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(p) = first_difference(v, w, &child_path(path, k)) {
                            return Some(p);
                        }
                    }
                    None => return Some(child_path(path, k)),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| child_path(path, k))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(path.to_string()),
    }
}
