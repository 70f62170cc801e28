//! Whole runs against a server that enforces JSON schemas, as llama.cpp
//! does, over real HTTP: the probe, its cache, JSON drafts rendered into the
//! templates, and Markdown when the profile turns structure off.

use crate::support::{FakeServer, Sandbox};
use migagent::artifact_schema::{ArtifactSchema, Bounds};
use migagent::workflow;
use migagent::workflow::step;
use serde_json::Value;

/// Requests that carried a JSON schema named `name`.
async fn schema_requests(fake: &FakeServer, name: &str) -> usize {
    fake.request_bodies()
        .await
        .iter()
        .filter(|b| b["response_format"]["json_schema"]["name"] == name)
        .count()
}

#[tokio::test]
async fn a_whole_run_drafts_json_and_keeps_every_artifact_in_its_template() {
    let fake = FakeServer::new().structured().start().await;
    let sandbox = Sandbox::new();
    let base = fake.base_url();
    let (mut code, out, err) = sandbox
        .cmd(&[
            "run",
            "--profile",
            "local",
            "--base-url",
            &base,
            "--no-input",
            "--need",
            "Upgrade X",
            "--run-id",
            "s",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("artifacts drafted as schema-checked JSON"),
        "{err}"
    );
    let mut gates = 0;
    while code == 10 {
        gates += 1;
        assert!(gates < 30);
        let mut status = sandbox.status("s").await;
        if status["state"] == "awaiting_evidence" {
            // A step is drafted from what was recorded for it.
            sandbox.note("s", "step done, checks green").await;
            let (c, o, e) = sandbox.cmd(&["resume", "s", "--no-input"]).run().await;
            assert_eq!(c, 10, "{o}{e}");
            status = sandbox.status("s").await;
        }
        let pending = &status["pending"];
        assert_eq!(pending["format"], "json", "{pending}");
        assert_eq!(pending["problems"], Value::Array(vec![]), "{pending}");
        assert_eq!(
            pending["missing_sections"],
            Value::Array(vec![]),
            "{pending}"
        );
        let (c, _, e) = sandbox.cmd(&["approve", "s"]).run().await;
        assert_eq!(c, 0, "{e}");
        let (c, o, e) = sandbox.cmd(&["resume", "s", "--no-input"]).run().await;
        assert!(c == 0 || c == 10, "{o}{e}");
        code = c;
    }
    // MIG-1, 2, 3, one step (the sample plan has one), 5, 6.
    assert_eq!(gates, 6);
    assert_eq!(
        schema_requests(&fake, "probe").await,
        1,
        "the server is probed once; later commands use the cache"
    );
    assert!(sandbox.path().join("cache/servers.json").is_file());
    assert!(schema_requests(&fake, "MIG-1").await >= 1);
    assert!(
        schema_requests(&fake, "panel_findings").await >= 1,
        "panel members answer a findings schema"
    );
    // Every request went to the model the server listed.
    for body in fake.request_bodies().await {
        assert_eq!(body["model"], "fake-model");
        assert_eq!(
            body["repeat_penalty"],
            Value::Null,
            "not sent to an unknown server kind"
        );
    }
    let run_dir = sandbox.run_dir("s");
    let md = std::fs::read_to_string(run_dir.join("artifacts/MIG-1.md")).unwrap();
    assert!(md.contains("## Risk Level\nLow\n"), "{md}");
    let json = std::fs::read_to_string(run_dir.join("drafts/MIG-1.r1.json")).unwrap();
    assert!(json.contains("\"risk_level\":\"Low\""), "{json}");
    let step = std::fs::read_to_string(run_dir.join("artifacts/MIG-4.1.md")).unwrap();
    let plan = std::fs::read_to_string(run_dir.join("artifacts/MIG-3.md")).unwrap();
    let name = step::steps(&plan)[0].name.clone();
    assert!(
        step.starts_with(&format!("## Step 1: {name}\n")),
        "the step's heading carries the plan's name:\n{step}"
    );
    let snapshot = std::fs::read_to_string(run_dir.join("workflow.md")).unwrap();
    let workflow = workflow::parse(&snapshot, std::path::Path::new("workflow.md")).unwrap();
    let template = &workflow.phases[1].output.as_ref().unwrap().template;
    let schema = ArtifactSchema::compile(template, &Bounds::default()).unwrap();
    let mig2 = std::fs::read_to_string(run_dir.join("artifacts/MIG-2.md")).unwrap();
    let value = schema.parse(&mig2).expect("MIG-2 reads back");
    let strategy = schema
        .enum_fields(&value)
        .into_iter()
        .find(|f| f.path == "strategy")
        .expect("the strategy enum");
    assert!(
        strategy.allowed.contains(&strategy.value),
        "{}",
        strategy.value
    );
}

/// `run` with the local profile against `fake`, its `structured` setting
/// set to `mode` in the user's config.
async fn local_run(
    sandbox: &Sandbox,
    fake: &FakeServer,
    mode: &str,
    run_id: &str,
) -> (i32, String, String) {
    sandbox.write_config(&format!("[profiles.local]\nstructured = \"{mode}\"\n"));
    sandbox
        .cmd(&[
            "run",
            "--profile",
            "local",
            "--base-url",
            &fake.base_url(),
            "--no-input",
            "--need",
            "X",
            "--run-id",
            run_id,
        ])
        .run()
        .await
}

#[tokio::test]
async fn structured_off_drafts_markdown_and_sends_no_schema() {
    let fake = FakeServer::new().structured().start().await;
    let sandbox = Sandbox::new();
    let (code, out, err) = local_run(&sandbox, &fake, "off", "m").await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(err.contains("artifacts drafted as Markdown"), "{err}");
    let bodies = fake.request_bodies().await;
    assert!(!bodies.is_empty());
    assert!(
        bodies.iter().all(|b| b["response_format"].is_null()),
        "no schema sent"
    );
    assert_eq!(sandbox.status("m").await["pending"]["format"], "markdown");
}

#[tokio::test]
async fn schema_mode_trusts_the_profile_and_sends_no_probe() {
    let fake = FakeServer::new().models(&["fake-model"]).start().await;
    let sandbox = Sandbox::new();
    let (code, out, err) = local_run(&sandbox, &fake, "schema", "r").await;
    assert_eq!(schema_requests(&fake, "probe").await, 0, "{out}{err}");
    assert!(
        err.contains("artifacts drafted as schema-checked JSON"),
        "{err}"
    );
    // The server ignores the schema: the draft says so at its gate.
    assert_eq!(code, 10, "{out}{err}");
    let problems = sandbox.status("r").await["pending"]["problems"].to_string();
    assert!(problems.contains("not valid JSON"), "{problems}");
    assert!(
        fake.request_bodies()
            .await
            .iter()
            .all(|b| b["response_format"]["json_schema"].is_object()),
        "every draft asks for its schema"
    );
}
