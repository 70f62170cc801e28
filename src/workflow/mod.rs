//! Workflow files: Markdown in the seed's format, parsed into phases.
//!
//! Nothing about a particular workflow is known here: the artifact prefix, the
//! number of phases, persona paths and gate labels all come from the file. The
//! parser recovers after an error so that `workflows validate` can report every
//! problem in one pass, each with its file and line.

use std::fmt;
use std::path::PathBuf;

mod check;
mod gate;
pub mod input;
pub mod parse;
pub mod step;

pub use parse::{parse, parse_lenient};
pub use step::Step;

/// Whether a diagnostic stops the workflow from running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Severity {
    /// The workflow must not run until it is fixed.
    #[default]
    Error,
    /// The workflow runs, read the way the message says; the person is told
    /// so that nothing is misread silently.
    Warning,
}

/// One problem in a workflow (or a file it names), located by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    pub fn error(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(
        file: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(
            f,
            "{}:{}: {tag}{}",
            self.file.display(),
            self.line,
            self.message
        )
    }
}

/// Every problem found in a workflow; holds at least one error (and the
/// warnings found with them).
#[derive(Debug, Clone, thiserror::Error)]
pub struct WorkflowErrors {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for WorkflowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.iter().filter(|d| d.is_error()).count();
        writeln!(
            f,
            "{} has {} problem{}:",
            self.file.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

/// A parsed workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// The file it was read from (or `builtin:workflows/NAME.md`).
    pub source: PathBuf,
    /// The overview list under `## Phases`, kept to cross-check the sections.
    pub overview: Vec<OverviewEntry>,
    pub phases: Vec<Phase>,
}

/// A line of the `## Phases` list.
#[derive(Debug, Clone)]
pub struct OverviewEntry {
    pub number: u32,
    pub name: String,
    pub artifact: Option<String>,
    pub gate: GateKind,
    pub line: usize,
}

/// Whether and how a phase stops for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    None,
    Gate,
    PerStep,
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub number: u32,
    pub name: String,
    pub line: usize,
    pub directives: Vec<Directive>,
    pub inputs: Vec<Input>,
    pub process: String,
    pub output: Option<Output>,
    pub gate: Option<Gate>,
}

impl Phase {
    /// A per-step phase drafts one artifact per step of the plan it names.
    pub fn is_per_step(&self) -> bool {
        self.output.as_ref().is_some_and(|o| o.per_step)
    }

    pub fn directive(&self, kind: DirectiveKind) -> Option<&Directive> {
        self.directives.iter().find(|d| d.kind == kind)
    }

    /// The panel or round table this phase convenes, if any.
    pub fn panel(&self) -> Option<&Directive> {
        self.directive(DirectiveKind::Panel)
            .or_else(|| self.directive(DirectiveKind::RoundTable))
    }

    /// The artifact id of the output, e.g. `MIG-1` or `MIG-4.N`.
    pub fn artifact_id(&self) -> Option<&str> {
        self.output.as_ref().map(|o| o.id.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveKind {
    Persona,
    SecondaryPersona,
    Prompt,
    Panel,
    RoundTable,
}

impl DirectiveKind {
    const ALL: [(&'static str, DirectiveKind); 5] = [
        ("adopt persona", DirectiveKind::Persona),
        ("secondary persona", DirectiveKind::SecondaryPersona),
        ("invoke prompt", DirectiveKind::Prompt),
        ("invoke panel", DirectiveKind::Panel),
        ("invoke round table", DirectiveKind::RoundTable),
    ];

    pub fn label(self) -> &'static str {
        match self {
            DirectiveKind::Persona => "Adopt persona",
            DirectiveKind::SecondaryPersona => "Secondary persona",
            DirectiveKind::Prompt => "Invoke prompt",
            DirectiveKind::Panel => "Invoke panel",
            DirectiveKind::RoundTable => "Invoke round table",
        }
    }
}

/// A `> **Adopt persona:** `path`` line.
#[derive(Debug, Clone)]
pub struct Directive {
    pub kind: DirectiveKind,
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// An earlier artifact, e.g. `[MIG-1]: Migration Assessment`.
    Artifact(String),
    /// Every artifact of a per-step phase, e.g. All `[MIG-4.N]` artifacts.
    AllSteps(String),
    /// Material the run supplies: the migration need, the system state, ...
    FreeText,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    /// The list item as written, without Markdown emphasis.
    pub text: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub id: String,
    pub title: String,
    pub template: String,
    pub per_step: bool,
    pub line: usize,
}

impl Output {
    /// The template one artifact of this output follows. A per-step output
    /// is instantiated for its step (`## Step N: <Name>` becomes
    /// `## Step 3: Cut over`), so the model never renames a step; the one
    /// place that does this, for the engine, the CLI and the tests alike.
    pub fn template_for(&self, step: Option<&Step>) -> String {
        match step {
            Some(step) => step::step_template(&self.template, step),
            None => self.template.clone(),
        }
    }

    /// The template as shown where no step is known (`workflows validate`,
    /// `workflows schema`): a per-step template as for step 1, its name
    /// placeholder kept.
    pub fn representative_template(&self) -> String {
        let first = Step::new(1, "");
        self.template_for(self.per_step.then_some(&first))
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub per_step: bool,
    pub instructions: String,
    pub criteria: String,
    pub options: Vec<GateOption>,
    pub line: usize,
}

impl Gate {
    pub fn option_for(&self, action: GateAction) -> Option<&GateOption> {
        self.options.iter().find(|o| o.action == action)
    }

    /// Finds an option by its label, ignoring case and surrounding quotes.
    pub fn option_named(&self, label: &str) -> Option<&GateOption> {
        let wanted = label.trim().trim_matches('"').to_lowercase();
        self.options
            .iter()
            .find(|o| o.label.to_lowercase() == wanted)
    }
}

/// One outcome a gate offers, as the workflow words it.
#[derive(Debug, Clone)]
pub struct GateOption {
    pub label: String,
    pub description: String,
    pub action: GateAction,
    /// For [`GateAction::SendBack`]: the earlier phases the description
    /// names ("revise contract in Phase 2", "return to Phase 4 or 5"), in
    /// order. With several, the person chooses one when deciding. Empty for
    /// every other action.
    pub targets: Vec<u32>,
    pub line: usize,
}

/// What choosing a gate option does to the run. Derived from the option's
/// wording, so that any label ("Issues found", "Mitigation insufficient") works.
///
/// It is journalled with every decision (`"action": "revise"`); the names
/// are kept, and `send_back` was added beside them, so every journal ever
/// written still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateAction {
    Proceed,
    /// Redrafts this gate's own artifact with the person's feedback.
    Revise,
    /// Reopens an earlier phase's artifact with the person's feedback;
    /// everything after it that depends on it, and this gate's artifact, is
    /// redrafted in order (see `engine/loop_back.rs`).
    SendBack,
    Rollback,
    Abort,
}

impl std::fmt::Display for GateAction {
    /// What the option does, in the words messages use ("send back").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GateAction::Proceed => "proceed",
            GateAction::Revise => "revise",
            GateAction::SendBack => "send back",
            GateAction::Rollback => "roll back",
            GateAction::Abort => "abort",
        })
    }
}

impl Workflow {
    /// The phase producing artifact `id` (a per-step pattern like `MIG-4.N`
    /// matches its phase).
    pub fn producer(&self, id: &str) -> Option<(usize, &Phase)> {
        self.phases
            .iter()
            .enumerate()
            .find(|(_, ph)| ph.artifact_id() == Some(id))
    }

    /// The plan a per-step phase iterates over: its first artifact input
    /// whose template has `### Step N: Name` blocks.
    pub fn plan_for<'p>(&self, phase: &'p Phase) -> Option<&'p Input> {
        phase.inputs.iter().find(|input| match &input.kind {
            InputKind::Artifact(id) => self
                .producer(id)
                .and_then(|(_, ph)| ph.output.as_ref())
                .is_some_and(|o| !step::steps(&o.template).is_empty()),
            _ => false,
        })
    }
}
