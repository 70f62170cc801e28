//! `migagent doctor` against a live fake server, a dead port, a missing key,
//! an offline refusal, and with a key that must never be printed.

use crate::support::{files_under, FakeServer, Sandbox, Tripwire};
use serde_json::Value;

fn parse(out: &str, err: &str) -> Value {
    serde_json::from_str(out)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e})\nstdout: {out}\nstderr: {err}"))
}

/// The check called `name` in a JSON report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks is a list")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no '{name}' check in {report:#}"))
}

fn check_names(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks is a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The human line for check `name` ("FAIL reachable   ...").
fn line_for<'a>(out: &'a str, tag: &str, name: &str) -> Option<&'a str> {
    out.lines().find(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some(tag) && words.next() == Some(name)
    })
}

#[tokio::test]
async fn doctor_reports_a_live_server_ready() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().models(&["fake-model"]).start().await;
    let url = fake.base_url();

    let (code, out, err) = sandbox
        .cmd(&["doctor", "--profile", "local", "--base-url", &url, "--json"])
        .run()
        .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let report = parse(&out, &err);
    assert_eq!(report["profile"], "local");
    assert_eq!(report["offline"], false);
    assert_eq!(report["models"], serde_json::json!(["fake-model"]));
    assert_eq!(
        report["model"], "fake-model",
        "the local profile names no model, so the server's first must be used"
    );
    assert_eq!(check(&report, "reachable")["verdict"], "ok");
    assert_eq!(check(&report, "completion")["verdict"], "ok", "{report:#}");
    assert!(
        report["completion_ms"].is_u64(),
        "completion_ms must be set: {report:#}"
    );
    assert_eq!(
        report["structured"], "none",
        "the fake answers the probe with plain text, so schemas are not enforced"
    );
    assert_eq!(check(&report, "structured")["verdict"], "warn");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] != "fail"),
        "{report:#}"
    );
    // The completion check really asked the fake server for one token.
    let bodies = fake.request_bodies().await;
    assert!(
        bodies
            .iter()
            .any(|b| b["max_tokens"] == 1 && b["model"] == "fake-model"),
        "no one-token completion for fake-model reached the server: {bodies:#?}"
    );

    let (code, out, err) = sandbox
        .cmd(&["doctor", "--profile", "local", "--base-url", &url])
        .run()
        .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("Ready"), "human output: {out}");
    assert!(!out.contains("Not ready"), "human output: {out}");
    assert!(line_for(&out, "ok", "completion").is_some(), "{out}");
    assert!(line_for(&out, "warn", "structured").is_some(), "{out}");
}

#[tokio::test]
async fn doctor_fails_on_a_dead_port_and_says_how_to_start_a_server() {
    let sandbox = Sandbox::new();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let (code, out, err) = sandbox
        .cmd(&["doctor", "--profile", "local", "--base-url", &url])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(
        line_for(&out, "FAIL", "reachable").is_some(),
        "no FAIL line for reachable: {out}"
    );
    assert!(
        out.contains("migagent local-llm start"),
        "doctor must say how to start a local server: {out}"
    );
    assert!(out.contains("Not ready"), "{out}");

    let (code, out, err) = sandbox
        .cmd(&["doctor", "--profile", "local", "--base-url", &url, "--json"])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let report = parse(&out, &err);
    assert_eq!(check(&report, "reachable")["verdict"], "fail");
    assert!(
        !check_names(&report).contains(&"completion".to_string()),
        "checks that need the server must not run: {report:#}"
    );
}

#[tokio::test]
async fn doctor_without_the_openai_key_fails_on_key_and_stops() {
    let sandbox = Sandbox::new();
    let (code, out, err) = sandbox
        .cmd(&["doctor", "--profile", "openai", "--json"])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let report = parse(&out, &err);
    let key = check(&report, "key");
    assert_eq!(key["verdict"], "fail", "{report:#}");
    assert!(
        key["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("OPENAI_API_KEY"),
        "the key check must name OPENAI_API_KEY: {key}"
    );
    let names = check_names(&report);
    assert!(
        !names.contains(&"reachable".to_string()),
        "doctor went on to contact the server without a key: {names:?}"
    );
    assert_eq!(names.last().map(String::as_str), Some("key"), "{names:?}");

    let (code, out, err) = sandbox.cmd(&["doctor", "--profile", "openai"]).run().await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let line = line_for(&out, "FAIL", "key").unwrap_or_else(|| panic!("no FAIL key line: {out}"));
    assert!(line.contains("OPENAI_API_KEY"), "{line}");
}

#[tokio::test]
async fn doctor_offline_refuses_a_public_host_before_any_request() {
    let sandbox = Sandbox::new();
    let (code, out, err) = sandbox
        .cmd(&[
            "doctor",
            "--offline",
            "--base-url",
            "https://api.openai.com/v1",
            "--json",
        ])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let report = parse(&out, &err);
    let checks = report["checks"].as_array().expect("checks");
    assert_eq!(
        checks.len(),
        1,
        "the refusal must come before every other check: {report:#}"
    );
    assert_eq!(checks[0]["verdict"], "fail");
    let detail = checks[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("api.openai.com"), "{detail}");
    assert!(detail.contains("offline_allowed_hosts"), "{detail}");
    assert!(report["models"].as_array().is_some_and(Vec::is_empty));

    let (code, out, err) = sandbox
        .cmd(&[
            "doctor",
            "--offline",
            "--base-url",
            "https://api.openai.com/v1",
        ])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{out}");
    assert!(fails[0].contains("api.openai.com"), "{out}");
    assert!(line_for(&out, "ok", "reachable").is_none(), "{out}");
}

/// The refusal above, observed: a non-loopback URL that reaches a local
/// listener gets no connection from `doctor --offline`, while the same
/// command with the host allowed does reach it.
#[tokio::test]
async fn doctor_offline_sends_nothing_to_a_refused_host() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    let url = wire.url();
    let (code, out, err) = sandbox
        .cmd(&["doctor", "--offline", "--base-url", &url, "--json"])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert_eq!(wire.connections(), 0, "doctor --offline contacted {url}");
    let report = parse(&out, &err);
    assert_eq!(
        check_names(&report),
        vec!["server".to_string()],
        "{report:#}"
    );
    assert!(
        check(&report, "server")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("0.0.0.0"),
        "{report:#}"
    );

    sandbox.write_config("offline_allowed_hosts = [\"0.0.0.0\"]\n");
    let (code, out, err) = sandbox
        .cmd(&["doctor", "--offline", "--base-url", &url])
        .run()
        .await;
    assert!(
        wire.connections() >= 1,
        "control: an allowed host was not contacted, so the listener proves nothing\nexit {code}\n{out}{err}"
    );
}

#[tokio::test]
async fn doctor_never_prints_the_key() {
    const SECRET: &str = "sk-test-secret";
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().models(&["fake-model"]).start().await;
    let url = fake.base_url();
    // The key goes to a host other than the profile's only when named for
    // it, as here.
    let args = [
        "--profile",
        "openai",
        "--base-url",
        &url,
        "--model",
        "fake-model",
        "--api-key-env",
        "OPENAI_API_KEY",
    ];

    let (code, out, err) = sandbox
        .cmd(&["doctor"])
        .args(&args)
        .arg("--json")
        .env("OPENAI_API_KEY", SECRET)
        .run()
        .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        !out.contains(SECRET) && !err.contains(SECRET),
        "the key was printed"
    );
    let report = parse(&out, &err);
    let key = check(&report, "key");
    assert_eq!(key["verdict"], "ok", "{key}");
    assert!(
        key["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("is set"),
        "{key}"
    );

    for extra in [&[][..], &["-vv"][..]] {
        let (code, out, err) = sandbox
            .cmd(&["doctor"])
            .args(&args)
            .args(extra)
            .env("OPENAI_API_KEY", SECRET)
            .run()
            .await;
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        assert!(
            !out.contains(SECRET) && !err.contains(SECRET),
            "the key was printed (flags {extra:?})"
        );
        let line = line_for(&out, "ok", "key").unwrap_or_else(|| panic!("no ok key line: {out}"));
        assert!(line.contains("OPENAI_API_KEY is set"), "{line}");
    }

    // The key was really used (so its absence above means it was hidden),
    // and it was sent only as the bearer token.
    let requests = fake.all_requests().await;
    assert!(
        requests
            .iter()
            .any(|(_, _, auth)| auth.as_deref() == Some("Bearer sk-test-secret")),
        "the key never reached the server: {requests:?}"
    );
    // Nor was it written to any file (config, cache).
    for file in files_under(sandbox.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the key was written to {}",
            file.display()
        );
    }
}
