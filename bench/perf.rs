//! Performance of migagent, measured with the real release binary, each
//! command its own process, against the test suite's fake OpenAI server
//! (and, when built, the project's local llama.cpp server):
//!
//! 1. orchestration: the whole seed run command by command, wall time per
//!    command, peak RSS, the prompt sent against the full-history layout,
//!    and a step's prompt in a plan of few and of many steps;
//! 2. the panel at a server taking a fixed time per reply, against one
//!    draft at the same server;
//! 3. `approve` on runs of 10, 10,000 and 100,000 journal events;
//! 4. the local model: time to first token of a revision against the first
//!    draft, each panel member's cached share, the offline run's wall time
//!    and the share spent outside the server.
//!
//! Run with `cargo bench --bench perf` (see `bench/README.md`): one
//! Markdown table on stdout, `bench/results.json` beside this file,
//! progress on stderr. Every figure is the median of its repeats, and each
//! baseline is measured in the same run.

use std::error::Error;
use std::path::PathBuf;

use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The test suite's fake server, reused as it is.
#[allow(dead_code)]
#[path = "perf/support.rs"]
mod support;

#[path = "perf/flow.rs"]
mod flow;
#[path = "perf/journal.rs"]
mod journal;
#[path = "perf/local.rs"]
mod local;
#[path = "perf/orchestration.rs"]
mod orchestration;
#[path = "perf/panel.rs"]
mod panel;
#[path = "perf/place.rs"]
mod place;
#[path = "perf/report.rs"]
mod report;

/// What every part of the bench works with.
pub struct Ctx {
    /// Runs the fake servers.
    pub rt: tokio::runtime::Runtime,
    /// Where the bench's folders are made (removed at the end).
    pub work: PathBuf,
    pub bin: PathBuf,
    /// Another migagent binary (an older build) to compare with.
    pub baseline_bin: Option<PathBuf>,
    pub repeats: usize,
    pub panel_delay_ms: u64,
    pub journal_sizes: Vec<usize>,
    pub steps_small: usize,
    pub steps_big: usize,
    pub local: bool,
    pub local_runs: usize,
    pub local_repeats: usize,
}

/// A number from the environment, or `default`.
fn setting(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v} is not a whole number").into()),
        Err(_) => Ok(default),
    }
}

fn main() -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p.trim() == name);
    let journal_sizes = match std::env::var("BENCH_JOURNAL_SIZES") {
        Ok(v) => v
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| format!("BENCH_JOURNAL_SIZES={v} is not a list of whole numbers"))?,
        Err(_) => vec![10, 10_000, 100_000],
    };
    let base = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("migagent-perf-")
        .tempdir_in(&base)?;
    let baseline_bin = std::env::var_os("BENCH_BASELINE_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Some(b) = &baseline_bin {
        if !b.is_file() {
            return Err(format!("BENCH_BASELINE_BIN={} is not a file", b.display()).into());
        }
    }
    let ctx = Ctx {
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
        work: work.path().to_path_buf(),
        bin: PathBuf::from(env!("CARGO_BIN_EXE_migagent")),
        baseline_bin,
        repeats: setting("BENCH_REPEATS", 5)?.max(1),
        panel_delay_ms: setting("BENCH_PANEL_DELAY_MS", 1000)? as u64,
        journal_sizes,
        steps_small: setting("BENCH_STEPS_SMALL", 4)?.max(2),
        steps_big: setting("BENCH_STEPS_BIG", 40)?.max(2),
        local: std::env::var("BENCH_LOCAL").map_or(true, |v| v != "0"),
        local_runs: setting("BENCH_LOCAL_RUNS", 1)?,
        local_repeats: setting("BENCH_LOCAL_REPEATS", 5)?.max(1),
    };
    eprintln!(
        "perf: binary {}, work in {}",
        ctx.bin.display(),
        ctx.work.display()
    );
    let machine = report::Machine::here(&repo);
    let mut figures = Vec::new();
    let mut notes = Vec::new();
    if part("orchestration") {
        orchestration::measure(&ctx, &mut figures, &mut notes)?;
    }
    if part("panel") {
        panel::measure(&ctx, &mut figures)?;
    }
    if part("journal") {
        journal::measure(&ctx, &mut figures)?;
    }
    if part("local") {
        local::measure(&ctx, &mut figures, &mut notes)?;
    }
    let settings = json!({
        "BENCH_REPEATS": ctx.repeats,
        "BENCH_BASELINE_BIN": ctx.baseline_bin.as_ref().map(|b| b.display().to_string()),
        "BENCH_PANEL_DELAY_MS": ctx.panel_delay_ms,
        "BENCH_JOURNAL_SIZES": ctx.journal_sizes,
        "BENCH_STEPS_SMALL": ctx.steps_small,
        "BENCH_STEPS_BIG": ctx.steps_big,
        "BENCH_LOCAL": ctx.local,
        "BENCH_LOCAL_RUNS": ctx.local_runs,
        "BENCH_LOCAL_REPEATS": ctx.local_repeats,
        "BENCH_ONLY": only,
    });
    report::print_table(&figures, &notes, &machine);
    let out = std::env::var_os("BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("bench/results.json"));
    report::write_json(&out, &figures, &notes, settings, &machine)?;
    eprintln!("perf: wrote {}", out.display());
    Ok(())
}
