//! Small text helpers shared by the compiler and the reader: the line
//! patterns (placeholders, list items, continuation markers), keys made from
//! words, one-line values, a template line split into literal text and
//! placeholders, and the `<A / B / C>` alternatives a placeholder may offer.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::markdown;

// Only ever called on literal patterns (the ones below and the compiler's),
// which the unit tests compile: `expect` cannot fire at run time.
pub(super) fn static_re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

/// A `<placeholder>` on one line.
pub(super) static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| static_re(r"<[^<>\n]+>"));
/// A bullet (`-`, `*`, `+`) or numbered list line: group 1 is the bullet,
/// group 2 the text.
pub(super) static LIST_LINE: LazyLock<Regex> =
    LazyLock::new(|| static_re(r"^\s*(?:([-*+])|\d+[.)])(?:\s+(.*?))?\s*$"));
/// A checkbox at the start of a list item's text.
pub(super) static CHECKBOX: LazyLock<Regex> = LazyLock::new(|| static_re(r"^\[[ xX]\](?:\s+|$)"));
/// A `...` line (bare or as a list item) saying that more items follow;
/// group 1 is a parenthetical hint after it.
pub(super) static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    static_re(r"^\s*(?:(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?)?(?:\.\.\.|…)\s*(?:\((.*)\))?\s*$")
});

/// The snake_case of the first `max_words` words, apostrophes dropped: a
/// JSON key a model can copy and a person can read.
pub(super) fn snake_case(text: &str, max_words: usize) -> String {
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

/// `base` (or `field`) made unique among `used` with `_2`, `_3`, …, and
/// added to it.
pub(super) fn unique_key(base: &str, used: &mut HashSet<String>) -> String {
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
pub(super) fn collapse(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A prose value: CRLF line ends become LF, and the ends are trimmed.
pub(super) fn trim_prose(s: &str) -> String {
    s.replace("\r\n", "\n").trim().to_string()
}

/// `text` without a case-insensitive `prefix`.
pub(super) fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
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

/// The path of `key` inside the value at `path`, as problems name it.
pub(super) fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A path for a reader: the root's empty path reads `(root)`.
pub(super) fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

/// Literal text and `<placeholders>` of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    /// What is between the `<>`, trimmed.
    Placeholder(String),
}

/// A template line cut into literal text and placeholders.
pub(super) fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    for m in PLACEHOLDER.find_iter(text) {
        if m.start() > at {
            out.push(Segment::Literal(text[at..m.start()].to_string()));
        }
        let s = m.as_str();
        // The match starts with `<` and ends with `>`, one byte each.
        out.push(Segment::Placeholder(s[1..s.len() - 1].trim().to_string()));
        at = m.end();
    }
    if at < text.len() {
        out.push(Segment::Literal(text[at..].to_string()));
    }
    out
}

pub(super) fn placeholder_count(b: &[Segment]) -> usize {
    b.iter()
        .filter(|x| matches!(x, Segment::Placeholder(_)))
        .count()
}

/// The values a placeholder allows, and the name of the details that may
/// follow the value.
pub(super) struct Alternatives {
    pub(super) values: Vec<String>,
    pub(super) detail: Option<String>,
}

/// `<A / B / C>` or `<A / B — details>`: the choices a field is limited to,
/// or `None` when the placeholder describes free content.
///
/// # The rule
///
/// A placeholder is a choice when it offers two or more alternatives
/// separated by ` / ` and every one of them is a short label ([`label`]):
///
/// - one to four words, starting with a capital letter or a digit;
/// - letters, digits, spaces and `- ' ’ & . / + %` only (so `N/A` and
///   `0.5` are labels);
/// - no lone capital standing for something to fill in (`After step N`);
/// - no word that describes content instead of naming a value
///   ([`DESCRIBING`]: `list of`, `details`, `description`, `reason`, `e.g.`,
///   `how`, …);
/// - no two alike, ignoring case.
///
/// If any alternative reads as a description, the whole placeholder is free
/// text: `<None / List of intentional changes>` asks for the changes, and
/// "None" is one way to answer. `<Low / Medium / High / Critical>` is a
/// choice.
///
/// The last alternative may be followed by ` — ` (or ` – `, ` - `) and the
/// name of details written after the value: `<Pass / Fail — details>` is a
/// choice whose value may be followed by free text. That name is one to six
/// words.
pub(super) fn alternatives(inner: &str) -> Option<Alternatives> {
    let mut parts: Vec<String> = inner.split(" / ").map(|p| p.trim().to_string()).collect();
    if parts.len() < 2 {
        return None;
    }
    let mut detail = None;
    if let Some(last) = parts.last_mut() {
        let split = [" — ", " – ", " - "]
            .iter()
            .find_map(|sep| last.split_once(sep))
            .map(|(v, d)| (v.trim().to_string(), d.trim().to_string()));
        if let Some((v, d)) = split {
            *last = v;
            detail = Some(d);
        }
    }
    if detail.as_deref().is_some_and(|d| !detail_name(d)) {
        return None;
    }
    if !parts.iter().all(|p| label(p)) {
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

/// Words and phrases that describe what to write rather than name a value
/// one could pick. Compared as whole words, ignoring case.
pub(super) const DESCRIBING: &[&str] = &[
    "list of",
    "list",
    "lists",
    "details",
    "detail",
    "description",
    "describe",
    "explain",
    "explanation",
    "reason",
    "reasons",
    "summary",
    "summarise",
    "summarize",
    "example",
    "examples",
    "e.g.",
    "e.g",
    "eg",
    "i.e.",
    "etc",
    "etc.",
    "specify",
    "why",
    "how",
    "what",
    "which",
    "if any",
    "if applicable",
];

/// One alternative of a choice, as the rule at [`alternatives`] says.
fn label(s: &str) -> bool {
    let words: Vec<String> = s.split_whitespace().map(str::to_lowercase).collect();
    let describes = DESCRIBING.iter().any(|d| {
        let phrase: Vec<&str> = d.split(' ').collect();
        words
            .windows(phrase.len())
            .any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
    });
    (1..=4).contains(&words.len())
        && s.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '’' | '&' | '.' | '/' | '+' | '%')
        })
        && s.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
        && !has_variable_token(s)
        && !describes
}

/// The name of the details after a choice's value: one to six words, no
/// placeholder syntax.
fn detail_name(s: &str) -> bool {
    (1..=6).contains(&s.split_whitespace().count()) && !s.contains(['<', '>', '/'])
}

/// A lone capital such as `N` or `X` stands for something the writer fills
/// in (`After step N`); a model must never be forced to copy it.
fn has_variable_token(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        let mut cs = w.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase() && c != 'A' && c != 'I')
    })
}

/// The list marker and the text after it.
pub(super) fn list_item(line: &str) -> Option<(Option<char>, &str)> {
    let c = LIST_LINE.captures(line)?;
    let bullet = c.get(1).and_then(|m| m.as_str().chars().next());
    Some((bullet, c.get(2).map_or("", |m| m.as_str())))
}

/// `**Key:** value` or `**Key**: value` (after the list marker).
pub(super) fn template_key_line(text: &str) -> Option<(String, String)> {
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
pub(super) fn key_value(line: &str) -> Option<(String, String)> {
    let t = match list_item(line) {
        Some((_, rest)) => rest,
        None => line.trim(),
    };
    if t.starts_with("**") {
        return template_key_line(t);
    }
    let (k, v) = t.split_once(':')?;
    let k = markdown::strip_emphasis(k);
    let words = k.split_whitespace().count();
    if words == 0 || words > 6 {
        return None;
    }
    Some((k, v.trim().to_string()))
}

/// Lines that hold no value of their own.
pub(super) fn is_blank_or_continuation(line: &str) -> bool {
    line.trim().is_empty() || CONTINUATION.is_match(line)
}

/// The allowed values of an enum, as a problem names them.
pub(super) fn not_one_of(values: &[String]) -> String {
    values.join(", ")
}
