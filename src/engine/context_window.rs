//! Fitting a prompt to the server's context window: estimating its size
//! and cutting inputs, with a note for the gate for every cut.

use super::{Engine, EngineError};
use crate::llm::Capabilities;
use crate::prompt::{DraftContext, InputSource, PromptError, PromptInput};

impl Engine {
    /// The draft prompt for `context` with `inputs`, fitted to the context.
    pub(super) fn fit_draft(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &str,
        inputs: &mut [PromptInput],
        context: &DraftContext,
    ) -> Result<(String, Vec<String>), EngineError> {
        self.fit_to_context(caps, artifact, system, inputs, |inputs| {
            self.prompts.draft(&DraftContext {
                inputs: inputs.to_vec(),
                ..context.clone()
            })
        })
    }

    /// Renders the prompt and, when it would not fit the server's context,
    /// cuts inputs until it does: context files first (largest first), then
    /// approved artifacts down to their opening part. Every cut is returned
    /// as a note for the gate; nothing is cut silently.
    pub(super) fn fit_to_context(
        &self,
        caps: &Capabilities,
        artifact: &str,
        system: &str,
        inputs: &mut [PromptInput],
        render: impl Fn(&[PromptInput]) -> Result<String, PromptError>,
    ) -> Result<(String, Vec<String>), EngineError> {
        let mut cuts = Vec::new();
        let mut user = render(inputs)?;
        let Some(window) = caps.context_tokens else {
            return Ok((user, cuts));
        };
        let answer = caps.max_tokens.unwrap_or(0);
        let budget = u64::from(
            window
                .saturating_sub(answer)
                .saturating_sub(PROMPT_OVERHEAD_TOKENS),
        );
        loop {
            let need = estimate_tokens(system) + estimate_tokens(&user);
            if need <= budget {
                return Ok((user, cuts));
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
            user = render(inputs)?;
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

/// The tokens `text` takes, estimated from its length (rounded up): the
/// server's tokenizer is not at hand.
pub(super) fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64 * CHARS_PER_TOKEN_DEN).div_ceil(CHARS_PER_TOKEN_NUM)
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

    #[test]
    fn the_prompt_is_fitted_to_the_context_or_refused() {
        let (_dir, engine, _model) = tiny_run();
        let caps = Capabilities {
            structured: false,
            context_tokens: Some(1000),
            max_tokens: Some(200),
        };
        let render = |inputs: &[PromptInput]| -> Result<String, PromptError> {
            Ok(inputs.iter().map(|i| i.content.as_str()).collect())
        };
        let mut inputs = vec![
            input("[A-1]", InputSource::Artifact, 1200),
            input("ctx", InputSource::ContextFile, 3000),
        ];
        let (user, cuts) = engine
            .fit_to_context(&caps, "A-2", "system", &mut inputs, render)
            .unwrap();
        assert!(estimate_tokens(&user) + estimate_tokens("system") <= 1000 - 200 - 64);
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert!(cuts[0].contains("context file 'ctx'"));
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
            .fit_to_context(&caps, "A-2", "system", &mut too_big, render)
            .unwrap_err();
        assert!(
            matches!(err, EngineError::ContextTooSmall { have: 300, .. }),
            "{err}"
        );

        let unknown = Capabilities::default();
        let mut inputs = vec![input("ctx", InputSource::ContextFile, 90_000)];
        let (_, cuts) = engine
            .fit_to_context(&unknown, "A-2", "system", &mut inputs, render)
            .unwrap();
        assert!(cuts.is_empty(), "no limit known, nothing cut");
    }
}
