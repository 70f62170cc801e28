//! The shape a template compiles to: fields and their kinds, lists and their
//! items, objects with their intro and subsections, step runs, and the
//! matchers that tell whether a heading belongs to a part of the shape.

use regex::Regex;

use super::text::{hole_count, snake, Bit};
use crate::markdown::strip_emphasis;

/// A named value: a property of an object or the shape of a list item.
#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) key: String,
    pub(super) description: String,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A string; `inline` ones sit on one line of the Markdown.
    Text {
        inline: bool,
    },
    Enum(Vec<String>),
    /// `{ "value": enum, <detail>: string }`.
    EnumDetail {
        values: Vec<String>,
        detail: String,
    },
    List(Box<List>),
    Object(Box<Object>),
    Steps(Box<Steps>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    Bullet(char),
    Checkbox(char),
    Numbered,
}

#[derive(Debug, Clone)]
pub(super) struct List {
    pub(super) marker: Marker,
    pub(super) item: Item,
}

#[derive(Debug, Clone)]
pub(super) enum Item {
    Single(Field),
    Joined(Joined),
}

/// A list item made of several placeholders and the literal text between
/// them (`<Check> — <what it validates>`).
#[derive(Debug, Clone)]
pub(super) struct Joined {
    pub(super) template: String,
    pub(super) pieces: Vec<Piece>,
    pub(super) fields: Vec<Field>,
    /// Per field: its dashes are rewritten because a dash separates it from
    /// the next field.
    pub(super) defuse: Vec<bool>,
    pub(super) exact: Regex,
    pub(super) loose: Regex,
}

#[derive(Debug, Clone)]
pub(super) enum Piece {
    Lit(String),
    /// Index into the owning object's holes (or the item's fields).
    Hole(usize),
}

/// An object rendered as a heading (holding `holes`), a lead (key lines,
/// a body, or literal text) and subsections.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) holes: Vec<Field>,
    pub(super) lead: Lead,
    pub(super) subs: Vec<Section>,
}

#[derive(Debug, Clone)]
pub(super) enum Lead {
    None,
    Literal(String),
    KeyLines(Vec<KeyLine>),
    Body(Field),
}

#[derive(Debug, Clone)]
pub(super) struct KeyLine {
    pub(super) marker: char,
    pub(super) label: String,
    pub(super) field: Field,
}

/// A property rendered under its own heading. `heading` is `None` for a run
/// of step blocks, which render their own headings.
#[derive(Debug, Clone)]
pub(super) struct Section {
    pub(super) field: Field,
    pub(super) level: usize,
    pub(super) heading: Option<Heading>,
}

#[derive(Debug, Clone)]
pub(super) struct Heading {
    /// As written in the template, with its `#`s.
    pub(super) text: String,
    pub(super) pieces: Vec<Piece>,
    pub(super) matcher: Matcher,
}

#[derive(Debug, Clone)]
pub(super) enum Matcher {
    /// Compared by snake_case words.
    Plain(String),
    /// Captures the heading's placeholders.
    Holes(Regex),
}

#[derive(Debug, Clone)]
pub(super) struct Steps {
    pub(super) level: usize,
    pub(super) word: String,
    pub(super) sep: String,
    /// The heading after `Step N:`; holes index into `item.holes`.
    pub(super) rest: Vec<Piece>,
    pub(super) item: Object,
    pub(super) re: Regex,
    pub(super) heading: String,
}

/// Regex source for a literal between fields. `loose` also accepts the
/// separators people use instead of an em dash (` - `, ` – `, `: `).
fn lit_regex(lit: &str, loose: bool) -> String {
    let core = lit.trim();
    if core.is_empty() {
        return r"\s*".to_string();
    }
    if loose && core.chars().all(|c| matches!(c, '—' | '–' | '-' | ':')) {
        return r"(?:\s*[—–]\s*|\s+-{1,2}\s+|\s*:\s+)".to_string();
    }
    let words = core
        .split_whitespace()
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s+");
    let pad = |ws: bool, c: Option<char>| match (ws, c) {
        (false, _) => "",
        (true, Some(c)) if c.is_alphanumeric() => r"\s+",
        (true, _) => r"\s*",
    };
    format!(
        "{}{words}{}",
        pad(lit.starts_with(char::is_whitespace), core.chars().next()),
        pad(lit.ends_with(char::is_whitespace), core.chars().last())
    )
}

fn alt_regex(values: &[String]) -> String {
    let mut vs: Vec<&String> = values.iter().collect();
    vs.sort_by_key(|v| std::cmp::Reverse(v.chars().count()));
    vs.iter()
        .map(|v| {
            v.split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect::<Vec<_>>()
        .join("|")
}

pub(super) fn item_regex(
    pieces: &[Piece],
    fields: &[Field],
    loose: bool,
) -> Result<Regex, regex::Error> {
    let last_hole = pieces.iter().rposition(|p| matches!(p, Piece::Hole(_)));
    let mut r = String::from(r"(?i)^\s*");
    for (k, p) in pieces.iter().enumerate() {
        match p {
            Piece::Lit(s) => {
                let lr = lit_regex(s, loose);
                if loose && (k == 0 || k + 1 == pieces.len()) {
                    r.push_str(&format!("(?:{lr})?"));
                } else {
                    r.push_str(&lr);
                }
            }
            Piece::Hole(i) => match fields.get(*i).map(|f| &f.kind) {
                Some(Kind::Enum(vals)) => {
                    r.push_str(&format!(r"[*_`]*({})[*_`]*", alt_regex(vals)));
                }
                _ if Some(k) == last_hole => r.push_str("(.*)"),
                _ => r.push_str("(.*?)"),
            },
        }
    }
    r.push_str(r"\s*$");
    Regex::new(&r)
}

/// Regex source for a heading's literal text: case, spacing and `*`
/// emphasis are not compared.
fn heading_lit_regex(lit: &str) -> String {
    lit.split_whitespace()
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s*")
}

pub(super) fn pieces_regex(pieces: &[Piece]) -> String {
    let last_hole = pieces.iter().rposition(|p| matches!(p, Piece::Hole(_)));
    let mut r = String::new();
    for (k, p) in pieces.iter().enumerate() {
        match p {
            Piece::Lit(s) => {
                r.push_str(r"\s*");
                r.push_str(&heading_lit_regex(s));
                r.push_str(r"\s*");
            }
            Piece::Hole(_) if Some(k) == last_hole => r.push_str("(.*)"),
            Piece::Hole(_) => r.push_str("(.*?)"),
        }
    }
    r
}

impl Matcher {
    pub(super) fn new(b: &[Bit], pieces: &[Piece]) -> Matcher {
        if hole_count(b) == 0 {
            let text: String = b
                .iter()
                .map(|x| match x {
                    Bit::Lit(s) | Bit::Hole(s) => s.as_str(),
                })
                .collect();
            return Matcher::Plain(snake(&text, usize::MAX));
        }
        let source = format!(r"(?i)^\s*{}\s*$", pieces_regex(pieces));
        match Regex::new(&source) {
            Ok(re) => Matcher::Holes(re),
            // Only a pathological heading could exceed the regex size
            // limit; matching it by its words alone still finds it.
            Err(_) => Matcher::Plain(snake(
                &b.iter()
                    .filter_map(|x| match x {
                        Bit::Lit(s) => Some(s.as_str()),
                        Bit::Hole(_) => None,
                    })
                    .collect::<String>(),
                usize::MAX,
            )),
        }
    }

    pub(super) fn matches(&self, text: &str) -> Option<Vec<String>> {
        match self {
            Matcher::Plain(s) => (snake(text, usize::MAX) == *s).then(Vec::new),
            Matcher::Holes(re) => captures(re, text, 1),
        }
    }
}

/// The groups of `re` from `skip` on, matched against `text` as written or
/// without emphasis.
pub(super) fn captures(re: &Regex, text: &str, skip: usize) -> Option<Vec<String>> {
    [text.trim().to_string(), strip_emphasis(text)]
        .iter()
        .find_map(|t| {
            re.captures(t).map(|c| {
                c.iter()
                    .skip(skip)
                    .map(|m| m.map_or("", |m| m.as_str()).trim().to_string())
                    .collect()
            })
        })
}

pub(super) fn object_matches(o: &Object, text: &str) -> bool {
    o.subs.iter().any(|s| {
        s.heading
            .as_ref()
            .is_some_and(|h| h.matcher.matches(text).is_some())
            || kind_matches(&s.field.kind, text)
    })
}

pub(super) fn kind_matches(kind: &Kind, text: &str) -> bool {
    match kind {
        Kind::Object(o) => object_matches(o, text),
        Kind::Steps(s) => captures(&s.re, text, 2).is_some() || object_matches(&s.item, text),
        _ => false,
    }
}

impl Object {
    /// The properties, in template order: heading placeholders, the lead,
    /// then subsections.
    pub(super) fn members(&self) -> Vec<(&Field, usize)> {
        let mut out: Vec<(&Field, usize)> = self.holes.iter().map(|f| (f, 0)).collect();
        match &self.lead {
            Lead::KeyLines(kls) => out.extend(kls.iter().map(|k| (&k.field, 0))),
            Lead::Body(f) => out.push((f, 0)),
            Lead::None | Lead::Literal(_) => {}
        }
        out.extend(self.subs.iter().map(|s| (&s.field, s.level)));
        out
    }
}
