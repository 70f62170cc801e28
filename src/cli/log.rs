//! `log`: a run's journal as a timeline. It reads the journal only (not
//! the workflow, not `run.json`), so it works on any run whose journal
//! reads, a tampered one included: that is when people need it most.

use anyhow::Result;

use super::Ctx;
use crate::report::{short_time, timeline, Usage};
use crate::terminal::visible;

pub(super) fn cmd_log(ctx: &Ctx, run: &str, json: bool) -> Result<u8> {
    let dir = ctx.store.open_read_only(run)?;
    let events = dir.read_journal()?;
    let entries = timeline(&events);
    let total = Usage::of_journal(&events);
    if json {
        let doc = serde_json::json!({
            "run_id": run,
            "events": entries,
            "total_usage": total,
        });
        super::json::print_json(&doc)?;
        return Ok(0);
    }
    if entries.is_empty() {
        crate::outln!("Run {run} has no journal lines yet.");
        return Ok(0);
    }
    for e in &entries {
        let artifact = e
            .artifact
            .as_ref()
            .map_or(String::new(), |a| match e.revision {
                Some(r) => format!("[{a}] r{r}"),
                None => format!("[{a}]"),
            });
        let by =
            e.by.as_ref()
                .map_or(String::new(), |b| format!(" ({})", visible(b)));
        crate::outln!(
            "{:>4}  {}  {:<24} {:<14} {}{by}",
            e.line,
            short_time(&e.at),
            e.event,
            visible(&artifact),
            visible(&e.summary)
        );
    }
    crate::outln!();
    crate::outln!("Model usage: {}", total.describe());
    Ok(0)
}
