//! `workflows show NAME --json`: what `workflows show` prints, for scripts
//! and editors: the library roots, each phase with its files, inputs and
//! gate options, and where every file it names resolved.

use std::path::Path;

use serde_json::{json, Value};

use crate::library::references::{describe, resolve_references, Reference};
use crate::library::{Library, Origin};
use crate::workflow::input::same_label;
use crate::workflow::{InputKind, Workflow};

/// Where a file comes from: an absolute path, or `builtin:NAME`.
pub(super) fn origin_text(cwd: &Path, origin: &Origin) -> String {
    match origin {
        Origin::File(path) => cwd.join(path).display().to_string(),
        Origin::Builtin(_) => origin.to_string(),
    }
}

/// The document `workflows show --json` prints (without its version).
pub(super) fn workflow_json(cwd: &Path, w: &Workflow, library: &Library) -> Value {
    let (references, _) = resolve_references(w, library);
    let roots: Vec<Value> = library
        .described_roots()
        .map(|(root, kind)| json!({"path": cwd.join(root).display().to_string(), "kind": kind.to_string()}))
        .collect();
    let request = w.request_label();
    let phases: Vec<Value> = w
        .phases
        .iter()
        .map(|phase| {
            let inputs: Vec<Value> = phase
                .inputs
                .iter()
                .map(|i| {
                    let (kind, filled_by) = match &i.kind {
                        InputKind::Artifact(id) => ("artifact", id.clone()),
                        InputKind::AllSteps(id) => ("all_steps", id.clone()),
                        InputKind::FreeText if request.is_some_and(|r| same_label(r, &i.text)) => {
                            ("request", "--need".to_string())
                        }
                        InputKind::FreeText => ("free_text", "--input or --context".to_string()),
                    };
                    json!({"label": i.text, "kind": kind, "filled_by": filled_by})
                })
                .collect();
            let gate = phase.gate.as_ref().map(|g| {
                json!({
                    "per_step": g.per_step,
                    "options": g.options.iter().map(|o| json!({
                        "label": o.label,
                        "does": w.option_effect(phase, o),
                    })).collect::<Vec<_>>(),
                })
            });
            json!({
                "number": phase.number,
                "name": phase.name,
                "artifact": phase.artifact_id(),
                "title": phase.output.as_ref().map(|o| o.title.clone()),
                "files": references
                    .iter()
                    .filter(|r| r.phase == phase.number)
                    .map(|r| reference_json(cwd, r))
                    .collect::<Vec<_>>(),
                "inputs": inputs,
                "gate": gate,
            })
        })
        .collect();
    json!({
        "name": w.name,
        "source": cwd.join(&w.source).display().to_string(),
        "roots": roots,
        "phases": phases,
    })
}

/// One file the workflow names, where it resolved, and a panel's members.
fn reference_json(cwd: &Path, r: &Reference) -> Value {
    let (resolved, error) = match &r.found {
        Ok(found) => (
            Some(json!({
                "path": found.rel,
                "origin": origin_text(cwd, &found.origin),
                "how": describe(found),
            })),
            None,
        ),
        Err(e) => (None, Some(e.clone())),
    };
    let panel = r.panel.as_ref().map(|panel| {
        json!({
            "participants": panel.participants.iter().map(|m| json!({
                "name": m.name,
                "path": m.path,
                "origin": origin_text(cwd, &m.origin),
            })).collect::<Vec<_>>(),
            "moderator": {
                "name": panel.moderator.name,
                "path": panel.moderator.path,
                "origin": origin_text(cwd, &panel.moderator.origin),
                "how": panel.moderator.describe(),
            },
        })
    });
    json!({
        "kind": r.kind.label(),
        "path": r.path,
        "line": r.line,
        "resolved": resolved,
        "error": error,
        "panel": panel,
    })
}
