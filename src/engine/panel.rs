//! A review panel: each member reviews the inputs before the draft, and
//! their findings go into the draft request.

use super::draft::{parse_json_answer, sent_request};
use super::run_id::slug;
use super::{Engine, EngineError};
use crate::artifact_schema::Bounds;
use crate::library;
use futures_util::StreamExt;

use crate::llm::{ChatRequest, Completion, ModelClient, Silent, StructuredRequest, TokenSink};
use crate::markdown::strip_outer_fence;
use crate::prompt::{ArtifactInfo, Finding, MemberInfo, PanelInfo, PromptInput, ReviewContext};
use crate::store::{self, EventKind, FindingRecord, SourceKind};
use crate::workflow::Phase;

impl Engine {
    /// Asks each panel member that has not yet reported for this round to
    /// review the inputs, saving each finding as it arrives so an interrupted
    /// panel resumes where it stopped. Returns the panel, every finding of the
    /// round and the library path of the moderator's persona (the built-in
    /// moderator when the panel names none).
    pub(super) async fn convene_panel<M: ModelClient>(
        &mut self,
        model: &M,
        phase: &Phase,
        panel_path: &str,
        artifact_index: usize,
        material: PanelMaterial<'_>,
        sink: &mut dyn TokenSink,
    ) -> Result<(PanelInfo, Vec<Finding>, String), EngineError> {
        let file = self.loaded.library.resolve(panel_path)?;
        self.sources.note(
            SourceKind::Panel,
            &file.origin.to_string(),
            file.text.as_bytes(),
        );
        // The panel's problems were reported when the workflow was
        // validated, and a panel with errors never starts a run.
        let (panel, _) = library::read_panel(&self.loaded.library, &file);
        let info = PanelInfo {
            title: panel.title.clone(),
            description: panel.description.clone(),
            purpose: panel.purpose.clone(),
            participant_instructions: panel.participant_instructions.clone(),
            moderator_instructions: panel.moderator_instructions.clone(),
            participant_format: panel.participant_format.clone(),
        };
        let id = self.state.artifacts[artifact_index].id.clone();
        // A member's answer is a list of findings, not the artifact's
        // sections.
        sink.sections(&[]);
        let caps = model.capabilities();
        // Every request is assembled from the run as it stands before any
        // answer arrives, so the order answers arrive in changes no prompt.
        let mut asks = Vec::new();
        for (position, member) in panel.participants.iter().enumerate() {
            let reported = self.state.artifacts[artifact_index]
                .findings
                .iter()
                .any(|f| f.persona == member.path);
            if reported {
                continue;
            }
            // The member's persona is the one part of its request that is
            // its own, so it comes last: every member's request shares the
            // system message, the process and the inputs before it, and a
            // server that caches prompt prefixes computes them once.
            let mut persona = self.system_context(phase, Some(&member.path))?;
            let review = ReviewContext {
                workflow: self.loaded.workflow.name.clone(),
                phase: persona.phase.clone(),
                panel: info.clone(),
                member: MemberInfo {
                    name: member.name.clone(),
                    focus: member.focus.clone(),
                },
                persona: String::new(),
                persona_links: Vec::new(),
                process: phase.process.clone(),
                inputs: material.inputs.to_vec(),
                missing: material.missing.to_vec(),
                artifact: material.artifact.clone(),
            };
            let mut inputs = review.inputs.clone();
            let fitted =
                self.fit_to_context(&caps, &id, &mut persona, &mut inputs, |persona, inputs| {
                    let ctx = ReviewContext {
                        inputs: inputs.to_vec(),
                        persona: persona.persona.clone(),
                        persona_links: persona.persona_links.clone(),
                        ..review.clone()
                    };
                    Ok((
                        self.prompts.review_system(&ctx)?,
                        self.prompts.review(&ctx)?,
                    ))
                })?;
            let request = ChatRequest {
                purpose: format!("{id} panel: {}", member.name),
                system: fitted.system,
                user: fitted.user,
                max_tokens: None,
                structured: caps.structured.then(|| findings_schema(&self.bounds)),
            };
            let sent = sent_request(model, &request);
            asks.push(MemberAsk {
                position,
                name: member.name.clone(),
                persona: member.path.clone(),
                request,
                cuts: fitted.cuts,
                sent,
            });
        }
        // Members review in parallel, at most `at_once` requests in flight
        // (the server's slots, or the profile's max_parallel_requests).
        // Each answer is saved as it arrives, so a kill keeps every finding
        // that came in; a member whose request failed is asked again on the
        // next resume, on its own, while the others' findings stand.
        let at_once = caps.parallel_requests.max(1);
        let names: Vec<String> = asks.iter().map(|a| a.name.clone()).collect();
        if !asks.is_empty() {
            sink.panel_started(&id, &names, at_once);
        }
        let mut answers = futures_util::stream::iter(asks.into_iter().map(|ask| async move {
            let result = model.complete(&ask.request, &mut Silent).await;
            (ask, result)
        }))
        .buffer_unordered(at_once);
        let mut failed = None;
        while let Some((ask, result)) = answers.next().await {
            match result {
                Ok(completion) => {
                    sink.panel_member(&ask.name, Ok(&completion));
                    let (name, text) = self.save_finding(
                        &id,
                        artifact_index,
                        material.revision,
                        ask,
                        &completion,
                    )?;
                    sink.finding(&name, &text);
                }
                Err(source) => {
                    sink.panel_member(&ask.name, Err(&source.to_string()));
                    failed.get_or_insert(EngineError::Model {
                        run_id: self.state.run_id.clone(),
                        artifact: id.clone(),
                        source,
                    });
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        // In the panel's order, whatever order the answers came in, so the
        // moderator's request is the same for the same findings.
        let mut recorded = self.state.artifacts[artifact_index].findings.clone();
        recorded.sort_by_key(|f| {
            panel
                .participants
                .iter()
                .position(|m| m.path == f.persona)
                .unwrap_or(usize::MAX)
        });
        let mut findings = Vec::new();
        for f in &recorded {
            let focus = panel
                .participants
                .iter()
                .find(|m| m.path == f.persona)
                .map_or(String::new(), |m| m.focus.clone());
            let text = self.run.read(&f.path)?;
            self.sources
                .note(SourceKind::Finding, &f.path, text.as_bytes());
            findings.push(Finding {
                name: f.member.clone(),
                focus,
                text,
            });
        }
        Ok((info, findings, panel.moderator.path))
    }
}

/// One member's request, assembled before any is sent.
struct MemberAsk {
    /// The member's place in the panel, from 0: its findings file's number.
    position: usize,
    name: String,
    persona: String,
    request: ChatRequest,
    cuts: Vec<String>,
    sent: serde_json::Value,
}

impl Engine {
    /// Saves one member's findings (and the request it was sent) and
    /// journals them; returns the member's name and the findings' text.
    fn save_finding(
        &mut self,
        id: &str,
        artifact_index: usize,
        revision: u32,
        ask: MemberAsk,
        completion: &Completion,
    ) -> Result<(String, String), EngineError> {
        let stem = format!(
            "drafts/{id}.r{revision}.findings/{:02}-{}",
            ask.position + 1,
            slug(&ask.name)
        );
        let path = format!("{stem}.md");
        let (prompt_path, prompt_sha256) = self.save_prompts(
            &format!("{stem}.prompt.json"),
            id,
            Some(revision),
            &[ask.sent],
        )?;
        let mut text = findings_markdown(&completion.text, ask.request.structured.is_some());
        for cut in &ask.cuts {
            text.push_str(&format!("\n> Note: {cut}\n"));
        }
        self.run.write_new(&path, text.as_bytes())?;
        self.journal(EventKind::PanelFinding {
            artifact: id.to_string(),
            member: ask.name.clone(),
            persona: ask.persona.clone(),
            path: path.clone(),
            sha256: store::sha256_hex(text.as_bytes()),
            model: completion.model.clone(),
            prompt_tokens: completion.prompt_tokens,
            cached_tokens: completion.cached_tokens,
            completion_tokens: completion.completion_tokens,
            seconds: completion.seconds,
            prompt_path: Some(prompt_path),
            prompt_sha256: Some(prompt_sha256),
        })?;
        self.state.artifacts[artifact_index]
            .findings
            .push(FindingRecord {
                member: ask.name.clone(),
                persona: ask.persona,
                path,
            });
        self.save()?;
        Ok((ask.name, text))
    }
}

/// What every panel member is shown.
pub(super) struct PanelMaterial<'a> {
    pub(super) inputs: &'a [PromptInput],
    pub(super) missing: &'a [String],
    pub(super) artifact: &'a ArtifactInfo,
    pub(super) revision: u32,
}

/// A panel member answers with a short list of findings; bounded like the
/// artifacts, so a small model cannot loop.
fn findings_schema(bounds: &Bounds) -> StructuredRequest {
    let schema = |bounded: bool| {
        let mut item = serde_json::json!({"type": "string"});
        let mut list = serde_json::json!({"type": "array", "items": null});
        if bounded {
            item["maxLength"] = serde_json::json!(bounds.max_item);
            list["minItems"] = serde_json::json!(1);
            list["maxItems"] = serde_json::json!(bounds.max_items);
        }
        list["items"] = item;
        serde_json::json!({
            "type": "object",
            "properties": {"findings": list},
            "required": ["findings"],
            "additionalProperties": false,
        })
    };
    StructuredRequest {
        name: "panel_findings".into(),
        schema: schema(true),
        schema_without_bounds: schema(false),
    }
}

/// A member's findings as Markdown: a bullet list from JSON, or the answer
/// as written when it is not the JSON asked for.
fn findings_markdown(answer: &str, structured: bool) -> String {
    let listed = structured
        .then(|| parse_json_answer(answer).ok())
        .flatten()
        .and_then(|v| {
            v["findings"].as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(|i| format!("- {}\n", i.split_whitespace().collect::<Vec<_>>().join(" ")))
                    .collect::<String>()
            })
        })
        .filter(|s| !s.is_empty());
    listed.unwrap_or_else(|| strip_outer_fence(answer))
}
