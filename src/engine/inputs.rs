//! What a draft is made from: the declared inputs of a phase (approved
//! artifacts, the need, context files) and the template; the system
//! message is `persona.rs`.

use std::path::{Path, PathBuf};

use super::context_window::{estimate_tokens, prompt_budget};
use super::{journal_event, Engine, EngineError};
use crate::files::{read_regular, LIMIT_SETTING};
use crate::llm::Capabilities;
use crate::prompt::{InputSource, PromptInput};
use crate::store::{
    self, ArtifactState, ContextRecord, EventKind, RedactionRecord, SourceKind, SuppliedInput,
};
use crate::workflow::input::same_label;
use crate::workflow::{InputKind, Phase, Workflow};

/// A free-text input given when a run starts, already matched to its label.
#[derive(Debug, Clone)]
pub struct GivenInput {
    /// The label as the workflow writes it (see `Workflow::match_label`).
    pub label: String,
    pub text: String,
    /// How it was given, for the record: `--need`, `--input`, `--input @FILE`.
    pub given_as: String,
}

/// A context file as given (`--context`), read whole before any run is
/// opened or created: a file that cannot be read, or is too large, stops
/// the command before it holds a lock or burns a run id.
#[derive(Debug, Clone)]
pub struct ContextFile {
    pub path: PathBuf,
    /// The bytes as they are on disk; they are stored and hashed as they
    /// are, whether or not they are UTF-8.
    pub bytes: Vec<u8>,
}

impl ContextFile {
    /// Reads `path`, a regular file of at most `max` bytes (`max_file_mb`
    /// under `[limits]`).
    pub fn read(path: &Path, max: u64) -> Result<ContextFile, EngineError> {
        let bytes = read_regular(path, max, LIMIT_SETTING).map_err(EngineError::ContextFile)?;
        Ok(ContextFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// Reads every path in `paths`, in order.
    pub fn read_all(paths: &[PathBuf], max: u64) -> Result<Vec<ContextFile>, EngineError> {
        paths.iter().map(|p| ContextFile::read(p, max)).collect()
    }
}

/// Bytes as text for a prompt, and how they were decoded: "utf-8", or
/// "utf-8 with N replacement characters" when some bytes are not UTF-8
/// (each invalid sequence becomes one U+FFFD).
pub(super) fn decode(bytes: &[u8]) -> (String, String) {
    let invalid = bytes
        .utf8_chunks()
        .filter(|c| !c.invalid().is_empty())
        .count();
    let text = String::from_utf8_lossy(bytes).into_owned();
    let how = match invalid {
        0 => "utf-8".to_string(),
        1 => "utf-8 with 1 replacement character".to_string(),
        n => format!("utf-8 with {n} replacement characters"),
    };
    (text, how)
}

/// Checks that no context file is larger than a whole request can carry,
/// before anything is copied into a run: a file that alone overflows the
/// server's context would be cut to a sliver of itself, or, with no known
/// window, sent whole. With no known window the file limit alone applies.
pub fn check_context_budget(files: &[ContextFile], caps: &Capabilities) -> Result<(), EngineError> {
    let Some(budget) = prompt_budget(caps) else {
        return Ok(());
    };
    for file in files {
        let (text, _) = decode(&file.bytes);
        let tokens = estimate_tokens(&text);
        if tokens > budget {
            return Err(EngineError::ContextFileTooLarge {
                path: file.path.clone(),
                bytes: file.bytes.len() as u64,
                tokens,
                budget,
                window: caps.context_tokens.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

impl Engine {
    /// Copies context files into the run, so the record keeps exactly what the
    /// model was shown even if the originals change. None is copied unless
    /// all of them fit the server's context (see [`check_context_budget`]).
    pub fn add_contexts(
        &mut self,
        files: &[ContextFile],
        caps: &Capabilities,
    ) -> Result<(), EngineError> {
        check_context_budget(files, caps)?;
        for file in files {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "context".into());
            self.record_context(file.path.display().to_string(), &name, &file.bytes)?;
        }
        Ok(())
    }

    /// Stores `bytes` as the run's next context file, named after `name`,
    /// journals it and keeps its record: a `--context` file and a note or
    /// file given as a phase's evidence alike. The bytes are stored and
    /// hashed as given; how they read as text is recorded beside them.
    pub(super) fn record_context(
        &mut self,
        original: String,
        name: &str,
        bytes: &[u8],
    ) -> Result<ContextRecord, EngineError> {
        let stored = format!("context/{:02}-{}", self.state.contexts.len() + 1, name);
        self.run.write_new(&stored, bytes)?;
        let (_, decoded) = decode(bytes);
        let record = ContextRecord {
            original,
            stored: stored.clone(),
            sha256: store::sha256_hex(bytes),
            added_at: store::now_rfc3339(),
            decoded: Some(decoded),
        };
        self.run.journal(&journal_event(
            &self.state.run_id,
            EventKind::ContextAdded {
                original: record.original.clone(),
                stored,
                sha256: record.sha256.clone(),
                decoded: record.decoded.clone(),
            },
        ))?;
        self.state.contexts.push(record.clone());
        self.save()?;
        Ok(record)
    }

    /// Stores the free-text inputs given at start, each as a file of the
    /// run with its journal line.
    pub(super) fn record_inputs(&mut self, given: &[GivenInput]) -> Result<(), EngineError> {
        for input in given {
            let slug = super::run_id::slug(&input.label);
            let stored = format!(
                "inputs/{:02}-{}.md",
                self.state.inputs.len() + 1,
                if slug.is_empty() { "input" } else { &slug }
            );
            self.run.write_new(&stored, input.text.as_bytes())?;
            let record = SuppliedInput {
                label: input.label.clone(),
                given_as: input.given_as.clone(),
                stored: stored.clone(),
                sha256: store::sha256_hex(input.text.as_bytes()),
            };
            self.run.journal(&journal_event(
                &self.state.run_id,
                EventKind::InputSupplied {
                    label: record.label.clone(),
                    given_as: record.given_as.clone(),
                    stored,
                    sha256: record.sha256.clone(),
                },
            ))?;
            self.state.inputs.push(record);
            self.save()?;
        }
        Ok(())
    }

    /// The text the person gave for the free-text input `label`, if any. A
    /// run of migagent 0.1 kept only its `need`, which fills the request.
    pub(super) fn supplied_text(&self, label: &str) -> Result<Option<String>, EngineError> {
        if let Some(found) = self
            .state
            .inputs
            .iter()
            .find(|i| same_label(&i.label, label))
        {
            let text = self.run.read(&found.stored)?;
            self.sources
                .note(SourceKind::Input, &found.stored, text.as_bytes());
            return Ok(Some(text));
        }
        let is_request = self
            .loaded
            .workflow
            .request_label()
            .is_some_and(|r| same_label(r, label));
        Ok(match &self.state.need {
            Some(need) if self.state.inputs.is_empty() && is_request => Some(need.clone()),
            _ => None,
        })
    }

    /// The run's file that holds the free-text input `label`, for the
    /// record of what was redacted from it.
    fn supplied_file(&self, label: &str) -> String {
        self.state
            .inputs
            .iter()
            .find(|i| same_label(&i.label, label))
            .map_or_else(|| "run.json (need)".to_string(), |i| i.stored.clone())
    }

    /// Whether the person filled the free-text input `label` at start.
    pub(super) fn is_supplied(&self, label: &str) -> bool {
        self.supplied_text(label).ok().flatten().is_some()
    }

    /// The text of artifact `id`, an input of phase `phase`. Only an
    /// approved or accepted artifact is ever an input; anything else is an
    /// error, never a draft passed on unreviewed.
    pub(super) fn approved_text(&self, id: &str, phase: u32) -> Result<String, EngineError> {
        let record = self.state.artifacts.iter().find(|a| a.id == id);
        match record {
            Some(r) if matches!(r.state, ArtifactState::Approved | ArtifactState::Accepted) => {
                self.read_approved(&r.approved_path())
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
        let file = self.loaded.library.resolve(path)?;
        self.sources.note(
            SourceKind::Prompt,
            &file.origin.to_string(),
            file.text.as_bytes(),
        );
        Ok(file.text)
    }

    /// An approved (or accepted) artifact's text, noted as a source.
    fn read_approved(&self, rel: &str) -> Result<String, EngineError> {
        let text = self.run.read(rel)?;
        self.sources
            .note(SourceKind::Artifact, rel, text.as_bytes());
        Ok(text)
    }

    /// The declared inputs of a phase: approved artifacts, the need, context
    /// files. Inputs that the run lacks are listed as missing, never invented.
    /// What people supplied (the need, inputs, context files) is redacted
    /// of secrets when redaction is on, each redaction added to `found`.
    pub(super) fn inputs_for(
        &self,
        phase: &Phase,
        found: &mut Vec<RedactionRecord>,
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
                                    content: self.read_approved(&rec.approved_path())?,
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
                InputKind::FreeText => match self.supplied_text(&input.text)? {
                    Some(text) => inputs.push(PromptInput {
                        label: input.text.clone(),
                        origin: Some("given by the person running migagent".into()),
                        content: self.outgoing(text, &self.supplied_file(&input.text), found),
                        source: InputSource::Fixed,
                    }),
                    None => context_labels.push(input.text.clone()),
                },
            }
        }
        if !context_labels.is_empty() {
            if self.state.contexts.is_empty() {
                missing.extend(context_labels);
            } else {
                for ctx in &self.state.contexts {
                    let bytes = self.run.read_bytes(&ctx.stored)?;
                    self.sources.note(SourceKind::Context, &ctx.stored, &bytes);
                    let (content, decoded) = decode(&bytes);
                    // Said only when it matters: text that is not what the
                    // file's bytes say.
                    let decoded = if decoded == "utf-8" {
                        String::new()
                    } else {
                        format!("; the file is not UTF-8 and was read as {decoded}")
                    };
                    inputs.push(PromptInput {
                        label: format!("Context file {}", ctx.original),
                        origin: Some(format!(
                            "supplied by the person running migagent, for: {}{decoded}",
                            context_labels.join("; ")
                        )),
                        content: self.outgoing(content, &ctx.stored, found),
                        source: InputSource::ContextFile,
                    });
                }
            }
        }
        Ok((inputs, missing))
    }
}

/// Checks what a new run was given against the first phase's free-text
/// inputs, before any model call: the request (the first of them) must be
/// filled, by `--need`, `--input` or a context file, or the first draft has
/// nothing to work from. Returns the labels of the other first-phase inputs
/// that nothing fills, for the caller to warn about.
pub fn check_first_phase_inputs(
    workflow: &Workflow,
    given: &[GivenInput],
    has_context: bool,
) -> Result<Vec<String>, EngineError> {
    let Some(phase) = workflow.phases.first() else {
        return Ok(Vec::new());
    };
    let unfilled: Vec<String> = phase
        .inputs
        .iter()
        .filter(|i| i.kind == InputKind::FreeText)
        .filter(|i| !given.iter().any(|g| same_label(&g.label, &i.text)))
        .map(|i| i.text.clone())
        .collect();
    if has_context {
        return Ok(Vec::new());
    }
    match workflow.request_label() {
        Some(request) if unfilled.iter().any(|u| same_label(u, request)) => {
            Err(EngineError::MissingNeed {
                phase: phase.number,
                input: request.to_string(),
            })
        }
        _ => Ok(unfilled),
    }
}
