//! Evidence for per-step phases, without a terminal: the step card a run
//! stops at (`awaiting_evidence`, exit 10), evidence a person adds with
//! `migagent evidence RUN ...` (notes, files, commands migagent runs only
//! after a yes), the draft requests that carry exactly that evidence, the
//! schema that loses its success values when there is no proof, the point of
//! no return, rollback, and the journal's hashes of every evidence file.
//!
//! Every run here reaches the seed's Phase 4 the way a person would: MIG-1
//! and MIG-2 are approved as the fake model drafts them, and the model's
//! plan `[MIG-3]` is replaced with the person's own (`migagent edit`) before
//! it is approved. Commands really run (`sh -c`) in the sandbox folder.

use crate::support::{
    blocking, pending, requested_artifact, user_message, FakeServer, Pty, Sandbox, API_KEY,
};
use migagent::store::sha256_hex;
use serde_json::Value;

const NEED: &str = "Move the billing database from PostgreSQL 12 to PostgreSQL 16";

/// Three steps, fully reversible. Steps 1 and 2 have no commands; step 3 has
/// a fenced block in its Action and two inline commands in its Verification,
/// each printing something its own text does not contain.
const PLAN_WALK: &str = r#"## Pre-Migration Checklist
- [ ] A fresh base backup of billing exists
- [ ] The invoice batch is paused

## Steps

### Step 1: Freeze writes
- **Action:** Put billing in maintenance mode from the admin console
- **Pre-condition:** No invoice batch is running
- **Verification:** A test write from the console is refused
- **Rollback:** Leave maintenance mode from the admin console
- **Duration estimate:** 5 minutes

### Step 2: Copy the data
- **Action:** Dump the old primary and restore the dump on the new primary
- **Pre-condition:** Writes are frozen
- **Verification:** Row counts of every table match on both primaries
- **Rollback:** Re-point writers to the old primary (runbook RB-7)
- **Duration estimate:** 40 minutes

### Step 3: Switch the application
- **Action:** Point the application at the new primary:
  ```sh
  echo "cutover=$((6*7))"
  ```
- **Pre-condition:** Row counts match
- **Verification:** `printf 'healthz=%s\n' green` and `echo rows=$((1000+200))`
- **Rollback:** Restore the old connection string from the vault
- **Duration estimate:** 2 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Replication lag on the new primary
- Error rate of the billing API

## Communication Plan
- **Before:** notify the billing team
- **During:** update #ops every 15 minutes
- **After:** confirm to finance
"#;

/// What step 3's commands print, one line each, in order.
const STEP3_STDOUT: [&str; 3] = ["cutover=42", "healthz=green", "rows=1200"];

/// Three steps; the plan names step 2 as the point of no return. Step 1 has
/// an inline command in its Action and a fenced block in its Verification.
const PLAN_PNR: &str = r#"## Pre-Migration Checklist
- [ ] The standby is in sync

## Steps

### Step 1: Promote the standby
- **Action:** Promote it with `pg_ctl promote -D /srv/pg16`
- **Pre-condition:** The standby lags less than 1 s
- **Verification:** Ask the new primary whether it is still in recovery:
  ```sql
  psql -Atc 'select pg_is_in_recovery()'
  ```
- **Rollback:** Demote the new primary and re-attach it as a standby
- **Duration estimate:** 3 minutes

### Step 2: Decommission the old primary
- **Action:** Wipe the old primary's data directory
- **Pre-condition:** The new primary takes writes
- **Verification:** The old host no longer answers on 5432
- **Rollback:** None possible: restore from the nightly backup
- **Duration estimate:** 10 minutes

### Step 3: Tell the consumers
- **Action:** Post the new connection string to #billing
- **Pre-condition:** The old primary is gone
- **Verification:** Every consumer confirms
- **Rollback:** Post the old connection string again
- **Duration estimate:** 30 minutes

## Point of No Return
After step 2 — the old primary's data is wiped.

## Monitoring Plan
- Connections on the new primary

## Communication Plan
- **Before:** notify the consumers
- **During:** update #ops on every step
- **After:** confirm to the consumers
"#;

/// A plan whose step 1 would leave a file `marker` in the working directory.
const PLAN_MARKER: &str = r#"## Pre-Migration Checklist
- [ ] Nothing

## Steps

### Step 1: Leave a trace
- **Action:** Create the marker with `touch marker`
- **Pre-condition:** There is no marker
- **Verification:** Look for it
- **Rollback:** Remove the marker
- **Duration estimate:** 1 second

### Step 2: Wait
- **Action:** Wait for the nightly job
- **Pre-condition:** The marker exists
- **Verification:** The job ran
- **Rollback:** Nothing to undo
- **Duration estimate:** 1 night

## Point of No Return
None — fully reversible

## Monitoring Plan
- The marker

## Communication Plan
- **Before:** notify nobody
- **During:** update nobody
- **After:** confirm to nobody
"#;

/// A plan whose step 1 prints what it sees of the model's key variables and
/// of a variable that is not a key.
const PLAN_ENV: &str = r#"## Pre-Migration Checklist
- [ ] Nothing

## Steps

### Step 1: Print the environment
- **Action:** Print the key: `echo "key=${OPENAI_API_KEY:-none}"`
- **Pre-condition:** None
- **Verification:** `echo "team=${TEAM_MODEL_KEY:-none} visible=${EVIDENCE_VISIBLE:-unset}"`
- **Rollback:** Nothing to undo
- **Duration estimate:** 1 second

## Point of No Return
None — fully reversible

## Monitoring Plan
- Nothing

## Communication Plan
- **Before:** notify nobody
- **During:** update nobody
- **After:** confirm to nobody
"#;

/// Three steps for the schema tests: step 1's verification passes, step 2
/// has no command at all, step 3's verification fails.
const PLAN_PROOF: &str = r#"## Pre-Migration Checklist
- [ ] The replica exists

## Steps

### Step 1: Check replication
- **Action:** Nothing to change
- **Pre-condition:** The replica exists
- **Verification:** `echo replication-streaming`
- **Rollback:** Nothing to undo
- **Duration estimate:** 1 minute

### Step 2: Flip the DNS record
- **Action:** Change billing-db.internal to the new primary by hand
- **Pre-condition:** Replication streams
- **Verification:** Look at the dashboard
- **Rollback:** Change the record back
- **Duration estimate:** 5 minutes

### Step 3: Check the consumers
- **Action:** Nothing to change
- **Pre-condition:** The record points at the new primary
- **Verification:** `echo consumers-lagging; exit 3`
- **Rollback:** Change the record back
- **Duration estimate:** 5 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Consumer lag

## Communication Plan
- **Before:** notify the consumers
- **During:** update #ops
- **After:** confirm to finance
"#;

/// One step for the terminal: two commands, each leaving its own file.
const PLAN_TERMINAL: &str = r#"## Pre-Migration Checklist
- [ ] The volume has room for a snapshot

## Steps

### Step 1: Take the snapshot
- **Action:** Snapshot the volume with `touch ran-one`
- **Pre-condition:** The volume has room
- **Verification:** Compare the sizes with `touch ran-two`
- **Rollback:** Delete the snapshot
- **Duration estimate:** 4 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Disk latency

## Communication Plan
- **Before:** notify storage
- **During:** update nobody
- **After:** confirm to storage
"#;

/// One step whose Action hangs and whose Verification is quick.
const PLAN_SLOW: &str = r#"## Pre-Migration Checklist
- [ ] Nothing

## Steps

### Step 1: Wait for the vacuum
- **Action:** Wait with `sleep 30`
- **Pre-condition:** None
- **Verification:** `echo vacuum-checked`
- **Rollback:** Nothing to undo
- **Duration estimate:** 30 seconds

## Point of No Return
None — fully reversible

## Monitoring Plan
- Nothing

## Communication Plan
- **Before:** notify nobody
- **During:** update nobody
- **After:** confirm to nobody
"#;

/// Enum values that claim success, which a draft without proof may not use.
const SUCCESS_WORDS: [&str; 6] = [
    "Pass",
    "Met",
    "Verified",
    "Complete",
    "Functioning",
    "Migration successful",
];

/// `migagent ARGS` in `sandbox`; returns the exit code and stdout + stderr.
async fn migagent(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let (code, out, err) = sandbox.cmd(args).run().await;
    (code, format!("{out}{err}"))
}

/// Starts run `run_id` (with `extra` arguments such as a profile), approves
/// MIG-1 and MIG-2 as drafted, replaces the drafted plan with `plan` and
/// approves it, then resumes: the run must stop at step 1's card, awaiting
/// evidence, without asking the model for anything. Returns that resume's
/// stdout and stderr.
async fn reach_step_one(
    sandbox: &Sandbox,
    fake: &FakeServer,
    run_id: &str,
    extra: &[&str],
    plan: &str,
) -> (String, String) {
    let base = fake.base_url();
    let mut args = vec![
        "run",
        "--no-input",
        "--need",
        NEED,
        "--base-url",
        &base,
        "--run-id",
        run_id,
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = sandbox.cmd(&args).run().await;
    assert_eq!(code, 10, "run should stop at MIG-1:\n{out}\n{err}");
    sandbox.approve(run_id).await;
    for id in ["MIG-2", "MIG-3"] {
        let (code, out, err) = sandbox.resume(run_id, &base).await;
        assert_eq!(code, 10, "{id} should be drafted:\n{out}\n{err}");
        assert_eq!(pending(&sandbox.status(run_id).await), id);
        if id == "MIG-2" {
            sandbox.approve(run_id).await;
        }
    }
    let plan_file = sandbox.write(&format!("{run_id}-plan.md"), plan);
    let (code, out) = migagent(
        sandbox,
        &["edit", run_id, "--file", plan_file.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "edit of MIG-3 failed: {out}");
    sandbox.approve(run_id).await;
    assert_eq!(
        sandbox.artifact(run_id, "MIG-3").trim(),
        plan.trim(),
        "the approved plan is the person's own"
    );

    let before = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume(run_id, &base).await;
    assert_eq!(code, 10, "step 1 should await evidence:\n{out}\n{err}");
    assert!(
        out.contains(&format!("run: {run_id}\nawaiting evidence: MIG-4.1")),
        "stdout names the run and the step awaiting evidence:\n{out}\n--- stderr ---\n{err}"
    );
    assert_eq!(
        fake.request_bodies().await.len(),
        before,
        "nothing is drafted before there is evidence"
    );
    (out, err)
}

/// `resume` that must draft `id` and stop at its gate; returns the draft
/// request (the last chat request, which must be for `id`).
async fn resume_drafts(sandbox: &Sandbox, fake: &FakeServer, run_id: &str, id: &str) -> Value {
    let before = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume(run_id, &fake.base_url()).await;
    assert_eq!(code, 10, "{id} should be drafted:\n{out}\n{err}");
    let status = sandbox.status(run_id).await;
    assert_eq!(status["state"], "awaiting_decision", "{status:#}");
    assert_eq!(pending(&status), id, "{status:#}");
    let bodies = fake.request_bodies().await;
    assert_eq!(bodies.len(), before + 1, "one draft request for {id}");
    let body = bodies.last().unwrap().clone();
    assert_eq!(requested_artifact(&user_message(&body)), id);
    body
}

/// `resume` that must stop at step `id`'s card, awaiting evidence.
async fn resume_awaits_evidence(sandbox: &Sandbox, fake: &FakeServer, run_id: &str, id: &str) {
    let before = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume(run_id, &fake.base_url()).await;
    assert_eq!(code, 10, "{id} should await evidence:\n{out}\n{err}");
    assert!(
        out.contains(&format!("awaiting evidence: {id}")),
        "{out}\n--- stderr ---\n{err}"
    );
    let status = sandbox.status(run_id).await;
    assert_eq!(status["state"], "awaiting_evidence", "{status:#}");
    assert_eq!(status["evidence"]["artifact"], id, "{status:#}");
    assert_eq!(
        fake.request_bodies().await.len(),
        before,
        "{id} is not drafted before there is evidence"
    );
}

/// Events of `kind` in run `run_id`'s journal.
fn events(sandbox: &Sandbox, run_id: &str, kind: &str) -> Vec<Value> {
    sandbox
        .journal(run_id)
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

/// Every string in every `enum` of a JSON schema, however deep.
fn enum_values(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "enum" {
                    if let Some(values) = v.as_array() {
                        out.extend(values.iter().filter_map(|x| x.as_str()).map(String::from));
                    }
                } else {
                    out.extend(enum_values(v));
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                out.extend(enum_values(v));
            }
        }
        _ => {}
    }
    out
}

/// The JSON schema a draft request sent.
fn schema_of(body: &Value) -> &Value {
    let schema = &body["response_format"]["json_schema"]["schema"];
    assert!(schema.is_object(), "the request carries no JSON schema");
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_step_plan_is_walked_with_a_note_a_file_and_an_approved_command() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "walk";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_WALK).await;

    // Resuming without evidence drafts nothing and keeps waiting.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.1").await;

    // Step 1: a person's note.
    let note = "Maintenance mode on at 02:10; the console's test write got 503";
    let out = sandbox
        .evidence(run, &["--note", note, "--as", "ana", "--json"])
        .await;
    let record: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("--json prints the new record ({e}): {out}"));
    assert_eq!(record["schema_version"], 1, "{record:#}");
    let record = &record["evidence"][0];
    assert_eq!(record["id"], "note-1", "{record:#}");
    let dir = sandbox.run_dir(run);
    assert_eq!(
        std::fs::read_to_string(dir.join("evidence/MIG-4.1/note-1.md"))
            .expect("the note is stored")
            .trim(),
        note
    );
    let s1 = user_message(&resume_drafts(&sandbox, &fake, run, "MIG-4.1").await);
    assert!(s1.contains("## Evidence for [MIG-4.1]"), "{s1}");
    assert!(
        s1.contains("MIG-4.1/note-1: reported by ana"),
        "the note says who reported it:\n{s1}"
    );
    assert!(s1.contains(note), "{s1}");
    assert!(
        !s1.contains("Evidence for [MIG-4.2]") && !s1.contains("Evidence for [MIG-4.3]"),
        "{s1}"
    );
    // The draft awaits a decision now, not evidence: `evidence` says so.
    let (code, out, err) = sandbox
        .cmd(&["evidence", run, "--note", "too late"])
        .run()
        .await;
    assert_eq!(code, 1, "evidence at a decision gate:\n{out}{err}");
    assert!(
        err.contains("decision"),
        "the error names the state:\n{err}"
    );
    assert_eq!(events(&sandbox, run, "evidence_added").len(), 1);
    sandbox.approve(run).await;

    // Step 2: a log file, copied whole.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
    let log = "restore finished: 1200 rows in 14 tables, 0 errors\nchecksum 9f2c41d7\n";
    let log_path = sandbox.write("restore.log", log);
    sandbox
        .evidence(run, &["--file", log_path.to_str().unwrap()])
        .await;
    assert_eq!(
        std::fs::read(dir.join("evidence/MIG-4.2/file-1-restore.log")).expect("the file is stored"),
        log.as_bytes()
    );
    let s2 = user_message(&resume_drafts(&sandbox, &fake, run, "MIG-4.2").await);
    assert!(s2.contains("## Evidence for [MIG-4.2]"), "{s2}");
    assert!(s2.contains("MIG-4.2/file-1"), "{s2}");
    assert!(
        s2.contains("checksum 9f2c41d7"),
        "the file's content:\n{s2}"
    );
    assert!(
        !s2.contains(note),
        "step 1's note is not step 2's evidence:\n{s2}"
    );
    assert!(!s2.contains("Evidence for [MIG-4.1]"), "{s2}");
    sandbox.approve(run).await;

    // Step 3: the plan's three commands, approved with --yes.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.3").await;
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    for (i, expected) in STEP3_STDOUT.iter().enumerate() {
        let stdout =
            std::fs::read_to_string(dir.join(format!("evidence/MIG-4.3/cmd-{}.stdout", i + 1)))
                .unwrap_or_else(|e| panic!("cmd-{} stdout: {e}", i + 1));
        assert_eq!(stdout.trim(), *expected, "cmd-{}", i + 1);
    }
    let s3 = user_message(&resume_drafts(&sandbox, &fake, run, "MIG-4.3").await);
    let evidence = s3
        .split("## Evidence for [MIG-4.3]")
        .nth(1)
        .unwrap_or_else(|| panic!("no evidence section:\n{s3}"));
    for (i, expected) in STEP3_STDOUT.iter().enumerate() {
        assert!(
            evidence.contains(&format!(
                "MIG-4.3/cmd-{}: command run by migagent, approved by tester, exit 0",
                i + 1
            )),
            "cmd-{} is marked as a command with its exit code:\n{evidence}",
            i + 1
        );
        assert!(
            evidence.contains(expected),
            "cmd-{} stdout:\n{evidence}",
            i + 1
        );
    }
    assert!(
        evidence.contains("$ echo \"cutover=$((6*7))\""),
        "the command is shown:\n{evidence}"
    );
    assert!(
        s3.contains("(evidence: "),
        "the request asks to cite evidence by id:\n{s3}"
    );
    assert!(!s3.contains(note), "{s3}");
    assert!(!s3.contains("checksum 9f2c41d7"), "{s3}");
    sandbox.approve(run).await;

    // Phase 5 is next: no step waits, so a note fills its free-text input
    // "Current system state", which status names.
    let status = sandbox.status(run).await;
    assert_eq!(status["state"], "ready_to_draft", "{status}");
    assert_eq!(
        status["context_inputs"],
        serde_json::json!(["Current system state"]),
        "{status}"
    );
    let state_note = "SYSTEM-STATE-AFTER: replication lag 0 s, 0 errors";
    let (code, out) = migagent(&sandbox, &["evidence", run, "--note", state_note]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Current system state"), "{out}");
    let (code, out) = migagent(&sandbox, &["evidence", run, "--exec", "--yes"]).await;
    assert_eq!(code, 1, "commands run only at a step: {out}");

    // On to Phase 5: every panel request carries the evidence index.
    let before = fake.request_bodies().await.len();
    let (code, out, err) = sandbox.resume(run, &fake.base_url()).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(pending(&sandbox.status(run).await), "MIG-5");
    let added = events(&sandbox, run, "evidence_added");
    assert_eq!(added.len(), 5, "a note, a file, three commands: {added:#?}");
    let panel = fake.request_bodies().await[before..].to_vec();
    assert!(!panel.is_empty());
    for body in &panel {
        let user = user_message(body);
        for e in &added {
            let id = format!(
                "{}/{}",
                e["artifact"].as_str().unwrap(),
                e["evidence"].as_str().unwrap()
            );
            let sha = e["sha256"].as_str().unwrap();
            assert!(
                user.contains(&id) && user.contains(sha),
                "Phase 5's request lists {id} with its sha256:\n{user}"
            );
        }
        assert!(
            user.contains(state_note),
            "the state note fills Current system state:\n{user}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_without_a_yes_is_listed_and_never_run() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "refuse";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_MARKER).await;
    let marker = sandbox.path().join("marker");

    // --exec alone lists the command and where it would run.
    let (code, out) = migagent(&sandbox, &["evidence", run, "--exec"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(!marker.exists(), "--exec without --yes ran the command");
    assert!(
        out.contains("touch marker"),
        "the command is listed:\n{out}"
    );
    let cwd = sandbox.path().canonicalize().unwrap();
    assert!(
        out.contains(cwd.to_str().unwrap()) || out.contains(sandbox.path().to_str().unwrap()),
        "the working directory is listed:\n{out}"
    );

    // --no-exec refuses even with --yes.
    let (code, out) = migagent(&sandbox, &["evidence", run, "--exec", "--yes", "--no-exec"]).await;
    assert_eq!(code, 1, "--no-exec must refuse --exec:\n{out}");
    assert!(!marker.exists(), "--no-exec ran the command");

    // So does `exec = false` in the config.
    sandbox.write_config("[evidence]\nexec = false\n");
    let (code, out) = migagent(&sandbox, &["evidence", run, "--exec", "--yes"]).await;
    assert_eq!(code, 1, "exec = false must refuse --exec:\n{out}");
    assert!(!marker.exists(), "exec = false ran the command");

    let status = sandbox.status(run).await;
    assert_eq!(status["state"], "awaiting_evidence", "{status:#}");
    assert_eq!(
        status["evidence"]["items"],
        Value::Array(vec![]),
        "nothing was recorded"
    );
    assert!(events(&sandbox, run, "evidence_added").is_empty());

    // The marker does prove a run: with the yes, the command leaves it.
    sandbox.write_config("");
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    assert!(
        marker.exists(),
        "--exec --yes should have run `touch marker`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_without_the_model_api_keys() {
    let sandbox = Sandbox::new()
        .with_api_key()
        .env("TEAM_MODEL_KEY", "team-secret-4711")
        .env("EVIDENCE_VISIBLE", "yes");
    // The run's profile takes its key from TEAM_MODEL_KEY.
    sandbox
        .write_config("profile = \"team\"\n\n[profiles.team]\napi_key_env = \"TEAM_MODEL_KEY\"\nmodel = \"fake-model\"\n");
    let fake = FakeServer::new().start().await;
    let run = "keys";
    reach_step_one(&sandbox, &fake, run, &["--profile", "team"], PLAN_ENV).await;
    sandbox.evidence(run, &["--exec", "--yes"]).await;

    let dir = sandbox.run_dir(run).join("evidence/MIG-4.1");
    let key = std::fs::read_to_string(dir.join("cmd-1.stdout")).expect("cmd-1 stdout");
    assert_eq!(key.trim(), "key=none", "OPENAI_API_KEY reached the command");
    let other = std::fs::read_to_string(dir.join("cmd-2.stdout")).expect("cmd-2 stdout");
    assert_eq!(
        other.trim(),
        "team=none visible=yes",
        "the profile's key variable is removed, the rest of the environment is kept"
    );
    for file in crate::support::files_under(&sandbox.state_dir()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(API_KEY), "{} holds the key", file.display());
        assert!(
            !text.contains("team-secret-4711"),
            "{} holds the team key",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_proof_the_schema_sent_has_no_success_values() {
    let sandbox = Sandbox::new();
    let fake = FakeServer::new().structured().start().await;
    let run = "proof";
    reach_step_one(&sandbox, &fake, run, &["--profile", "local"], PLAN_PROOF).await;

    // Control: step 1's verification passes, so its schema keeps "Pass".
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    let s1 = resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;
    let values = enum_values(schema_of(&s1));
    assert!(
        values.iter().any(|v| v == "Pass"),
        "a step with a passing command may claim Pass: {values:?}"
    );
    sandbox.approve(run).await;

    // Step 2 is drafted without evidence, on purpose.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
    sandbox
        .evidence(
            run,
            &[
                "--none",
                "--reason",
                "the DNS console was not reachable from here",
            ],
        )
        .await;
    let s2 = resume_drafts(&sandbox, &fake, run, "MIG-4.2").await;
    let values = enum_values(schema_of(&s2));
    for word in SUCCESS_WORDS {
        assert!(
            !values.iter().any(|v| v == word),
            "{word:?} is in the schema of a step without evidence: {values:?}"
        );
    }
    assert!(
        values.iter().any(|v| v == "Unverified"),
        "\"Unverified\" is offered instead: {values:?}"
    );
    let draft = sandbox.run_dir(run).join("drafts/MIG-4.2.r1.md");
    let draft = std::fs::read_to_string(&draft).expect("the step's draft");
    assert!(!draft.contains("Pass"), "{draft}");
    sandbox.approve(run).await;

    // Step 3's verification fails: no success either.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.3").await;
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    let cmd = events(&sandbox, run, "evidence_added")
        .into_iter()
        .find(|e| e["artifact"] == "MIG-4.3")
        .expect("step 3's command is journalled");
    assert_eq!(cmd["exit_code"], 3, "{cmd:#}");
    let s3 = resume_drafts(&sandbox, &fake, run, "MIG-4.3").await;
    let values = enum_values(schema_of(&s3));
    for word in SUCCESS_WORDS {
        assert!(
            !values.iter().any(|v| v == word),
            "{word:?} is in the schema of a step whose verification failed: {values:?}"
        );
    }
    assert!(values.iter().any(|v| v == "Unverified"), "{values:?}");
    assert!(
        user_message(&s3).contains("exit 3"),
        "the request says the command failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_rolled_back_shows_its_own_rollback_and_the_run_continues() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "rollback";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_WALK).await;
    sandbox
        .evidence(run, &["--note", "maintenance mode on"])
        .await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;
    sandbox.approve(run).await;

    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
    sandbox
        .evidence(
            run,
            &["--note", "replica lag reached 45 s during the restore"],
        )
        .await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.2").await;
    let (code, out) = migagent(
        &sandbox,
        &[
            "decide", run, "--option", "Rollback", "--reason", "lag", "--then", "continue",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Re-point writers to the old primary (runbook RB-7)"),
        "step 2's own Rollback instruction is shown:\n{out}"
    );
    assert!(
        !out.contains("Leave maintenance mode")
            && !out.contains("Restore the old connection string"),
        "only step 2's rollback, not the other steps':\n{out}"
    );

    let rolled = events(&sandbox, run, "rolled_back");
    assert_eq!(rolled.len(), 1, "{rolled:#?}");
    assert_eq!(rolled[0]["artifact"], "MIG-4.2");
    assert_eq!(rolled[0]["reason"], "lag");
    assert_eq!(rolled[0]["then"], "continue");
    assert!(!sandbox.run_dir(run).join("artifacts/MIG-4.2.md").exists());

    // The run goes on with step 3.
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.3").await;
    sandbox.evidence(run, &["--note", "app switched"]).await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.3").await;
    sandbox.approve(run).await;
    let (code, out, err) = sandbox.resume(run, &fake.base_url()).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(pending(&sandbox.status(run).await), "MIG-5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_point_of_no_return_needs_a_named_confirmation() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "pnr";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_PNR).await;
    assert_eq!(
        sandbox.status(run).await["evidence"]["card"]["point_of_no_return"],
        false
    );
    sandbox
        .evidence(run, &["--note", "promoted; pg_is_in_recovery = f"])
        .await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;
    sandbox.approve(run).await;

    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
    let status = sandbox.status(run).await;
    assert_eq!(
        status["evidence"]["card"]["point_of_no_return"], true,
        "{status:#}"
    );
    assert!(status["evidence"]["point_of_no_return_confirmed_by"].is_null());

    // Unconfirmed: refused, nothing recorded.
    let (code, out, err) = sandbox.cmd(&["evidence", run, "--note", "x"]).run().await;
    assert_eq!(
        code, 1,
        "evidence before the point of no return is confirmed:\n{out}{err}"
    );
    assert!(
        err.to_lowercase().contains("point of no return"),
        "the refusal names the point of no return:\n{err}"
    );
    assert!(events(&sandbox, run, "evidence_added")
        .iter()
        .all(|e| e["artifact"] != "MIG-4.2"));
    assert!(events(&sandbox, run, "point_of_no_return_confirmed").is_empty());
    assert!(
        crate::support::files_under(&sandbox.run_dir(run).join("evidence/MIG-4.2")).is_empty(),
        "nothing is stored for a refused item"
    );

    // Confirmed: accepted, and journalled with the person's name.
    sandbox
        .evidence(
            run,
            &["--note", "x", "--confirm-point-of-no-return", "--as", "ana"],
        )
        .await;
    let confirmed = events(&sandbox, run, "point_of_no_return_confirmed");
    assert_eq!(confirmed.len(), 1, "{confirmed:#?}");
    assert_eq!(confirmed[0]["artifact"], "MIG-4.2");
    assert_eq!(confirmed[0]["step"], 2);
    assert_eq!(confirmed[0]["by"], "ana");
    let status = sandbox.status(run).await;
    assert_eq!(
        status["evidence"]["point_of_no_return_confirmed_by"], "ana",
        "{status:#}"
    );
    assert_eq!(
        status["evidence"]["items"].as_array().map(Vec::len),
        Some(1)
    );
    resume_drafts(&sandbox, &fake, run, "MIG-4.2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_step_card_and_the_evidence_collected() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "card";
    let (_, err) = reach_step_one(&sandbox, &fake, run, &[], PLAN_PNR).await;
    assert!(
        err.contains("Promote the standby") && err.contains("pg_ctl promote -D /srv/pg16"),
        "the card is on stderr:\n{err}"
    );

    let status = sandbox.status(run).await;
    assert_eq!(status["state"], "awaiting_evidence", "{status:#}");
    let ev = &status["evidence"];
    assert_eq!(ev["artifact"], "MIG-4.1", "{status:#}");
    let card = &ev["card"];
    assert_eq!(card["artifact"], "MIG-4.1");
    assert_eq!(card["step"]["number"], 1);
    assert_eq!(card["step"]["name"], "Promote the standby");
    let fields: Vec<(String, String)> = card["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields: {card:#}"))
        .iter()
        .map(|f| {
            (
                f["label"].as_str().unwrap_or_default().to_string(),
                f["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let labels: Vec<&str> = fields.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Action",
            "Pre-condition",
            "Verification",
            "Rollback",
            "Duration estimate"
        ]
    );
    assert_eq!(fields[0].1, "Promote it with `pg_ctl promote -D /srv/pg16`");
    assert_eq!(fields[1].1, "The standby lags less than 1 s");
    assert_eq!(fields[4].1, "3 minutes");
    let commands: Vec<(String, String)> = card["commands"]
        .as_array()
        .unwrap_or_else(|| panic!("no commands: {card:#}"))
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap_or_default().to_string(),
                c["command"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        commands,
        [
            (
                "Action".to_string(),
                "pg_ctl promote -D /srv/pg16".to_string()
            ),
            (
                "Verification".to_string(),
                "psql -Atc 'select pg_is_in_recovery()'".to_string()
            ),
        ]
    );
    // The fake model's strategy lists one health check, which MIG-3 reaches.
    let checks = card["health_checks"].as_array().expect("health checks");
    assert_eq!(checks.len(), 1, "{card:#}");
    assert!(
        checks[0].as_str().unwrap().contains("fake-MIG-2-call"),
        "{card:#}"
    );
    assert_eq!(card["point_of_no_return"], false);
    assert_eq!(ev["items"], Value::Array(vec![]));
    assert!(ev["point_of_no_return_confirmed_by"].is_null());

    let (code, text) = migagent(&sandbox, &["status", run]).await;
    assert_eq!(code, 0, "{text}");
    for shown in [
        "Promote the standby",
        "Promote it with `pg_ctl promote -D /srv/pg16`",
        "The standby lags less than 1 s",
        "Demote the new primary and re-attach it as a standby",
        "3 minutes",
        "psql -Atc 'select pg_is_in_recovery()'",
        "fake-MIG-2-call",
    ] {
        assert!(text.contains(shown), "status shows {shown:?}:\n{text}");
    }

    sandbox
        .evidence(run, &["--note", "promoted at 02:14", "--as", "ana"])
        .await;
    let status = sandbox.status(run).await;
    let items = status["evidence"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{status:#}");
    assert_eq!(items[0]["id"], "note-1");
    assert_eq!(items[0]["kind"], "note");
    assert_eq!(items[0]["by"], "ana");
    let (_, text) = migagent(&sandbox, &["status", run]).await;
    assert!(text.contains("note-1"), "status lists the note:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_hashes_match_the_evidence_files() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "hashes";
    // The PROOF plan: step 1 has one command, step 2 none.
    reach_step_one(&sandbox, &fake, run, &[], PLAN_PROOF).await;
    sandbox
        .evidence(run, &["--note", "first look: replica streaming"])
        .await;
    sandbox
        .evidence(run, &["--note", "second look: still streaming"])
        .await;
    let log = sandbox.write("lag.csv", "t,lag_ms\n0,12\n1,9\n");
    sandbox
        .evidence(run, &["--file", log.to_str().unwrap()])
        .await;
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;
    sandbox.approve(run).await;
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
    sandbox
        .evidence(
            run,
            &["--none", "--reason", "done by hand, nothing to show"],
        )
        .await;

    let added = events(&sandbox, run, "evidence_added");
    let ids: Vec<(String, String, String)> = added
        .iter()
        .map(|e| {
            (
                e["artifact"].as_str().unwrap_or_default().to_string(),
                e["evidence"].as_str().unwrap_or_default().to_string(),
                e["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("MIG-4.1", "note-1", "note"),
        ("MIG-4.1", "note-2", "note"),
        ("MIG-4.1", "file-1", "file"),
        ("MIG-4.1", "cmd-1", "command"),
        ("MIG-4.2", "none", "none"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(ids, expected);

    let dir = sandbox.run_dir(run);
    let mut checked = 0;
    for e in &added {
        for (path_key, sha_key) in [("path", "sha256"), ("stderr_path", "stderr_sha256")] {
            let Some(path) = e[path_key].as_str() else {
                assert!(
                    e["kind"] == "none" || path_key == "stderr_path" && e["kind"] != "command",
                    "{path_key} missing: {e:#}"
                );
                continue;
            };
            let file = dir.join(path);
            assert!(
                file.starts_with(dir.join("evidence")),
                "{path} is under evidence/"
            );
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                e[sha_key].as_str(),
                Some(sha256_hex(&bytes).as_str()),
                "{sha_key} of {path}"
            );
            checked += 1;
        }
        assert!(e["by"].is_string(), "{e:#}");
    }
    assert!(checked >= 5, "note, note, file, stdout and stderr checked");
    assert_eq!(
        std::fs::read(dir.join("evidence/MIG-4.1/file-1-lag.csv")).unwrap(),
        std::fs::read(&log).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("evidence/MIG-4.1/cmd-1.stdout"))
            .unwrap()
            .trim(),
        "replication-streaming"
    );

    // run.json keeps the same records with the artifact.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let step1 = state["artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == "MIG-4.1"))
        .unwrap_or_else(|| panic!("no MIG-4.1 in run.json: {state:#}"));
    assert_eq!(
        step1["evidence"].as_array().map(Vec::len),
        Some(4),
        "{step1:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_kept_whole_and_cut_for_the_prompt() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "big";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_WALK).await;
    let mut log = String::new();
    for i in 0..20_000 {
        log.push_str(&format!(
            "{i:05} restore: table invoices chunk {i} copied\n"
        ));
    }
    let path = sandbox.write("big.log", &log);
    sandbox
        .evidence(run, &["--file", path.to_str().unwrap()])
        .await;
    let stored = sandbox.run_dir(run).join("evidence/MIG-4.1/file-1-big.log");
    assert_eq!(std::fs::read(&stored).expect("stored"), log.as_bytes());
    let user = user_message(&resume_drafts(&sandbox, &fake, run, "MIG-4.1").await);
    assert!(
        user.len() < log.len(),
        "the prompt carries a cut, not {} bytes",
        log.len()
    );
    assert!(
        user.contains("file-1-big.log"),
        "the cut names the whole file:\n{}",
        &user[user.len().saturating_sub(4000)..]
    );
    assert!(
        user.contains("00000 restore: table invoices chunk 0 copied")
            || user.contains("19999 restore: table invoices chunk 19999 copied"),
        "the cut carries the file's head or tail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_terminal_the_card_then_a_yes_per_command_then_the_draft_and_the_gate() {
    let sandbox = Sandbox::new().with_api_key().env("TERM", "xterm");
    let fake = FakeServer::new().start().await;
    let run = "tty";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_TERMINAL).await;
    let note = "snapshot snap-0412 taken, 38 GB";
    let base = fake.base_url();
    let cmd = sandbox.cmd(&["resume", run, "--base-url", &base]);
    let (code, out) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        // The card, as the plan gives the step.
        pty.expect("Step 1: Take the snapshot");
        pty.expect("Snapshot the volume with `touch ran-one`");
        pty.expect("Delete the snapshot");
        pty.expect("4 minutes");
        // A yes for the first command, a no for the second.
        pty.expect("touch ran-one");
        pty.expect("Run it now?");
        pty.send("y\r");
        pty.expect("touch ran-two");
        pty.expect("Run it now?");
        pty.send("n\r");
        // A note, then the draft and the gate.
        pty.expect("What did you do and see at this step?");
        pty.expect("  | ");
        pty.send(&format!("{note}\r"));
        pty.expect("  | ");
        pty.send("\r");
        pty.expect("fake-MIG-4.1-call");
        let menu = pty.menu("MIG-4.1");
        assert!(menu.contains("1) Approved"), "{menu}");
        pty.send("1\r");
        pty.menu("MIG-5");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{out}");
    assert!(
        sandbox.path().join("ran-one").exists(),
        "the command answered y ran"
    );
    assert!(
        !sandbox.path().join("ran-two").exists(),
        "the command answered n did not run"
    );

    let added = events(&sandbox, run, "evidence_added");
    let kinds: Vec<(&str, &str)> = added
        .iter()
        .map(|e| {
            (
                e["evidence"].as_str().unwrap_or_default(),
                e["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("cmd-1", "command"), ("note-1", "note")],
        "{added:#?}"
    );
    assert_eq!(added[0]["command"], "touch ran-one");
    assert_eq!(added[0]["exit_code"], 0);
    assert_eq!(added[0]["by"], "tester");
    assert_eq!(added[1]["by"], "tester");

    let request = fake
        .request_bodies()
        .await
        .into_iter()
        .map(|b| user_message(&b))
        .find(|u| requested_artifact(u) == "MIG-4.1")
        .expect("MIG-4.1 was drafted");
    let evidence = request
        .split("## Evidence for [MIG-4.1]")
        .nth(1)
        .unwrap_or_else(|| panic!("no evidence section:\n{request}"));
    assert!(evidence.contains("$ touch ran-one"), "{evidence}");
    assert!(!evidence.contains("$ touch ran-two"), "{evidence}");
    assert!(evidence.contains(note), "{evidence}");

    let approved = events(&sandbox, run, "approved");
    assert!(
        approved
            .iter()
            .any(|e| e["artifact"] == "MIG-4.1" && e["approver"] == "tester"),
        "{approved:#?}"
    );
    assert_eq!(pending(&sandbox.status(run).await), "MIG-5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_runs_one_command_and_a_hanging_command_times_out() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "slow";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_SLOW).await;
    sandbox.write_config("[evidence]\ncommand_timeout_secs = 1\n");

    // --only 2 runs the Verification alone.
    sandbox
        .evidence(run, &["--exec", "--yes", "--only", "2"])
        .await;
    let added = events(&sandbox, run, "evidence_added");
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0]["command"], "echo vacuum-checked");
    assert_eq!(added[0]["exit_code"], 0);

    // `sleep 30` is stopped at the configured timeout and recorded so.
    let started = std::time::Instant::now();
    sandbox
        .evidence(run, &["--exec", "--yes", "--only", "1"])
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the command ran past its timeout"
    );
    let added = events(&sandbox, run, "evidence_added");
    assert_eq!(added.len(), 2, "{added:#?}");
    assert_eq!(added[1]["evidence"], "cmd-2");
    assert_eq!(added[1]["command"], "sleep 30");
    assert_eq!(added[1]["timed_out"], true, "{:#}", added[1]);

    let user = user_message(&resume_drafts(&sandbox, &fake, run, "MIG-4.1").await);
    assert!(
        user.contains("MIG-4.1/cmd-2") && user.contains("timed out"),
        "the request says the command timed out:\n{user}"
    );
    // A command's event always says whether it timed out.
    assert_eq!(added[0]["timed_out"], false, "{:#}", added[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_without_evidence_is_drafted_in_markdown_mode_too() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "none-md";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_WALK).await;
    sandbox
        .evidence(run, &["--none", "--reason", "the console log was lost"])
        .await;
    let added = events(&sandbox, run, "evidence_added");
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0]["evidence"], "none");
    assert_eq!(added[0]["kind"], "none");
    let body = resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;
    assert!(
        body["response_format"].is_null(),
        "Markdown mode sends no schema"
    );
    assert!(sandbox.run_dir(run).join("drafts/MIG-4.1.r1.md").is_file());
}

/// A plan whose first step's Rollback is a command.
const PLAN_ROLLBACK: &str = r#"## Pre-Migration Checklist
- [ ] Sessions drained

## Steps

### Step 1: Move sessions
- **Action:** Start the session copier
- **Pre-condition:** Valkey 8 is up
- **Verification:** Session count matches
- **Rollback:** Stop the copier, then run `echo "restored=old-redis" > rollback-marker.txt`
- **Duration estimate:** 10 minutes

### Step 2: Retire Redis 6
- **Action:** Stop Redis 6
- **Pre-condition:** No client uses Redis 6
- **Verification:** Port 6379 is closed
- **Rollback:** Start Redis 6 again
- **Duration estimate:** 2 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Session errors

## Communication Plan
- **Before:** notify support
- **During:** update #ops hourly
- **After:** confirm to product
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_gathers_its_own_evidence_before_the_choice() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let run = "rb2";
    reach_step_one(&sandbox, &fake, run, &[], PLAN_ROLLBACK).await;
    sandbox
        .evidence(run, &["--note", "copier started, 3% errors"])
        .await;
    resume_drafts(&sandbox, &fake, run, "MIG-4.1").await;

    // Rollback without --then starts it: the plan's rollback is shown.
    let (code, out) = migagent(
        &sandbox,
        &[
            "decide",
            run,
            "--option",
            "Rollback",
            "--reason",
            "error rate",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Stop the copier"), "{out}");
    let status = sandbox.status(run).await;
    assert_eq!(status["state"], "rolling_back", "{status}");
    assert_eq!(status["evidence"]["rollback"]["reason"], "error rate");
    assert!(
        status["pending"].is_null(),
        "the draft is no longer up for approval"
    );
    let (code, out) = migagent(&sandbox, &["approve", run]).await;
    assert_ne!(
        code, 0,
        "a step being rolled back cannot be approved: {out}"
    );

    // Its evidence: the Rollback's own command, listed, then run with a yes.
    let (code, out) = migagent(&sandbox, &["evidence", run, "--exec"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rollback-marker.txt"), "{out}");
    assert!(!sandbox.path().join("rollback-marker.txt").exists());
    sandbox.evidence(run, &["--exec", "--yes"]).await;
    let marker = std::fs::read_to_string(sandbox.path().join("rollback-marker.txt")).unwrap();
    assert_eq!(marker.trim(), "restored=old-redis");
    sandbox
        .evidence(run, &["--note", "sessions served by Redis 6 again"])
        .await;

    // The choice ends it, with the reason it started with.
    let (code, out) = migagent(
        &sandbox,
        &["decide", run, "--option", "Rollback", "--then", "continue"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let started = events(&sandbox, run, "rollback_started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["reason"], "error rate");
    let added = events(&sandbox, run, "evidence_added");
    let rollback_items: Vec<&Value> = added.iter().filter(|e| e["rollback"] == true).collect();
    assert_eq!(rollback_items.len(), 2, "{added:#?}");
    assert_eq!(rollback_items[0]["source"], "Rollback");
    assert_eq!(rollback_items[0]["exit_code"], 0);
    let rolled = events(&sandbox, run, "rolled_back");
    assert_eq!(rolled.len(), 1);
    assert_eq!(rolled[0]["reason"], "error rate");
    assert_eq!(rolled[0]["then"], "continue");
    resume_awaits_evidence(&sandbox, &fake, run, "MIG-4.2").await;
}
