//! The client for OpenAI-compatible chat completion servers: one POST to
//! `/chat/completions`, streamed as server-sent events, read with our own
//! bounded reader so that every limit (idle time, overall deadline, answer
//! size, redirects) is ours to enforce and to explain.

use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};

use super::http::{self, Network};
use super::sse::SseReader;
use super::stream::{quote, Collector, Stop, StreamChunk};
use super::url::{base_url_problem, is_openai_host, redact, redact_base_url};
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
    /// How a missing key is supplied, for the error when a server needs
    /// one ("set OPENAI_API_KEY", "pass --api-key-env VAR").
    pub key_hint: String,
    /// The profile the settings below come from, named in every message
    /// that tells the person which setting to change.
    pub profile: String,
    pub model: String,
    pub sampling: Sampling,
    pub max_tokens: u32,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer.
    pub idle_timeout: Duration,
    /// Longest a whole request may take, however steadily it streams.
    pub request_timeout: Duration,
    /// Largest answer text taken, in bytes.
    pub max_answer_bytes: usize,
    /// Which server software answers, so server-specific fields go only to
    /// servers that understand them.
    pub kind: ServerKind,
    /// How to ask this server for schema-shaped JSON, if at all.
    pub structured: StructuredStyle,
    pub context_tokens: Option<u32>,
    /// Requests sent at once where a phase has several to send (a panel).
    pub parallel_requests: usize,
    /// Offline: no redirect, no proxy, no lookup of names off the machine.
    pub network: Network,
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

/// Attempts at one request when the stream is cut before the server says
/// why it stopped: a restarted or overloaded server usually answers the
/// second time, and a third failure is worth a person's attention.
const CUT_STREAM_ATTEMPTS: u32 = 3;

/// Bytes of an error answer or a non-stream answer read to explain it.
const ERROR_BODY_BYTES: usize = 64 * 1024;

/// A chat completions client for OpenAI and servers that speak its API
/// (llama.cpp server, Ollama, vLLM, LM Studio).
pub struct OpenAiCompatible {
    endpoint: Endpoint,
    http: reqwest::Client,
}

impl OpenAiCompatible {
    pub fn new(endpoint: Endpoint) -> Result<OpenAiCompatible, ModelError> {
        let base_url = endpoint.base_url.trim_end_matches('/').to_string();
        if let Some(problem) = base_url_problem(&base_url) {
            return Err(ModelError::BadBaseUrl {
                url: redact_base_url(&endpoint.base_url),
                problem,
            });
        }
        if endpoint.api_key.is_none() && is_openai_host(&base_url) {
            return Err(ModelError::NoKey {
                base_url,
                hint: endpoint.key_hint.clone(),
            });
        }
        let http = http::client(&base_url, &endpoint.network, endpoint.connect_timeout)?;
        Ok(OpenAiCompatible {
            endpoint: Endpoint {
                base_url,
                ..endpoint
            },
            http,
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

    /// Waits for `fut` until the idle limit or the request's deadline,
    /// whichever comes first; the error says which one ran out.
    async fn within<T>(
        &self,
        deadline: tokio::time::Instant,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<T, ModelError> {
        let idle_end = tokio::time::Instant::now() + self.endpoint.idle_timeout;
        let until = idle_end.min(deadline);
        tokio::time::timeout_at(until, fut).await.map_err(|_| {
            let e = &self.endpoint;
            if until == deadline {
                ModelError::Deadline {
                    base_url: e.base_url.clone(),
                    seconds: e.request_timeout.as_secs(),
                    profile: e.profile.clone(),
                }
            } else {
                ModelError::Stalled {
                    base_url: e.base_url.clone(),
                    seconds: e.idle_timeout.as_secs(),
                    profile: e.profile.clone(),
                }
            }
        })
    }

    /// A request that got no answer: the connection failed or broke.
    fn transport_error(&self, e: reqwest::Error) -> ModelError {
        let message = redact(&http::error_chain(&e));
        if e.is_connect() && e.is_timeout() {
            ModelError::Unreachable {
                base_url: self.endpoint.base_url.clone(),
                message: format!(
                    "no connection within {} s (connect_timeout_secs in [profiles.{}])",
                    self.endpoint.connect_timeout.as_secs(),
                    self.endpoint.profile
                ),
            }
        } else {
            ModelError::Unreachable {
                base_url: self.endpoint.base_url.clone(),
                message,
            }
        }
    }

    /// A refusal (4xx, 5xx), with what the server said about it.
    async fn refusal(
        &self,
        answer: &mut reqwest::Response,
        deadline: tokio::time::Instant,
    ) -> ModelError {
        let status = answer.status();
        let body = match self
            .within(deadline, http::read_bounded(answer, ERROR_BODY_BYTES))
            .await
        {
            Ok(Ok((bytes, _))) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        };
        let said = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v["error"]["message"]
                    .as_str()
                    .or_else(|| v["error"].as_str())
                    .or_else(|| v["message"].as_str())
                    .map(str::to_string)
            })
            .unwrap_or(body);
        let mut message = redact(&quote(&said, 300));
        if message.is_empty() {
            message = "(no explanation given)".into();
        }
        if matches!(status.as_u16(), 401 | 403) && self.endpoint.api_key.is_none() {
            message.push_str(&format!(
                ". No API key was sent: {}",
                self.endpoint.key_hint
            ));
        }
        ModelError::Server {
            base_url: self.endpoint.base_url.clone(),
            status: status.to_string(),
            message,
        }
    }

    /// One request and its whole answer. A stream cut before the server
    /// says why it stopped is [`Stop::Cut`], for the caller to retry.
    async fn attempt(
        &self,
        body: &serde_json::Value,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, Stop> {
        let e = &self.endpoint;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + e.request_timeout;
        let mut request = self
            .http
            .post(format!("{}/chat/completions", e.base_url))
            .json(body);
        if let Some(key) = &e.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let mut answer = self
            .within(deadline, request.send())
            .await?
            .map_err(|err| self.transport_error(err))?;
        if let Some(refused) = http::redirect_refusal(&e.base_url, &e.network, &answer) {
            return Err(refused.into());
        }
        let status = answer.status();
        if !status.is_success() {
            return Err(self.refusal(&mut answer, deadline).await.into());
        }
        let content_type = answer
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
            .unwrap_or_else(|| "no content type".into());
        let mut collector = Collector::new(&e.model, &e.base_url, &e.profile, e.max_answer_bytes);
        // One line holds at most one chunk: the whole answer, escaped,
        // and its framing.
        let max_line = e
            .max_answer_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        if content_type.starts_with("application/json") {
            // A server that ignores `stream: true` sends one whole answer.
            let (bytes, more) = self
                .within(deadline, http::read_bounded(&mut answer, max_line))
                .await?
                .map_err(|err| self.transport_error(err))?;
            if more {
                return Err(collector.too_large().into());
            }
            let text = String::from_utf8_lossy(&bytes);
            match serde_json::from_str::<StreamChunk>(&text) {
                Ok(chunk) if !chunk.choices.is_empty() || chunk.error.is_some() => {
                    collector.chunk(chunk, sink)?;
                }
                _ => return Err(self.not_a_stream(status, &content_type, &text).into()),
            }
        } else {
            let mut sse = SseReader::new(max_line);
            let mut done = false;
            while !done {
                let next = match self.within(deadline, answer.chunk()).await? {
                    Ok(next) => next,
                    Err(err) => {
                        // The connection broke mid-answer: a cut stream.
                        tracing::warn!(error = %redact(&http::error_chain(&err)), "the answer broke off");
                        return Err(Stop::Cut);
                    }
                };
                let Some(bytes) = next else { break };
                let payloads = sse.push(&bytes).map_err(|_| collector.too_large())?;
                for data in payloads {
                    if collector.data(&data, sink)? {
                        done = true;
                        break;
                    }
                }
                // Lines that are not SSE, before any chunk: an HTML page
                // or a plain-text error, not a stream. Say so now.
                if collector.chunks == 0 && sse.foreign_lines >= 3 {
                    return Err(self.not_a_stream(status, &content_type, &sse.head()).into());
                }
            }
            if !done {
                if let Some(data) = sse.finish() {
                    collector.data(&data, sink)?;
                }
            }
            if collector.chunks == 0 {
                return Err(self.not_a_stream(status, &content_type, &sse.head()).into());
            }
        }
        let mut completion = collector.finish()?;
        completion.seconds = started.elapsed().as_secs_f64();
        Ok(completion)
    }

    fn not_a_stream(
        &self,
        status: reqwest::StatusCode,
        content_type: &str,
        head: &str,
    ) -> ModelError {
        let sent = if head.trim().is_empty() {
            "nothing".to_string()
        } else {
            format!("\"{}\"", redact(&quote(head, 200)))
        };
        ModelError::NotAStream {
            base_url: self.endpoint.base_url.clone(),
            answer: format!(
                "{status} with {}, not a stream of chat completion chunks; it sent {sent}",
                quote(content_type, 80)
            ),
        }
    }
}

impl ModelClient for OpenAiCompatible {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            structured: self.endpoint.structured != StructuredStyle::None,
            context_tokens: self.endpoint.context_tokens,
            max_tokens: Some(self.endpoint.max_tokens),
            parallel_requests: self.endpoint.parallel_requests,
        }
    }

    fn wire_request(&self, request: &ChatRequest) -> serde_json::Value {
        self.request_body(request)
    }

    async fn complete(
        &self,
        request: &ChatRequest,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, ModelError> {
        tracing::info!(
            base_url = %self.endpoint.base_url,
            model = %self.endpoint.model,
            purpose = %request.purpose,
            system_chars = request.system.len(),
            user_chars = request.user.len(),
            "sending chat completion request"
        );
        let body = self.request_body(request);
        for attempt in 1..=CUT_STREAM_ATTEMPTS {
            if attempt == 1 {
                sink.started(&request.purpose);
            } else {
                sink.started(&format!(
                    "{} again (attempt {attempt} of {CUT_STREAM_ATTEMPTS}): the last answer was cut off before the model finished",
                    request.purpose
                ));
            }
            let completion = match self.attempt(&body, sink).await {
                Ok(c) => c,
                Err(Stop::Cut) => {
                    tracing::warn!(
                        purpose = %request.purpose,
                        attempt,
                        "the answer ended without a finish reason"
                    );
                    continue;
                }
                Err(Stop::Failed(e)) => return Err(e),
            };
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
            return Ok(completion);
        }
        Err(ModelError::Cut {
            base_url: self.endpoint.base_url.clone(),
            attempts: CUT_STREAM_ATTEMPTS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn endpoint(base_url: &str) -> Endpoint {
        Endpoint {
            base_url: base_url.into(),
            api_key: None,
            key_hint: "set the environment variable OPENAI_API_KEY".into(),
            profile: "openai".into(),
            model: "m".into(),
            sampling: Sampling::default(),
            max_tokens: 10,
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            max_answer_bytes: 1000,
            kind: ServerKind::OpenAi,
            structured: StructuredStyle::None,
            context_tokens: None,
            parallel_requests: 1,
            network: Network::Online,
        }
    }

    #[test]
    fn openai_host_without_key_is_refused_before_any_request() {
        let err = OpenAiCompatible::new(endpoint("https://api.openai.com/v1"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("OPENAI_API_KEY"), "{err}");
    }

    #[test]
    fn a_password_in_the_base_url_is_never_shown() {
        for url in [
            "http://bob:hunter2@127.0.0.1:8080/v1",
            "http://bob:hun/ter2@h/v1",
        ] {
            let err = OpenAiCompatible::new(endpoint(url))
                .err()
                .unwrap()
                .to_string();
            assert!(!err.contains("hunter2") && !err.contains("ter2"), "{err}");
            assert!(err.contains("***@"), "{err}");
        }
    }
}
