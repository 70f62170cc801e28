//! The cost of tamper evidence, measured against a baseline taken in the
//! same process on the same disk, so the ratios hold across machines:
//!
//! - `verify` on a run of 100 approved artifacts, against reading and
//!   hashing (sha256) the same files;
//! - the check `resume` and every decision run first (open the run, then
//!   verify it), against opening it alone;
//! - one journal event, fsync included, against a plain append of the same
//!   bytes and an fsync, on the 100-artifact run's journal and on one of
//!   10,000 events.
//!
//! Run with `cargo bench --bench integrity` (see `bench/README.md`); it
//! prints a Markdown table for `BENCHMARKS.md`. Each figure is the median
//! of its repeats, taken in turn with its baseline's. Settings: `BENCH_ARTIFACTS` (100), `BENCH_REPEATS` (31),
//! `BENCH_BIG_JOURNAL` (10000), `BENCH_DIR` (the system's temp folder; put
//! it on the disk runs live on, since fsync is what is measured).

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migagent::engine::{Decision, Engine, GivenInput, Outcome, RunStart};
use migagent::library::{validate, Library, LibraryFile, Origin};
use migagent::llm::{ChatRequest, Completion, ModelClient, ModelError, Silent, TokenSink};
use migagent::store::verify::verify_run;
use migagent::store::{
    sha256_hex, EventKind, JournalEvent, ModelRecord, RunStore, SourceKind, SourceRecord,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let artifacts = setting("BENCH_ARTIFACTS", 100);
    let repeats = setting("BENCH_REPEATS", 31).max(1);
    let big = setting("BENCH_BIG_JOURNAL", 10_000);
    let base = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("migagent-bench-")
        .tempdir_in(&base)?;
    let store = RunStore::new(work.path());

    eprintln!(
        "building a run of {artifacts} approved artifacts in {} ...",
        work.path().display()
    );
    let built = Instant::now();
    build_run(work.path(), &store, "bench", artifacts)?;
    eprintln!("built in {:.1} s", built.elapsed().as_secs_f64());
    let run_dir = store.runs_dir().join("bench");
    let files = run_files(&run_dir);
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();

    let mut rows = Vec::new();

    // verify against reading and hashing the same files.
    let report = verify_run(&store, "bench")?;
    if !report.ok {
        return Err(format!("the benchmark run does not verify: {:?}", report.findings).into());
    }
    let (verify, hash_all) = medians(
        repeats,
        || verify_run(&store, "bench").map(drop).map_err(Into::into),
        || {
            for f in &files {
                hash_file(f)?;
            }
            Ok(())
        },
    )?;
    rows.push(Row {
        what: format!(
            "verify, {artifacts} artifacts ({} journal lines, {} files, {} KiB)",
            report.journal_lines,
            files.len(),
            bytes / 1024
        ),
        time: verify,
        baseline_name: "read + sha256 of the same files",
        baseline: hash_all,
    });
    let (checked, opened) = medians(
        repeats,
        || {
            let engine = Engine::open(&store, "bench")?;
            engine.check_untampered()?;
            Ok(())
        },
        || Engine::open(&store, "bench").map(drop).map_err(Into::into),
    )?;
    rows.push(Row {
        what: format!("open + check, as resume and each decision do, {artifacts} artifacts"),
        time: checked,
        baseline_name: "open alone (no check)",
        baseline: opened,
    });

    // One journal event on the run's journal, then on a big one.
    let lines = report.journal_lines;
    rows.push(journal_row(&store, "bench", lines, repeats)?);
    eprintln!("writing a journal of {big} events ...");
    let mut big_run = store.create("big")?;
    let events: Vec<JournalEvent> = (0..big).map(|i| sample_event(i as u32)).collect();
    big_run.journal_all(&events)?;
    // A run is opened by its run.json; the journal is all this one is for.
    big_run.write("run.json", "{}")?;
    // A new run is built in a staging folder and appears under its id
    // once published.
    big_run.publish()?;
    drop(big_run);
    rows.push(journal_row(&store, "big", big, repeats)?);

    print_table(&rows, repeats);
    Ok(())
}

/// A number from the environment, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median times of `repeats` runs of `f` and of its baseline `g`,
/// taken in turn, so a busy moment of a shared machine or disk falls on
/// both alike.
fn medians(
    repeats: usize,
    mut f: impl FnMut() -> Result<()>,
    mut g: impl FnMut() -> Result<()>,
) -> Result<(Duration, Duration)> {
    let mut fs = Vec::with_capacity(repeats);
    let mut gs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        f()?;
        fs.push(start.elapsed());
        let start = Instant::now();
        g()?;
        gs.push(start.elapsed());
    }
    fs.sort();
    gs.sort();
    Ok((fs[fs.len() / 2], gs[gs.len() / 2]))
}

/// One measured figure and its baseline.
struct Row {
    what: String,
    time: Duration,
    baseline_name: &'static str,
    baseline: Duration,
}

/// One `journal` event (fsync included) on run `run_id`, whose journal has
/// `lines` lines, against appending the same bytes to a plain file and
/// fsyncing it.
fn journal_row(store: &RunStore, run_id: &str, lines: usize, repeats: usize) -> Result<Row> {
    let run = store.open(run_id)?;
    let event = sample_event(0);
    // The bytes one event takes: append it once and read back its line.
    run.journal(&event)?;
    let journal = std::fs::read(run.path().join("journal.jsonl"))?;
    let body = journal.strip_suffix(b"\n").unwrap_or(&journal);
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let line = journal[start..].to_vec();
    let plain = run.path().join("plain-append.bin");
    let (time, baseline) = medians(
        repeats,
        || run.journal(&event).map_err(Into::into),
        || {
            let mut f = OpenOptions::new().create(true).append(true).open(&plain)?;
            f.write_all(&line)?;
            f.sync_all()?;
            Ok(())
        },
    )?;
    std::fs::remove_file(&plain)?;
    Ok(Row {
        what: format!(
            "one journal event, fsync included, journal of {lines} lines ({} bytes a line)",
            line.len()
        ),
        time,
        baseline_name: "append + fsync of the same bytes",
        baseline,
    })
}

/// An event of the size of a real approval: sources and all.
fn sample_event(i: u32) -> JournalEvent {
    let sources = (0..6)
        .map(|k| SourceRecord {
            kind: SourceKind::Persona,
            path: format!("/home/team/library/personas/specialist/person-{k}.md"),
            sha256: sha256_hex(format!("{i}-{k}").as_bytes()),
        })
        .collect();
    JournalEvent {
        at: "2026-01-01T00:00:00Z".into(),
        run_id: "bench".into(),
        kind: EventKind::Approved {
            artifact: format!("B-{i}"),
            revision: 1,
            approver: "bench".into(),
            sha256: sha256_hex(i.to_string().as_bytes()),
            path: format!("artifacts/B-{i}.md"),
            note: Some("looks right".into()),
            sources,
            model: Some("bench-model".into()),
            workflow_sha256: sha256_hex(b"workflow"),
        },
    }
}

fn print_table(rows: &[Row], repeats: usize) {
    println!();
    println!("| measured (median of {repeats}) | time | baseline | baseline time | ratio |");
    println!("|---|---:|---|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.1}x |",
            r.what,
            show(r.time),
            r.baseline_name,
            show(r.baseline),
            r.time.as_secs_f64() / r.baseline.as_secs_f64().max(1e-9)
        );
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "machine: {cpu}, {cpus} CPUs available, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
}

fn show(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// Every regular file of a run but its lock: what `verify` reads.
fn run_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != ".lock") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn hash_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// A workflow of `n` gated phases, each drafting `[B-i]` from the one
/// before.
fn workflow(n: usize) -> String {
    let mut text =
        String::from("# Workflow: Bench\n\nA long chain of gated phases.\n\n## Phases\n\n");
    for i in 1..=n {
        text.push_str(&format!("{i}. **Part {i}** → `[B-{i}]` — **GATE**\n"));
    }
    for i in 1..=n {
        let input = if i == 1 {
            "- Request".to_string()
        } else {
            format!("- `[B-{}]: Part {}`", i - 1, i - 1)
        };
        text.push_str(&format!(
            "\n## Phase {i}: Part {i}\n\n### Input\n\n{input}\n\n### Process\n\nWrite part {i}.\n\n### Output\n\n**Artifact `[B-{i}]: Part {i}`**\n\n```\n## Body\n<body>\n```\n\n### GATE\n\n**Approval criteria:** It reads well.\n\n- **Approved** → proceed\n- **Revise** → revise and re-present `[B-{i}]`\n"
        ));
    }
    text
}

/// Answers every request with a body of about 2 KB.
struct BenchModel;

impl ModelClient for BenchModel {
    async fn complete(
        &self,
        request: &ChatRequest,
        _sink: &mut dyn TokenSink,
    ) -> std::result::Result<Completion, ModelError> {
        let line = format!(
            "- {} drafted for the benchmark, with enough text to be a real artifact.\n",
            request.purpose
        );
        Ok(Completion {
            text: format!("## Body\n{}", line.repeat(24)),
            model: "bench-model".into(),
            prompt_tokens: Some(1000),
            cached_tokens: None,
            completion_tokens: Some(500),
            seconds: 0.0,
            finish_reason: Some("stop".into()),
        })
    }
}

/// Runs the workflow of `n` phases to the end through the engine, every
/// gate approved: a real run folder, journal and all.
fn build_run(root: &Path, store: &RunStore, run_id: &str, n: usize) -> Result<()> {
    let library_dir = root.join("library");
    std::fs::create_dir_all(library_dir.join("workflows"))?;
    let path = library_dir.join("workflows/bench.md");
    let text = workflow(n);
    std::fs::write(&path, &text)?;
    let file = LibraryFile {
        rel: "workflows/bench.md".into(),
        origin: Origin::File(path),
        text,
        moved_from: None,
    };
    let loaded = validate::load_file(file, Library::new(library_dir))
        .map_err(|e| format!("the benchmark workflow does not load: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut engine = Engine::start(
        loaded,
        store,
        RunStart {
            run_id,
            need: Some("Measure tamper evidence".into()),
            inputs: vec![GivenInput {
                label: "Request".into(),
                text: "Measure tamper evidence".into(),
                given_as: "--need".into(),
            }],
            contexts: &[],
            capabilities: Default::default(),
            model: ModelRecord {
                base_url: "http://127.0.0.1:1/v1".into(),
                model: "bench-model".into(),
                profile: None,
                offline: true,
            },
        },
    )?;
    loop {
        match runtime.block_on(engine.advance(&BenchModel, None, &mut Silent))? {
            Outcome::AwaitingDecision { .. } => {
                engine.apply(Decision::Proceed {
                    option: None,
                    by: "bench".into(),
                    note: None,
                })?;
            }
            Outcome::Complete => return Ok(()),
            other => return Err(format!("the benchmark run stopped: {other:?}").into()),
        }
    }
}
