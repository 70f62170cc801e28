//! Artifact templates as data shapes.
//!
//! A workflow gives each artifact a Markdown template inside a ``` fence.
//! Tiny local models drift from a template given as prose, but they follow a
//! JSON Schema that the server enforces with a grammar. So a template is
//! compiled here into a JSON Schema; the model's JSON is checked against it
//! (servers do not all enforce schemas); the JSON is rendered back into the
//! template's exact Markdown; and Markdown (rendered, edited by a person, or
//! written free-form by a model) is read back into JSON so that enum fields
//! can be checked in any artifact.
//!
//! Nothing here knows a particular workflow: the shape comes from the
//! template's headings, `<placeholders>` and list markers alone.
//!
//! # How a template compiles
//!
//! - Every `## ` heading is a required top-level property, keyed by the
//!   snake_case of its words without placeholders (`Affected Components` →
//!   `affected_components`); repeated keys get `_2`, `_3`. A template without
//!   `##` headings uses its shallowest heading level instead. Text before the
//!   first such heading is copied literally into every rendering (a `# Title`
//!   survives); if it holds placeholders it becomes a free-text `preamble`
//!   field instead.
//! - A body that is one line holding placeholders is a string. A body that is
//!   exactly `<A / B / C>` (two or more short alternatives, each starting with
//!   a capital letter or digit, none holding a variable token such as a lone
//!   `N`) is an enum; `<A / B — details>` is an object `{value, details}`
//!   rendered `A — details` (just `A` when details is empty).
//! - Bullet, numbered and checkbox lists are arrays (1 to `max_items` items)
//!   rendered with the same marker. `...` lines are continuation markers, and
//!   a parenthetical after one (`- ... (or "None needed")`) is kept as a hint.
//!   An item with one placeholder is a string (or enum); an item with several
//!   placeholders separated by literal text (`<Check> — <Pass / Fail>`) is an
//!   object with one field per placeholder (an enum one is named `value`).
//! - A list made only of `- **Key:** …` lines is an object with one field per
//!   key; the value replaces everything after the key.
//! - `### Step 1: <Name>` blocks (followed by `### Step 2: <Name>` or `...`)
//!   are an array of objects `{name, <fields>…}`, 1 to `max_steps` long,
//!   rendered and numbered 1..n.
//! - Other `###` subsections make the section an object with one property per
//!   subsection; a placeholder in a heading (`## Step 3: <Name>`) is a string
//!   property of that object rendered into the heading.
//! - Anything else is a string of free Markdown, rendered verbatim.
//!
//! # Rendering and reading back
//!
//! [`ArtifactSchema::render`] writes [`ArtifactSchema::normalize`]d values:
//! strings that sit on one line (list items, key-line values, details,
//! heading placeholders) have their line breaks collapsed to single spaces,
//! every string is trimmed, enum values take the template's spelling, and an
//! em or en dash inside a field that a ` — ` separates from the next one
//! becomes `-`. For any value that [`ArtifactSchema::validate`] accepts,
//! `parse(render(v)) == normalize(v)`, which is `v` itself when `v` is
//! already normal.

pub mod sections;

use std::collections::HashSet;
use std::sync::LazyLock;

use handlebars::Handlebars;
use regex::Regex;
use serde_json::{Map, Value};

use crate::markdown::{self, FenceTracker};

/// Size limits written into the schema. They exist because a tiny model,
/// once it starts rambling inside a string or a list, does not stop on its
/// own; the grammar stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// Characters of a prose field (a section body).
    pub max_text: usize,
    /// Characters of a one-line field: a list item, key-line value, detail.
    pub max_item: usize,
    /// Items of a list.
    pub max_items: usize,
    /// Steps of a `### Step N` block.
    pub max_steps: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_text: 800,
            max_item: 240,
            max_items: 8,
            max_steps: 12,
        }
    }
}

impl Bounds {
    /// No practical limit: for checking what a person wrote, where length is
    /// the person's business and only the structure is checked.
    pub fn unbounded() -> Bounds {
        Bounds {
            max_text: u32::MAX as usize,
            max_item: u32::MAX as usize,
            max_items: u32::MAX as usize,
            max_steps: u32::MAX as usize,
        }
    }
}

/// Why a template or a value cannot be used. Compilation fails only for a
/// template with no headings at all: an odd section compiles to free text
/// rather than stopping a workflow from loading.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the template has no Markdown headings ('## Name'), so it names no sections to fill in"
    )]
    NoSections,
    #[error("the render template built from the artifact template does not compile: {0}")]
    Template(Box<handlebars::TemplateError>),
    #[error("rendering the artifact failed: {0}")]
    Render(Box<handlebars::RenderError>),
    /// Missing keys or wrong types: there is nothing sensible to render.
    #[error("the value does not have the template's shape: {}", .0.join("; "))]
    Shape(Vec<String>),
}

/// One enum field found in a value, so that a caller (or CI) can assert on
/// the choices an artifact made without knowing the template's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumField {
    /// Where the field sits, e.g. `data_compatibility.value` or
    /// `success_criteria[2].value`.
    pub path: String,
    /// As found; it may be outside `allowed` in a value that was never
    /// validated.
    pub value: String,
    /// The template's spelling of the allowed values, in template order.
    pub allowed: Vec<String>,
}

/// A compiled template: the shape, the handlebars program that renders it,
/// and the bounds its schema carries.
#[derive(Debug)]
pub struct ArtifactSchema {
    root: Object,
    bounds: Bounds,
    source: String,
    registry: Handlebars<'static>,
}

// ---------------------------------------------------------------------------
// The compiled shape
// ---------------------------------------------------------------------------

/// A named value: a property of an object or the shape of a list item.
#[derive(Debug, Clone)]
struct Field {
    key: String,
    description: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
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
enum Marker {
    Bullet(char),
    Checkbox(char),
    Numbered,
}

#[derive(Debug, Clone)]
struct List {
    marker: Marker,
    item: Item,
}

#[derive(Debug, Clone)]
enum Item {
    Single(Field),
    Joined(Joined),
}

/// A list item made of several placeholders and the literal text between
/// them (`<Check> — <what it validates>`).
#[derive(Debug, Clone)]
struct Joined {
    template: String,
    pieces: Vec<Piece>,
    fields: Vec<Field>,
    /// Per field: its dashes are rewritten because a dash separates it from
    /// the next field.
    defuse: Vec<bool>,
    exact: Regex,
    loose: Regex,
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    /// Index into the owning object's holes (or the item's fields).
    Hole(usize),
}

/// An object rendered as a heading (holding `holes`), a lead (key lines,
/// a body, or literal text) and subsections.
#[derive(Debug, Clone)]
struct Object {
    holes: Vec<Field>,
    lead: Lead,
    subs: Vec<Section>,
}

#[derive(Debug, Clone)]
enum Lead {
    None,
    Literal(String),
    KeyLines(Vec<KeyLine>),
    Body(Field),
}

#[derive(Debug, Clone)]
struct KeyLine {
    marker: char,
    label: String,
    field: Field,
}

/// A property rendered under its own heading. `heading` is `None` for a run
/// of step blocks, which render their own headings.
#[derive(Debug, Clone)]
struct Section {
    field: Field,
    level: usize,
    heading: Option<Heading>,
}

#[derive(Debug, Clone)]
struct Heading {
    /// As written in the template, with its `#`s.
    text: String,
    pieces: Vec<Piece>,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// Compared by snake_case words.
    Plain(String),
    /// Captures the heading's placeholders.
    Holes(Regex),
}

#[derive(Debug, Clone)]
struct Steps {
    level: usize,
    word: String,
    sep: String,
    /// The heading after `Step N:`; holes index into `item.holes`.
    rest: Vec<Piece>,
    item: Object,
    re: Regex,
    heading: String,
}

// ---------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------

// Only ever called on the literal patterns below, which the unit tests
// compile: `expect` cannot fire at run time.
fn static_re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| static_re(r"<[^<>\n]+>"));
static LIST_LINE: LazyLock<Regex> =
    LazyLock::new(|| static_re(r"^\s*(?:([-*+])|\d+[.)])(?:\s+(.*?))?\s*$"));
static CHECKBOX: LazyLock<Regex> = LazyLock::new(|| static_re(r"^\[[ xX]\](?:\s+|$)"));
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    static_re(r"^\s*(?:(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?)?(?:\.\.\.|…)\s*(?:\((.*)\))?\s*$")
});
static STEP_HEADING: LazyLock<Regex> =
    LazyLock::new(|| static_re(r"^(\p{L}+)\s+(\d+)\s*([:.—–-])\s*(.*<[^<>]+>.*)$"));

const TEMPLATE_NAME: &str = "artifact";
/// Starts the render program so that no block tag stands alone on the first
/// line (handlebars would eat the newline after a standalone tag).
const SENTINEL: char = '\u{E000}';

mod helpers {
    handlebars::handlebars_helper!(inc: |n: u64| n + 1);
}

// ---------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------

fn snake(text: &str, max_words: usize) -> String {
    text.chars()
        .filter(|c| *c != '\'' && *c != '’')
        .collect::<String>()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(max_words)
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

fn unique(base: &str, used: &mut HashSet<String>) -> String {
    let base = if base.is_empty() { "field" } else { base };
    let mut key = base.to_string();
    let mut n = 2;
    while !used.insert(key.clone()) {
        key = format!("{base}_{n}");
        n += 1;
    }
    key
}

/// A one-line value: line breaks (and the spaces around them) become one
/// space, so a value cannot break the line it sits on.
fn collapse(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn prose(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_string()
}

fn heading_line(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let level = t.chars().take_while(|c| *c == '#').count();
    // `#` is one byte, so `level` is a char boundary.
    if (1..=6).contains(&level) && t[level..].starts_with(' ') {
        Some((level, t[level..].trim()))
    } else {
        None
    }
}

fn strip_emphasis(text: &str) -> String {
    text.replace(['*', '`'], "").trim().to_string()
}

/// `text` without a case-insensitive `prefix`.
fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let mut it = text.char_indices();
    for pc in prefix.chars() {
        let (_, tc) = it.next()?;
        if !tc.to_lowercase().eq(pc.to_lowercase()) {
            return None;
        }
    }
    let at = it.next().map_or(text.len(), |(i, _)| i);
    Some(&text[at..])
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

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

/// Literal text and `<placeholders>` of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bit {
    Lit(String),
    Hole(String),
}

fn bits(text: &str) -> Vec<Bit> {
    let mut out = Vec::new();
    let mut at = 0;
    for m in PLACEHOLDER.find_iter(text) {
        if m.start() > at {
            out.push(Bit::Lit(text[at..m.start()].to_string()));
        }
        let s = m.as_str();
        // The match starts with `<` and ends with `>`, one byte each.
        out.push(Bit::Hole(s[1..s.len() - 1].trim().to_string()));
        at = m.end();
    }
    if at < text.len() {
        out.push(Bit::Lit(text[at..].to_string()));
    }
    out
}

fn hole_count(b: &[Bit]) -> usize {
    b.iter().filter(|x| matches!(x, Bit::Hole(_))).count()
}

struct Alternatives {
    values: Vec<String>,
    detail: Option<String>,
}

/// `<A / B / C>` or `<A / B — details>`: the choices a field is limited to.
fn alternatives(inner: &str) -> Option<Alternatives> {
    let mut parts: Vec<String> = inner.split(" / ").map(|p| p.trim().to_string()).collect();
    if parts.len() < 2 {
        return None;
    }
    let mut detail = None;
    if let Some(last) = parts.last_mut() {
        if let Some((v, d)) = last.clone().split_once(" — ") {
            *last = v.trim().to_string();
            detail = Some(d.trim().to_string());
        }
    }
    if detail.as_deref().is_some_and(|d| !plain_words(d, false)) {
        return None;
    }
    if parts
        .iter()
        .any(|p| !plain_words(p, true) || has_variable_token(p))
    {
        return None;
    }
    let mut seen = HashSet::new();
    if !parts.iter().all(|p| seen.insert(p.to_lowercase())) {
        return None;
    }
    Some(Alternatives {
        values: parts,
        detail,
    })
}

/// One to four words of letters, digits, hyphens or apostrophes. Enum values
/// must also start with a capital or a digit: `<likelihood / impact>` reads
/// as "likelihood and impact", not as a choice.
fn plain_words(s: &str, capital: bool) -> bool {
    let words = s.split_whitespace().count();
    (1..=4).contains(&words)
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '’' | '&'))
        && (!capital
            || s.chars()
                .next()
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()))
}

/// A lone capital such as `N` or `X` stands for something the writer fills
/// in (`After step N`); a model must never be forced to copy it.
fn has_variable_token(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        let mut cs = w.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase() && c != 'A' && c != 'I')
    })
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

/// The list marker and the text after it.
fn list_item(line: &str) -> Option<(Option<char>, &str)> {
    let c = LIST_LINE.captures(line)?;
    let bullet = c.get(1).and_then(|m| m.as_str().chars().next());
    Some((bullet, c.get(2).map_or("", |m| m.as_str())))
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

/// `**Key:** value` or `**Key**: value` (after the list marker).
fn template_key_line(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix("**")?;
    let close = rest.find("**")?;
    let inner = &rest[..close];
    let after = &rest[close + 2..];
    if let Some(k) = inner.trim_end().strip_suffix(':') {
        return Some((k.trim().to_string(), after.trim().to_string()));
    }
    let v = after.strip_prefix(':')?;
    Some((inner.trim().to_string(), v.trim().to_string()))
}

/// A key line as people write it: `- **Key:** v`, `- **Key**: v`,
/// `* Key: v`, `Key: v`.
fn key_value(line: &str) -> Option<(String, String)> {
    let t = match list_item(line) {
        Some((_, rest)) => rest,
        None => line.trim(),
    };
    if t.starts_with("**") {
        return template_key_line(t);
    }
    let (k, v) = t.split_once(':')?;
    let k = k.replace(['*', '`'], "");
    let words = k.split_whitespace().count();
    if words == 0 || words > 6 {
        return None;
    }
    Some((k.trim().to_string(), v.trim().to_string()))
}

fn is_blank_or_continuation(line: &str) -> bool {
    line.trim().is_empty() || CONTINUATION.is_match(line)
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

/// Regex source for a heading's literal text: case, spacing and `*`
/// emphasis are not compared.
fn heading_lit_regex(lit: &str) -> String {
    lit.split_whitespace()
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s*")
}

fn pieces_regex(pieces: &[Piece]) -> String {
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
    fn new(b: &[Bit], pieces: &[Piece]) -> Matcher {
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

    fn matches(&self, text: &str) -> Option<Vec<String>> {
        match self {
            Matcher::Plain(s) => (snake(text, usize::MAX) == *s).then(Vec::new),
            Matcher::Holes(re) => captures(re, text, 1),
        }
    }
}

/// The groups of `re` from `skip` on, matched against `text` as written or
/// without emphasis.
fn captures(re: &Regex, text: &str, skip: usize) -> Option<Vec<String>> {
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

// ---------------------------------------------------------------------------
// Lines with their headings, outside code fences
// ---------------------------------------------------------------------------

struct Lines<'a> {
    lines: Vec<&'a str>,
    heads: Vec<Option<(usize, String)>>,
    fenced: Vec<bool>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let mut fence = FenceTracker::default();
        let mut heads = Vec::with_capacity(lines.len());
        let mut fenced = Vec::with_capacity(lines.len());
        for l in &lines {
            let inside = fence.feed(l);
            fenced.push(inside);
            heads.push(if inside {
                None
            } else {
                heading_line(l).map(|(lv, t)| (lv, t.to_string()))
            });
        }
        Lines {
            lines,
            heads,
            fenced,
        }
    }

    fn level(&self, i: usize) -> Option<usize> {
        self.heads.get(i).and_then(|h| h.as_ref().map(|(l, _)| *l))
    }

    fn slice(&self, start: usize, end: usize) -> &[&'a str] {
        self.lines.get(start..end).unwrap_or(&[])
    }

    /// Splits a heading's body at its shallowest headings: where the lead
    /// ends, and the `(heading line, end)` of each subsection.
    fn split_body(&self, start: usize, end: usize) -> (usize, Vec<(usize, usize)>) {
        let Some(sub) = (start..end).filter_map(|i| self.level(i)).min() else {
            return (end, Vec::new());
        };
        let heads: Vec<usize> = (start..end)
            .filter(|i| self.level(*i).is_some_and(|l| l <= sub))
            .collect();
        let lead_end = heads.first().copied().unwrap_or(end);
        let chunks = heads
            .iter()
            .enumerate()
            .map(|(k, h)| (*h, heads.get(k + 1).copied().unwrap_or(end)))
            .collect();
        (lead_end, chunks)
    }
}

// ---------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------

enum Body {
    Empty,
    Literal(String),
    KeyLines(Vec<(char, String, String)>),
    Field(Kind, String),
}

struct Compiler<'t, 'a> {
    t: &'t Lines<'a>,
}

impl Compiler<'_, '_> {
    fn heading(&self, h: usize) -> (usize, String) {
        match self.t.heads.get(h) {
            Some(Some((l, t))) => (*l, t.clone()),
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
                .slice(h + 1, *end)
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
        let (lead_end, subs) = self.t.split_body(h + 1, end);
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
        let (lead_end, subs) = self.t.split_body(h + 1, end);
        let lead_blank = self
            .t
            .slice(h + 1, lead_end)
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
        let all = self.t.slice(start, end);
        let first = all.iter().position(|l| !l.trim().is_empty());
        let last = all.iter().rposition(|l| !l.trim().is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Body::Empty;
        };
        let lines = &all[first..=last];
        let text = lines.join("\n");
        let fenced = (start + first..=start + last).any(|i| self.t.fenced.get(i) == Some(&true));
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

// ---------------------------------------------------------------------------
// Headings: does a heading belong to a part of the shape?
// ---------------------------------------------------------------------------

fn object_matches(o: &Object, text: &str) -> bool {
    o.subs.iter().any(|s| {
        s.heading
            .as_ref()
            .is_some_and(|h| h.matcher.matches(text).is_some())
            || kind_matches(&s.field.kind, text)
    })
}

fn kind_matches(kind: &Kind, text: &str) -> bool {
    match kind {
        Kind::Object(o) => object_matches(o, text),
        Kind::Steps(s) => captures(&s.re, text, 2).is_some() || object_matches(&s.item, text),
        _ => false,
    }
}

impl Object {
    /// The properties, in template order: heading placeholders, the lead,
    /// then subsections.
    fn members(&self) -> Vec<(&Field, usize)> {
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

// ---------------------------------------------------------------------------
// The render program
// ---------------------------------------------------------------------------

enum Tp {
    Lit(String),
    Var(String),
    Raw(String),
}

fn var(p: &str) -> String {
    format!("{{{{{p}}}}}")
}

fn if_open(p: &str) -> String {
    format!("{{{{#if {p}}}}}")
}

fn each_open(p: &str) -> String {
    format!("{{{{#each {p}}}}}")
}

const IF_CLOSE: &str = "{{/if}}";
const EACH_CLOSE: &str = "{{/each}}";
const NUMBER: &str = "{{inc @index}}";

fn hb_path(prefix: &str, key: &str) -> String {
    format!("{prefix}[{key}]")
}

fn hole_key(kind: &Kind, i: usize) -> &str {
    match kind {
        Kind::Object(o) => o.holes.get(i).map_or("name", |f| f.key.as_str()),
        _ => "name",
    }
}

fn pieces_parts(pieces: &[Piece], key_of: impl Fn(usize) -> String) -> Vec<Tp> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => Tp::Lit(s.clone()),
            Piece::Hole(i) => Tp::Var(key_of(*i)),
        })
        .collect()
}

/// Builds the handlebars program. Every line of output is written as a
/// newline followed by its content, and block tags sit at the end of the
/// previous content line, so no tag ever stands alone on a line (handlebars
/// would swallow the newline after it).
struct Gen {
    out: String,
    /// Template text that handlebars would read as syntax (`{{`, or a `\`
    /// before a tag); written by the `lit` helper instead.
    lits: Vec<String>,
}

impl Gen {
    fn lit(&mut self, s: &str) {
        if s.contains('\\') || s.contains("{{") {
            self.lits.push(s.to_string());
            self.out
                .push_str(&format!("{{{{lit {}}}}}", self.lits.len() - 1));
        } else {
            self.out.push_str(s);
        }
    }

    /// One line of output. Whitespace before a final value goes inside its
    /// condition, so an empty value leaves no trailing space.
    fn line(&mut self, parts: Vec<Tp>) {
        let mut merged: Vec<Tp> = Vec::new();
        for p in parts {
            match (merged.last_mut(), p) {
                (Some(Tp::Lit(a)), Tp::Lit(b)) => a.push_str(&b),
                (_, p) => merged.push(p),
            }
        }
        let n = merged.len();
        for (k, p) in merged.iter().enumerate() {
            match p {
                Tp::Lit(s) => match merged.get(k + 1) {
                    Some(Tp::Var(v)) if k + 2 == n && s.ends_with(char::is_whitespace) => {
                        let kept = s.trim_end();
                        self.lit(kept);
                        self.out.push_str(&if_open(v));
                        self.out.push_str(&s[kept.len()..]);
                        self.out.push_str(&var(v));
                        self.out.push_str(IF_CLOSE);
                        return;
                    }
                    _ => self.lit(s),
                },
                Tp::Var(v) => self.out.push_str(&var(v)),
                Tp::Raw(r) => self.out.push_str(r),
            }
        }
    }

    fn detail(&mut self, p: &str) {
        self.out.push_str(&if_open(p));
        self.out.push_str(" — ");
        self.out.push_str(&var(p));
        self.out.push_str(IF_CLOSE);
    }

    fn object(&mut self, o: &Object, prefix: &str) {
        match &o.lead {
            Lead::None => {}
            Lead::Literal(t) => {
                for l in t.lines() {
                    self.out.push('\n');
                    self.lit(l);
                }
            }
            Lead::KeyLines(kls) => {
                for kl in kls {
                    self.out.push('\n');
                    let label = Tp::Lit(format!("{} **{}:** ", kl.marker, kl.label));
                    let p = hb_path(prefix, &kl.field.key);
                    match &kl.field.kind {
                        Kind::EnumDetail { detail, .. } => {
                            self.line(vec![label, Tp::Var(format!("{p}.[value]"))]);
                            self.detail(&format!("{p}.[{detail}]"));
                        }
                        _ => self.line(vec![label, Tp::Var(p)]),
                    }
                }
            }
            Lead::Body(f) => self.body(&f.kind, &hb_path(prefix, &f.key)),
        }
        for s in &o.subs {
            let p = hb_path(prefix, &s.field.key);
            match (&s.heading, &s.field.kind) {
                (Some(h), kind) => {
                    self.out.push_str("\n\n");
                    let mut parts = vec![Tp::Lit(format!("{} ", "#".repeat(s.level)))];
                    parts.extend(pieces_parts(&h.pieces, |i| {
                        format!("{p}.[{}]", hole_key(kind, i))
                    }));
                    self.line(parts);
                    self.body(kind, &p);
                }
                (None, Kind::Steps(st)) => self.steps(st, &p),
                (None, _) => {}
            }
        }
    }

    fn body(&mut self, kind: &Kind, p: &str) {
        match kind {
            Kind::Text { .. } => {
                self.out.push_str(&if_open(p));
                self.out.push('\n');
                self.out.push_str(&var(p));
                self.out.push_str(IF_CLOSE);
            }
            Kind::Enum(_) => {
                self.out.push('\n');
                self.out.push_str(&var(p));
            }
            Kind::EnumDetail { detail, .. } => {
                self.out.push('\n');
                self.out.push_str(&var(&format!("{p}.[value]")));
                self.detail(&format!("{p}.[{detail}]"));
            }
            Kind::List(l) => {
                self.out.push_str(&each_open(p));
                self.out.push('\n');
                self.item(l);
                self.out.push_str(EACH_CLOSE);
            }
            Kind::Object(o) => self.object(o, &format!("{p}.")),
            Kind::Steps(s) => self.steps(s, p),
        }
    }

    fn steps(&mut self, s: &Steps, p: &str) {
        self.out.push_str(&each_open(p));
        self.out.push_str("\n\n");
        let mut parts = vec![
            Tp::Lit(format!("{} {} ", "#".repeat(s.level), s.word)),
            Tp::Raw(NUMBER.to_string()),
            Tp::Lit(format!("{} ", s.sep)),
        ];
        parts.extend(pieces_parts(&s.rest, |i| {
            hb_path("", s.item.holes.get(i).map_or("name", |f| f.key.as_str()))
        }));
        self.line(parts);
        self.object(&s.item, "");
        self.out.push_str(EACH_CLOSE);
    }

    fn item(&mut self, l: &List) {
        let mut parts = match l.marker {
            Marker::Bullet(c) => vec![Tp::Lit(format!("{c} "))],
            Marker::Checkbox(c) => vec![Tp::Lit(format!("{c} [ ] "))],
            Marker::Numbered => vec![Tp::Raw(NUMBER.to_string()), Tp::Lit(". ".to_string())],
        };
        match &l.item {
            Item::Single(f) => match &f.kind {
                Kind::EnumDetail { detail, .. } => {
                    parts.push(Tp::Var("[value]".to_string()));
                    self.line(parts);
                    self.detail(&format!("[{detail}]"));
                    return;
                }
                _ => parts.push(Tp::Var("this".to_string())),
            },
            Item::Joined(j) => parts.extend(pieces_parts(&j.pieces, |i| {
                hb_path("", j.fields.get(i).map_or("item", |f| f.key.as_str()))
            })),
        }
        self.line(parts);
    }
}

// ---------------------------------------------------------------------------
// Reading Markdown back
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// The level of the heading that opened this span (0 for the document).
    level: usize,
}

#[derive(Debug)]
struct Anchor {
    line: usize,
    level: usize,
    target: usize,
    caps: Vec<String>,
}

/// Where an anchored region ends: at the next anchor, or earlier at an
/// unknown heading no deeper than the anchor's own that no part of its
/// shape claims (an extra `## Notes` a model added ends the section before).
fn region_end(doc: &Lines, a: &Anchor, next: usize, claims: impl Fn(&str) -> bool) -> usize {
    for i in a.line + 1..next {
        if let Some(Some((lv, t))) = doc.heads.get(i) {
            if *lv <= a.level && !claims(t) {
                return i;
            }
        }
    }
    next
}

fn step_anchors(
    s: &Steps,
    doc: &Lines,
    span: Span,
    taken: &HashSet<usize>,
    target: usize,
) -> Vec<Anchor> {
    let found: Vec<Anchor> = (span.start..span.end)
        .filter(|i| !taken.contains(i))
        .filter_map(|i| {
            let (lv, t) = doc.heads.get(i)?.as_ref()?;
            captures(&s.re, t, 2).map(|caps| Anchor {
                line: i,
                level: *lv,
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

fn match_enum(values: &[String], text: &str) -> Option<String> {
    let t = strip_emphasis(text);
    if let Some(v) = values.iter().find(|v| v.to_lowercase() == t.to_lowercase()) {
        return Some(v.clone());
    }
    enum_prefix(values, &t).map(|(v, _)| v)
}

fn match_enum_detail(values: &[String], text: &str) -> Option<(String, String)> {
    let t = text.trim().trim_start_matches(['*', '`', '_']);
    let (v, rest) = enum_prefix(values, t)?;
    let rest = rest.trim_start_matches(['*', '`', '_']).trim_start();
    let rest = rest
        .strip_prefix(['—', '–', '-', ':', ',', ';'])
        .unwrap_or(rest);
    Some((v, collapse(rest)))
}

fn not_one_of(values: &[String]) -> String {
    values.join(", ")
}

impl ArtifactSchema {
    fn parse_object(
        &self,
        o: &Object,
        doc: &Lines,
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
                    let (lv, t) = doc.heads.get(i)?.as_ref()?;
                    h.matcher.matches(t).map(|caps| Anchor {
                        line: i,
                        level: *lv,
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
        let lead_end = anchors.first().map_or(span.end, |a| a.line);
        let lead_span = Span {
            start: span.start,
            end: lead_end,
            level: span.level,
        };
        match &o.lead {
            Lead::KeyLines(kls) => self.parse_key_lines(kls, doc, lead_span, path, &mut map, out),
            Lead::Body(f) => {
                let v = self.parse_field(f, doc, lead_span, &[], &child(path, &f.key), out);
                map.insert(f.key.clone(), v);
            }
            Lead::None | Lead::Literal(_) => {}
        }

        let mut values: Vec<Option<Value>> = vec![None; o.subs.len()];
        for (k, a) in anchors.iter().enumerate() {
            let next = anchors.get(k + 1).map_or(span.end, |n| n.line);
            let Some(sub) = o.subs.get(a.target) else {
                continue;
            };
            let sub_path = child(path, &sub.field.key);
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
                    let v = self.parse_object(
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
                    values[a.target] =
                        Some(self.parse_field(&sub.field, doc, sub_span, &a.caps, &sub_path, out));
                }
            }
        }
        for (sub, v) in o.subs.iter().zip(values) {
            let sub_path = child(path, &sub.field.key);
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

    fn parse_field(
        &self,
        f: &Field,
        doc: &Lines,
        span: Span,
        caps: &[String],
        path: &str,
        out: &mut Vec<String>,
    ) -> Value {
        let region = doc.slice(span.start, span.end);
        let content = || {
            region
                .iter()
                .enumerate()
                .filter(|(i, l)| {
                    !l.trim().is_empty()
                        && doc.heads.get(span.start + i).is_some_and(Option::is_none)
                })
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
            Kind::List(l) => self.parse_list(l, doc, span, path, out),
            Kind::Object(o) => self.parse_object(o, doc, span, caps, path, out),
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
                        self.parse_object(
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

    fn parse_list(
        &self,
        l: &List,
        doc: &Lines,
        span: Span,
        path: &str,
        out: &mut Vec<String>,
    ) -> Value {
        let mut items: Vec<String> = Vec::new();
        for i in span.start..span.end {
            let Some(line) = doc.lines.get(i) else { break };
            if doc.fenced.get(i) == Some(&true)
                || doc.heads.get(i).is_some_and(Option::is_some)
                || is_blank_or_continuation(line)
            {
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
                    Item::Single(f) => self.parse_inline(&f.kind, text, &p, out),
                    Item::Joined(j) => self.parse_joined(j, text, &p, out),
                }
            })
            .collect();
        Value::Array(values)
    }

    fn parse_inline(&self, kind: &Kind, text: &str, path: &str, out: &mut Vec<String>) -> Value {
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

    fn parse_joined(&self, j: &Joined, text: &str, path: &str, out: &mut Vec<String>) -> Value {
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
                        self.parse_inline(&f.kind, &c, &child(path, &f.key), out),
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

    fn parse_key_lines(
        &self,
        kls: &[KeyLine],
        doc: &Lines,
        span: Span,
        path: &str,
        map: &mut Map<String, Value>,
        out: &mut Vec<String>,
    ) {
        let mut found: Vec<Option<String>> = vec![None; kls.len()];
        let mut last: Option<usize> = None;
        for i in span.start..span.end {
            let Some(line) = doc.lines.get(i) else { break };
            if doc.fenced.get(i) == Some(&true)
                || doc.heads.get(i).is_some_and(Option::is_some)
                || is_blank_or_continuation(line)
            {
                continue;
            }
            let indented = line.starts_with("  ") || line.starts_with('\t');
            if !indented {
                if let Some((k, v)) = key_value(line) {
                    let wanted = snake(&k, usize::MAX);
                    last = kls
                        .iter()
                        .position(|kl| snake(&kl.label, usize::MAX) == wanted)
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
            let p = child(path, &kl.field.key);
            let v = match v {
                Some(v) => self.parse_inline(&kl.field.kind, &v, &p, out),
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
}

// ---------------------------------------------------------------------------
// Checking, normalizing, listing enums
// ---------------------------------------------------------------------------

struct Problem {
    path: String,
    message: String,
    /// Missing keys and wrong types: rendering is impossible.
    shape: bool,
}

impl Problem {
    fn text(&self) -> String {
        format!("{}: {}", shown(&self.path), self.message)
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

/// The first place where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(p) = first_difference(v, w, &child(path, k)) {
                            return Some(p);
                        }
                    }
                    None => return Some(child(path, k)),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| child(path, k))
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

impl ArtifactSchema {
    fn check(&self, kind: &Kind, v: &Value, path: &str, level: usize, out: &mut Vec<Problem>) {
        let b = &self.bounds;
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
                            path: child(path, key),
                            message: "missing".to_string(),
                            shape: true,
                        });
                    }
                }
                for k in m.keys().filter(|k| *k != "value" && *k != detail) {
                    out.push(Problem {
                        path: child(path, k),
                        message: "unexpected key".to_string(),
                        shape: false,
                    });
                }
                if let Some(x) = m.get("value") {
                    self.check(
                        &Kind::Enum(values.clone()),
                        x,
                        &child(path, "value"),
                        level,
                        out,
                    );
                }
                if let Some(x) = m.get(detail) {
                    self.check(
                        &Kind::Text { inline: true },
                        x,
                        &child(path, detail),
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
                Some(x) => self.check(&f.kind, x, &child(path, &f.key), level, out),
                None => out.push(Problem {
                    path: child(path, &f.key),
                    message: "missing".to_string(),
                    shape: true,
                }),
            }
        }
        for k in m.keys().filter(|k| !known.contains(k.as_str())) {
            out.push(Problem {
                path: child(path, k),
                message: "unexpected key".to_string(),
                shape: false,
            });
        }
        if out.len() > before {
            return;
        }
        // A field holding the literal that separates it from the next one
        // would be cut there when read back.
        let Value::Object(norm) = self.norm_item(&Item::Joined(j.clone()), v) else {
            return;
        };
        let line = joined_line(j, &norm);
        let back = j.exact.captures(&line).map(|c| {
            c.iter()
                .skip(1)
                .map(|x| x.map_or("", |x| x.as_str()).trim().to_string())
                .collect::<Vec<_>>()
        });
        for (k, f) in j.fields.iter().enumerate() {
            let want = norm.get(&f.key).and_then(Value::as_str).unwrap_or("");
            let got = back.as_ref().and_then(|b| b.get(k)).map(String::as_str);
            if matches!(f.kind, Kind::Text { .. }) && got.is_some_and(|g| g != want) {
                out.push(Problem {
                    path: child(path, &f.key),
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
                Some(x) => self.check(&f.kind, x, &child(path, &f.key), member_level, out),
                None => out.push(Problem {
                    path: child(path, &f.key),
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
                path: child(path, k),
                message: "unexpected key".to_string(),
                shape: false,
            });
        }
    }

    /// Lines of a prose value that would change the document's structure.
    fn prose_problems(&self, s: &str, level: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut fence = FenceTracker::default();
        for l in s.lines() {
            if fence.feed(l) {
                continue;
            }
            if let Some((lv, t)) = heading_line(l) {
                if lv <= level {
                    out.push(format!(
                        "the line '{}' is a level-{lv} heading, which would end the section; use a deeper heading",
                        l.trim()
                    ));
                } else if object_matches(&self.root, t) {
                    out.push(format!(
                        "the line '{}' is one of the template's headings, which would split the artifact",
                        l.trim()
                    ));
                }
            }
        }
        // A line that is not a fence marker reads as inside a fence only
        // while one is open.
        if fence.feed("x") {
            out.push("opens a code fence (```) that never closes".to_string());
        }
        out
    }

    fn problems(&self, value: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_object(&self.root, value, "", 0, &mut out);
        out
    }

    fn norm(&self, kind: &Kind, v: &Value) -> Value {
        match (kind, v) {
            (Kind::Text { inline: true }, Value::String(s)) => Value::String(collapse(s)),
            (Kind::Text { inline: false }, Value::String(s)) => Value::String(prose(s)),
            (Kind::Enum(values), Value::String(s)) => {
                Value::String(match_exact(values, s).unwrap_or_else(|| s.trim().to_string()))
            }
            (Kind::EnumDetail { values, detail }, Value::Object(m)) => {
                let mut out = Map::new();
                if let Some(x) = m.get("value") {
                    out.insert(
                        "value".to_string(),
                        self.norm(&Kind::Enum(values.clone()), x),
                    );
                }
                if let Some(x) = m.get(detail) {
                    out.insert(detail.clone(), self.norm(&Kind::Text { inline: true }, x));
                }
                Value::Object(out)
            }
            (Kind::List(l), Value::Array(a)) => {
                Value::Array(a.iter().map(|x| self.norm_item(&l.item, x)).collect())
            }
            (Kind::Object(o), Value::Object(_)) => self.norm_object(o, v),
            (Kind::Steps(s), Value::Array(a)) => {
                Value::Array(a.iter().map(|x| self.norm_object(&s.item, x)).collect())
            }
            _ => v.clone(),
        }
    }

    fn norm_item(&self, item: &Item, v: &Value) -> Value {
        match (item, v) {
            (Item::Single(f), _) => self.norm(&f.kind, v),
            (Item::Joined(j), Value::Object(m)) => {
                let mut out = Map::new();
                for (f, defuse) in j.fields.iter().zip(&j.defuse) {
                    if let Some(x) = m.get(&f.key) {
                        let mut n = self.norm(&f.kind, x);
                        if let (true, Value::String(s)) = (*defuse, &n) {
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

    fn norm_object(&self, o: &Object, v: &Value) -> Value {
        let Value::Object(m) = v else {
            return v.clone();
        };
        let mut out = Map::new();
        for (f, _) in o.members() {
            if let Some(x) = m.get(&f.key) {
                out.insert(f.key.clone(), self.norm(&f.kind, x));
            }
        }
        Value::Object(out)
    }

    fn enums(&self, kind: &Kind, v: &Value, path: &str, out: &mut Vec<EnumField>) {
        match (kind, v) {
            (Kind::Enum(values), Value::String(s)) => out.push(EnumField {
                path: path.to_string(),
                value: s.clone(),
                allowed: values.clone(),
            }),
            (Kind::EnumDetail { values, .. }, Value::Object(m)) => {
                if let Some(x) = m.get("value") {
                    self.enums(&Kind::Enum(values.clone()), x, &child(path, "value"), out);
                }
            }
            (Kind::List(l), Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    match (&l.item, x) {
                        (Item::Single(f), _) => self.enums(&f.kind, x, &p, out),
                        (Item::Joined(j), Value::Object(m)) => {
                            for f in &j.fields {
                                if let Some(y) = m.get(&f.key) {
                                    self.enums(&f.kind, y, &child(&p, &f.key), out);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            (Kind::Object(o), Value::Object(_)) => self.object_enums(o, v, path, out),
            (Kind::Steps(s), Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    self.object_enums(&s.item, x, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    fn object_enums(&self, o: &Object, v: &Value, path: &str, out: &mut Vec<EnumField>) {
        let Value::Object(m) = v else { return };
        for (f, _) in o.members() {
            if let Some(x) = m.get(&f.key) {
                self.enums(&f.kind, x, &child(path, &f.key), out);
            }
        }
    }

    fn schema_of(&self, f: &Field, bounded: bool) -> Value {
        let mut s = self.kind_schema(&f.kind, bounded);
        if let (Value::Object(m), false) = (&mut s, f.description.is_empty()) {
            m.insert(
                "description".to_string(),
                Value::String(f.description.clone()),
            );
        }
        s
    }

    fn kind_schema(&self, kind: &Kind, bounded: bool) -> Value {
        let b = &self.bounds;
        let string = |max: usize| {
            let mut m = Map::new();
            m.insert("type".to_string(), "string".into());
            if bounded {
                m.insert("maxLength".to_string(), max.into());
            }
            Value::Object(m)
        };
        let array = |items: Value, max: usize| {
            let mut m = Map::new();
            m.insert("type".to_string(), "array".into());
            m.insert("items".to_string(), items);
            if bounded {
                m.insert("minItems".to_string(), 1.into());
                m.insert("maxItems".to_string(), max.into());
            }
            Value::Object(m)
        };
        match kind {
            Kind::Text { inline } => string(if *inline { b.max_item } else { b.max_text }),
            Kind::Enum(values) => enum_schema(values),
            Kind::EnumDetail { values, detail } => {
                let mut d = string(b.max_item);
                if let Value::Object(m) = &mut d {
                    m.insert(
                        "description".to_string(),
                        format!("{detail} (may be empty)").into(),
                    );
                }
                object_schema(vec![
                    ("value".to_string(), enum_schema(values)),
                    (detail.clone(), d),
                ])
            }
            Kind::List(l) => {
                let items = match &l.item {
                    Item::Single(f) => self.schema_of(f, bounded),
                    Item::Joined(j) => object_schema(
                        j.fields
                            .iter()
                            .map(|f| (f.key.clone(), self.schema_of(f, bounded)))
                            .collect(),
                    ),
                };
                array(items, b.max_items)
            }
            Kind::Object(o) => self.object_schema_of(o, bounded),
            Kind::Steps(s) => array(self.object_schema_of(&s.item, bounded), b.max_steps),
        }
    }

    fn object_schema_of(&self, o: &Object, bounded: bool) -> Value {
        object_schema(
            o.members()
                .into_iter()
                .map(|(f, _)| (f.key.clone(), self.schema_of(f, bounded)))
                .collect(),
        )
    }
}

fn match_exact(values: &[String], s: &str) -> Option<String> {
    let t = s.trim().to_lowercase();
    values.iter().find(|v| v.to_lowercase() == t).cloned()
}

fn enum_schema(values: &[String]) -> Value {
    let mut m = Map::new();
    m.insert("type".to_string(), "string".into());
    m.insert(
        "enum".to_string(),
        Value::Array(values.iter().map(|v| Value::String(v.clone())).collect()),
    );
    Value::Object(m)
}

fn object_schema(props: Vec<(String, Value)>) -> Value {
    let mut m = Map::new();
    m.insert("type".to_string(), "object".into());
    m.insert(
        "required".to_string(),
        Value::Array(
            props
                .iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        ),
    );
    m.insert(
        "properties".to_string(),
        Value::Object(props.into_iter().collect()),
    );
    m.insert("additionalProperties".to_string(), false.into());
    Value::Object(m)
}

// ---------------------------------------------------------------------------
// The public face
// ---------------------------------------------------------------------------

impl ArtifactSchema {
    /// Compiles a template (the text inside a workflow's ``` fence). Only a
    /// template without any heading fails: every odd section still compiles,
    /// at worst to a string of free Markdown.
    pub fn compile(template: &str, bounds: &Bounds) -> Result<ArtifactSchema, SchemaError> {
        let t = Lines::new(template);
        let levels: Vec<usize> = (0..t.lines.len()).filter_map(|i| t.level(i)).collect();
        let root_level = if levels.contains(&2) {
            2
        } else {
            *levels.iter().min().ok_or(SchemaError::NoSections)?
        };
        let first = (0..t.lines.len())
            .find(|i| t.level(*i) == Some(root_level))
            .ok_or(SchemaError::NoSections)?;
        let heads: Vec<usize> = (first..t.lines.len())
            .filter(|i| t.level(*i).is_some_and(|l| l <= root_level))
            .collect();
        let chunks: Vec<(usize, usize)> = heads
            .iter()
            .enumerate()
            .map(|(k, h)| (*h, heads.get(k + 1).copied().unwrap_or(t.lines.len())))
            .collect();
        let c = Compiler { t: &t };
        let root = c.object(
            Vec::new(),
            HashSet::new(),
            (0, first),
            &chunks,
            "preamble",
            true,
        );

        let mut program = Gen {
            out: String::from(SENTINEL),
            lits: Vec::new(),
        };
        program.object(&root, "");
        let Gen { out: source, lits } = program;
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.set_strict_mode(true);
        registry.register_helper("inc", Box::new(helpers::inc));
        registry.register_helper(
            "lit",
            Box::new(
                move |h: &handlebars::Helper<'_>,
                      _: &Handlebars<'_>,
                      _: &handlebars::Context,
                      _: &mut handlebars::RenderContext<'_, '_>,
                      out: &mut dyn handlebars::Output|
                      -> handlebars::HelperResult {
                    let text = h
                        .param(0)
                        .and_then(|p| p.value().as_u64())
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| lits.get(i))
                        .map_or("", String::as_str);
                    out.write(text)?;
                    Ok(())
                },
            ),
        );
        registry
            .register_template_string(TEMPLATE_NAME, &source)
            .map_err(|e| SchemaError::Template(Box::new(e)))?;
        Ok(ArtifactSchema {
            root,
            bounds: bounds.clone(),
            source,
            registry,
        })
    }

    /// The schema to send as `response_format: json_schema`. Every object
    /// requires all its properties and allows no others, because a grammar
    /// built from it then forces a model through every section in order.
    pub fn json_schema(&self) -> Value {
        self.object_schema_of(&self.root, true)
    }

    /// The same schema without `maxLength`/`minItems`/`maxItems`: OpenAI's
    /// strict mode rejects length and size keywords.
    pub fn json_schema_without_bounds(&self) -> Value {
        self.object_schema_of(&self.root, false)
    }

    /// Problems in a model's JSON, each as `path: what is wrong`. Empty means
    /// valid. Servers do not all enforce schemas, so this is the real check;
    /// it also refuses values that would not read back the same once
    /// rendered (a prose field holding one of the template's headings, an
    /// unclosed code fence), so a valid value always round-trips.
    pub fn validate(&self, value: &Value) -> Vec<String> {
        let problems = self.problems(value);
        if !problems.is_empty() {
            return problems.iter().map(Problem::text).collect();
        }
        let normal = self.normalize(value);
        let back = self
            .render(value)
            .map_err(|e| vec![e.to_string()])
            .and_then(|md| self.parse(&md));
        match back {
            Ok(back) => match first_difference(&normal, &back, "") {
                None => Vec::new(),
                Some(p) => vec![format!(
                    "{}: does not read back the same once rendered; the text clashes with the Markdown around it",
                    shown(&p)
                )],
            },
            Err(ps) => vec![format!(
                "the rendered artifact does not read back: {}",
                ps.join("; ")
            )],
        }
    }

    /// The value as [`ArtifactSchema::render`] writes it and
    /// [`ArtifactSchema::parse`] reads it back: one-line fields collapsed,
    /// strings trimmed, enum values in the template's spelling, keys the
    /// template does not know dropped.
    pub fn normalize(&self, value: &Value) -> Value {
        self.norm_object(&self.root, value)
    }

    /// The artifact's Markdown, in the template's exact structure. Fails only
    /// on a value whose shape is wrong (missing keys, wrong types); values
    /// that are merely out of bounds or outside an enum still render, so a
    /// person can see and fix them.
    pub fn render(&self, value: &Value) -> Result<String, SchemaError> {
        let shape: Vec<String> = self
            .problems(value)
            .iter()
            .filter(|p| p.shape)
            .map(Problem::text)
            .collect();
        if !shape.is_empty() {
            return Err(SchemaError::Shape(shape));
        }
        let data = self.normalize(value);
        let out = self
            .registry
            .render(TEMPLATE_NAME, &data)
            .map_err(|e| SchemaError::Render(Box::new(e)))?;
        let out = out.strip_prefix(SENTINEL).unwrap_or(&out);
        Ok(format!(
            "{}\n",
            out.trim_start_matches('\n').trim_end_matches('\n')
        ))
    }

    /// Reads Markdown of this template back into JSON: as rendered, as a
    /// person edited it, or as a model wrote it free-form. Headings are
    /// matched by their words (case, `*` and backticks, and level are not
    /// compared), lists may use `-`, `*` or `+`, `Value — details` may use
    /// ` - ` or `: `, and enum values are matched case-insensitively and
    /// returned in the template's spelling. Problems name the path and, for
    /// an enum, the allowed values. Bounds are not checked here (run
    /// [`ArtifactSchema::validate`] on the result for that).
    pub fn parse(&self, markdown: &str) -> Result<Value, Vec<String>> {
        let text = markdown::strip_outer_fence(markdown);
        let doc = Lines::new(&text);
        let span = Span {
            start: 0,
            end: doc.lines.len(),
            level: 0,
        };
        let mut problems = Vec::new();
        let v = self.parse_object(&self.root, &doc, span, &[], "", &mut problems);
        if problems.is_empty() {
            Ok(v)
        } else {
            Err(problems)
        }
    }

    /// Every enum field present in `value`, wherever it sits.
    pub fn enum_fields(&self, value: &Value) -> Vec<EnumField> {
        let mut out = Vec::new();
        self.object_enums(&self.root, value, "", &mut out);
        out
    }

    /// The top-level property names in order, each with the template heading
    /// it renders under (empty for a preamble field).
    pub fn sections(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        match &self.root.lead {
            Lead::KeyLines(kls) => out.extend(kls.iter().map(|k| {
                (
                    k.field.key.clone(),
                    format!("{} **{}:**", k.marker, k.label),
                )
            })),
            Lead::Body(f) => out.push((f.key.clone(), String::new())),
            Lead::None | Lead::Literal(_) => {}
        }
        for s in &self.root.subs {
            let heading = match (&s.heading, &s.field.kind) {
                (Some(h), _) => h.text.clone(),
                (None, Kind::Steps(st)) => st.heading.clone(),
                (None, _) => String::new(),
            };
            out.push((s.field.key.clone(), heading));
        }
        out
    }

    /// The handlebars program [`ArtifactSchema::render`] runs, for debugging
    /// a template that renders unexpectedly.
    pub fn render_template(&self) -> &str {
        self.source.strip_prefix(SENTINEL).unwrap_or(&self.source)
    }

    /// The bounds the schema carries, so a retry prompt can name them.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Held back from the seed workflow: enums with details (in a section
    /// and in a key line), a numbered list of joined items, a checklist,
    /// key lines with literal text, step blocks named "Phase", a title
    /// before the first section, and a section mixing prose and a list.
    const INCIDENT: &str = "# Incident Review

## Summary
<What happened, in two sentences>

## Severity
<SEV1 / SEV2 / SEV3 — justification>

## Customer Impact
<None / Degraded / Outage>

## Timeline
1. <Time> — <event>
2. <Time> — <event>
...

## Follow-ups
- [ ] <Action> — <owner>
- ...

## Escalation
- **Primary:** page <rotation>
- **Backup:** <name and team>

## Phases

### Phase 1: <Title>
- **Goal:** <goal>
- **Exit check:** <Passed / Failed — why>

### Phase 2: <Title>
...

## Notes
Anything else, e.g. <links>
- or a list of <things>
";

    /// Nested `###` subsections under a heading with a placeholder, steps
    /// named "Stage" with other fields, and two headings with one key.
    const SERVICE: &str = "## Service <Name>

### Owner
<Team>

### Health
<Green / Amber / Red>

### Probes
- <Probe> — <Up / Down>
- ...

## Runbook

### Stage 1: <Label>
- **Command:** <shell command>
- **Expect:** <output>

### Stage 2: <Label>
...

## Notes
<Anything else>

## Notes
<More>
";

    fn compile(t: &str) -> ArtifactSchema {
        ArtifactSchema::compile(t, &Bounds::default())
            .unwrap_or_else(|e| panic!("compile failed: {e}"))
    }

    fn keys(s: &ArtifactSchema) -> Vec<String> {
        s.sections().into_iter().map(|(k, _)| k).collect()
    }

    fn incident_value() -> Value {
        json!({
            "summary": "The primary database failed over.\nWrites paused for 4 minutes.",
            "severity": {"value": "SEV2", "justification": "customer-facing latency"},
            "customer_impact": "Degraded",
            "timeline": [
                {"time": "10:02", "event": "alert fired"},
                {"time": "10:06", "event": "failover done"}
            ],
            "follow_ups": [
                {"action": "Add replica lag alert", "owner": "dba team"},
                {"action": "Write runbook", "owner": ""}
            ],
            "escalation": {"primary": "page db-oncall", "backup": "Ana (platform)"},
            "phases": [
                {"title": "Detect", "goal": "find the fault", "exit_check": {"value": "Passed", "why": ""}},
                {"title": "Recover", "goal": "restore writes", "exit_check": {"value": "Failed", "why": "replica lagged"}}
            ],
            "notes": "See https://example.com/pm-1\n- graphs attached"
        })
    }

    const INCIDENT_RENDERED: &str = "# Incident Review

## Summary
The primary database failed over.
Writes paused for 4 minutes.

## Severity
SEV2 — customer-facing latency

## Customer Impact
Degraded

## Timeline
1. 10:02 — alert fired
2. 10:06 — failover done

## Follow-ups
- [ ] Add replica lag alert — dba team
- [ ] Write runbook —

## Escalation
- **Primary:** page db-oncall
- **Backup:** Ana (platform)

## Phases

### Phase 1: Detect
- **Goal:** find the fault
- **Exit check:** Passed

### Phase 2: Recover
- **Goal:** restore writes
- **Exit check:** Failed — replica lagged

## Notes
See https://example.com/pm-1
- graphs attached
";

    #[test]
    fn incident_template_compiles_to_its_shape() {
        let s = compile(INCIDENT);
        assert_eq!(
            keys(&s),
            [
                "summary",
                "severity",
                "customer_impact",
                "timeline",
                "follow_ups",
                "escalation",
                "phases",
                "notes"
            ]
        );
        let js = s.json_schema();
        let p = &js["properties"];
        assert_eq!(p["summary"]["type"], "string");
        assert_eq!(p["summary"]["maxLength"], 800);
        assert_eq!(
            p["severity"]["properties"]["value"]["enum"],
            json!(["SEV1", "SEV2", "SEV3"])
        );
        assert_eq!(p["severity"]["required"], json!(["value", "justification"]));
        assert_eq!(
            p["customer_impact"]["enum"],
            json!(["None", "Degraded", "Outage"])
        );
        assert_eq!(p["timeline"]["items"]["required"], json!(["time", "event"]));
        assert_eq!(p["timeline"]["minItems"], 1);
        assert_eq!(p["timeline"]["maxItems"], 8);
        assert_eq!(
            p["follow_ups"]["items"]["required"],
            json!(["action", "owner"])
        );
        assert_eq!(p["escalation"]["required"], json!(["primary", "backup"]));
        assert_eq!(
            p["escalation"]["properties"]["primary"]["description"],
            "page <rotation>"
        );
        assert_eq!(p["phases"]["type"], "array");
        assert_eq!(p["phases"]["maxItems"], 12);
        assert_eq!(
            p["phases"]["items"]["required"],
            json!(["title", "goal", "exit_check"])
        );
        assert_eq!(
            p["phases"]["items"]["properties"]["exit_check"]["properties"]["value"]["enum"],
            json!(["Passed", "Failed"])
        );
        assert_eq!(
            p["phases"]["items"]["properties"]["exit_check"]["required"],
            json!(["value", "why"])
        );
        assert_eq!(p["notes"]["type"], "string");
        assert!(p["notes"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("- or a list of <things>")));
    }

    #[test]
    fn every_object_is_closed_and_requires_everything() {
        fn walk(v: &Value, bounded: bool) {
            match v {
                Value::Object(m) => {
                    if m.get("type") == Some(&json!("object")) {
                        assert_eq!(m["additionalProperties"], json!(false));
                        let props: Vec<&String> = m["properties"]
                            .as_object()
                            .map(|p| p.keys().collect())
                            .unwrap_or_default();
                        let req = m["required"].as_array().map_or(0, Vec::len);
                        assert_eq!(props.len(), req, "{v}");
                    }
                    if !bounded {
                        for k in ["maxLength", "minLength", "minItems", "maxItems"] {
                            assert!(!m.contains_key(k), "{k} in {v}");
                        }
                    }
                    m.values().for_each(|x| walk(x, bounded));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, bounded)),
                _ => {}
            }
        }
        for t in [INCIDENT, SERVICE] {
            let s = compile(t);
            walk(&s.json_schema(), true);
            walk(&s.json_schema_without_bounds(), false);
            assert!(s.json_schema().to_string().contains("maxLength"));
        }
    }

    #[test]
    fn incident_renders_exactly_and_reads_back() {
        let s = compile(INCIDENT);
        let v = incident_value();
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(md, INCIDENT_RENDERED);
        assert!(sections::missing_sections(INCIDENT, &md).is_empty());
        assert_eq!(s.parse(&md), Ok(v));
    }

    #[test]
    fn rendering_is_deterministic() {
        let s = compile(INCIDENT);
        let v = incident_value();
        let a = s.render(&v).expect("render");
        let b = compile(INCIDENT).render(&v).expect("render");
        assert_eq!(a, b);
    }

    #[test]
    fn nested_subsections_heading_placeholders_and_duplicate_keys() {
        let s = compile(SERVICE);
        assert_eq!(keys(&s), ["service", "runbook", "notes", "notes_2"]);
        let js = s.json_schema();
        let svc = &js["properties"]["service"];
        assert_eq!(
            svc["required"],
            json!(["name", "owner", "health", "probes"])
        );
        assert_eq!(
            svc["properties"]["health"]["enum"],
            json!(["Green", "Amber", "Red"])
        );
        assert_eq!(
            svc["properties"]["probes"]["items"]["properties"]["value"]["enum"],
            json!(["Up", "Down"])
        );
        assert_eq!(
            js["properties"]["runbook"]["items"]["required"],
            json!(["label", "command", "expect"])
        );
        let v = json!({
            "service": {"name": "billing-api", "owner": "Payments", "health": "Amber",
                        "probes": [{"probe": "/healthz", "value": "Up"}, {"probe": "db ping", "value": "Down"}]},
            "runbook": [
                {"label": "Drain", "command": "kubectl drain node-1", "expect": "node cordoned"},
                {"label": "Upgrade", "command": "apt upgrade", "expect": ""}
            ],
            "notes": "first",
            "notes_2": "second"
        });
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(
            md,
            "## Service billing-api\n\n### Owner\nPayments\n\n### Health\nAmber\n\n### Probes\n- /healthz — Up\n- db ping — Down\n\n## Runbook\n\n### Stage 1: Drain\n- **Command:** kubectl drain node-1\n- **Expect:** node cordoned\n\n### Stage 2: Upgrade\n- **Command:** apt upgrade\n- **Expect:**\n\n## Notes\nfirst\n\n## Notes\nsecond\n"
        );
        assert!(sections::missing_sections(SERVICE, &md).is_empty());
        assert_eq!(s.parse(&md), Ok(v));
    }

    #[test]
    fn a_template_without_headings_is_refused() {
        let e = ArtifactSchema::compile("<Just write something>\n- <item>", &Bounds::default());
        assert!(matches!(e, Err(SchemaError::NoSections)), "{e:?}");
        assert!(ArtifactSchema::compile("", &Bounds::default()).is_err());
    }

    #[test]
    fn odd_placeholders_stay_free_strings() {
        let s = compile(
            "## Point\n<After step N / None — fully reversible>\n\n## Mix\n<likelihood / impact>\n\n## Pick\n<Keep the upgrade / Roll it back>\n\n## Line\n<Package> <current> → <target>\n\n## Odd\nIntro <x>\n\nMore prose\n- <y>\n1. <z>\n",
        );
        let p = &s.json_schema()["properties"];
        assert_eq!(p["point"]["type"], "string");
        assert_eq!(
            p["point"]["description"],
            "After step N / None — fully reversible"
        );
        assert_eq!(p["mix"]["type"], "string");
        assert_eq!(
            p["pick"]["enum"],
            json!(["Keep the upgrade", "Roll it back"])
        );
        assert_eq!(p["line"]["type"], "string");
        assert_eq!(p["odd"]["type"], "string");
        let v = json!({
            "point": "After step 4", "mix": "low / high", "pick": "Roll it back",
            "line": "serde 1.0.1 → 1.0.2", "odd": "Anything\n\n- at all\n1. really"
        });
        let md = s.render(&v).expect("render");
        assert!(
            md.contains("## Odd\nAnything\n\n- at all\n1. really\n"),
            "{md}"
        );
        assert_eq!(s.parse(&md), Ok(v));
    }

    #[test]
    fn steps_without_a_section_heading_and_a_preamble_with_a_placeholder() {
        let s = compile(
            "Plan for <team>\n\n### Step 1: <Name>\n<What to do>\n\n### Step 2: <Name>\n...\n",
        );
        assert_eq!(keys(&s), ["preamble", "steps"]);
        let v = json!({
            "preamble": "Plan for the data team",
            "steps": [{"name": "Freeze", "body": "stop writes"}, {"name": "Copy", "body": "copy rows"}]
        });
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(
            md,
            "Plan for the data team\n\n### Step 1: Freeze\nstop writes\n\n### Step 2: Copy\ncopy rows\n"
        );
        let steps: Vec<String> = crate::workflow::step::steps(&md)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(steps, ["Freeze", "Copy"]);
        assert_eq!(s.parse(&md), Ok(v));
    }

    #[test]
    fn a_lone_first_step_under_a_section_is_still_a_list() {
        let s = compile("## Steps\n\n### Step 1: <Name>\n- **Action:** <what to do>\n");
        let js = s.json_schema();
        assert_eq!(js["properties"]["steps"]["type"], "array");
        let v = json!({"steps": [{"name": "a", "action": "x"}, {"name": "b", "action": "y"}]});
        let md = s.render(&v).expect("render");
        assert_eq!(crate::workflow::step::steps(&md).len(), 2);
        assert_eq!(s.parse(&md), Ok(v));
        // At the top level it is one step's own heading, whatever its lists hold.
        let one = compile("## Step 1: <Name>\n\n### Checks\n- <Check>\n- ...\n");
        assert_eq!(keys(&one), ["step_1"]);
        assert_eq!(
            one.json_schema()["properties"]["step_1"]["required"],
            json!(["name", "checks"])
        );
        // ...unless a bare `...` says more steps follow.
        let many = compile("### Step 1: <Name>\n<What to do>\n...\n");
        assert_eq!(many.json_schema()["properties"]["steps"]["type"], "array");
    }

    #[test]
    fn parse_accepts_what_people_and_models_write() {
        let s = compile(INCIDENT);
        let md = "```markdown
# Incident review

## **Summary**
DB failed over.

### severity
sev2: customer facing

## Customer impact
**degraded**

## Timeline
1) 10:02 - alert fired
* 10:06 — failover done

## Follow-ups
- [x] Add alert - dba
- [ ] Write runbook

## Escalation
* Primary: page db-oncall
* **Backup**: Ana

## Phases
### Phase 1 - Detect
- Goal: find it
- Exit check: passed

## Notes
none

## Extra section by the model
blah
```";
        let v = s.parse(md).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            v,
            json!({
                "summary": "DB failed over.",
                "severity": {"value": "SEV2", "justification": "customer facing"},
                "customer_impact": "Degraded",
                "timeline": [{"time": "10:02", "event": "alert fired"}, {"time": "10:06", "event": "failover done"}],
                "follow_ups": [{"action": "Add alert", "owner": "dba"}, {"action": "Write runbook", "owner": ""}],
                "escalation": {"primary": "page db-oncall", "backup": "Ana"},
                "phases": [{"title": "Detect", "goal": "find it", "exit_check": {"value": "Passed", "why": ""}}],
                "notes": "none"
            })
        );
    }

    #[test]
    fn parse_names_the_allowed_values_and_what_is_missing() {
        let s = compile(INCIDENT);
        let md = INCIDENT_RENDERED
            .replace("## Customer Impact\nDegraded", "## Customer Impact\nSevere")
            .replace(
                "- **Exit check:** Failed — replica lagged",
                "- **Exit check:** Unknown",
            )
            .replace(
                "## Escalation\n- **Primary:** page db-oncall\n",
                "## Escalation\n",
            );
        let problems = s.parse(&md).expect_err("must fail");
        assert!(
            problems.iter().any(|p| p.starts_with("customer_impact:")
                && p.contains("'Severe'")
                && p.contains("None, Degraded, Outage")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("phases[1].exit_check:") && p.contains("Passed, Failed")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("escalation.primary:") && p.contains("missing")),
            "{problems:?}"
        );
        let without = INCIDENT_RENDERED.replace("## Timeline", "## Chronology");
        let problems = s.parse(&without).expect_err("must fail");
        assert!(
            problems
                .iter()
                .any(|p| p == "timeline: missing section '## Timeline'"),
            "{problems:?}"
        );
    }

    #[test]
    fn validate_names_each_kind_of_problem() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["customer_impact"] = json!("Severe");
        v["severity"]["value"] = json!("sev2");
        v["timeline"] = json!([]);
        v["follow_ups"][0]["owner"] = json!("x".repeat(241));
        v["summary"] = json!("y".repeat(801));
        v["escalation"].as_object_mut().map(|m| m.remove("backup"));
        v["escalation"]["extra"] = json!("z");
        v["phases"][0]["goal"] = json!(3);
        let problems = s.validate(&v);
        let has = |prefix: &str, part: &str| {
            problems
                .iter()
                .any(|p| p.starts_with(prefix) && p.contains(part))
        };
        assert!(
            has("customer_impact:", "None, Degraded, Outage"),
            "{problems:?}"
        );
        assert!(has("severity.value:", "'sev2'"), "{problems:?}");
        assert!(has("timeline:", "empty"), "{problems:?}");
        assert!(
            has("follow_ups[0].owner:", "241 characters"),
            "{problems:?}"
        );
        assert!(has("summary:", "at most 800"), "{problems:?}");
        assert!(has("escalation.backup:", "missing"), "{problems:?}");
        assert!(has("escalation.extra:", "unexpected"), "{problems:?}");
        assert!(has("phases[0].goal:", "expected a string"), "{problems:?}");
        v["timeline"] = Value::Array(vec![json!({"time": "1", "event": "e"}); 9]);
        assert!(s
            .validate(&v)
            .iter()
            .any(|p| p.starts_with("timeline:") && p.contains("9 items")));
    }

    #[test]
    fn render_refuses_a_value_of_the_wrong_shape_only() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["customer_impact"] = json!("Severe");
        assert!(s.render(&v).is_ok(), "an unknown enum value still renders");
        v.as_object_mut().map(|m| m.remove("notes"));
        match s.render(&v) {
            Err(SchemaError::Shape(p)) => assert_eq!(p, ["notes: missing"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_line_fields_collapse_newlines_and_prose_keeps_them() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["timeline"][0]["event"] = json!("alert\n  fired");
        v["escalation"]["backup"] = json!("Ana\r\n(platform)");
        v["severity"]["justification"] = json!("  slow\nwrites ");
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let normal = s.normalize(&v);
        assert_eq!(normal["timeline"][0]["event"], "alert fired");
        assert_eq!(normal["escalation"]["backup"], "Ana (platform)");
        assert_eq!(normal["severity"]["justification"], "slow writes");
        let mut loose = v.clone();
        loose["customer_impact"] = json!(" degraded");
        assert!(!s.validate(&loose).is_empty(), "the schema's enum is exact");
        assert_eq!(s.normalize(&loose)["customer_impact"], "Degraded");
        assert_eq!(
            normal["summary"], v["summary"],
            "prose keeps its line breaks"
        );
        let md = s.render(&v).expect("render");
        assert!(md.contains("1. 10:02 — alert fired\n"), "{md}");
        assert_eq!(s.parse(&md), Ok(normal));
    }

    #[test]
    fn a_dash_inside_a_first_field_does_not_split_it() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["timeline"][0]["time"] = json!("10:02 — UTC");
        v["timeline"][0]["event"] = json!("alert — paged");
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let back = s.parse(&s.render(&v).expect("render")).expect("parse");
        assert_eq!(
            back["timeline"][0],
            json!({"time": "10:02 - UTC", "event": "alert — paged"})
        );
        assert_eq!(back, s.normalize(&v));
    }

    #[test]
    fn prose_that_would_break_the_structure_is_refused() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["summary"] = json!("fine\n## Severity\nnot fine");
        assert!(s
            .validate(&v)
            .iter()
            .any(|p| p.starts_with("summary:") && p.contains("heading")));
        v["summary"] = json!("ok\n#### Customer Impact\nhidden");
        assert!(s
            .validate(&v)
            .iter()
            .any(|p| p.starts_with("summary:") && p.contains("template's headings")));
        v["summary"] = json!("```sh\nrm -rf /");
        assert!(s
            .validate(&v)
            .iter()
            .any(|p| p.starts_with("summary:") && p.contains("fence")));
        v["summary"] = json!("```sh\n## not a heading\n```\n#### a deeper heading");
        assert_eq!(s.validate(&v), Vec::<String>::new());
        assert_eq!(s.parse(&s.render(&v).expect("render")), Ok(v));
    }

    #[test]
    fn continuation_markers_are_not_items() {
        let s = compile(INCIDENT);
        let mut v = incident_value();
        v["follow_ups"] = json!([{"action": "a", "owner": "b"}]);
        v["timeline"] = json!([{"time": "t", "event": "e"}]);
        let md = s
            .render(&v)
            .expect("render")
            .replace("- [ ] a — b", "- [ ] a — b\n- ...");
        assert_eq!(s.parse(&md), Ok(v.clone()));
        let t = compile("## Factors\n- <Factor>\n- ... (or \"None\")\n");
        assert!(t.json_schema()["properties"]["factors"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("or \"None\"")));
        let bad = json!({"factors": ["..."]});
        assert!(t.validate(&bad).iter().any(|p| p.contains("continuation")));
    }

    #[test]
    fn enum_fields_lists_every_choice() {
        let s = compile(INCIDENT);
        let fields = s.enum_fields(&incident_value());
        let found: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.path.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("severity.value", "SEV2"),
                ("customer_impact", "Degraded"),
                ("phases[0].exit_check.value", "Passed"),
                ("phases[1].exit_check.value", "Failed")
            ]
        );
        assert_eq!(fields[1].allowed, ["None", "Degraded", "Outage"]);
    }

    #[test]
    fn key_line_and_item_enums_round_trip() {
        let s = compile(
            "## Checks\n- <Check> — <Pass / Fail>\n- ...\n\n## Gate\n- **Decision:** <Go / No go>\n- **Owner:** <who>\n\n## Tasks\n- [ ] <Task>\n- [ ] <Task>\n",
        );
        let v = json!({
            "checks": [{"check": "smoke — api", "value": "Fail"}, {"check": "", "value": "Pass"}],
            "gate": {"decision": "No go", "owner": "Kim"},
            "tasks": ["", "ship it"]
        });
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(
            md,
            "## Checks\n- smoke - api — Fail\n-  — Pass\n\n## Gate\n- **Decision:** No go\n- **Owner:** Kim\n\n## Tasks\n- [ ]\n- [ ] ship it\n"
        );
        assert_eq!(s.parse(&md), Ok(s.normalize(&v)));
    }

    #[test]
    fn template_text_that_looks_like_handlebars_is_copied() {
        let t = "Intro {{x}} and \\{{y}} and }} {{{{raw}}}}\n\n## Path C:\\<dir>\n<Text>\n";
        let s = compile(t);
        assert_eq!(keys(&s), ["path_c"]);
        let v = json!({"path_c": {"dir": "tmp", "body": "{{v}} \\{{w}}"}});
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(
            md,
            "Intro {{x}} and \\{{y}} and }} {{{{raw}}}}\n\n## Path C:\\tmp\n{{v}} \\{{w}}\n"
        );
        assert!(sections::missing_sections(t, &md).is_empty());
        assert_eq!(s.parse(&md), Ok(v));
    }

    #[test]
    fn sections_may_come_in_another_order() {
        let s = compile(INCIDENT);
        let md = INCIDENT_RENDERED.replace(
            "## Summary\nThe primary database failed over.\nWrites paused for 4 minutes.\n\n",
            "",
        )
            + "\n## Summary\nThe primary database failed over.\nWrites paused for 4 minutes.\n";
        assert_eq!(s.parse(&md), Ok(incident_value()));
    }

    #[test]
    fn an_enum_with_details_as_a_list_item() {
        let s = compile("## Results\n- <Pass / Fail — details>\n- ...\n");
        let v = json!({"results": [{"value": "Pass", "details": ""}, {"value": "Fail", "details": "timeout — 30 s"}]});
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert_eq!(md, "## Results\n- Pass\n- Fail — timeout — 30 s\n");
        assert_eq!(s.parse(&md), Ok(v));
        let loose = s.parse("## Results\n* fail: timeout\n").expect("parse");
        assert_eq!(
            loose,
            json!({"results": [{"value": "Fail", "details": "timeout"}]})
        );
    }

    #[test]
    fn unicode_text_round_trips() {
        let s = compile(SERVICE);
        let v = json!({
            "service": {"name": "Zürich – 東京 ✓", "owner": "Équipe «données»", "health": "Green",
                        "probes": [{"probe": "ping ünïcode", "value": "Up"}]},
            "runbook": [{"label": "Étape", "command": "echo {{x}} <y>", "expect": "\\{{ ok"}],
            "notes": "{{not a template}}",
            "notes_2": "😀"
        });
        assert_eq!(s.validate(&v), Vec::<String>::new());
        let md = s.render(&v).expect("render");
        assert!(md.contains("- **Command:** echo {{x}} <y>\n"), "{md}");
        assert_eq!(s.parse(&md), Ok(v));
    }
}
