//! The parsers fuzzed with proptest, from real files: the workflow parser,
//! the panel parser, the template compiler and the Markdown reader of
//! artifacts (with the step, card, claim, secret and terminal readers that
//! read the same text) must never panic, whatever a person, a model or a
//! broken editor leaves in a file.
//!
//! The corpus is every workflow, panel and persona in the repository
//! (`workflows/`, `personas/`, `tests/fixtures/**`); each case takes one
//! file and mutates it the ways files go wrong: lines deleted, duplicated
//! or swapped; fence, heading, list, gate and step markers inserted; bytes
//! flipped (then read as text, lossily, as migagent reads a file); text
//! truncated; odd characters inserted (controls, wide characters, CRs).
//!
//! A plain `cargo test` runs a few cases per target, so it stays quick. The
//! full run is 30,000 cases per target, 120,000 in all:
//!
//! ```sh
//! MIGAGENT_FUZZ=1 cargo test --test main fuzz:: -- --nocapture
//! MIGAGENT_FUZZ=5000 cargo test --test main fuzz::   # 5,000 per target
//! ```
//!
//! A failing case is shrunk and saved in `tests/fuzz.proptest-regressions`,
//! which later runs replay first. The last full run (issue 10) passed
//! 120,000 cases without a panic.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use migagent::artifact_schema::choices::without_choices;
use migagent::artifact_schema::sections::missing_sections;
use migagent::artifact_schema::{ArtifactSchema, Bounds};
use migagent::evidence::claims::success_claims;
use migagent::evidence::secrets;
use migagent::evidence::StepCard;
use migagent::library::panel::parse_panel;
use migagent::library::{LibraryFile, Origin};
use migagent::markdown::{first_fenced_block, headings, strip_outer_fence};
use migagent::terminal::visible;
use migagent::workflow::{self, step};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per target: a few by default, 30,000 with `MIGAGENT_FUZZ=1`, or
/// the number `MIGAGENT_FUZZ` gives.
fn cases() -> u32 {
    match std::env::var("MIGAGENT_FUZZ") {
        Ok(v) if v == "1" => 30_000,
        Ok(v) => v.parse().unwrap_or(30_000),
        Err(_) => 48,
    }
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Every `.md` file under `dir`, sorted.
fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read_all(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Workflows: the built-in ones and every fixture that is one.
static WORKFLOWS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut paths = markdown_under(&repo("workflows"));
    paths.extend(
        markdown_under(&repo("tests/fixtures"))
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("# Workflow:"))),
    );
    let texts = read_all(&paths);
    assert!(texts.len() >= 10, "the corpus lost its workflows");
    texts
});

/// Panels and round tables, and the personas they name.
static PANELS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut paths = markdown_under(&repo("personas"));
    paths.extend(markdown_under(&repo(
        "tests/fixtures/team-library/personas",
    )));
    read_all(&paths)
});

/// Every template of every workflow in the corpus.
static TEMPLATES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for text in WORKFLOWS.iter() {
        let (wf, _) = workflow::parse_lenient(text, Path::new("seed.md"));
        for phase in &wf.phases {
            if let Some(o) = &phase.output {
                out.push(o.representative_template());
            }
        }
    }
    assert!(out.len() >= 20, "the corpus lost its templates");
    out
});

/// Placeholders filled in: a template read as the artifact it asks for.
fn filled(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) => {
                out.push_str(&rest[..open]);
                let inside = &rest[open + 1..open + close];
                // A choice takes its first option, other text a value.
                out.push_str(inside.split(" / ").next().unwrap_or("x").trim());
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Lines people and models insert: every marker the readers look for.
const MARKERS: &[&str] = &[
    "```",
    "````markdown",
    "~~~",
    "```json",
    "#",
    "# Workflow: Fuzz",
    "## Phases",
    "## Phase 9: Fuzzed",
    "## Phase 0:",
    "### Input",
    "### Process",
    "### Output",
    "### Output (per step)",
    "### GATE",
    "**GATE**",
    "**Artifact `[F-1]: Fuzz`**",
    "**Artifact `[F-9.N]: Step N Result`**",
    "- `[MIG-1]: Migration Assessment`",
    "- `[MIG-4.*]`",
    "- **Approved** → proceed to Phase 99",
    "- **Revise** → re-present `[MIG-1]`",
    "- **Send back** → return to Phase 1",
    "- **Rollback** →",
    "> **Adopt persona:** `personas/../../etc/passwd`",
    "> **Panel:** `personas/panels/migration-review.md`",
    "1. **X** → `[X-1]` — **per-step GATE**",
    "### Step 1: Again",
    "### Step 0:",
    "### Step 99999999999999999999999: Huge",
    "## Step N: <Name>",
    "- ",
    "* ",
    "1. ",
    "- [ ] <Pre-condition>",
    "- **Action:** `rm -rf /`",
    "> ",
    "---",
    "| a | b |",
    "|---|---|",
    "<!--",
    "-->",
    "<Low / Medium / High>",
    "<",
    ">",
    "...",
    "## Participants",
    "## Moderator",
    "## For participants",
    "### [Name](../x.md)",
    "\t",
    "",
    "    indented code",
    "\u{feff}# BOM",
];

/// Text inserted inside a line.
const SNIPPETS: &[&str] = &[
    "\r",
    "\0",
    "\x1b[2J",
    "\u{9b}",
    "\u{202e}",
    "é",
    "漢字",
    "🦀",
    "`",
    "**",
    "[",
    "](",
    "<",
    ">",
    "\\",
    "#",
    "|",
    " / ",
    "—",
    "→",
    "\u{200b}",
    "password=",
    "AKIA",
];

/// One way a file goes wrong. Positions are taken modulo the file's size.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertLine(usize, usize),
    InsertSnippet(usize, usize),
    FlipByte(usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = 1usize << 20;
    prop_oneof![
        2 => (0..n).prop_map(Mutation::DeleteLine),
        2 => (0..n).prop_map(Mutation::DuplicateLine),
        1 => (0..n, 0..n).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (0..n, 0..MARKERS.len()).prop_map(|(a, m)| Mutation::InsertLine(a, m)),
        2 => (0..n, 0..SNIPPETS.len()).prop_map(|(a, s)| Mutation::InsertSnippet(a, s)),
        1 => (0..n, 1..=255u8).prop_map(|(a, b)| Mutation::FlipByte(a, b)),
        1 => (0..n).prop_map(Mutation::Truncate),
    ]
}

/// `text` with `mutations` applied in order; bytes that are no longer
/// UTF-8 are read lossily, as migagent reads a file it did not write.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut bytes_edits = Vec::new();
    for m in mutations {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match *m {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                let i = at(i, lines.len());
                lines.remove(i);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let i = at(i, lines.len());
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => {
                let (a, b) = (at(a, lines.len()), at(b, lines.len()));
                lines.swap(a, b);
            }
            Mutation::InsertLine(i, m) => {
                let i = at(i, lines.len() + 1);
                lines.insert(i, MARKERS[m].to_string());
            }
            Mutation::InsertSnippet(i, s) if !lines.is_empty() => {
                let i = at(i, lines.len());
                let line = &mut lines[i];
                let mut cut = at(i.wrapping_mul(7), line.len() + 1);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.insert_str(cut, SNIPPETS[s]);
            }
            Mutation::FlipByte(..) | Mutation::Truncate(_) => bytes_edits.push(m.clone()),
            _ => {}
        }
    }
    let mut bytes = lines.join("\n").into_bytes();
    for m in bytes_edits {
        match m {
            Mutation::FlipByte(i, x) if !bytes.is_empty() => {
                let len = bytes.len();
                bytes[i % len] ^= x;
            }
            Mutation::Truncate(i) => {
                let keep = i % (bytes.len() + 1);
                bytes.truncate(keep);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Everything that reads an artifact's Markdown, on `markdown` against
/// `template`.
fn read_artifact(template: &str, markdown: &str) {
    let _ = strip_outer_fence(markdown);
    let _ = headings(markdown);
    let lines: Vec<&str> = markdown.lines().collect();
    let _ = first_fenced_block(&lines);
    let _ = missing_sections(template, markdown);
    let _ = success_claims(template, markdown, &["Complete".to_string()]);
    let _ = secrets::redact(markdown);
    let _ = visible(markdown);
    let steps = step::steps(markdown);
    let _ = step::numbering_problems(markdown);
    for s in steps.iter().take(3) {
        let _ = step::step_section(markdown, s);
        let card = StepCard::read("F-1", markdown, s, Some(markdown));
        let _ = card.text();
        let _ = step::step_template(template, s);
    }
    if let Ok(schema) = ArtifactSchema::compile(template, &Bounds::default()) {
        if let Ok(value) = schema.parse(markdown) {
            let _ = schema.validate(&value);
            let _ = schema.render(&schema.normalize(&value));
            let _ = schema.enum_fields(&value);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The workflow parser, and each template it finds compiled.
    #[test]
    fn the_workflow_parser_never_panics(
        seed in 0..WORKFLOWS.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let text = mutate(&WORKFLOWS[seed], &mutations);
        let (wf, _) = workflow::parse_lenient(&text, Path::new("fuzz.md"));
        let _ = workflow::parse(&text, Path::new("fuzz.md"));
        for phase in &wf.phases {
            let _ = wf.plan_for(phase);
            if let Some(o) = &phase.output {
                let _ = ArtifactSchema::compile(&o.representative_template(), &Bounds::default());
            }
            if let Some(gate) = &phase.gate {
                for o in &gate.options {
                    let _ = gate.option_named(&o.label);
                }
            }
        }
    }

    /// The panel parser, on panels, round tables and personas.
    #[test]
    fn the_panel_parser_never_panics(
        seed in 0..PANELS.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let file = LibraryFile {
            rel: "personas/panels/fuzz.md".into(),
            origin: Origin::Builtin("personas/panels/fuzz.md".into()),
            text: mutate(&PANELS[seed], &mutations),
            moved_from: None,
        };
        let _ = parse_panel(&file);
    }

    /// The template compiler, on mutated templates, and the schema it
    /// compiles reading the template's own filled-in text.
    #[test]
    fn the_template_compiler_never_panics(
        seed in 0..TEMPLATES.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let template = mutate(&TEMPLATES[seed], &mutations);
        for bounds in [Bounds::default(), Bounds::unbounded()] {
            if let Ok(schema) = ArtifactSchema::compile(&template, &bounds) {
                let _ = schema.json_schema();
                let _ = schema.json_schema_without_bounds();
                let _ = schema.sections();
                let _ = schema.choices();
                let _ = schema.parse(&filled(&template));
            }
        }
        let _ = without_choices(&template, &["Complete".to_string()], "Unverified");
    }

    /// The Markdown reader of artifacts: a real template's artifact,
    /// mutated, read against the template.
    #[test]
    fn the_artifact_reader_never_panics(
        seed in 0..TEMPLATES.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let template = &TEMPLATES[seed];
        let artifact = mutate(&filled(template), &mutations);
        read_artifact(template, &artifact);
    }
}

#[test]
fn the_corpus_reads_clean_before_mutation() {
    // The unmutated corpus goes through every reader too, and the filled
    // templates read back as their templates' artifacts, so the fuzzing
    // starts from files that exercise the readers' real paths.
    let mut parsed = 0;
    for template in TEMPLATES.iter() {
        read_artifact(template, &filled(template));
        if let Ok(schema) = ArtifactSchema::compile(template, &Bounds::unbounded()) {
            parsed += usize::from(schema.parse(&filled(template)).is_ok());
        }
    }
    assert!(
        parsed * 2 >= TEMPLATES.len(),
        "{parsed} of {}",
        TEMPLATES.len()
    );
    assert_eq!(
        mutate(
            "a\nb\nc",
            &[Mutation::DeleteLine(1), Mutation::InsertLine(0, 0)]
        ),
        "```\na\nc"
    );
}
