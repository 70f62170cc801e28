//! A real HTTP server (wiremock) speaking the OpenAI chat completions API
//! with SSE streaming, the cooperative model behind it, and the faults a
//! real server shows: redirects, cut streams, huge or endless answers,
//! answers that are not a stream, tokens dripped slowly or none at all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::requests::{requested_artifact, template_in, user_message};

/// Drafts artifacts the way a cooperative model would: it fills the
/// template in the request with text that names the artifact and the call
/// number, so tests can trace which draft reached which request.
struct FakeModel {
    calls: Arc<AtomicUsize>,
    /// When each chat request arrived, to tell which were in flight at once.
    arrivals: Arc<Mutex<Vec<Instant>>>,
    /// Each chat request answered with a draft, beside the text it got.
    exchanges: Arc<Mutex<Vec<(Value, String)>>>,
    /// Finish reason to report on every answer ("stop" unless a test wants
    /// "length").
    finish_reason: &'static str,
    /// How long the server waits before answering.
    delay: Duration,
    /// Answer a request that carries a JSON schema with JSON following it.
    enforce_schema: bool,
    /// How many answers, from the first, end without a finish reason.
    cut_first: usize,
    /// Answer with this raw body and content type instead of a draft.
    raw: Option<(String, Vec<u8>)>,
    /// A request whose body holds this text fails with 500.
    fail_when: Option<String>,
    /// Put the whole draft, padded to this many bytes, in one chunk.
    huge_chunk: Option<usize>,
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
/// chunks omit `object`, as some local servers do. A cut stream stops after
/// the deltas, as when a server dies mid-answer.
fn sse_body(text: &str, finish_reason: &str, cut: bool, piece_chars: usize) -> String {
    let mut body = String::new();
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(piece_chars) {
        let s: String = piece.iter().collect();
        let chunk = serde_json::json!({
            "id": "chatcmpl-test", "model": "fake-model",
            "choices": [{"index": 0, "delta": {"content": s}, "finish_reason": null}]
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if cut {
        return body;
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
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push(Instant::now());
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return ResponseTemplate::new(400).set_body_string(format!("bad json: {e}")),
        };
        if let Some(needle) = &self.fail_when {
            if String::from_utf8_lossy(&request.body).contains(needle.as_str()) {
                return ResponseTemplate::new(500).set_body_string("the model crashed");
            }
        }
        let user = user_message(&body);
        let id = requested_artifact(&user);
        let marker = format!("fake-{id}-call{n}");
        let schema = &body["response_format"]["json_schema"]["schema"];
        if let Some((content_type, bytes)) = &self.raw {
            return ResponseTemplate::new(200)
                .insert_header("content-type", content_type.as_str())
                .set_body_bytes(bytes.clone());
        }
        let fixed = self.answers.iter().find(|(a, _)| *a == id);
        let mut text = match template_in(&user) {
            _ if fixed.is_some() => fixed.map(|(_, t)| t.clone()).unwrap_or_default(),
            _ if self.enforce_schema && schema.is_object() => sample_of(schema, &marker).to_string(),
            Some(template) => fill(&template, &marker),
            None => format!(
                "### Verified by evidence\n- {marker}\n\n### Not verified\n- none\n\n### Blocks sign-off\n- None\n"
            ),
        };
        let mut piece_chars = 40;
        if let Some(bytes) = self.huge_chunk {
            while text.len() < bytes {
                text.push_str("filler filler filler filler filler filler\n");
            }
            piece_chars = text.chars().count();
        }
        if let Ok(mut exchanges) = self.exchanges.lock() {
            exchanges.push((body.clone(), text.clone()));
        }
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(sse_body(
                &text,
                self.finish_reason,
                n <= self.cut_first,
                piece_chars,
            ))
            .set_delay(self.delay)
    }
}

/// Answers every request with a redirect to `to` followed by the request's
/// path, or, for [`Redirect::Moved`], to the same server under `/moved`.
struct Redirector {
    status: u16,
    to: Redirect,
}

/// Where a fake server's redirects point.
#[derive(Clone)]
pub enum Redirect {
    /// Another server: this base (`http://host:port`) plus the request path.
    To(String),
    /// The same scheme, host and port, under `/moved`, where the server
    /// answers as usual.
    Moved,
}

impl Respond for Redirector {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let location = match &self.to {
            Redirect::To(base) => format!("{base}{}", request.url.path()),
            // The Host the client asked for: wiremock's own URL of the
            // request does not carry it.
            Redirect::Moved => format!(
                "http://{}/moved{}",
                request
                    .headers
                    .get("host")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("127.0.0.1"),
                request.url.path()
            ),
        };
        ResponseTemplate::new(self.status).insert_header("location", location.as_str())
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
    redirect: Option<(u16, Redirect)>,
    cut_first: usize,
    raw: Option<(String, Vec<u8>)>,
    fail_when: Option<String>,
    huge_chunk: Option<usize>,
    drip: Option<Drip>,
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

    /// Answers `status` (302, 307, 308) with a `Location` to every request
    /// but `GET /v1/models` when [`Self::models`] lists models.
    pub fn redirect(mut self, status: u16, to: Redirect) -> Self {
        self.redirect = Some((status, to));
        self
    }

    /// Ends the first `n` chat answers after their text, without a finish
    /// reason or `[DONE]`, as a server that dies mid-answer.
    pub fn cut_streams(mut self, n: usize) -> Self {
        self.cut_first = n;
        self
    }

    /// Answers every chat request `200` with this body and content type:
    /// an HTML page, plain text, JSON that is no completion.
    pub fn raw_answer(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.raw = Some((content_type.to_string(), body.into()));
        self
    }

    /// Sends the draft padded to at least `bytes` bytes, in one chunk.
    /// Fails every chat request whose body holds `needle` with a 500, as a
    /// server that crashes on one prompt.
    pub fn fail_when(mut self, needle: &str) -> Self {
        self.fail_when = Some(needle.to_string());
        self
    }

    pub fn huge_chunk(mut self, bytes: usize) -> Self {
        self.huge_chunk = Some(bytes);
        self
    }

    /// Streams `ticks` tokens, one every `every`, then ends without a
    /// finish reason: a server that is never idle long enough to time out.
    /// (Served by a small listener of its own: wiremock sends whole bodies.)
    pub fn drip(mut self, every: Duration, ticks: usize) -> Self {
        self.drip = Some(Drip {
            every: Some(every),
            ticks,
        });
        self
    }

    /// Accepts chat requests and never answers them.
    pub fn hang(mut self) -> Self {
        self.drip = Some(Drip {
            every: None,
            ticks: 0,
        });
        self
    }

    /// Starts the server on a free loopback port.
    pub async fn start(self) -> FakeServer {
        let server = MockServer::start().await;
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let model = || FakeModel {
            calls: Arc::new(AtomicUsize::new(0)),
            arrivals: arrivals.clone(),
            exchanges: exchanges.clone(),
            finish_reason: self.finish_reason,
            delay: self.delay,
            enforce_schema: self.enforce_schema,
            cut_first: self.cut_first,
            raw: self.raw.clone(),
            fail_when: self.fail_when.clone(),
            huge_chunk: self.huge_chunk,
            answers: self.answers.clone(),
        };
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(model())
            .with_priority(3)
            .mount(&server)
            .await;
        if let Some(ids) = &self.models {
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
                .with_priority(1)
                .mount(&server)
                .await;
        }
        if let Some((status, to)) = self.redirect.clone() {
            if matches!(to, Redirect::Moved) {
                Mock::given(method("POST"))
                    .and(path("/moved/v1/chat/completions"))
                    .respond_with(model())
                    .with_priority(1)
                    .mount(&server)
                    .await;
            }
            Mock::given(path_regex("^/v1/"))
                .respond_with(Redirector { status, to })
                .with_priority(2)
                .mount(&server)
                .await;
        }
        let drip = match self.drip {
            Some(d) => Some(d.start().await),
            None => None,
        };
        FakeServer {
            server,
            drip,
            arrivals,
            exchanges,
        }
    }
}

/// How a dripping server answers chat requests.
#[derive(Clone, Copy)]
struct Drip {
    /// `None`: never answer at all.
    every: Option<Duration>,
    ticks: usize,
}

/// A running dripping server: its port and the chat requests it took.
struct DripServer {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl Drip {
    async fn start(self) -> DripServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the dripping server");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    // The request head; the body is not needed.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if !head.starts_with(b"POST /v1/chat/completions") {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let Some(every) = self.every else {
                        // Hold the connection open, answering nothing.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    };
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for _ in 0..self.ticks {
                        let chunk = serde_json::json!({
                            "model": "fake-model",
                            "choices": [{"index": 0, "delta": {"content": "tick "}, "finish_reason": null}]
                        });
                        let line = format!("data: {chunk}\n\n");
                        if stream.write_all(line.as_bytes()).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(every).await;
                    }
                });
            }
        });
        DripServer { port, requests }
    }
}

/// A running fake server and the requests it received:
/// `FakeServer::new().structured().delay(d).finish_reason("length").start().await`.
pub struct FakeServer {
    server: MockServer,
    drip: Option<DripServer>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    exchanges: Arc<Mutex<Vec<(Value, String)>>>,
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
            redirect: None,
            cut_first: 0,
            raw: None,
            fail_when: None,
            huge_chunk: None,
            drip: None,
            answers: Vec::new(),
        }
    }

    /// The OpenAI-style base URL to hand to `--base-url`.
    pub fn base_url(&self) -> String {
        match &self.drip {
            Some(d) => format!("http://127.0.0.1:{}/v1", d.port),
            None => format!("{}/v1", self.server.uri()),
        }
    }

    /// How many chat requests arrived within `window` of the first one
    /// after `since` requests: with a server that takes longer than
    /// `window` to answer, the requests a client had in flight at once.
    pub fn arrived_together(&self, since: usize, window: Duration) -> usize {
        let arrivals = self.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
        let Some(first) = arrivals.get(since) else {
            return 0;
        };
        arrivals[since..]
            .iter()
            .filter(|t| t.duration_since(*first) < window)
            .count()
    }

    /// Chat requests that arrived so far.
    pub fn chat_arrivals(&self) -> usize {
        self.arrivals.lock().map_or(0, |a| a.len())
    }

    /// The chat requests answered with a draft so far, in the order they
    /// were answered, each beside the text it was answered with: what a
    /// layout that re-sends the whole history would carry (`bench/perf`).
    #[allow(dead_code)] // used by the perf bench, not by every test build
    pub fn exchanges(&self) -> Vec<(Value, String)> {
        self.exchanges.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Chat requests a dripping or hanging server took.
    pub fn dripped_requests(&self) -> usize {
        self.drip
            .as_ref()
            .map_or(0, |d| d.requests.load(Ordering::SeqCst))
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

    /// Structured-output probes received so far: chat requests whose
    /// schema is migagent's probe, in whatever style the server takes it.
    pub async fn probe_requests(&self) -> usize {
        self.request_bodies()
            .await
            .iter()
            .filter(|b| {
                b["response_format"]["json_schema"]["name"] == "probe"
                    || b["format"]["properties"]["ready"].is_object()
            })
            .count()
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
