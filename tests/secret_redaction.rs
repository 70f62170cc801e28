//! Secrets in what people supply never reach a server off this machine:
//! context files, evidence and inputs are redacted in the request, the
//! gate and the journal say what was redacted (kind, file, line) without
//! the value, and the run's own copy keeps the original.
//!
//! Whether a server is off the machine is decided from the URL requests go
//! to (unit-tested in `cli::run`); the fake server is on loopback, so these
//! tests reach the redaction path the way a person can: `redact = "always"`
//! under `[secrets]` redacts for every server. The default leaves a
//! loopback server the text as given, which the second test checks, so
//! both branches of the decision are driven through the binary.

use crate::support::{user_message, FakeServer, Sandbox};

const NEED: &str = "Move the billing database to PostgreSQL 16";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const DB_PASSWORD: &str = "Sup3r-S3cret!";
const URL_PASSWORD: &str = "r3plic4tor";

/// A context file as a person might pass it: an env dump with a cloud key,
/// a password and a connection URL with credentials.
fn context_text() -> String {
    format!(
        "# state of billing-db\nAWS_ACCESS_KEY_ID={AWS_KEY}\nregion=eu-west-1\nPGPASSWORD={DB_PASSWORD}\nreplica=postgres://replicator:{URL_PASSWORD}@db-2:5432/billing\n"
    )
}

fn secrets() -> [&'static str; 3] {
    [AWS_KEY, DB_PASSWORD, URL_PASSWORD]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_redacted_before_sending_and_named_without_their_value() {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write_config("[secrets]\nredact = \"always\"\n");
    let fake = FakeServer::new().start().await;
    let ctx = sandbox.write("env.txt", &context_text());
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            &fake.base_url(),
            "--run-id",
            "sec",
            "--context",
            ctx.to_str().unwrap(),
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");

    for body in fake.request_bodies().await {
        let user = user_message(&body);
        for secret in secrets() {
            assert!(!user.contains(secret), "{secret} was sent: {user}");
        }
        assert!(
            user.contains("AWS_ACCESS_KEY_ID=[REDACTED: AWS access key]"),
            "{user}"
        );
        assert!(user.contains("region=eu-west-1"), "{user}");
    }

    // The gate says what was redacted, where, and never the value.
    let status = sandbox.status("sec").await;
    let redactions = status["pending"]["redactions"].as_array().unwrap().clone();
    let found: Vec<(String, String, u64)> = redactions
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["file"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let file = "context/01-env.txt".to_string();
    assert_eq!(
        found,
        [
            ("AWS access key".to_string(), file.clone(), 2),
            ("password".to_string(), file.clone(), 4),
            ("URL with credentials".to_string(), file, 5),
        ],
        "{status:#}"
    );
    let (code, text, _) = sandbox.cmd(&["status", "sec"]).run().await;
    assert_eq!(code, 0);
    assert!(
        text.contains(
            "secret redacted from the request: AWS access key in context/01-env.txt line 2"
        ),
        "{text}"
    );
    let journal = sandbox.journal("sec");
    let event = journal
        .iter()
        .find(|e| e["event"] == "secrets_redacted")
        .expect("journaled");
    assert_eq!(event["artifact"], "MIG-1");
    assert_eq!(event["redactions"].as_array().unwrap().len(), 3);

    // Nothing migagent wrote holds a value, except the copy of the file.
    let dir = sandbox.run_dir("sec");
    for path in crate::support::files_under(&dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let is_copy = path.ends_with("context/01-env.txt");
        for secret in secrets() {
            assert_eq!(
                text.contains(secret),
                is_copy,
                "{secret} in {}",
                path.display()
            );
        }
    }
    assert!(!format!("{out}{err}{text}").contains(AWS_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_this_machine_gets_the_text_as_given_by_default() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let ctx = sandbox.write("env.txt", &context_text());
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            &fake.base_url(),
            "--run-id",
            "local",
            "--context",
            ctx.to_str().unwrap(),
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    let user = user_message(&fake.request_bodies().await[0]);
    assert!(user.contains(AWS_KEY), "loopback is this machine: {user}");
    let status = sandbox.status("local").await;
    assert_eq!(status["pending"]["redactions"], serde_json::json!([]));
}
