//! Shared test support: a real HTTP server speaking the OpenAI chat
//! completions API with SSE streaming (wiremock), and helpers to run the
//! `migagent` binary in an isolated folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const API_KEY: &str = "sk-test-0123456789-secret-key";

/// Drafts artifacts the way a cooperative model would: it fills the
/// template in the request with text that names the artifact and the call
/// number, so tests can trace which draft reached which request.
pub struct FakeModel {
    calls: Arc<AtomicUsize>,
    /// Finish reason to report on every answer ("stop" unless a test wants
    /// "length").
    pub finish_reason: &'static str,
    /// How long the server waits before answering.
    pub delay: std::time::Duration,
    /// Answer a request that carries a JSON schema with JSON following it.
    pub enforce_schema: bool,
}

/// The content of the first message with `role` in a chat request body.
pub fn message(body: &Value, role: &str) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["role"] == role))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

pub fn user_message(body: &Value) -> String {
    message(body, "user")
}

pub fn system_message(body: &Value) -> String {
    message(body, "system")
}

/// The artifact id a request drafts, from the `# Task: ID: Title` or
/// `# Panel review: ID: Title` line of the assembly templates.
pub fn requested_artifact(user: &str) -> String {
    let rest = user
        .lines()
        .find_map(|l| {
            l.strip_prefix("# Task: ")
                .or_else(|| l.strip_prefix("# Panel review: "))
        })
        .unwrap_or("");
    rest.split(':').next().unwrap_or("").trim().to_string()
}

/// The template block of a draft request: the fenced block after
/// "## Artifact template".
pub fn template_in(user: &str) -> Option<String> {
    let after = user.split("## Artifact template").nth(1)?;
    let start = after.find("````markdown\n")? + "````markdown\n".len();
    let end = after[start..].find("\n````")?;
    Some(after[start..start + end].to_string())
}

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

/// Splits text into SSE chunks the way servers stream: several deltas, one
/// final chunk with the finish reason, a usage chunk, then `[DONE]`. The
/// chunks omit `object`, as some local servers do.
/// The smallest value that follows `schema`: the first enum value, one item
/// per list, every property; strings carry `marker`.
pub fn sample_of(schema: &Value, marker: &str) -> Value {
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

pub fn sse_body(text: &str, finish_reason: &str) -> String {
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
        let text = match template_in(&user) {
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

/// A running fake server and the requests it received.
pub struct FakeServer {
    pub server: MockServer,
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        FakeServer::start_with("stop").await
    }

    pub async fn start_with(finish_reason: &'static str) -> FakeServer {
        FakeServer::start_full(finish_reason, std::time::Duration::ZERO).await
    }

    /// A server that takes `delay` to answer each request.
    pub async fn start_delayed(delay: std::time::Duration) -> FakeServer {
        FakeServer::start_full("stop", delay).await
    }

    /// A server that, like llama.cpp, answers a request carrying a JSON
    /// schema with JSON that follows it, and lists `fake-model`.
    pub async fn start_structured() -> FakeServer {
        let fake = FakeServer::start_full_with("stop", std::time::Duration::ZERO, true).await;
        fake.serve_models(&["fake-model"]).await;
        fake
    }

    async fn start_full(finish_reason: &'static str, delay: std::time::Duration) -> FakeServer {
        FakeServer::start_full_with(finish_reason, delay, false).await
    }

    async fn start_full_with(
        finish_reason: &'static str,
        delay: std::time::Duration,
        enforce_schema: bool,
    ) -> FakeServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(FakeModel {
                calls: Arc::new(AtomicUsize::new(0)),
                finish_reason,
                delay,
                enforce_schema,
            })
            .mount(&server)
            .await;
        FakeServer { server }
    }

    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Makes the server list `ids` at `GET /v1/models`, as OpenAI does.
    pub async fn serve_models(&self, ids: &[&str]) {
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
            .mount(&self.server)
            .await;
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

/// An isolated place to run the binary: its own cwd, state folder and
/// config folder, and a clean environment for the model settings.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".migagent")
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.state_dir().join("runs").join(run_id)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// `migagent run --no-input` on `need` against `base_url`, as `run_id`.
    pub async fn start_run(
        &self,
        need: &str,
        base_url: &str,
        run_id: &str,
    ) -> (i32, String, String) {
        let mut cmd = self.cmd();
        cmd.args([
            "run",
            "--no-input",
            "--need",
            need,
            "--base-url",
            base_url,
            "--run-id",
            run_id,
        ]);
        run(cmd).await
    }

    /// `migagent status RUN --json`, parsed.
    pub async fn status(&self, run_id: &str) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["status", run_id, "--json"]);
        let (code, out, err) = run(cmd).await;
        assert_eq!(code, 0, "status failed: {out}{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
    }

    /// The binary, run in the sandbox with no inherited model settings.
    pub fn cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_migagent"));
        cmd.current_dir(self.dir.path())
            .env_remove("OPENAI_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("MIGAGENT_STATE_DIR")
            .env_remove("RUST_LOG")
            .env("MIGAGENT_CONFIG_DIR", self.dir.path().join("config"))
            .env("MIGAGENT_CACHE_DIR", self.dir.path().join("cache"))
            .env("NO_COLOR", "1")
            .env("USER", "tester")
            .stdin(std::process::Stdio::null());
        cmd
    }
}

/// Runs a command to completion off the async runtime, returning its exit
/// code, stdout and stderr.
pub async fn run(mut cmd: std::process::Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("spawn migagent");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Temporary files left under `dir`; atomic writes must leave none.
pub fn temp_files_under(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A listener on every interface that counts the connections it accepts and
/// answers each with an HTTP 500. `http://0.0.0.0:PORT/v1` is not loopback
/// by migagent's offline rule, yet a connection to it lands here, so a
/// request that slipped past an offline refusal is counted.
pub struct Tripwire {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Tripwire {
    pub fn start() -> Tripwire {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
        let port = listener.local_addr().expect("local addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Tripwire { port, connections }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A base URL that is not loopback by migagent's rule but reaches this
    /// listener.
    pub fn url(&self) -> String {
        format!("http://0.0.0.0:{}/v1", self.port)
    }

    /// Connections accepted so far, after giving the accept thread a moment.
    pub fn connections(&self) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.connections.load(Ordering::SeqCst)
    }
}
