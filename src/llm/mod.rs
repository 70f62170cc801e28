//! The model side: a small trait the engine drafts through, the request
//! and answer types it speaks, and its implementation for OpenAI-compatible
//! chat completion servers. Submodules: [`openai`] is the client, [`url`]
//! reads base URLs, [`kind`] names server software and how each takes a
//! schema, [`server`] learns what a server is and can do, and [`connect`]
//! picks the server for a command under the profile and offline rules.
//!
//! Dependencies run one way: `connect` → `server` → `openai` → `kind`,
//! `url`. Nothing here knows the engine, the terminal or the CLI.

pub mod connect;
pub mod kind;
pub mod openai;
pub mod server;
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
    #[error("the model server at {base_url} sent nothing for {seconds} s; the draft was abandoned (raise model.idle_timeout_secs for slow servers)")]
    Stalled { base_url: String, seconds: u64 },
    #[error("the model returned an empty draft for {purpose} (finish_reason: {finish_reason})")]
    Empty {
        purpose: String,
        finish_reason: String,
    },
    #[error("no API key: {base_url} needs one. Set the environment variable {key_env}, or point --base-url at a server that needs no key")]
    NoKey { base_url: String, key_env: String },
    #[error("invalid base URL '{url}': {problem}")]
    BadBaseUrl { url: String, problem: &'static str },
}

/// Receives a draft as it streams, so the terminal can show it live.
pub trait TokenSink {
    fn started(&mut self, purpose: &str);
    fn token(&mut self, text: &str);
    fn finished(&mut self, completion: &Completion);
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
}
