//! `verify` on run folders built here line by line: the chain, old and
//! partly chained journals, torn lines, records naming places outside the
//! run, approvals of other text and drafts made from changed files.

use std::path::Path;

use super::*;
use crate::store::journal::{chained_line, line_hash, GENESIS};
use crate::store::{sha256_hex, EventKind, JournalEvent, SourceKind, SourceRecord};

const WORKFLOW: &str = "# Workflow: T\n";
const DRAFT: &str = "## Notes\nfirst\n";

fn event(kind: EventKind) -> JournalEvent {
    JournalEvent {
        at: "2026-01-01T00:00:00Z".into(),
        run_id: "r".into(),
        kind,
    }
}

fn started() -> EventKind {
    EventKind::RunStarted {
        workflow: "w.md".into(),
        workflow_sha256: sha256_hex(WORKFLOW.as_bytes()),
        base_url: "http://127.0.0.1:1/v1".into(),
        model: "m".into(),
    }
}

fn drafted(artifact: &str, revision: u32, sha: &str, sources: Vec<SourceRecord>) -> EventKind {
    let mut draft = crate::store::DraftRecord::new(
        revision,
        format!("drafts/{artifact}.r{revision}.md"),
        sha.into(),
        crate::store::DraftSource::Model,
    );
    draft.sources = sources;
    EventKind::drafted(artifact, &draft, None)
}

fn approved(artifact: &str, sha: &str) -> EventKind {
    EventKind::Approved {
        artifact: artifact.into(),
        revision: 1,
        approver: "ann".into(),
        sha256: sha.into(),
        path: format!("artifacts/{artifact}.md"),
        note: None,
        sources: Vec::new(),
        model: None,
        workflow_sha256: String::new(),
    }
}

/// A run folder with `run.json` (artifacts as given), the workflow, the
/// files and the journal lines, chained.
fn run(dir: &Path, artifacts: serde_json::Value, files: &[(&str, &str)], kinds: Vec<EventKind>) {
    let state = serde_json::json!({
        "version": 1, "run_id": "r", "created_at": "", "updated_at": "", "need": null,
        "workflow": {"name": "T", "source": "w.md", "library_root": ".",
                     "sha256": sha256_hex(WORKFLOW.as_bytes()), "snapshot": "workflow.md"},
        "contexts": [], "model": {"base_url": "http://127.0.0.1:1/v1", "model": "m"},
        "status": "active", "phase_index": 0, "steps": null, "artifacts": artifacts,
    });
    write(dir, "run.json", &state.to_string());
    write(dir, "workflow.md", WORKFLOW);
    for (rel, text) in files {
        write(dir, rel, text);
    }
    let mut journal = Vec::new();
    let mut prev = GENESIS.to_string();
    for k in kinds {
        let line = chained_line(&event(k), &prev).unwrap();
        prev = line_hash(&line);
        journal.extend(line);
    }
    std::fs::write(dir.join("journal.jsonl"), journal).unwrap();
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// One artifact awaiting a decision on its first draft.
fn awaiting(dir: &Path) {
    let artifacts = serde_json::json!([{
        "id": "A-1", "title": "A", "phase_index": 0, "step": null, "state": "awaiting_decision",
        "drafts": [{"revision": 1, "path": "drafts/A-1.r1.md", "sha256": sha256_hex(DRAFT.as_bytes()),
                    "source": "model", "at": "", "model": "m", "prompt_tokens": null,
                    "completion_tokens": null, "seconds": null, "finish_reason": "stop",
                    "truncated": false, "missing_sections": [], "feedback": null}],
        "pending_feedback": null, "approval": null, "rollback": null
    }]);
    run(
        dir,
        artifacts,
        &[("drafts/A-1.r1.md", DRAFT)],
        vec![
            started(),
            drafted("A-1", 1, &sha256_hex(DRAFT.as_bytes()), Vec::new()),
        ],
    );
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

fn kinds(report: &VerifyReport) -> Vec<FindingKind> {
    report.findings.iter().map(|f| f.kind).collect()
}

#[test]
fn a_run_as_written_verifies_and_counts_what_it_checked() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.chain, ChainState::Chained);
    assert_eq!(report.journal_lines, 2);
    assert_eq!(report.files_checked, 2, "the workflow and the draft");
}

#[test]
fn an_edited_line_breaks_the_chain_at_that_line_and_a_bare_line_is_inserted() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let mut l = lines(dir.path());
    l.push(l[1].clone());
    l[0] = l[0].replace("\"model\":\"m\"", "\"model\":\"n\"");
    std::fs::write(dir.path().join("journal.jsonl"), l.concat()).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    let broken: Vec<(Option<usize>, &str)> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::ChainBroken)
        .map(|f| (f.line, f.message.as_str()))
        .collect();
    assert_eq!(broken.len(), 2, "{report:#?}");
    assert_eq!(broken[0].0, Some(1));
    assert!(broken[0].1.contains("line 1 was edited"), "{}", broken[0].1);
    // The copied line carries the prev of line 1, not of line 2.
    assert_eq!(broken[1].0, Some(2));

    let mut l = lines(dir.path());
    l.truncate(2);
    let mut bare: serde_json::Value = serde_json::from_str(&l[1]).unwrap();
    bare.as_object_mut().unwrap().remove("prev");
    l.push(format!("{bare}\n"));
    std::fs::write(dir.path().join("journal.jsonl"), l.concat()).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::ChainBroken
                && f.line == Some(3)
                && f.message.contains("has no prev")),
        "{report:#?}"
    );
}

#[test]
fn lines_without_prev_are_unchained_and_the_chain_picks_up_after_them() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let old: Vec<String> = lines(dir.path())
        .iter()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("prev");
            format!("{v}\n")
        })
        .collect();
    std::fs::write(dir.path().join("journal.jsonl"), old.concat()).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.chain, ChainState::Unchained);
    assert!(report.notes[0].contains("unchained"), "{:?}", report.notes);

    let prev = line_hash(old[1].as_bytes());
    let next = chained_line(&event(EventKind::Completed), &prev).unwrap();
    let mut journal = old.concat().into_bytes();
    journal.extend(next);
    std::fs::write(dir.path().join("journal.jsonl"), journal).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.chain, ChainState::Partly);
    assert!(report.notes[0].contains("lines 1-2"), "{:?}", report.notes);
}

#[test]
fn a_torn_last_line_is_named_but_does_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let mut journal = std::fs::read(dir.path().join("journal.jsonl")).unwrap();
    journal.extend_from_slice(b"{\"at\":\"2026");
    std::fs::write(dir.path().join("journal.jsonl"), journal).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    assert_eq!(kinds(&report), [FindingKind::TornLine]);
    assert_eq!(report.findings[0].line, Some(3));
    assert!(!report.findings[0].in_use);
}

#[test]
fn a_record_naming_a_place_outside_the_run_is_a_finding_not_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, "s").unwrap();
    let run_dir = dir.path().join("run");
    run(
        &run_dir,
        serde_json::json!([]),
        &[],
        vec![
            started(),
            EventKind::ContextAdded {
                original: "x".into(),
                stored: "../secret.txt".into(),
                sha256: sha256_hex(b"s"),
                decoded: None,
            },
        ],
    );
    let report = verify_dir(&run_dir, "r").unwrap();
    assert_eq!(kinds(&report), [FindingKind::FileMissing]);
    assert!(
        report.findings[0]
            .message
            .contains("outside the run folder"),
        "{report:#?}"
    );
}

#[test]
fn a_fifo_in_place_of_a_draft_is_named_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let draft = dir.path().join("drafts/A-1.r1.md");
    std::fs::remove_file(&draft).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&draft)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        return;
    }
    let report = verify_dir(dir.path(), "r").unwrap();
    assert_eq!(kinds(&report), [FindingKind::FileMissing]);
    assert!(report.findings[0].message.contains("not a regular file"));
}

#[test]
fn an_approval_of_other_text_than_its_draft_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let edited = "## Notes\nchanged by hand\n";
    let artifacts = serde_json::json!([]);
    run(
        dir.path(),
        artifacts,
        &[("drafts/A-1.r1.md", edited), ("artifacts/A-1.md", edited)],
        vec![
            started(),
            drafted("A-1", 1, &sha256_hex(DRAFT.as_bytes()), Vec::new()),
            approved("A-1", &sha256_hex(edited.as_bytes())),
        ],
    );
    let report = verify_dir(dir.path(), "r").unwrap();
    let k = kinds(&report);
    assert!(k.contains(&FindingKind::ApprovedOtherText), "{report:#?}");
    assert!(
        k.contains(&FindingKind::FileChanged),
        "the draft file too: {report:#?}"
    );
    let other = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::ApprovedOtherText)
        .unwrap();
    assert_eq!(other.line, Some(3));
    assert!(
        other.message.contains("journal line 2"),
        "{}",
        other.message
    );
}

#[test]
fn a_draft_made_from_a_changed_artifact_is_named_and_the_journal_is_ahead_of_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let a1 = "## A\nfine\n";
    let b1 = "## B\nfrom a changed A\n";
    run(
        dir.path(),
        serde_json::json!([]),
        &[
            ("drafts/A-1.r1.md", a1),
            ("artifacts/A-1.md", a1),
            ("drafts/B-1.r1.md", b1),
        ],
        vec![
            started(),
            drafted("A-1", 1, &sha256_hex(a1.as_bytes()), Vec::new()),
            approved("A-1", &sha256_hex(a1.as_bytes())),
            drafted(
                "B-1",
                1,
                &sha256_hex(b1.as_bytes()),
                vec![SourceRecord {
                    kind: SourceKind::Artifact,
                    path: "artifacts/A-1.md".into(),
                    sha256: sha256_hex(b"## A\nedited before the draft\n"),
                }],
            ),
        ],
    );
    let report = verify_dir(dir.path(), "r").unwrap();
    assert_eq!(kinds(&report), [FindingKind::ChangedSource], "{report:#?}");
    let f = &report.findings[0];
    assert_eq!((f.artifact.as_deref(), f.line), (Some("B-1"), Some(4)));
    assert!(f.in_use, "B-1 r1 awaits its decision");
    assert!(f.message.contains("artifacts/A-1.md"), "{}", f.message);
    // run.json (empty) has not caught up with A-1's approval: said, not
    // counted as tampering.
    assert!(
        report.notes.iter().any(|n| n.contains("[A-1]")),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_line_copied_from_another_run_is_named() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let mut l = lines(dir.path());
    l[1] = l[1].replace("\"run_id\":\"r\"", "\"run_id\":\"other\"");
    std::fs::write(dir.path().join("journal.jsonl"), l.concat()).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::RecordMismatch && f.message.contains("'other'")),
        "{report:#?}"
    );
}

#[test]
fn a_draft_copied_to_artifacts_by_a_cut_short_approval_is_a_note_not_tampering() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    write(dir.path(), "artifacts/A-1.md", DRAFT);
    let report = verify_dir(dir.path(), "r").unwrap();
    assert!(report.ok, "{report:#?}");
    assert!(
        report.notes.iter().any(|n| n.contains("cut short")),
        "{:?}",
        report.notes
    );
    // Any other text there is not accounted for.
    write(dir.path(), "artifacts/A-1.md", "## Notes\nnot a draft\n");
    let report = verify_dir(dir.path(), "r").unwrap();
    assert_eq!(kinds(&report), [FindingKind::UnrecordedArtifact]);
}

#[test]
fn a_draft_path_recorded_twice_names_the_lost_file_without_stopping_the_run() {
    let dir = tempfile::tempdir().unwrap();
    awaiting(dir.path());
    let second = "## Notes\nsecond\n";
    write(dir.path(), "drafts/A-1.r1.md", second);
    let prev =
        crate::store::journal::next_prev(&std::fs::read(dir.path().join("journal.jsonl")).unwrap());
    let mut journal = std::fs::read(dir.path().join("journal.jsonl")).unwrap();
    journal.extend(
        chained_line(
            &event(drafted(
                "A-1",
                1,
                &sha256_hex(second.as_bytes()),
                Vec::new(),
            )),
            &prev,
        )
        .unwrap(),
    );
    std::fs::write(dir.path().join("journal.jsonl"), journal).unwrap();
    let report = verify_dir(dir.path(), "r").unwrap();
    let lost: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::FileChanged)
        .collect();
    assert_eq!(lost.len(), 1, "{report:#?}");
    assert_eq!(lost[0].line, Some(2));
    assert!(!lost[0].in_use, "a later record of the path supersedes it");
}
