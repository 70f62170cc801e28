//! Part 3, the journal: `migagent approve` on runs whose journal holds 10,
//! 10,000 and 100,000 events, the smallest the baseline.
//!
//! Each run is a real run of the seed workflow, started by the binary
//! (`run --no-input`: MIG-1 drafted and awaiting a decision at its gate),
//! padded to its size through the library's own API as a command writes:
//! `RunDir::journal_all` appends chained `model_changed` events (what
//! `resume --model`/`--base-url` journals; these name the run's own model,
//! so the run's state is unchanged), then `RunDir::save_state` saves
//! `run.json` marked with the journal's new end. Each timed `approve` works
//! on a fresh copy of the padded run (the copy is not timed), twice: after
//! an untimed `resume`, as in a session where the command before the
//! decision checked the journal and left `.journal-checked.json`; and as
//! the first command on the copy, which reads the journal whole.

use migagent::store::{now_rfc3339, EventKind, JournalEvent, RunStore};

use super::flow;
use super::orchestration::config;
use super::place::Place;
use super::report::{thousands, Figure, Unit};
use super::support::FakeServer;
use super::{Ctx, Result};

const GROUP: &str = "3. The journal";
const RUN: &str = "journal";

/// Journal lines of the run in `place`, and the journal's size in bytes.
fn journal_of(place: &Place) -> Result<(usize, u64)> {
    let text = std::fs::read(place.run_dir(RUN).join("journal.jsonl"))?;
    let lines = text.iter().filter(|b| **b == b'\n').count();
    Ok((lines, text.len() as u64))
}

/// Appends `count` events to the run in `place` and saves its state, as a
/// command would.
fn pad(place: &Place, count: usize) -> Result<()> {
    let store = RunStore::new(&place.state_dir());
    let run = store.open(RUN)?;
    let mut state = run.load_state()?;
    let m = state.model.clone();
    let event = JournalEvent {
        at: now_rfc3339(),
        run_id: RUN.into(),
        kind: EventKind::ModelChanged {
            from_model: m.model.clone(),
            from_base_url: m.base_url.clone(),
            model: m.model,
            base_url: m.base_url,
            profile: m.profile,
            offline: m.offline,
            by: Some("bench".into()),
        },
    };
    let mut left = count;
    while left > 0 {
        let batch = left.min(1000);
        run.journal_all(&vec![event.clone(); batch])?;
        left -= batch;
    }
    run.save_state(&mut state)?;
    Ok(())
}

pub fn measure(ctx: &Ctx, figures: &mut Vec<Figure>) -> Result<()> {
    let fake = ctx.rt.block_on(FakeServer::new().start());
    let base = Place::new(ctx.work.join("journal-base"))?;
    base.write_config(&config(&fake.base_url(), ""))?;
    flow::start(&base, &ctx.bin, RUN)?;
    let (real, _) = journal_of(&base)?;
    let mut runs = Vec::new();
    for &n in &ctx.journal_sizes {
        if n < real {
            return Err(format!(
                "BENCH_JOURNAL_SIZES: {n} events is fewer than the {real} a started run has"
            )
            .into());
        }
        eprintln!("journal: padding a run to {n} events (untimed) ...");
        let place = base.copy_to(ctx.work.join(format!("journal-{n}")))?;
        pad(&place, n - real)?;
        let (lines, bytes) = journal_of(&place)?;
        runs.push((lines, bytes, place, Vec::new(), Vec::new(), Vec::new()));
    }
    let url = fake.base_url();
    for r in 0..ctx.repeats {
        eprintln!("journal: repeat {}/{} ...", r + 1, ctx.repeats);
        for (_, _, place, warm, cold, written) in &mut runs {
            // As in a session: the command before the decision (here a
            // `resume` that finds MIG-1 awaiting it) checked the journal
            // whole and left what it found for the next one.
            let copy = place.copy_to(ctx.work.join("journal-run"))?;
            copy.expect(
                &ctx.bin,
                &["resume", RUN, "--no-input", "--base-url", &url],
                &[10],
            )?;
            settle(&copy)?;
            let (_, before) = journal_of(&copy)?;
            warm.push(copy.expect(&ctx.bin, &["approve", RUN], &[0])?.ms());
            // What the decision wrote: its journal lines, and the files it
            // rewrites whole (run.json, the checked-journal cache, the
            // approved copy).
            let (_, after) = journal_of(&copy)?;
            let dir = copy.run_dir(RUN);
            let whole: u64 = ["run.json", ".journal-checked.json", "artifacts/MIG-1.md"]
                .iter()
                .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
                .map(|m| m.len())
                .sum();
            written.push((after - before + whole) as f64 / 1024.0);
            // The first command on a copied folder (new inodes), or after
            // anyone else wrote the journal: it reads the journal whole.
            let copy = place.copy_to(ctx.work.join("journal-run"))?;
            settle(&copy)?;
            cold.push(copy.expect(&ctx.bin, &["approve", RUN], &[0])?.ms());
        }
    }
    let Some((small, small_bytes, _, baseline, _, small_written)) = runs.first() else {
        return Ok(());
    };
    let baseline_name = format!("same, journal of {}", journal_size(*small, *small_bytes));
    for (lines, bytes, _, _, _, written) in &runs {
        figures.push(
            Figure::new(
                GROUP,
                format!(
                    "bytes `approve` MIG-1 writes, journal of {}: its journal lines, run.json, the cache, the approved copy",
                    journal_size(*lines, *bytes)
                ),
                Unit::Written,
                written.clone(),
            )
            .against(baseline_name.clone(), small_written.clone()),
        );
    }
    for (lines, bytes, _, warm, _, _) in &runs {
        figures.push(
            Figure::new(
                GROUP,
                format!(
                    "`approve` MIG-1, journal of {}, after the command before it",
                    journal_size(*lines, *bytes)
                ),
                Unit::Ms,
                warm.clone(),
            )
            .against(baseline_name.clone(), baseline.clone()),
        );
    }
    for (lines, bytes, _, _, cold, _) in &runs {
        figures.push(
            Figure::new(
                GROUP,
                format!(
                    "`approve` MIG-1, journal of {}, first command on a copied run (reads the journal whole)",
                    journal_size(*lines, *bytes)
                ),
                Unit::Ms,
                cold.clone(),
            )
            .against(baseline_name.clone(), baseline.clone()),
        );
    }
    Ok(())
}

/// Flushes the copy's files to disk before a timed command: a copied
/// journal is tens of megabytes of dirty pages, and the decision's own
/// fsync of the journal would otherwise write them all, a cost of the copy
/// and not of the decision (a run's journal is flushed line by line as it
/// grows).
fn settle(place: &Place) -> Result<()> {
    let dir = place.run_dir(RUN);
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::File::open(&path)?.sync_all()?;
        }
    }
    Ok(())
}

/// "10,000 events, 3.1 MiB".
fn journal_size(lines: usize, bytes: u64) -> String {
    let size = if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    };
    format!("{} events, {size}", thousands(lines as f64))
}
