//! Drafting one artifact: the request, the one repair request when the
//! answer falls short, and the record of each draft, the model's or a
//! person's edit (the two `DraftRecord`s are built here, side by side).
//! `Attempt` reads an answer as the artifact it should be.

use super::panel::PanelMaterial;
use super::{Engine, EngineError};
use crate::artifact_schema::choices::without_choices;
use crate::artifact_schema::sections::missing_sections;
use crate::artifact_schema::{ArtifactSchema, Bounds};
use crate::evidence::claims::{success_claims, UNVERIFIED};
use crate::llm::{ChatRequest, Completion, ModelClient, StructuredRequest, TokenSink};
use crate::markdown::strip_outer_fence;
use crate::prompt::{ArtifactInfo, DraftContext, JsonInfo, RevisionInfo, StepInfo};
use crate::store::{
    self, ArtifactState, DraftFormat, DraftRecord, DraftSource, EventKind, RedactionRecord,
    SourceKind,
};
use crate::workflow::step::{self, Step};
use crate::workflow::DirectiveKind;

impl Engine {
    /// Drafts the artifact at `artifact_index` from its phase's inputs (and
    /// its panel's findings, when the phase convenes one), in JSON when the
    /// server enforces a schema, and leaves it awaiting a decision. An answer
    /// that falls short gets one repair request, never more.
    pub(super) async fn draft<M: ModelClient>(
        &mut self,
        model: &M,
        phase_index: usize,
        step: Option<&Step>,
        artifact_index: usize,
        sink: &mut dyn TokenSink,
    ) -> Result<(), EngineError> {
        let phase = self.loaded.workflow.phases[phase_index].clone();
        self.start_sources(artifact_index, phase.panel().is_some());
        let mut redactions = Vec::new();
        let (mut inputs, missing) = self.inputs_for(&phase, &mut redactions)?;
        let mut template = self.template_for(artifact_index);
        let is_step = self.state.artifacts[artifact_index].step.is_some();
        let proven = is_step && self.has_proof(artifact_index);
        if is_step {
            inputs.extend(self.evidence_input(artifact_index, &mut redactions)?);
            if !proven {
                // No success without proof: the result is drafted in a
                // template whose choices cannot claim it.
                template = without_choices(&template, &self.evidence.success_words, UNVERIFIED);
            }
        }
        let rec = self.state.artifacts[artifact_index].clone();
        let artifact = ArtifactInfo {
            id: rec.id.clone(),
            title: rec.title.clone(),
            template: template.clone(),
        };
        let revision = match (&rec.pending_feedback, rec.latest_draft()) {
            (Some(feedback), Some(previous)) => {
                let text = self.run.read(&previous.path)?;
                self.sources
                    .note(SourceKind::PreviousDraft, &previous.path, text.as_bytes());
                Some(RevisionInfo {
                    number: previous.revision,
                    previous: text,
                    feedback: feedback.clone(),
                })
            }
            _ => None,
        };
        let step_info = match (step, &self.state.steps) {
            (Some(step), Some(progress)) => {
                // Where the phase declares the plan, the plan carries this
                // step in full and the others as one line each; the step's
                // section is then not repeated beside it.
                let plan_origin = format!("approved artifact {}", progress.plan);
                let plan_input = inputs
                    .iter_mut()
                    .find(|i| i.origin.as_deref() == Some(plan_origin.as_str()));
                let section = match plan_input {
                    Some(input) => {
                        input.content = step::plan_for_step(&input.content, step);
                        String::new()
                    }
                    None => {
                        step::step_section(&self.approved_text(&progress.plan, phase.number)?, step)
                    }
                };
                Some(StepInfo {
                    number: step.number,
                    name: step.name.clone(),
                    section,
                })
            }
            _ => None,
        };
        // Only this phase's part of a prompt file that serves several.
        let phase_names: Vec<&str> = self
            .loaded
            .workflow
            .phases
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let guidance = phase
            .directive(DirectiveKind::Prompt)
            .map(|d| self.resolve_text(&d.path))
            .transpose()?
            .map(|text| crate::library::guidance_for(&text, &phase.name, &phase_names));
        let rev = rec.next_revision();
        tracing::debug!(
            artifact = %rec.id,
            revision = rev,
            inputs = inputs.len(),
            missing = ?missing,
            "assembling draft request"
        );
        self.journal_redactions(&rec.id, rev, &redactions)?;

        let (panel_info, findings, moderator) = match phase.panel() {
            None => (None, Vec::new(), None),
            Some(directive) => {
                let material = PanelMaterial {
                    inputs: &inputs,
                    missing: &missing,
                    artifact: &artifact,
                    revision: rev,
                };
                let (info, findings, moderator) = self
                    .convene_panel(
                        model,
                        &phase,
                        &directive.path,
                        artifact_index,
                        material,
                        sink,
                    )
                    .await?;
                (Some(info), findings, Some(moderator))
            }
        };

        let mut system = self.system_context(&phase, moderator.as_deref())?;
        let caps = model.capabilities();
        let schema = if caps.structured {
            match ArtifactSchema::compile(&template, &self.bounds) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    tracing::warn!(artifact = %rec.id, error = %e, "template does not compile to a schema; drafting Markdown");
                    None
                }
            }
        } else {
            None
        };
        let mut context = DraftContext {
            process: phase.process.clone(),
            guidance,
            panel: panel_info,
            inputs,
            missing,
            step: step_info,
            findings,
            artifact,
            revision,
            json: schema.as_ref().map(|s| JsonInfo {
                keys: s.sections().into_iter().map(|(key, _)| key).collect(),
            }),
            repair: None,
        };
        let mut inputs = std::mem::take(&mut context.inputs);
        let fitted = self.fit_draft(&caps, &rec.id, &mut system, &mut inputs, &context)?;
        let cuts = fitted.cuts;
        let structured = schema.as_ref().map(|s| StructuredRequest {
            name: schema_name(&rec.id),
            schema: s.json_schema(),
            schema_without_bounds: s.json_schema_without_bounds(),
        });
        let request = ChatRequest {
            purpose: format!("{} r{rev}", rec.id),
            system: fitted.system,
            user: fitted.user,
            max_tokens: None,
            structured: structured.clone(),
        };
        // So a display can name the sections as the answer completes them.
        sink.sections(&schema.as_ref().map(|s| s.sections()).unwrap_or_default());
        let mut prompts = vec![sent_request(model, &request)];
        let completion = self.ask_model(model, &request, &rec.id, sink).await?;
        let first = Attempt::read(&completion, schema.as_ref(), &template);
        let attempt = match first.repair_reason() {
            None => first,
            Some(reason) => {
                // One repair request, never more: whatever it returns goes to
                // the gate with its problems listed.
                let first_path = self.save_attempt(artifact_index, &first)?;
                self.journal(EventKind::RepairRequested {
                    artifact: rec.id.clone(),
                    revision: rev,
                    reason: reason.clone(),
                    first_attempt: first_path,
                    first_attempt_sha256: Some(store::sha256_hex(first.completion.text.as_bytes())),
                    prompt_tokens: first.completion.prompt_tokens,
                    cached_tokens: first.completion.cached_tokens,
                    completion_tokens: first.completion.completion_tokens,
                    seconds: first.completion.seconds,
                })?;
                context.repair = Some(reason);
                let fitted = self.fit_draft(&caps, &rec.id, &mut system, &mut inputs, &context)?;
                let request = ChatRequest {
                    purpose: format!("{} r{rev} repair", rec.id),
                    system: fitted.system,
                    user: fitted.user,
                    max_tokens: None,
                    structured,
                };
                prompts.push(sent_request(model, &request));
                let completion = self.ask_model(model, &request, &rec.id, sink).await?;
                let second = Attempt::read(&completion, schema.as_ref(), &template);
                if second.is_worse_than(&first) {
                    first
                } else {
                    second
                }
            }
        };
        let mut attempt = attempt;
        let numbering = self.plan_numbering_problems(artifact_index, &attempt.markdown);
        attempt.problems.extend(numbering);
        if is_step && !proven {
            attempt
                .problems
                .extend(self.unproven_claims(artifact_index, &attempt.markdown));
        }
        self.save_model_draft(artifact_index, attempt, cuts, redactions, &prompts)
    }

    /// Claims of success a step's draft makes without proof, or against a
    /// failed command, each as a problem the gate shows.
    fn unproven_claims(&self, artifact_index: usize, markdown: &str) -> Vec<String> {
        let rec = &self.state.artifacts[artifact_index];
        let failed: Vec<String> = rec
            .evidence
            .iter()
            .filter(|e| e.failed())
            .map(|e| {
                format!(
                    "{} ended with {}",
                    e.id,
                    e.command_outcome().unwrap_or_default()
                )
            })
            .collect();
        let why = if failed.is_empty() {
            "without evidence".to_string()
        } else {
            format!("but {}", failed.join(", "))
        };
        success_claims(
            &self.template_for(artifact_index),
            markdown,
            &self.evidence.success_words,
        )
        .into_iter()
        .map(|(field, value)| format!("claims '{value}' ({field}) {why}"))
        .collect()
    }

    /// Saves a first attempt that a repair request replaces, so the record
    /// keeps what the model actually said.
    fn save_attempt(
        &self,
        artifact_index: usize,
        attempt: &Attempt,
    ) -> Result<String, EngineError> {
        let rec = &self.state.artifacts[artifact_index];
        let path = format!("drafts/{}.r{}.attempt1.txt", rec.id, rec.next_revision());
        self.run
            .write_new(&path, attempt.completion.text.as_bytes())?;
        Ok(path)
    }

    /// Sends one request; a model error names the run and artifact, so the
    /// message can say how to resume.
    pub(super) async fn ask_model<M: ModelClient>(
        &self,
        model: &M,
        request: &ChatRequest,
        artifact: &str,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, EngineError> {
        model
            .complete(request, sink)
            .await
            .map_err(|source| EngineError::Model {
                run_id: self.state.run_id.clone(),
                artifact: artifact.to_string(),
                source,
            })
    }

    /// Saves the model's draft as the next revision (and its JSON, when it
    /// parsed), journals it, and leaves it awaiting a decision. The feedback
    /// it answered moves from the artifact onto the draft. The revision is
    /// the journal's next (the state is rolled forward to the journal on
    /// open), and a file a killed command left under its name is set aside,
    /// never overwritten.
    fn save_model_draft(
        &mut self,
        artifact_index: usize,
        attempt: Attempt,
        cuts: Vec<String>,
        redactions: Vec<RedactionRecord>,
        prompts: &[serde_json::Value],
    ) -> Result<(), EngineError> {
        let completion = &attempt.completion;
        let text = attempt.markdown.clone();
        let rec = &self.state.artifacts[artifact_index];
        let rev = rec.next_revision();
        let path = rec.draft_path(rev);
        let (prompt_path, prompt_sha) =
            self.save_prompts(&rec.prompt_path(rev), &rec.id, Some(rev), prompts)?;
        let json_path = if attempt.parsed_json {
            let p = format!("drafts/{}.r{rev}.json", rec.id);
            self.run.write_new(&p, completion.text.as_bytes())?;
            Some(p)
        } else {
            None
        };
        self.run.write_new(&path, text.as_bytes())?;
        let sha = store::sha256_hex(text.as_bytes());
        let id = rec.id.clone();
        let draft = DraftRecord {
            model: Some(completion.model.clone()),
            prompt_tokens: completion.prompt_tokens,
            completion_tokens: completion.completion_tokens,
            seconds: Some(completion.seconds),
            finish_reason: completion.finish_reason.clone(),
            truncated: completion.truncated(),
            missing_sections: attempt.missing.clone(),
            format: Some(if attempt.structured {
                DraftFormat::Json
            } else {
                DraftFormat::Markdown
            }),
            json_path,
            problems: attempt.problems.clone(),
            cuts,
            sources: self.sources.take(),
            redactions,
            prompt_path: Some(prompt_path),
            prompt_sha256: Some(prompt_sha),
            ..DraftRecord::new(rev, path, sha, DraftSource::Model)
        };
        self.journal(EventKind::drafted(&id, &draft, completion.cached_tokens))?;
        let rec = &mut self.state.artifacts[artifact_index];
        rec.drafts.push(DraftRecord {
            feedback: rec.pending_feedback.take(),
            ..draft
        });
        rec.state = ArtifactState::AwaitingDecision;
        self.save()
    }

    /// Keeps the requests sent for a draft (or a panel member's review) at
    /// run file `path`, as they left the machine: after redaction, without
    /// credentials (those travel in headers). Returns the path and sha256
    /// the journal records, so `verify` notices a changed record.
    pub(super) fn save_prompts(
        &self,
        path: &str,
        artifact: &str,
        revision: Option<u32>,
        requests: &[serde_json::Value],
    ) -> Result<(String, String), EngineError> {
        let doc = serde_json::json!({
            "schema_version": 1,
            "artifact": artifact,
            "revision": revision,
            "requests": requests,
        });
        // A `Value` always serializes: its map keys are strings.
        let mut bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        bytes.push(b'\n');
        self.run.write_new(path, &bytes)?;
        Ok((path.to_string(), store::sha256_hex(&bytes)))
    }

    /// Saves a person's replacement of the draft `replaced` (the revision
    /// and sha256 they read) as the next revision; the gate then asks again
    /// about it. Returns the new revision and its sha256.
    pub(super) fn save_edited_draft(
        &mut self,
        artifact_index: usize,
        id: String,
        by: String,
        text: &str,
        replaced: (u32, String),
    ) -> Result<(u32, String), EngineError> {
        let text = format!("{}\n", text.trim_end());
        let rec = &self.state.artifacts[artifact_index];
        let rev = rec.next_revision();
        let path = rec.draft_path(rev);
        self.run.write_new(&path, text.as_bytes())?;
        let sha = store::sha256_hex(text.as_bytes());
        self.journal(EventKind::Edited {
            artifact: id,
            revision: rev,
            path: path.clone(),
            sha256: sha.clone(),
            by,
            replaces_revision: Some(replaced.0),
            replaces_sha256: Some(replaced.1),
        })?;
        let draft = self.edited_record(artifact_index, rev, path, sha.clone(), &text);
        self.state.artifacts[artifact_index].drafts.push(draft);
        self.save()?;
        Ok((rev, sha))
    }

    /// The record of a person's edit: a Markdown draft checked against the
    /// artifact's template. Rolling an `edited` event forward builds the
    /// same record.
    pub(super) fn edited_record(
        &self,
        artifact_index: usize,
        revision: u32,
        path: String,
        sha256: String,
        text: &str,
    ) -> DraftRecord {
        let template = self.template_for(artifact_index);
        // A person's edit starts from the draft it replaces, which was made
        // from these files.
        let sources = self.state.artifacts[artifact_index]
            .latest_draft()
            .map(|d| d.sources.clone())
            .unwrap_or_default();
        let mut problems = structure_problems(&template, text);
        problems.extend(self.plan_numbering_problems(artifact_index, text));
        DraftRecord {
            sources,
            missing_sections: missing_sections(&template, text),
            format: Some(DraftFormat::Markdown),
            problems,
            ..DraftRecord::new(revision, path, sha256, DraftSource::Human)
        }
    }
}

/// One request as it is sent, with what it was for ("MIG-1 r2 repair").
pub(super) fn sent_request<M: ModelClient>(model: &M, request: &ChatRequest) -> serde_json::Value {
    serde_json::json!({
        "purpose": request.purpose,
        "body": model.wire_request(request),
    })
}

/// A schema name servers accept: letters, digits, `_` and `-`.
fn schema_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a Markdown artifact gets wrong against its template's schema, such
/// as a value outside an enum; empty when the template has no schema.
fn structure_problems(template: &str, markdown: &str) -> Vec<String> {
    ArtifactSchema::compile(template, &Bounds::unbounded())
        .ok()
        .and_then(|schema| schema.parse(markdown).err())
        .unwrap_or_default()
        .into_iter()
        // Missing sections are listed on their own, from the section check.
        .filter(|p| !p.contains(": missing section '"))
        .collect()
}

/// One answer of the model, read as the artifact it should be.
struct Attempt {
    completion: Completion,
    /// The Markdown for the gate: rendered from JSON, or the answer itself.
    markdown: String,
    /// A JSON answer was asked for and it parsed (it is kept beside the
    /// draft).
    parsed_json: bool,
    /// A JSON answer was asked for (the server enforces a schema).
    structured: bool,
    /// Schema violations, or why the JSON could not be read.
    problems: Vec<String>,
    /// Template sections the Markdown lacks.
    missing: Vec<String>,
}

impl Attempt {
    /// Reads `completion` against the template: as JSON rendered into it when
    /// a `schema` was sent, else as Markdown checked against it.
    fn read(completion: &Completion, schema: Option<&ArtifactSchema>, template: &str) -> Attempt {
        let mut attempt = Attempt {
            completion: completion.clone(),
            markdown: strip_outer_fence(&completion.text),
            parsed_json: false,
            structured: schema.is_some(),
            problems: Vec::new(),
            missing: Vec::new(),
        };
        match schema {
            Some(schema) => match parse_json_answer(&completion.text) {
                Ok(value) => {
                    attempt.problems = schema.validate(&value);
                    // Rendered even when it breaks a rule, so the gate shows
                    // readable Markdown with the problems listed beside it.
                    match schema.render(&value) {
                        Ok(md) => attempt.markdown = md,
                        Err(e) => attempt
                            .problems
                            .push(format!("cannot render the JSON into the template: {e}")),
                    }
                    attempt.parsed_json = true;
                }
                Err(e) => attempt.problems.push(if completion.truncated() {
                    format!("the JSON answer stopped at the token limit ({e})")
                } else {
                    format!("the answer is not valid JSON: {e}")
                }),
            },
            None => attempt.problems = structure_problems(template, &attempt.markdown),
        }
        attempt.missing = missing_sections(template, &attempt.markdown);
        attempt
    }

    /// Why this answer needs the one repair request, if it does.
    fn repair_reason(&self) -> Option<String> {
        if self.structured && !self.problems.is_empty() {
            return Some(self.problems.join("; "));
        }
        if !self.missing.is_empty() {
            let mut reason = format!(
                "it lacks these template sections: {}",
                self.missing.join(", ")
            );
            if self.completion.truncated() {
                reason.push_str(" (it stopped at the token limit: be briefer)");
            }
            return Some(reason);
        }
        None
    }

    /// Whether the repair made things worse, so the first answer goes to the
    /// gate instead: unreadable JSON is worst, then missing sections, then
    /// other problems.
    fn is_worse_than(&self, other: &Attempt) -> bool {
        let score = |a: &Attempt| {
            (
                a.structured && !a.parsed_json,
                a.missing.len(),
                a.problems.len(),
            )
        };
        score(self) > score(other)
    }
}

/// The JSON object in an answer: the whole answer, or inside a code fence.
pub(super) fn parse_json_answer(text: &str) -> Result<serde_json::Value, String> {
    let body = strip_outer_fence(text);
    let body = body.trim();
    let value: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(first) => {
            let start = body.find('{');
            let end = body.rfind('}');
            match (start, end) {
                (Some(a), Some(b)) if a < b => {
                    serde_json::from_str(&body[a..=b]).map_err(|_| first.to_string())?
                }
                _ => return Err(first.to_string()),
            }
        }
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the answer is JSON but not an object".into())
    }
}
