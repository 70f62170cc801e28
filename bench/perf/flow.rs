//! Driving the seed workflow (`workflows/migration.md`) command by command,
//! as a script would (README, "How a run goes"): `run --no-input` drafts
//! MIG-1; then at each stop `approve`, `evidence --note` for a step that
//! waits for evidence, or `resume --no-input` to draft what comes next.
//! `status --json` between commands says which; it is not measured.
//!
//! And counting what the fake server was sent: prompt words and characters,
//! and the same for a layout that re-sends the whole history.

use std::path::Path;

use serde_json::Value;

use super::place::{Measured, Place};
use super::support::requests::{requested_artifact, user_message};
use super::Result;

pub const NEED: &str =
    "Upgrade the orders database from PostgreSQL 12 to PostgreSQL 16 before 12 goes out of support";

/// One measured command of a run.
pub struct Step {
    pub label: String,
    pub m: Measured,
}

/// `run --no-input` on the seed workflow as `run`: drafts MIG-1 and stops
/// at its gate.
pub fn start(place: &Place, bin: &Path, run: &str) -> Result<Step> {
    let m = place.expect(
        bin,
        &["run", "--no-input", "--need", NEED, "--run-id", run],
        &[10],
    )?;
    Ok(Step {
        label: "run (drafts MIG-1)".into(),
        m,
    })
}

/// Drives `run` on until it is complete, or until `stop` says so of its
/// status before a command; returns the commands it ran.
pub fn drive(
    place: &Place,
    bin: &Path,
    run: &str,
    mut stop: impl FnMut(&Value) -> bool,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut status = place.status(bin, run)?;
    // The seed run takes about 20 commands; a run that goes on is a fault.
    for _ in 0..400 {
        if stop(&status) {
            return Ok(steps);
        }
        let mut state = status["state"].as_str().unwrap_or_default().to_string();
        // A step with its evidence recorded is drafted by the next resume.
        let has_evidence = status["evidence"]["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty());
        if state == "awaiting_evidence" && has_evidence {
            state = "ready_to_draft".into();
        }
        let (label, m) = match state.as_str() {
            "complete" => return Ok(steps),
            "awaiting_decision" => {
                let id = pending(&status);
                let m = place.expect(bin, &["approve", run], &[0])?;
                (format!("approve {id}"), m)
            }
            "awaiting_evidence" => {
                let id = status["evidence"]["artifact"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                let note = format!("Ran {id} as planned; its verification printed OK.");
                let m = place.expect(
                    bin,
                    &[
                        "evidence",
                        run,
                        "--note",
                        &note,
                        "--confirm-point-of-no-return",
                    ],
                    &[0],
                )?;
                (format!("evidence {id}"), m)
            }
            "ready_to_draft" => {
                let m = place.expect(bin, &["resume", run, "--no-input"], &[0, 10])?;
                let after = place.status(bin, run)?;
                let label = match after["state"].as_str().unwrap_or_default() {
                    "awaiting_evidence" => format!(
                        "resume (shows the card of {})",
                        after["evidence"]["artifact"].as_str().unwrap_or("?")
                    ),
                    "awaiting_decision" if m.stderr.contains("panel review") => {
                        format!("resume (panel, drafts {})", pending(&after))
                    }
                    "awaiting_decision" => format!("resume (drafts {})", pending(&after)),
                    other => format!("resume (ends {other})"),
                };
                trace(&label, &m);
                steps.push(Step { label, m });
                status = after;
                continue;
            }
            other => {
                return Err(format!(
                    "run {run} in {} stands at '{other}', which the seed flow never reaches",
                    place.dir.display()
                )
                .into())
            }
        };
        trace(&label, &m);
        steps.push(Step { label, m });
        status = place.status(bin, run)?;
    }
    Err(format!("run {run} did not end within 400 commands").into())
}

/// With `BENCH_VERBOSE=1`, each command of a driven run on stderr.
fn trace(label: &str, m: &Measured) {
    if std::env::var("BENCH_VERBOSE").is_ok_and(|v| v == "1") {
        eprintln!("  {label}: exit {}, {:.1} ms", m.code, m.ms());
    }
}

/// The artifact a status report says awaits a decision.
pub fn pending(status: &Value) -> String {
    status["pending"]["artifact"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

/// Whether a chat request body is migagent's structured-output probe
/// rather than a draft, a finding or a repair.
pub fn is_probe(body: &Value) -> bool {
    body["response_format"]["json_schema"]["name"] == "probe"
        || body["format"]["properties"]["ready"].is_object()
}

/// The text of every message of a request body.
fn prompt_text(body: &Value) -> Vec<&str> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect()
}

/// Size of a text: whitespace-separated words and characters.
#[derive(Clone, Copy, Default)]
pub struct Size {
    pub words: usize,
    pub chars: usize,
}

impl Size {
    pub fn of(text: &str) -> Size {
        Size {
            words: text.split_whitespace().count(),
            chars: text.chars().count(),
        }
    }

    fn add(self, other: Size) -> Size {
        Size {
            words: self.words + other.words,
            chars: self.chars + other.chars,
        }
    }
}

/// The prompt of one request: all its messages.
pub fn prompt_size(body: &Value) -> Size {
    prompt_text(body)
        .into_iter()
        .fold(Size::default(), |acc, t| acc.add(Size::of(t)))
}

/// What a run sent, and what the full-history layout would have sent.
pub struct Sent {
    pub requests: usize,
    pub prompts: Size,
    /// Request i carries every earlier request's prompt and answer, then
    /// its own prompt.
    pub full_history: Size,
}

/// Counts the exchanges (request body, answer) of a run, probes left out,
/// in the order the server answered them.
pub fn sent(exchanges: &[(Value, String)]) -> Sent {
    let mut prompts = Size::default();
    let mut full = Size::default();
    let mut history = Size::default();
    let mut requests = 0;
    for (body, answer) in exchanges.iter().filter(|(b, _)| !is_probe(b)) {
        requests += 1;
        let own = prompt_size(body);
        prompts = prompts.add(own);
        full = full.add(history).add(own);
        history = history.add(own).add(Size::of(answer));
    }
    Sent {
        requests,
        prompts,
        full_history: full,
    }
}

/// The prompt of the (last) request that drafts `artifact`.
pub fn draft_prompt(exchanges: &[(Value, String)], artifact: &str) -> Option<Size> {
    exchanges
        .iter()
        .filter(|(b, _)| !is_probe(b) && requested_artifact(&user_message(b)) == artifact)
        .map(|(b, _)| prompt_size(b))
        .next_back()
}
