//! `--offline` never lets a request leave the machine. The proof is a real
//! listener on `0.0.0.0` that counts connections: `http://0.0.0.0:PORT/v1`
//! is not loopback by migagent's rule, yet a connection to it reaches this
//! listener, so a request that slipped past the refusal would be counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{files_under, FakeServer, Sandbox, Tripwire};
use serde_json::Value;

fn runs_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.state_dir().join("runs")
}

/// Run folders under `.migagent/runs`.
fn run_folders(sandbox: &Sandbox) -> Vec<PathBuf> {
    match std::fs::read_dir(runs_dir(sandbox)) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read run file");
            (p, bytes)
        })
        .collect()
}

/// Asserts a command was refused by the offline rule for host 0.0.0.0.
fn assert_refused(code: i32, out: &str, err: &str) {
    assert_eq!(
        code, 1,
        "expected a refusal (exit 1)\nstdout: {out}\nstderr: {err}"
    );
    assert!(
        err.contains("0.0.0.0"),
        "the error must name the host 0.0.0.0: {err}"
    );
    assert!(
        err.contains("offline_allowed_hosts"),
        "the error must point at offline_allowed_hosts: {err}"
    );
}

#[tokio::test]
async fn offline_refuses_a_non_loopback_base_url_flag_before_any_request() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    let url = wire.url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            "X",
            "--base-url",
            &url,
        ])
        .run()
        .await;
    assert_refused(code, &out, &err);
    assert_eq!(wire.connections(), 0, "a request left despite --offline");
    assert!(
        run_folders(&sandbox).is_empty(),
        "a refused run must not create a run folder: {:?}",
        run_folders(&sandbox)
    );
}

#[tokio::test]
async fn offline_refuses_a_non_loopback_base_url_from_the_local_profile() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    sandbox.write_config(&format!(
        "[profiles.local]\nbase_url = \"{}\"\n",
        wire.url()
    ));
    let (code, out, err) = sandbox
        .cmd(&["run", "--offline", "--no-input", "--need", "X"])
        .run()
        .await;
    assert_refused(code, &out, &err);
    assert_eq!(wire.connections(), 0, "a request left despite --offline");
    assert!(run_folders(&sandbox).is_empty());
}

#[tokio::test]
async fn offline_refuses_a_non_loopback_user_profile() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    sandbox.write_config(&format!("[profiles.gpu]\nbase_url = \"{}\"\n", wire.url()));
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--profile",
            "gpu",
            "--offline",
            "--no-input",
            "--need",
            "X",
        ])
        .run()
        .await;
    assert_refused(code, &out, &err);
    assert_eq!(wire.connections(), 0, "a request left despite --offline");
    assert!(run_folders(&sandbox).is_empty());
}

/// The control for the tests above: once the host is allowed, the same
/// command does reach the listener, so "0 connections" there means refused.
#[tokio::test]
async fn an_allowed_host_is_reached_so_the_tripwire_sees_leaks() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    sandbox.write_config("offline_allowed_hosts = [\"0.0.0.0\"]\n");
    let url = wire.url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            "X",
            "--base-url",
            &url,
        ])
        .run()
        .await;
    assert!(
        wire.connections() >= 1,
        "the listener saw no connection from an allowed host, so it cannot prove a refusal\n\
         exit {code}\nstdout: {out}\nstderr: {err}"
    );
    assert!(
        !err.contains("offline mode refuses"),
        "an allowed host was refused: {err}"
    );
}

#[tokio::test]
async fn a_run_started_offline_stays_offline_on_resume() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let wire = Tripwire::start();
    let fake_url = fake.base_url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            "Upgrade the billing database",
            "--base-url",
            &fake_url,
            "--model",
            "m",
            "--run-id",
            "off1",
        ])
        .run()
        .await;
    assert_eq!(
        code, 10,
        "the offline run should stop at its first gate\n{out}{err}"
    );
    let run_dir = sandbox.run_dir("off1");
    let run_json = run_dir.join("run.json");
    let state: Value = serde_json::from_slice(&std::fs::read(&run_json).expect("run.json"))
        .expect("run.json is JSON");
    assert_eq!(state["model"]["offline"], true, "run.json: {state}");

    let before = snapshot(&run_dir);
    let run_json_before = std::fs::read(&run_json).expect("run.json");
    let wire_url = wire.url();
    let (code, out, err) = sandbox.resume("off1", &wire_url).await;
    assert_refused(code, &out, &err);
    assert_eq!(
        wire.connections(),
        0,
        "resuming an offline run reached a non-loopback host"
    );
    assert_eq!(
        std::fs::read(&run_json).expect("run.json"),
        run_json_before,
        "a refused resume changed run.json"
    );
    let after = snapshot(&run_dir);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "a refused resume added or removed run files"
    );
    for (path, bytes) in &before {
        assert_eq!(
            after.get(path),
            Some(bytes),
            "a refused resume changed {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn an_unknown_profile_is_an_error_listing_the_profiles() {
    let sandbox = Sandbox::new();
    let (code, out, err) = sandbox
        .cmd(&["run", "--profile", "nope", "--no-input", "--need", "X"])
        .run()
        .await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    let line = err
        .lines()
        .find(|l| l.contains("'nope'"))
        .unwrap_or_else(|| panic!("no error naming the profile 'nope': {err}"));
    assert!(
        line.contains("local") && line.contains("openai"),
        "the error must list the existing profiles: {line}"
    );
    assert!(run_folders(&sandbox).is_empty());
}

/// Literal form: OPENAI_BASE_URL points at the tripwire, the flags at the
/// fake server. (`--base-url` outranks OPENAI_BASE_URL in any mode, so this
/// alone does not prove the variable is ignored offline; the next test does.)
#[tokio::test]
async fn offline_with_base_url_never_touches_openai_base_url() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let wire = Tripwire::start();
    let fake_url = fake.base_url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            "Upgrade the billing database",
            "--base-url",
            &fake_url,
            "--model",
            "m",
        ])
        .env("OPENAI_BASE_URL", wire.url())
        .run()
        .await;
    assert_eq!(code, 10, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        wire.connections(),
        0,
        "OPENAI_BASE_URL was contacted offline"
    );
    assert!(
        !fake.request_bodies().await.is_empty(),
        "the run did not draft against the fake server"
    );
}

/// OPENAI_BASE_URL overrides the default profile's base URL online, and is
/// ignored offline. The default profile is made `local` (also the offline
/// profile) with the fake server as its base URL, so the only thing that
/// differs between the two commands is `--offline`.
#[tokio::test]
async fn openai_base_url_is_honoured_online_and_ignored_offline() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let wire = Tripwire::start();
    sandbox.write_config(&format!(
        "profile = \"local\"\n[profiles.local]\nbase_url = \"{}\"\n",
        fake.base_url()
    ));
    let args = [
        "run",
        "--no-input",
        "--need",
        "Upgrade the billing database",
        "--model",
        "m",
    ];

    // Online: the variable wins over the profile's base_url.
    let (code, out, err) = sandbox
        .cmd(&args)
        .env("OPENAI_BASE_URL", wire.url())
        .run()
        .await;
    assert!(
        wire.connections() >= 1,
        "OPENAI_BASE_URL was not honoured for the default profile\nexit {code}\nstdout: {out}\nstderr: {err}"
    );
    assert!(
        fake.request_bodies().await.is_empty(),
        "online, the run should have used OPENAI_BASE_URL, not the profile's URL"
    );
    let online = wire.connections();

    // Offline: the same command with --offline ignores it.
    let (code, out, err) = sandbox
        .cmd(&args)
        .arg("--offline")
        .env("OPENAI_BASE_URL", wire.url())
        .run()
        .await;
    assert_eq!(code, 10, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        wire.connections(),
        online,
        "offline, OPENAI_BASE_URL was contacted"
    );
    assert!(
        !fake.request_bodies().await.is_empty(),
        "offline, the run did not draft against the profile's server"
    );
}

/// URLs whose text shows a loopback host after an `@`, while the host a
/// URL parser (and so the HTTP client) connects to is the one before it:
/// the `@` sits in the query, the fragment, or after a backslash (a path
/// separator for http URLs). Each must be refused like the plain URL.
#[tokio::test]
async fn offline_is_not_fooled_by_a_loopback_lookalike_after_the_host() {
    let sandbox = Sandbox::new();
    let wire = Tripwire::start();
    let port = wire.port();
    for url in [
        format!("http://0.0.0.0:{port}?@127.0.0.1/v1"),
        format!("http://0.0.0.0:{port}#@127.0.0.1/v1"),
        format!("http://0.0.0.0:{port}\\@127.0.0.1/v1"),
    ] {
        refused_without_a_connection(&sandbox, &wire, &url).await;
    }

    // The same trick against the allow list: the listed host after `@`.
    sandbox.write_config("offline_allowed_hosts = [\"gpu-box.internal\"]\n");
    let url = format!("http://0.0.0.0:{port}?@gpu-box.internal/v1");
    refused_without_a_connection(&sandbox, &wire, &url).await;
}

/// `run --offline --base-url URL` is refused and the tripwire sees nothing.
async fn refused_without_a_connection(sandbox: &Sandbox, wire: &Tripwire, url: &str) {
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            "X",
            "--base-url",
            url,
        ])
        .run()
        .await;
    assert_eq!(
        wire.connections(),
        0,
        "{url} reached 0.0.0.0 in offline mode\nexit {code}\nstdout: {out}\nstderr: {err}"
    );
    assert_refused(code, &out, &err);
}
