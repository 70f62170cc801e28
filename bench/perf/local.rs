//! Part 4, the local model: the project's llama.cpp server (`scripts/local-llm`,
//! SmolLM2-135M by default) on a free loopback port, started here and
//! stopped at the end, also on error. Only when it is built and cached and
//! `BENCH_LOCAL` is not 0.
//!
//! - Prefix reuse: MIG-1 is drafted, revised with feedback and drafted
//!   again through the CLI; the two requests as sent
//!   (`drafts/MIG-1.rN.prompt.json`) are then replayed, streamed, each
//!   repeat on a server just restarted (nothing cached): the first draft
//!   cold, the revision right after it. Time to first token is measured here, from
//!   sending to the first content; llama.cpp's `timings` (`prompt_n`,
//!   `cache_n`) come from the last chunk. The replay asks for 16 tokens
//!   (`max_tokens`), which does not change the time to the first.
//! - The whole offline run, driven as in part 1: its wall time (the sum of
//!   its commands'), the time a request was in flight (the union of each
//!   model call's interval, from the journal's `at` and `seconds`), and
//!   the share outside the server; and each panel member's cached share
//!   of its prompt, as llama.cpp reported it to migagent
//!   (`cached_tokens / prompt_tokens` in the journal's `panel_finding`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::flow;
use super::place::Place;
use super::report::{Figure, Unit};
use super::{Ctx, Result};

const GROUP: &str = "4. The local model (llama.cpp, scripts/local-llm)";

/// The local server this part started; stopped when dropped.
struct Server {
    script: PathBuf,
    port: u16,
}

impl Server {
    fn command(script: &Path, port: u16, action: &str) -> Command {
        let mut cmd = Command::new(script);
        cmd.arg(action)
            .env("MIGAGENT_LLM_PORT", port.to_string())
            .env_remove("MIGAGENT_LLM_MODEL")
            .env_remove("MIGAGENT_LLM_SLOTS")
            .env_remove("MIGAGENT_LLM_CTX")
            .stdin(Stdio::null());
        cmd
    }

    fn start(script: &Path, port: u16) -> Result<Server> {
        let out = Server::command(script, port, "start").output()?;
        // From here on the server may run: stop it whatever happens.
        let server = Server {
            script: script.to_path_buf(),
            port,
        };
        if !out.status.success() {
            return Err(format!(
                "scripts/local-llm start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(server)
    }

    /// Stops and starts the server again: every slot empty, nothing cached
    /// (this llama-server erases slots only when given a slot save path).
    fn restart(&self) -> Result<()> {
        Server::command(&self.script, self.port, "stop").output()?;
        let out = Server::command(&self.script, self.port, "start").output()?;
        if !out.status.success() {
            return Err(format!(
                "scripts/local-llm start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(())
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        eprintln!("local: stopping the local server on port {} ...", self.port);
        let _ = Server::command(&self.script, self.port, "stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

pub fn measure(ctx: &Ctx, figures: &mut Vec<Figure>, notes: &mut Vec<String>) -> Result<()> {
    let how = "runs when `scripts/local-llm fetch` has built and fetched the server (cached under ~/.cache/migagent) and BENCH_LOCAL is not 0";
    if !ctx.local {
        notes.push(format!(
            "4. The local model: skipped (BENCH_LOCAL=0); it {how}"
        ));
        eprintln!("local: skipped (BENCH_LOCAL=0)");
        return Ok(());
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/local-llm");
    let port = free_port()?;
    let status = Server::command(&script, port, "status").output()?;
    let said = String::from_utf8_lossy(&status.stdout);
    if !said.contains("(built)") || said.contains("not fetched") {
        notes.push(format!(
            "4. The local model: skipped, the server is not built or the model not fetched; it {how}"
        ));
        eprintln!("local: skipped (not built; `scripts/local-llm fetch` builds it)");
        return Ok(());
    }
    eprintln!("local: starting llama-server on 127.0.0.1:{port} ...");
    let server = Server::start(&script, port)?;
    let config = format!(
        "profile = \"local\"\n\n[profiles.local]\nbase_url = \"{}/v1\"\n",
        server.url()
    );
    prefix_reuse(ctx, &server, &config, figures)?;
    whole_runs(ctx, &config, figures)?;
    drop(server);
    Ok(())
}

/// The first request body saved for draft `rel` of a run.
fn saved_body(place: &Place, run: &str, rel: &str) -> Result<Value> {
    let text = std::fs::read_to_string(place.run_dir(run).join(rel))?;
    let doc: Value = serde_json::from_str(&text)?;
    let body = doc["requests"][0]["body"].clone();
    if !body.is_object() {
        return Err(format!("{rel} holds no request body").into());
    }
    Ok(body)
}

/// What one replayed request showed.
struct Replay {
    ttft: Duration,
    prompt_n: f64,
    cache_n: f64,
}

fn prefix_reuse(ctx: &Ctx, server: &Server, config: &str, figures: &mut Vec<Figure>) -> Result<()> {
    let place = Place::new(ctx.work.join("local-revise"))?;
    place.write_config(config)?;
    let run = "revise";
    eprintln!("local: drafting MIG-1, then its revision, through the CLI ...");
    flow::start(&place, &ctx.bin, run)?;
    place.expect(
        &ctx.bin,
        &[
            "revise",
            run,
            "--feedback",
            "Name the reporting replica among the affected components.",
        ],
        &[0],
    )?;
    place.expect(&ctx.bin, &["resume", run, "--no-input"], &[10])?;
    let first = saved_body(&place, run, "drafts/MIG-1.r1.prompt.json")?;
    let revision = saved_body(&place, run, "drafts/MIG-1.r2.prompt.json")?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for r in 0..ctx.local_repeats {
        eprintln!("local: replay {}/{} ...", r + 1, ctx.local_repeats);
        server.restart()?;
        cold.push(ctx.rt.block_on(replay(&client, &server.url(), &first))?);
        warm.push(ctx.rt.block_on(replay(&client, &server.url(), &revision))?);
    }
    let ms = |v: &[Replay]| {
        v.iter()
            .map(|x| x.ttft.as_secs_f64() * 1000.0)
            .collect::<Vec<_>>()
    };
    let share = |v: &[Replay]| {
        v.iter()
            .map(|x| 100.0 * x.cache_n / (x.cache_n + x.prompt_n).max(1.0))
            .collect::<Vec<_>>()
    };
    let tokens = |x: &Replay| x.cache_n + x.prompt_n;
    figures.push(
        Figure::new(
            GROUP,
            format!(
                "time to first token, MIG-1 revision 2 ({:.0} prompt tokens), replayed after revision 1",
                warm.first().map_or(0.0, tokens)
            ),
            Unit::Ms,
            ms(&warm),
        )
        .against(
            format!(
                "MIG-1 first draft ({:.0} prompt tokens), on a server just restarted",
                cold.first().map_or(0.0, tokens)
            ),
            ms(&cold),
        ),
    );
    figures.push(
        Figure::new(
            GROUP,
            "cached share of the revision's prompt (cache_n / (cache_n + prompt_n))",
            Unit::Percent,
            share(&warm),
        )
        .against("same, first draft", share(&cold)),
    );
    Ok(())
}

/// Sends `body` streamed and reads it to its end: time to the first
/// content, and the final chunk's `timings`.
async fn replay(client: &reqwest::Client, url: &str, body: &Value) -> Result<Replay> {
    let mut body = body.clone();
    body["stream"] = Value::Bool(true);
    body["max_tokens"] = Value::from(16);
    let sent = Instant::now();
    let mut response = client
        .post(format!("{url}/v1/chat/completions"))
        .json(&body)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("the replay got {}", response.status()).into());
    }
    let mut ttft = None;
    let mut timings = Value::Null;
    let mut pending = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim().strip_prefix("data:") else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            let content = event["choices"][0]["delta"]["content"].as_str();
            if ttft.is_none() && content.is_some_and(|c| !c.is_empty()) {
                ttft = Some(sent.elapsed());
            }
            if event["timings"].is_object() {
                timings = event["timings"].clone();
            }
        }
    }
    let ttft = ttft.ok_or("the replay streamed no content")?;
    if !timings.is_object() {
        return Err("llama-server sent no timings with its answer".into());
    }
    Ok(Replay {
        ttft,
        prompt_n: timings["prompt_n"].as_f64().unwrap_or(0.0),
        cache_n: timings["cache_n"].as_f64().unwrap_or(0.0),
    })
}

/// The whole offline run, `BENCH_LOCAL_RUNS` times.
fn whole_runs(ctx: &Ctx, config: &str, figures: &mut Vec<Figure>) -> Result<()> {
    if ctx.local_runs == 0 {
        return Ok(());
    }
    let mut walls = Vec::new();
    let mut outside = Vec::new();
    let mut members: Vec<(String, Vec<f64>)> = Vec::new();
    for i in 0..ctx.local_runs {
        eprintln!(
            "local: the whole offline run {}/{} (minutes) ...",
            i + 1,
            ctx.local_runs
        );
        let place = Place::new(ctx.work.join(format!("local-run-{i}")))?;
        place.write_config(config)?;
        let run = "offline";
        let mut steps = vec![flow::start(&place, &ctx.bin, run)?];
        steps.extend(flow::drive(&place, &ctx.bin, run, |_| false)?);
        let wall: f64 = steps.iter().map(|s| s.m.wall.as_secs_f64()).sum();
        let journal = read_journal(&place.run_dir(run))?;
        let busy = in_flight(&journal)?;
        walls.push(wall * 1000.0);
        outside.push(100.0 * (wall - busy).max(0.0) / wall.max(1e-9));
        for e in journal
            .iter()
            .filter(|e| e["event"] == "panel_finding" && e["artifact"] == "MIG-5")
        {
            let member = e["member"].as_str().unwrap_or("?").to_string();
            let share = match (e["cached_tokens"].as_f64(), e["prompt_tokens"].as_f64()) {
                (Some(c), Some(p)) if p > 0.0 => 100.0 * c / p,
                _ => continue,
            };
            match members.iter_mut().find(|(m, _)| *m == member) {
                Some((_, v)) => v.push(share),
                None => members.push((member, vec![share])),
            }
        }
    }
    figures.push(Figure::new(
        GROUP,
        "whole offline run, sum of its commands' wall times",
        Unit::Ms,
        walls,
    ));
    figures.push(Figure::new(
        GROUP,
        "share of the offline run spent outside the server (no request in flight)",
        Unit::Percent,
        outside,
    ));
    if members.is_empty() {
        figures.push(Figure::new(
            GROUP,
            "panel members' cached share: the server reported no cached tokens",
            Unit::Count,
            vec![0.0],
        ));
    }
    for (member, shares) in members {
        figures.push(Figure::new(
            GROUP,
            format!("cached share of the prompt, panel member {member}"),
            Unit::Percent,
            shares,
        ));
    }
    Ok(())
}

fn read_journal(run_dir: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(run_dir.join("journal.jsonl"))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Seconds during which at least one model call was in flight: the union
/// of the intervals `[at - seconds, at]` of every journalled model call.
fn in_flight(journal: &[Value]) -> Result<f64> {
    let mut spans = Vec::new();
    for e in journal {
        if !matches!(
            e["event"].as_str(),
            Some("drafted" | "repair_requested" | "panel_finding")
        ) {
            continue;
        }
        let (Some(at), Some(seconds)) = (e["at"].as_str(), e["seconds"].as_f64()) else {
            continue;
        };
        let end = OffsetDateTime::parse(at, &Rfc3339)?.unix_timestamp_nanos() as f64 / 1e9;
        spans.push((end - seconds, end));
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    Ok(total)
}
