//! Six workflows of the seed's format for other jobs — a bug fix, an
//! incident, a refactoring with a per-step phase, an API design with a
//! panel and a loop-back, documentation and a decision record — kept in a
//! library laid out the way teams keep theirs (`tests/fixtures/team-library`:
//! workflows in `prompts/workflows/`, personas by discipline, a panel in the
//! bold-link form, a round table of names only, shared policy files linked
//! from personas). Each runs end to end from the library's root against the
//! fake server, in Markdown mode and in schema mode, with nothing copied
//! into migagent's folders.

use std::path::{Path, PathBuf};

use crate::support::{system_message, user_message, FakeServer, Sandbox};
use serde_json::Value;

const LIBRARY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/team-library");

/// One workflow of the family and what its requests must carry.
struct Family {
    name: &'static str,
    /// The request, given with `--request`.
    request: &'static str,
    /// Markers of the persona, prompt, panel and policy files the run must
    /// have sent to the model.
    markers: &'static [&'static str],
    /// The phases' artifact ids (per-step phases left out).
    artifacts: &'static [&'static str],
    /// Sections that must survive in an approved artifact, as `(id, line)`.
    kept: &'static [(&'static str, &'static str)],
}

const FAMILY: [Family; 6] = [
    Family {
        name: "bug-fix",
        request: "Checkout returns 500 when the basket holds 101 items",
        markers: &[
            "PERSONA-MARKER-backend-engineer",
            "PROMPT-MARKER-investigate",
            "PERSONA-MARKER-qa-engineer",
            "POLICY-MARKER-severity-scale",
        ],
        artifacts: &["BUG-1", "BUG-2", "BUG-3", "BUG-4"],
        kept: &[("BUG-1", "## Related Tickets"), ("BUG-4", "## Verdict")],
    },
    Family {
        name: "incident-response",
        request: "PagerDuty: p99 latency of the payments API above 4s for 10 minutes",
        markers: &[
            "PERSONA-MARKER-incident-commander",
            "PERSONA-MARKER-sre",
            "POLICY-MARKER-severity-scale",
        ],
        artifacts: &["INC-1", "INC-2", "INC-3"],
        kept: &[("INC-1", "## Customer Impact"), ("INC-3", "## Actions")],
    },
    Family {
        name: "refactoring",
        request: "Split the 3000-line OrderService into pricing, stock and invoicing",
        markers: &["PERSONA-MARKER-backend-engineer", "PROMPT-MARKER-team-plan"],
        artifacts: &["REF-1", "REF-2", "REF-4"],
        kept: &[("REF-2", "## Done When"), ("REF-4", "## Leftovers")],
    },
    Family {
        name: "api-design",
        request: "Mobile and partner apps need to list and cancel subscriptions",
        markers: &[
            "PERSONA-MARKER-api-designer",
            "PERSONA-MARKER-security-reviewer",
            "PANEL-MARKER-purpose",
            "PANEL-MARKER-constraints",
            "PANEL-MARKER-conflict-resolution",
        ],
        artifacts: &["API-1", "API-2", "API-3", "API-4"],
        kept: &[
            ("API-2", "## Errors"),
            ("API-2", "## Versioning"),
            ("API-4", "## Deprecations"),
        ],
    },
    Family {
        name: "documentation",
        request: "How on-call engineers rotate the database credentials",
        markers: &[
            "PERSONA-MARKER-technical-writer",
            "POLICY-MARKER-writing-style",
            "PROMPT-MARKER-write",
        ],
        artifacts: &["DOC-1", "DOC-2", "DOC-3"],
        kept: &[("DOC-2", "## Troubleshooting"), ("DOC-3", "## Tone")],
    },
    Family {
        name: "decision-record",
        request: "Should the event bus move from RabbitMQ to Kafka?",
        markers: &[
            "PERSONA-MARKER-architect",
            "PERSONA-MARKER-product-owner",
            "PERSONA-MARKER-sre",
            "ROUNDTABLE-MARKER-purpose",
        ],
        artifacts: &["ADR-1", "ADR-2", "ADR-3"],
        kept: &[("ADR-3", "## Follow-ups"), ("ADR-3", "## Consequences")],
    },
];

/// Copies the fixture library into `to`, as a team's checkout would hold it.
pub fn copy_library(to: &Path) {
    copy_dir(Path::new(LIBRARY), to);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` except the run store, the cache and the
/// sandbox's config folder, relative to `dir`.
fn library_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = crate::support::files_under(dir)
        .into_iter()
        .filter_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
        .filter(|p| {
            !p.starts_with(".migagent") && !p.starts_with("cache") && !p.starts_with("config")
        })
        .collect();
    files.sort();
    files
}

fn family(name: &str) -> &'static Family {
    FAMILY
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no workflow {name} in the family"))
}

/// Validates, runs and approves `name` to completion from the library's
/// root; `structured` runs against a schema-enforcing server with the
/// `local` profile.
async fn run_family(name: &str, structured: bool) {
    let f = family(name);
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let before = library_files(sandbox.path());
    let fake = if structured {
        FakeServer::new().structured().start().await
    } else {
        FakeServer::new().start().await
    };
    let base = fake.base_url();

    let (code, out, err) = sandbox.cmd(&["workflows", "validate", name]).run().await;
    assert_eq!(code, 0, "{name} does not validate:\n{out}{err}");

    let mut args = vec![
        "run",
        name,
        "--request",
        f.request,
        "--base-url",
        &base,
        "--no-input",
        "--run-id",
        "fam",
    ];
    if structured {
        args.extend(["--profile", "local"]);
    }
    let (mut code, out, err) = sandbox.cmd(&args).run().await;
    assert_eq!(code, 10, "{name}: {out}{err}");
    let mut gates = 0;
    while code == 10 {
        gates += 1;
        assert!(gates < 40, "{name} does not finish");
        let status = sandbox.status("fam").await;
        if status["state"] == "awaiting_evidence" {
            sandbox
                .note("fam", "ran it: tests green, nothing else changed")
                .await;
        } else {
            assert_eq!(status["state"], "awaiting_decision", "{name}: {status}");
            if structured {
                assert_eq!(status["pending"]["format"], "json", "{status}");
            }
            assert_eq!(
                status["pending"]["missing_sections"],
                Value::Array(vec![]),
                "{name}: {status}"
            );
            sandbox.approve("fam").await;
        }
        let (c, o, e) = sandbox.resume("fam", &base).await;
        assert!(c == 0 || c == 10, "{name}: {o}{e}");
        code = c;
    }
    assert_eq!(sandbox.status("fam").await["state"], "complete");

    for id in f.artifacts {
        let text = sandbox.artifact("fam", id);
        assert!(!text.trim().is_empty(), "{name}: {id} is empty");
    }
    for (id, line) in f.kept {
        let text = sandbox.artifact("fam", id);
        assert!(
            text.lines().any(|l| l.trim() == *line),
            "{name}: {id} lost '{line}':\n{text}"
        );
    }

    let bodies = fake.request_bodies().await;
    let first = bodies
        .iter()
        .find(|b| user_message(b).contains(f.request))
        .unwrap_or_else(|| panic!("{name}: no request carried the request text"));
    assert!(
        system_message(first).contains(f.markers[0]),
        "{name}: the first draft is not written by its persona"
    );
    let everything: String = bodies
        .iter()
        .map(|b| format!("{}\n{}", system_message(b), user_message(b)))
        .collect();
    for marker in f.markers {
        assert!(
            everything.contains(marker),
            "{name}: no request carried {marker}"
        );
    }
    // A linked policy file is sent once per request, never twice.
    for b in &bodies {
        let all = format!("{}\n{}", system_message(b), user_message(b));
        for policy in [
            "POLICY-MARKER-severity-scale",
            "POLICY-MARKER-writing-style",
        ] {
            assert!(all.matches(policy).count() <= 1, "{name}: {policy} twice");
        }
        // Built-in migration files never answer another workflow.
        assert!(
            !all.to_lowercase().contains("migration"),
            "{name}: a request speaks of a migration:\n{all}"
        );
    }

    assert_eq!(
        library_files(sandbox.path()),
        before,
        "{name}: the run changed the library"
    );
    let config = sandbox.path().join("config");
    assert!(
        crate::support::files_under(&config).is_empty(),
        "{name}: files were copied into migagent's config folder"
    );
}

macro_rules! family_tests {
    ($($test:ident: $name:literal, $structured:literal;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                run_family($name, $structured).await;
            }
        )*
    };
}

family_tests! {
    bug_fix_runs_in_markdown_mode: "bug-fix", false;
    bug_fix_runs_in_schema_mode: "bug-fix", true;
    incident_response_runs_in_markdown_mode: "incident-response", false;
    incident_response_runs_in_schema_mode: "incident-response", true;
    refactoring_runs_in_markdown_mode: "refactoring", false;
    refactoring_runs_in_schema_mode: "refactoring", true;
    api_design_runs_in_markdown_mode: "api-design", false;
    api_design_runs_in_schema_mode: "api-design", true;
    documentation_runs_in_markdown_mode: "documentation", false;
    documentation_runs_in_schema_mode: "documentation", true;
    decision_record_runs_in_markdown_mode: "decision-record", false;
    decision_record_runs_in_schema_mode: "decision-record", true;
}

/// `workflows list` from the library's root finds all six in
/// `prompts/workflows/`, and `show` says what fills each free-text input.
#[tokio::test]
async fn the_library_lists_its_workflows_and_shows_what_fills_each_input() {
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let (code, out, err) = sandbox.cmd(&["workflows", "list"]).run().await;
    assert_eq!(code, 0, "{err}");
    for f in &FAMILY {
        assert!(out.contains(f.name), "{} not listed:\n{out}", f.name);
    }
    let (code, out, err) = sandbox
        .cmd(&["workflows", "show", "documentation"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("input: Subject to document [the request"),
        "{out}"
    );
    assert!(
        out.contains("input: Audience and what needs documenting [--input"),
        "a label with 'needs' in it is not the request:\n{out}"
    );
}

/// A bug-fix run given `--input LABEL`, which must be refused.
async fn refused(sandbox: &Sandbox, base: &str, label: &str) -> (i32, String, String) {
    sandbox
        .cmd(&["run", "bug-fix", "--need", "x", "--input", label])
        .args(&["--base-url", base, "--no-input"])
        .run()
        .await
}

/// `--input` fills a later free-text input by a prefix of its label; the
/// request goes to the first one, whatever it is called; an ambiguous or
/// unknown label is refused before any request.
#[tokio::test]
async fn inputs_are_filled_by_label_prefix_and_the_request_by_position() {
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    sandbox.write(
        "repro.txt",
        "1. add 101 items\n2. press pay\nREPRO-FROM-FILE\n",
    );

    let (code, _, err) = refused(&sandbox, &base, "sev=y").await;
    assert_eq!(code, 1);
    assert!(err.contains("no free-text input"), "{err}");
    assert!(err.contains("'Reproduction steps (if known)'"), "{err}");
    // "re" starts "Reproduction steps" and "Relevant logs" (phase 2).
    let (code, _, err) = refused(&sandbox, &base, "re=y").await;
    assert_eq!(code, 1);
    assert!(err.contains("starts more than one input"), "{err}");
    assert!(err.contains("'Relevant logs'"), "{err}");
    let (code, _, err) = refused(&sandbox, &base, "no equals sign").await;
    assert_eq!(code, 1);
    assert!(err.contains("has no '='"), "{err}");
    let (code, _, err) = sandbox
        .cmd(&[
            "run",
            "bug-fix",
            "--input",
            "bug report=a",
            "--need",
            "b",
            "--base-url",
            &base,
            "--no-input",
        ])
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("given twice"), "{err}");
    assert!(fake.request_bodies().await.is_empty());

    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "bug-fix",
            "--request",
            "BUG-REQUEST-TEXT",
            "--input",
            "repro=@repro.txt",
            "--base-url",
            &base,
            "--no-input",
            "--run-id",
            "b",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("nothing fills phase 1's input 'Affected version'"),
        "{err}"
    );
    let bodies = fake.request_bodies().await;
    let user = user_message(&bodies[0]);
    let request_at = user.find("BUG-REQUEST-TEXT").expect("the request is sent");
    let label_at = user.find("Bug report").expect("under its label");
    assert!(label_at < request_at, "{user}");
    assert!(user.contains("REPRO-FROM-FILE"), "{user}");
    let inputs = std::fs::read_dir(sandbox.run_dir("b").join("inputs"))
        .unwrap()
        .count();
    assert_eq!(inputs, 2, "each given input is a file of the run");
    let journal = sandbox.journal("b");
    let supplied: Vec<&Value> = journal
        .iter()
        .filter(|e| e["event"] == "input_supplied")
        .collect();
    assert_eq!(supplied.len(), 2);
    assert_eq!(supplied[1]["given_as"], "--input @repro.txt");
}

/// The bug fix's "Root cause wrong" option at the fix's gate sends the work
/// back to Phase 2: the root cause is redrafted with the feedback, the fix
/// (which reads it) is stale and redrafted after it, and the triage, which
/// reads neither, keeps its approval. Schema mode, so the JSON drafts go
/// through the loop too.
#[tokio::test]
async fn the_bug_fix_sends_a_wrong_root_cause_back_and_redrafts_the_fix() {
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let fake = FakeServer::new().structured().start().await;
    let base = fake.base_url();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "bug-fix",
            "--request",
            "Checkout fails",
            "--run-id",
            "lb",
        ])
        .args(&["--base-url", &base, "--no-input", "--profile", "local"])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    for _ in 0..2 {
        sandbox.approve("lb").await;
        let (c, o, e) = sandbox.resume("lb", &base).await;
        assert_eq!(c, 10, "{o}{e}");
    }
    let status = sandbox.status("lb").await;
    assert_eq!(status["pending"]["artifact"], "BUG-3", "{status}");
    let options = status["pending"]["gate"]["options"].as_array().unwrap();
    let wrong = options
        .iter()
        .find(|o| o["label"] == "Root cause wrong")
        .expect("the send-back option is listed");
    assert_eq!(wrong["action"], "send_back");
    assert_eq!(wrong["to_phases"], serde_json::json!([2]));

    let (code, out, err) = sandbox
        .cmd(&["decide", "lb", "--option", "root cause wrong"])
        .args(&["--feedback", "FEEDBACK-the cache, not the basket"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let states = |status: &Value| -> Vec<(String, String)> {
        status["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["id"].as_str().unwrap().to_string(),
                    a["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let after = sandbox.status("lb").await;
    assert_eq!(
        states(&after),
        [
            ("BUG-1".to_string(), "approved".to_string()),
            ("BUG-2".to_string(), "stale".to_string()),
            ("BUG-3".to_string(), "stale".to_string()),
        ]
    );
    let before_redraft = fake.request_bodies().await.len();
    let (c, o, e) = sandbox.resume("lb", &base).await;
    assert_eq!(c, 10, "{o}{e}");
    let bodies = fake.request_bodies().await;
    let redraft = user_message(&bodies[before_redraft]);
    assert!(redraft.contains("BUG-2"), "{redraft}");
    assert!(redraft.contains("FEEDBACK-the cache"), "{redraft}");
    assert_eq!(sandbox.status("lb").await["pending"]["artifact"], "BUG-2");

    // Approving the new root cause brings the stale fix back to its gate.
    sandbox.approve("lb").await;
    let (c, o, e) = sandbox.resume("lb", &base).await;
    assert_eq!(c, 10, "{o}{e}");
    let status = sandbox.status("lb").await;
    assert_eq!(status["pending"]["artifact"], "BUG-3", "{status}");
    let journal = sandbox.journal("lb");
    let approvals = |id: &str| {
        journal
            .iter()
            .filter(|e| e["event"] == "approved" && e["artifact"] == id)
            .count()
    };
    assert_eq!(approvals("BUG-2"), 2, "the earlier approval is kept");
    assert_eq!(approvals("BUG-1"), 1);
    assert_eq!(
        journal.iter().filter(|e| e["event"] == "sent_back").count(),
        1
    );
}
