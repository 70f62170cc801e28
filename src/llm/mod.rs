//! The model side: a small trait the engine drafts through, the request
//! and answer types it speaks, and its implementation for OpenAI-compatible
//! chat completion servers. Submodules: [`openai`] is the client, reading
//! answers with [`stream`] and [`sse`]; [`http`] builds every HTTP client
//! under the offline and redirect rules; [`url`] reads base URLs; [`kind`]
//! names server software and how each takes a schema; [`server`] learns
//! what a server is and can do; and [`connect`] picks the server and the
//! key for a command under the profile and offline rules.
//!
//! Dependencies run one way: `connect` → `server` → `openai` → `stream`,
//! `sse`, `http`, `kind`, `url`. Nothing here knows the engine, the
//! terminal or the CLI.

pub mod connect;
pub mod http;
pub mod kind;
pub mod openai;
pub mod server;
pub mod sse;
pub mod stream;
pub mod url;

pub use kind::{ServerKind, StructuredStyle};
pub use openai::{Endpoint, OpenAiCompatible, Sampling};

/// One drafting request: a system message and a user message.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// What is being drafted, for progress display (e.g. "MIG-1 r2").
    pub purpose: String,
    pub system: String,
    pub user: String,
    /// A lower token cap than the endpoint's, for short answers (the
    /// structured-output probe, doctor's one-token test).
    pub max_tokens: Option<u32>,
    /// Ask for JSON that follows this schema, when the server enforces one.
    pub structured: Option<StructuredRequest>,
}

/// A JSON Schema for the answer, in the two forms servers accept: with
/// length bounds (llama.cpp, vLLM, Ollama turn them into a grammar) and
/// without (OpenAI strict mode rejects length keywords).
#[derive(Debug, Clone)]
pub struct StructuredRequest {
    /// A name for the schema: letters, digits, `_` and `-` only.
    pub name: String,
    pub schema: serde_json::Value,
    pub schema_without_bounds: serde_json::Value,
}

/// What a client can do, so the engine can choose how to ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server enforces a JSON schema on the answer.
    pub structured: bool,
    /// Tokens per request (prompt and answer), when known.
    pub context_tokens: Option<u32>,
    /// Tokens per answer.
    pub max_tokens: Option<u32>,
    /// Requests that may be in flight at once (a panel's members); 0 is
    /// taken as 1.
    pub parallel_requests: usize,
}

/// A finished completion with what it cost.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub prompt_tokens: Option<u64>,
    /// Prompt tokens the server reused from its prompt cache, when it says
    /// (OpenAI and llama.cpp report `prompt_tokens_details.cached_tokens`).
    pub cached_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub seconds: f64,
    pub finish_reason: Option<String>,
}

impl Completion {
    /// The model stopped because it hit its token limit.
    pub fn truncated(&self) -> bool {
        self.finish_reason.as_deref() == Some("length")
    }
}

/// Every way a request to a model server fails. Each message names the
/// server (never with a password: URLs are redacted where these are built)
/// and, where a setting would help, the real config key to change.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot reach the model server at {base_url}: {message}. Is it running? Check --base-url / OPENAI_BASE_URL")]
    Unreachable { base_url: String, message: String },
    #[error("the model server at {base_url} refused the request ({status}): {message}")]
    Server {
        base_url: String,
        status: String,
        message: String,
    },
    #[error("the model server at {base_url} sent an answer migagent cannot read: {message}")]
    BadResponse { base_url: String, message: String },
    #[error("the model server at {base_url} answered {answer}. Check that the base URL is the server's API root (it usually ends in /v1)")]
    NotAStream {
        base_url: String,
        /// Status, content type and first bytes: "200 OK with text/html,
        /// not a stream of chat completion chunks; it sent \"<html>…\"".
        answer: String,
    },
    #[error("the model server at {base_url} sent nothing for {seconds} s; the draft was abandoned (raise idle_timeout_secs in [profiles.{profile}] of config.toml for slow servers)")]
    Stalled {
        base_url: String,
        seconds: u64,
        profile: String,
    },
    #[error("the model server at {base_url} did not finish its answer within {seconds} s; the draft was abandoned (raise request_timeout_secs in [profiles.{profile}] of config.toml for slow servers)")]
    Deadline {
        base_url: String,
        seconds: u64,
        profile: String,
    },
    #[error("the answer from {base_url} grew past {limit} bytes and was abandoned: no draft is that long unless the model runs away or the server is not sending a draft (max_answer_bytes in [profiles.{profile}] of config.toml sets the limit)")]
    TooLarge {
        base_url: String,
        limit: usize,
        profile: String,
    },
    #[error("the answer from {base_url} ended without a finish reason {attempts} times in a row: the stream was cut off, so nothing was kept as a draft. Check the server's log (did it crash or restart?)")]
    Cut { base_url: String, attempts: u32 },
    #[error("the model server at {base_url} answered {status}, redirecting to {location}; {}. Nothing was sent there: point --base-url (or the profile's base_url) at the server that answers", redirect_rule(*.offline))]
    Redirected {
        base_url: String,
        status: u16,
        location: String,
        offline: bool,
    },
    #[error("the model returned an empty draft for {purpose} (finish_reason: {finish_reason})")]
    Empty {
        purpose: String,
        finish_reason: String,
    },
    #[error("no API key: {base_url} needs one; {hint}")]
    NoKey { base_url: String, hint: String },
    #[error("invalid base URL '{url}': {problem}")]
    BadBaseUrl { url: String, problem: &'static str },
}

/// Why a redirect was not followed, for [`ModelError::Redirected`].
fn redirect_rule(offline: bool) -> &'static str {
    if offline {
        "offline mode follows no redirect"
    } else {
        "migagent follows a redirect only to the same scheme, host and port, and this one leads elsewhere"
    }
}

/// Receives a draft as it streams, so the terminal can show it live.
pub trait TokenSink {
    fn started(&mut self, purpose: &str);
    fn token(&mut self, text: &str);
    fn finished(&mut self, completion: &Completion);
    /// The sections the next answers hold, as (JSON key, template heading)
    /// pairs (see `ArtifactSchema::sections`), so a display can name the
    /// sections done; empty when not known. Holds until called again.
    fn sections(&mut self, _sections: &[(String, String)]) {}
    /// A panel member's findings as Markdown, once saved, for a display to
    /// show them readably however the model answered.
    fn finding(&mut self, _member: &str, _markdown: &str) {}
    /// A panel starts asking `members` (those that have not reported),
    /// `at_once` at a time. Their answers are not streamed: several arrive
    /// at once.
    fn panel_started(&mut self, _artifact: &str, _members: &[String], _at_once: usize) {}
    /// A panel member answered (its findings are saved), or failed.
    fn panel_member(&mut self, _member: &str, _outcome: Result<&Completion, &str>) {}
}

/// A sink that shows nothing; for callers that only want the result.
pub struct Silent;

impl TokenSink for Silent {
    fn started(&mut self, _: &str) {}
    fn token(&mut self, _: &str) {}
    fn finished(&mut self, _: &Completion) {}
}

/// What the engine needs from a model. Tests drive the engine with their own
/// implementation; the binary uses [`OpenAiCompatible`].
#[allow(async_fn_in_trait)]
pub trait ModelClient {
    /// What this client's server can do; unknown by default.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    async fn complete(
        &self,
        request: &ChatRequest,
        sink: &mut dyn TokenSink,
    ) -> Result<Completion, ModelError>;

    /// The request as this client sends it, without credentials (they go
    /// in headers, never in the body): kept with each draft so a reviewer
    /// can see exactly what the model was given. A client that does not
    /// say gets the messages and the schema's name.
    fn wire_request(&self, request: &ChatRequest) -> serde_json::Value {
        serde_json::json!({
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "schema_name": request.structured.as_ref().map(|s| s.name.clone()),
        })
    }
}
