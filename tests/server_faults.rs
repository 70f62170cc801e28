//! Model servers that misbehave: one that drips tokens forever or never
//! answers, a stream cut before the finish reason, answers too large to be
//! a draft (one huge chunk, a stream without line breaks), and a `200` that
//! is not a stream at all. Each ends in a clear error naming the setting to
//! change, and never in a recorded draft.

use std::time::Duration;

use crate::support::{FakeServer, Sandbox};
use serde_json::Value;

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to PostgreSQL 16";

/// A sandbox whose `local` profile drafts Markdown (no probes) with these
/// extra settings.
fn sandbox_with(settings: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[profiles.local]\nstructured = \"off\"\n{settings}\n"
    ));
    sandbox
}

/// `run --profile local --no-input` against `base_url` as `run_id`.
async fn run(sandbox: &Sandbox, base_url: &str, run_id: &str) -> (i32, String, String) {
    sandbox
        .cmd(&["run", "--profile", "local", "--no-input", "--need", NEED])
        .args(&["--base-url", base_url, "--model", "m", "--run-id", run_id])
        .run()
        .await
}

/// The drafts `run.json` records for the run's artifacts.
fn drafts_in_state(sandbox: &Sandbox, run_id: &str) -> Vec<Value> {
    let path = sandbox.run_dir(run_id).join("run.json");
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    let state: Value = serde_json::from_slice(&bytes).expect("run.json is JSON");
    state["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["drafts"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Asserts the run failed (not stopped at a gate) with no draft kept.
fn assert_failed_without_draft(sandbox: &Sandbox, run_id: &str, code: i32, out: &str, err: &str) {
    assert_eq!(code, 1, "expected a failure\nstdout: {out}\nstderr: {err}");
    assert!(
        drafts_in_state(sandbox, run_id).is_empty(),
        "a draft was recorded from a faulty answer: {:?}\nstderr: {err}",
        drafts_in_state(sandbox, run_id)
    );
    assert!(
        !err.contains("empty draft"),
        "the error must say what went wrong, not 'empty draft': {err}"
    );
}

/// A server that sends a token every 250 ms is never idle long enough for
/// the idle timeout; the overall deadline stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_drips_tokens_is_stopped_at_the_request_deadline() {
    let sandbox = sandbox_with("idle_timeout_secs = 5\nrequest_timeout_secs = 2");
    let fake = FakeServer::new()
        .drip(Duration::from_millis(250), 60)
        .start()
        .await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "drip").await;
    assert_failed_without_draft(&sandbox, "drip", code, &out, &err);
    assert!(
        err.contains("did not finish its answer within 2 s")
            && err.contains("request_timeout_secs in [profiles.local]"),
        "the error must name the deadline and its setting: {err}"
    );
    assert_eq!(fake.dripped_requests(), 1, "a deadline is not retried");
}

/// A server that accepts the request and never answers fails at the
/// deadline, not after the (longer) idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_stopped_at_the_request_deadline() {
    let sandbox = sandbox_with("idle_timeout_secs = 60\nrequest_timeout_secs = 1");
    let fake = FakeServer::new().hang().start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "hang").await;
    assert_failed_without_draft(&sandbox, "hang", code, &out, &err);
    assert!(
        err.contains("within 1 s") && err.contains("request_timeout_secs"),
        "{err}"
    );
}

/// The idle timeout's message names the real key: `idle_timeout_secs` of
/// the profile (the config refuses the `model.idle_timeout_secs` it used to
/// name), and a config that sets it as told loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_error_names_a_setting_the_config_accepts() {
    let sandbox = sandbox_with("idle_timeout_secs = 1\nrequest_timeout_secs = 60");
    let fake = FakeServer::new().hang().start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "idle").await;
    assert_failed_without_draft(&sandbox, "idle", code, &out, &err);
    assert!(
        err.contains("sent nothing for 1 s")
            && err.contains("raise idle_timeout_secs in [profiles.local] of config.toml"),
        "{err}"
    );
    assert!(!err.contains("model.idle_timeout_secs"), "{err}");
    // Doing what the message says is accepted by the config.
    sandbox.write_config("[profiles.local]\nidle_timeout_secs = 900\n");
    let (code, out, err) = sandbox
        .cmd(&[
            "doctor",
            "--profile",
            "local",
            "--base-url",
            &fake.base_url(),
        ])
        .run()
        .await;
    assert!(
        !format!("{out}{err}").contains("is not valid"),
        "the config refused the key the error named: {out}{err}"
    );
    let _ = code;
}

/// A stream that ends before the finish reason is retried; the draft kept
/// is the one that finished, recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_is_retried_and_only_the_finished_answer_is_kept() {
    let sandbox = sandbox_with("");
    let fake = FakeServer::new().cut_streams(1).start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "cut1").await;
    assert_eq!(code, 10, "the retry should have drafted\n{out}\n{err}");
    assert_eq!(fake.request_bodies().await.len(), 2, "one cut, one retry");
    let drafts = drafts_in_state(&sandbox, "cut1");
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert_eq!(drafts[0]["finish_reason"], "stop", "{drafts:?}");
    let text = std::fs::read_to_string(sandbox.run_dir("cut1").join("drafts/MIG-1.r1.md"))
        .expect("the draft");
    assert!(
        text.contains("call2") && !text.contains("call1"),
        "the kept draft must be the finished second answer: {text}"
    );
    assert!(err.contains("cut off"), "the retry should be shown: {err}");
}

/// A stream cut every time fails after its retries, with no draft; a later
/// resume against a working server drafts as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_every_time_is_a_failure_not_a_draft() {
    let sandbox = sandbox_with("");
    let fake = FakeServer::new().cut_streams(usize::MAX).start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "cut").await;
    assert_failed_without_draft(&sandbox, "cut", code, &out, &err);
    assert!(
        err.contains("ended without a finish reason 3 times"),
        "{err}"
    );
    assert_eq!(fake.request_bodies().await.len(), 3);
    let good = FakeServer::new().start().await;
    let (code, out, err) = sandbox
        .cmd(&["resume", "cut", "--no-input", "--profile", "local"])
        .args(&["--base-url", &good.base_url()])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(drafts_in_state(&sandbox, "cut").len(), 1);
}

/// One chunk larger than `max_answer_bytes` is refused, by the default
/// limit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_single_chunk_is_refused_past_max_answer_bytes() {
    let sandbox = sandbox_with("max_answer_bytes = 65536");
    let fake = FakeServer::new().huge_chunk(200_000).start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "huge").await;
    assert_failed_without_draft(&sandbox, "huge", code, &out, &err);
    assert!(
        err.contains("grew past 65536 bytes")
            && err.contains("max_answer_bytes in [profiles.local]"),
        "{err}"
    );

    // The default (1 MiB) stops a 3 MB chunk.
    let sandbox = sandbox_with("");
    let fake = FakeServer::new().huge_chunk(3_000_000).start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "huge").await;
    assert_failed_without_draft(&sandbox, "huge", code, &out, &err);
    assert!(err.contains("grew past 1048576 bytes"), "{err}");

    // Under the limit, the same kind of answer is a draft.
    let sandbox = sandbox_with("max_answer_bytes = 65536");
    let fake = FakeServer::new().huge_chunk(20_000).start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "fits").await;
    assert_eq!(code, 10, "{out}{err}");
}

/// An event stream with no line break is refused once a line could no
/// longer hold an answer within the limit, not buffered to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_without_line_breaks_is_refused() {
    let sandbox = sandbox_with("max_answer_bytes = 65536");
    let body = format!("data: {}", "x".repeat(4_000_000));
    let fake = FakeServer::new()
        .raw_answer("text/event-stream", body)
        .start()
        .await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "nolines").await;
    assert_failed_without_draft(&sandbox, "nolines", code, &out, &err);
    assert!(
        err.contains("grew past 65536 bytes") && err.contains("max_answer_bytes"),
        "{err}"
    );
}

/// A `200` that is a web page, plain text, or JSON that is no completion
/// is named for what it is, with its first bytes and content type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_that_is_not_a_stream_says_what_the_server_sent() {
    for (content_type, body, shown) in [
        (
            "text/html",
            "<html>\n<head><title>Welcome to nginx!</title></head>\n<body>It works</body>\n</html>\n",
            "Welcome to nginx!",
        ),
        ("text/plain", "upstream connect error", "upstream connect error"),
        ("application/json", "{\"status\": \"ok\"}", "\"status\": \"ok\""),
    ] {
        let sandbox = sandbox_with("");
        let fake = FakeServer::new().raw_answer(content_type, body).start().await;
        let (code, out, err) = run(&sandbox, &fake.base_url(), "page").await;
        assert_failed_without_draft(&sandbox, "page", code, &out, &err);
        assert!(
            err.contains(content_type) && err.contains(shown) && err.contains("not a stream"),
            "the error must quote the {content_type} answer: {err}"
        );
    }
}

/// A server that ignores `stream: true` and sends one whole JSON
/// completion is read as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_json_completion_is_taken() {
    let sandbox = sandbox_with("");
    let body = serde_json::json!({
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "## Summary\nwhole answer"}, "finish_reason": "stop"}]
    });
    let fake = FakeServer::new()
        .raw_answer("application/json", body.to_string())
        .start()
        .await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), "whole").await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(drafts_in_state(&sandbox, "whole").len(), 1);
}

/// Limits that would fail every request are refused when the config loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_limits_are_refused_by_the_config() {
    for setting in ["request_timeout_secs = 0", "max_answer_bytes = 10"] {
        let sandbox = sandbox_with(setting);
        let (code, out, err) = run(&sandbox, "http://127.0.0.1:9/v1", "zero").await;
        assert_eq!(code, 1, "{out}{err}");
        let key = setting.split(' ').next().unwrap_or_default();
        assert!(
            err.contains(key) && err.contains("[profiles.local]"),
            "{setting}: {err}"
        );
    }
}
