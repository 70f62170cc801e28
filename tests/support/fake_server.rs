//! A real HTTP server (wiremock) speaking the OpenAI chat completions API
//! with SSE streaming, and the cooperative model behind it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::requests::{requested_artifact, template_in, user_message};

/// Drafts artifacts the way a cooperative model would: it fills the
/// template in the request with text that names the artifact and the call
/// number, so tests can trace which draft reached which request.
struct FakeModel {
    calls: Arc<AtomicUsize>,
    /// Finish reason to report on every answer ("stop" unless a test wants
    /// "length").
    finish_reason: &'static str,
    /// How long the server waits before answering.
    delay: Duration,
    /// Answer a request that carries a JSON schema with JSON following it.
    enforce_schema: bool,
    /// Fixed answers by artifact id: a request drafting one of these gets
    /// its text, as a model that wrote exactly that would.
    answers: Vec<(String, String)>,
}

/// The template with every `<placeholder>` replaced by `marker`, and its
/// `...` lines left out.
fn fill(template: &str, marker: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        let mut l = String::new();
        let mut rest = line;
        while let Some(open) = rest.find('<') {
            match rest[open..].find('>') {
                Some(close) => {
                    l.push_str(&rest[..open]);
                    l.push_str(marker);
                    rest = &rest[open + close + 1..];
                }
                None => break,
            }
        }
        l.push_str(rest);
        if l.trim() == "..." {
            continue;
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The smallest value that follows `schema`: the first enum value, one item
/// per list, every property; strings carry `marker`.
fn sample_of(schema: &Value, marker: &str) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    out.insert(k.clone(), sample_of(v, marker));
                }
            }
            Value::Object(out)
        }
        Some("array") => Value::Array(vec![sample_of(&schema["items"], marker)]),
        _ => Value::String(format!("{marker} text")),
    }
}

/// Splits text into SSE chunks the way servers stream: several deltas, one
/// final chunk with the finish reason, a usage chunk, then `[DONE]`. The
/// chunks omit `object`, as some local servers do.
fn sse_body(text: &str, finish_reason: &str) -> String {
    let mut body = String::new();
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(40) {
        let s: String = piece.iter().collect();
        let chunk = serde_json::json!({
            "id": "chatcmpl-test", "model": "fake-model",
            "choices": [{"index": 0, "delta": {"content": s}, "finish_reason": null}]
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = serde_json::json!({
        "id": "chatcmpl-test", "model": "fake-model",
        "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]
    });
    body.push_str(&format!("data: {last}\n\n"));
    let usage = serde_json::json!({
        "id": "chatcmpl-test", "model": "fake-model", "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    });
    body.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    body
}

impl Respond for FakeModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return ResponseTemplate::new(400).set_body_string(format!("bad json: {e}")),
        };
        let user = user_message(&body);
        let id = requested_artifact(&user);
        let marker = format!("fake-{id}-call{n}");
        let schema = &body["response_format"]["json_schema"]["schema"];
        let fixed = self.answers.iter().find(|(a, _)| *a == id);
        let text = match template_in(&user) {
            _ if fixed.is_some() => fixed.map(|(_, t)| t.clone()).unwrap_or_default(),
            _ if self.enforce_schema && schema.is_object() => sample_of(schema, &marker).to_string(),
            Some(template) => fill(&template, &marker),
            None => format!(
                "### Verified by evidence\n- {marker}\n\n### Not verified\n- none\n\n### Blocks sign-off\n- None\n"
            ),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(sse_body(&text, self.finish_reason))
            .set_delay(self.delay)
    }
}

/// The Authorization header of a received request.
fn authorization(r: &Request) -> Option<String> {
    r.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How a fake server answers, set before it starts. The defaults answer at
/// once, with finish reason "stop", a Markdown draft filled into the
/// request's template (or a fixed text for an artifact, see
/// [`FakeServerBuilder::answer`]), and no `GET /v1/models`.
pub struct FakeServerBuilder {
    finish_reason: &'static str,
    delay: Duration,
    enforce_schema: bool,
    models: Option<Vec<String>>,
    answers: Vec<(String, String)>,
}

impl FakeServerBuilder {
    /// Reports `reason` on every answer ("length" for a draft cut off at the
    /// token limit).
    pub fn finish_reason(mut self, reason: &'static str) -> Self {
        self.finish_reason = reason;
        self
    }

    /// Takes `delay` to answer each chat request.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Like llama.cpp: answers a request carrying a JSON schema with JSON
    /// that follows it, and lists `fake-model`.
    pub fn structured(mut self) -> Self {
        self.enforce_schema = true;
        self.models(&["fake-model"])
    }

    /// Answers every request that drafts `artifact` with `text`, whatever
    /// its template asks for (a plan with two `Step 1` blocks, say).
    pub fn answer(mut self, artifact: &str, text: &str) -> Self {
        self.answers.push((artifact.to_string(), text.to_string()));
        self
    }

    /// Lists `ids` at `GET /v1/models`, as OpenAI does.
    pub fn models(mut self, ids: &[&str]) -> Self {
        self.models = Some(ids.iter().map(|id| id.to_string()).collect());
        self
    }

    /// Starts the server on a free loopback port.
    pub async fn start(self) -> FakeServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(FakeModel {
                calls: Arc::new(AtomicUsize::new(0)),
                finish_reason: self.finish_reason,
                delay: self.delay,
                enforce_schema: self.enforce_schema,
                answers: self.answers,
            })
            .mount(&server)
            .await;
        if let Some(ids) = self.models {
            let data: Vec<Value> = ids
                .iter()
                .map(|id| serde_json::json!({"id": id, "object": "model", "owned_by": "me"}))
                .collect();
            Mock::given(method("GET"))
                .and(path("/v1/models"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(serde_json::json!({"object": "list", "data": data})),
                )
                .mount(&server)
                .await;
        }
        FakeServer { server }
    }
}

/// A running fake server and the requests it received:
/// `FakeServer::new().structured().delay(d).finish_reason("length").start().await`.
pub struct FakeServer {
    server: MockServer,
}

impl FakeServer {
    /// The settings of a server to start; see [`FakeServerBuilder`].
    // The server exists only once started, so `new` hands out its builder.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> FakeServerBuilder {
        FakeServerBuilder {
            finish_reason: "stop",
            delay: Duration::ZERO,
            enforce_schema: false,
            models: None,
            answers: Vec::new(),
        }
    }

    /// The OpenAI-style base URL to hand to `--base-url`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Every request received so far, as (method, path, Authorization).
    pub async fn all_requests(&self) -> Vec<(String, String, Option<String>)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    authorization(&r),
                )
            })
            .collect()
    }

    /// The bodies of the chat requests received so far, in order.
    pub async fn request_bodies(&self) -> Vec<Value> {
        self.chat_requests()
            .await
            .into_iter()
            .map(|(body, _)| body)
            .collect()
    }

    /// Chat request bodies received so far, in order, with their
    /// Authorization headers.
    pub async fn chat_requests(&self) -> Vec<(Value, Option<String>)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == "/v1/chat/completions")
            .map(|r| {
                (
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                    authorization(&r),
                )
            })
            .collect()
    }
}
