//! The key goes only to the host it belongs to, a redirect never carries
//! it (or anything) to another host, and a password in a URL is never
//! shown.

use crate::support::{files_under, FakeServer, Redirect, Sandbox, Tripwire, API_KEY};

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to PostgreSQL 16";

/// `run --no-input` against `base_url` with `extra` flags.
async fn run(sandbox: &Sandbox, base_url: &str, extra: &[&str]) -> (i32, String, String) {
    sandbox
        .cmd(&["run", "--no-input", "--need", NEED, "--base-url", base_url])
        .args(&["--model", "m"])
        .args(extra)
        .run()
        .await
}

/// The Authorization headers of the chat requests `fake` received.
async fn auth_headers(fake: &FakeServer) -> Vec<Option<String>> {
    let requests = fake.chat_requests().await;
    assert!(!requests.is_empty(), "no chat request reached the server");
    requests.into_iter().map(|(_, auth)| auth).collect()
}

/// The default profile's key (OPENAI_API_KEY, for api.openai.com) is not
/// sent to another `--base-url`, and the person is told how to send one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_key_is_not_sent_to_another_base_url() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let (code, out, err) = run(&sandbox, &fake.base_url(), &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        auth_headers(&fake).await.iter().all(Option::is_none),
        "the openai profile's key went to {}",
        fake.base_url()
    );
    assert!(
        err.contains("OPENAI_API_KEY") && err.contains("--api-key-env"),
        "the person must be told the key was held back and how to send it: {err}"
    );
    assert!(!err.contains(API_KEY) && !out.contains(API_KEY));
}

/// OPENAI_BASE_URL changes the default profile's server, but its key stays
/// bound to the profile's own host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_base_url_gets_no_key_unless_one_is_named_for_it() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let (code, out, err) = sandbox
        .cmd(&["run", "--no-input", "--need", NEED, "--model", "m"])
        .env("OPENAI_BASE_URL", fake.base_url())
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(auth_headers(&fake).await.iter().all(Option::is_none));

    let (code, out, err) = sandbox
        .cmd(&["run", "--no-input", "--need", NEED, "--model", "m"])
        .args(&["--api-key-env", "OPENAI_API_KEY"])
        .env("OPENAI_BASE_URL", fake.base_url())
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    let last = auth_headers(&fake).await.pop().flatten();
    assert_eq!(last.as_deref(), Some(format!("Bearer {API_KEY}").as_str()));
}

/// `--api-key-env VAR` sends VAR's key to this command's server; a profile
/// whose base_url is that host names its own key; an unset VAR is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_named_for_the_host_is_sent_there() {
    let sandbox = Sandbox::new()
        .with_api_key()
        .env("GPU_KEY", "sk-gpu-box-key");
    let fake = FakeServer::new().start().await;
    let url = fake.base_url();

    let (code, out, err) = run(&sandbox, &url, &["--api-key-env", "GPU_KEY"]).await;
    assert_eq!(code, 10, "{out}{err}");
    let sent = auth_headers(&fake).await;
    assert_eq!(
        sent.last().cloned().flatten().as_deref(),
        Some("Bearer sk-gpu-box-key")
    );

    // A profile for this host names the key; the default profile's key
    // still stays home.
    sandbox.write_config(&format!(
        "[profiles.gpu]\nbase_url = \"{url}\"\napi_key_env = \"GPU_KEY\"\n"
    ));
    let (code, out, err) = run(&sandbox, &url, &[]).await;
    assert_eq!(code, 10, "{out}{err}");
    let sent = auth_headers(&fake).await;
    assert_eq!(
        sent.last().cloned().flatten().as_deref(),
        Some("Bearer sk-gpu-box-key")
    );
    assert!(sent
        .iter()
        .all(|a| a.as_deref() != Some(&format!("Bearer {API_KEY}"))));

    let (code, out, err) = run(&sandbox, &url, &["--api-key-env", "NOT_SET_ANYWHERE"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("NOT_SET_ANYWHERE") && err.contains("not set"),
        "{err}"
    );
}

/// Online, a redirect to another host is not followed (so neither the
/// prompt nor the key goes there); one within the same scheme, host and
/// port is, with the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_redirects_stay_on_the_same_host() {
    let sandbox = Sandbox::new().with_api_key();
    let wire = Tripwire::start();
    for status in [302, 307, 308] {
        let fake = FakeServer::new()
            .redirect(status, Redirect::To(wire.origin()))
            .start()
            .await;
        let (code, out, err) = run(
            &sandbox,
            &fake.base_url(),
            &["--api-key-env", "OPENAI_API_KEY"],
        )
        .await;
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(&format!("redirecting to {}", wire.origin()))
                && err.contains("same scheme, host and port"),
            "{err}"
        );
    }
    assert_eq!(
        wire.connections(),
        0,
        "a redirect to another host was followed"
    );

    let fake = FakeServer::new()
        .redirect(307, Redirect::Moved)
        .start()
        .await;
    let (code, out, err) = run(
        &sandbox,
        &fake.base_url(),
        &["--api-key-env", "OPENAI_API_KEY"],
    )
    .await;
    assert_eq!(
        code, 10,
        "a same-host redirect should be followed: {out}{err}"
    );
    let moved: Vec<_> = fake
        .all_requests()
        .await
        .into_iter()
        .filter(|(_, path, _)| path == "/moved/v1/chat/completions")
        .collect();
    assert!(!moved.is_empty(), "the redirect was not followed");
    assert!(moved
        .iter()
        .all(|(_, _, auth)| auth.as_deref() == Some(format!("Bearer {API_KEY}").as_str())));
}

/// A password in `--base-url` or OPENAI_BASE_URL is refused and never
/// echoed: not in the error, not in a log at trace level, not on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_a_base_url_is_never_shown() {
    const PASSWORD: &str = "hunter2-pw";
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().start().await;
    let port = fake
        .base_url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let with_password = format!("http://bob:{PASSWORD}@127.0.0.1:{port}");
    for (args, env) in [
        (
            vec![
                "run",
                "--no-input",
                "--need",
                NEED,
                "--base-url",
                &with_password,
            ],
            None,
        ),
        (
            vec![
                "run",
                "--offline",
                "--no-input",
                "--need",
                NEED,
                "--base-url",
                &with_password,
            ],
            None,
        ),
        (vec!["doctor", "--base-url", &with_password], None),
        (
            vec![
                "doctor",
                "--offline",
                "--base-url",
                &with_password,
                "--json",
            ],
            None,
        ),
        (
            vec!["run", "--no-input", "--need", NEED, "-vv"],
            Some(&with_password),
        ),
    ] {
        let mut cmd = sandbox.cmd(&args).env("RUST_LOG", "trace");
        if let Some(url) = env {
            cmd = cmd.env("OPENAI_BASE_URL", url);
        }
        let (code, out, err) = cmd.run().await;
        assert_ne!(code, 0, "{args:?}: {out}{err}");
        assert!(
            !out.contains(PASSWORD) && !err.contains(PASSWORD),
            "{args:?} showed the password:\n{out}\n{err}"
        );
        assert!(
            format!("{out}{err}").contains("***@127.0.0.1"),
            "{args:?}: the refusal should show the URL redacted:\n{out}\n{err}"
        );
    }
    assert!(
        fake.all_requests().await.is_empty(),
        "a URL with a password was used"
    );
    for file in files_under(sandbox.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(
            !text.contains(PASSWORD),
            "{} holds the password",
            file.display()
        );
    }
}
