//! `verify`: a run checked against its journal, and the tamper warning
//! `status` shows.

use anyhow::Result;

use super::{Ctx, EXIT_TAMPERED};
use crate::store::verify::{self, ChainState, Finding};

pub(super) fn cmd_verify(ctx: &Ctx, run: &str, json: bool) -> Result<u8> {
    let report = verify::verify_run(&ctx.store, run)?;
    let code = if report.ok { 0 } else { EXIT_TAMPERED };
    if json {
        super::json::print_json(&report)?;
        return Ok(code);
    }
    let chain = match report.chain {
        ChainState::Chained => "chained",
        ChainState::Unchained => "unchained",
        ChainState::Partly => "partly chained",
        ChainState::Empty => "empty",
    };
    crate::outln!(
        "run {}: journal of {} lines, {chain}; {} files checked",
        report.run_id,
        report.journal_lines,
        report.files_checked
    );
    for note in &report.notes {
        crate::outln!("note: {note}");
    }
    if report.ok {
        crate::outln!("OK: every file and record matches the journal.");
    } else {
        crate::outln!(
            "DIFFERS from its record in {} place{}:",
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" }
        );
        print_findings(&report.findings);
    }
    Ok(code)
}

/// One line per finding; those the run no longer reads say so.
pub(super) fn print_findings(findings: &[Finding]) {
    for f in findings {
        let unused = if f.in_use {
            ""
        } else {
            " (no longer read by the run)"
        };
        crate::outln!("  - {}{unused}", f.message);
    }
}
