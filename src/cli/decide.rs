//! The decision commands: `approve`, `revise`, `decide`, `edit` and
//! `abort` record a person's decision on the pending draft, bound to the
//! draft they read when they say which (`--revision N`, `--sha PREFIX`),
//! and say which draft they decided.

use anyhow::{anyhow, bail, Result};

use super::decided::DecisionReport;
use super::runs::{open_read_only, open_run, warn};
use super::{who, Ctx, DecideArgs, DraftArgs, EXIT_ABORTED};
use crate::engine::{
    describe_draft, Decided, Decision, DraftPin, MissingDetail, OptionDetails, RunStanding,
};
use crate::store::ArtifactState;
use crate::terminal::{print_draft_check, visible};
use crate::workflow::GateAction;

pub(super) fn decide(
    ctx: &Ctx,
    run: &str,
    decision: Decision,
    draft: &DraftArgs,
    json: bool,
) -> Result<u8> {
    let pin = DraftPin {
        revision: draft.revision,
        sha: draft.sha.clone(),
    };
    pin.validate()?;
    let mut engine = open_run(ctx, run)?;
    let pending = engine
        .pending()
        .or(engine.rolling_back_artifact())
        .map(|a| a.id.clone());
    let sends_back = matches!(decision, Decision::SendBack { .. });
    let rolled_back = matches!(
        decision,
        Decision::BeginRollback { .. } | Decision::Rollback { .. }
    );
    let kind = decision.clone();
    let decided = engine.apply_pinned(decision, &pin);
    warn(&mut engine);
    let decided = decided?;
    let status = engine.status();
    let code = if status.state == RunStanding::Aborted {
        EXIT_ABORTED
    } else {
        0
    };
    // An approval of a flawed draft says so, as the gate would have: the
    // journal lists the same problems with the decision.
    if let Some(d) = &decided {
        print_draft_check(&d.check, json);
        if !d.check.is_clean() {
            let line = format!(
                "[{}] was approved with these problems; the journal lists them with the decision.",
                d.artifact
            );
            if json {
                crate::errln!("{line}");
            } else {
                crate::outln!("{line}");
            }
        }
    }
    if json {
        let report = DecisionReport::new(
            run,
            &kind,
            decided.as_ref(),
            status.state,
            engine.state().updated_at.clone(),
            std::path::absolute(engine.run_dir())?,
        );
        super::json::print_json(&report)?;
        return Ok(code);
    }
    // What was decided, on which draft: the revision and sha the journal
    // now records.
    match (&decided, status.state) {
        (_, RunStanding::Aborted) => crate::outln!("Run {run} aborted."),
        (Some(d), _) => crate::outln!("{}", said(&kind, d)),
        (None, _) => crate::outln!("Run {run}: nothing decided."),
    }
    // A rollback is done by people: show them the plan's own instructions.
    if let (true, Some(id)) = (rolled_back, &pending) {
        if let Some(card) = engine.step_card(id)? {
            if let Some(rollback) = card.field("Rollback") {
                crate::outln!(
                    "The plan's rollback for step {} ({}): {}",
                    card.step.number,
                    visible(&card.step.name),
                    visible(rollback)
                );
            }
        }
    }
    if sends_back {
        let stale: Vec<String> = status
            .artifacts
            .iter()
            .filter(|a| a.state == ArtifactState::Stale)
            .map(|a| format!("[{}]", a.id))
            .collect();
        crate::outln!(
            "The run is back at {}. Redrafted in order, each at its own gate: {}",
            status.phase.as_deref().unwrap_or("an earlier phase"),
            stale.join(", ")
        );
    }
    match status.state {
        RunStanding::Complete => crate::outln!(
            "The workflow is complete. Artifacts: {}",
            engine.run_dir().join("artifacts").display()
        ),
        RunStanding::AwaitingDecision => {
            crate::outln!("The draft awaits a decision: migagent status {run}")
        }
        RunStanding::ReadyToDraft => crate::outln!("Next: migagent resume {run}"),
        RunStanding::AwaitingEvidence => {
            crate::outln!("The next step waits for evidence: migagent status {run}")
        }
        RunStanding::RollingBack => {
            crate::outln!("Roll the step back as the plan says, and record what you did:");
            crate::outln!("  migagent evidence {run} --note TEXT | --file PATH | --exec [--yes]");
            crate::outln!(
                "then end the rollback: migagent decide {run} --option \"{}\" --then continue|abort",
                engine
                    .rolling_back_artifact()
                    .and_then(|r| r.rolling_back.as_ref())
                    .map_or("Rollback", |s| s.option.as_str())
            );
        }
        RunStanding::Aborted => {}
    }
    Ok(code)
}

/// The line that says what was decided on which draft: "approved MIG-1
/// revision 2 (sha 1a2b3c4d)."
fn said(decision: &Decision, d: &Decided) -> String {
    let draft = d.describe();
    match decision {
        Decision::Proceed { .. } => format!("approved {draft}."),
        Decision::Revise { .. } => format!("sent {draft} back for revision."),
        Decision::SendBack { .. } => format!("sent the work back from {draft}."),
        Decision::Rollback { .. } => format!("rolled back {draft}."),
        Decision::BeginRollback { .. } => format!("started rolling back {draft}."),
        Decision::Abort { .. } => format!("aborted at {draft}."),
        Decision::Edit { .. } => match &d.edited {
            Some((revision, sha)) => format!(
                "replaced {draft} with your edit: {} {}.",
                d.artifact,
                describe_draft(*revision, sha)
            ),
            None => format!("replaced {draft} with your edit."),
        },
        Decision::Quit => format!("left {draft} undecided."),
    }
}

pub(super) fn cmd_decide(ctx: &Ctx, args: DecideArgs) -> Result<u8> {
    let engine = open_read_only(ctx, &args.run)?;
    let rolling = engine.rolling_back_artifact();
    let Some(pending) = engine.pending().or(rolling) else {
        bail!(
            "run '{}' has no draft awaiting a decision; see `migagent status {}`",
            args.run,
            args.run
        );
    };
    let phase = &engine.workflow().phases[pending.phase_index];
    let Some(gate) = &phase.gate else {
        bail!("phase {} has no gate", phase.number);
    };
    let Some(option) = gate.option_named(&args.option) else {
        let labels: Vec<&str> = gate.options.iter().map(|o| o.label.as_str()).collect();
        bail!(
            "the gate of [{}] has no option '{}'; its options are: {}",
            pending.id,
            args.option,
            labels.join(", ")
        );
    };
    if args.to_phase.is_some() && option.action != GateAction::SendBack {
        bail!(
            "--to-phase is for an option that sends the work back to an earlier phase; '{}' does not",
            option.label
        );
    }
    let details = OptionDetails {
        to_phase: args.to_phase,
        note: args.note,
        feedback: args.feedback,
        // Ending a rollback that was started keeps its reason.
        reason: args
            .reason
            .or_else(|| rolling.and_then(|r| r.rolling_back.as_ref().map(|s| s.reason.clone()))),
        then: args.then,
    };
    let decision = Decision::for_option(option, who(args.who)?, details).map_err(|missing| {
        anyhow!(match (missing, option.action) {
            (MissingDetail::Feedback, GateAction::SendBack) =>
                "this option sends the work back to an earlier phase: give --feedback TEXT, the reason its artifact is redrafted",
            (MissingDetail::Feedback, _) =>
                "this option sends the draft back: give --feedback TEXT",
            (MissingDetail::Reason, GateAction::Rollback) => {
                "this option rolls back: give --reason TEXT"
            }
            (MissingDetail::Reason, _) => "this option aborts: give --reason TEXT",
        })
    })?;
    drop(engine);
    decide(ctx, &args.run, decision, &args.draft, args.json)
}
