//! Whole-workflow checks that need the library: every named file resolves,
//! every input is produced earlier, ids are unique, per-step phases name a
//! plan. Run before any model call.

use std::collections::HashMap;

use super::references::resolve_references;
use crate::library::{self, Library, LibraryBuilder, LibraryError, LibraryFile};
use crate::workflow::{self, Diagnostic, InputKind, Workflow, WorkflowErrors};

/// A workflow that parsed and validated, with the library it resolves against.
#[derive(Debug, Clone)]
pub struct LoadedWorkflow {
    pub workflow: Workflow,
    pub library: Library,
    /// Where the workflow file was found.
    pub origin: library::Origin,
    /// The workflow file's text, kept so a run can record exactly what ran.
    pub text: String,
    /// How the workflow or a file it names was read where the author may
    /// have meant otherwise; shown by `validate`, `show` and `run`.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("{0}")]
    Invalid(WorkflowErrors),
}

/// Finds, parses and validates a workflow by name or path, collecting every
/// problem before reporting. `search` holds the explicit roots, the current
/// directory and the user's config folder; a workflow file adds its own
/// library ([`LibraryBuilder::workflow_file`]). A bare `&Path` is a search
/// from that folder with no explicit roots.
pub fn load(
    name_or_path: &str,
    search: impl Into<LibraryBuilder>,
) -> Result<LoadedWorkflow, LoadError> {
    let search = search.into();
    let base = search.build();
    let file = base.find_workflow(name_or_path)?;
    let library = match &file.origin {
        library::Origin::File(path) => search.workflow_file(path).build(),
        library::Origin::Builtin(_) => base,
    };
    load_file(file, library)
}

pub fn load_file(file: LibraryFile, library: Library) -> Result<LoadedWorkflow, LoadError> {
    let path = file.origin.as_path();
    let (workflow, mut diagnostics) = workflow::parse_lenient(&file.text, &path);
    diagnostics.extend(validate(&workflow, &library));
    diagnostics.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    diagnostics.dedup();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        Ok(LoadedWorkflow {
            workflow,
            library,
            origin: file.origin,
            text: file.text,
            warnings: diagnostics,
        })
    } else {
        Err(LoadError::Invalid(WorkflowErrors {
            file: path,
            diagnostics,
        }))
    }
}

/// The checks that need more than the file's own text.
pub fn validate(workflow: &Workflow, library: &Library) -> Vec<Diagnostic> {
    let file = &workflow.source;
    let mut out = Vec::new();
    let mut error =
        |line: usize, message: String| out.push(Diagnostic::error(file.clone(), line, message));

    let mut ids: HashMap<&str, usize> = HashMap::new();
    for phase in &workflow.phases {
        if let Some(output) = &phase.output {
            let first = *ids.entry(output.id.as_str()).or_insert(output.line);
            if first != output.line {
                error(
                    output.line,
                    format!(
                        "artifact id '{}' is already produced at line {first}",
                        output.id
                    ),
                );
            }
        }
    }

    let (_, references) = resolve_references(workflow, library);
    // A phase may have a secondary persona, a prompt, or neither without a
    // primary persona: the default persona is primary then.
    for (index, phase) in workflow.phases.iter().enumerate() {
        for input in &phase.inputs {
            match &input.kind {
                InputKind::FreeText => {}
                InputKind::Artifact(id) => match workflow.producer(id) {
                    None => error(
                        input.line,
                        format!("input '[{id}]' is not produced by any phase"),
                    ),
                    Some((producer, _)) if producer >= index => error(
                        input.line,
                        format!(
                            "input '[{id}]' is produced by phase {}, which does not come before phase {}",
                            workflow.phases[producer].number, phase.number
                        ),
                    ),
                    Some(_) => {}
                },
                InputKind::AllSteps(id) => match workflow.producer(id) {
                    Some((producer, ph)) if producer < index && ph.is_per_step() => {}
                    Some((_, ph)) if !ph.is_per_step() => error(
                        input.line,
                        format!("input 'All [{id}]' names an artifact that is not per step"),
                    ),
                    Some(_) => error(
                        input.line,
                        format!("input 'All [{id}]' is produced by a phase that does not come before phase {}", phase.number),
                    ),
                    None => error(
                        input.line,
                        format!("input 'All [{id}]' is not produced by any per-step phase"),
                    ),
                },
            }
        }

        if phase.is_per_step() && workflow.plan_for(phase).is_none() {
            error(
                phase.line,
                format!(
                    "per-step phase {} names no plan to iterate over: list as input an earlier artifact whose template has '### Step 1: <Name>' sections",
                    phase.number
                ),
            );
        }
    }
    out.extend(references);
    out
}
