//! `migagent workflows …` from the command line, as a user runs it from a
//! folder with no library of its own.

use crate::support::Sandbox;

fn fixture(rel: &str) -> String {
    format!(
        "{}/tests/fixtures/workflows/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn validate_accepts_the_seed_and_lists_its_artifacts() {
    let sandbox = Sandbox::new();
    let seed = format!("{}/workflows/migration.md", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = sandbox.cmd(&["workflows", "validate", &seed]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok: workflow 'Migration', 6 phases, artifacts MIG-1, MIG-2, MIG-3, MIG-4.N, MIG-5, MIG-6"),
        "{out}"
    );
    assert!(
        out.contains("[MIG-1] JSON schema: 7 sections; choices: data_compatibility.value (Compatible / Requires transformation), risk_level (Low / Medium / High / Critical)"),
        "{out}"
    );
}

#[tokio::test]
async fn schema_prints_the_compiled_schema_with_the_profile_bounds() {
    let sandbox = Sandbox::new();
    let (code, out, err) = sandbox
        .cmd(&[
            "workflows",
            "schema",
            "migration",
            "MIG-3",
            "--profile",
            "local",
        ])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["schema_version"], 1, "{v}");
    let steps = &v["schemas"]["MIG-3"]["properties"]["steps"];
    assert_eq!(
        steps["maxItems"], 4,
        "the local profile's max_steps: {steps}"
    );
    assert_eq!(steps["items"]["required"][0], "name");
    assert_eq!(v["schemas"].as_object().unwrap().len(), 1);

    let (code, _, err) = sandbox
        .cmd(&["workflows", "schema", "migration", "MIG-9"])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("no artifact 'MIG-9'"), "{err}");
}

#[tokio::test]
async fn validate_reports_every_problem_as_file_and_line_and_fails() {
    let sandbox = Sandbox::new();
    let file = fixture("broken/many-problems.md");
    let (code, out, err) = sandbox.cmd(&["workflows", "validate", &file]).run().await;
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for (line, no) in lines.iter().zip([10, 16, 41, 47, 52, 78]) {
        assert!(line.starts_with(&format!("{file}:{no}: ")), "{line}");
    }
    assert!(err.contains("6 problems found"), "{err}");
}

#[tokio::test]
async fn a_broken_workflow_is_refused_before_any_model_call() {
    let sandbox = Sandbox::new();
    let file = fixture("broken/missing-persona.md");
    // Port 9 would refuse a connection; the error must come first.
    let (code, _, err) = sandbox
        .cmd(&[
            "run",
            &file,
            "--need",
            "x",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("missing-persona.md:"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(!sandbox.state_dir().exists(), "no run was created");
}

#[tokio::test]
async fn the_builtin_workflow_is_found_from_any_folder() {
    let sandbox = Sandbox::new();
    let (code, out, err) = sandbox.cmd(&["workflows", "list"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("migration") && out.contains("builtin:workflows/migration.md"),
        "{out}"
    );

    let (code, out, err) = sandbox.cmd(&["workflows", "show", "migration"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Phase 4: Execute → [MIG-4.N] Step N Result (per-step GATE)"),
        "{out}"
    );
    assert!(
        out.contains("builtin:personas/panels/migration-review.md"),
        "{out}"
    );
    assert!(out.contains("options: Approved / Issues found"), "{out}");
}

#[tokio::test]
async fn a_local_persona_overrides_the_builtin_one() {
    let sandbox = Sandbox::new();
    sandbox.write("personas/operations/sre.md", "# Persona: Our own SRE\n");
    let (code, out, err) = sandbox.cmd(&["workflows", "show", "migration"]).run().await;
    assert_eq!(code, 0, "{err}");
    let local = sandbox.path().join("personas/operations/sre.md");
    assert!(out.contains(&local.display().to_string()), "{out}");
}
