//! What a draft is made from: the declared inputs of a phase (approved
//! artifacts, the need, context files), the template and the system
//! message.

use std::path::PathBuf;

use super::{journal_event, Engine, EngineError};
use crate::prompt::{InputSource, PhaseInfo, PromptInput, SystemContext};
use crate::store::{self, ArtifactState, ContextRecord, EventKind};
use crate::workflow::{DirectiveKind, InputKind, Phase, Workflow};

impl Engine {
    /// Copies context files into the run, so the record keeps exactly what the
    /// model was shown even if the originals change.
    pub fn add_contexts(&mut self, paths: &[PathBuf]) -> Result<(), EngineError> {
        for path in paths {
            let bytes = std::fs::read(path).map_err(|source| EngineError::Context {
                path: path.clone(),
                source,
            })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "context".into());
            self.record_context(path.display().to_string(), &name, text.as_bytes())?;
        }
        Ok(())
    }

    /// Stores `bytes` as the run's next context file, named after `name`,
    /// journals it and keeps its record: a `--context` file and a note or
    /// file given as a phase's evidence alike.
    pub(super) fn record_context(
        &mut self,
        original: String,
        name: &str,
        bytes: &[u8],
    ) -> Result<ContextRecord, EngineError> {
        let stored = format!("context/{:02}-{}", self.state.contexts.len() + 1, name);
        self.run.write_bytes(&stored, bytes)?;
        let record = ContextRecord {
            original,
            stored: stored.clone(),
            sha256: store::sha256_hex(bytes),
            added_at: store::now_rfc3339(),
        };
        self.run.journal(&journal_event(
            &self.state.run_id,
            EventKind::ContextAdded {
                original: record.original.clone(),
                stored,
                sha256: record.sha256.clone(),
            },
        ))?;
        self.state.contexts.push(record.clone());
        self.save()?;
        Ok(record)
    }

    /// The text of artifact `id`, an input of phase `phase`. Only an
    /// approved or accepted artifact is ever an input; anything else is an
    /// error, never a draft passed on unreviewed.
    pub(super) fn approved_text(&self, id: &str, phase: u32) -> Result<String, EngineError> {
        let record = self.state.artifacts.iter().find(|a| a.id == id);
        match record {
            Some(r) if matches!(r.state, ArtifactState::Approved | ArtifactState::Accepted) => {
                Ok(self.run.read(&r.approved_path())?)
            }
            _ => Err(EngineError::InputNotApproved {
                id: id.to_string(),
                phase,
            }),
        }
    }

    /// The output template of the artifact at `artifact_index`; a step's
    /// artifact gets its step's name filled in, so the model never has to
    /// name the step again.
    pub(super) fn template_for(&self, artifact_index: usize) -> String {
        let rec = &self.state.artifacts[artifact_index];
        let phase = &self.loaded.workflow.phases[rec.phase_index];
        phase
            .output
            .as_ref()
            .map_or_else(String::new, |o| o.template_for(rec.step.as_ref()))
    }

    /// The text of a library file a directive names (persona, guidance,
    /// panel member).
    pub(super) fn resolve_text(&self, path: &str) -> Result<String, EngineError> {
        Ok(self.loaded.library.resolve(path)?.text)
    }

    /// The declared inputs of a phase: approved artifacts, the need, context
    /// files. Inputs that the run lacks are listed as missing, never invented.
    pub(super) fn inputs_for(
        &self,
        phase: &Phase,
    ) -> Result<(Vec<PromptInput>, Vec<String>), EngineError> {
        let mut inputs = Vec::new();
        let mut missing = Vec::new();
        let mut context_labels = Vec::new();
        for input in &phase.inputs {
            match &input.kind {
                InputKind::Artifact(id) => inputs.push(PromptInput {
                    label: input.text.clone(),
                    origin: Some(format!("approved artifact {id}")),
                    content: self.approved_text(id, phase.number)?,
                    source: InputSource::Artifact,
                }),
                InputKind::AllSteps(pattern) => {
                    let producer = self.loaded.workflow.producer(pattern).map(|(i, _)| i);
                    for rec in self
                        .state
                        .artifacts
                        .iter()
                        .filter(|a| Some(a.phase_index) == producer)
                    {
                        match rec.state {
                            ArtifactState::Approved | ArtifactState::Accepted => {
                                inputs.push(PromptInput {
                                    label: format!("[{}]: {}", rec.id, rec.title),
                                    origin: Some(format!("approved artifact {}", rec.id)),
                                    content: self.run.read(&rec.approved_path())?,
                                    source: InputSource::Artifact,
                                })
                            }
                            ArtifactState::RolledBack => {
                                let rb = rec.rollback.as_ref();
                                inputs.push(PromptInput {
                                    label: format!("[{}]: {}", rec.id, rec.title),
                                    origin: Some("rolled back, not approved".into()),
                                    content: format!(
                                        "This step was rolled back by {} at {}. Reason given: {}",
                                        rb.map_or("unknown", |r| r.by.as_str()),
                                        rb.map_or("unknown", |r| r.at.as_str()),
                                        rb.map_or("none", |r| r.reason.as_str())
                                    ),
                                    source: InputSource::Fixed,
                                })
                            }
                            // Redrafted before anything after it: reaching
                            // one here would feed an outdated step.
                            ArtifactState::Stale => {
                                return Err(EngineError::InputNotApproved {
                                    id: rec.id.clone(),
                                    phase: phase.number,
                                })
                            }
                            _ => {}
                        }
                    }
                    if let Some(p) = producer {
                        inputs.extend(self.evidence_index(p));
                    }
                }
                InputKind::FreeText if input.is_need() => match &self.state.need {
                    Some(need) => inputs.push(PromptInput {
                        label: input.text.clone(),
                        origin: Some("given by the person running migagent".into()),
                        content: need.clone(),
                        source: InputSource::Fixed,
                    }),
                    None => missing.push(input.text.clone()),
                },
                InputKind::FreeText => context_labels.push(input.text.clone()),
            }
        }
        if !context_labels.is_empty() {
            if self.state.contexts.is_empty() {
                missing.extend(context_labels);
            } else {
                for ctx in &self.state.contexts {
                    inputs.push(PromptInput {
                        label: format!("Context file {}", ctx.original),
                        origin: Some(format!(
                            "supplied by the person running migagent, for: {}",
                            context_labels.join("; ")
                        )),
                        content: self.run.read(&ctx.stored)?,
                        source: InputSource::ContextFile,
                    });
                }
            }
        }
        Ok((inputs, missing))
    }

    /// The system message for `phase`: the `persona` given (a panel
    /// member's or the moderator's), else the phase's own persona, else a
    /// plain engineer; plus the phase's secondary persona, if any.
    pub(super) fn system_message(
        &self,
        phase: &Phase,
        persona: Option<String>,
    ) -> Result<String, EngineError> {
        let persona = match persona {
            Some(p) => p,
            None => match phase.directive(DirectiveKind::Persona) {
                Some(d) => self.resolve_text(&d.path)?,
                None => format!(
                    "You are an experienced engineer helping a team through the \"{}\" workflow.",
                    self.loaded.workflow.name
                ),
            },
        };
        let secondary = phase
            .directive(DirectiveKind::SecondaryPersona)
            .map(|d| self.resolve_text(&d.path))
            .transpose()?;
        Ok(self.prompts.system(&SystemContext {
            workflow: self.loaded.workflow.name.clone(),
            phase: PhaseInfo {
                number: phase.number,
                name: phase.name.clone(),
            },
            persona,
            secondary,
        })?)
    }
}

/// Fails when a phase declares the migration need and the run has none:
/// checked when the run starts, before any model call, rather than when the
/// phase is reached.
pub(super) fn check_need(workflow: &Workflow, need: Option<&str>) -> Result<(), EngineError> {
    if need.is_some_and(|n| !n.trim().is_empty()) {
        return Ok(());
    }
    for phase in &workflow.phases {
        if let Some(input) = phase.inputs.iter().find(|i| i.is_need()) {
            return Err(EngineError::MissingNeed {
                phase: phase.number,
                input: input.text.clone(),
            });
        }
    }
    Ok(())
}
