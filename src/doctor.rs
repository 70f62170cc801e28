//! `migagent doctor`: checks, in the order a run depends on them, the profile,
//! the key, the server, its models, a one-token completion and structured
//! output, and says what to do about each problem. It exits non-zero when a
//! run would fail.

use std::time::Instant;

use serde::Serialize;

use crate::config::{Config, StructuredMode};
use crate::llm::connect::{self, ConnectOptions, Probed};
use crate::llm::server::{self, ServerError};
use crate::llm::{ChatRequest, ModelClient, ModelError, OpenAiCompatible, Silent};
use crate::llm::{ServerKind, StructuredStyle};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    /// Worth knowing; a run still works.
    Warn,
    /// A run would fail.
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    /// What to do, for warnings and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub profile: Option<String>,
    pub offline: bool,
    pub base_url: Option<String>,
    pub server: Option<ServerKind>,
    pub models: Vec<String>,
    pub model: Option<String>,
    pub context_tokens: Option<u32>,
    pub completion_ms: Option<u128>,
    pub structured: Option<StructuredStyle>,
    pub checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: &'static str, verdict: Verdict, detail: String, fix: Option<String>) {
        self.checks.push(Check {
            name,
            verdict,
            detail,
            fix,
        });
    }

    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }
}

/// Runs every check it can; a failed check stops only the checks that depend
/// on it.
pub async fn diagnose(config: &Config, options: &ConnectOptions) -> Report {
    let mut report = Report::default();
    let target = match connect::target(config, options, None).await {
        Ok(t) => t,
        Err(e) => {
            report.add("server", Verdict::Fail, e.to_string(), None);
            return report;
        }
    };
    report.profile = Some(target.profile_name.clone());
    report.offline = target.offline;
    report.base_url = Some(target.base_url.clone());
    report.add(
        "profile",
        Verdict::Ok,
        format!(
            "{}{}; server {} ({})",
            target.profile_name,
            if target.offline {
                " (offline: loopback and allowed hosts only)"
            } else {
                ""
            },
            target.base_url,
            target.found_by
        ),
        None,
    );
    let is_openai = crate::llm::url::host_of(&target.base_url).as_deref() == Some("api.openai.com");
    let host = crate::llm::url::host_of(&target.base_url).unwrap_or_default();
    match (&target.key_env, &target.api_key) {
        (Some(var), Some(_)) => report.add(
            "key",
            Verdict::Ok,
            format!("{var} is set; its key goes only to {host}"),
            None,
        ),
        (Some(var), None) if is_openai => {
            report.add(
                "key",
                Verdict::Fail,
                format!("{var} is not set, and {} needs a key", target.base_url),
                Some(format!(
                    "export {var}=... or use --offline with a local server"
                )),
            );
            return report;
        }
        (Some(var), None) => report.add(
            "key",
            Verdict::Warn,
            format!("{var} is not set; requests go without a key"),
            Some("fine for servers that need none; otherwise set it".into()),
        ),
        (None, _) if is_openai => {
            report.add(
                "key",
                Verdict::Fail,
                format!(
                    "no key is named for {host}, and {} needs one",
                    target.base_url
                ),
                Some(target.key_hint.clone()),
            );
            return report;
        }
        (None, _) => match &target.key_note {
            Some(note) => report.add(
                "key",
                Verdict::Warn,
                format!("requests go without a key: {note}"),
                Some("fine for servers that need none".into()),
            ),
            None => report.add(
                "key",
                Verdict::Ok,
                "none needed (no key variable is named for this host)".into(),
                None,
            ),
        },
    }

    let facts = match target.inspect().await {
        Ok(f) => f,
        Err(e) => {
            report.add(
                "reachable",
                Verdict::Fail,
                e.to_string(),
                Some(if matches!(e, ServerError::Model(ModelError::Redirected { .. })) {
                    "use the URL of the server that answers as --base-url, if you trust it".into()
                } else if crate::llm::url::is_loopback(&target.base_url) {
                    "start the server: migagent local-llm start (or ollama serve), then run doctor again".into()
                } else {
                    "check the URL, the network and the key".into()
                }),
            );
            return report;
        }
    };
    report.server = Some(facts.kind);
    report.models = facts.models.clone();
    report.add(
        "reachable",
        Verdict::Ok,
        format!(
            "{} answered /models in {} ms",
            facts.kind.label(),
            facts.latency_ms
        ),
        None,
    );
    let model = match target
        .model
        .clone()
        .or_else(|| facts.models.first().cloned())
    {
        Some(m) => m,
        None => {
            report.add(
                "models",
                Verdict::Fail,
                "the server lists no models and the profile names none".into(),
                Some("load a model into the server, or set `model` in the profile".into()),
            );
            return report;
        }
    };
    report.model = Some(model.clone());
    if !facts.models.is_empty() && !facts.models.contains(&model) {
        report.add(
            "models",
            Verdict::Warn,
            format!(
                "{model} is not among the served models: {}",
                facts.models.join(", ")
            ),
            Some("pass --model with one of them, or set `model` in the profile".into()),
        );
    } else {
        report.add(
            "models",
            Verdict::Ok,
            format!(
                "serves {}; using {model}{}",
                if facts.models.is_empty() {
                    "(no list)".to_string()
                } else {
                    facts.models.join(", ")
                },
                if target.model.is_none() {
                    " (the first listed)"
                } else {
                    ""
                }
            ),
            None,
        );
    }
    let context = target.profile.context_tokens.or(facts.context_tokens);
    report.context_tokens = context;
    report.add(
        "context",
        Verdict::Ok,
        match (
            target.profile.context_tokens,
            &facts.context_source,
            context,
        ) {
            (Some(n), _, _) => format!("{n} tokens per request (profile context_tokens)"),
            (None, Some(src), Some(n)) => format!("{n} tokens per request ({src})"),
            _ => "unknown; no limit assumed (set context_tokens in the profile)".into(),
        },
        None,
    );

    let endpoint = target.endpoint(&model, facts.kind, StructuredStyle::None, context);
    let client = match OpenAiCompatible::new(endpoint) {
        Ok(c) => c,
        Err(e) => {
            report.add("completion", Verdict::Fail, e.to_string(), None);
            return report;
        }
    };
    let request = ChatRequest {
        purpose: "doctor: one-token test".into(),
        system: "Answer with one word.".into(),
        user: "Say OK.".into(),
        max_tokens: Some(1),
        structured: None,
    };
    let started = Instant::now();
    match client.complete(&request, &mut Silent).await {
        Ok(c) => {
            let ms = started.elapsed().as_millis();
            report.completion_ms = Some(ms);
            report.add(
                "completion",
                Verdict::Ok,
                format!("{} answered {:?} in {ms} ms", c.model, c.text.trim()),
                None,
            );
        }
        Err(e) => {
            report.add(
                "completion",
                Verdict::Fail,
                e.to_string(),
                Some("check the model name and the server's log".into()),
            );
            return report;
        }
    }

    let mode = target.profile.structured;
    match target.probe_structured(&model, facts.kind).await {
        Ok(Probed::Unknown(e)) => report.add(
            "structured",
            Verdict::Warn,
            format!("could not probe: {e}"),
            Some("not cached: the next command probes again".into()),
        ),
        Ok(Probed::Known(style)) => {
            server::remember(
                &target.base_url,
                &model,
                facts.kind,
                style,
                facts.context_tokens,
            );
            report.structured = Some(style);
            let (verdict, detail, fix) = match (style, mode) {
                (StructuredStyle::None, StructuredMode::Schema) => (
                    Verdict::Fail,
                    "not enforced, and the profile requires it (structured = \"schema\")".to_string(),
                    Some("set structured = \"auto\", or use llama.cpp, vLLM, Ollama 0.5+ or OpenAI".to_string()),
                ),
                (StructuredStyle::None, _) => (
                    Verdict::Warn,
                    "not enforced: artifacts are drafted as Markdown, with one repair request for missing sections".to_string(),
                    Some("a server with JSON schema support keeps small models on the template".to_string()),
                ),
                (s, StructuredMode::Off) => (
                    Verdict::Ok,
                    format!("supported ({}), but the profile turns it off (structured = \"off\")", s.label()),
                    None,
                ),
                (s, _) => (
                    Verdict::Ok,
                    format!("supported: {}; artifacts are drafted as schema-checked JSON", s.label()),
                    None,
                ),
            };
            report.add("structured", verdict, detail, fix);
        }
        Err(e) => report.add("structured", Verdict::Fail, e.to_string(), None),
    }
    report
}
