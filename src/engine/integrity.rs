//! Tamper evidence on the way: before a run follows its workflow snapshot,
//! sends anything to the model or records a decision, what it reads is
//! checked against its record (`store::verify`), and a difference stops it
//! with a message naming each file and journal line.
//!
//! `open` checks the workflow snapshot (a gate deleted from it would
//! otherwise be passed with no decision); `advance` and `apply` check the
//! whole run and stop on every finding the run still uses. A superseded
//! draft that was changed does not stop a run, but `verify` names it.

use super::{Engine, EngineError};
use crate::store::verify::{self, Finding, FindingKind, VerifyReport};
use crate::store::{self, DraftRecord, RunDir, RunState};

impl Engine {
    /// The run folder checked against its journal, as `migagent verify`
    /// reports it.
    pub fn verify(&self) -> Result<VerifyReport, EngineError> {
        Ok(verify::verify_dir(self.run.path(), &self.state.run_id)?)
    }

    /// As [`verify`](Engine::verify), taking the journal as this process
    /// (or the last one that held the lock) already found it, when it did:
    /// what a decision pays then does not grow with the run's history.
    fn verify_for_use(&self) -> Result<VerifyReport, EngineError> {
        let (report, intact) = self.run.with_checked_journal(|checked| {
            verify::verify_dir_with(self.run.path(), &self.state.run_id, checked)
        })?;
        if let Some(intact) = intact {
            self.run.keep_checked(intact);
        }
        Ok(report)
    }

    /// Refuses, before any model call, when something the run still reads
    /// differs from its record.
    pub fn check_untampered(&self) -> Result<(), EngineError> {
        self.refuse_tampered(None)
    }

    /// As [`check_untampered`](Engine::check_untampered), except for a
    /// difference in the run file `except`: the pending draft, which an
    /// edit replaces with a new revision (the change stays on record).
    pub(super) fn refuse_tampered(&self, except: Option<&str>) -> Result<(), EngineError> {
        let findings: Vec<Finding> = self
            .verify_for_use()?
            .findings
            .into_iter()
            .filter(|f| f.in_use && (except.is_none() || f.path.as_deref() != except))
            .collect();
        if findings.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Tampered {
                run_id: self.state.run_id.clone(),
                findings,
            })
        }
    }

    /// The error for a draft whose file no longer has the sha256 recorded
    /// when it was saved.
    pub(super) fn draft_changed(&self, id: &str, draft: &DraftRecord, now: &str) -> EngineError {
        EngineError::Tampered {
            run_id: self.state.run_id.clone(),
            findings: vec![Finding {
                kind: FindingKind::FileChanged,
                artifact: Some(id.to_string()),
                line: None,
                path: Some(draft.path.clone()),
                message: format!(
                    "{} (draft of [{id}] revision {}) was changed: its sha256 is now {}, the record says {}",
                    draft.path,
                    draft.revision,
                    now.get(..8).unwrap_or(now),
                    draft.sha256.get(..8).unwrap_or(&draft.sha256)
                ),
                in_use: true,
            }],
        }
    }
}

/// Checks, as a run is opened, that its workflow snapshot (`text`) is the
/// workflow it started with, by `run.json` and by the journal.
pub(super) fn check_snapshot(
    run: &RunDir,
    state: &RunState,
    text: &str,
) -> Result<(), EngineError> {
    let sha = store::sha256_hex(text.as_bytes());
    let journal = verify::recorded_workflow_sha(run.path());
    if sha == state.workflow.sha256 && journal.as_ref().is_none_or(|(_, j)| *j == sha) {
        return Ok(());
    }
    let mut findings: Vec<Finding> = verify::verify_dir(run.path(), &state.run_id)?
        .findings
        .into_iter()
        .filter(|f| f.in_use)
        .collect();
    if findings.is_empty() {
        // The snapshot changed between the two reads; say so all the same.
        findings.push(Finding {
            kind: FindingKind::WorkflowChanged,
            artifact: None,
            line: journal.map(|(l, _)| l),
            path: Some(state.workflow.snapshot.clone()),
            message: format!(
                "{} is not the workflow the run started with",
                state.workflow.snapshot
            ),
            in_use: true,
        });
    }
    Err(EngineError::Tampered {
        run_id: state.run_id.clone(),
        findings,
    })
}

/// The message of [`EngineError::Tampered`].
pub(super) fn tamper_message(run_id: &str, findings: &[Finding]) -> String {
    let mut text = format!(
        "run '{run_id}' differs from its record; nothing was sent to the model and nothing was decided:"
    );
    for f in findings {
        text.push_str("\n  - ");
        text.push_str(&f.message);
    }
    text.push_str(&format!(
        "\n`migagent verify {run_id}` lists every difference. Restore each file named from a copy (for example from version control); to put your own text to the gate instead of a draft, give it with `migagent edit {run_id} --file FILE`"
    ));
    text
}
