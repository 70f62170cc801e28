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
pub const REVIEW_SYSTEM_TEMPLATE: &str = "prompts/assembly/review-system.hbs";

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
    /// The library files the persona links to, each once, right after it.
    pub persona_links: Vec<LinkedDoc>,
    pub secondary: Option<String>,
    /// The files the secondary persona links to that the persona does not.
    pub secondary_links: Vec<LinkedDoc>,
}

/// A library file a persona links to (a shared policy, a scale), given to
/// the model with the persona; the first thing cut when a request does not
/// fit the server's context.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkedDoc {
    /// Library-relative path, e.g. `policies/severity.md`.
    pub path: String,
    /// The link's text, e.g. "severity scale".
    pub label: String,
    pub content: String,
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
    /// The panel file's text before its first section: for everyone.
    pub description: String,
    /// The description and the panel's purpose sections: what members are
    /// told the panel is for.
    pub purpose: String,
    /// The sections for the participants (purpose, process, their output
    /// format, constraints), verbatim.
    pub participant_instructions: String,
    /// The sections for the moderator (the consolidated output format,
    /// conflict resolution), verbatim.
    pub moderator_instructions: String,
    /// The participants' sections that say how to write findings, verbatim;
    /// empty when none does, and the review prompt's own format applies.
    pub participant_format: String,
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
    pub workflow: String,
    pub phase: PhaseInfo,
    pub panel: PanelInfo,
    pub member: MemberInfo,
    /// The member's persona and the files it links to: the last part of
    /// the request, so every member's request shares all before it.
    pub persona: String,
    pub persona_links: Vec<LinkedDoc>,
    pub process: String,
    pub inputs: Vec<PromptInput>,
    pub missing: Vec<String>,
    pub artifact: ArtifactInfo,
}

impl PromptAssembler {
    /// Loads the three assembly templates through the library, so a file at
    /// `prompts/assembly/draft.hbs` in a library root overrides the built-in
    /// one (at that exact path only).
    pub fn load(library: &Library) -> Result<PromptAssembler, PromptError> {
        let mut registry = Handlebars::new();
        let mut origins = Vec::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.set_strict_mode(true);
        for (name, path) in [
            ("system", SYSTEM_TEMPLATE),
            ("draft", DRAFT_TEMPLATE),
            ("review", REVIEW_TEMPLATE),
            ("review_system", REVIEW_SYSTEM_TEMPLATE),
        ] {
            let file = library.resolve_exact(path)?;
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
            purpose: "purpose".into(),
            participant_instructions: "participants".into(),
            moderator_instructions: "moderator".into(),
            participant_format: "format".into(),
        };
        let link = LinkedDoc {
            path: "policies/x.md".into(),
            label: "x".into(),
            content: "linked".into(),
        };
        let phase = PhaseInfo {
            number: 1,
            name: "phase".into(),
        };
        self.system(&SystemContext {
            workflow: "workflow".into(),
            phase: phase.clone(),
            persona: "persona".into(),
            persona_links: vec![link.clone()],
            secondary: Some("secondary".into()),
            secondary_links: vec![link.clone()],
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
        let review = ReviewContext {
            workflow: "workflow".into(),
            phase,
            panel,
            member: MemberInfo {
                name: "member".into(),
                focus: "focus".into(),
            },
            persona: "persona".into(),
            persona_links: vec![link],
            process: "process".into(),
            inputs: vec![input],
            missing: vec!["missing".into()],
            artifact,
        };
        self.review(&review)?;
        self.review_system(&review)?;
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

    /// A panel member's system message: the same for every member of the
    /// panel, so their requests share it as a cached prefix.
    pub fn review_system(&self, ctx: &ReviewContext) -> Result<String, PromptError> {
        self.render("review_system", ctx)
    }
}

/// Collapses the runs of blank lines that block helpers leave behind.
fn tidy(text: &str) -> String {
    crate::markdown::collapse_blank_runs(text.lines())
        .trim()
        .to_string()
        + "\n"
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
                persona_links: vec![LinkedDoc {
                    path: "policies/severity.md".into(),
                    label: "severity scale".into(),
                    content: "SEVERITY-TEXT".into(),
                }],
                secondary: Some("SECONDARY".into()),
                secondary_links: vec![LinkedDoc {
                    path: "policies/style.md".into(),
                    label: "style".into(),
                    content: "STYLE-TEXT".into(),
                }],
            })
            .unwrap();
        let order: Vec<usize> = [
            "PRIMARY",
            "policies/severity.md",
            "SEVERITY-TEXT",
            "# Secondary persona",
            "SECONDARY",
            "STYLE-TEXT",
            "\"W\" workflow",
        ]
        .iter()
        .map(|n| {
            text.find(n)
                .unwrap_or_else(|| panic!("{n} missing in\n{text}"))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    }

    #[test]
    fn prompts_speak_of_this_workflow_not_a_migration() {
        let mut c = ctx();
        c.json = Some(JsonInfo {
            keys: vec!["a".into()],
        });
        c.panel = Some(PanelInfo {
            title: "P".into(),
            description: "D".into(),
            purpose: "PURPOSE-TEXT".into(),
            participant_instructions: "PI".into(),
            moderator_instructions: "MODERATOR-ONLY".into(),
            participant_format: String::new(),
        });
        let a = assembler();
        for text in [a.draft(&c).unwrap(), a.draft(&ctx()).unwrap()] {
            assert!(!text.to_lowercase().contains("migration"), "{text}");
        }
        assert!(a.draft(&c).unwrap().contains("for this workflow"));
        assert!(a.draft(&c).unwrap().contains("MODERATOR-ONLY"));
        let mut rc = ReviewContext {
            workflow: "W".into(),
            phase: PhaseInfo {
                number: 2,
                name: "Check".into(),
            },
            panel: c.panel.clone().unwrap(),
            member: MemberInfo {
                name: "M".into(),
                focus: "F".into(),
            },
            persona: "MEMBER-PERSONA".into(),
            persona_links: vec![],
            process: "P".into(),
            inputs: vec![],
            missing: vec![],
            artifact: c.artifact.clone(),
        };
        let review = a.review(&rc).unwrap();
        let system = a.review_system(&rc).unwrap();
        for text in [&review, &system] {
            assert!(!text.to_lowercase().contains("migration"), "{text}");
            assert!(!text.contains("MODERATOR-ONLY"), "{text}");
        }
        assert!(
            !review.contains("PI"),
            "members get the purpose and their focus, not every instruction: {review}"
        );
        assert!(system.contains("PURPOSE-TEXT"), "{system}");
        assert!(
            review.contains("### Blocks sign-off"),
            "the default findings format: {review}"
        );
        rc.panel.participant_format = "## Per-member output\nEACH-FORMAT".into();
        let review = a.review(&rc).unwrap();
        assert!(
            review.contains("EACH-FORMAT") && !review.contains("### Blocks sign-off"),
            "{review}"
        );
    }

    #[test]
    fn members_share_everything_before_their_persona() {
        let a = assembler();
        let member = |name: &str, persona: &str| ReviewContext {
            workflow: "W".into(),
            phase: PhaseInfo {
                number: 5,
                name: "Validation".into(),
            },
            panel: PanelInfo {
                title: "P".into(),
                description: "D".into(),
                purpose: "PURPOSE".into(),
                participant_instructions: String::new(),
                moderator_instructions: String::new(),
                participant_format: String::new(),
            },
            member: MemberInfo {
                name: name.into(),
                focus: format!("{name} focus"),
            },
            persona: persona.into(),
            persona_links: vec![],
            process: "PROCESS".into(),
            inputs: vec![PromptInput {
                label: "[X-1]: Thing".into(),
                origin: None,
                content: "SHARED-INPUT ".repeat(50),
                source: InputSource::Artifact,
            }],
            missing: vec![],
            artifact: ArtifactInfo {
                id: "X-5".into(),
                title: "Report".into(),
                template: "## S".into(),
            },
        };
        let (one, two) = (member("Ann", "PERSONA-ANN"), member("Bob", "PERSONA-BOB"));
        assert_eq!(
            a.review_system(&one).unwrap(),
            a.review_system(&two).unwrap()
        );
        let (u1, u2) = (a.review(&one).unwrap(), a.review(&two).unwrap());
        let shared = u1
            .bytes()
            .zip(u2.bytes())
            .take_while(|(x, y)| x == y)
            .count();
        assert!(u1[..shared].contains("SHARED-INPUT"), "{u1}");
        assert!(u1[shared..].contains("PERSONA-ANN") && u1[shared..].contains("Ann focus"));
        assert!(!u1[..shared].contains("Ann"), "{u1}");
    }
}
