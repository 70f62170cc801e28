//! The shape a template compiles to: fields and their kinds, lists and their
//! items, objects with their intro and subsections, runs of step blocks,
//! and the matchers that tell whether a heading belongs to a part of the
//! shape. The compiler builds it; the JSON Schema, the render program, the
//! reader and the checks all walk it.

use regex::Regex;

use super::text::{alternatives, placeholder_count, snake_case, Alternatives, Segment};
use crate::markdown::strip_emphasis;

/// A named value: a property of an object or the shape of a list item.
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// The JSON property name.
    pub(super) key: String,
    /// What the template says about the value (its placeholder, example
    /// items or text); sent to the model as the schema's `description`.
    pub(super) description: String,
    pub(super) kind: Kind,
}

/// What a field holds, and so how it is rendered, read and checked.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A string; `inline` ones sit on one line of the Markdown.
    Text {
        inline: bool,
    },
    /// One of the values, in the template's spelling.
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

impl Kind {
    /// What a single placeholder holds: an enum for `<A / B>`, an enum with
    /// a detail for `<A / B — details>`, otherwise a string.
    pub(super) fn of_placeholder(inner: &str, inline: bool) -> Kind {
        match alternatives(inner) {
            Some(Alternatives {
                values,
                detail: None,
            }) => Kind::Enum(values),
            Some(Alternatives {
                values,
                detail: Some(d),
            }) => {
                let detail = match snake_case(&d, 4) {
                    k if k.is_empty() || k == "value" => "detail".to_string(),
                    k => k,
                };
                Kind::EnumDetail { values, detail }
            }
            None => Kind::Text { inline },
        }
    }
}

/// Whether a heading belongs somewhere inside a field of this kind (a
/// subsection or a step block), so reading must not end the field at it.
pub(super) fn kind_matches(kind: &Kind, text: &str) -> bool {
    match kind {
        Kind::Object(o) => object_matches(o, text),
        Kind::Steps(s) => {
            captures(&s.heading_re, text, 2).is_some() || object_matches(&s.item, text)
        }
        _ => false,
    }
}

/// A list's marker, kept so that a rendering uses the template's own.
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

/// A list item: one field (a string or an enum), or several joined by
/// literal text.
#[derive(Debug, Clone)]
pub(super) enum Item {
    Single(Field),
    Joined(Joined),
}

/// A list item made of several placeholders and the literal text between
/// them (`<Check> — <what it validates>`).
#[derive(Debug, Clone)]
pub(super) struct Joined {
    /// The template's first example item, to name in problems.
    pub(super) template: String,
    pub(super) pieces: Vec<Piece>,
    pub(super) fields: Vec<Field>,
    /// Per field: its dashes are rewritten because a dash separates it from
    /// the next field.
    pub(super) rewrite_dashes: Vec<bool>,
    /// Reads an item as rendered.
    pub(super) exact: Regex,
    /// Reads an item as a person wrote it (see [`item_regex`]).
    pub(super) loose: Regex,
}

impl Joined {
    /// A joined item from its fields and the pieces around them; `None` only
    /// if its patterns exceed the regex size limit.
    pub(super) fn new(template: String, pieces: Vec<Piece>, fields: Vec<Field>) -> Option<Joined> {
        // A text field's dashes are rewritten when a dash separates it from
        // a later field, or reading it back would cut it at its own dash.
        let rewrite_dashes = fields
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
        Some(Joined {
            template,
            pieces,
            fields,
            rewrite_dashes,
            exact,
            loose,
        })
    }
}

/// The pattern that reads a joined item back into its fields, one group
/// per field: an enum field matches only its values, the last free field
/// takes the rest of the line. `loose` also accepts other separators and
/// makes the literal text before the first field and after the last
/// optional.
fn item_regex(pieces: &[Piece], fields: &[Field], loose: bool) -> Result<Regex, regex::Error> {
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

/// Regex source for an enum's values, longest first, so that a value that
/// begins another (`Pass`, `Passed`) is not tried before it.
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

/// Literal text or a placeholder of a heading or joined item, after
/// compilation: a placeholder has become the index of its field.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    Lit(String),
    /// Index into the owning object's holes (or the item's fields).
    Hole(usize),
}

/// An object rendered as a heading (holding `holes`), an intro (key lines,
/// a body, or literal text) and subsections.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) holes: Vec<Field>,
    pub(super) intro: Intro,
    pub(super) subs: Vec<Section>,
    /// The heading the object renders itself, before its intro: only the
    /// root has one, a template's `# Title: <placeholder>` line, whose
    /// placeholders are then the root's `holes`.
    pub(super) title: Option<Title>,
}

/// A template's title line. It names the artifact rather than a part of
/// it, so a draft is never refused for lacking it; when present it is read
/// back into the title fields.
#[derive(Debug, Clone)]
pub(super) struct Title {
    pub(super) level: usize,
    pub(super) heading: SectionHeading,
}

impl Object {
    /// The properties, in template order: heading placeholders, the intro,
    /// then subsections.
    pub(super) fn members(&self) -> Vec<(&Field, usize)> {
        let mut out: Vec<(&Field, usize)> = self.holes.iter().map(|f| (f, 0)).collect();
        match &self.intro {
            Intro::KeyLines(kls) => out.extend(kls.iter().map(|k| (&k.field, 0))),
            Intro::Body(f) => out.push((f, 0)),
            Intro::None | Intro::Literal(_) => {}
        }
        out.extend(self.subs.iter().map(|s| (&s.field, s.level)));
        out
    }
}

/// Whether a heading belongs to the object: it is one of its subsection
/// headings, or belongs inside one of them.
pub(super) fn object_matches(o: &Object, text: &str) -> bool {
    o.subs.iter().any(|s| {
        s.heading
            .as_ref()
            .is_some_and(|h| h.matcher.matches(text).is_some())
            || kind_matches(&s.field.kind, text)
    })
}

/// What an object holds between its heading and its first subsection.
#[derive(Debug, Clone)]
pub(super) enum Intro {
    None,
    /// Template text without placeholders, copied into every rendering.
    Literal(String),
    KeyLines(Vec<KeyLine>),
    Body(Field),
}

/// A `- **Label:** value` line: the label is copied, the value is a field.
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
    pub(super) heading: Option<SectionHeading>,
}

/// A section's heading: rendered from its pieces, found by its matcher.
#[derive(Debug, Clone)]
pub(super) struct SectionHeading {
    /// As written in the template, with its `#`s.
    pub(super) text: String,
    pub(super) pieces: Vec<Piece>,
    pub(super) matcher: Matcher,
}

/// How a heading in a document is recognised as a template heading.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    /// Compared by snake_case words.
    Plain(String),
    /// Captures the heading's placeholders.
    Holes(Regex),
}

impl Matcher {
    pub(super) fn new(b: &[Segment], pieces: &[Piece]) -> Matcher {
        if placeholder_count(b) == 0 {
            let text: String = b
                .iter()
                .map(|x| match x {
                    Segment::Literal(s) | Segment::Placeholder(s) => s.as_str(),
                })
                .collect();
            return Matcher::Plain(snake_case(&text, usize::MAX));
        }
        let source = format!(r"(?i)^\s*{}\s*$", pieces_regex(pieces));
        match Regex::new(&source) {
            Ok(re) => Matcher::Holes(re),
            // Only a pathological heading could exceed the regex size
            // limit; matching it by its words alone still finds it.
            Err(_) => Matcher::Plain(snake_case(
                &b.iter()
                    .filter_map(|x| match x {
                        Segment::Literal(s) => Some(s.as_str()),
                        Segment::Placeholder(_) => None,
                    })
                    .collect::<String>(),
                usize::MAX,
            )),
        }
    }

    pub(super) fn matches(&self, text: &str) -> Option<Vec<String>> {
        match self {
            Matcher::Plain(s) => (snake_case(text, usize::MAX) == *s).then(Vec::new),
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

/// Regex source for a heading's pieces: each placeholder is a group (the
/// last one greedy), literal text as [`heading_lit_regex`] reads it.
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

/// Regex source for a heading's literal text: its words, with any spacing
/// between them. Case is ignored by the `(?i)` of the whole pattern, and
/// `*` emphasis by [`captures`], which also tries the text without it.
fn heading_lit_regex(lit: &str) -> String {
    lit.split_whitespace()
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s*")
}

/// A run of `### Step 1: <Name>`, `### Step 2: <Name>`, … blocks: an array
/// of objects, rendered numbered 1..n.
#[derive(Debug, Clone)]
pub(super) struct Steps {
    pub(super) level: usize,
    /// The word that numbers the blocks (`Step`, `Phase`, `Stage`).
    pub(super) word: String,
    /// What follows the number (`:`, `.`, a dash).
    pub(super) sep: String,
    /// The heading after `Step N:`; holes index into `item.holes`.
    pub(super) rest: Vec<Piece>,
    pub(super) item: Object,
    /// Finds a block's heading in a document; group 1 is its number, the
    /// others its placeholders.
    pub(super) heading_re: Regex,
    /// The template's first block heading, with its `#`s, to name in
    /// descriptions and problems.
    pub(super) heading: String,
}
