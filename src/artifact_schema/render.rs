//! Shape → Markdown: the handlebars program that writes a value in the
//! template's exact layout.

use handlebars::Handlebars;

use super::shape::{Intro, Item, Kind, List, Marker, Object, Piece, Steps};
use super::SchemaError;

/// The name the program is registered under.
pub(super) const TEMPLATE_NAME: &str = "artifact";
/// Starts the render program so that no block tag stands alone on the first
/// line (handlebars would eat the newline after a standalone tag).
pub(super) const SENTINEL: char = '\u{E000}';

mod helpers {
    // Numbers list items and step blocks from 1 (`{{inc @index}}`).
    handlebars::handlebars_helper!(inc: |n: u64| n + 1);
}

/// The handlebars program for `root` (its source, for debugging) and the
/// registry that runs it.
pub(super) fn program(root: &Object) -> Result<(String, Handlebars<'static>), SchemaError> {
    let mut program = ProgramWriter {
        out: String::from(SENTINEL),
        lits: Vec::new(),
    };
    program.object(root, "");
    let ProgramWriter { out: source, lits } = program;
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
    Ok((source, registry))
}

/// A part of one line of the program.
enum LinePart {
    /// Template text, copied.
    Lit(String),
    /// A value's path, written as `{{path}}`.
    Var(String),
    /// Handlebars written as is (the item number).
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

/// The path of `key` under `prefix`, bracketed so that any key is a valid
/// handlebars path segment.
fn handlebars_path(prefix: &str, key: &str) -> String {
    format!("{prefix}[{key}]")
}

/// The key of a section heading's `i`th placeholder, a property of the
/// section's object. A heading with placeholders always compiles to an
/// object; `name` only keeps the function total.
fn hole_key(kind: &Kind, i: usize) -> &str {
    match kind {
        Kind::Object(o) => o.holes.get(i).map_or("name", |f| f.key.as_str()),
        _ => "name",
    }
}

/// A heading's or joined item's pieces as line parts, each hole written as
/// the path `key_of` gives it.
fn pieces_parts(pieces: &[Piece], key_of: impl Fn(usize) -> String) -> Vec<LinePart> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => LinePart::Lit(s.clone()),
            Piece::Hole(i) => LinePart::Var(key_of(*i)),
        })
        .collect()
}

/// Builds the handlebars program. Every line of output is written as a
/// newline followed by its content, and block tags sit at the end of the
/// previous content line, so no tag ever stands alone on a line (handlebars
/// would swallow the newline after it).
struct ProgramWriter {
    out: String,
    /// Template text that handlebars would read as syntax (`{{`, or a `\`
    /// before a tag); written by the `lit` helper instead.
    lits: Vec<String>,
}

impl ProgramWriter {
    /// Copies template text; text that handlebars would read as syntax goes
    /// through the `lit` helper.
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
    fn line(&mut self, parts: Vec<LinePart>) {
        let mut merged: Vec<LinePart> = Vec::new();
        for p in parts {
            match (merged.last_mut(), p) {
                (Some(LinePart::Lit(a)), LinePart::Lit(b)) => a.push_str(&b),
                (_, p) => merged.push(p),
            }
        }
        let n = merged.len();
        for (k, p) in merged.iter().enumerate() {
            match p {
                LinePart::Lit(s) => match merged.get(k + 1) {
                    Some(LinePart::Var(v)) if k + 2 == n && s.ends_with(char::is_whitespace) => {
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
                LinePart::Var(v) => self.out.push_str(&var(v)),
                LinePart::Raw(r) => self.out.push_str(r),
            }
        }
    }

    /// ` — detail` after an enum value, only when the detail is not empty.
    fn detail(&mut self, p: &str) {
        self.out.push_str(&if_open(p));
        self.out.push_str(" — ");
        self.out.push_str(&var(p));
        self.out.push_str(IF_CLOSE);
    }

    fn object(&mut self, o: &Object, prefix: &str) {
        if let Some(t) = &o.title {
            self.out.push('\n');
            let mut parts = vec![LinePart::Lit(format!("{} ", "#".repeat(t.level)))];
            parts.extend(pieces_parts(&t.heading.pieces, |i| {
                handlebars_path(prefix, o.holes.get(i).map_or("title", |f| f.key.as_str()))
            }));
            self.line(parts);
        }
        match &o.intro {
            Intro::None => {}
            Intro::Literal(t) => {
                for l in t.lines() {
                    self.out.push('\n');
                    self.lit(l);
                }
            }
            Intro::KeyLines(kls) => {
                for kl in kls {
                    self.out.push('\n');
                    let label = LinePart::Lit(format!("{} **{}:** ", kl.marker, kl.label));
                    let p = handlebars_path(prefix, &kl.field.key);
                    match &kl.field.kind {
                        Kind::EnumDetail { detail, .. } => {
                            self.line(vec![label, LinePart::Var(format!("{p}.[value]"))]);
                            self.detail(&format!("{p}.[{detail}]"));
                        }
                        _ => self.line(vec![label, LinePart::Var(p)]),
                    }
                }
            }
            Intro::Body(f) => self.body(&f.kind, &handlebars_path(prefix, &f.key)),
        }
        for s in &o.subs {
            let p = handlebars_path(prefix, &s.field.key);
            match (&s.heading, &s.field.kind) {
                (Some(h), kind) => {
                    self.out.push_str("\n\n");
                    let mut parts = vec![LinePart::Lit(format!("{} ", "#".repeat(s.level)))];
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
            LinePart::Lit(format!("{} {} ", "#".repeat(s.level), s.word)),
            LinePart::Raw(NUMBER.to_string()),
            LinePart::Lit(format!("{} ", s.sep)),
        ];
        parts.extend(pieces_parts(&s.rest, |i| {
            handlebars_path("", s.item.holes.get(i).map_or("name", |f| f.key.as_str()))
        }));
        self.line(parts);
        self.object(&s.item, "");
        self.out.push_str(EACH_CLOSE);
    }

    fn item(&mut self, l: &List) {
        let mut parts = match l.marker {
            Marker::Bullet(c) => vec![LinePart::Lit(format!("{c} "))],
            Marker::Checkbox(c) => vec![LinePart::Lit(format!("{c} [ ] "))],
            Marker::Numbered => vec![
                LinePart::Raw(NUMBER.to_string()),
                LinePart::Lit(". ".to_string()),
            ],
        };
        match &l.item {
            Item::Single(f) => match &f.kind {
                Kind::EnumDetail { detail, .. } => {
                    parts.push(LinePart::Var("[value]".to_string()));
                    self.line(parts);
                    self.detail(&format!("[{detail}]"));
                    return;
                }
                _ => parts.push(LinePart::Var("this".to_string())),
            },
            Item::Joined(j) => parts.extend(pieces_parts(&j.pieces, |i| {
                handlebars_path("", j.fields.get(i).map_or("item", |f| f.key.as_str()))
            })),
        }
        self.line(parts);
    }
}
