//! Who the model speaks as: the system message of a request, built from a
//! persona (the phase's, a panel member's or the moderator's, else a plain
//! engineer), the phase's secondary persona, and the files each links to.
//!
//! A phase needs no primary persona: with only a secondary persona, only a
//! prompt, or neither, the default persona is primary and the secondary
//! one checks and strengthens its work. Each linked file is given once per
//! request, right after the persona that links it; linked files are the
//! first thing cut when a request does not fit the server's context
//! (`context_window.rs`).

use super::{Engine, EngineError};
use crate::library::{persona_links, resolve_persona, LibraryFile};
use crate::prompt::{LinkedDoc, PhaseInfo, SystemContext};
use crate::store::SourceKind;
use crate::workflow::{DirectiveKind, Phase};

impl Engine {
    /// A persona file by its library path; the built-in moderator by its
    /// exact path only.
    fn persona_file(&self, path: &str) -> Result<LibraryFile, EngineError> {
        let file = resolve_persona(&self.loaded.library, path)?;
        self.sources.note(
            SourceKind::Persona,
            &file.origin.to_string(),
            file.text.as_bytes(),
        );
        Ok(file)
    }

    /// The linked files of `persona` not already in `seen`, as the model
    /// gets them; `seen` gains their paths.
    fn linked_docs(&self, persona: &LibraryFile, seen: &mut Vec<String>) -> Vec<LinkedDoc> {
        // Warnings about links were shown when the workflow was validated.
        let (files, _) = persona_links(&self.loaded.library, persona);
        files
            .into_iter()
            .filter(|f| {
                let new = !seen.contains(&f.rel);
                if new {
                    seen.push(f.rel.clone());
                }
                new
            })
            .inspect(|f| {
                self.sources
                    .note(SourceKind::Linked, &f.origin.to_string(), f.text.as_bytes())
            })
            .map(|f| LinkedDoc {
                path: f.rel,
                label: f.label,
                content: f.text,
            })
            .collect()
    }

    /// The parts of the system message for `phase`, speaking as the persona
    /// at library path `persona` (a panel member's or the moderator's), else
    /// the phase's own persona, else a plain engineer; plus the phase's
    /// secondary persona, if any; each with the files it links to.
    pub(super) fn system_context(
        &self,
        phase: &Phase,
        persona: Option<&str>,
    ) -> Result<SystemContext, EngineError> {
        let mut seen = Vec::new();
        let primary = match persona.or(phase
            .directive(DirectiveKind::Persona)
            .map(|d| d.path.as_str()))
        {
            Some(path) => Some(self.persona_file(path)?),
            None => None,
        };
        let (persona, persona_links) = match &primary {
            Some(file) => (file.text.clone(), self.linked_docs(file, &mut seen)),
            None => (
                format!(
                    "You are an experienced engineer helping a team through the \"{}\" workflow.",
                    self.loaded.workflow.name
                ),
                Vec::new(),
            ),
        };
        let secondary = phase
            .directive(DirectiveKind::SecondaryPersona)
            .map(|d| self.persona_file(&d.path))
            .transpose()?;
        let secondary_links = secondary
            .as_ref()
            .map(|file| self.linked_docs(file, &mut seen))
            .unwrap_or_default();
        Ok(SystemContext {
            workflow: self.loaded.workflow.name.clone(),
            phase: PhaseInfo {
                number: phase.number,
                name: phase.name.clone(),
            },
            persona,
            persona_links,
            secondary: secondary.map(|f| f.text),
            secondary_links,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::test_support::start_engine;

    const ONLY_SECONDARY: &str = "# Workflow: Review Only

## Phases

1. **Review** → `[R-1]` — **GATE**

## Phase 1: Review

> **Secondary persona:** `personas/quality/reviewer.md`

### Input

- What to review

### Process

Review it.

### Output

**Artifact `[R-1]: Review`**

```
## Findings
<findings>
```

### GATE

**Approval criteria:** Done.

- **Approved** → proceed
- **Revise** → revise and re-present
";

    #[test]
    fn a_phase_with_only_a_secondary_persona_speaks_as_the_default_one() {
        let dir = tempfile::tempdir().unwrap();
        let persona = dir.path().join("personas/quality/reviewer.md");
        std::fs::create_dir_all(persona.parent().unwrap()).unwrap();
        std::fs::write(
            &persona,
            "# Persona: Reviewer\n\nYou review. Grade with the [scale](../../policies/scale.md).\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("policies/scale.md"), "SCALE-TEXT\n").unwrap();
        let engine = start_engine(dir.path(), ONLY_SECONDARY, Some("the diff"), &[]);
        let phase = engine.workflow().phases[0].clone();
        let ctx = engine.system_context(&phase, None).unwrap();
        assert!(
            ctx.persona.contains("experienced engineer") && ctx.persona.contains("Review Only"),
            "{}",
            ctx.persona
        );
        assert!(ctx.persona_links.is_empty());
        assert!(ctx.secondary.as_deref().unwrap().contains("You review."));
        assert_eq!(ctx.secondary_links.len(), 1);
        assert_eq!(ctx.secondary_links[0].path, "policies/scale.md");
        // Speaking as the reviewer itself: the scale follows it, once.
        let ctx = engine
            .system_context(&phase, Some("personas/quality/reviewer.md"))
            .unwrap();
        assert_eq!(ctx.persona_links.len(), 1);
        assert!(
            ctx.secondary_links.is_empty(),
            "each linked file once per request"
        );
        let text = engine.prompts.system(&ctx).unwrap();
        assert_eq!(text.matches("SCALE-TEXT").count(), 1, "{text}");
    }
}
