//! Evidence for a step: the card a step shows before anything is drafted,
//! collecting what a person reports, supplies or lets migagent run, and
//! what the draft request then carries. Commands run only on a person's
//! yes, from the approved plan; model output never runs anything.

use std::path::Path;

use super::reviewer::{EvidenceAnswer, EvidenceView};
use super::{Engine, EngineError, Reviewer};
use crate::evidence::command::{self, CommandRun};
use crate::evidence::{CardCommand, EvidenceSettings, StepCard};
use crate::files::{read_regular, LIMIT_SETTING};
use crate::markdown::headings;
use crate::store::{self, ArtifactState, EventKind, EvidenceKind, EvidenceRecord};
use crate::workflow::InputKind;

/// Evidence a person gives for the step awaiting it.
#[derive(Debug, Clone)]
pub enum NewEvidence {
    /// What they report, in their words.
    Note(String),
    /// A file they supply; copied whole.
    File(std::path::PathBuf),
    /// The card's commands to run (all, or only the 1-based `only`), in `cwd`.
    Commands {
        only: Option<usize>,
        cwd: std::path::PathBuf,
    },
    /// No evidence, on purpose, with the reason.
    None(String),
}

impl Engine {
    /// How evidence is gathered: whether commands may run, their timeout,
    /// the variables they never see, the values that claim success.
    pub fn set_evidence_settings(&mut self, settings: EvidenceSettings) {
        self.evidence = settings;
    }

    pub fn evidence_settings(&self) -> &EvidenceSettings {
        &self.evidence
    }

    /// The index of the step awaiting evidence, if the run waits for one:
    /// for its result, or for its rollback.
    pub(super) fn awaiting_evidence_index(&self) -> Option<usize> {
        self.state.artifacts.iter().rposition(|a| {
            matches!(
                a.state,
                ArtifactState::AwaitingEvidence | ArtifactState::RollingBack
            )
        })
    }

    /// Whether the step at `index` is being rolled back.
    pub(super) fn rolling_back(&self, index: usize) -> bool {
        self.state.artifacts[index].state == ArtifactState::RollingBack
    }

    /// The commands offered at the step at `index`: the step's own, or its
    /// Rollback's while it is rolled back.
    fn offered<'c>(&self, index: usize, card: &'c StepCard) -> &'c [CardCommand] {
        card.commands_for(self.rolling_back(index))
    }

    /// The card of the step awaiting evidence, if any.
    pub fn evidence_card(&self) -> Result<Option<StepCard>, EngineError> {
        self.awaiting_evidence_index()
            .map(|i| self.card_for(i))
            .transpose()
    }

    /// The card of step artifact `id` (any state), from the approved plan.
    pub fn step_card(&self, id: &str) -> Result<Option<StepCard>, EngineError> {
        match self.state.artifacts.iter().position(|a| a.id == id) {
            Some(i) if self.state.artifacts[i].step.is_some() => self.card_for(i).map(Some),
            _ => Ok(None),
        }
    }

    /// What the approved plan says about the step at `artifact_index`, with
    /// the health checks of an approved artifact the phase's inputs reach.
    pub(super) fn card_for(&self, artifact_index: usize) -> Result<StepCard, EngineError> {
        let rec = &self.state.artifacts[artifact_index];
        let phase = &self.loaded.workflow.phases[rec.phase_index];
        let Some(step) = rec.step.as_ref() else {
            return Err(EngineError::NotAStep {
                artifact: rec.id.clone(),
            });
        };
        let plan_id = match self.loaded.workflow.plan_for(phase).map(|i| &i.kind) {
            Some(InputKind::Artifact(id)) => id.clone(),
            _ => String::new(),
        };
        let plan = self.approved_text(&plan_id, phase.number)?;
        let mut strategy = None;
        for id in self.reachable_artifacts(rec.phase_index) {
            if let Ok(text) = self.approved_text(&id, phase.number) {
                if headings(&text)
                    .iter()
                    .any(|h| h.text.to_lowercase().starts_with("health check"))
                {
                    strategy = Some(text);
                    break;
                }
            }
        }
        Ok(StepCard::read(&rec.id, &plan, step, strategy.as_deref()))
    }

    /// The artifacts a phase's inputs reach, directly or through the inputs
    /// of the phases producing them, nearest first.
    fn reachable_artifacts(&self, phase_index: usize) -> Vec<String> {
        let workflow = &self.loaded.workflow;
        let mut out: Vec<String> = Vec::new();
        let mut queue = vec![phase_index];
        while let Some(p) = queue.pop() {
            for input in &workflow.phases[p].inputs {
                if let InputKind::Artifact(id) = &input.kind {
                    if !out.contains(id) {
                        out.push(id.clone());
                        if let Some((i, _)) = workflow.producer(id) {
                            queue.insert(0, i);
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether the step at `artifact_index` is the plan's point of no
    /// return and nobody has confirmed going on.
    pub(super) fn needs_point_of_no_return(&self, artifact_index: usize) -> bool {
        let rec = &self.state.artifacts[artifact_index];
        rec.state == ArtifactState::AwaitingEvidence
            && rec.point_of_no_return_confirmed_by.is_none()
            && self
                .card_for(artifact_index)
                .is_ok_and(|c| c.point_of_no_return)
    }

    /// Records that `by` confirmed going past the point of no return at the
    /// step awaiting evidence.
    pub fn confirm_point_of_no_return(&mut self, by: &str) -> Result<bool, EngineError> {
        let index = self.require_awaiting_evidence()?;
        if !self.needs_point_of_no_return(index) {
            return Ok(false);
        }
        let rec = &mut self.state.artifacts[index];
        rec.point_of_no_return_confirmed_by = Some(by.to_string());
        let event = EventKind::PointOfNoReturnConfirmed {
            artifact: rec.id.clone(),
            step: rec.step.as_ref().map_or(0, |s| s.number),
            by: by.to_string(),
        };
        self.journal(event)?;
        self.save()?;
        Ok(true)
    }

    fn require_awaiting_evidence(&self) -> Result<usize, EngineError> {
        self.awaiting_evidence_index()
            .ok_or_else(|| self.not_awaiting_evidence())
    }

    /// The error for evidence the run has no place for, naming its state.
    fn not_awaiting_evidence(&self) -> EngineError {
        EngineError::NotAwaitingEvidence {
            run_id: self.state.run_id.clone(),
            state: super::run_state(&self.state).name().to_string(),
        }
    }

    /// The free-text inputs of the phase in progress that context fills
    /// (such as Phase 5's "Current system state"): evidence recorded while
    /// no step awaits it goes there.
    pub fn context_inputs(&self) -> Vec<String> {
        if self.awaiting_evidence_index().is_some() {
            return Vec::new();
        }
        self.loaded
            .workflow
            .phases
            .get(self.state.phase_index)
            .map(|p| {
                p.inputs
                    .iter()
                    .filter(|i| i.kind == InputKind::FreeText && !self.is_supplied(&i.text))
                    .map(|i| i.text.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records a note or file for the phase in progress as context of the
    /// run, which fills its free-text inputs.
    fn add_phase_evidence(
        &mut self,
        evidence: NewEvidence,
        by: &str,
    ) -> Result<Vec<EvidenceRecord>, EngineError> {
        let (kind, original, name, bytes) = match evidence {
            NewEvidence::Note(text) => {
                super::decide::require_text(&text, "a note")?;
                let original = format!("note by {by}");
                (
                    EvidenceKind::Note,
                    original,
                    "note.md".to_string(),
                    text.into_bytes(),
                )
            }
            NewEvidence::File(path) => {
                let bytes = read_regular(&path, self.evidence.max_file_bytes, LIMIT_SETTING)?;
                let name = path
                    .file_name()
                    .map_or("file".into(), |n| n.to_string_lossy().into_owned());
                (EvidenceKind::File, path.display().to_string(), name, bytes)
            }
            NewEvidence::Commands { .. } | NewEvidence::None(_) => {
                return Err(self.not_awaiting_evidence())
            }
        };
        let record = self.record_context(original, &name, &bytes)?;
        let id = format!("context-{}", self.state.contexts.len());
        Ok(vec![EvidenceRecord {
            source: Some(record.original),
            ..EvidenceRecord::new(id, kind, by, record.stored, record.sha256)
        }])
    }

    /// Records evidence for the step awaiting it, by `by`: or, while no step
    /// awaits it, a note or file for the free-text inputs of the phase in
    /// progress. Refused past an unconfirmed point of no return, and for
    /// commands when running them is turned off.
    pub fn add_evidence(
        &mut self,
        evidence: NewEvidence,
        by: &str,
    ) -> Result<Vec<EvidenceRecord>, EngineError> {
        if self.awaiting_evidence_index().is_none()
            && !self.context_inputs().is_empty()
            && matches!(evidence, NewEvidence::Note(_) | NewEvidence::File(_))
        {
            return self.add_phase_evidence(evidence, by);
        }
        let index = self.require_awaiting_evidence()?;
        if self.needs_point_of_no_return(index) {
            let rec = &self.state.artifacts[index];
            return Err(EngineError::PointOfNoReturn {
                run_id: self.state.run_id.clone(),
                artifact: rec.id.clone(),
                step: rec.step.as_ref().map_or(0, |s| s.number),
            });
        }
        let added = match evidence {
            NewEvidence::Note(text) => {
                super::decide::require_text(&text, "a note")?;
                vec![self.store_evidence(index, EvidenceKind::Note, by, |path| {
                    Ok((format!("{path}.md"), text.clone().into_bytes(), None))
                })?]
            }
            NewEvidence::None(reason) => {
                super::decide::require_text(&reason, "the reason for drafting without evidence")?;
                vec![self.store_evidence(index, EvidenceKind::None, by, |path| {
                    Ok((format!("{path}.md"), reason.clone().into_bytes(), None))
                })?]
            }
            NewEvidence::File(source) => {
                let bytes = read_regular(&source, self.evidence.max_file_bytes, LIMIT_SETTING)?;
                let name = source
                    .file_name()
                    .map_or("file".into(), |n| n.to_string_lossy().into_owned());
                vec![self.store_evidence(index, EvidenceKind::File, by, |path| {
                    Ok((
                        format!("{path}-{name}"),
                        bytes.clone(),
                        Some(source.display().to_string()),
                    ))
                })?]
            }
            NewEvidence::Commands { only, cwd } => {
                let card = self.card_for(index)?;
                let count = self.offered(index, &card).len();
                let chosen: Vec<usize> = match only {
                    Some(k) if k >= 1 && k <= count => vec![k - 1],
                    Some(k) => {
                        return Err(EngineError::NoSuchCommand {
                            artifact: card.artifact.clone(),
                            index: k,
                            count,
                        })
                    }
                    None => (0..count).collect(),
                };
                let mut out = Vec::new();
                for k in chosen {
                    out.push(self.run_card_command(index, &card, k, by, &cwd)?);
                }
                out
            }
        };
        self.save()?;
        Ok(added)
    }

    /// Runs command `k` of the card, with the person's yes already given.
    fn run_card_command(
        &mut self,
        index: usize,
        card: &StepCard,
        k: usize,
        by: &str,
        cwd: &Path,
    ) -> Result<EvidenceRecord, EngineError> {
        if !self.evidence.exec {
            return Err(EngineError::ExecOff);
        }
        let offered = self.offered(index, card);
        let Some(cmd) = offered.get(k).cloned() else {
            return Err(EngineError::NoSuchCommand {
                artifact: card.artifact.clone(),
                index: k + 1,
                count: offered.len(),
            });
        };
        let rec = &self.state.artifacts[index];
        let id = rec.next_evidence_id(EvidenceKind::Command);
        let dir = rec.evidence_dir();
        std::fs::create_dir_all(self.run.path().join(&dir)).map_err(|source| {
            store::StoreError::Io {
                action: "create",
                path: self.run.path().join(&dir),
                source,
            }
        })?;
        let stdout = format!("{dir}/{id}.stdout");
        let stderr = format!("{dir}/{id}.stderr");
        // Output of a run killed before it journalled this id is kept.
        self.run.set_aside(&stdout)?;
        self.run.set_aside(&stderr)?;
        let settings = &self.evidence;
        let run: CommandRun = command::run(
            &cmd.command,
            cwd,
            &settings.scrub_env,
            settings.command_timeout,
            &self.run.path().join(&stdout),
            &self.run.path().join(&stderr),
        )
        .map_err(|e| EngineError::Command(e.to_string()))?;
        let stdout_sha = self.run.sha256_of(&stdout)?;
        let stderr_sha = self.run.sha256_of(&stderr)?;
        let record = EvidenceRecord {
            source: Some(cmd.source.clone()),
            command: Some(cmd.command.clone()),
            exit_code: run.exit_code,
            timed_out: run.timed_out,
            seconds: Some(run.seconds),
            stderr_path: Some(stderr),
            stderr_sha256: Some(stderr_sha),
            rollback: self.rolling_back(index),
            ..EvidenceRecord::new(id, EvidenceKind::Command, by, stdout, stdout_sha)
        };
        self.record_evidence(index, record)
    }

    /// Stores one item's bytes at the path `place` gives for its id, and
    /// records it.
    fn store_evidence(
        &mut self,
        index: usize,
        kind: EvidenceKind,
        by: &str,
        place: impl FnOnce(&str) -> Result<(String, Vec<u8>, Option<String>), EngineError>,
    ) -> Result<EvidenceRecord, EngineError> {
        let rec = &self.state.artifacts[index];
        let id = rec.next_evidence_id(kind);
        let (path, bytes, source) = place(&format!("{}/{id}", rec.evidence_dir()))?;
        self.run.write_new(&path, &bytes)?;
        let sha256 = store::sha256_hex(&bytes);
        let record = EvidenceRecord {
            source,
            rollback: self.rolling_back(index),
            ..EvidenceRecord::new(id, kind, by, path, sha256)
        };
        self.record_evidence(index, record)
    }

    /// Journals an item, then keeps it in the run's state.
    fn record_evidence(
        &mut self,
        index: usize,
        record: EvidenceRecord,
    ) -> Result<EvidenceRecord, EngineError> {
        let artifact = self.state.artifacts[index].id.clone();
        self.journal(EventKind::evidence_added(&artifact, &record))?;
        self.state.artifacts[index].evidence.push(record.clone());
        self.save()?;
        Ok(record)
    }

    /// Asks a reviewer at the terminal for a step's evidence until they
    /// are done (`true`) or stop for now (`false`).
    pub(super) fn collect_evidence(
        &mut self,
        index: usize,
        reviewer: &mut dyn Reviewer,
        cwd: &Path,
    ) -> Result<bool, EngineError> {
        let mut next_command = 0;
        loop {
            let card = self.card_for(index)?;
            let answer = {
                let view = EvidenceView {
                    run_id: &self.state.run_id,
                    card: &card,
                    items: &self.state.artifacts[index].evidence,
                    point_of_no_return_pending: self.needs_point_of_no_return(index),
                    next_command: (self.evidence.exec
                        && next_command < self.offered(index, &card).len())
                    .then_some(next_command),
                    rollback: self.rolling_back(index),
                    cwd,
                };
                reviewer.evidence(&view)?
            };
            match answer {
                EvidenceAnswer::ConfirmPointOfNoReturn { by } => {
                    self.confirm_point_of_no_return(&by)?;
                }
                EvidenceAnswer::RunCommand { index: k, by } => {
                    self.run_card_command(index, &card, k, &by, cwd)?;
                    next_command = k + 1;
                }
                EvidenceAnswer::SkipCommand { index: k } => next_command = k + 1,
                EvidenceAnswer::Note { text, by } => {
                    self.add_evidence(NewEvidence::Note(text), &by)?;
                }
                EvidenceAnswer::NoEvidence { reason, by } => {
                    self.add_evidence(NewEvidence::None(reason), &by)?;
                }
                EvidenceAnswer::Done => return Ok(true),
                EvidenceAnswer::Quit => return Ok(false),
            }
        }
    }

    /// Whether the evidence of a step proves anything: at least one item
    /// that is not a deliberate "none", and no failed command.
    pub(super) fn has_proof(&self, index: usize) -> bool {
        let items = &self.state.artifacts[index].evidence;
        items.iter().any(EvidenceRecord::is_proof) && !items.iter().any(EvidenceRecord::failed)
    }
}
