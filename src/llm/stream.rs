//! Reading one streamed chat completion: lenient chunk types (local servers
//! omit or add fields), an answer bounded in size, and the rule that an
//! answer is finished only when the server says why it stopped.

use serde::Deserialize;

use super::{Completion, ModelError, TokenSink};

/// A streamed chunk, read leniently: local servers omit `object`, send empty
/// `finish_reason` strings, or add fields of their own. A whole
/// (non-streamed) completion has the same shape with `message` in place of
/// `delta`, so it is read as one chunk.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StreamChunk {
    pub model: Option<String>,
    pub choices: Vec<StreamChoice>,
    pub usage: Option<Usage>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StreamChoice {
    pub delta: Option<Delta>,
    /// Some servers stream `message` instead of `delta`.
    pub message: Option<Delta>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Delta {
    pub content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PromptTokensDetails {
    pub cached_tokens: Option<u64>,
}

/// Why reading an answer stopped early, before it is named for the person.
#[derive(Debug)]
pub enum Stop {
    /// The stream ended without a finish reason: retried.
    Cut,
    Failed(ModelError),
}

impl From<ModelError> for Stop {
    fn from(e: ModelError) -> Stop {
        Stop::Failed(e)
    }
}

/// An answer being put together from its chunks.
pub struct Collector<'a> {
    pub completion: Completion,
    base_url: &'a str,
    profile: &'a str,
    max_answer_bytes: usize,
    /// Chunks that parsed, to tell "not a stream" from "a stream, cut".
    pub chunks: usize,
}

impl<'a> Collector<'a> {
    pub fn new(
        model: &str,
        base_url: &'a str,
        profile: &'a str,
        max_answer_bytes: usize,
    ) -> Collector<'a> {
        Collector {
            completion: Completion {
                model: model.to_string(),
                ..Completion::default()
            },
            base_url,
            profile,
            max_answer_bytes,
            chunks: 0,
        }
    }

    /// Takes one `data:` payload; `Ok(true)` at `[DONE]`.
    pub fn data(&mut self, data: &str, sink: &mut dyn TokenSink) -> Result<bool, ModelError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        let chunk: StreamChunk =
            serde_json::from_str(data).map_err(|e| ModelError::BadResponse {
                base_url: self.base_url.to_string(),
                message: format!("a streamed chunk is not JSON ({e}): {}", quote(data, 200)),
            })?;
        self.chunk(chunk, sink)?;
        Ok(false)
    }

    /// Takes one parsed chunk: its text, usage, model and finish reason.
    pub fn chunk(
        &mut self,
        chunk: StreamChunk,
        sink: &mut dyn TokenSink,
    ) -> Result<(), ModelError> {
        self.chunks += 1;
        if let Some(err) = chunk.error {
            return Err(ModelError::Server {
                base_url: self.base_url.to_string(),
                status: "error in stream".into(),
                message: quote(&err.to_string(), 500),
            });
        }
        let c = &mut self.completion;
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            c.model = model;
        }
        if let Some(usage) = chunk.usage {
            c.prompt_tokens = usage.prompt_tokens.or(c.prompt_tokens);
            c.completion_tokens = usage.completion_tokens.or(c.completion_tokens);
            c.cached_tokens = usage
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .or(c.cached_tokens);
        }
        for choice in chunk.choices {
            let piece = choice
                .delta
                .and_then(|d| d.content)
                .or_else(|| choice.message.and_then(|m| m.content));
            if let Some(text) = piece.filter(|t| !t.is_empty()) {
                if c.text.len() + text.len() > self.max_answer_bytes {
                    return Err(self.too_large());
                }
                sink.token(&text);
                c.text.push_str(&text);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                c.finish_reason = Some(reason);
            }
        }
        Ok(())
    }

    /// The error for an answer past `max_answer_bytes`.
    pub fn too_large(&self) -> ModelError {
        ModelError::TooLarge {
            base_url: self.base_url.to_string(),
            limit: self.max_answer_bytes,
            profile: self.profile.to_string(),
        }
    }

    /// The answer, once the stream has ended: finished only if the server
    /// said why it stopped.
    pub fn finish(self) -> Result<Completion, Stop> {
        if self.completion.finish_reason.is_none() {
            return Err(Stop::Cut);
        }
        Ok(self.completion)
    }
}

/// Server text for a one-line message: whitespace collapsed, cut at `max`
/// characters.
pub fn quote(s: &str, max: usize) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Silent;

    #[test]
    fn lenient_chunks_parse() {
        let c: StreamChunk = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":""}]}"#,
        )
        .unwrap();
        assert_eq!(
            c.choices[0].delta.as_ref().unwrap().content.as_deref(),
            Some("hi")
        );
        assert_eq!(c.choices[0].finish_reason.as_deref(), Some(""));
    }

    fn delta(text: &str, finish: Option<&str>) -> String {
        serde_json::json!({"choices": [{"delta": {"content": text}, "finish_reason": finish}]})
            .to_string()
    }

    #[test]
    fn an_answer_without_a_finish_reason_is_cut_not_finished() {
        let mut c = Collector::new("m", "http://h/v1", "local", 1000);
        assert!(!c.data(&delta("Plan: ", None), &mut Silent).unwrap());
        assert!(!c.data(&delta("step 1", Some("")), &mut Silent).unwrap());
        assert!(c.data("[DONE]", &mut Silent).unwrap());
        assert!(matches!(c.finish(), Err(Stop::Cut)));

        let mut c = Collector::new("m", "http://h/v1", "local", 1000);
        c.data(&delta("Plan", Some("stop")), &mut Silent).unwrap();
        assert_eq!(c.finish().unwrap().text, "Plan");
    }

    #[test]
    fn an_answer_past_the_limit_is_refused_naming_the_setting() {
        let mut c = Collector::new("m", "http://h/v1", "gpu", 10);
        c.data(&delta("0123456789", None), &mut Silent).unwrap();
        let err = c
            .data(&delta("x", None), &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("max_answer_bytes") && err.contains("[profiles.gpu]"),
            "{err}"
        );
    }

    #[test]
    fn a_chunk_that_is_not_json_is_quoted() {
        let mut c = Collector::new("m", "http://h/v1", "local", 1000);
        let err = c
            .data("<html>oops</html>", &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(err.contains("<html>oops</html>"), "{err}");
    }
}
