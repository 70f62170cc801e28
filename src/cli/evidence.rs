//! `evidence`: records what happened at a step of the plan before its
//! result is drafted. Commands come from the approved plan and run only
//! with `--yes`, which says the person has read them.

use anyhow::{Context, Result};

use super::run::print_evidence_help;
use super::{evidence_settings, who, Ctx, EvidenceArgs};
use crate::engine::{Engine, NewEvidence};
use crate::files::{read_text, LIMIT_SETTING};
use crate::store::EvidenceRecord;
use crate::terminal::visible;

pub(super) fn cmd_evidence(ctx: &Ctx, args: EvidenceArgs) -> Result<u8> {
    let mut engine = super::runs::open_run(ctx, &args.run)?;
    engine.set_evidence_settings(evidence_settings(&ctx.config, args.evidence.no_exec));
    let by = who(args.who.clone())?;
    if args.confirm_point_of_no_return && engine.confirm_point_of_no_return(&by)? {
        crate::errln!("Point of no return confirmed by {by}.");
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let evidence = if let Some(text) = args.note {
        NewEvidence::Note(text)
    } else if let Some(path) = args.note_file {
        NewEvidence::Note(
            read_text(
                &path,
                engine.evidence_settings().max_file_bytes,
                LIMIT_SETTING,
            )
            .context("cannot use the note file")?,
        )
    } else if let Some(path) = args.file {
        NewEvidence::File(path)
    } else if args.none {
        NewEvidence::None(args.reason.unwrap_or_default())
    } else if args.yes {
        NewEvidence::Commands {
            only: args.only,
            cwd: cwd.clone(),
        }
    } else {
        return list_commands(&engine, &args.run, &cwd, args.only);
    };
    let added = engine.add_evidence(evidence, &by)?;
    if args.json {
        super::json::print_json_under("evidence", &added)?;
    } else {
        for e in &added {
            crate::outln!("{}", describe(e));
        }
    }
    if let Some(card) = engine.evidence_card()? {
        crate::errln!(
            "Next: `migagent resume {}` drafts [{}] from its evidence, or add more.",
            args.run,
            card.artifact
        );
    } else if !engine.context_inputs().is_empty() {
        crate::errln!(
            "Recorded as context of the run; it fills: {}",
            engine.context_inputs().join("; ")
        );
    }
    Ok(0)
}

/// `--exec` without `--yes`: what would run, where, and nothing else.
fn list_commands(
    engine: &Engine,
    run: &str,
    cwd: &std::path::Path,
    only: Option<usize>,
) -> Result<u8> {
    let Some(card) = engine.evidence_card()? else {
        anyhow::bail!("run '{run}' has no step awaiting evidence; see `migagent status {run}`");
    };
    // While a step is rolled back, the commands offered are its Rollback's.
    let rolling = engine.rolling_back_artifact().is_some();
    let commands = card.commands_for(rolling);
    let what = if rolling { "the rollback of " } else { "" };
    if commands.is_empty() {
        crate::outln!("The plan gives no commands for {what}[{}].", card.artifact);
        if !rolling {
            print_evidence_help(run, &card.artifact);
        }
        return Ok(0);
    }
    crate::outln!(
        "Commands the plan gives for {what}[{}], to run in {}:",
        card.artifact,
        cwd.display()
    );
    for (i, c) in commands.iter().enumerate() {
        if only.is_none_or(|k| k == i + 1) {
            crate::outln!("  {}) [{}] {}", i + 1, c.source, visible(&c.command));
        }
    }
    crate::outln!(
        "Nothing was run. Read them, then: migagent evidence {run} --exec --yes [--only K]"
    );
    Ok(0)
}

/// One line on what was recorded.
fn describe(e: &EvidenceRecord) -> String {
    match (&e.command, e.command_outcome()) {
        (Some(cmd), Some(outcome)) => format!(
            "{}: `{}`: {outcome}, {:.1} s; output in {}",
            e.id,
            visible(cmd),
            e.seconds.unwrap_or_default(),
            e.path
        ),
        _ => format!(
            "{}: recorded as {} (sha256 {})",
            e.id,
            e.path,
            &e.sha256[..12.min(e.sha256.len())]
        ),
    }
}
