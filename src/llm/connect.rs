//! Choosing the model server for a command: the profile, the flags, the run's
//! record, the offline rule, finding a local server, and learning once what
//! the server can do. The result is an [`Endpoint`] the client is built from.

use std::time::Duration;

use secrecy::SecretString;

use super::http::Network;
use super::server::{self, ProbeOutcome, ServerError, ServerFacts};
use super::url::{
    base_url_problem, host_of, is_loopback, is_openai_host, redact_base_url, same_origin,
};
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
    #[error("--api-key-env names {var}, but {var} is not set (or is empty). Export it, or leave --api-key-env out to send no key")]
    KeyEnvUnset { var: String },
}

/// Requests a panel sends at once when neither the profile nor the server
/// says: enough to overlap most of a six-member panel, few enough for any
/// server to queue.
pub const DEFAULT_PARALLEL_REQUESTS: usize = 4;

/// What the person asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub offline: bool,
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// The variable whose key goes to this command's server, whatever its
    /// host (`--api-key-env`).
    pub api_key_env: Option<String>,
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
    /// The variable the key comes from, when one is bound to this host.
    pub key_env: Option<String>,
    /// Why a profile's key is not sent to this server, when it is not.
    pub key_note: Option<String>,
    /// How to supply a key to this server, for the error when it needs one.
    pub key_hint: String,
    /// The model, when the flags, the run, the environment or the profile
    /// name one for this server.
    pub model: Option<String>,
    /// Where [`Target::model`] came from ("--model", "MIGAGENT_MODEL",
    /// "profile gpu"), said in the connection line.
    pub model_from: String,
    /// The profile's model when it is not this server's (the default
    /// profile's `gpt-4o-mini` with `--base-url` to a local server): sent
    /// only when the server lists no models of its own.
    pub fallback_model: Option<String>,
    /// Whether requests may leave the machine.
    pub network: Network,
}

/// Which variable's key may go to a server, and what to say when none may.
struct KeyChoice {
    var: Option<String>,
    note: Option<String>,
    hint: String,
}

/// Binds keys to hosts: a key goes only to the host it was named for.
/// `--api-key-env VAR` names it for this command's server; otherwise the
/// profile's `api_key_env` goes to the profile's own `base_url` (scheme,
/// host and port; a profile without one means this machine's servers), and
/// any other host gets the key of a profile whose `base_url` is that host,
/// or no key at all.
fn choose_key(
    config: &Config,
    profile_name: &str,
    profile: &Profile,
    base_url: &str,
    explicit: Option<&str>,
) -> KeyChoice {
    let hint_for = |var: &str| format!("set the environment variable {var}");
    if let Some(var) = explicit {
        return KeyChoice {
            var: Some(var.to_string()),
            note: None,
            hint: hint_for(var),
        };
    }
    let bound = |p: &Profile| match &p.base_url {
        Some(url) => same_origin(url, base_url),
        None => is_loopback(base_url),
    };
    if let (Some(var), true) = (&profile.api_key_env, bound(profile)) {
        return KeyChoice {
            var: Some(var.clone()),
            note: None,
            hint: hint_for(var),
        };
    }
    let other = config.profiles.iter().find(|(_, p)| {
        p.api_key_env.is_some()
            && p.base_url
                .as_deref()
                .is_some_and(|u| same_origin(u, base_url))
    });
    if let Some((_, p)) = other {
        let var = p.api_key_env.clone().unwrap_or_default();
        return KeyChoice {
            hint: hint_for(&var),
            var: Some(var),
            note: None,
        };
    }
    let host = host_of(base_url).unwrap_or_else(|| base_url.to_string());
    let hint = format!(
        "name the variable that holds its key with --api-key-env VAR, or add a profile with base_url = \"{base_url}\" and api_key_env = \"VAR\""
    );
    let note = profile.api_key_env.as_ref().map(|var| {
        let owner = profile
            .base_url
            .as_deref()
            .and_then(host_of)
            .unwrap_or_else(|| "this machine".into());
        format!(
            "the key in {var} belongs to {owner} (profile {profile_name}) and is not sent to {host}; to send it there, pass --api-key-env {var}, or add a profile with base_url = \"{base_url}\" and api_key_env = \"{var}\""
        )
    });
    KeyChoice {
        var: None,
        note,
        hint,
    }
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
    let env_profile = env_var("MIGAGENT_PROFILE");
    let named_profile = options.profile.is_some() || env_profile.is_some();
    let profile_name = options
        .profile
        .clone()
        .or_else(|| recorded.and_then(|r| r.profile.clone()))
        .or(env_profile)
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
    let env_base = env_var("OPENAI_BASE_URL");
    let mut kind = None;
    let (base_url, found_by) = if let Some(url) = &options.base_url {
        (url.clone(), "--base-url".to_string())
    } else if let Some(r) = recorded {
        (r.base_url.clone(), "the run's record".to_string())
    } else if let (Some(url), false, true) = (&env_base, offline, profile_name == config.profile) {
        (url.clone(), "OPENAI_BASE_URL".to_string())
    } else if let Some(url) = &profile.base_url {
        (url.clone(), "the profile's base_url".to_string())
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
    // Nothing is sent to a URL that hides where it goes or carries a
    // password; the refusal shows it without the password.
    if let Some(problem) = base_url_problem(&base_url) {
        return Err(ModelError::BadBaseUrl {
            url: redact_base_url(&base_url),
            problem,
        }
        .into());
    }
    let key = choose_key(
        config,
        &profile_name,
        &profile,
        &base_url,
        options.api_key_env.as_deref(),
    );
    let api_key = key
        .var
        .as_deref()
        .and_then(|var| std::env::var(var).ok())
        .filter(|k| !k.trim().is_empty())
        .map(SecretString::from);
    if let (Some(var), None) = (&options.api_key_env, &api_key) {
        return Err(ConnectError::KeyEnvUnset { var: var.clone() });
    }
    // A profile's model names a model of the profile's server: another
    // server (--base-url, OPENAI_BASE_URL) is asked for its own list,
    // unless the person named the profile or the server is OpenAI's.
    let own_server = named_profile
        || is_openai_host(&base_url)
        || profile
            .base_url
            .as_deref()
            .is_none_or(|own| same_origin(own, &base_url));
    let (model, model_from, fallback_model) = match (
        options.model.clone(),
        recorded.map(|r| r.model.clone()),
        env_var("MIGAGENT_MODEL")
            .map(|m| (m, "MIGAGENT_MODEL"))
            .or_else(|| env_var("OPENAI_MODEL").map(|m| (m, "OPENAI_MODEL"))),
        profile.model.clone(),
    ) {
        (Some(m), _, _, _) => (Some(m), "--model".to_string(), None),
        (None, Some(m), _, _) => (Some(m), "the run's record".to_string(), None),
        (None, None, Some((m, var)), _) => (Some(m), var.to_string(), None),
        (None, None, None, Some(m)) if own_server => {
            (Some(m), "the profile's model".to_string(), None)
        }
        (None, None, None, fallback) => (None, String::new(), fallback),
    };
    Ok(Target {
        key_env: key.var,
        key_note: key.note,
        key_hint: key.hint,
        network: if offline {
            Network::offline(&config.offline_allowed_hosts)
        } else {
            Network::Online
        },
        profile_name,
        profile,
        offline,
        base_url,
        found_by,
        kind,
        api_key,
        model,
        model_from,
        fallback_model,
    })
}

/// An environment variable's value, unless unset or blank.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
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
            key_hint: self.key_hint.clone(),
            profile: self.profile_name.clone(),
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
            request_timeout: Duration::from_secs(p.request_timeout_secs),
            max_answer_bytes: p.max_answer_bytes,
            kind,
            structured,
            context_tokens: p.context_tokens.or(context_tokens),
            parallel_requests: p.max_parallel_requests.unwrap_or(DEFAULT_PARALLEL_REQUESTS),
            network: self.network.clone(),
        }
    }

    /// Asks the server what it is and serves.
    pub async fn inspect(&self) -> Result<ServerFacts, ServerError> {
        server::inspect(
            &self.base_url,
            self.api_key.as_ref(),
            &self.network,
            Duration::from_secs(self.profile.connect_timeout_secs.max(1)),
        )
        .await
    }

    /// Checks that something answers at the base URL, without learning
    /// more: for a command whose server facts are already known.
    pub async fn reach(&self) -> Result<(), ServerError> {
        server::reach(
            &self.base_url,
            self.api_key.as_ref(),
            &self.network,
            Duration::from_secs(self.profile.connect_timeout_secs.max(1)),
        )
        .await
    }

    /// Probes whether the server enforces a JSON schema, in the style its
    /// kind takes: `Known(StructuredStyle::None)` when it does not, and
    /// `Unknown` when the probe got no clean answer (not to be cached).
    pub async fn probe_structured(
        &self,
        model: &str,
        kind: ServerKind,
    ) -> Result<Probed, ModelError> {
        let style = kind.schema_style();
        let client = OpenAiCompatible::new(self.endpoint(model, kind, style, None))?;
        Ok(match server::probe_structured(&client).await? {
            ProbeOutcome::Verdict(true) => Probed::Known(style),
            ProbeOutcome::Verdict(false) => Probed::Known(StructuredStyle::None),
            ProbeOutcome::NoVerdict(e) => Probed::Unknown(e),
        })
    }
}

/// What a structured-output probe told about a server.
#[derive(Debug)]
pub enum Probed {
    /// A clean answer: the style it enforces, or `None`. Cached.
    Known(StructuredStyle),
    /// No clean answer after retries; drafts of this command only go
    /// without a schema.
    Unknown(ModelError),
}

/// A client ready to draft, and what was learnt on the way.
pub struct Connection {
    pub target: Target,
    pub endpoint: Endpoint,
    pub client: OpenAiCompatible,
    /// Why this model ("--model", "the first model the server lists").
    pub model_from: String,
    /// Things the person should know ("structured output unsupported: …").
    pub notes: Vec<String>,
}

impl Connection {
    /// How a run records this server.
    pub fn record(&self) -> ModelRecord {
        ModelRecord {
            // Refused earlier if it carried a password; redacted anyway,
            // since run.json is a file people share.
            base_url: super::url::redact(&self.endpoint.base_url),
            model: self.endpoint.model.clone(),
            profile: Some(self.target.profile_name.clone()),
            offline: self.target.offline,
        }
    }
}

/// Resolves the target, makes sure the server answers, learns the model,
/// the server's kind, context size and schema support (from the cache when
/// fresh), and builds the client. A server that cannot be reached is an
/// error here, before the command starts anything.
pub async fn connect(
    config: &Config,
    options: &ConnectOptions,
    recorded: Option<&ModelRecord>,
) -> Result<Connection, ConnectError> {
    let target = target(config, options, recorded).await?;
    // OpenAI answers nothing without a key: say so before asking it.
    if target.api_key.is_none() && is_openai_host(&target.base_url) {
        return Err(ModelError::NoKey {
            base_url: redact_base_url(&target.base_url),
            hint: target.key_hint.clone(),
        }
        .into());
    }
    let mut notes: Vec<String> = target.key_note.iter().cloned().collect();
    let mode = target.profile.structured;
    let cached_probe = target
        .model
        .as_deref()
        .and_then(|m| server::cached(&target.base_url, m));
    let needs_facts =
        target.model.is_none() || (mode != StructuredMode::Off && cached_probe.is_none());
    let mut facts_problem = None;
    let facts = if needs_facts {
        match target.inspect().await {
            Ok(f) => Some(f),
            // Nothing answers, or a redirect was refused (the answer for
            // every other request too): stop before anything is started.
            Err(e @ (ServerError::Unreachable { .. } | ServerError::Model(_))) => {
                return Err(e.into())
            }
            Err(e) => {
                tracing::info!(error = %e, "cannot inspect the server");
                facts_problem = Some(e);
                None
            }
        }
    } else {
        target.reach().await?;
        None
    };
    let (model, model_from) = choose_model(&target, facts.as_ref(), facts_problem.as_ref())?;
    // The model may have come from the server's list: look again.
    let cached_probe = cached_probe.or_else(|| server::cached(&target.base_url, &model));
    let kind = facts
        .as_ref()
        .map(|f| f.kind)
        .or(cached_probe.as_ref().map(|c| c.kind))
        .or(target.kind)
        .unwrap_or(ServerKind::Unknown);
    let context = facts
        .as_ref()
        .and_then(|f| f.context_tokens)
        .or(cached_probe.as_ref().and_then(|c| c.context_tokens));
    let ignored = |kind: ServerKind| {
        format!(
            "{} does not enforce JSON schemas: drafting Markdown, with one repair request for missing sections",
            kind.label()
        )
    };
    let style = match (mode, &cached_probe, &facts) {
        (StructuredMode::Off, _, _) => StructuredStyle::None,
        // The profile says the server enforces schemas: no probe, and a
        // server that does not fails the draft, saying so.
        (StructuredMode::Schema, _, _) => kind.schema_style(),
        (StructuredMode::Auto, Some(c), _) => {
            if c.structured == StructuredStyle::None {
                notes.push(ignored(kind));
            }
            c.structured
        }
        (StructuredMode::Auto, None, Some(f)) => {
            match target.probe_structured(&model, f.kind).await? {
                Probed::Known(style) => {
                    server::remember(&target.base_url, &model, f.kind, style, f.context_tokens);
                    if style == StructuredStyle::None {
                        notes.push(ignored(kind));
                    }
                    style
                }
                Probed::Unknown(e) => {
                    notes.push(format!(
                        "could not probe structured output ({e}); drafting Markdown for this command, and the next one probes again"
                    ));
                    StructuredStyle::None
                }
            }
        }
        (StructuredMode::Auto, None, None) => {
            if let Some(e) = &facts_problem {
                let why = match e {
                    ServerError::NoModels { message, .. } => message.clone(),
                    e => e.to_string(),
                };
                notes.push(format!(
                    "could not learn what the server is ({why}); drafting Markdown for this command"
                ));
            }
            StructuredStyle::None
        }
    };
    let mut endpoint = target.endpoint(&model, kind, style, context);
    // A server that says how many requests it serves at once (llama.cpp's
    // slots) sets the panel's parallelism, unless the profile does.
    if target.profile.max_parallel_requests.is_none() {
        if let Some(slots) = facts.as_ref().and_then(|f| f.slots) {
            endpoint.parallel_requests = slots as usize;
        }
    }
    let client = OpenAiCompatible::new(endpoint.clone())?;
    Ok(Connection {
        target,
        endpoint,
        client,
        model_from,
        notes,
    })
}

/// The model to send and why: the one the person, the run or the profile
/// names, else the first the server lists, else the profile's own model
/// (with a word on why), else an error saying how to name one.
fn choose_model(
    target: &Target,
    facts: Option<&ServerFacts>,
    problem: Option<&ServerError>,
) -> Result<(String, String), ServerError> {
    if let Some(m) = &target.model {
        return Ok((m.clone(), target.model_from.clone()));
    }
    if let Some(first) = facts.and_then(|f| f.models.first()) {
        return Ok((first.clone(), "the first model the server lists".into()));
    }
    let why = match problem {
        Some(ServerError::NoModels { message, .. }) => message.clone(),
        Some(e) => e.to_string(),
        None if facts.is_some() => "it lists no models".into(),
        None => "it did not answer".into(),
    };
    match &target.fallback_model {
        Some(m) => Ok((
            m.clone(),
            "the profile's model, as the server lists none".to_string(),
        )),
        None => Err(ServerError::NoModels {
            base_url: redact_base_url(&target.base_url),
            message: why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path)).unwrap()
    }

    fn var_for(
        config: &Config,
        profile: &str,
        base_url: &str,
        explicit: Option<&str>,
    ) -> KeyChoice {
        let p = config.profile(profile).unwrap();
        choose_key(config, profile, p, base_url, explicit)
    }

    #[test]
    fn a_profile_key_goes_only_to_its_own_origin() {
        let cfg = config("");
        let own = var_for(&cfg, "openai", "https://api.openai.com/v1", None);
        assert_eq!(own.var.as_deref(), Some("OPENAI_API_KEY"));
        for other in [
            "http://api.openai.com/v1",
            "https://api.openai.com:8443/v1",
            "https://api.openai.com.evil.example/v1",
            "http://127.0.0.1:8080/v1",
        ] {
            let c = var_for(&cfg, "openai", other, None);
            assert_eq!(c.var, None, "{other}");
            let note = c.note.unwrap();
            assert!(
                note.contains("OPENAI_API_KEY") && note.contains("--api-key-env"),
                "{note}"
            );
            assert!(c.hint.contains("--api-key-env"), "{}", c.hint);
        }
    }

    #[test]
    fn a_key_is_named_for_a_host_by_flag_or_by_a_profile_for_it() {
        let cfg = config(
            "[profiles.gpu]\nbase_url = \"http://10.0.0.12:8000/v1\"\napi_key_env = \"GPU_KEY\"\n\
             [profiles.lab]\napi_key_env = \"LAB_KEY\"\n",
        );
        let c = var_for(&cfg, "openai", "http://10.0.0.12:8000/v1/", None);
        assert_eq!(c.var.as_deref(), Some("GPU_KEY"));
        let c = var_for(&cfg, "openai", "http://10.0.0.12:8000/v1", Some("MY_KEY"));
        assert_eq!(c.var.as_deref(), Some("MY_KEY"));
        // A profile without base_url keeps its key on this machine.
        assert_eq!(
            var_for(&cfg, "lab", "http://127.0.0.1:8080/v1", None)
                .var
                .as_deref(),
            Some("LAB_KEY")
        );
        assert_eq!(
            var_for(&cfg, "lab", "http://10.0.0.13:8080/v1", None).var,
            None
        );
        // A profile that names no key says nothing about one.
        let c = var_for(&cfg, "local", "http://10.0.0.13:8080/v1", None);
        assert!(c.var.is_none() && c.note.is_none());
    }
}
