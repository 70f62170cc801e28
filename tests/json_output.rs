//! Every `--json` document is an object whose first field is
//! `schema_version`, and every top-level field it has is described in
//! docs/json.md under the command's heading: the documented shape is the
//! printed one.

use serde_json::Value;

use crate::support::{FakeServer, Sandbox};

/// The text of docs/json.md under the heading that starts with `heading`,
/// up to the next heading of the same level.
fn doc_section(heading: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md");
    let doc = std::fs::read_to_string(path).expect("docs/json.md");
    let start = doc
        .find(&format!("\n## {heading}"))
        .unwrap_or_else(|| panic!("docs/json.md has no section `## {heading}`"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// Parses a command's stdout and checks the version and the documentation
/// of each top-level field.
fn check_documented(args: &[&str], out: &str, heading: &str) -> Value {
    let doc: Value = serde_json::from_str(out)
        .unwrap_or_else(|e| panic!("{args:?} --json is not one JSON document ({e}):\n{out}"));
    let fields = doc.as_object().expect("an object");
    assert_eq!(
        fields.keys().next().map(String::as_str),
        Some("schema_version"),
        "{args:?}: schema_version comes first"
    );
    assert_eq!(doc["schema_version"], 1, "{args:?}");
    let section = doc_section(heading);
    for key in fields.keys().filter(|k| *k != "schema_version") {
        assert!(
            section.contains(&format!("`{key}`")) || section.contains(&format!("\"{key}\"")),
            "{args:?}: field `{key}` is not described under `## {heading}` in docs/json.md"
        );
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_document_is_versioned_and_documented() {
    let fake = FakeServer::new().start().await;
    let sandbox = Sandbox::new();
    let base = fake.base_url();
    let (code, _, err) = sandbox
        .start_run("Move the queue to a new cluster", &base, "j")
        .await;
    assert_eq!(code, 10, "{err}");
    let workflow = sandbox.write(
        "broken.md",
        "# Workflow: Broken\n\n## Phase 1: Only\n\nNo output, no gate.\n",
    );
    let workflow = workflow.to_string_lossy().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["status", "j", "--json"], "`status RUN --json`"),
        (vec!["list", "--json"], "`list --json`"),
        (vec!["verify", "j", "--json"], "`verify RUN --json`"),
        (
            vec!["doctor", "--base-url", &base, "--json"],
            "`doctor --json`",
        ),
        (
            vec!["workflows", "list", "--json"],
            "`workflows list --json`",
        ),
        (
            vec!["workflows", "show", "migration", "--json"],
            "`workflows show NAME --json`",
        ),
        (
            vec!["workflows", "validate", "migration", "--json"],
            "`workflows validate FILE --json`",
        ),
        (
            vec!["workflows", "validate", &workflow, "--json"],
            "`workflows validate FILE --json`",
        ),
        (
            vec!["workflows", "schema", "migration"],
            "`workflows schema NAME`",
        ),
    ];
    for (args, heading) in cases {
        let (_, out, err) = sandbox.cmd(&args).run().await;
        assert!(!out.is_empty(), "{args:?} printed nothing: {err}");
        check_documented(&args, &out, heading);
    }
    // The decision commands, each on a draft of its own.
    let decisions: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "revise",
                "j",
                "--as",
                "ana",
                "--feedback",
                "Name the owner",
                "--json",
            ],
            "approve, revise, decide, edit, abort",
        ),
        (
            vec!["approve", "j", "--as", "ana", "--json"],
            "approve, revise",
        ),
        (
            vec![
                "abort",
                "j",
                "--as",
                "ana",
                "--reason",
                "moved to Q3",
                "--json",
            ],
            "approve, revise",
        ),
        (vec!["log", "j", "--json"], "`log RUN --json`"),
        (
            vec!["report", "j", "--format", "json"],
            "`report RUN --format json`",
        ),
        (vec!["rm", "j", "--yes", "--json"], "rm"),
        (vec!["prune", "--older-than", "30d", "--json"], "prune"),
    ];
    for (args, heading) in decisions {
        if matches!(args[0], "approve" | "abort") {
            let (code, _, err) = sandbox.resume("j", &base).await;
            assert_eq!(code, 10, "{err}");
        }
        let (_, out, err) = sandbox.cmd(&args).run().await;
        assert!(!out.is_empty(), "{args:?} printed nothing: {err}");
        check_documented(&args, &out, heading);
    }
}

/// Paths in JSON are absolute: the same file from any folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_in_json_are_absolute() {
    let fake = FakeServer::new().start().await;
    let sandbox = Sandbox::new();
    let (code, _, err) = sandbox
        .start_run("Move the queue to a new cluster", &fake.base_url(), "a")
        .await;
    assert_eq!(code, 10, "{err}");
    let status = sandbox.status("a").await;
    let path = status["pending"]["path"].as_str().expect("a path");
    assert!(std::path::Path::new(path).is_absolute(), "{path}");
    assert!(std::path::Path::new(path).is_file(), "{path}");
    let (_, out, _) = sandbox
        .cmd(&["workflows", "validate", "migration", "--json"])
        .run()
        .await;
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["ok"], true, "{doc:#}");
    let file = doc["workflow"]["file"].as_str().unwrap_or_default();
    assert!(
        file.starts_with("builtin:") || std::path::Path::new(file).is_absolute(),
        "{file}"
    );
}
