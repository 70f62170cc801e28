//! Fitting a prompt to the server's context window: estimating its size
//! and cutting, with a note for the gate for every cut. What goes first:
//! the files personas link to (whole, largest first), then context files
//! (largest first), then approved artifacts down to their opening part.

use super::{Engine, EngineError};
use crate::llm::Capabilities;
use crate::prompt::{DraftContext, InputSource, PromptError, PromptInput, SystemContext};

/// A request fitted to the server's context: its system and user messages,
/// and a note for the gate for every cut made.
pub(super) struct Fitted {
    pub(super) system: String,
    pub(super) user: String,
    pub(super) cuts: Vec<String>,
}

impl Engine {
    /// The draft prompt for `context` with `inputs`, fitted to the context.
    pub(super) fn fit_draft(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &mut SystemContext,
        inputs: &mut [PromptInput],
        context: &DraftContext,
    ) -> Result<Fitted, EngineError> {
        self.fit_to_context(caps, artifact, system, inputs, |system, inputs| {
            let user = self.prompts.draft(&DraftContext {
                inputs: inputs.to_vec(),
                ..context.clone()
            })?;
            Ok((self.prompts.system(system)?, user))
        })
    }

    /// Renders the system message and the prompt (`render` makes both from
    /// the persona and the inputs as they stand) and, when they would not
    /// fit the server's context, cuts until they do: the files personas
    /// link to first (largest first, whole), then context files (largest
    /// first), then approved artifacts down to their opening part. Every
    /// cut is returned as a note for the gate; nothing is cut silently.
    pub(super) fn fit_to_context(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &mut SystemContext,
        inputs: &mut [PromptInput],
        render: impl Fn(&SystemContext, &[PromptInput]) -> Result<(String, String), PromptError>,
    ) -> Result<Fitted, EngineError> {
        let mut cuts = Vec::new();
        let (mut system_text, mut user) = render(system, inputs)?;
        let Some(window) = caps.context_tokens else {
            return Ok(Fitted {
                system: system_text,
                user,
                cuts,
            });
        };
        let answer = caps.max_tokens.unwrap_or(0);
        let budget = prompt_budget(caps).unwrap_or_default();
        loop {
            let need = estimate_tokens(&system_text) + estimate_tokens(&user);
            if need <= budget {
                return Ok(Fitted {
                    system: system_text,
                    user,
                    cuts,
                });
            }
            if let Some(note) = drop_linked(system, window) {
                tracing::info!(artifact, %note, "left out a linked file to fit the context");
                cuts.push(note);
                (system_text, user) = render(system, inputs)?;
                continue;
            }
            let excess_chars =
                usize::try_from((need - budget) * CHARS_PER_TOKEN_NUM / CHARS_PER_TOKEN_DEN)
                    .unwrap_or(usize::MAX)
                    + 200;
            let Some(note) = cut_one(inputs, excess_chars, window) else {
                return Err(EngineError::ContextTooSmall {
                    artifact: artifact.to_string(),
                    need,
                    have: window,
                    answer,
                });
            };
            tracing::info!(artifact, %note, "cut an input to fit the context");
            cuts.push(note);
            (system_text, user) = render(system, inputs)?;
        }
    }
}

/// Characters per token assumed when estimating a prompt's size, as a
/// fraction: 3.5, below the 4.5 measured on English Markdown with SmolLM2's
/// tokenizer, so the estimate errs towards cutting rather than overflowing.
const CHARS_PER_TOKEN_NUM: u64 = 7;
/// The denominator of [`CHARS_PER_TOKEN_NUM`].
const CHARS_PER_TOKEN_DEN: u64 = 2;
/// Tokens kept free for the chat template's own markup.
const PROMPT_OVERHEAD_TOKENS: u32 = 64;
/// An approved artifact is never cut below its opening part.
const MIN_ARTIFACT_CHARS: usize = 600;

/// The tokens a whole prompt (system and user message) may take: the
/// server's context less the answer and the chat template's markup. `None`
/// when the server's context is not known.
pub(super) fn prompt_budget(caps: &Capabilities) -> Option<u64> {
    let window = caps.context_tokens?;
    let answer = caps.max_tokens.unwrap_or(0);
    Some(u64::from(
        window
            .saturating_sub(answer)
            .saturating_sub(PROMPT_OVERHEAD_TOKENS),
    ))
}

/// The tokens `text` takes, estimated from its length (rounded up): the
/// server's tokenizer is not at hand.
pub(super) fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64 * CHARS_PER_TOKEN_DEN).div_ceil(CHARS_PER_TOKEN_NUM)
}

/// Leaves out the largest file a persona links to, whole: a policy cut in
/// the middle would read as the whole policy. Returns the note for the
/// gate, or `None` when no linked file is left.
fn drop_linked(system: &mut SystemContext, window: u32) -> Option<String> {
    let size = |d: &crate::prompt::LinkedDoc| d.content.chars().count();
    let primary = system
        .persona_links
        .iter()
        .map(size)
        .enumerate()
        .max_by_key(|(_, n)| *n);
    let secondary = system
        .secondary_links
        .iter()
        .map(size)
        .enumerate()
        .max_by_key(|(_, n)| *n);
    let doc = match (primary, secondary) {
        (Some((i, a)), Some((_, b))) if a >= b => system.persona_links.remove(i),
        (_, Some((j, _))) => system.secondary_links.remove(j),
        (Some((i, _)), None) => system.persona_links.remove(i),
        (None, None) => return None,
    };
    Some(format!(
        "linked file '{}' ({} characters) left out of the request to fit the server's context ({window} tokens)",
        doc.path,
        doc.content.chars().count()
    ))
}

/// Shortens one input by about `excess` characters: the largest context file
/// first, then the largest approved artifact. Returns the note for the gate,
/// or `None` when nothing more can be cut.
fn cut_one(inputs: &mut [PromptInput], excess: usize, window: u32) -> Option<String> {
    let len = |i: &PromptInput| i.content.chars().count();
    let pick = |source: InputSource, floor: usize| {
        inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.source == source && len(i) > floor && !i.content.ends_with(CUT_MARK_END)
            })
            .max_by_key(|(_, i)| len(i))
            .map(|(n, _)| (n, floor))
    };
    let (index, floor) = pick(InputSource::ContextFile, 0)
        .or_else(|| pick(InputSource::Artifact, MIN_ARTIFACT_CHARS))?;
    let input = &mut inputs[index];
    let total = len(input);
    let keep = total.saturating_sub(excess).max(floor);
    let kept: String = input.content.chars().take(keep).collect();
    input.content = format!(
        "{kept}\n\n[migagent cut this input here: {} of {total} characters kept, because the server takes {window} tokens per request{CUT_MARK_END}",
        keep
    );
    let what = match input.source {
        InputSource::ContextFile => "context file",
        _ => "approved artifact",
    };
    Some(format!(
        "{what} '{}' cut to {keep} of {total} characters to fit the server's context ({window} tokens)",
        input.label
    ))
}

/// How the note closing a cut input ends; an input that ends with it has
/// been cut already and is not cut again.
const CUT_MARK_END: &str = " (cut by migagent)]";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::tiny_run;
    use crate::prompt::{LinkedDoc, PhaseInfo};

    fn input(label: &str, source: InputSource, chars: usize) -> PromptInput {
        PromptInput {
            label: label.into(),
            origin: None,
            content: "x".repeat(chars),
            source,
        }
    }

    #[test]
    fn context_files_are_cut_before_artifacts_and_the_need_never() {
        let mut inputs = vec![
            input("need", InputSource::Fixed, 5000),
            input("[A-1]", InputSource::Artifact, 3000),
            input("ctx-small", InputSource::ContextFile, 1000),
            input("ctx-big", InputSource::ContextFile, 4000),
        ];
        let note = cut_one(&mut inputs, 1500, 4096).unwrap();
        assert!(
            note.contains("context file 'ctx-big'") && note.contains("2500 of 4000"),
            "{note}"
        );
        let note = cut_one(&mut inputs, 5000, 4096).unwrap();
        assert!(
            note.contains("'ctx-small'") && note.contains("0 of 1000"),
            "{note}"
        );
        let note = cut_one(&mut inputs, 5000, 4096).unwrap();
        assert!(note.contains("approved artifact '[A-1]'"), "{note}");
        assert!(inputs[1]
            .content
            .starts_with(&"x".repeat(MIN_ARTIFACT_CHARS)));
        assert!(inputs[1].content.contains("600 of 3000 characters kept"));
        assert_eq!(cut_one(&mut inputs, 5000, 4096), None);
        assert_eq!(inputs[0].content.len(), 5000, "the need is never cut");
    }

    fn system(persona_links: Vec<LinkedDoc>) -> SystemContext {
        SystemContext {
            workflow: "W".into(),
            phase: PhaseInfo {
                number: 1,
                name: "P".into(),
            },
            persona: "PERSONA".into(),
            persona_links,
            secondary: None,
            secondary_links: Vec::new(),
        }
    }

    fn linked(path: &str, chars: usize) -> LinkedDoc {
        LinkedDoc {
            path: path.into(),
            label: String::new(),
            content: "p".repeat(chars),
        }
    }

    /// Renders the system message as drafts do, and the user message as
    /// the inputs' text alone, so a test can count what was cut.
    fn inputs_only(
        engine: &Engine,
    ) -> impl Fn(&SystemContext, &[PromptInput]) -> Result<(String, String), PromptError> + Copy + '_
    {
        |system, inputs| {
            Ok((
                engine.prompts.system(system)?,
                inputs.iter().map(|i| i.content.as_str()).collect(),
            ))
        }
    }

    #[test]
    fn the_prompt_is_fitted_to_the_context_or_refused() {
        let (_dir, engine, _model) = tiny_run();
        let caps = Capabilities {
            structured: false,
            context_tokens: Some(1000),
            max_tokens: Some(200),
            parallel_requests: 1,
        };
        let render = inputs_only(&engine);
        let mut inputs = vec![
            input("[A-1]", InputSource::Artifact, 1200),
            input("ctx", InputSource::ContextFile, 3000),
        ];
        let fitted = engine
            .fit_to_context(&caps, "A-2", &mut system(vec![]), &mut inputs, render)
            .unwrap();
        assert!(estimate_tokens(&fitted.user) + estimate_tokens(&fitted.system) <= 1000 - 200 - 64);
        assert_eq!(fitted.cuts.len(), 1, "{:?}", fitted.cuts);
        assert!(fitted.cuts[0].contains("context file 'ctx'"));
        assert_eq!(
            inputs[0].content.len(),
            1200,
            "the artifact fitted without a cut"
        );

        let mut too_big = vec![input("[A-1]", InputSource::Artifact, 9000)];
        let caps = Capabilities {
            context_tokens: Some(300),
            ..caps
        };
        let err = engine
            .fit_to_context(&caps, "A-2", &mut system(vec![]), &mut too_big, render)
            .err()
            .unwrap();
        assert!(
            matches!(err, EngineError::ContextTooSmall { have: 300, .. }),
            "{err}"
        );

        let unknown = Capabilities::default();
        let mut inputs = vec![input("ctx", InputSource::ContextFile, 90_000)];
        let mut with_links = system(vec![linked("policies/a.md", 50_000)]);
        let fitted = engine
            .fit_to_context(&unknown, "A-2", &mut with_links, &mut inputs, render)
            .unwrap();
        assert!(fitted.cuts.is_empty(), "no limit known, nothing cut");
        assert!(fitted.system.contains(&"p".repeat(50_000)));
    }

    #[test]
    fn linked_files_are_cut_first_and_whole() {
        let (_dir, engine, _model) = tiny_run();
        let caps = Capabilities {
            structured: false,
            context_tokens: Some(2000),
            max_tokens: Some(200),
            parallel_requests: 1,
        };
        let render = inputs_only(&engine);
        let mut inputs = vec![input("ctx", InputSource::ContextFile, 2000)];
        let mut sys = system(vec![
            linked("policies/small.md", 1500),
            linked("policies/big.md", 4000),
        ]);
        sys.secondary = Some("SECONDARY".into());
        sys.secondary_links = vec![linked("policies/other.md", 2500)];
        let fitted = engine
            .fit_to_context(&caps, "A-2", &mut sys, &mut inputs, render)
            .unwrap();
        assert_eq!(fitted.cuts.len(), 2, "{:?}", fitted.cuts);
        assert!(
            fitted.cuts[0].contains("'policies/big.md'"),
            "{:?}",
            fitted.cuts
        );
        assert!(
            fitted.cuts[1].contains("'policies/other.md'"),
            "{:?}",
            fitted.cuts
        );
        assert_eq!(
            inputs[0].content.len(),
            2000,
            "the context file was not cut"
        );
        assert!(fitted.system.contains("policies/small.md"));
        assert!(!fitted.system.contains("policies/big.md"));
        assert!(estimate_tokens(&fitted.user) + estimate_tokens(&fitted.system) <= 2000 - 200 - 64);
    }
}
