//! The workflow parser: Markdown in the seed's format to [`Workflow`]. It
//! recovers after an error, so that `workflows validate` reports every
//! problem in one pass, each with its file and line. A `### GATE` section is
//! read in `gate.rs`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::gate;
use super::*;
use crate::markdown;

// The patterns below are literals: `expect` cannot fire once the parser
// tests have compiled them.
static H2_PHASE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Phase\s+(\d+)\s*:\s*(.+?)\s*$").expect("static regex"));
static OVERVIEW_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+)\.\s+(.*)$").expect("static regex"));
static BOLD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\*\*(.+?)\*\*").expect("static regex"));
static BRACKET_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`\[([^\]`]+)\]").expect("static regex"));
/// An artifact reference anywhere in an input item, with or without
/// backticks: `[MIG-1]`, [MIG-4.N].
static INPUT_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[([A-Za-z][A-Za-z0-9_]*-\d+(?:\.(?:N|\d+))?)\]").expect("static regex")
});
static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^>\s*\*\*(.+?):?\*\*:?\s*(.*)$").expect("static regex"));
static ARTIFACT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\*\*Artifact\s+`\[([^\]]+)\]\s*:\s*([^`]+)`\s*\*\*").expect("static regex")
});
static ARTIFACT_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9_]*-\d+(\.(N|\d+))?$").expect("static regex"));

/// A line of the source with its 1-based number.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub(super) no: usize,
    pub(super) text: &'a str,
}

/// Splits lines into headed blocks at heading level `level`, ignoring
/// headings inside fenced code. Lines before the first heading go in the
/// first block with no title. Headings are CommonMark's, as
/// [`markdown::Outline`] reads them everywhere: a `## ` line indented by up
/// to three spaces is a heading (every Markdown viewer shows it as one), a
/// line indented further, or inside a list item or quote, is not.
fn split_headed<'a>(lines: &[Line<'a>], level: usize) -> Vec<(Option<Line<'a>>, Vec<Line<'a>>)> {
    let outline = markdown::Outline::from_lines(lines.iter().map(|l| l.text));
    let (intro_end, parts) = outline.split(0, lines.len(), |l, _| l == level);
    let block = |start: usize, end: usize| lines.get(start..end).unwrap_or(&[]).to_vec();
    let mut blocks = vec![(None, block(0, intro_end))];
    blocks.extend(
        parts
            .into_iter()
            .map(|(h, end)| (lines.get(h).copied(), block(h + 1, end))),
    );
    blocks
}

/// The text of a heading line that [`split_headed`] cut at `level`.
fn heading_text<'a>(line: &Line<'a>, level: usize) -> &'a str {
    markdown::heading(line.text)
        .filter(|(l, _)| *l == level)
        .map_or("", |(_, text)| text)
}

fn join_text(lines: &[Line<'_>]) -> String {
    let text: Vec<&str> = lines.iter().map(|l| l.text).collect();
    text.join("\n").trim().to_string()
}

pub(super) struct Parser {
    file: PathBuf,
    diagnostics: Vec<Diagnostic>,
}

impl Parser {
    pub(super) fn error(&mut self, line: usize, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(self.file.clone(), line, message));
    }

    /// A reading the parser chose that the author may not have meant: the
    /// workflow runs, and `validate`, `show` and `run` say how it was read.
    pub(super) fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(self.file.clone(), line, message));
    }
}

/// Parses a workflow, returning it together with every structural problem
/// found (errors and warnings). A workflow with errors must not be run;
/// `parse` enforces that.
pub fn parse_lenient(text: &str, file: &Path) -> (Workflow, Vec<Diagnostic>) {
    let mut p = Parser {
        file: file.to_path_buf(),
        diagnostics: Vec::new(),
    };
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .map(|(i, t)| Line {
            no: i + 1,
            text: t.trim_end(),
        })
        .collect();

    let mut name = String::new();
    let title = lines.iter().find(|l| !l.text.trim().is_empty());
    match title {
        Some(l) if l.text.starts_with("# Workflow:") => {
            name = l.text["# Workflow:".len()..].trim().to_string();
            if name.is_empty() {
                p.error(l.no, "the title '# Workflow:' has no name after the colon");
            }
        }
        Some(l) => p.error(
            l.no,
            format!(
                "expected the title line '# Workflow: NAME', found '{}'",
                l.text
            ),
        ),
        None => p.error(1, "the file is empty; expected '# Workflow: NAME'"),
    }

    // The whole file is read once for what only a whole reading shows:
    // where it reads fences as the author meant rather than as CommonMark
    // does, and fences that never close.
    let outline = markdown::Outline::from_lines(lines.iter().map(|l| l.text));
    for note in outline.notes() {
        p.warn(note.line + 1, note.message(1));
    }

    let sections = split_headed(&lines, 2);
    let description = sections
        .first()
        .map(|(_, body)| {
            let body: Vec<Line> = body
                .iter()
                .copied()
                .filter(|l| !l.text.starts_with("# "))
                .collect();
            join_text(&body)
        })
        .unwrap_or_default();

    let mut overview = Vec::new();
    let mut saw_overview = false;
    let mut phases: Vec<Phase> = Vec::new();
    for (heading, body) in sections.iter().skip(1) {
        let Some(heading) = heading else { continue };
        let title = heading_text(heading, 2);
        if title.eq_ignore_ascii_case("Phases") {
            saw_overview = true;
            overview = parse_overview(&mut p, body);
        } else if let Some(caps) = H2_PHASE.captures(title) {
            let number = caps[1].parse::<u32>().unwrap_or(0);
            let phase_name = caps[2].to_string();
            let phase = parse_phase(&mut p, number, phase_name, heading.no, body, &overview);
            phases.push(phase);
        } else if title.to_lowercase().starts_with("phase") {
            p.error(
                heading.no,
                format!(
                    "'## {title}' looks like a phase but is not of the form '## Phase N: Name'"
                ),
            );
        }
    }

    if !saw_overview {
        p.error(
            1,
            "no '## Phases' section: list the phases as '1. **Name** → `[ID]` — **GATE**'",
        );
    }
    if phases.is_empty() {
        p.error(
            1,
            "no '## Phase N: Name' sections: a workflow needs at least one phase",
        );
    }
    super::check::cross_check(&mut p, &overview, &phases);
    for fence in outline.fences().iter().filter(|f| f.close.is_none()) {
        let line = fence.open + 1;
        if !p.diagnostics.iter().any(|d| d.line == line) {
            p.error(
                line,
                "this code fence is never closed, so everything after it is read as code; close it with a line of the same fence characters",
            );
        }
    }

    let workflow = Workflow {
        name,
        description,
        source: file.to_path_buf(),
        overview,
        phases,
    };
    gate::check_send_backs(&mut p, &workflow);
    (workflow, p.diagnostics)
}

/// Parses a workflow and refuses it if anything is wrong with its structure.
pub fn parse(text: &str, file: &Path) -> Result<Workflow, WorkflowErrors> {
    let (workflow, diagnostics) = parse_lenient(text, file);
    if !diagnostics.iter().any(Diagnostic::is_error) {
        Ok(workflow)
    } else {
        Err(WorkflowErrors {
            file: file.to_path_buf(),
            diagnostics,
        })
    }
}

fn parse_overview(p: &mut Parser, body: &[Line<'_>]) -> Vec<OverviewEntry> {
    let mut entries = Vec::new();
    for line in body {
        let Some(caps) = OVERVIEW_ITEM.captures(line.text.trim_start()) else {
            continue;
        };
        let number = caps[1].parse::<u32>().unwrap_or(0);
        let rest = &caps[2];
        let bolds: Vec<String> = BOLD
            .captures_iter(rest)
            .map(|c| c[1].trim().to_string())
            .collect();
        let Some(name) = bolds.first().cloned() else {
            p.error(
                line.no,
                format!("phase list item {number} has no **Name**; write '{number}. **Name** → `[ID]` — **GATE**'"),
            );
            continue;
        };
        let artifact = BRACKET_ID.captures(rest).map(|c| c[1].trim().to_string());
        if artifact.is_none() {
            p.error(
                line.no,
                format!("phase list item '{name}' names no artifact; add '→ `[ID]`'"),
            );
        }
        let gate = match bolds
            .iter()
            .skip(1)
            .map(|b| b.to_lowercase())
            .find(|b| b.contains("gate"))
        {
            None => GateKind::None,
            Some(g) if g.contains("per-step") || g.contains("per step") => GateKind::PerStep,
            Some(g) if g == "gate" => GateKind::Gate,
            Some(g) => {
                p.error(
                    line.no,
                    format!("unknown gate kind '**{g}**'; use '**GATE**' or '**per-step GATE**', or nothing for no gate"),
                );
                GateKind::Gate
            }
        };
        entries.push(OverviewEntry {
            number,
            name,
            artifact,
            gate,
            line: line.no,
        });
    }
    entries
}

/// Reads one `## Phase N: Name` section. A phase has one gate: a second
/// `### GATE` section is an error at its line, and the first is kept. Two
/// gates would each need a decision in some order, which the format does
/// not say; the author merges their criteria and options instead (the
/// README says so too).
fn parse_phase(
    p: &mut Parser,
    number: u32,
    name: String,
    line: usize,
    body: &[Line<'_>],
    overview: &[OverviewEntry],
) -> Phase {
    let mut phase = Phase {
        number,
        name,
        line,
        directives: Vec::new(),
        inputs: Vec::new(),
        process: String::new(),
        output: None,
        gate: None,
    };
    let subsections = split_headed(body, 3);
    for (heading, sub) in &subsections {
        match heading {
            None => parse_directives(p, &mut phase, sub),
            Some(h) => {
                let title = heading_text(h, 3);
                match title.to_lowercase().as_str() {
                    "input" | "inputs" => phase.inputs = parse_inputs(sub),
                    "process" => phase.process = join_text(sub),
                    "output" | "output (per step)" => {
                        let per_step = title.to_lowercase().contains("per step");
                        phase.output = parse_output(p, h.no, per_step, sub);
                    }
                    "gate" | "gate (per step)" => {
                        if let Some(first) = &phase.gate {
                            p.error(
                                h.no,
                                format!(
                                    "phase {number} has a second GATE section (first at line {}); one gate per phase: merge the criteria and options",
                                    first.line
                                ),
                            );
                            continue;
                        }
                        let per_step = title.to_lowercase().contains("per step");
                        let artifact = phase.artifact_id().or_else(|| {
                            overview
                                .iter()
                                .find(|e| e.number == number)
                                .and_then(|e| e.artifact.as_deref())
                        });
                        let ctx = gate::GateContext {
                            phase: number,
                            artifact,
                            overview,
                        };
                        phase.gate = Some(gate::parse_gate(p, h.no, per_step, sub, &ctx));
                    }
                    _ => p.error(
                        h.no,
                        format!(
                            "unknown section '### {title}' in phase {number}; expected Input, Process, Output, Output (per step), GATE or GATE (per step)"
                        ),
                    ),
                }
            }
        }
    }
    if phase.output.is_none()
        && !subsections.iter().any(|(h, _)| {
            h.is_some_and(|h| heading_text(&h, 3).to_lowercase().starts_with("output"))
        })
    {
        p.error(
            line,
            format!(
                "phase {number} ('{}') has no '### Output' section",
                phase.name
            ),
        );
    }
    phase
}

fn parse_directives(p: &mut Parser, phase: &mut Phase, lines: &[Line<'_>]) {
    for line in lines {
        let t = line.text.trim();
        if !t.starts_with('>') {
            continue;
        }
        let Some(caps) = DIRECTIVE.captures(t) else {
            continue;
        };
        let key = caps[1].trim().trim_end_matches(':').to_lowercase();
        let value = caps[2].trim();
        let Some(kind) = DirectiveKind::ALL
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, kind)| *kind)
        else {
            p.error(
                line.no,
                format!(
                    "unknown directive '{}'; expected one of: Adopt persona, Secondary persona, Invoke prompt, Invoke panel, Invoke round table",
                    caps[1].trim()
                ),
            );
            continue;
        };
        let path = value
            .split('`')
            .nth(1)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match path {
            Some(path) => phase.directives.push(Directive {
                kind,
                path: path.to_string(),
                line: line.no,
            }),
            None => p.error(
                line.no,
                format!(
                    "'{}' needs a file path in backticks, e.g. `personas/x.md`",
                    kind.label()
                ),
            ),
        }
    }
}

fn parse_inputs(lines: &[Line<'_>]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for line in lines {
        let t = line.text.trim_start();
        let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) else {
            continue;
        };
        let item = item.trim();
        let kind = match INPUT_REF.captures(item) {
            Some(caps) => {
                let id = caps[1].to_string();
                if id.ends_with(".N") || item.to_lowercase().starts_with("all ") {
                    InputKind::AllSteps(id)
                } else {
                    InputKind::Artifact(id)
                }
            }
            None => InputKind::FreeText,
        };
        inputs.push(Input {
            kind,
            text: markdown::strip_bold(item),
            line: line.no,
        });
    }
    inputs
}

fn parse_output(
    p: &mut Parser,
    heading_line: usize,
    per_step: bool,
    lines: &[Line<'_>],
) -> Option<Output> {
    let Some((idx, caps)) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| ARTIFACT_LINE.captures(l.text.trim()).map(|c| (i, c)))
    else {
        p.error(
            heading_line,
            "the Output section has no artifact line; write '**Artifact `[ID]: Title`**' followed by a fenced template",
        );
        return None;
    };
    let id = caps[1].trim().to_string();
    let title = caps[2].trim().to_string();
    let artifact_line = lines[idx].no;
    if !ARTIFACT_ID.is_match(&id) {
        p.error(
            artifact_line,
            format!("artifact id '{id}' is not of the form PREFIX-N (or PREFIX-N.N for a per-step phase)"),
        );
    }
    if per_step && !id.ends_with(".N") {
        p.error(
            artifact_line,
            format!(
                "a per-step output's artifact id must end in '.N' (e.g. '{id}.N'), found '{id}'"
            ),
        );
    }
    if !per_step && id.ends_with(".N") {
        p.error(
            artifact_line,
            format!("artifact '{id}' is per step; name its section '### Output (per step)'"),
        );
    }
    let rest = &lines[idx + 1..];
    let outline = markdown::Outline::from_lines(rest.iter().map(|l| l.text));
    let template = match outline.fences().first() {
        Some(fence) if fence.close.is_some() => {
            let body = fence.content();
            let template = outline.lines(body.start, body.end).join("\n");
            let first_line = rest.get(body.start).map_or(artifact_line, |l| l.no);
            check_template_fences(p, &id, &template, first_line);
            template
        }
        None => {
            p.error(
                artifact_line,
                format!("artifact '{id}' has no template: put the template in a fenced block (```) after the artifact line"),
            );
            String::new()
        }
        Some(fence) => {
            p.error(
                rest.get(fence.open).map_or(artifact_line, |l| l.no),
                format!("the template of '{id}' opens a fence that is never closed"),
            );
            String::new()
        }
    };
    if template.trim().is_empty()
        && !p
            .diagnostics
            .iter()
            .any(|d| d.line >= artifact_line && d.message.contains(&id))
    {
        p.error(artifact_line, format!("the template of '{id}' is empty"));
    }
    Some(Output {
        id,
        title,
        template,
        per_step,
        line: artifact_line,
    })
}

/// Code blocks inside a template, read as the template compiler and the
/// draft checks will read them: one that never closes would swallow the
/// template's later sections, so it is an error at the line where it opens;
/// an inner block closed as its author meant is a warning, unless the
/// reading of the whole file already gave one for that line. `first_line`
/// is the file line of the template's first line.
fn check_template_fences(p: &mut Parser, id: &str, template: &str, first_line: usize) {
    let outline = markdown::Outline::new(template);
    for note in outline.notes() {
        let line = first_line + note.line;
        if !p.diagnostics.iter().any(|d| d.line == line) {
            p.warn(line, note.message(first_line));
        }
    }
    for fence in outline.fences().iter().filter(|f| f.close.is_none()) {
        p.error(
            first_line + fence.open,
            format!(
                "a code block in the template of '{id}' is never closed, so the template's sections after it would be read as code; close it with a bare fence line"
            ),
        );
    }
}
