//! Workflows read by CommonMark's rules: a template's fence holds inner
//! code blocks (with a longer outer fence, with `~~~`, or with fences of
//! the same length read as the author meant, and a warning), the sections
//! after an inner block are sections that drafts must have, a template's H1
//! is a title the artifact keeps, and a fence that never closes is reported
//! at the line where it opens. Whole runs against the fake server, in
//! schema and in Markdown mode, use a template of that kind.

use std::path::{Path, PathBuf};

use migagent::artifact_schema::sections::missing_sections;
use migagent::artifact_schema::{ArtifactSchema, Bounds};
use migagent::workflow;
use serde_json::Value;

use crate::support::{template_in, user_message, FakeServer, Sandbox};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/workflows/markdown")
        .join(name)
}

fn read(name: &str) -> String {
    let path = fixture(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The 1-based number of the first line of `text` equal to `line`.
fn line_no(text: &str, line: &str) -> usize {
    text.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?}"))
        + 1
}

/// The template of the fixture's only artifact.
fn template(name: &str) -> String {
    let wf = workflow::parse(&read(name), &fixture(name)).unwrap_or_else(|e| panic!("{e:?}"));
    wf.phases[0].output.clone().expect("an output").template
}

const SECTIONS: [&str; 4] = [
    "## Endpoint",
    "## Request Example",
    "## Errors",
    "## Compatibility Risk",
];

/// `workflows validate FILE`: exit code, stdout, stderr.
async fn validate(name: &str) -> (i32, String, String) {
    let file = fixture(name).display().to_string();
    Sandbox::new()
        .cmd(&["workflows", "validate", &file])
        .run()
        .await
}

#[test]
fn the_sections_after_an_inner_block_belong_to_the_template_however_it_is_fenced() {
    for name in [
        "api-contract.md",
        "tilde-fence.md",
        "nested-fences.md",
        "info-string-close.md",
    ] {
        let t = template(name);
        assert!(
            t.starts_with("# API Contract: <endpoint name>\n"),
            "{name}:\n{t}"
        );
        assert!(t.contains("```json\n{\"order_id\""), "{name}:\n{t}");
        assert!(
            t.ends_with("## Compatibility Risk\n<Low / Medium / High>"),
            "{name}:\n{t}"
        );
        // A draft that stops after the example lacks the last two.
        let draft = "# API Contract: orders\n\n## Endpoint\nGET /orders\n\n## Request Example\n```json\n{}\n```\n";
        assert_eq!(
            missing_sections(&t, draft),
            ["## Errors", "## Compatibility Risk"],
            "{name}"
        );
        // The title names the artifact: a draft without it is complete.
        let untitled = "## Endpoint\nGET /orders\n\n## Request Example\n```json\n{}\n```\n\n## Errors\n- 404 — no order\n\n## Compatibility Risk\nLow\n";
        assert_eq!(
            missing_sections(&t, untitled),
            Vec::<String>::new(),
            "{name}"
        );
        let schema = ArtifactSchema::compile(&t, &Bounds::default()).expect("compiles");
        let keys: Vec<String> = schema.sections().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "title",
                "endpoint",
                "request_example",
                "errors",
                "compatibility_risk"
            ],
            "{name}"
        );
        assert_eq!(
            schema.json_schema()["required"],
            serde_json::json!(keys),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_longer_outer_fence_and_a_tilde_fence_validate_without_warnings() {
    for name in ["api-contract.md", "tilde-fence.md"] {
        let (code, out, err) = validate(name).await;
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(!out.contains("warning"), "{name}: {out}");
        assert!(
            out.contains("[API-1] JSON schema: 5 sections; choices: compatibility_risk (Low / Medium / High)"),
            "{name}: {out}"
        );
    }
}

#[tokio::test]
async fn fences_of_the_same_length_are_read_as_meant_with_a_warning_at_the_line() {
    let text = read("nested-fences.md");
    let (code, out, err) = validate("nested-fences.md").await;
    assert_eq!(code, 0, "{out}{err}");
    let file = fixture("nested-fences.md").display().to_string();
    let at = line_no(&text, "```json");
    let warning = format!("{file}:{at}: warning: '```json' is read as opening a code block inside the one opened at line {}", line_no(&text, "```"));
    assert!(out.contains(&warning), "{out}");
    assert!(
        out.contains("more backticks than any fence inside it (e.g. ````)"),
        "{out}"
    );
    assert!(out.contains("5 sections"), "{out}");

    let text = read("info-string-close.md");
    let (code, out, err) = validate("info-string-close.md").await;
    assert_eq!(code, 0, "{out}{err}");
    let file = fixture("info-string-close.md").display().to_string();
    let at = line_no(&text, "```text");
    let warning = format!(
        "{file}:{at}: warning: '```text' is read as closing the code block opened at line {}",
        line_no(&text, "```json")
    );
    assert!(out.contains(&warning), "{out}");
    assert!(
        out.contains("Write the closing fence bare ('```')"),
        "{out}"
    );
    assert_eq!(
        out.matches("warning").count(),
        1,
        "one warning for the line: {out}"
    );
}

#[test]
fn an_info_string_close_inside_a_longer_fence_is_named_by_file_lines() {
    // The outer fence is unambiguous; the inner block's `text` close is
    // read by the template's own reading, and the warning still names the
    // file's lines.
    let text = read("api-contract.md").replace("[\"<sku>\"]}\n```\n", "[\"<sku>\"]}\n```text\n");
    let (wf, diagnostics) = workflow::parse_lenient(&text, Path::new("w.md"));
    let listed: Vec<(usize, String)> = diagnostics
        .iter()
        .map(|d| (d.line, d.message.clone()))
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(!diagnostics[0].is_error(), "{listed:?}");
    assert_eq!(listed[0].0, line_no(&text, "```text"));
    assert!(
        listed[0].1.contains(&format!(
            "closing the code block opened at line {}",
            line_no(&text, "```json")
        )),
        "{listed:?}"
    );
    let t = wf.phases[0].output.clone().expect("output").template;
    let draft = "## Endpoint\nGET /\n\n## Request Example\n```json\n{}\n```\n";
    assert_eq!(
        missing_sections(&t, draft),
        ["## Errors", "## Compatibility Risk"]
    );
}

#[tokio::test]
async fn a_fence_that_never_closes_is_reported_where_it_opens() {
    let text = read("unclosed-template.md");
    let (code, out, _) = validate("unclosed-template.md").await;
    assert_eq!(code, 1, "{out}");
    let file = fixture("unclosed-template.md").display().to_string();
    let open = line_no(&text, "````");
    assert!(
        out.contains(&format!(
            "{file}:{open}: the template of 'API-1' opens a fence that is never closed"
        )),
        "{out}"
    );

    let text = read("unclosed-inner.md");
    let (code, out, _) = validate("unclosed-inner.md").await;
    assert_eq!(code, 1, "{out}");
    let file = fixture("unclosed-inner.md").display().to_string();
    let open = line_no(&text, "```json");
    assert!(
        out.contains(&format!(
            "{file}:{open}: a code block in the template of 'API-1' is never closed"
        )),
        "{out}"
    );
}

#[test]
fn a_fence_outside_any_template_that_never_closes_is_an_error_at_its_line() {
    // Nothing after it closes a `~~~` fence: CommonMark reads the rest of
    // the file as code, and the error names the line that opened it.
    let text = read("api-contract.md").replace(
        "### Process\n",
        "### Process\n\n~~~\nan example that never ends\n",
    );
    let errors = workflow::parse(&text, Path::new("w.md")).expect_err("refused");
    let lines: Vec<(usize, String)> = errors
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.clone()))
        .collect();
    let open = line_no(&text, "~~~");
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == open && m.contains("never closed")),
        "{lines:?}"
    );
}

/// Runs the API contract workflow with the local profile, structure set to
/// `mode`, to its gate; returns the pending draft's status.
async fn run_to_gate(sandbox: &Sandbox, fake: &FakeServer, mode: &str, name: &str) -> Value {
    sandbox.write_config(&format!("[profiles.local]\nstructured = \"{mode}\"\n"));
    let file = fixture(name).display().to_string();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            &file,
            "--profile",
            "local",
            "--base-url",
            &fake.base_url(),
            "--no-input",
            "--need",
            "an order lookup endpoint",
            "--run-id",
            "api",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.status("api").await
}

#[tokio::test]
async fn schema_mode_requires_the_sections_after_the_example_and_keeps_the_title() {
    let fake = FakeServer::new().structured().start().await;
    let sandbox = Sandbox::new();
    let status = run_to_gate(&sandbox, &fake, "schema", "nested-fences.md").await;
    let pending = &status["pending"];
    assert_eq!(pending["format"], "json", "{pending}");
    assert_eq!(
        pending["missing_sections"],
        Value::Array(vec![]),
        "{pending}"
    );
    assert_eq!(pending["problems"], Value::Array(vec![]), "{pending}");
    let bodies = fake.request_bodies().await;
    let draft = bodies
        .iter()
        .find(|b| b["response_format"]["json_schema"]["name"] == "API-1")
        .expect("a schema request for API-1");
    let schema = &draft["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["required"],
        serde_json::json!([
            "title",
            "endpoint",
            "request_example",
            "errors",
            "compatibility_risk"
        ])
    );
    sandbox.approve("api").await;
    let (code, out, err) = sandbox.cmd(&["resume", "api", "--no-input"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let md = sandbox.artifact("api", "API-1");
    assert!(
        md.starts_with("# API Contract: fake-API-1-"),
        "the title is kept:\n{md}"
    );
    for s in SECTIONS {
        assert!(md.contains(&format!("{s}\n")), "{s} in:\n{md}");
    }
    assert!(md.contains("## Compatibility Risk\nLow\n"), "{md}");
}

#[tokio::test]
async fn markdown_mode_sends_the_whole_template_and_checks_every_section() {
    let fake = FakeServer::new().structured().start().await;
    let sandbox = Sandbox::new();
    let status = run_to_gate(&sandbox, &fake, "off", "info-string-close.md").await;
    let pending = &status["pending"];
    assert_eq!(pending["format"], "markdown", "{pending}");
    assert_eq!(
        pending["missing_sections"],
        Value::Array(vec![]),
        "{pending}"
    );
    let bodies = fake.request_bodies().await;
    let sent = bodies
        .iter()
        .map(user_message)
        .find_map(|u| template_in(&u))
        .expect("a template in a draft request");
    assert!(
        sent.starts_with("# API Contract: <endpoint name>"),
        "{sent}"
    );
    for s in SECTIONS {
        assert!(sent.contains(s), "{s} sent in:\n{sent}");
    }
    sandbox.approve("api").await;
    let (code, out, err) = sandbox.cmd(&["resume", "api", "--no-input"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let md = sandbox.artifact("api", "API-1");
    assert!(md.starts_with("# API Contract: fake-API-1-"), "{md}");
    for s in SECTIONS {
        assert!(md.contains(s), "{s} in:\n{md}");
    }
}
