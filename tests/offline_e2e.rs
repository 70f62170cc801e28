//! The whole migration workflow, offline, on a real local model server
//! (llama.cpp with SmolLM2-135M from `scripts/local-llm`), every gate passed
//! through `approve` and `resume` as a script would.
//!
//! It runs only when `MIGAGENT_E2E=1`: `.ci/run` starts the server and runs
//! this test inside a network namespace that has nothing but loopback, so a
//! request that tried to leave the machine would fail the run. Elsewhere it
//! says it was skipped.

use std::time::Instant;

use crate::support::Sandbox;
use migagent::artifact_schema::sections::missing_sections;
use migagent::artifact_schema::{ArtifactSchema, Bounds};
use migagent::workflow::step;
use migagent::workflow::{self, Workflow};
use serde_json::Value;

/// The template each artifact of the run follows, from the run's own
/// workflow snapshot (per-step templates instantiated for their step).
fn template_for(workflow: &Workflow, id: &str, step: Option<&Value>) -> String {
    for phase in &workflow.phases {
        let Some(output) = &phase.output else {
            continue;
        };
        if let Some(step) = step.filter(|s| !s.is_null()) {
            let s: step::Step = serde_json::from_value(step.clone()).expect("step");
            if step::step_artifact_id(&output.id, &s) == id {
                return output.template_for(Some(&s));
            }
        } else if output.id == id {
            return output.template.clone();
        }
    }
    panic!("no template for {id}");
}

const NEED: &str =
    "Upgrade the orders database from PostgreSQL 12 to PostgreSQL 16 before 12 goes out of support";

#[derive(Default)]
struct Usage {
    requests: u32,
    prompt: u64,
    cached: u64,
    completion: u64,
    seconds: f64,
    repairs: u32,
}

#[test]
fn the_migration_workflow_completes_offline_with_valid_artifacts() {
    if std::env::var("MIGAGENT_E2E").as_deref() != Ok("1") {
        eprintln!("SKIPPED: set MIGAGENT_E2E=1 with a local server running (.ci/run does)");
        return;
    }
    let sandbox = Sandbox::new();
    let context = sandbox.write(
        "current-state.md",
        "# Orders database\n\nPostgreSQL 12.17 on one primary and one streaming replica, 180 GB.\n\
         Consumers: orders-api (Java, JDBC), billing-batch (Python, psycopg2), a nightly ETL to the warehouse.\n\
         Target: PostgreSQL 16 with logical replication for the cut-over.\n",
    );
    let (code, out, err) = sandbox
        .cmd(&["doctor", "--offline", "--json"])
        .run_blocking();
    println!("doctor: {out}{err}");
    assert_eq!(code, 0, "doctor found problems: {out}{err}");
    let doctor: Value = serde_json::from_str(&out).expect("doctor JSON");
    assert_eq!(doctor["offline"], true);
    assert_ne!(
        doctor["structured"], "none",
        "the local server must enforce schemas"
    );

    let started = Instant::now();
    let (mut code, out, err) = sandbox
        .cmd(&[
            "run",
            "--offline",
            "--no-input",
            "--need",
            NEED,
            "--context",
            context.to_str().expect("utf-8 path"),
            "--run-id",
            "e2e",
        ])
        .run_blocking();
    println!("{err}");
    assert!(
        code == 10,
        "run did not stop at the first gate ({code}): {out}{err}"
    );
    let mut gates = 0;
    while code == 10 {
        gates += 1;
        assert!(gates <= 40, "the run does not end");
        let (c, status, e) = sandbox.cmd(&["status", "e2e", "--json"]).run_blocking();
        assert_eq!(c, 0, "{e}");
        let mut status: Value = serde_json::from_str(&status).expect("status JSON");
        if status["state"] == "awaiting_evidence" {
            // A step is drafted from its evidence: a note, as an operator
            // would report it (and past the point of no return, if the
            // model's plan names one).
            let step = status["evidence"]["artifact"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let note = format!("Ran {step} as planned; verification printed OK.");
            let (c, _, e) = sandbox
                .cmd(&[
                    "evidence",
                    "e2e",
                    "--note",
                    &note,
                    "--confirm-point-of-no-return",
                ])
                .run_blocking();
            assert_eq!(c, 0, "evidence for {step}: {e}");
            let (c, out, e) = sandbox.cmd(&["resume", "e2e", "--no-input"]).run_blocking();
            println!("{e}");
            assert_eq!(c, 10, "drafting {step} from its evidence ({c}): {out}{e}");
            let (c, text, e) = sandbox.cmd(&["status", "e2e", "--json"]).run_blocking();
            assert_eq!(c, 0, "{e}");
            status = serde_json::from_str(&text).expect("status JSON");
        }
        let pending = &status["pending"];
        let id = pending["artifact"]
            .as_str()
            .expect("a pending artifact")
            .to_string();
        assert_eq!(
            pending["format"], "json",
            "{id} was not drafted as JSON: {pending}"
        );
        assert!(
            !pending["truncated"].as_bool().unwrap_or(true),
            "{id} was truncated"
        );
        assert_eq!(
            pending["missing_sections"],
            Value::Array(vec![]),
            "{id}: {pending}"
        );
        assert_eq!(pending["problems"], Value::Array(vec![]), "{id}: {pending}");
        let (c, _, e) = sandbox
            .cmd(&["approve", "e2e", "--note", "scripted e2e approval"])
            .run_blocking();
        assert_eq!(c, 0, "approve {id}: {e}");
        let (c, out, e) = sandbox.cmd(&["resume", "e2e", "--no-input"]).run_blocking();
        println!("{e}");
        assert!(
            c == 0 || c == 10,
            "resume after {id} failed ({c}): {out}{e}"
        );
        code = c;
    }
    let wall = started.elapsed().as_secs_f64();

    // Every artifact: every section, and only allowed values in enum fields.
    let run_dir = sandbox.run_dir("e2e");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(state["status"], "complete");
    let snapshot = std::fs::read_to_string(run_dir.join("workflow.md")).unwrap();
    let workflow =
        workflow::parse(&snapshot, std::path::Path::new("workflow.md")).expect("snapshot parses");
    let artifacts = state["artifacts"].as_array().expect("artifacts");
    assert!(
        artifacts.len() >= 6,
        "expected MIG-1..6 and the steps: {artifacts:?}"
    );
    let mut enum_values = 0;
    for a in artifacts {
        let id = a["id"].as_str().unwrap();
        let text = std::fs::read_to_string(run_dir.join("artifacts").join(format!("{id}.md")))
            .unwrap_or_else(|e| panic!("artifact {id}: {e}"));
        let template = template_for(&workflow, id, a.get("step"));
        assert!(
            missing_sections(&template, &text).is_empty(),
            "{id} lacks sections:\n{text}"
        );
        let schema = ArtifactSchema::compile(&template, &Bounds::unbounded()).expect("schema");
        let value = schema
            .parse(&text)
            .unwrap_or_else(|p| panic!("{id} does not follow its template: {p:?}\n{text}"));
        for field in schema.enum_fields(&value) {
            assert!(
                field.allowed.contains(&field.value),
                "{id} {}: '{}' is not one of {:?}",
                field.path,
                field.value,
                field.allowed
            );
            enum_values += 1;
        }
    }
    assert!(
        enum_values >= 6,
        "too few enum fields checked: {enum_values}"
    );

    // Wall time and tokens per phase, from the journal.
    let mut per: std::collections::BTreeMap<String, Usage> = Default::default();
    for e in sandbox.journal("e2e") {
        let kind = e["kind"]
            .as_str()
            .or_else(|| e["event"].as_str())
            .unwrap_or("");
        let Some(artifact) = e["artifact"].as_str() else {
            continue;
        };
        if !matches!(kind, "drafted" | "repair_requested" | "panel_finding") {
            continue;
        }
        let u = per.entry(artifact.to_string()).or_default();
        u.requests += 1;
        u.prompt += e["prompt_tokens"].as_u64().unwrap_or(0);
        u.cached += e["cached_tokens"].as_u64().unwrap_or(0);
        u.completion += e["completion_tokens"].as_u64().unwrap_or(0);
        u.seconds += e["seconds"].as_f64().unwrap_or(0.0);
        u.repairs += u32::from(kind == "repair_requested");
    }
    println!("\nOffline run on the local server: {gates} gates, {wall:.1} s wall, {enum_values} enum values checked");
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>11} {:>9} {:>8}",
        "artifact", "requests", "prompt tok", "cached tok", "answer tok", "model s", "repairs"
    );
    for (id, u) in &per {
        println!(
            "{id:<10} {:>8} {:>10} {:>10} {:>11} {:>9.1} {:>8}",
            u.requests, u.prompt, u.cached, u.completion, u.seconds, u.repairs
        );
    }
    assert!(!per.is_empty(), "the journal recorded no model calls");
}
