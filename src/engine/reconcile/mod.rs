//! Opening a run: bringing its state up to the journal.
//!
//! Every command journals first and saves `run.json` after, and `run.json`
//! says how far into the journal it goes (`JournalMark`). A kill between
//! the two leaves events the state does not reflect. Opening the run
//! applies them to the state as the command would have, and journals
//! nothing again: a decision the journal holds is decided, and is never
//! asked for or recorded twice. A run opened to change it also writes what
//! follows from those events (an approved artifact's copy, the run's
//! `completed`) and saves the state; one opened read-only only shows it.
//!
//! `artifacts/` follows the journal too: a copy there of an artifact the
//! journal never approved or accepted (migagent 0.1 copied before it
//! journalled) is removed when it is a copy of one of the artifact's
//! drafts, and set aside otherwise.

use std::collections::HashSet;

use serde_json::Value;

use super::{Engine, EngineError};
use crate::store::journal::{JournalLine, JournalRead};
use crate::store::{
    self, AfterRollback, Approval, ArtifactState, ContextRecord, DraftFormat, DraftRecord,
    DraftSource, EventKind, EvidenceKind, EvidenceRecord, FindingRecord, JournalMark, Rollback,
    RollbackStart, RunStatus, SuppliedInput,
};
use crate::workflow::step;

/// What rolling the state forward did, and what is left to write.
#[derive(Default)]
struct Rolled {
    /// Approved or accepted copies to write to `artifacts/`: the artifact's
    /// index, and the revision and sha256 the journal accepted.
    copies: Vec<(usize, u32, String)>,
    /// The run reached its end and no `completed` event says so yet.
    completion_unjournalled: bool,
}

impl Engine {
    /// Brings the state up to the journal (see the module's comment).
    pub(super) fn reconcile(&mut self) -> Result<(), EngineError> {
        // run.json was saved after the journal's last line, and the
        // journal is the one the last lock holder checked: nothing to
        // roll forward, and no need to read the journal to know it.
        let saved_at_end = self
            .state
            .journal
            .as_ref()
            .is_some_and(|mark| *mark == self.run.journal_mark());
        let checked_accepted: Option<HashSet<String>> = self.run.with_checked_journal(|c| {
            c.map(|c| c.approved_artifacts().map(str::to_string).collect())
        });
        if let (true, true, Some(accepted)) =
            (saved_at_end, self.run.is_writable(), checked_accepted)
        {
            return self.tidy_copies(&accepted.iter().map(String::as_str).collect());
        }
        let journal = self.run.read_journal_lines()?;
        if let Some(torn) = &journal.torn {
            // Only a read-only open gets here with a torn end: the writer
            // may be appending right now.
            self.notices.push(format!(
                "run '{}': the journal's end is not whole ({}); it is not counted here, and the next command that works on the run sets it aside if a crash left it",
                self.state.run_id, torn.why
            ));
        }
        let changed = match self.state.journal.clone() {
            // Saved by an earlier version: only a send-back is known to
            // need finishing.
            None => {
                let events: Vec<Value> = journal.events().cloned().collect();
                self.finish_interrupted_send_back(&events)?
            }
            Some(mark) => match self.unsaved(&journal, &mark) {
                Some(lines) if !lines.is_empty() => {
                    let count = lines.len();
                    let events: Vec<Value> = lines.iter().map(|l| l.event.clone()).collect();
                    let rolled = self.roll_forward(&events)?;
                    if self.run.is_writable() {
                        self.notices.push(format!(
                            "run '{}': {count} journalled event(s) after line {} were not in run.json yet (a command was stopped between the two); the run was brought up to the journal",
                            self.state.run_id, mark.lines
                        ));
                    } else {
                        // Also what a reader sees while a command works on
                        // the run: nothing to warn about, the view is whole.
                        tracing::debug!(
                            count,
                            "showing journalled events run.json does not hold yet"
                        );
                    }
                    if self.run.is_writable() {
                        for (index, revision, sha256) in rolled.copies {
                            self.store_copy(index, revision, &sha256)?;
                        }
                        if rolled.completion_unjournalled {
                            self.journal(EventKind::Completed)?;
                        }
                    }
                    true
                }
                _ => false,
            },
        };
        if self.run.is_writable() {
            let accepted: HashSet<&str> = journal
                .events()
                .filter(|e| e["event"] == "approved" || e["event"] == "accepted")
                .filter_map(|e| e["artifact"].as_str())
                .collect();
            self.tidy_copies(&accepted)?;
            if changed {
                self.save()?;
            }
        }
        Ok(())
    }

    /// The journal lines after `mark`; `None` (with a notice) when the
    /// journal does not hold the line the state was saved after, so
    /// nothing can be rolled forward safely.
    fn unsaved<'j>(
        &mut self,
        journal: &'j JournalRead,
        mark: &JournalMark,
    ) -> Option<&'j [JournalLine]> {
        let saved = usize::try_from(mark.lines).unwrap_or(usize::MAX);
        let problem = if saved > journal.lines.len() {
            Some(format!(
                "run.json was saved after journal line {saved}, and the journal has {} whole lines: lines are missing from it",
                journal.lines.len()
            ))
        } else if saved > 0 && journal.lines[saved - 1].hash() != mark.last_hash {
            Some(format!(
                "journal line {saved} is not the line run.json was saved after: the journal was changed"
            ))
        } else {
            None
        };
        match problem {
            Some(p) => {
                self.notices.push(format!(
                    "run '{}': {p}; nothing was rolled forward (`migagent verify {}` names what differs)",
                    self.state.run_id, self.state.run_id
                ));
                None
            }
            None => Some(&journal.lines[saved..]),
        }
    }

    /// Applies journalled `events` to the state, in order, as the commands
    /// that journalled them would have.
    fn roll_forward(&mut self, events: &[Value]) -> Result<Rolled, EngineError> {
        let mut rolled = Rolled::default();
        // A decision's `decided` line comes with the lines that carry it out.
        let mut decided: Option<&Value> = None;
        for e in events {
            let kind = e["event"].as_str().unwrap_or_default();
            if kind == "decided" {
                decided = Some(e);
                continue;
            }
            let decided = decided.take();
            match kind {
                "context_added" => {
                    let stored = text(e, "stored");
                    if !self.state.contexts.iter().any(|c| c.stored == stored) {
                        self.state.contexts.push(ContextRecord {
                            original: text(e, "original"),
                            stored,
                            sha256: text(e, "sha256"),
                            added_at: text(e, "at"),
                            decoded: opt_text(e, "decoded"),
                        });
                    }
                }
                "input_supplied" => {
                    let stored = text(e, "stored");
                    if !self.state.inputs.iter().any(|c| c.stored == stored) {
                        self.state.inputs.push(SuppliedInput {
                            label: text(e, "label"),
                            given_as: text(e, "given_as"),
                            stored,
                            sha256: text(e, "sha256"),
                        });
                    }
                }
                "completed" => {
                    self.state.status = RunStatus::Complete;
                    rolled.completion_unjournalled = false;
                }
                "aborted" => self.state.status = RunStatus::Aborted,
                "model_changed" => {
                    self.state.model = store::ModelRecord {
                        base_url: text(e, "base_url"),
                        model: text(e, "model"),
                        profile: opt_text(e, "profile"),
                        offline: e["offline"].as_bool().unwrap_or(false),
                    };
                }
                "sent_back" => {
                    if !self.replay_send_back(e)? {
                        self.skipped(e);
                    }
                }
                _ => {
                    let id = text(e, "artifact");
                    if id.is_empty() {
                        continue;
                    }
                    let Some(index) = self.record_for(&id) else {
                        self.skipped(e);
                        continue;
                    };
                    self.roll_artifact_event(index, kind, e, decided, &mut rolled);
                }
            }
        }
        Ok(rolled)
    }

    /// Applies one journalled event about the artifact at `index`;
    /// `decided` is the `decided` line that came just before it, if any.
    fn roll_artifact_event(
        &mut self,
        index: usize,
        kind: &str,
        e: &Value,
        decided: Option<&Value>,
        rolled: &mut Rolled,
    ) {
        let option = decided.map(|d| text(d, "option")).unwrap_or_default();
        let revision = e["revision"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        let has_revision = self.state.artifacts[index]
            .drafts
            .iter()
            .any(|d| d.revision == revision);
        match kind {
            "drafted" if !has_revision => {
                let rec = &mut self.state.artifacts[index];
                rec.drafts.push(DraftRecord {
                    at: text(e, "at"),
                    model: Some(text(e, "model")).filter(|m| !m.is_empty()),
                    prompt_tokens: e["prompt_tokens"].as_u64(),
                    completion_tokens: e["completion_tokens"].as_u64(),
                    seconds: e["seconds"].as_f64(),
                    finish_reason: opt_text(e, "finish_reason"),
                    truncated: e["truncated"].as_bool().unwrap_or(false),
                    missing_sections: texts(e, "missing_sections"),
                    feedback: rec.pending_feedback.take(),
                    format: match e["format"].as_str() {
                        Some("json") => Some(DraftFormat::Json),
                        Some("markdown") => Some(DraftFormat::Markdown),
                        _ => None,
                    },
                    json_path: opt_text(e, "json_path"),
                    prompt_path: opt_text(e, "prompt_path"),
                    prompt_sha256: opt_text(e, "prompt_sha256"),
                    problems: texts(e, "problems"),
                    cuts: texts(e, "cuts"),
                    ..DraftRecord::new(
                        revision,
                        text(e, "path"),
                        text(e, "sha256"),
                        DraftSource::Model,
                    )
                });
                rec.state = ArtifactState::AwaitingDecision;
            }
            "edited" if !has_revision => {
                let path = text(e, "path");
                let body = self.run.read(&path).unwrap_or_default();
                let mut draft = self.edited_record(index, revision, path, text(e, "sha256"), &body);
                draft.at = text(e, "at");
                let rec = &mut self.state.artifacts[index];
                rec.drafts.push(draft);
                rec.state = ArtifactState::AwaitingDecision;
            }
            "panel_finding" => {
                let rec = &mut self.state.artifacts[index];
                let path = text(e, "path");
                if !rec.findings.iter().any(|f| f.path == path) {
                    rec.findings.push(FindingRecord {
                        member: text(e, "member"),
                        persona: text(e, "persona"),
                        path,
                    });
                }
            }
            "evidence_added" => {
                let rec = &mut self.state.artifacts[index];
                let id = text(e, "evidence");
                let kind = serde_json::from_value::<EvidenceKind>(e["kind"].clone());
                if let (false, Ok(kind)) = (rec.evidence.iter().any(|x| x.id == id), kind) {
                    rec.evidence.push(EvidenceRecord {
                        at: text(e, "at"),
                        source: opt_text(e, "source"),
                        command: opt_text(e, "command"),
                        exit_code: e["exit_code"].as_i64().and_then(|c| i32::try_from(c).ok()),
                        timed_out: e["timed_out"].as_bool().unwrap_or(false),
                        seconds: e["seconds"].as_f64(),
                        stderr_path: opt_text(e, "stderr_path"),
                        stderr_sha256: opt_text(e, "stderr_sha256"),
                        rollback: e["rollback"].as_bool().unwrap_or(false),
                        ..EvidenceRecord::new(
                            id,
                            kind,
                            &text(e, "by"),
                            text(e, "path"),
                            text(e, "sha256"),
                        )
                    });
                }
            }
            "point_of_no_return_confirmed" => {
                self.state.artifacts[index].point_of_no_return_confirmed_by = Some(text(e, "by"));
            }
            "rollback_started" => {
                let rec = &mut self.state.artifacts[index];
                rec.state = ArtifactState::RollingBack;
                rec.rolling_back = Some(RollbackStart {
                    option,
                    by: text(e, "by"),
                    at: text(e, "at"),
                    reason: text(e, "reason"),
                });
            }
            "revised" => {
                let rec = &mut self.state.artifacts[index];
                rec.pending_feedback = Some(text(e, "feedback"));
                rec.state = ArtifactState::Drafting;
            }
            "approved" => {
                let sha256 = text(e, "sha256");
                let rec = &mut self.state.artifacts[index];
                rec.state = ArtifactState::Approved;
                rec.approval = Some(Approval {
                    option,
                    by: text(e, "approver"),
                    at: text(e, "at"),
                    note: opt_text(e, "note"),
                    revision,
                    sha256: sha256.clone(),
                    path: text(e, "path"),
                    // The event carries what the approval recorded; an
                    // event of an older migagent has none of it.
                    sources: serde_json::from_value(e["sources"].clone()).unwrap_or_default(),
                    model: opt_text(e, "model"),
                    workflow_sha256: text(e, "workflow_sha256"),
                    problems: decided
                        .and_then(|d| serde_json::from_value(d["problems"].clone()).ok())
                        .unwrap_or_default(),
                });
                rolled.copies.push((index, revision, sha256));
                rolled.completion_unjournalled |= self.move_cursor();
            }
            "accepted" => {
                self.state.artifacts[index].state = ArtifactState::Accepted;
                rolled.copies.push((index, revision, text(e, "sha256")));
                rolled.completion_unjournalled |= self.move_cursor();
            }
            "rolled_back" => {
                let then = match e["then"].as_str() {
                    Some("abort") => AfterRollback::Abort,
                    _ => AfterRollback::Continue,
                };
                let rec = &mut self.state.artifacts[index];
                rec.state = ArtifactState::RolledBack;
                rec.rollback = Some(Rollback {
                    option,
                    by: text(e, "by"),
                    at: text(e, "at"),
                    reason: text(e, "reason"),
                    then,
                });
                if then == AfterRollback::Continue {
                    rolled.completion_unjournalled |= self.move_cursor();
                }
            }
            // Recorded with the send-back, or changing nothing kept in
            // `run.json` (a repair request, a draft already known).
            _ => {}
        }
    }

    /// The index of artifact `id`'s record: the one the state has, or the
    /// one the cursor is at (whose record a kill can leave unsaved, as it
    /// is added when its first draft is requested).
    fn record_for(&mut self, id: &str) -> Option<usize> {
        if let Some(i) = self.state.artifacts.iter().position(|a| a.id == id) {
            return Some(i);
        }
        let phase_index = self.state.phase_index;
        let output = self
            .loaded
            .workflow
            .phases
            .get(phase_index)?
            .output
            .clone()?;
        if !output.per_step {
            return (output.id == id).then(|| self.find_or_add_record(id, phase_index, None));
        }
        let progress = self
            .state
            .steps
            .as_ref()
            .filter(|p| p.phase_index == phase_index)?;
        let current = progress.steps.get(progress.current)?.clone();
        (step::step_artifact_id(&output.id, &current) == id)
            .then(|| self.find_or_add_record(id, phase_index, Some(&current)))
    }

    /// Notes a journalled event that does not fit the state.
    fn skipped(&mut self, e: &Value) {
        self.notices.push(format!(
            "run '{}': the journalled event {} does not fit the run's state and was not rolled forward",
            self.state.run_id, e
        ));
    }

    /// Writes the copy in `artifacts/` of an approval or acceptance the
    /// journal holds, from the draft it names, unless it is there already.
    fn store_copy(&mut self, index: usize, revision: u32, sha256: &str) -> Result<(), EngineError> {
        let rec = &self.state.artifacts[index];
        let Some(draft) = rec.drafts.iter().find(|d| d.revision == revision) else {
            self.notices.push(format!(
                "run '{}': the journal accepted {} revision {revision}, which has no draft record; {} was not written",
                self.state.run_id,
                rec.id,
                rec.approved_path()
            ));
            return Ok(());
        };
        let dest = rec.approved_path();
        let text = self.run.read(&draft.path)?;
        let found = store::sha256_hex(text.as_bytes());
        if found != sha256 {
            return Err(EngineError::DraftChanged {
                path: draft.path.clone(),
                recorded: sha256.to_string(),
                found,
            });
        }
        let current = self.run.read(&dest).ok();
        if current.as_deref() != Some(text.as_str()) {
            self.run.write(&dest, &text)?;
        }
        Ok(())
    }

    /// Removes from `artifacts/` a copy of an artifact the journal never
    /// approved or accepted (a copy of one of its drafts), or sets it aside
    /// when it is something else, so `artifacts/` never contradicts the
    /// journal.
    fn tidy_copies(&mut self, accepted: &HashSet<&str>) -> Result<(), EngineError> {
        let dir = self.run.path().join("artifacts");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".md") else {
                continue;
            };
            if name.starts_with('.') || id.contains(".unrecorded-") || accepted.contains(id) {
                continue;
            }
            let rel = format!("artifacts/{name}");
            let sha = self.run.sha256_of(&rel)?;
            let is_draft_copy = self
                .state
                .artifacts
                .iter()
                .filter(|a| a.id == id)
                .flat_map(|a| a.drafts.iter())
                .any(|d| d.sha256 == sha);
            if is_draft_copy {
                std::fs::remove_file(entry.path()).map_err(|source| store::StoreError::Io {
                    action: "remove",
                    path: entry.path(),
                    source,
                })?;
                self.notices.push(format!(
                    "run '{}': {rel} was a copy of a draft the journal never approved (a command was stopped before it recorded the decision); removed",
                    self.state.run_id
                ));
            } else {
                self.run.set_aside(&rel)?;
            }
        }
        Ok(())
    }

    /// The text `show` prints for an approved (or accepted, or stale)
    /// artifact, with the file it came from: its copy in `artifacts/`, or,
    /// while that copy is not written yet (read-only, right after a kill),
    /// the draft the journal approved.
    pub fn approved_copy(&self, id: &str) -> Result<Option<(String, String)>, EngineError> {
        let Some(rec) = self.state.artifacts.iter().find(|a| a.id == id) else {
            return Ok(None);
        };
        let expected = match (&rec.approval, rec.state) {
            (Some(a), _) => Some((a.revision, a.sha256.clone())),
            (None, ArtifactState::Accepted) => {
                rec.latest_draft().map(|d| (d.revision, d.sha256.clone()))
            }
            _ => None,
        };
        let copy = rec.approved_path();
        let text = self.run.read(&copy).ok();
        match (expected, text) {
            (Some((revision, sha256)), text)
                if text
                    .as_deref()
                    .is_none_or(|t| store::sha256_hex(t.as_bytes()) != sha256) =>
            {
                match rec.drafts.iter().find(|d| d.revision == revision) {
                    Some(d) => Ok(Some((self.run.read(&d.path)?, d.path.clone()))),
                    None => Ok(text.map(|t| (t, copy))),
                }
            }
            (_, text) => Ok(text.map(|t| (t, copy))),
        }
    }
}

fn text(e: &Value, key: &str) -> String {
    e[key].as_str().unwrap_or_default().to_string()
}

fn opt_text(e: &Value, key: &str) -> Option<String> {
    e[key].as_str().map(str::to_string)
}

fn texts(e: &Value, key: &str) -> Vec<String> {
    e[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
