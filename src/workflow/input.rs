//! The free-text inputs a workflow declares ("Bug report", "Current system
//! state"), and how the person running it names them.
//!
//! The rules, which `run --help` and the README repeat:
//! - the request (`--need`, alias `--request`) fills the first free-text
//!   input of the first phase, whatever it is called;
//! - `--input "LABEL=TEXT"` fills any free-text input, named by a
//!   case-insensitive prefix of its label that matches one label only (an
//!   exact label always wins over the longer labels it is a prefix of);
//! - context files fill the free-text inputs nothing else filled.
//!
//! Inputs with the same label in several phases ("Current system state" in
//! phases 1 and 5) are one input: one value fills them all.

use super::{InputKind, Workflow};

/// One free-text label of a workflow, with the phases that declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeTextLabel {
    /// The label as the first phase to declare it writes it.
    pub label: String,
    /// The numbers of the phases that declare it, in order.
    pub phases: Vec<u32>,
    /// Whether `--need` fills it.
    pub is_request: bool,
}

/// Why an `--input` label names no single input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("no free-text input of workflow '{workflow}' starts with '{given}'; its inputs are: {known}")]
    NoMatch {
        workflow: String,
        given: String,
        known: String,
    },
    #[error("'{given}' starts more than one input of workflow '{workflow}': {candidates}; give more of the label")]
    Ambiguous {
        workflow: String,
        given: String,
        candidates: String,
    },
    #[error("workflow '{workflow}' declares no free-text input in its first phase, so nothing takes --need; use --input LABEL=TEXT or --context")]
    NoRequest { workflow: String },
}

/// Labels compare without case and surrounding space.
pub fn same_label(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Workflow {
    /// Every distinct free-text label, in the order the phases declare them.
    pub fn free_text_labels(&self) -> Vec<FreeTextLabel> {
        let request = self.request_label();
        let mut out: Vec<FreeTextLabel> = Vec::new();
        for phase in &self.phases {
            for input in phase
                .inputs
                .iter()
                .filter(|i| i.kind == InputKind::FreeText)
            {
                match out.iter_mut().find(|l| same_label(&l.label, &input.text)) {
                    Some(known) if !known.phases.contains(&phase.number) => {
                        known.phases.push(phase.number)
                    }
                    Some(_) => {}
                    None => out.push(FreeTextLabel {
                        label: input.text.clone(),
                        phases: vec![phase.number],
                        is_request: request.is_some_and(|r| same_label(r, &input.text)),
                    }),
                }
            }
        }
        out
    }

    /// The label `--need` fills: the first free-text input of the first
    /// phase. Real workflows call it "Bug report", "Alert or incident
    /// report", "The decision to be made"; its position, not its wording,
    /// makes it the request.
    pub fn request_label(&self) -> Option<&str> {
        self.phases.first().and_then(|phase| {
            phase
                .inputs
                .iter()
                .find(|i| i.kind == InputKind::FreeText)
                .map(|i| i.text.as_str())
        })
    }

    /// The request's label, or the error saying that nothing takes `--need`.
    pub fn require_request_label(&self) -> Result<&str, LabelError> {
        self.request_label().ok_or_else(|| LabelError::NoRequest {
            workflow: self.name.clone(),
        })
    }

    /// The free-text label that `given` names: an exact label, else the one
    /// label it is a case-insensitive prefix of.
    pub fn match_label(&self, given: &str) -> Result<String, LabelError> {
        let labels = self.free_text_labels();
        let wanted = given.trim().to_lowercase();
        if let Some(exact) = labels.iter().find(|l| same_label(&l.label, given)) {
            return Ok(exact.label.clone());
        }
        let hits: Vec<&FreeTextLabel> = labels
            .iter()
            .filter(|l| !wanted.is_empty() && l.label.to_lowercase().starts_with(&wanted))
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.label.clone()),
            [] => Err(LabelError::NoMatch {
                workflow: self.name.clone(),
                given: given.trim().to_string(),
                known: quoted(labels.iter().map(|l| l.label.as_str())),
            }),
            many => Err(LabelError::Ambiguous {
                workflow: self.name.clone(),
                given: given.trim().to_string(),
                candidates: quoted(many.iter().map(|l| l.label.as_str())),
            }),
        }
    }
}

fn quoted<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<String> = labels.map(|l| format!("'{l}'")).collect();
    if all.is_empty() {
        "(none)".to_string()
    } else {
        all.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use crate::workflow::parse;
    use std::path::Path;

    use super::*;

    fn workflow(first_inputs: &str, second_inputs: &str) -> Workflow {
        let text = format!(
            "# Workflow: Probe\n\n## Phases\n\n1. **One** → `[P-1]` — **GATE**\n2. **Two** → `[P-2]` — **GATE**\n\n\
             ## Phase 1: One\n\n### Input\n\n{first_inputs}\n\n### Output\n\n**Artifact `[P-1]: One`**\n\n```\n## A\n<a>\n```\n\n\
             ### GATE\n\n**Approval criteria:** ok.\n\n- **Approved** → proceed to Phase 2\n\n\
             ## Phase 2: Two\n\n### Input\n\n- `[P-1]: One`\n{second_inputs}\n\n### Output\n\n**Artifact `[P-2]: Two`**\n\n```\n## B\n<b>\n```\n\n\
             ### GATE\n\n**Approval criteria:** ok.\n\n- **Approved** → the workflow is complete\n"
        );
        parse(&text, Path::new("probe.md")).unwrap()
    }

    #[test]
    fn the_request_is_the_first_free_text_input_whatever_its_wording() {
        for (inputs, label) in [
            ("- Bug report\n- Reproduction steps", "Bug report"),
            (
                "- Raw feature request or user story",
                "Raw feature request or user story",
            ),
            ("- The decision to be made", "The decision to be made"),
            (
                "- Subject to document\n- Audience and what needs documenting",
                "Subject to document",
            ),
            ("- Alert or incident report", "Alert or incident report"),
        ] {
            let w = workflow(inputs, "");
            assert_eq!(w.request_label(), Some(label), "{inputs}");
            let labels = w.free_text_labels();
            assert!(labels[0].is_request);
            assert!(labels.iter().skip(1).all(|l| !l.is_request));
        }
    }

    #[test]
    fn a_first_phase_without_free_text_takes_no_request() {
        let w = workflow("- Nothing here is free: `[P-0]`", "");
        // `[P-0]` is an artifact reference, produced by no phase: parse
        // keeps it, the validator refuses it; the request is absent either way.
        assert!(w.request_label().is_none());
        assert!(matches!(
            w.require_request_label(),
            Err(LabelError::NoRequest { .. })
        ));
    }

    #[test]
    fn labels_match_by_an_unambiguous_case_insensitive_prefix() {
        let w = workflow(
            "- Bug report\n- Reproduction steps\n- Affected version",
            "- Current system state\n- Current owner",
        );
        assert_eq!(w.match_label("bug").unwrap(), "Bug report");
        assert_eq!(w.match_label("  REPRO ").unwrap(), "Reproduction steps");
        assert_eq!(w.match_label("current s").unwrap(), "Current system state");
        assert!(matches!(
            w.match_label("current"),
            Err(LabelError::Ambiguous { .. })
        ));
        let err = w.match_label("severity").unwrap_err().to_string();
        assert!(err.contains("'Bug report'"), "{err}");
        assert!(matches!(w.match_label(""), Err(LabelError::NoMatch { .. })));
    }

    #[test]
    fn an_exact_label_wins_over_longer_labels_it_starts() {
        let w = workflow("- Scope\n- Scope notes", "");
        assert_eq!(w.match_label("scope").unwrap(), "Scope");
        assert_eq!(w.match_label("scope n").unwrap(), "Scope notes");
    }

    #[test]
    fn one_label_in_several_phases_is_one_input() {
        let w = workflow(
            "- Incident summary\n- Current system state",
            "- Current system state",
        );
        let labels = w.free_text_labels();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[1].phases, vec![1, 2]);
    }
}
