//! A library laid out the way teams lay theirs out: workflows in
//! `prompts/workflows/`, personas by discipline, a panel in the bold-link
//! form, a round table of names only, and a shared policy that personas
//! link to. migagent must find it from its root, from a subfolder with
//! `--library`, through `MIGAGENT_LIBRARY` and the config, and run it
//! without copying anything into its own folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{files_under, system_message, user_message, FakeServer, Sandbox};

const API_DESIGNER: &str = "# Persona: API Designer

You are an API designer who keeps contracts consistent. API-DESIGNER-PERSONA.

Rate every issue on the [severity scale](../../policies/severity.md) and never invent one.
";

const QA_ENGINEER: &str = "# Persona: QA Engineer

You test what others build. QA-PERSONA.

Grade findings with the [severity scale](../../policies/severity.md#levels).
";

const SECURITY: &str =
    "# Persona: Security Engineer\n\nYou threat-model every change. SECURITY-PERSONA.\n";
const BACKEND: &str = "# Persona: Backend Engineer\n\nYou build services. BACKEND-PERSONA.\n";
const FACILITATOR: &str =
    "# Persona: Review Lead\n\nYou facilitate design reviews and keep them moving. FACILITATOR-PERSONA.\n";
const SEVERITY: &str = "# Severity Scale\n\nSEVERITY-POLICY: S1 blocks the release; S2 is fixed before general availability; S3 may wait.\n";
const GUIDANCE: &str =
    "# Prompt: API Contract\n\nCONTRACT-GUIDANCE: paths are nouns; verbs are methods.\n";

const API_REVIEW: &str = "# Panel: API Review

An API contract is reviewed by several disciplines before clients depend on it.

## Purpose

PANEL-PURPOSE: catch contract mistakes while they are cheap.

## Participants

- **[API Designer](../engineering/api-designer.md)** - naming, versioning, consistency
- **[Security Engineer](../security/security-engineer.md)** – authentication and data exposure
- **[QA Engineer](../quality/qa-engineer.md)** — testability of every endpoint
- **[Review Lead](../facilitation/review-lead.md)** - runs the review

## Process

1. PANEL-PROCESS: each participant reviews the contract alone.

## Output Format

### Per-Participant Findings

PARTICIPANT-FORMAT: one bullet per issue, with its severity.

### Consolidated Review

CONSOLIDATED-FORMAT: issues by severity, with who raised each.

## Constraints

PANEL-CONSTRAINTS: at most five issues per participant.

## Conflict Resolution

CONFLICT-RULES: the most severe rating stands unless its raiser withdraws it.
";

const ROUND_TABLE: &str = "# Round Table: Architecture Decision

## Participants

- **Backend Engineer** - service boundaries
- **QA Engineer** - how it will be tested
- **Moderator** - keeps the discussion on the decision

## Format

ROUNDTABLE-FORMAT: two rounds; everyone speaks once per round.

## Final Synthesis

SYNTHESIS-RULES: record the decision and every dissent.
";

const API_DESIGN: &str = "# Workflow: API Design

Design an API contract and have it reviewed by a panel.

## Phases

1. **Contract** → `[API-1]` — **GATE**
2. **Review** → `[API-2]` — **GATE**

---

## Phase 1: Contract

> **Adopt persona:** `personas/engineering/api-designer.md`
> **Invoke prompt:** `prompts/api-contract.md`

### Input

- Feature request
- Existing API conventions

### Process

1. Draft the contract from the request.

### Output

**Artifact `[API-1]: API Contract`**

```
## Endpoints
- <Method and path> — <purpose>

## Errors
<Error model>
```

### GATE

**Stop.** Present `[API-1]` for review.

**Approval criteria:** Every endpoint has an error model.

- **Approved** → proceed to Phase 2
- **Revise** → revise the contract, re-present `[API-1]`

---

## Phase 2: Review

> **Invoke panel:** `personas/panels/api-review.md`

### Input

- `[API-1]`: API Contract

### Process

1. The panel reviews the contract.

### Output

**Artifact `[API-2]: API Review`**

```
## Issues
- <Issue> — <severity>

## Verdict
<Ready / Not ready>
```

### GATE

**Approval criteria:** Every issue has a severity.

- **Approved** → proceed
- **Revise** → revise the review, re-present `[API-2]`
";

/// Phase 1 has only a secondary persona, and names it where it was before
/// the library was reorganised (`personas/qa/`, now `personas/quality/`).
const DECISION: &str = "# Workflow: Decision Record

Record an architecture decision after a round table.

## Phases

1. **Framing** → `[ADR-1]` — **GATE**
2. **Round Table** → `[ADR-2]` — **GATE**

## Phase 1: Framing

> **Secondary persona:** `personas/qa/qa-engineer.md`

### Input

- The decision to be made

### Process

1. Frame the decision and its options.

### Output

**Artifact `[ADR-1]: Decision Framing`**

```
## Options
- <Option> — <trade-off>
```

### GATE

**Approval criteria:** At least two options.

- **Approved** → proceed to Phase 2
- **Revise** → revise the framing, re-present `[ADR-1]`

## Phase 2: Round Table

> **Invoke round table:** `personas/round-tables/architecture.md`

### Input

- `[ADR-1]`: Decision Framing

### Process

1. The round table weighs the options.

### Output

**Artifact `[ADR-2]: Decision Record`**

```
## Decision
<What was decided>

## Dissent
<Who disagreed and why>
```

### GATE

**Approval criteria:** The decision and every dissent are recorded.

- **Approved** → proceed
- **Revise** → revise the record, re-present `[ADR-2]`
";

/// Writes the library under `root` (relative to the sandbox, "" for the
/// sandbox itself).
fn write_library(sandbox: &Sandbox, root: &str) {
    let files = [
        ("prompts/workflows/api-design.md", API_DESIGN),
        ("prompts/workflows/decision.md", DECISION),
        ("prompts/api-contract.md", GUIDANCE),
        ("personas/engineering/api-designer.md", API_DESIGNER),
        ("personas/engineering/backend-engineer.md", BACKEND),
        ("personas/quality/qa-engineer.md", QA_ENGINEER),
        ("personas/security/security-engineer.md", SECURITY),
        ("personas/facilitation/review-lead.md", FACILITATOR),
        ("personas/panels/api-review.md", API_REVIEW),
        ("personas/round-tables/architecture.md", ROUND_TABLE),
        ("policies/severity.md", SEVERITY),
    ];
    for (rel, text) in files {
        let path = if root.is_empty() {
            rel.to_string()
        } else {
            format!("{root}/{rel}")
        };
        sandbox.write(&path, text);
    }
}

/// Every file under `dir` with its text, except migagent's run folders and
/// the sandbox's cache of server probes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            !rel.starts_with(".migagent") && !rel.starts_with("cache")
        })
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (p, text)
        })
        .collect()
}

/// The request whose purpose line (`# Task: ID` or `# Panel review: ID`)
/// and member match, by their user message.
fn requests_with(bodies: &[Value], needle: &str) -> Vec<(String, String)> {
    bodies
        .iter()
        .map(|b| (system_message(b), user_message(b)))
        .filter(|(_, user)| user.contains(needle))
        .collect()
}

#[tokio::test]
async fn the_library_validates_shows_and_lists_from_its_root() {
    let sandbox = Sandbox::new();
    write_library(&sandbox, "");

    let (code, out, err) = sandbox.cmd(&["workflows", "list"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let api = sandbox.path().join("prompts/workflows/api-design.md");
    assert!(
        out.lines().any(|l| l.starts_with("api-design")
            && l.contains("API Design")
            && l.contains(&api.display().to_string())),
        "{out}"
    );
    assert!(
        out.contains("decision") && out.contains("Decision Record"),
        "{out}"
    );
    assert!(out.contains("builtin:workflows/migration.md"), "{out}");

    let (code, out, err) = sandbox
        .cmd(&["workflows", "validate", "api-design"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: workflow 'API Design', 2 phases"), "{out}");
    assert!(!out.contains("warning"), "nothing to announce: {out}");

    let (code, out, err) = sandbox
        .cmd(&["workflows", "show", "api-design"])
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let root = sandbox.path().canonicalize().unwrap();
    let at = |rel: &str| root.join(rel).display().to_string();
    for want in [
        format!("  1. {} (the workflow's library: the nearest folder above it with personas/ or prompts/)", root.display()),
        "migagent's built-in files".to_string(),
        format!(
            "  Adopt persona: personas/engineering/api-designer.md ({})",
            at("personas/engineering/api-designer.md")
        ),
        format!("    links to: policies/severity.md ({})", at("policies/severity.md")),
        format!(
            "    participant: Security Engineer → personas/security/security-engineer.md ({})",
            at("personas/security/security-engineer.md")
        ),
        format!(
            "      links to: policies/severity.md ({})",
            at("policies/severity.md")
        ),
        format!(
            "    moderator: Review Lead → personas/facilitation/review-lead.md ({}; a participant whose persona is a facilitator)",
            at("personas/facilitation/review-lead.md")
        ),
    ] {
        assert!(out.contains(&want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("participant: Review Lead"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bold_link_panel_runs_from_the_library_root_in_both_modes() {
    for structured in [false, true] {
        let sandbox = Sandbox::new().with_api_key();
        write_library(&sandbox, "");
        let before = snapshot(sandbox.path());
        let fake = if structured {
            FakeServer::new().structured().start().await
        } else {
            FakeServer::new().start().await
        };
        let base = fake.base_url();
        let (code, out, err) = sandbox
            .cmd(&[
                "run",
                "api-design",
                "--no-input",
                "--need",
                "Orders API for partners",
                "--input",
                "existing=CONVENTIONS: REST, JSON, snake_case",
                "--base-url",
                &base,
                "--run-id",
                "api",
            ])
            .run()
            .await;
        assert_eq!(code, 10, "{out}{err}");
        assert!(!err.contains("warning"), "nothing to announce: {err}");
        sandbox.approve("api").await;
        let (code, out, err) = sandbox.resume("api", &base).await;
        assert_eq!(code, 10, "{out}{err}");
        sandbox.approve("api").await;
        let (code, out, err) = sandbox.resume("api", &base).await;
        assert_eq!(code, 0, "{out}{err}");

        // The contract, three participants (the facilitator moderates), the
        // moderator's draft; a server that enforces schemas is probed first.
        let bodies: Vec<Value> = fake
            .request_bodies()
            .await
            .into_iter()
            .filter(|b| {
                let user = user_message(b);
                user.contains("# Task: ") || user.contains("# Panel review: ")
            })
            .collect();
        assert_eq!(bodies.len(), 5, "structured={structured}");
        let contract = requests_with(&bodies, "# Task: API-1");
        let (system, user) = &contract[0];
        assert!(system.contains("API-DESIGNER-PERSONA"), "{system}");
        assert_eq!(system.matches("SEVERITY-POLICY").count(), 1, "{system}");
        assert!(
            system.find("API-DESIGNER-PERSONA") < system.find("SEVERITY-POLICY"),
            "the policy follows the persona: {system}"
        );
        assert!(user.contains("CONTRACT-GUIDANCE"), "{user}");
        assert!(user.contains("Orders API for partners"), "{user}");
        assert!(user.contains("CONVENTIONS: REST"), "{user}");

        let reviews = requests_with(&bodies, "# Panel review: API-2");
        assert_eq!(reviews.len(), 3, "{reviews:?}");
        // The members are asked in parallel, so their requests arrive in
        // any order: each is found by its persona.
        let review_of = |persona: &str| {
            let found: Vec<&(String, String)> = reviews
                .iter()
                .filter(|(_, u)| u.contains(persona))
                .collect();
            assert_eq!(found.len(), 1, "one review request as {persona}");
            found[0].clone()
        };
        // Members get the panel's purpose and rules, their findings format
        // and their own persona, last, after everything they share; not
        // the panel's process or the moderator's part.
        for persona in ["API-DESIGNER-PERSONA", "SECURITY-PERSONA", "QA-PERSONA"] {
            let (system, user) = review_of(persona);
            let both = format!("{system}\n{user}");
            for want in ["PANEL-PURPOSE", "PARTICIPANT-FORMAT", "PANEL-CONSTRAINTS"] {
                assert!(both.contains(want), "{persona} lacks {want}: {both}");
            }
            for never in [
                "PANEL-PROCESS",
                "CONSOLIDATED-FORMAT",
                "CONFLICT-RULES",
                "FACILITATOR-PERSONA",
            ] {
                assert!(!both.contains(never), "{persona} got {never}: {both}");
            }
            assert!(
                user.find(persona) > user.find("Orders API for partners"),
                "the persona follows the shared inputs: {user}"
            );
        }
        let systems: Vec<&String> = reviews.iter().map(|(s, _)| s).collect();
        assert!(
            systems.windows(2).all(|w| w[0] == w[1]),
            "every member's system message is the same: {systems:?}"
        );
        for (persona, policies) in [
            ("API-DESIGNER-PERSONA", 1),
            ("SECURITY-PERSONA", 0),
            ("QA-PERSONA", 1),
        ] {
            let (_, user) = review_of(persona);
            assert_eq!(
                user.matches("SEVERITY-POLICY").count(),
                policies,
                "{persona}"
            );
        }

        let drafts = requests_with(&bodies, "# Task: API-2");
        let (system, user) = &drafts[0];
        assert!(system.contains("FACILITATOR-PERSONA"), "{system}");
        for want in ["PANEL-PURPOSE", "CONSOLIDATED-FORMAT", "CONFLICT-RULES"] {
            assert!(user.contains(want), "the moderator lacks {want}: {user}");
        }
        for never in ["PANEL-PROCESS", "PARTICIPANT-FORMAT", "PANEL-CONSTRAINTS"] {
            assert!(!user.contains(never), "the moderator got {never}: {user}");
        }
        for text in bodies
            .iter()
            .map(|b| format!("{}{}", system_message(b), user_message(b)))
        {
            assert!(!text.contains("this migration"), "{text}");
        }

        // Nothing was copied into the library or migagent's folders: only
        // the run folder is new.
        let after = snapshot(sandbox.path());
        let changed: Vec<&PathBuf> = after
            .iter()
            .filter(|(p, text)| before.get(*p) != Some(*text))
            .map(|(p, _)| p)
            .collect();
        assert!(changed.is_empty(), "written outside the run: {changed:?}");
        assert_eq!(after.len(), before.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_table_of_names_runs_from_a_subfolder_with_library() {
    let sandbox = Sandbox::new().with_api_key();
    write_library(&sandbox, "team/lib");
    let deep = sandbox.path().join("service/src");
    std::fs::create_dir_all(&deep).unwrap();
    let state = sandbox.state_dir();
    let state = state.to_str().unwrap();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();

    let (code, out, err) = sandbox
        .cmd(&[
            "workflows",
            "validate",
            "decision",
            "--library",
            "../../team/lib",
        ])
        .current_dir(&deep)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let moved = out
        .lines()
        .find(|l| l.contains("warning:"))
        .unwrap_or_else(|| panic!("the moved persona is announced: {out}"));
    assert!(
        moved.contains("personas/qa/qa-engineer.md")
            && moved.contains("personas/quality/qa-engineer.md"),
        "{moved}"
    );
    assert!(
        moved.contains("decision.md:"),
        "at the directive's line: {moved}"
    );

    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "decision",
            "--library",
            "../../team/lib",
            "--state-dir",
            state,
            "--no-input",
            "--need",
            "Split the billing service?",
            "--base-url",
            &base,
            "--run-id",
            "adr",
        ])
        .current_dir(&deep)
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(err.contains("personas/quality/qa-engineer.md"), "{err}");
    // Resumed from the sandbox root, where there is no library: the run
    // keeps the roots it started with.
    sandbox.approve("adr").await;
    let (code, out, err) = sandbox.resume("adr", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    let run = std::fs::read_to_string(sandbox.run_dir("adr").join("run.json")).unwrap();
    let run: Value = serde_json::from_str(&run).unwrap();
    let lib = sandbox.path().join("team/lib").canonicalize().unwrap();
    assert_eq!(
        run["workflow"]["library_roots"][0],
        lib.display().to_string(),
        "{run}"
    );

    let bodies = fake.request_bodies().await;
    let framing = requests_with(&bodies, "# Task: ADR-1");
    let (system, _) = &framing[0];
    assert!(
        system.contains("experienced engineer"),
        "the default persona leads: {system}"
    );
    assert!(
        system.contains("# Secondary persona") && system.contains("QA-PERSONA"),
        "{system}"
    );
    assert_eq!(system.matches("SEVERITY-POLICY").count(), 1, "{system}");

    let reviews = requests_with(&bodies, "# Panel review: ADR-2");
    assert_eq!(
        reviews.len(),
        2,
        "the moderator does not review: {reviews:?}"
    );
    assert!(reviews[0].1.contains("BACKEND-PERSONA"));
    assert!(reviews[1].1.contains("QA-PERSONA"));
    for (_, user) in &reviews {
        assert!(user.contains("ROUNDTABLE-FORMAT"), "{user}");
        assert!(!user.contains("SYNTHESIS-RULES"), "{user}");
    }
    let record = requests_with(&bodies, "# Task: ADR-2");
    let (system, user) = &record[0];
    assert!(
        system.contains("# Persona: Panel Moderator"),
        "the built-in moderator: {system}"
    );
    assert!(!system.to_lowercase().contains("migration"), "{system}");
    assert!(
        user.contains("SYNTHESIS-RULES") && user.contains("ROUNDTABLE-FORMAT"),
        "{user}"
    );
    assert!(!deep.join(".migagent").exists(), "runs went to --state-dir");

    // A run.json of an earlier migagent has one root and no list: it opens
    // with that root.
    let path = sandbox.run_dir("adr").join("run.json");
    let mut old: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    old["workflow"]
        .as_object_mut()
        .unwrap()
        .remove("library_roots");
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let (code, out, err) = sandbox.resume("adr", &base).await;
    assert_eq!(code, 10, "still awaiting ADR-2: {out}{err}");
    assert!(out.contains("awaiting: ADR-2"), "{out}");
}

#[tokio::test]
async fn the_library_comes_from_the_environment_or_the_config() {
    let sandbox = Sandbox::new();
    write_library(&sandbox, "lib");
    let elsewhere = sandbox.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    let lib = sandbox.path().join("lib");
    let (code, out, err) = sandbox
        .cmd(&["workflows", "validate", "api-design"])
        .env("MIGAGENT_LIBRARY", &lib)
        .current_dir(&elsewhere)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: workflow 'API Design'"), "{out}");

    // The config's folders are relative to the config file.
    sandbox.write_config("library = [\"../lib\"]\n");
    let (code, out, err) = sandbox
        .cmd(&["workflows", "show", "decision"])
        .current_dir(&elsewhere)
        .run()
        .await;
    assert_eq!(code, 0, "{out}{err}");
    let lib = lib.canonicalize().unwrap();
    assert!(
        out.contains(&format!("  1. {} (config `library`)", lib.display())),
        "{out}"
    );
    assert!(
        out.contains("moderator: Moderator → prompts/assembly/moderator.md (builtin:prompts/assembly/moderator.md; a participant named as moderator, with no persona file of that name: migagent's built-in moderator)"),
        "{out}"
    );
    assert!(out.contains("found by its name"), "{out}");

    // A library folder that does not exist is an error, not a quiet miss.
    let (code, _, err) = sandbox
        .cmd(&["workflows", "validate", "api-design", "--library", "nope"])
        .current_dir(&elsewhere)
        .run()
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("nope") && err.contains("--library"), "{err}");
}
