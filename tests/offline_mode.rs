//! `--offline` never lets a request leave the machine. The proof is a real
//! listener on `0.0.0.0` that counts connections: `http://0.0.0.0:PORT/v1`
//! is not loopback by migagent's rule, yet a connection to it reaches this
//! listener, so a request that slipped past the refusal would be counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{files_under, FakeServer, Redirect, Sandbox, Tripwire};
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

/// Drafts recorded for run `run_id`: in `run.json` and as files under
/// `drafts/`. A run that was never created has none.
fn drafts_recorded(sandbox: &Sandbox, run_id: &str) -> usize {
    let dir = sandbox.run_dir(run_id);
    let in_state = std::fs::read(dir.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map_or(0, |state| {
            state["artifacts"].as_array().map_or(0, |a| {
                a.iter()
                    .map(|x| x["drafts"].as_array().map_or(0, Vec::len))
                    .sum()
            })
        });
    in_state + files_under(&dir.join("drafts")).len()
}

/// Asserts a command failed on a redirect it did not follow, naming where
/// the redirect pointed.
fn assert_redirect_refused(what: &str, code: i32, out: &str, err: &str, target: &str) {
    assert!(
        code != 0 && code != 10,
        "{what}: expected a failure on the redirect\nstdout: {out}\nstderr: {err}"
    );
    let text = format!("{out}{err}");
    assert!(
        text.contains("redirecting to") && text.contains(target),
        "{what}: the error must name the redirect's target {target}\nstdout: {out}\nstderr: {err}"
    );
}

/// Every way `--offline` talks to a loopback server that redirects to
/// `target` (an origin, `http://host:port`): the models list, the chat
/// request of `run` and `resume`, and `doctor`. None may follow it, and no
/// draft may come of it. The caller counts the connections `target` got.
async fn offline_redirects_are_refused(target: &str, statuses: &[u16]) {
    for &status in statuses {
        let fake = FakeServer::new()
            .redirect(status, Redirect::To(target.to_string()))
            .start()
            .await;
        let url = fake.base_url();
        let what = format!("{status} to {target}");

        // The models list, asked first, is redirected: nothing starts.
        let sandbox = Sandbox::new();
        let (code, out, err) = sandbox
            .cmd(&[
                "run",
                "--offline",
                "--no-input",
                "--need",
                "Upgrade the billing database",
            ])
            .args(&["--base-url", &url, "--model", "m", "--run-id", "r1"])
            .run()
            .await;
        assert_redirect_refused(&format!("run, {what}"), code, &out, &err, target);
        assert!(err.contains("offline mode follows no redirect"), "{err}");
        assert_eq!(drafts_recorded(&sandbox, "r1"), 0, "{what}");

        // Without the models list (structured output off), the chat
        // request itself is redirected: the run exists, with no draft.
        sandbox.write_config("[profiles.local]\nstructured = \"off\"\n");
        let (code, out, err) = sandbox
            .cmd(&[
                "run",
                "--offline",
                "--no-input",
                "--need",
                "Upgrade the billing database",
            ])
            .args(&["--base-url", &url, "--model", "m", "--run-id", "r2"])
            .run()
            .await;
        assert_redirect_refused(&format!("run (chat), {what}"), code, &out, &err, target);
        assert!(
            sandbox.run_dir("r2").join("run.json").is_file(),
            "the chat request should have been reached: {err}"
        );
        assert_eq!(
            drafts_recorded(&sandbox, "r2"),
            0,
            "{what}: a draft came of a redirect"
        );
        let (code, out, err) = sandbox.resume("r2", &url).await;
        assert_redirect_refused(&format!("resume, {what}"), code, &out, &err, target);
        assert_eq!(
            drafts_recorded(&sandbox, "r2"),
            0,
            "{what}: a draft came of a redirect"
        );
        let state: Value =
            serde_json::from_slice(&std::fs::read(sandbox.run_dir("r2").join("run.json")).unwrap())
                .unwrap();
        assert_eq!(state["model"]["offline"], true);

        // doctor: the models list, then (with a list) the one-token test.
        let (code, out, err) = sandbox
            .cmd(&["doctor", "--offline", "--base-url", &url])
            .run()
            .await;
        assert_redirect_refused(&format!("doctor, {what}"), code, &out, &err, target);
        let listing = FakeServer::new()
            .models(&["m"])
            .redirect(status, Redirect::To(target.to_string()))
            .start()
            .await;
        let (code, out, err) = sandbox
            .cmd(&[
                "doctor",
                "--offline",
                "--json",
                "--base-url",
                &listing.base_url(),
            ])
            .run()
            .await;
        assert_redirect_refused(&format!("doctor (chat), {what}"), code, &out, &err, target);
        assert!(
            out.contains("\"completion\""),
            "doctor should have reached the one-token test: {out}"
        );
    }
}

/// A loopback server answering 302, 307 or 308 with a `Location` on
/// another host is not followed offline. The other host here is `0.0.0.0`,
/// which reaches the tripwire through loopback, so this runs without
/// privileges; the namespace test below repeats it with a real address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_follows_no_redirect_off_the_machine() {
    let wire = Tripwire::start();
    offline_redirects_are_refused(&wire.origin(), &[302, 307, 308]).await;
    assert_eq!(
        wire.connections(),
        0,
        "a redirect was followed to {} in offline mode",
        wire.origin()
    );
}

/// The variable that tells the inner namespace test it runs inside one.
const IN_NETNS: &str = "MIGAGENT_TEST_IN_NETNS";
/// Set inside the namespace when `/etc/resolv.conf` points at the DNS
/// counter, so name lookups can be counted.
const NETNS_DNS: &str = "MIGAGENT_TEST_NETNS_DNS";
/// The address added to the namespace's `lo`: not loopback by migagent's
/// rule (not 127.0.0.0/8), yet reachable inside the namespace only.
const NETNS_ADDR: &str = "10.77.0.1";

/// Why the namespace test cannot run here, if it cannot.
fn netns_unavailable() -> Option<String> {
    let uid = std::process::Command::new("id").arg("-u").output();
    match uid {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => {}
        _ => return Some("not running as root".into()),
    }
    let probe = std::process::Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-c", "ip link set lo up"])
        .output();
    match probe {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`unshare --net --mount` with `ip` does not work here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

/// The proof with a real address off loopback: this test binary runs
/// [`redirects_inside_a_network_namespace`] again inside a new network
/// namespace (only `lo`, with 10.77.0.1 added) and a mount namespace whose
/// `/etc/resolv.conf` names a DNS counter on 10.77.0.1. Needs root and
/// `unshare`; elsewhere it says why it is skipped and passes (CI runs as
/// root).
#[test]
fn redirects_never_leave_a_network_namespace() {
    if let Some(why) = netns_unavailable() {
        eprintln!("SKIPPED redirects_never_leave_a_network_namespace: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        format!("nameserver {NETNS_ADDR}\noptions timeout:1 attempts:1\n"),
    )
    .expect("write resolv.conf");
    let script = format!(
        "set -e\n\
         ip link set lo up\n\
         ip addr add {NETNS_ADDR}/32 dev lo\n\
         if mount --bind \"$RESOLV\" /etc/resolv.conf 2>/dev/null; then export {NETNS_DNS}=1; fi\n\
         exec \"$@\"\n"
    );
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-c", &script, "sh"])
        .arg(&exe)
        .args([
            "--exact",
            "offline_mode::redirects_inside_a_network_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(IN_NETNS, "1")
        .env("RESOLV", &resolv)
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the test inside the namespace failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.contains("1 passed") && stdout.contains("NETNS CHECKS DONE"),
        "the inner test did not run to its end\nstdout: {stdout}\nstderr: {stderr}"
    );
}

/// A UDP listener that counts the DNS queries it receives and answers
/// each with NXDOMAIN, so a lookup fails fast instead of waiting.
struct DnsCounter {
    queries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl DnsCounter {
    fn start(ip: &str) -> DnsCounter {
        let socket = std::net::UdpSocket::bind((ip, 53)).expect("bind the DNS counter");
        let queries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = std::sync::Arc::clone(&queries);
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= 4 {
                    buf[2] |= 0x80; // a response
                    buf[3] = (buf[3] & 0xf0) | 3; // NXDOMAIN
                    let _ = socket.send_to(&buf[..n], from);
                }
            }
        });
        DnsCounter { queries }
    }

    fn queries(&self) -> usize {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.queries.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Runs only inside the namespace [`redirects_never_leave_a_network_namespace`]
/// makes; anywhere else it says so and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by redirects_never_leave_a_network_namespace inside a network namespace"]
async fn redirects_inside_a_network_namespace() {
    if std::env::var(IN_NETNS).as_deref() != Ok("1") {
        eprintln!("not inside the test's network namespace; run redirects_never_leave_a_network_namespace instead");
        return;
    }
    let wire = Tripwire::start_on(NETNS_ADDR);
    let dns = std::env::var(NETNS_DNS)
        .is_ok()
        .then(|| DnsCounter::start(NETNS_ADDR));

    // Controls: the binary reaches 10.77.0.1 here when it is allowed, and
    // a name lookup reaches the counter, so the zeros below mean refused.
    let control = Sandbox::new();
    control.write_config(&format!("offline_allowed_hosts = [\"{NETNS_ADDR}\"]\n"));
    let (code, out, err) = control
        .cmd(&["doctor", "--offline", "--base-url", &wire.url()])
        .run()
        .await;
    let reached = wire.connections();
    assert!(
        reached >= 1,
        "the allowed address was not reached, so the count proves nothing\nexit {code}\n{out}{err}"
    );
    if let Some(dns) = &dns {
        let _ = tokio::net::lookup_host("control.example:80").await;
        assert!(dns.queries() >= 1, "a lookup did not reach the DNS counter");
    }
    let looked_up = dns.as_ref().map_or(0, DnsCounter::queries);

    offline_redirects_are_refused(&wire.origin(), &[302, 307, 308]).await;
    assert_eq!(
        wire.connections(),
        reached,
        "a redirect was followed to {NETNS_ADDR} in offline mode"
    );

    // A host name as the target: refused without even a lookup.
    let named = format!("http://evil.example:{}", wire.port());
    offline_redirects_are_refused(&named, &[307]).await;
    assert_eq!(
        wire.connections(),
        reached,
        "a redirect to {named} was followed"
    );
    match &dns {
        Some(dns) => assert_eq!(
            dns.queries(),
            looked_up,
            "offline mode looked up a redirect's host name"
        ),
        None => eprintln!("note: /etc/resolv.conf could not be replaced; lookups not counted"),
    }
    println!("NETNS CHECKS DONE");
}
