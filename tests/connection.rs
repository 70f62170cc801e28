//! Connecting to the model server: a dead server leaves no run behind, a
//! probe that failed in transit is not a verdict, a profile that says
//! `structured = "schema"` is trusted, the model comes from the flags, the
//! environment, the profile or the server's list, and a change of model on
//! resume is journalled.

use serde_json::Value;

use crate::support::{FakeServer, Sandbox};

const NEED: &str = "Move the sessions store from Redis 6 to Valkey 8";

/// A loopback URL where nothing listens: a port taken and let go.
fn dead_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

/// `run --no-input` against `base_url` with `extra` flags.
async fn run(sandbox: &Sandbox, base_url: &str, id: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "run",
        "--no-input",
        "--need",
        NEED,
        "--base-url",
        base_url,
        "--run-id",
        id,
    ];
    args.extend_from_slice(extra);
    sandbox.cmd(&args).run().await
}

/// The model named in every chat request the server took.
async fn models_sent(fake: &FakeServer) -> Vec<String> {
    fake.request_bodies()
        .await
        .iter()
        .map(|b| b["model"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_creates_no_run() {
    let sandbox = Sandbox::new();
    let base = dead_base_url();
    for attempt in ["first", "second"] {
        let (code, out, err) = run(&sandbox, &base, attempt, &[]).await;
        assert_ne!(code, 0, "{out}{err}");
        assert!(err.contains(&base), "the URL is named: {err}");
        assert!(err.contains("migagent doctor"), "{err}");
        assert!(err.contains("--base-url"), "{err}");
        assert!(!err.contains("does not enforce JSON schemas"), "{err}");
    }
    let (code, out, err) = sandbox.cmd(&["list", "--json"]).run().await;
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["runs"], serde_json::json!([]), "{out}");
    let runs = sandbox.state_dir().join("runs");
    let left = std::fs::read_dir(&runs).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no folder under {}", runs.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_cut_in_transit_is_retried_and_not_cached() {
    // Every probe attempt's stream is cut (the client retries a cut
    // stream three times itself, and the probe is tried three times);
    // the draft after them is whole.
    let fake = FakeServer::new().structured().cut_streams(9).start().await;
    let sandbox = Sandbox::new();
    let base = fake.base_url();
    let (code, out, err) = run(&sandbox, &base, "blip", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(
        fake.probe_requests().await,
        9,
        "three probes of three tries"
    );
    assert!(err.contains("could not probe structured output"), "{err}");
    assert!(!err.contains("does not enforce JSON schemas"), "{err}");
    assert!(err.contains("artifacts drafted as Markdown"), "{err}");
    let cache = sandbox.path().join("cache/servers.json");
    let cached = std::fs::read_to_string(&cache).unwrap_or_default();
    assert!(!cached.contains(&base), "nothing cached: {cached}");

    // The next command probes again, and the clean answer enforces schemas.
    let (code, out, err) = run(&sandbox, &base, "calm", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(fake.probe_requests().await, 10, "probed once more");
    assert!(
        err.contains("artifacts drafted as schema-checked JSON"),
        "{err}"
    );
    assert_eq!(sandbox.status("calm").await["pending"]["format"], "json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_profile_is_trusted_without_a_probe() {
    let fake = FakeServer::new().structured().start().await;
    let sandbox = Sandbox::new();
    sandbox.write_config("[profiles.lab]\nstructured = \"schema\"\n");
    let (code, out, err) = run(&sandbox, &fake.base_url(), "s", &["--profile", "lab"]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(
        fake.probe_requests().await,
        0,
        "no probe reached the server"
    );
    let bodies = fake.request_bodies().await;
    assert!(
        bodies
            .iter()
            .all(|b| b["response_format"]["json_schema"].is_object()),
        "every draft asks for its schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_first_one_the_server_lists_is_sent() {
    let fake = FakeServer::new()
        .models(&["other-model", "second-model"])
        .start()
        .await;
    let base = fake.base_url();
    let sandbox = Sandbox::new();
    let (code, out, err) = run(&sandbox, &base, "listed", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    let sent = models_sent(&fake).await;
    assert!(
        !sent.is_empty() && sent.iter().all(|m| m == "other-model"),
        "{sent:?}"
    );
    assert!(
        err.contains("model other-model (the first model the server lists)"),
        "{err}"
    );
    // The profile is named once on the connection line.
    let line = err.lines().find(|l| l.starts_with("Run listed")).unwrap();
    assert_eq!(line.matches("profile openai").count(), 1, "{line}");

    let (code, out, err) = run(&sandbox, &base, "flag", &["--model", "x"]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "x");
    assert!(err.contains("model x (--model)"), "{err}");

    // A profile named on the command line brings its own model.
    let (code, out, err) = run(&sandbox, &base, "named", &["--profile", "openai"]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "gpt-4o-mini");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_and_profile_come_from_the_environment() {
    let fake = FakeServer::new().models(&["listed-model"]).start().await;
    let base = fake.base_url();
    let both = Sandbox::new()
        .env("MIGAGENT_MODEL", "mig-model")
        .env("OPENAI_MODEL", "oai-model");
    let (code, out, err) = run(&both, &base, "both", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "mig-model");
    assert!(err.contains("(MIGAGENT_MODEL)"), "{err}");
    // The flag comes before the environment.
    let (code, out, err) = run(&both, &base, "flagged", &["--model", "flag-model"]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "flag-model");

    let openai = Sandbox::new().env("OPENAI_MODEL", "oai-model");
    let (code, out, err) = run(&openai, &base, "oai", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "oai-model");

    // MIGAGENT_PROFILE picks a profile: its server and its model.
    let profiled = Sandbox::new().env("MIGAGENT_PROFILE", "gpu");
    profiled.write_config(&format!(
        "[profiles.gpu]\nbase_url = \"{base}\"\nmodel = \"gpu-model\"\nstructured = \"off\"\n"
    ));
    let (code, out, err) = profiled
        .cmd(&["run", "--no-input", "--need", NEED, "--run-id", "gpu"])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(models_sent(&fake).await.last().unwrap(), "gpu-model");
    let line = err.lines().find(|l| l.starts_with("Run gpu")).unwrap();
    assert!(
        line.contains("model gpu-model (the profile's model)"),
        "{line}"
    );
    assert_eq!(line.matches("profile gpu").count(), 1, "{line}");
    assert_eq!(profiled.status("gpu").await["model"]["profile"], "gpu");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_changed_on_resume_is_journalled_and_verifies() {
    let fake = FakeServer::new().models(&["first-model"]).start().await;
    let base = fake.base_url();
    let sandbox = Sandbox::new();
    let (code, out, err) = run(&sandbox, &base, "m", &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    let changes = |journal: Vec<Value>| -> Vec<Value> {
        journal
            .into_iter()
            .filter(|e| e["event"] == "model_changed")
            .collect()
    };
    // Resuming with the same server and model records nothing.
    let (code, out, err) = sandbox.resume("m", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(changes(sandbox.journal("m")).is_empty());

    let (code, out, err) = sandbox
        .cmd(&[
            "resume",
            "m",
            "--no-input",
            "--model",
            "second-model",
            "--as",
            "ana",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    let found = changes(sandbox.journal("m"));
    assert_eq!(found.len(), 1, "{found:?}");
    let e = &found[0];
    assert_eq!(e["from_model"], "first-model");
    assert_eq!(e["model"], "second-model");
    assert_eq!(e["base_url"], base.as_str());
    assert_eq!(e["profile"], "openai");
    assert_eq!(e["by"], "ana");
    assert_eq!(sandbox.status("m").await["model"]["model"], "second-model");

    let (code, out, err) = sandbox.cmd(&["verify", "m"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
}
