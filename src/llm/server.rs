//! What a model server is and can do: which software answers, which models it
//! serves, how much context a request may use, and whether it enforces a JSON
//! schema on answers. Local servers are found by probing their usual ports;
//! what a probe learns is cached per server and model, so runs do not pay for
//! it twice.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::http::{self, Network};
use super::kind::LOCAL_SERVERS;
use super::url::{base_url_problem, host_of, is_loopback, redact, redact_base_url};
use super::{
    ChatRequest, ModelClient, ModelError, ServerKind, Silent, StructuredRequest, StructuredStyle,
};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no local model server answers on this machine (tried {tried}). Start one with `migagent local-llm start` (llama.cpp with a small model), or `ollama serve`, or pass --base-url")]
    NoLocalServer { tried: String },
    #[error("offline mode refuses {base_url}: its host '{host}' is not this machine (loopback is 127.0.0.0/8, ::1, localhost). To allow a machine you trust, add \"{host}\" to offline_allowed_hosts in config.toml")]
    OfflineRefused { base_url: String, host: String },
    #[error("cannot ask {base_url} which models it serves: {message}. Set `model` in the profile or pass --model")]
    NoModels { base_url: String, message: String },
    #[error("cannot reach the model server at {base_url}: {message}. Is it running? Check it with `migagent doctor`, point to another with --base-url URL, or start a local one with `migagent local-llm start` and pass --offline")]
    Unreachable { base_url: String, message: String },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Refuses a base URL that would leave the machine, before any request.
pub fn check_offline(base_url: &str, allowed_hosts: &[String]) -> Result<(), ServerError> {
    if is_loopback(base_url) {
        return Ok(());
    }
    let host = host_of(base_url).filter(|_| base_url_problem(base_url).is_none());
    let bare = |h: &str| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    let allowed = host
        .as_deref()
        .is_some_and(|h| allowed_hosts.iter().any(|a| bare(a) == bare(h)));
    if allowed {
        Ok(())
    } else {
        Err(ServerError::OfflineRefused {
            base_url: redact_base_url(base_url),
            host: host.unwrap_or_else(|| redact_base_url(base_url)),
        })
    }
}

/// The part of a base URL before `/v1`, where server-specific endpoints live.
fn root_of(base_url: &str) -> &str {
    let trimmed = base_url.trim_end_matches('/');
    trimmed.strip_suffix("/v1").unwrap_or(trimmed)
}

/// Bytes of a models list or a probe answer read at most: a real one is a
/// few kilobytes, and a server that sends more is not believed.
const FACTS_BYTES: usize = 1024 * 1024;

/// A JSON answer read within [`FACTS_BYTES`]; `None` when the body is not
/// JSON, too large, or breaks off.
async fn bounded_json(mut answer: reqwest::Response) -> Option<serde_json::Value> {
    match http::read_bounded(&mut answer, FACTS_BYTES).await {
        Ok((bytes, false)) => serde_json::from_slice(&bytes).ok(),
        _ => None,
    }
}

/// A local server found by probing.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub base_url: String,
    pub kind: ServerKind,
}

/// Finds the first local server that answers `/v1/models` on its usual port.
/// Only loopback is probed, so this is safe in offline mode.
pub async fn discover_local() -> Result<Discovered, ServerError> {
    // Loopback only, and no redirect followed: a probe must not be sent on
    // to wherever a local port points.
    let wait = Duration::from_millis(800);
    let http = http::client("http://127.0.0.1", &Network::offline(&[]), wait)?;
    for (kind, port) in LOCAL_SERVERS {
        let base_url = format!("http://127.0.0.1:{port}/v1");
        let answered = http
            .get(format!("{base_url}/models"))
            .timeout(wait)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        tracing::debug!(%base_url, answered, "probing for a local server");
        if answered {
            return Ok(Discovered { base_url, kind });
        }
    }
    Err(ServerError::NoLocalServer {
        tried: LOCAL_SERVERS
            .iter()
            .map(|(k, p)| format!("{} on {p}", k.label()))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A request to `base_url` that got no answer at all: nothing listens, the
/// connection broke, or no answer came in time.
fn unreachable(base_url: &str, e: &reqwest::Error) -> ServerError {
    ServerError::Unreachable {
        base_url: redact_base_url(base_url),
        message: if e.is_timeout() {
            "it did not answer in time".into()
        } else if e.is_connect() {
            "nothing accepts connections there".into()
        } else {
            redact(&http::error_chain(e))
        },
    }
}

/// Checks that something answers at `base_url` (`GET /models`, within
/// `timeout`), whatever it answers: a command that will need the server
/// finds out it is down before it starts anything.
pub async fn reach(
    base_url: &str,
    api_key: Option<&SecretString>,
    network: &Network,
    timeout: Duration,
) -> Result<(), ServerError> {
    let http = http::client(base_url, network, timeout)?;
    let mut request = http
        .get(format!("{}/models", base_url.trim_end_matches('/')))
        .timeout(timeout * 4);
    if let Some(key) = api_key {
        request = request.bearer_auth(key.expose_secret());
    }
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|e| unreachable(base_url, &e))
}

/// What a server said about itself.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    pub kind: ServerKind,
    pub models: Vec<String>,
    pub context_tokens: Option<u32>,
    /// Requests the server serves at once (llama.cpp's slots), when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<u32>,
    /// Where `context_tokens` came from, to show in `doctor`.
    pub context_source: Option<String>,
    /// How long `/models` took to answer.
    pub latency_ms: u128,
}

/// Asks a server which models it serves, which software it is and how much
/// context a request may use. Server-specific endpoints are asked only on
/// hosts that are not a known public API.
pub async fn inspect(
    base_url: &str,
    api_key: Option<&SecretString>,
    network: &Network,
    timeout: Duration,
) -> Result<ServerFacts, ServerError> {
    let http = http::client(base_url, network, timeout)?;
    let whole = timeout * 4;
    let base = base_url.trim_end_matches('/');
    let mut request = http.get(format!("{base}/models")).timeout(whole);
    if let Some(key) = api_key {
        request = request.bearer_auth(key.expose_secret());
    }
    let started = Instant::now();
    let answer = request
        .send()
        .await
        .map_err(|e| unreachable(base_url, &e))?;
    let latency_ms = started.elapsed().as_millis();
    if let Some(refused) = http::redirect_refusal(base_url, network, &answer) {
        return Err(refused.into());
    }
    let status = answer.status();
    let listing: serde_json::Value = if status.is_success() {
        bounded_json(answer)
            .await
            .unwrap_or(serde_json::Value::Null)
    } else {
        return Err(ServerError::NoModels {
            base_url: base_url.to_string(),
            message: format!("GET /models answered {status}"),
        });
    };
    let entries = listing["data"].as_array().cloned().unwrap_or_default();
    let models: Vec<String> = entries
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    let owned_by = |who: &str| entries.iter().any(|m| m["owned_by"].as_str() == Some(who));
    let mut facts = ServerFacts {
        kind: ServerKind::Unknown,
        models,
        context_tokens: None,
        slots: None,
        context_source: None,
        latency_ms,
    };
    if host_of(base).as_deref() == Some("api.openai.com") {
        facts.kind = ServerKind::OpenAi;
        return Ok(facts);
    }
    if owned_by("vllm") {
        facts.kind = ServerKind::Vllm;
        facts.context_tokens = entries
            .iter()
            .find_map(|m| m["max_model_len"].as_u64())
            .and_then(|n| u32::try_from(n).ok());
        facts.context_source = facts.context_tokens.map(|_| "vLLM max_model_len".into());
        return Ok(facts);
    }
    let root = root_of(base);
    let get_json = |path: String| {
        let http = http.clone();
        async move {
            // A redirect is not followed offline, nor off the host online,
            // and is not an answer either.
            let r = http.get(path).timeout(whole).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            bounded_json(r).await
        }
    };
    if let Some(props) = get_json(format!("{root}/props")).await {
        if props.get("default_generation_settings").is_some() {
            facts.kind = ServerKind::LlamaCpp;
            facts.slots = props["total_slots"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0);
            facts.context_tokens = props["default_generation_settings"]["n_ctx"]
                .as_u64()
                .or_else(|| props["n_ctx"].as_u64())
                .and_then(|n| u32::try_from(n).ok());
            facts.context_source = facts
                .context_tokens
                .map(|_| "llama.cpp /props, per slot".into());
            return Ok(facts);
        }
    }
    if let Some(version) = get_json(format!("{root}/api/version")).await {
        if version["version"].is_string() {
            facts.kind = ServerKind::Ollama;
            return Ok(facts);
        }
    }
    if let Some(lm) = get_json(format!("{root}/api/v0/models")).await {
        if let Some(list) = lm["data"].as_array() {
            facts.kind = ServerKind::LmStudio;
            facts.context_tokens = list
                .iter()
                .find_map(|m| {
                    m["loaded_context_length"]
                        .as_u64()
                        .or_else(|| m["max_context_length"].as_u64())
                })
                .and_then(|n| u32::try_from(n).ok());
            facts.context_source = facts
                .context_tokens
                .map(|_| "LM Studio /api/v0/models".into());
        }
    }
    Ok(facts)
}

/// The schema a probe asks for: one key with one allowed value, so only a
/// server that enforces schemas can be relied on to answer it exactly.
fn probe_request() -> ChatRequest {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"ready": {"type": "string", "enum": ["yes"]}},
        "required": ["ready"],
        "additionalProperties": false,
    });
    ChatRequest {
        purpose: "structured-output probe".into(),
        system: "You answer with JSON only.".into(),
        user: "Are you ready? Answer with a JSON object.".into(),
        max_tokens: Some(24),
        structured: Some(StructuredRequest {
            name: "probe".into(),
            schema: schema.clone(),
            schema_without_bounds: schema,
        }),
    }
}

/// Whether an answer is exactly what the probe schema allows.
pub fn probe_answer_ok(text: &str) -> bool {
    let body = text.trim();
    let body = body
        .strip_prefix("```json")
        .or_else(|| body.strip_prefix("```"))
        .map_or(body, |b| b.trim_end_matches('`'))
        .trim();
    serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|v| v == serde_json::json!({"ready": "yes"}))
}

/// What a structured-output probe learnt.
#[derive(Debug)]
pub enum ProbeOutcome {
    /// A clean answer: `true` when it kept to the schema, `false` when the
    /// server ignored or refused it. Only this is worth caching.
    Verdict(bool),
    /// No verdict: the connection failed, the stream was cut, the server
    /// erred (5xx), or the answer said nothing about schemas. Drafts of
    /// this command go without a schema; the next command probes again.
    NoVerdict(ModelError),
}

/// Attempts at a probe that failed in transit, and the wait before each
/// retry: a restarting server or a network blip usually passes in a second.
const PROBE_ATTEMPTS: u32 = 3;
const PROBE_BACKOFF: Duration = Duration::from_millis(400);

/// An HTTP status at the start of `status` ("503 Service Unavailable").
fn status_code(status: &str) -> Option<u16> {
    status.split_whitespace().next()?.parse().ok()
}

/// Whether an error says the request did not get through, rather than
/// anything about the server's schema support: worth a retry, never a
/// verdict.
pub fn is_transient(e: &ModelError) -> bool {
    match e {
        ModelError::Unreachable { .. }
        | ModelError::Stalled { .. }
        | ModelError::Deadline { .. }
        | ModelError::Cut { .. } => true,
        ModelError::Server { status, .. } => {
            status_code(status).is_some_and(|c| c >= 500 || c == 408 || c == 429)
        }
        _ => false,
    }
}

/// Whether a refusal is the server rejecting the schema field itself (a
/// 400 or 422): a clean "not supported". A key problem (401, 403), a wrong
/// path (404) or a transient error says nothing about schemas.
fn refuses_schema(e: &ModelError) -> bool {
    matches!(e, ModelError::Server { status, .. } if matches!(status_code(status), Some(400 | 422)))
}

/// Asks `client` (built with the style to test) for the probe schema,
/// retrying a failure in transit with a short backoff. An error is
/// returned only for what no retry or fallback may pass over (a refused
/// redirect, a missing key, a bad URL).
pub async fn probe_structured<M: ModelClient>(client: &M) -> Result<ProbeOutcome, ModelError> {
    let mut attempt = 1;
    loop {
        let e = match client.complete(&probe_request(), &mut Silent).await {
            Ok(c) => return Ok(ProbeOutcome::Verdict(probe_answer_ok(&c.text))),
            Err(e) if refuses_schema(&e) => return Ok(ProbeOutcome::Verdict(false)),
            Err(
                e @ (ModelError::Redirected { .. }
                | ModelError::NoKey { .. }
                | ModelError::BadBaseUrl { .. }),
            ) => return Err(e),
            Err(e) => e,
        };
        if !is_transient(&e) || attempt >= PROBE_ATTEMPTS {
            return Ok(ProbeOutcome::NoVerdict(e));
        }
        tracing::info!(error = %e, attempt, "the structured-output probe failed in transit; trying again");
        tokio::time::sleep(PROBE_BACKOFF * attempt).await;
        attempt += 1;
    }
}

/// What was learnt about one server and model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CachedProbe {
    pub kind: ServerKind,
    pub structured: StructuredStyle,
    pub context_tokens: Option<u32>,
    /// Seconds since the Unix epoch.
    pub probed_at: u64,
}

/// Probe results are trusted for a day: servers are restarted with other
/// flags or models, and a stale answer would only cost a Markdown draft.
const CACHE_TTL_SECS: u64 = 24 * 3600;

/// migagent's cache folder: `$MIGAGENT_CACHE_DIR`, else the platform cache
/// folder's `migagent`.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("MIGAGENT_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("migagent")))
}

fn cache_file() -> Option<PathBuf> {
    cache_dir().map(|d| d.join("servers.json"))
}

fn cache_key(base_url: &str, model: &str) -> String {
    format!("{} {model}", base_url.trim_end_matches('/'))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_cache() -> std::collections::BTreeMap<String, CachedProbe> {
    cache_file()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// A fresh cached probe of this server and model, if any.
pub fn cached(base_url: &str, model: &str) -> Option<CachedProbe> {
    read_cache()
        .remove(&cache_key(base_url, model))
        .filter(|c| now_secs().saturating_sub(c.probed_at) < CACHE_TTL_SECS)
}

/// Remembers a probe. The cache only saves time, so a failure to write it
/// is logged and otherwise ignored.
pub fn remember(
    base_url: &str,
    model: &str,
    kind: ServerKind,
    structured: StructuredStyle,
    context_tokens: Option<u32>,
) {
    let Some(path) = cache_file() else {
        return;
    };
    let mut all = read_cache();
    all.insert(
        cache_key(base_url, model),
        CachedProbe {
            kind,
            structured,
            context_tokens,
            probed_at: now_secs(),
        },
    );
    let result = std::fs::create_dir_all(path.parent().unwrap_or(&path))
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::to_vec_pretty(&all).map_err(|e| e.to_string()))
        .and_then(|bytes| crate::store::write_atomic(&path, &bytes).map_err(|e| e.to_string()));
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot cache the server probe");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_allows_loopback_and_listed_hosts_only() {
        assert!(check_offline("http://127.0.0.1:8080/v1", &[]).is_ok());
        assert!(check_offline("http://[::1]:8080/v1", &[]).is_ok());
        assert!(check_offline("http://localhost:11434/v1", &[]).is_ok());
        let err = check_offline("https://api.openai.com/v1", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("api.openai.com") && err.contains("offline_allowed_hosts"),
            "{err}"
        );
        let lan = vec!["GPU-box.internal".to_string(), "fd00::5".to_string()];
        assert!(check_offline("http://gpu-box.internal:8000/v1", &lan).is_ok());
        assert!(check_offline("http://[fd00::5]:8000/v1", &lan).is_ok());
        assert!(check_offline("http://gpu-box.internal.evil.example/v1", &lan).is_err());
        assert!(check_offline("http://localhost@evil.example/v1", &lan).is_err());
        assert!(check_offline("not a url", &lan).is_err());
        assert!(check_offline("http://0.0.0.0:9?@gpu-box.internal/v1", &lan).is_err());
        assert!(check_offline("http://0.0.0.0:9?@127.0.0.1/v1", &[]).is_err());
    }

    #[test]
    fn probe_answers_are_judged_exactly() {
        assert!(probe_answer_ok(r#"{"ready":"yes"}"#));
        assert!(probe_answer_ok("```json\n{\"ready\": \"yes\"}\n```"));
        assert!(!probe_answer_ok(r#"{"ready":"yes","extra":1}"#));
        assert!(!probe_answer_ok("Yes, I am ready!"));
    }

    #[test]
    fn styles_put_the_schema_where_each_server_reads_it() {
        let req = probe_request();
        let s = req.structured.as_ref().unwrap();
        let mut body = serde_json::json!({});
        StructuredStyle::OllamaFormat.apply(&mut body, s);
        assert_eq!(body["format"]["required"][0], "ready");
        let mut body = serde_json::json!({});
        StructuredStyle::OpenAiStrict.apply(&mut body, s);
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        let mut body = serde_json::json!({});
        StructuredStyle::None.apply(&mut body, s);
        assert_eq!(body, serde_json::json!({}));
    }

    /// Answers each request with the next of `answers`, counting them.
    struct Scripted {
        answers: std::sync::Mutex<Vec<Result<String, ModelError>>>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Scripted {
        fn new(mut answers: Vec<Result<String, ModelError>>) -> Scripted {
            answers.reverse();
            Scripted {
                answers: std::sync::Mutex::new(answers),
                calls: Default::default(),
            }
        }
        fn calls(&self) -> usize {
            self.calls.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl ModelClient for Scripted {
        async fn complete(
            &self,
            _: &ChatRequest,
            _: &mut dyn super::super::TokenSink,
        ) -> Result<super::super::Completion, ModelError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let next = self.answers.lock().unwrap().pop().unwrap();
            next.map(|text| super::super::Completion {
                text,
                ..Default::default()
            })
        }
    }

    fn cut() -> ModelError {
        ModelError::Cut {
            base_url: "http://h/v1".into(),
            attempts: 3,
        }
    }

    fn refused(status: &str) -> ModelError {
        ModelError::Server {
            base_url: "http://h/v1".into(),
            status: status.into(),
            message: "no".into(),
        }
    }

    #[test]
    fn only_failures_in_transit_are_transient() {
        assert!(is_transient(&cut()));
        assert!(is_transient(&refused("503 Service Unavailable")));
        assert!(is_transient(&refused("429 Too Many Requests")));
        assert!(!is_transient(&refused("400 Bad Request")));
        assert!(!is_transient(&refused("401 Unauthorized")));
        assert!(refuses_schema(&refused("400 Bad Request")));
        assert!(refuses_schema(&refused("422 Unprocessable Entity")));
        assert!(!refuses_schema(&refused("500 Internal Server Error")));
        assert!(!refuses_schema(&refused("404 Not Found")));
    }

    #[tokio::test]
    async fn a_probe_cut_in_transit_is_retried_and_then_no_verdict() {
        let client = Scripted::new(vec![Err(cut()), Ok(r#"{"ready":"yes"}"#.into())]);
        let outcome = probe_structured(&client).await.unwrap();
        assert!(
            matches!(outcome, ProbeOutcome::Verdict(true)),
            "{outcome:?}"
        );
        assert_eq!(client.calls(), 2);

        let client = Scripted::new(vec![
            Err(cut()),
            Err(refused("502 Bad Gateway")),
            Err(cut()),
        ]);
        let outcome = probe_structured(&client).await.unwrap();
        assert!(matches!(outcome, ProbeOutcome::NoVerdict(_)), "{outcome:?}");
        assert_eq!(client.calls(), PROBE_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_clean_answer_or_refusal_of_the_schema_is_a_verdict_at_once() {
        for (answer, verdict) in [
            (Ok("Yes, ready.".to_string()), false),
            (Err(refused("400 Bad Request")), false),
            (Ok(r#"{"ready":"yes"}"#.to_string()), true),
        ] {
            let client = Scripted::new(vec![answer]);
            let outcome = probe_structured(&client).await.unwrap();
            assert!(
                matches!(outcome, ProbeOutcome::Verdict(v) if v == verdict),
                "{outcome:?}"
            );
            assert_eq!(client.calls(), 1);
        }
        // A key problem is no verdict, and no retry either.
        let client = Scripted::new(vec![Err(refused("401 Unauthorized"))]);
        let outcome = probe_structured(&client).await.unwrap();
        assert!(matches!(outcome, ProbeOutcome::NoVerdict(_)), "{outcome:?}");
        assert_eq!(client.calls(), 1);
    }

    #[test]
    fn roots_drop_the_api_version() {
        assert_eq!(
            root_of("http://127.0.0.1:8080/v1/"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(root_of("http://h:1/api"), "http://h:1/api");
    }
}
