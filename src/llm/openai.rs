//! The client for OpenAI-compatible chat completion servers, built on
//! async-openai with lenient chunk types of our own, because local servers
//! omit or add fields.

use std::time::{Duration, Instant};

use async_openai::config::Config as OpenAiConfig;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::url::{base_url_problem, is_loopback, is_openai_host};
use super::{
    Capabilities, ChatRequest, Completion, ModelClient, ModelError, ServerKind, StructuredStyle,
    TokenSink,
};

/// Where to send requests and with which key. Built explicitly from flags,
/// environment and config: never from the HTTP library's own environment
/// defaults, so a key meant for one host is never sent to another.
#[derive(Clone)]
pub struct Endpoint {
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub key_env: String,
    pub model: String,
    pub sampling: Sampling,
    pub max_tokens: u32,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Which server software answers, so server-specific fields go only to
    /// servers that understand them.
    pub kind: ServerKind,
    /// How to ask this server for schema-shaped JSON, if at all.
    pub structured: StructuredStyle,
    pub context_tokens: Option<u32>,
    /// Never use a proxy, whatever the environment says: in offline mode a
    /// request must go straight to the allowed host.
    pub direct: bool,
}

/// Sampling settings; `None` leaves the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sampling {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    /// llama.cpp, Ollama (`repeat_penalty`) and vLLM (`repetition_penalty`);
    /// never sent to OpenAI, which refuses unknown fields.
    pub repeat_penalty: Option<f32>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("model", &self.model)
            .finish()
    }
}

/// The request configuration handed to async-openai: exactly our base URL,
/// and an Authorization header only when a key was given.
#[derive(Clone)]
struct ExplicitConfig {
    base_url: String,
    key: SecretString,
    has_key: bool,
}

impl OpenAiConfig for ExplicitConfig {
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.has_key {
            if let Ok(value) =
                HeaderValue::from_str(&format!("Bearer {}", self.key.expose_secret()))
            {
                headers.insert(AUTHORIZATION, value);
            }
        }
        headers
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    fn query(&self) -> Vec<(&str, &str)> {
        Vec::new()
    }

    fn api_base(&self) -> &str {
        &self.base_url
    }

    fn api_key(&self) -> &SecretString {
        &self.key
    }
}

/// A chat completions client for OpenAI and servers that speak its API
/// (llama.cpp server, Ollama, vLLM, LM Studio).
pub struct OpenAiCompatible {
    endpoint: Endpoint,
    client: async_openai::Client<ExplicitConfig>,
}

impl OpenAiCompatible {
    pub fn new(endpoint: Endpoint) -> Result<OpenAiCompatible, ModelError> {
        let base_url = endpoint.base_url.trim_end_matches('/').to_string();
        if let Some(problem) = base_url_problem(&base_url) {
            return Err(ModelError::BadBaseUrl {
                url: endpoint.base_url.clone(),
                problem,
            });
        }
        if endpoint.api_key.is_none() && is_openai_host(&base_url) {
            return Err(ModelError::NoKey {
                base_url,
                key_env: endpoint.key_env.clone(),
            });
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .read_timeout(endpoint.idle_timeout);
        if endpoint.direct || is_loopback(&base_url) {
            // A local server is reached directly, never through a proxy
            // configured for the internet.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ModelError::Unreachable {
            base_url: base_url.clone(),
            message: e.to_string(),
        })?;
        let config = ExplicitConfig {
            base_url: base_url.clone(),
            has_key: endpoint.api_key.is_some(),
            key: endpoint
                .api_key
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
        };
        let client = async_openai::Client::build(http, config);
        Ok(OpenAiCompatible {
            endpoint: Endpoint {
                base_url,
                ..endpoint
            },
            client,
        })
    }

    fn request_body(&self, request: &ChatRequest) -> serde_json::Value {
        let mut body = serde_json::json!({
            "model": self.endpoint.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": request.max_tokens.map_or(self.endpoint.max_tokens, |m| m.min(self.endpoint.max_tokens)),
        });
        let s = &self.endpoint.sampling;
        for (key, value) in [
            ("temperature", s.temperature),
            ("top_p", s.top_p),
            ("frequency_penalty", s.frequency_penalty),
            ("presence_penalty", s.presence_penalty),
        ] {
            if let Some(v) = value {
                body[key] = serde_json::json!(v);
            }
        }
        if let (Some(v), Some(key)) = (s.repeat_penalty, self.endpoint.kind.repeat_penalty_field())
        {
            body[key] = serde_json::json!(v);
        }
        if self.endpoint.kind == ServerKind::LlamaCpp {
            // A revision repeats the earlier prompt: let the slot reuse it.
            body["cache_prompt"] = serde_json::json!(true);
        }
        if let Some(structured) = &request.structured {
            self.endpoint.structured.apply(&mut body, structured);
        }
        body
    }

    fn map_error(&self, e: async_openai::error::OpenAIError) -> ModelError {
        use async_openai::error::OpenAIError as E;
        let base_url = self.endpoint.base_url.clone();
        match e {
            E::Reqwest(err) if err.is_timeout() => ModelError::Stalled {
                base_url,
                seconds: self.endpoint.idle_timeout.as_secs(),
            },
            E::Reqwest(err) if err.is_connect() || err.is_request() => ModelError::Unreachable {
                base_url,
                message: error_chain(&err),
            },
            E::Reqwest(err) => ModelError::Server {
                base_url,
                status: err
                    .status()
                    .map_or("no status".to_string(), |s| s.to_string()),
                message: error_chain(&err),
            },
            E::ApiError(api) => ModelError::Server {
                base_url,
                status: api.status_code.to_string(),
                message: one_line(&api.api_error.to_string(), 300),
            },
            E::JSONDeserialize(err, content) => ModelError::BadResponse {
                base_url,
                message: format!("{err}; received: {}", one_line(&content, 300)),
            },
            E::StreamError(err) => {
                let text = err.to_string();
                if text.contains("timed out") || text.contains("Timeout") {
                    ModelError::Stalled {
                        base_url,
                        seconds: self.endpoint.idle_timeout.as_secs(),
                    }
                } else {
                    ModelError::BadResponse {
                        base_url,
                        message: truncate(&text, 500),
                    }
                }
            }
            other => ModelError::BadResponse {
                base_url,
                message: other.to_string(),
            },
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Server error bodies can be whole HTML pages; a message needs one line.
fn one_line(s: &str, max: usize) -> String {
    truncate(&s.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A streamed chunk, read leniently: local servers omit `object`, send empty
/// `finish_reason` strings, or add fields of their own.
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

impl ModelClient for OpenAiCompatible {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            structured: self.endpoint.structured != StructuredStyle::None,
            context_tokens: self.endpoint.context_tokens,
            max_tokens: Some(self.endpoint.max_tokens),
        }
    }

    async fn complete(
        &self,
        request: &ChatRequest,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, ModelError> {
        let started = Instant::now();
        tracing::info!(
            base_url = %self.endpoint.base_url,
            model = %self.endpoint.model,
            purpose = %request.purpose,
            system_chars = request.system.len(),
            user_chars = request.user.len(),
            "sending chat completion request"
        );
        sink.started(&request.purpose);
        let body = self.request_body(request);
        let mut stream = self
            .client
            .chat()
            .create_stream_byot::<serde_json::Value, StreamChunk>(body)
            .await
            .map_err(|e| self.map_error(e))?;
        let mut completion = Completion {
            model: self.endpoint.model.clone(),
            ..Completion::default()
        };
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(|e| self.map_error(e))?;
            if let Some(err) = chunk.error {
                return Err(ModelError::Server {
                    base_url: self.endpoint.base_url.clone(),
                    status: "error in stream".into(),
                    message: truncate(&err.to_string(), 500),
                });
            }
            if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
                completion.model = model;
            }
            if let Some(usage) = chunk.usage {
                completion.prompt_tokens = usage.prompt_tokens.or(completion.prompt_tokens);
                completion.completion_tokens =
                    usage.completion_tokens.or(completion.completion_tokens);
                completion.cached_tokens = usage
                    .prompt_tokens_details
                    .and_then(|d| d.cached_tokens)
                    .or(completion.cached_tokens);
            }
            for choice in chunk.choices {
                let piece = choice
                    .delta
                    .and_then(|d| d.content)
                    .or_else(|| choice.message.and_then(|m| m.content));
                if let Some(text) = piece.filter(|t| !t.is_empty()) {
                    sink.token(&text);
                    completion.text.push_str(&text);
                }
                if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                    completion.finish_reason = Some(reason);
                }
            }
        }
        completion.seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            purpose = %request.purpose,
            seconds = completion.seconds,
            prompt_tokens = ?completion.prompt_tokens,
            completion_tokens = ?completion.completion_tokens,
            finish_reason = ?completion.finish_reason,
            "completion finished"
        );
        sink.finished(&completion);
        if completion.text.trim().is_empty() {
            return Err(ModelError::Empty {
                purpose: request.purpose.clone(),
                finish_reason: completion
                    .finish_reason
                    .clone()
                    .unwrap_or_else(|| "none".into()),
            });
        }
        Ok(completion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn openai_host_without_key_is_refused_before_any_request() {
        let endpoint = Endpoint {
            base_url: "https://api.openai.com/v1".into(),
            api_key: None,
            key_env: "OPENAI_API_KEY".into(),
            model: "m".into(),
            sampling: Sampling::default(),
            max_tokens: 10,
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            kind: ServerKind::OpenAi,
            structured: StructuredStyle::None,
            context_tokens: None,
            direct: false,
        };
        let err = OpenAiCompatible::new(endpoint).err().unwrap().to_string();
        assert!(err.contains("OPENAI_API_KEY"), "{err}");
    }
}
