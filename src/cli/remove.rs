//! `migagent rm RUN` and `migagent prune --older-than AGE`: removing runs
//! (a dead server's leftovers, old experiments). A run with approved
//! artifacts is the record of decisions people made, so it goes only with
//! `--yes`; a run in use is never removed. How the folder is removed so a
//! kill never leaves half a run is `store::removal`'s.

use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Ctx, PruneArgs, RmArgs};
use crate::engine;
use crate::store::RunRemoval;

/// A run removed (or that `--dry-run` would remove).
#[derive(Debug, Serialize)]
struct Removed {
    run_id: String,
    /// The run folder (absolute).
    path: std::path::PathBuf,
    state: String,
    updated_at: String,
    /// Approved (or accepted) artifacts that went with it.
    approved: Vec<String>,
}

/// A run `prune` left, and why.
#[derive(Debug, Serialize)]
struct Kept {
    run_id: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct PruneReport {
    older_than_secs: u64,
    dry_run: bool,
    removed: Vec<Removed>,
    kept: Vec<Kept>,
}

fn describe(taken: &RunRemoval) -> Result<Removed> {
    Ok(Removed {
        run_id: taken.run_id().to_string(),
        path: std::path::absolute(taken.path())?,
        state: engine::run_state(taken.state()).to_string(),
        updated_at: taken.state().updated_at.clone(),
        approved: taken.approved().to_vec(),
    })
}

/// Why a run with approvals is not removed without `--yes`.
fn approved_refusal(taken: &RunRemoval, command: &str) -> String {
    format!(
        "run '{}' has approved artifacts ({}); they are the record of decisions people made. Pass --yes to remove it anyway: {command}",
        taken.run_id(),
        taken.approved().join(", ")
    )
}

pub(super) fn cmd_rm(ctx: &Ctx, args: &RmArgs) -> Result<u8> {
    let taken = ctx.store.take_for_removal(&args.run)?;
    if !taken.approved().is_empty() && !args.yes {
        bail!(approved_refusal(
            &taken,
            &format!("migagent rm {} --yes", args.run)
        ));
    }
    let removed = describe(&taken)?;
    taken.remove()?;
    if args.json {
        super::json::print_json(&removed)?;
    } else {
        crate::outln!(
            "Removed run {} ({}).",
            removed.run_id,
            removed.path.display()
        );
    }
    Ok(0)
}

pub(super) fn cmd_prune(ctx: &Ctx, args: &PruneArgs) -> Result<u8> {
    let now = OffsetDateTime::now_utc();
    let mut report = PruneReport {
        older_than_secs: args.older_than.as_secs(),
        dry_run: args.dry_run,
        removed: Vec::new(),
        kept: Vec::new(),
    };
    let old = |updated: &str| -> Result<bool, String> {
        OffsetDateTime::parse(updated, &Rfc3339)
            .map(|at| now - at >= args.older_than)
            .map_err(|_| format!("its run.json has no readable updated_at ('{updated}')"))
    };
    for listed in ctx.store.list() {
        let state = match listed {
            Ok(state) => state,
            Err(e) => {
                crate::errln!("warning: {e}; not pruned");
                continue;
            }
        };
        let id = state.run_id.clone();
        let mut keep = |reason: String| {
            report.kept.push(Kept {
                run_id: id.clone(),
                reason,
            })
        };
        match old(&state.updated_at) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(reason) => {
                keep(reason);
                continue;
            }
        }
        // Under the lock, read again: a command may have moved it on since.
        let taken = match ctx.store.take_for_removal(&id) {
            Ok(t) => t,
            Err(e) => {
                keep(e.to_string());
                continue;
            }
        };
        if !matches!(old(&taken.state().updated_at), Ok(true)) {
            continue;
        }
        if !taken.approved().is_empty() && !args.yes {
            keep(approved_refusal(
                &taken,
                "migagent prune --older-than AGE --yes",
            ));
            continue;
        }
        let removed = describe(&taken)?;
        if !args.dry_run {
            taken.remove()?;
        }
        report.removed.push(removed);
    }
    if args.json {
        super::json::print_json(&report)?;
        return Ok(0);
    }
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    if report.removed.is_empty() {
        crate::outln!(
            "No runs to remove under {}.",
            ctx.store.runs_dir().display()
        );
    }
    for r in &report.removed {
        crate::outln!(
            "{verb} {} ({}, last saved {})",
            r.run_id,
            r.state,
            r.updated_at
        );
    }
    for k in &report.kept {
        crate::outln!("Kept {}: {}", k.run_id, k.reason);
    }
    Ok(0)
}

/// An age such as `12h`, `30d` or `2w`: a whole number and one unit (s, m,
/// h, d, w).
pub(super) fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        format!("'{text}' is not an age: write a number and a unit, s, m, h, d or w (12h, 30d, 2w)")
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_take_a_number_and_one_unit() {
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "30",
            "d",
            "1.5d",
            "-1d",
            "3 days",
            "30D",
            "99999999999999999999w",
        ] {
            let err = parse_age(bad).unwrap_err();
            assert!(err.contains("12h, 30d, 2w"), "{bad}: {err}");
        }
    }
}
