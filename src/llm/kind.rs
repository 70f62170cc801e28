//! The server software behind a base URL, and how each takes a JSON schema.

use serde::{Deserialize, Serialize};

use super::StructuredRequest;

/// The server software behind a base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    LlamaCpp,
    Ollama,
    LmStudio,
    Vllm,
    OpenAi,
    Unknown,
}

impl ServerKind {
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::LlamaCpp => "llama.cpp server",
            ServerKind::Ollama => "Ollama",
            ServerKind::LmStudio => "LM Studio",
            ServerKind::Vllm => "vLLM",
            ServerKind::OpenAi => "OpenAI",
            ServerKind::Unknown => "an OpenAI-compatible server",
        }
    }

    /// The request field for a repetition penalty, where the server has one.
    pub fn repeat_penalty_field(self) -> Option<&'static str> {
        match self {
            ServerKind::LlamaCpp | ServerKind::Ollama | ServerKind::LmStudio => {
                Some("repeat_penalty")
            }
            ServerKind::Vllm => Some("repetition_penalty"),
            ServerKind::OpenAi | ServerKind::Unknown => None,
        }
    }

    /// How this kind of server takes a JSON schema, before any probe.
    pub fn schema_style(self) -> StructuredStyle {
        match self {
            ServerKind::OpenAi => StructuredStyle::OpenAiStrict,
            ServerKind::Ollama => StructuredStyle::OllamaFormat,
            _ => StructuredStyle::JsonSchema,
        }
    }
}

/// Local servers on their default ports, in the order they are tried.
pub const LOCAL_SERVERS: [(ServerKind, u16); 4] = [
    (ServerKind::LlamaCpp, 8080),
    (ServerKind::Ollama, 11434),
    (ServerKind::LmStudio, 1234),
    (ServerKind::Vllm, 8000),
];

/// How a request asks for schema-shaped JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredStyle {
    /// `response_format: json_schema` with `strict`, without length keywords.
    OpenAiStrict,
    /// `response_format: json_schema` with the bounded schema (llama.cpp,
    /// vLLM, LM Studio turn it into a grammar).
    JsonSchema,
    /// Ollama's `format` field, and `response_format` for its /v1 layer.
    OllamaFormat,
    /// The server does not enforce schemas: Markdown mode.
    None,
}

impl StructuredStyle {
    pub fn label(self) -> &'static str {
        match self {
            StructuredStyle::OpenAiStrict => "json_schema (strict)",
            StructuredStyle::JsonSchema => "json_schema",
            StructuredStyle::OllamaFormat => "format (Ollama)",
            StructuredStyle::None => "none",
        }
    }

    /// Adds the schema to a chat completions request body.
    pub fn apply(self, body: &mut serde_json::Value, request: &StructuredRequest) {
        let response_format = |schema: &serde_json::Value| {
            serde_json::json!({
                "type": "json_schema",
                "json_schema": {"name": request.name, "strict": true, "schema": schema},
            })
        };
        match self {
            StructuredStyle::OpenAiStrict => {
                body["response_format"] = response_format(&request.schema_without_bounds);
            }
            StructuredStyle::JsonSchema => {
                body["response_format"] = response_format(&request.schema);
            }
            StructuredStyle::OllamaFormat => {
                body["format"] = request.schema.clone();
                body["response_format"] = response_format(&request.schema);
            }
            StructuredStyle::None => {}
        }
    }
}
