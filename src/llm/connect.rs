//! Choosing the model server for a command: the profile, the flags, the run's
//! record, the offline rule, finding a local server, and learning once what
//! the server can do. The result is an [`Endpoint`] the client is built from.

use std::time::Duration;

use secrecy::SecretString;

use super::server::{self, ServerError, ServerFacts};
use super::{Endpoint, ModelError, OpenAiCompatible, Sampling};
use super::{ServerKind, StructuredStyle};
use crate::config::{Config, ConfigError, Profile, StructuredMode};
use crate::store::ModelRecord;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("profile '{profile}' has structured = \"schema\", but {base_url} ({server}) does not enforce a JSON schema on its answers. Set structured = \"auto\" to fall back to Markdown, or use a server that supports it (llama.cpp, vLLM, Ollama 0.5+, OpenAI)")]
    SchemaUnsupported {
        profile: String,
        base_url: String,
        server: String,
    },
}

/// What the person asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub offline: bool,
    pub base_url: Option<String>,
    pub model: Option<String>,
}

/// The server a command will talk to, before anything is sent to it.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile_name: String,
    pub profile: Profile,
    pub offline: bool,
    pub base_url: String,
    /// How the base URL was chosen, said to the person ("profile local",
    /// "found llama.cpp server on port 8080").
    pub found_by: String,
    /// The kind of server, when discovery already told.
    pub kind: Option<ServerKind>,
    pub api_key: Option<SecretString>,
    pub key_env: Option<String>,
    /// The model, when the flags, the run or the profile name one.
    pub model: Option<String>,
}

/// Picks the profile and base URL and applies the offline rule. Sends
/// nothing anywhere except, when no base URL is configured, probes to the
/// usual local ports on loopback.
pub async fn target(
    config: &Config,
    options: &ConnectOptions,
    recorded: Option<&ModelRecord>,
) -> Result<Target, ConnectError> {
    let offline = options.offline || recorded.is_some_and(|r| r.offline);
    let profile_name = options
        .profile
        .clone()
        .or_else(|| recorded.and_then(|r| r.profile.clone()))
        .unwrap_or_else(|| {
            if offline {
                config.offline_profile.clone()
            } else {
                config.profile.clone()
            }
        });
    let profile = config.profile(&profile_name)?.clone();
    // A run keeps its server unless the person names another profile.
    let same_profile = recorded
        .is_some_and(|r| r.profile.as_deref().unwrap_or(config.profile.as_str()) == profile_name);
    let recorded = recorded.filter(|_| same_profile);
    let env_base = std::env::var("OPENAI_BASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let mut kind = None;
    let (base_url, found_by) = if let Some(url) = &options.base_url {
        (url.clone(), "--base-url".to_string())
    } else if let Some(r) = recorded {
        (r.base_url.clone(), "the run's record".to_string())
    } else if let (Some(url), false, true) = (&env_base, offline, profile_name == config.profile) {
        (url.clone(), "OPENAI_BASE_URL".to_string())
    } else if let Some(url) = &profile.base_url {
        (url.clone(), format!("profile {profile_name}"))
    } else {
        let found = server::discover_local().await?;
        kind = Some(found.kind);
        let port = found
            .base_url
            .rsplit(':')
            .next()
            .unwrap_or("")
            .trim_end_matches("/v1")
            .to_string();
        (
            found.base_url,
            format!("found {} on port {port}", found.kind.label()),
        )
    };
    let base_url = base_url.trim_end_matches('/').to_string();
    if offline {
        server::check_offline(&base_url, &config.offline_allowed_hosts)?;
    }
    let api_key = profile
        .api_key_env
        .as_deref()
        .and_then(|var| std::env::var(var).ok())
        .filter(|k| !k.trim().is_empty())
        .map(SecretString::from);
    let model = options
        .model
        .clone()
        .or_else(|| recorded.map(|r| r.model.clone()))
        .or_else(|| profile.model.clone());
    Ok(Target {
        key_env: profile.api_key_env.clone(),
        profile_name,
        profile,
        offline,
        base_url,
        found_by,
        kind,
        api_key,
        model,
    })
}

impl Target {
    /// An endpoint for this target with the given model and schema style.
    pub fn endpoint(
        &self,
        model: &str,
        kind: ServerKind,
        structured: StructuredStyle,
        context_tokens: Option<u32>,
    ) -> Endpoint {
        let p = &self.profile;
        Endpoint {
            base_url: self.base_url.clone(),
            api_key: self.api_key.clone(),
            key_env: self.key_env.clone().unwrap_or_default(),
            model: model.to_string(),
            sampling: Sampling {
                temperature: p.temperature,
                top_p: p.top_p,
                frequency_penalty: p.frequency_penalty,
                presence_penalty: p.presence_penalty,
                repeat_penalty: p.repeat_penalty,
            },
            max_tokens: p.max_tokens,
            connect_timeout: Duration::from_secs(p.connect_timeout_secs),
            idle_timeout: Duration::from_secs(p.idle_timeout_secs),
            kind,
            structured,
            context_tokens: p.context_tokens.or(context_tokens),
            direct: self.offline,
        }
    }

    /// Asks the server what it is and serves.
    pub async fn inspect(&self) -> Result<ServerFacts, ServerError> {
        server::inspect(
            &self.base_url,
            self.api_key.as_ref(),
            self.offline,
            Duration::from_secs(self.profile.connect_timeout_secs.max(1)),
        )
        .await
    }

    /// Probes whether the server enforces a JSON schema, in the style its
    /// kind takes; `StructuredStyle::None` when it does not.
    pub async fn probe_structured(
        &self,
        model: &str,
        kind: ServerKind,
    ) -> Result<StructuredStyle, ModelError> {
        let style = kind.schema_style();
        let client = OpenAiCompatible::new(self.endpoint(model, kind, style, None))?;
        Ok(if server::probe_structured(&client).await? {
            style
        } else {
            StructuredStyle::None
        })
    }
}

/// A client ready to draft, and what was learnt on the way.
pub struct Connection {
    pub target: Target,
    pub endpoint: Endpoint,
    pub client: OpenAiCompatible,
    /// Things the person should know ("structured output unsupported: …").
    pub notes: Vec<String>,
}

impl Connection {
    /// How a run records this server.
    pub fn record(&self) -> ModelRecord {
        ModelRecord {
            base_url: self.endpoint.base_url.clone(),
            model: self.endpoint.model.clone(),
            profile: Some(self.target.profile_name.clone()),
            offline: self.target.offline,
        }
    }
}

/// Resolves the target, learns the model, the server's kind, context size
/// and schema support (from the cache when fresh), and builds the client.
pub async fn connect(
    config: &Config,
    options: &ConnectOptions,
    recorded: Option<&ModelRecord>,
) -> Result<Connection, ConnectError> {
    let target = target(config, options, recorded).await?;
    let mut notes = Vec::new();
    let mode = target.profile.structured;
    let needs_facts = target.model.is_none() || mode != StructuredMode::Off;
    let cached_probe = target
        .model
        .as_deref()
        .and_then(|m| server::cached(&target.base_url, m));
    let facts = match (needs_facts, &cached_probe) {
        (true, None) => match target.inspect().await {
            Ok(f) => Some(f),
            Err(e) if target.model.is_none() => return Err(e.into()),
            Err(e) => {
                tracing::info!(error = %e, "cannot inspect the server; drafting in Markdown mode");
                None
            }
        },
        _ => None,
    };
    let model = match (&target.model, &facts) {
        (Some(m), _) => m.clone(),
        (None, Some(f)) => f
            .models
            .first()
            .cloned()
            .ok_or_else(|| ServerError::NoModels {
                base_url: target.base_url.clone(),
                message: "it lists no models".into(),
            })?,
        (None, None) => {
            return Err(ServerError::NoModels {
                base_url: target.base_url.clone(),
                message: "it did not answer".into(),
            }
            .into())
        }
    };
    // The model may have come from the server's list: look again.
    let cached_probe = cached_probe.or_else(|| server::cached(&target.base_url, &model));
    let (kind, style, context) = match (cached_probe, &facts) {
        (Some(c), _) => (
            c.kind,
            if mode == StructuredMode::Off {
                StructuredStyle::None
            } else {
                c.structured
            },
            c.context_tokens,
        ),
        _ if mode == StructuredMode::Off => (
            facts
                .as_ref()
                .map(|f| f.kind)
                .or(target.kind)
                .unwrap_or(ServerKind::Unknown),
            StructuredStyle::None,
            facts.as_ref().and_then(|f| f.context_tokens),
        ),
        (None, Some(f)) => match target.probe_structured(&model, f.kind).await {
            Ok(style) => {
                server::remember(&target.base_url, &model, f.kind, style, f.context_tokens);
                (f.kind, style, f.context_tokens)
            }
            Err(e) => {
                notes.push(format!("could not probe structured output: {e}"));
                (f.kind, StructuredStyle::None, f.context_tokens)
            }
        },
        (None, None) => (
            target.kind.unwrap_or(ServerKind::Unknown),
            StructuredStyle::None,
            None,
        ),
    };
    if mode == StructuredMode::Schema && style == StructuredStyle::None {
        return Err(ConnectError::SchemaUnsupported {
            profile: target.profile_name.clone(),
            base_url: target.base_url.clone(),
            server: kind.label().to_string(),
        });
    }
    if mode == StructuredMode::Auto && style == StructuredStyle::None {
        notes.push(format!(
            "{} does not enforce JSON schemas: drafting Markdown, with one repair request for missing sections",
            kind.label()
        ));
    }
    let endpoint = target.endpoint(&model, kind, style, context);
    let client = OpenAiCompatible::new(endpoint.clone())?;
    Ok(Connection {
        target,
        endpoint,
        client,
        notes,
    })
}
