//! Prompt assembly: handlebars templates (overridable library files under
//! `prompts/assembly/`) turned into the system and user messages.
//!
//! Stable material comes first and volatile material last (process,
//! guidance, inputs, template, then any revision), so servers that cache
//! prompt prefixes reuse them across revisions.

use handlebars::Handlebars;
use serde::Serialize;

use crate::library::{Library, LibraryError};

pub const SYSTEM_TEMPLATE: &str = "prompts/assembly/system.hbs";
pub const DRAFT_TEMPLATE: &str = "prompts/assembly/draft.hbs";
pub const REVIEW_TEMPLATE: &str = "prompts/assembly/review.hbs";

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt template: {0}")]
    Library(#[from] LibraryError),
    #[error("prompt template {origin} does not parse: {message}")]
    Template { origin: String, message: String },
    #[error("prompt template {name} failed to render: {message}")]
    Render { name: String, message: String },
}

/// The compiled assembly templates.
pub struct PromptAssembler {
    registry: Handlebars<'static>,
    /// Where each template came from, to name it in render errors.
    origins: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseInfo {
    pub number: u32,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SystemContext {
    pub workflow: String,
    pub phase: PhaseInfo,
    pub persona: String,
    pub secondary: Option<String>,
}

/// One declared input as given to the model.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromptInput {
    pub label: String,
    pub origin: Option<String>,
    pub content: String,
    /// What the input is, which decides what is cut first when the inputs
    /// do not fit the server's context.
    #[serde(skip)]
    pub source: InputSource,
}

/// Where an input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputSource {
    /// A file the person supplied with --context: cut first.
    ContextFile,
    /// An approved (or accepted) artifact: cut last, and never silently.
    Artifact,
    /// The need and notes migagent writes itself: never cut.
    #[default]
    Fixed,
}

/// Asks for the artifact as JSON whose keys are the template's sections.
#[derive(Debug, Clone, Serialize)]
pub struct JsonInfo {
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactInfo {
    pub id: String,
    pub title: String,
    pub template: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub number: u32,
    pub name: String,
    pub section: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PanelInfo {
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub name: String,
    pub focus: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionInfo {
    pub number: u32,
    pub previous: String,
    pub feedback: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftContext {
    pub process: String,
    pub guidance: Option<String>,
    pub panel: Option<PanelInfo>,
    pub inputs: Vec<PromptInput>,
    pub missing: Vec<String>,
    pub step: Option<StepInfo>,
    pub findings: Vec<Finding>,
    pub artifact: ArtifactInfo,
    pub revision: Option<RevisionInfo>,
    /// Set when the server enforces a JSON schema compiled from the template.
    pub json: Option<JsonInfo>,
    /// Why the previous answer could not be used, on the one repair request.
    pub repair: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberInfo {
    pub name: String,
    pub focus: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewContext {
    pub panel: PanelInfo,
    pub member: MemberInfo,
    pub process: String,
    pub inputs: Vec<PromptInput>,
    pub missing: Vec<String>,
    pub artifact: ArtifactInfo,
}

impl PromptAssembler {
    /// Loads the three assembly templates through the library, so a file at
    /// `prompts/assembly/draft.hbs` in the workflow's root overrides the
    /// built-in one.
    pub fn load(library: &Library) -> Result<PromptAssembler, PromptError> {
        let mut registry = Handlebars::new();
        let mut origins = Vec::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.set_strict_mode(true);
        for (name, path) in [
            ("system", SYSTEM_TEMPLATE),
            ("draft", DRAFT_TEMPLATE),
            ("review", REVIEW_TEMPLATE),
        ] {
            let file = library.resolve(path)?;
            registry
                .register_template_string(name, &file.text)
                .map_err(|e| PromptError::Template {
                    origin: file.origin.to_string(),
                    message: e.to_string(),
                })?;
            origins.push((name, file.origin.to_string()));
        }
        let assembler = PromptAssembler { registry, origins };
        assembler.check()?;
        Ok(assembler)
    }

    /// Renders every template once with every field filled, so a template
    /// that names an unknown field fails when a run starts, not halfway
    /// through it.
    fn check(&self) -> Result<(), PromptError> {
        let input = PromptInput {
            label: "label".into(),
            origin: Some("origin".into()),
            content: "content".into(),
            source: InputSource::ContextFile,
        };
        let artifact = ArtifactInfo {
            id: "X-1".into(),
            title: "title".into(),
            template: "## Section".into(),
        };
        let panel = PanelInfo {
            title: "panel".into(),
            description: "description".into(),
        };
        self.system(&SystemContext {
            workflow: "workflow".into(),
            phase: PhaseInfo {
                number: 1,
                name: "phase".into(),
            },
            persona: "persona".into(),
            secondary: Some("secondary".into()),
        })?;
        self.draft(&DraftContext {
            process: "process".into(),
            guidance: Some("guidance".into()),
            panel: Some(panel.clone()),
            inputs: vec![input.clone()],
            missing: vec!["missing".into()],
            step: Some(StepInfo {
                number: 1,
                name: "step".into(),
                section: "section".into(),
            }),
            findings: vec![Finding {
                name: "member".into(),
                focus: "focus".into(),
                text: "finding".into(),
            }],
            artifact: artifact.clone(),
            revision: Some(RevisionInfo {
                number: 1,
                previous: "previous".into(),
                feedback: "feedback".into(),
            }),
            json: Some(JsonInfo {
                keys: vec!["section".into()],
            }),
            repair: Some("repair".into()),
        })?;
        self.review(&ReviewContext {
            panel,
            member: MemberInfo {
                name: "member".into(),
                focus: "focus".into(),
            },
            process: "process".into(),
            inputs: vec![input],
            missing: vec!["missing".into()],
            artifact,
        })?;
        Ok(())
    }

    fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, PromptError> {
        self.registry
            .render(name, data)
            .map(|s| tidy(&s))
            .map_err(|e| PromptError::Render {
                name: self
                    .origins
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or_else(|| name.to_string(), |(_, origin)| origin.clone()),
                message: e.to_string(),
            })
    }

    pub fn system(&self, ctx: &SystemContext) -> Result<String, PromptError> {
        self.render("system", ctx)
    }

    pub fn draft(&self, ctx: &DraftContext) -> Result<String, PromptError> {
        self.render("draft", ctx)
    }

    pub fn review(&self, ctx: &ReviewContext) -> Result<String, PromptError> {
        self.render("review", ctx)
    }
}

/// Collapses the runs of blank lines that block helpers leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assembler() -> PromptAssembler {
        let dir = tempfile::tempdir().unwrap();
        PromptAssembler::load(&Library::new(dir.path().to_path_buf())).unwrap()
    }

    fn ctx() -> DraftContext {
        DraftContext {
            process: "PROCESS-TEXT".into(),
            guidance: Some("GUIDANCE-TEXT".into()),
            panel: None,
            inputs: vec![PromptInput {
                label: "[X-1]: Thing".into(),
                origin: None,
                content: "INPUT-{{not a template}}".into(),
                source: InputSource::Artifact,
            }],
            missing: vec![],
            step: None,
            findings: vec![],
            artifact: ArtifactInfo {
                id: "X-2".into(),
                title: "Next".into(),
                template: "## Section <a & b>".into(),
            },
            revision: Some(RevisionInfo {
                number: 1,
                previous: "PREVIOUS-DRAFT".into(),
                feedback: "FEEDBACK-TEXT".into(),
            }),
            json: None,
            repair: None,
        }
    }

    #[test]
    fn user_message_keeps_stable_material_first() {
        let text = assembler().draft(&ctx()).unwrap();
        let order: Vec<usize> = [
            "PROCESS-TEXT",
            "GUIDANCE-TEXT",
            "INPUT-{{not a template}}",
            // The task names the artifact: after the inputs, so the steps of
            // a per-step phase share everything before it in the server's
            // prompt cache.
            "# Task: X-2: Next",
            "## Section <a & b>",
            "PREVIOUS-DRAFT",
            "FEEDBACK-TEXT",
        ]
        .iter()
        .map(|needle| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in\n{text}"))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    }

    #[test]
    fn a_template_in_the_library_root_overrides_the_builtin_one() {
        let dir = tempfile::tempdir().unwrap();
        let custom = dir.path().join("prompts/assembly");
        std::fs::create_dir_all(&custom).unwrap();
        std::fs::write(custom.join("draft.hbs"), "CUSTOM {{artifact.id}}").unwrap();
        let assembler = PromptAssembler::load(&Library::new(dir.path().to_path_buf())).unwrap();
        assert_eq!(assembler.draft(&ctx()).unwrap(), "CUSTOM X-2\n");
    }

    #[test]
    fn a_template_naming_an_unknown_field_is_refused_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let custom = dir.path().join("prompts/assembly");
        std::fs::create_dir_all(&custom).unwrap();
        std::fs::write(
            custom.join("draft.hbs"),
            "{{#if revision}}{{revision.feedbak}}{{/if}}",
        )
        .unwrap();
        let err = PromptAssembler::load(&Library::new(dir.path().to_path_buf()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("prompts/assembly/draft.hbs"), "{err}");
        assert!(err.contains("feedbak"), "{err}");
    }

    #[test]
    fn secondary_persona_is_labelled() {
        let text = assembler()
            .system(&SystemContext {
                workflow: "W".into(),
                phase: PhaseInfo {
                    number: 3,
                    name: "Plan".into(),
                },
                persona: "PRIMARY".into(),
                secondary: Some("SECONDARY".into()),
            })
            .unwrap();
        assert!(text.find("PRIMARY").unwrap() < text.find("# Secondary persona").unwrap());
        assert!(text.contains("SECONDARY"));
    }
}
