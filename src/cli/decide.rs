//! The decision commands: `approve`, `revise`, `decide`, `edit` and
//! `abort` record a person's decision on the pending draft.

use anyhow::{bail, Context, Result};

use super::{who, Ctx, DecideArgs, EXIT_ABORTED};
use crate::engine::{Decision, Engine};
use crate::workflow::GateAction;

pub(super) fn decide(ctx: &Ctx, run: &str, decision: Decision) -> Result<u8> {
    let mut engine = Engine::open(&ctx.store, run)?;
    let pending = engine.pending().map(|a| a.id.clone());
    let what = match &decision {
        Decision::Proceed { .. } => "approved",
        Decision::Revise { .. } => "sent back for revision",
        Decision::Rollback { .. } => "rolled back",
        Decision::Abort { .. } => "aborted",
        Decision::Edit { .. } => "replaced with your edit",
        Decision::Quit => "left undecided",
    };
    engine.apply(decision)?;
    let status = engine.status();
    match (&pending, status.state.as_str()) {
        (_, "aborted") => println!("Run {run} aborted."),
        (Some(id), _) => println!("[{id}] {what}."),
        (None, _) => println!("Run {run}: {what}."),
    }
    match status.state.as_str() {
        "complete" => println!(
            "The workflow is complete. Artifacts: {}",
            engine.run_dir().join("artifacts").display()
        ),
        "awaiting_decision" => println!("The draft awaits a decision: migagent status {run}"),
        "ready_to_draft" => println!("Next: migagent resume {run}"),
        _ => {}
    }
    Ok(if status.state == "aborted" {
        EXIT_ABORTED
    } else {
        0
    })
}

pub(super) fn cmd_decide(ctx: &Ctx, args: DecideArgs) -> Result<u8> {
    let engine = Engine::open(&ctx.store, &args.run)?;
    let Some(pending) = engine.pending() else {
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
    let by = who(args.who)?;
    let label = Some(option.label.clone());
    let decision = match option.action {
        GateAction::Proceed => Decision::Proceed {
            option: label,
            by,
            note: args.note,
        },
        GateAction::Revise => Decision::Revise {
            option: label,
            by,
            feedback: args
                .feedback
                .context("this option sends the draft back: give --feedback TEXT")?,
        },
        GateAction::Rollback => Decision::Rollback {
            option: label,
            by,
            reason: args
                .reason
                .context("this option rolls back: give --reason TEXT")?,
            then: args
                .then
                .context("after a rollback, say --then continue or --then abort")?,
        },
        GateAction::Abort => Decision::Abort {
            option: label,
            by,
            reason: args
                .reason
                .context("this option aborts: give --reason TEXT")?,
        },
    };
    drop(engine);
    decide(ctx, &args.run, decision)
}
