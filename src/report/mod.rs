//! One document about a run, for reviewers, auditors and the next team:
//! the workflow and the need, each approved artifact in order, every
//! decision with who, when and the note, the revisions and their feedback,
//! the evidence, and the tokens and time per phase.
//!
//! [`Report`] is built from the run's state, its workflow and its journal
//! (the journal is the record: decisions and usage come from it), and is
//! written as Markdown ([`Report::to_markdown`]), as a self-contained HTML
//! page ([`Report::to_html`]) or as JSON (serde). `timeline` reads the
//! journal line by line, for `migagent log` as well.

mod html;
mod markdown;
pub mod timeline;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::store::{ArtifactState, RunState};
use crate::workflow::Workflow;
pub use timeline::{short_time, thousands, timeline, TimelineEntry, Usage};

/// The most of one evidence file a report quotes: a log can run to
/// megabytes, and the file stays in the run for whoever needs it whole.
const EVIDENCE_EXCERPT_BYTES: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path} of run '{run_id}': {source}")]
    Read {
        run_id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything the report says about one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_id: String,
    /// `active`, `complete` or `aborted`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub workflow: WorkflowPart,
    pub model: ModelPart,
    /// What the person asked for: each free-text input with its text.
    pub request: Vec<RequestInput>,
    /// Approved and accepted artifacts, in the run's order.
    pub artifacts: Vec<ArtifactPart>,
    /// Every decision a person made, in journal order.
    pub decisions: Vec<DecisionPart>,
    /// Every draft revision, the model's or a person's.
    pub revisions: Vec<RevisionPart>,
    pub evidence: Vec<EvidencePart>,
    /// Tokens and time per phase of the workflow, in phase order.
    pub usage: Vec<PhaseUsage>,
    pub total_usage: Usage,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowPart {
    pub name: String,
    pub description: String,
    pub source: String,
    pub sha256: String,
    pub phases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelPart {
    pub model: String,
    /// Without credentials, whatever `run.json` holds.
    pub base_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub offline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestInput {
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactPart {
    pub id: String,
    pub title: String,
    /// The phase's name as the workflow writes it.
    pub phase: String,
    /// `approved` or `accepted` (a phase without a gate).
    pub state: String,
    pub revision: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    pub approved_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub sha256: String,
    /// Run-relative path of the approved copy.
    pub path: String,
    /// The approved text, Markdown; none when the file cannot be read
    /// (`problem` says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionPart {
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// The gate option chosen, or what was done (`abort`).
    pub option: String,
    /// What the option does: `proceed`, `revise`, `send_back`,
    /// `rollback`, `abort`, `edit`, `confirm`.
    pub action: String,
    pub by: String,
    /// The approval note, the feedback or the reason given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionPart {
    pub at: String,
    pub artifact: String,
    pub revision: u32,
    /// `model` or `person`.
    pub source: String,
    /// The model, or the person who edited.
    pub by: String,
    /// The feedback this revision answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    pub path: String,
    /// Where the requests sent for it are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidencePart {
    pub artifact: String,
    pub id: String,
    pub kind: String,
    pub by: String,
    pub at: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The start of the file, as text.
    pub excerpt: String,
    /// The file is longer than the excerpt.
    pub cut: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseUsage {
    pub phase: String,
    #[serde(flatten)]
    pub usage: Usage,
}

impl Report {
    /// The report of the run in folder `dir`, whose state is `state` (as
    /// rolled forward to its journal), following `workflow`, with the
    /// journal's `events` in order.
    pub fn build(
        dir: &Path,
        state: &RunState,
        workflow: &Workflow,
        events: &[Value],
    ) -> Result<Report, ReportError> {
        let read = |rel: &str| -> Result<String, ReportError> {
            let path = dir.join(rel);
            std::fs::read(&path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|source| ReportError::Read {
                    run_id: state.run_id.clone(),
                    path,
                    source,
                })
        };
        let phase_name = |i: usize| {
            workflow
                .phases
                .get(i)
                .map_or(format!("phase {}", i + 1), |p| {
                    format!("Phase {}: {}", p.number, p.name)
                })
        };

        let mut request = Vec::new();
        for input in &state.inputs {
            request.push(RequestInput {
                label: input.label.clone(),
                text: read(&input.stored)?,
            });
        }
        if request.is_empty() {
            if let Some(need) = &state.need {
                request.push(RequestInput {
                    label: "need".into(),
                    text: need.clone(),
                });
            }
        }

        let mut artifacts = Vec::new();
        for a in &state.artifacts {
            let state_name = match a.state {
                ArtifactState::Approved => "approved",
                ArtifactState::Accepted => "accepted",
                _ => continue,
            };
            let Some(approval) = &a.approval else {
                continue;
            };
            let (markdown, problem) = match read(&approval.path) {
                Ok(text) => (Some(text), None),
                Err(e) => (None, Some(e.to_string())),
            };
            artifacts.push(ArtifactPart {
                id: a.id.clone(),
                title: a.title.clone(),
                phase: phase_name(a.phase_index),
                state: state_name.into(),
                revision: approval.revision,
                approved_by: (a.state == ArtifactState::Approved).then(|| approval.by.clone()),
                approved_at: approval.at.clone(),
                note: approval.note.clone(),
                sha256: approval.sha256.clone(),
                path: approval.path.clone(),
                markdown,
                problem,
            });
        }

        let mut evidence = Vec::new();
        for a in &state.artifacts {
            for e in &a.evidence {
                let text = read(&e.path).unwrap_or_else(|err| format!("({err})"));
                let cut = text.len() > EVIDENCE_EXCERPT_BYTES;
                let mut end = EVIDENCE_EXCERPT_BYTES.min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                evidence.push(EvidencePart {
                    artifact: a.id.clone(),
                    id: e.id.clone(),
                    kind: e.kind.name().to_string(),
                    by: e.by.clone(),
                    at: e.at.clone(),
                    path: e.path.clone(),
                    command: e.command.clone(),
                    exit_code: e.exit_code,
                    excerpt: text[..end].to_string(),
                    cut,
                });
            }
        }

        let phase_of = |artifact: Option<&str>| {
            artifact.and_then(|id| {
                state
                    .artifacts
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.phase_index)
            })
        };
        let mut per_phase: Vec<Usage> = vec![Usage::default(); workflow.phases.len()];
        let mut total_usage = Usage::default();
        for e in events {
            if let Some(u) = Usage::of_event(e) {
                total_usage.add(&u);
                let artifact = e.get("artifact").and_then(Value::as_str);
                if let Some(slot) = phase_of(artifact).and_then(|i| per_phase.get_mut(i)) {
                    slot.add(&u);
                }
            }
        }
        let usage = per_phase
            .into_iter()
            .enumerate()
            .map(|(i, usage)| PhaseUsage {
                phase: phase_name(i),
                usage,
            })
            .collect();

        Ok(Report {
            run_id: state.run_id.clone(),
            status: match serde_json::to_value(state.status) {
                Ok(Value::String(s)) => s,
                _ => String::new(),
            },
            created_at: state.created_at.clone(),
            updated_at: state.updated_at.clone(),
            workflow: WorkflowPart {
                name: state.workflow.name.clone(),
                description: workflow.description.clone(),
                source: state.workflow.source.clone(),
                sha256: state.workflow.sha256.clone(),
                phases: (0..workflow.phases.len()).map(phase_name).collect(),
            },
            model: ModelPart {
                model: state.model.model.clone(),
                base_url: crate::llm::url::redact(&state.model.base_url),
                profile: state.model.profile.clone(),
                offline: state.model.offline,
            },
            request,
            artifacts,
            decisions: decisions(events),
            revisions: revisions(state, events),
            evidence,
            usage,
            total_usage,
        })
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// The report as one HTML page with nothing outside it: inline CSS, no
    /// script, no link to fetch, every text escaped.
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}

fn text(e: &Value, key: &str) -> String {
    opt(e, key).unwrap_or_default()
}

fn opt(e: &Value, key: &str) -> Option<String> {
    e.get(key).and_then(Value::as_str).map(str::to_string)
}

fn revision_of(e: &Value) -> Option<u32> {
    e.get("revision")
        .and_then(Value::as_u64)
        .and_then(|r| u32::try_from(r).ok())
}

/// The decisions in the journal: each `decided` line, with the note,
/// feedback or reason of the lines journalled with it; an abort or a
/// confirmation that no gate asked for stands on its own.
fn decisions(events: &[Value]) -> Vec<DecisionPart> {
    let mut out: Vec<DecisionPart> = Vec::new();
    for e in events {
        let kind = e.get("event").and_then(Value::as_str).unwrap_or_default();
        let artifact = opt(e, "artifact").or_else(|| opt(e, "from_artifact"));
        let by = opt(e, "by").or_else(|| opt(e, "approver"));
        let note = match kind {
            "approved" => opt(e, "note"),
            "revised" => opt(e, "feedback"),
            "aborted" | "rolled_back" | "sent_back" | "rollback_started" => opt(e, "reason"),
            _ => None,
        };
        let new = |option: &str, action: &str| DecisionPart {
            at: text(e, "at"),
            artifact: artifact.clone(),
            revision: revision_of(e),
            option: option.to_string(),
            action: action.to_string(),
            by: by.clone().unwrap_or_default(),
            note: note.clone(),
        };
        match kind {
            "decided" => out.push(new(&text(e, "option"), &text(e, "action"))),
            "edited" => out.push(new("edit", "edit")),
            "point_of_no_return_confirmed" => {
                out.push(new("past the point of no return", "confirm"))
            }
            "rollback_started" => out.push(new(&text(e, "option"), "rollback")),
            "approved" | "revised" | "aborted" | "rolled_back" | "sent_back" => {
                // Journalled with the decision it explains, by the same person.
                let last = out.last_mut().filter(|d| {
                    d.note.is_none()
                        && d.by == by.clone().unwrap_or_default()
                        && (kind == "aborted" || d.artifact == artifact)
                });
                match last {
                    Some(d) => d.note = note,
                    None if kind == "aborted" => out.push(new("abort", "abort")),
                    None if kind == "approved" => out.push(new("approve", "proceed")),
                    None => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// Every draft revision, from the journal, with the feedback it answers
/// from `run.json`.
fn revisions(state: &RunState, events: &[Value]) -> Vec<RevisionPart> {
    events
        .iter()
        .filter_map(|e| {
            let kind = e.get("event").and_then(Value::as_str)?;
            let (source, by) = match kind {
                "drafted" => ("model", text(e, "model")),
                "edited" => ("person", text(e, "by")),
                _ => return None,
            };
            let artifact = opt(e, "artifact")?;
            let revision = revision_of(e)?;
            let feedback = state
                .artifacts
                .iter()
                .find(|a| a.id == artifact)
                .and_then(|a| a.drafts.iter().find(|d| d.revision == revision))
                .and_then(|d| d.feedback.clone());
            Some(RevisionPart {
                at: text(e, "at"),
                revision,
                source: source.into(),
                by,
                feedback,
                usage: Usage::of_event(e),
                path: text(e, "path"),
                prompt_path: opt(e, "prompt_path"),
                artifact,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
