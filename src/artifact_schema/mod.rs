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
//! - Headings and code blocks are CommonMark's, read by
//!   [`crate::markdown::Outline`]: a code block inside the template (a
//!   ```` ```json ```` example) is content of the section it sits in, and a
//!   heading inside it is not a section.
//! - A title line (the first line, an H1, above deeper headings:
//!   `# Migration Assessment: <system>`) is not a section. Without
//!   placeholders it is copied into every rendering; with them it renders
//!   from `title` (one placeholder) or `title_<words>` fields, read back from
//!   a document's first H1. A document without it reads with empty title
//!   fields, and [`sections::missing_sections`] never asks for it.
//! - Every other `## ` heading is a required top-level property, keyed by the
//!   snake_case of its words without placeholders (`Affected Components` →
//!   `affected_components`); repeated keys get `_2`, `_3`. A template without
//!   `##` headings uses its shallowest heading level instead. Text before the
//!   first such heading is copied literally into every rendering; if it holds
//!   placeholders it becomes a free-text `preamble` field instead.
//! - A body that is one line holding placeholders is a string. A body that is
//!   exactly `<A / B / C>` is an enum when every alternative is a short label
//!   (the rule is documented at `text::alternatives`: one to four words
//!   starting with a capital or digit, no lone `N` to fill in, no words such
//!   as "list of", "details", "reason", "e.g." that describe content);
//!   otherwise the whole placeholder is free text. `<A / B — details>` is an
//!   object `{value, details}` rendered `A — details` (just `A` when details
//!   is empty).
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
//!
//! # Files
//!
//! One file per stage, each walking the shape:
//!
//! - `mod.rs`: the public surface ([`ArtifactSchema`], [`Bounds`],
//!   [`SchemaError`], [`EnumField`]);
//! - `shape.rs`: the shape types a template compiles to, and the matchers
//!   that find their headings and items in a document;
//! - `text.rs`: small text helpers (line patterns, keys, placeholders and
//!   their `<A / B>` alternatives, value paths);
//! - `compile.rs`: template → shape;
//! - `title.rs`: a template's title line, compiled and read back;
//! - `json_schema.rs`: shape → JSON Schema;
//! - `render.rs`: shape → handlebars program, which writes a value as
//!   Markdown;
//! - `read.rs`: Markdown → value;
//! - `check.rs`: value checks, normalisation and the listing of enum fields;
//! - [`sections`]: the section check run on every draft, template against
//!   draft, without compiling;
//! - `tests.rs`: the unit tests.
//!
//! Headings, fences and emphasis are read through [`crate::markdown`].

pub mod choices;
pub mod sections;

mod check;
mod compile;
mod json_schema;
mod read;
mod render;
mod shape;
mod text;
mod title;

use handlebars::Handlebars;
use serde_json::Value;

use check::Problem;
use render::{SENTINEL, TEMPLATE_NAME};
use shape::{Intro, Kind, Object};
use text::display_path;

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
    /// Blocks of a run of `### Step N` blocks.
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

impl ArtifactSchema {
    /// Compiles a template (the text inside a workflow's ``` fence). Only a
    /// template without any heading fails: every odd section still compiles,
    /// at worst to a string of free Markdown.
    pub fn compile(template: &str, bounds: &Bounds) -> Result<ArtifactSchema, SchemaError> {
        let root = compile::template_shape(template)?;
        let (source, registry) = render::program(&root)?;
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
        json_schema::json_schema(&self.root, &self.bounds, true)
    }

    /// The same schema without `maxLength`/`minItems`/`maxItems`: OpenAI's
    /// strict mode rejects length and size keywords.
    pub fn json_schema_without_bounds(&self) -> Value {
        json_schema::json_schema(&self.root, &self.bounds, false)
    }

    /// Every choice the schema offers, as a dotted path (`risk_level.value`,
    /// `health_checks[].status`) with its allowed values, in schema order;
    /// `workflows validate` lists them so a reviewer sees what the model may
    /// pick.
    pub fn choices(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        json_schema::enum_paths(&self.json_schema(), "", &mut out);
        out
    }

    /// Problems in a model's JSON, each as `path: what is wrong`. Empty means
    /// valid. Servers do not all enforce schemas, so this is the real check;
    /// it also refuses values that would not read back the same once
    /// rendered (a prose field holding one of the template's headings, an
    /// unclosed code fence), so a valid value always round-trips.
    pub fn validate(&self, value: &Value) -> Vec<String> {
        let problems = check::problems(&self.root, &self.bounds, value);
        if !problems.is_empty() {
            return problems.iter().map(Problem::text).collect();
        }
        let normal = self.normalize(value);
        let back = self
            .render(value)
            .map_err(|e| vec![e.to_string()])
            .and_then(|md| self.parse(&md));
        match back {
            Ok(back) => match check::first_difference(&normal, &back, "") {
                None => Vec::new(),
                Some(p) => vec![format!(
                    "{}: does not read back the same once rendered; the text clashes with the Markdown around it",
                    display_path(&p)
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
        check::normalize_object(&self.root, value)
    }

    /// The artifact's Markdown, in the template's exact structure. Fails only
    /// on a value whose shape is wrong (missing keys, wrong types); values
    /// that are merely out of bounds or outside an enum still render, so a
    /// person can see and fix them.
    pub fn render(&self, value: &Value) -> Result<String, SchemaError> {
        let shape: Vec<String> = check::problems(&self.root, &self.bounds, value)
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
        read::read(&self.root, markdown)
    }

    /// Every enum field present in `value`, wherever it sits.
    pub fn enum_fields(&self, value: &Value) -> Vec<EnumField> {
        let mut out = Vec::new();
        check::object_enum_fields(&self.root, value, "", &mut out);
        out
    }

    /// The top-level property names in order, each with the template heading
    /// it renders under (empty for a preamble field).
    pub fn sections(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        if let Some(t) = &self.root.title {
            out.extend(
                self.root
                    .holes
                    .iter()
                    .map(|f| (f.key.clone(), t.heading.text.clone())),
            );
        }
        match &self.root.intro {
            Intro::KeyLines(kls) => out.extend(kls.iter().map(|k| {
                (
                    k.field.key.clone(),
                    format!("{} **{}:**", k.marker, k.label),
                )
            })),
            Intro::Body(f) => out.push((f.key.clone(), String::new())),
            Intro::None | Intro::Literal(_) => {}
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
mod tests;
