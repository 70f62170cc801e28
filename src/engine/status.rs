//! What `status`, `list` and scripts are told about a run.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Engine;
use crate::evidence::StepCard;
use crate::store::{
    ArtifactRecord, ArtifactState, DraftFormat, EvidenceRecord, ModelRecord, RedactionRecord,
    RollbackStart, RunState, RunStatus,
};
use crate::workflow::{GateAction, Workflow};

impl Engine {
    /// The draft currently awaiting a decision, if any.
    pub fn pending(&self) -> Option<&ArtifactRecord> {
        pending_artifact(&self.state)
    }

    /// The step being rolled back, if any: it takes the rollback's end.
    pub fn rolling_back_artifact(&self) -> Option<&ArtifactRecord> {
        self.state
            .artifacts
            .iter()
            .rfind(|a| a.state == ArtifactState::RollingBack)
    }

    /// A summary for `status` and scripts: with the card and evidence of a
    /// step that waits for evidence.
    pub fn status(&self) -> StatusReport {
        let mut report = status_report(&self.state, self.run.path(), &self.loaded.workflow);
        report.evidence = self.awaiting_evidence_index().map(|i| {
            let rec = &self.state.artifacts[i];
            EvidenceReport {
                rollback: rec.rolling_back.clone(),
                artifact: rec.id.clone(),
                card: self.card_for(i).ok(),
                items: rec.evidence.clone(),
                point_of_no_return_confirmed_by: rec.point_of_no_return_confirmed_by.clone(),
            }
        });
        if self.state.status == RunStatus::Active {
            report.context_inputs = self.context_inputs();
        }
        report
    }
}

/// A run's status, as `status` shows it and `--json` prints it for scripts.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub run_id: String,
    pub workflow: String,
    pub state: RunStanding,
    pub phase: Option<String>,
    pub pending: Option<PendingReport>,
    pub artifacts: Vec<ArtifactReport>,
    pub model: ModelRecord,
    pub created_at: String,
    pub updated_at: String,
    /// The step waiting for evidence: its card and what is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceReport>,
    /// The free-text inputs of the phase in progress that `evidence --note`
    /// and `--file` fill (such as "Current system state").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_inputs: Vec<String>,
}

/// A step waiting for evidence, as `status` shows it.
#[derive(Debug, Serialize)]
pub struct EvidenceReport {
    pub artifact: String,
    /// Set while the step is rolled back: this evidence is the rollback's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackStart>,
    pub card: Option<StepCard>,
    pub items: Vec<EvidenceRecord>,
    pub point_of_no_return_confirmed_by: Option<String>,
}

/// The draft awaiting a decision, with what its gate would show about it
/// and the options the gate offers.
#[derive(Debug, Serialize)]
pub struct PendingReport {
    pub artifact: String,
    pub title: String,
    pub revision: u32,
    /// The sha256 of the draft's file: `approve --sha PREFIX` binds a
    /// decision to it.
    pub sha256: String,
    pub path: PathBuf,
    pub truncated: bool,
    pub missing_sections: Vec<String>,
    pub problems: Vec<String>,
    pub cuts: Vec<String>,
    /// Secrets left out of the request for this draft: kind, file, line.
    pub redactions: Vec<RedactionRecord>,
    pub format: Option<DraftFormat>,
    /// The labels of the gate's options, as `decide --option` takes them.
    pub options: Vec<String>,
    /// What the gate asks of a reviewer who never sees the terminal: its
    /// approval criteria and what each option does.
    pub gate: Option<GateReport>,
}

/// A pending gate as `status` shows it.
#[derive(Debug, Serialize)]
pub struct GateReport {
    pub criteria: String,
    pub options: Vec<OptionReport>,
}

/// One option of a pending gate.
#[derive(Debug, Serialize)]
pub struct OptionReport {
    pub label: String,
    /// The description as the workflow writes it.
    pub description: String,
    pub action: GateAction,
    /// What choosing it does, in words ("send back to Phase 2: Contract, …").
    pub does: String,
    /// For an option that sends the work back: the phases `--to-phase`
    /// may name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_phases: Vec<u32>,
}

/// One artifact of a run: its approved file once approved, else its latest
/// draft.
#[derive(Debug, Serialize)]
pub struct ArtifactReport {
    pub id: String,
    pub title: String,
    pub state: ArtifactState,
    pub revision: u32,
    pub path: Option<PathBuf>,
    pub sha256: Option<String>,
    pub approved_by: Option<String>,
    /// What the structure check found wrong with the draft when it was
    /// approved (approved knowingly, and recorded so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_with_problems: Vec<String>,
}

/// The artifact awaiting a decision, if the run is active.
pub fn pending_artifact(state: &RunState) -> Option<&ArtifactRecord> {
    state
        .artifacts
        .iter()
        .rev()
        .find(|a| a.state == ArtifactState::AwaitingDecision)
        .filter(|_| state.status == RunStatus::Active)
}

/// Where a run stands, as `status` and `list` name it. It serialises to the
/// names scripts read (`"awaiting_decision"`), and the CLI matches on the
/// enum, never on the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStanding {
    Complete,
    Aborted,
    AwaitingDecision,
    AwaitingEvidence,
    RollingBack,
    ReadyToDraft,
}

impl RunStanding {
    /// The name scripts and `status` show.
    pub fn name(self) -> &'static str {
        match self {
            RunStanding::Complete => "complete",
            RunStanding::Aborted => "aborted",
            RunStanding::AwaitingDecision => "awaiting_decision",
            RunStanding::AwaitingEvidence => "awaiting_evidence",
            RunStanding::RollingBack => "rolling_back",
            RunStanding::ReadyToDraft => "ready_to_draft",
        }
    }
}

impl std::fmt::Display for RunStanding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a run stands.
pub fn run_state(state: &RunState) -> RunStanding {
    match state.status {
        RunStatus::Complete => RunStanding::Complete,
        RunStatus::Aborted => RunStanding::Aborted,
        RunStatus::Active if pending_artifact(state).is_some() => RunStanding::AwaitingDecision,
        RunStatus::Active
            if state
                .artifacts
                .iter()
                .any(|a| a.state == ArtifactState::RollingBack) =>
        {
            RunStanding::RollingBack
        }
        RunStatus::Active
            if state
                .artifacts
                .iter()
                .any(|a| a.state == ArtifactState::AwaitingEvidence) =>
        {
            RunStanding::AwaitingEvidence
        }
        RunStatus::Active => RunStanding::ReadyToDraft,
    }
}

/// The name of a run's status as errors give it ("complete", "aborted").
pub(super) fn finished_status_name(status: RunStatus) -> String {
    format!("{status:?}").to_lowercase()
}

/// The status of a run from its state and workflow.
pub fn status_report(state: &RunState, run_dir: &Path, workflow: &Workflow) -> StatusReport {
    let pending_rec = pending_artifact(state);
    let run_state = run_state(state);
    let pending = pending_rec.and_then(|rec| {
        let draft = rec.latest_draft()?;
        let phase = workflow.phases.get(rec.phase_index);
        let gate = phase.and_then(|p| Some((p, p.gate.as_ref()?)));
        let options = gate
            .map(|(_, g)| g.options.iter().map(|o| o.label.clone()).collect())
            .unwrap_or_default();
        let gate = gate.map(|(phase, g)| GateReport {
            criteria: g.criteria.clone(),
            options: g
                .options
                .iter()
                .map(|o| OptionReport {
                    label: o.label.clone(),
                    description: o.description.clone(),
                    action: o.action,
                    does: workflow.option_effect(phase, o),
                    to_phases: o.targets.clone(),
                })
                .collect(),
        });
        Some(PendingReport {
            artifact: rec.id.clone(),
            title: rec.title.clone(),
            revision: draft.revision,
            sha256: draft.sha256.clone(),
            path: run_dir.join(&draft.path),
            truncated: draft.truncated,
            missing_sections: draft.missing_sections.clone(),
            problems: draft.problems.clone(),
            cuts: draft.cuts.clone(),
            redactions: draft.redactions.clone(),
            format: draft.format,
            options,
            gate,
        })
    });
    let artifacts = state
        .artifacts
        .iter()
        .map(|rec| {
            let (path, sha) = match (&rec.approval, rec.latest_draft()) {
                (Some(a), _) => (Some(run_dir.join(&a.path)), Some(a.sha256.clone())),
                (None, Some(d)) if rec.state == ArtifactState::Accepted => (
                    Some(run_dir.join(rec.approved_path())),
                    Some(d.sha256.clone()),
                ),
                (None, Some(d)) => (Some(run_dir.join(&d.path)), Some(d.sha256.clone())),
                (None, None) => (None, None),
            };
            ArtifactReport {
                id: rec.id.clone(),
                title: rec.title.clone(),
                state: rec.state,
                revision: rec.latest_draft().map_or(0, |d| d.revision),
                path,
                sha256: sha,
                approved_by: rec.approval.as_ref().map(|a| a.by.clone()),
                approved_with_problems: rec
                    .approval
                    .as_ref()
                    .map(|a| a.problems.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let phase = workflow
        .phases
        .get(state.phase_index)
        .filter(|_| state.status == RunStatus::Active)
        .map(|p| format!("Phase {}: {}", p.number, p.name));
    StatusReport {
        run_id: state.run_id.clone(),
        workflow: state.workflow.name.clone(),
        state: run_state,
        phase,
        pending,
        artifacts,
        model: state.model.clone(),
        created_at: state.created_at.clone(),
        updated_at: state.updated_at.clone(),
        evidence: None,
        context_inputs: Vec::new(),
    }
}
