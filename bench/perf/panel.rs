//! Part 2, the panel: phase 5 (six members and a moderator) at a server taking
//! a fixed time per reply, against one ordinary draft at the same server,
//! at the default parallelism and with a slot for every member.
//!
//! The run is driven once to just after MIG-1's approval (kept) and on to
//! just before phase 5 (kept); each repeat then times, on fresh copies of
//! those folders (copying is not timed), the `resume` that drafts MIG-2 and
//! the `resume` that asks the panel and drafts MIG-5, with each setting.

use std::time::Duration;

use super::flow;
use super::orchestration::config;
use super::place::Place;
use super::report::{Figure, Unit};
use super::support::FakeServer;
use super::{Ctx, Result};

const GROUP: &str = "2. The panel (server taking a fixed time per reply)";

pub fn measure(ctx: &Ctx, figures: &mut Vec<Figure>) -> Result<()> {
    let delay = Duration::from_millis(ctx.panel_delay_ms);
    let fake = ctx.rt.block_on(FakeServer::new().delay(delay).start());
    let base = fake.base_url();
    let place = Place::new(ctx.work.join("panel-setup"))?;
    place.write_config(&config(&base, ""))?;
    eprintln!(
        "panel: driving a run to phase 5 at {} ms per reply (untimed) ...",
        ctx.panel_delay_ms
    );
    flow::start(&place, &ctx.bin, "panel")?;
    let phase = |n: &'static str| {
        move |st: &serde_json::Value| {
            st["state"] == "ready_to_draft"
                && st["phase"].as_str().is_some_and(|p| p.starts_with(n))
        }
    };
    flow::drive(&place, &ctx.bin, "panel", phase("Phase 2"))?;
    let before_mig2 = place.copy_to(ctx.work.join("panel-before-mig2"))?;
    flow::drive(&place, &ctx.bin, "panel", phase("Phase 5"))?;
    let before_panel = place;

    let settings = [
        ("default parallelism (4; no /props)", String::new()),
        (
            "max_parallel_requests = 6",
            "max_parallel_requests = 6\n".to_string(),
        ),
    ];
    let mut one_draft = Vec::new();
    let mut panel: Vec<Vec<f64>> = settings.iter().map(|_| Vec::new()).collect();
    let mut together: Vec<usize> = settings.iter().map(|_| 0).collect();
    let mut members = 0;
    // Requests a client has in flight at once arrive within this window
    // of the first; a later wave comes a whole reply later.
    let window = delay / 2;
    for r in 0..ctx.repeats {
        eprintln!("panel: repeat {}/{} ...", r + 1, ctx.repeats);
        let copy = before_mig2.copy_to(ctx.work.join("panel-run"))?;
        let m = copy.expect(&ctx.bin, &["resume", "panel", "--no-input"], &[10])?;
        one_draft.push(m.ms());
        for (k, (_, extra)) in settings.iter().enumerate() {
            let copy = before_panel.copy_to(ctx.work.join("panel-run"))?;
            copy.write_config(&config(&base, extra))?;
            let since = fake.chat_arrivals();
            let m = copy.expect(&ctx.bin, &["resume", "panel", "--no-input"], &[10])?;
            let status = copy.status(&ctx.bin, "panel")?;
            if flow::pending(&status) != "MIG-5" || !m.stderr.contains("panel review") {
                return Err(format!(
                    "the timed resume did not ask the panel and draft MIG-5:\n{}",
                    m.stderr
                )
                .into());
            }
            together[k] = together[k].max(fake.arrived_together(since, window));
            members = findings(&copy)?;
            panel[k].push(m.ms());
        }
    }
    for (k, (name, _)) in settings.iter().enumerate() {
        figures.push(
            Figure::new(
                GROUP,
                format!(
                    "`resume` drafting MIG-5: panel of {members} + moderator, {name}; at most {} requests in flight",
                    together[k]
                ),
                Unit::Ms,
                panel[k].clone(),
            )
            .against("`resume` drafting MIG-2 (one draft)", one_draft.clone()),
        );
    }
    Ok(())
}

/// The panel findings the journal of the run in `place` records for MIG-5.
fn findings(place: &Place) -> Result<usize> {
    let journal = std::fs::read_to_string(place.run_dir("panel").join("journal.jsonl"))?;
    Ok(journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "panel_finding" && e["artifact"] == "MIG-5")
        .count())
}
