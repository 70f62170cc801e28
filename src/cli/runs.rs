//! Reading runs: `status`, `list` and `show`.

use anyhow::{bail, Context, Result};

use super::verify::print_findings;
use super::{Ctx, ShowArgs, EXIT_TAMPERED};
use crate::engine::{self, Engine, EngineError};
use crate::store::verify::Finding;
use crate::store::ArtifactState;
use crate::terminal::{self, visible};

/// Opens a run to change it, saying what opening it set right.
pub(super) fn open_run(ctx: &Ctx, run: &str) -> Result<Engine> {
    let mut engine = Engine::open(&ctx.store, run)?;
    warn(&mut engine);
    Ok(engine)
}

/// Opens a run to look at it, without its lock: works while another
/// command drafts.
pub(super) fn open_read_only(ctx: &Ctx, run: &str) -> Result<Engine> {
    let mut engine = Engine::open_read_only(&ctx.store, run)?;
    warn(&mut engine);
    Ok(engine)
}

/// Prints what the engine set right or aside since it was last asked.
pub(super) fn warn(engine: &mut Engine) {
    for notice in engine.take_notices() {
        crate::errln!("warning: {notice}");
    }
}

pub(super) fn cmd_status(ctx: &Ctx, run: &str, json: bool) -> Result<u8> {
    let engine = match open_read_only(ctx, run) {
        Ok(engine) => engine,
        // A run whose workflow snapshot was changed is not followed, so
        // its standing is unknown: the warning is all there is to show.
        Err(e) => match e.downcast::<EngineError>() {
            Ok(EngineError::Tampered { run_id, findings }) => {
                if json {
                    let value = serde_json::json!({"run_id": run_id, "tamper": findings});
                    super::json::print_json(&value)?;
                } else {
                    print_tamper_warning(&run_id, &findings);
                }
                return Ok(EXIT_TAMPERED);
            }
            Ok(other) => return Err(other.into()),
            Err(e) => return Err(e),
        },
    };
    let status = engine.status();
    let tamper = engine.verify()?.findings;
    if json {
        let mut value = serde_json::to_value(&status)?;
        if !tamper.is_empty() {
            value["tamper"] = serde_json::to_value(&tamper)?;
        }
        super::json::print_json(&value)?;
        return Ok(0);
    }
    if !tamper.is_empty() {
        print_tamper_warning(&status.run_id, &tamper);
        crate::outln!();
    }
    crate::outln!("run:      {}", status.run_id);
    crate::outln!("workflow: {}", status.workflow);
    crate::outln!("state:    {}", status.state);
    if let Some(phase) = &status.phase {
        crate::outln!("phase:    {phase}");
    }
    crate::outln!(
        "model:    {} at {}{}{}",
        visible(&status.model.model),
        // A hand-edited run.json may carry a password; never print it.
        crate::llm::url::redact(&status.model.base_url),
        status
            .model
            .profile
            .as_ref()
            .map_or(String::new(), |p| format!(" (profile {p})")),
        if status.model.offline {
            ", offline"
        } else {
            ""
        }
    );
    if let Some(p) = &status.pending {
        crate::outln!();
        crate::outln!(
            "Awaiting a decision: [{}] {}, {}",
            p.artifact,
            visible(&p.title),
            engine::describe_draft(p.revision, &p.sha256)
        );
        crate::outln!("  draft:   {}", p.path.display());
        if p.truncated {
            crate::outln!("  WARNING: the draft stopped at the token limit and is incomplete");
        }
        if !p.missing_sections.is_empty() {
            crate::outln!("  missing sections: {}", p.missing_sections.join(", "));
        }
        for problem in &p.problems {
            crate::outln!("  problem: {}", visible(problem));
        }
        for cut in &p.cuts {
            crate::outln!("  cut to fit the context: {}", visible(cut));
        }
        for r in &p.redactions {
            crate::outln!(
                "  secret redacted from the request: {}",
                visible(&r.to_string())
            );
        }
        match &p.gate {
            Some(gate) => {
                if !gate.criteria.is_empty() {
                    crate::outln!("  approval criteria: {}", gate.criteria);
                }
                crate::outln!("  options:");
                for o in &gate.options {
                    crate::outln!("    {} → {}", o.label, o.description);
                    crate::outln!("        does: {}", o.does);
                }
                if gate.options.iter().any(|o| !o.to_phases.is_empty()) {
                    crate::outln!(
                        "  decide: migagent decide {} --option LABEL --feedback TEXT [--to-phase N]",
                        status.run_id
                    );
                }
            }
            None => crate::outln!("  options: {}", p.options.join(", ")),
        }
    }
    if let Some(e) = &status.evidence {
        crate::outln!();
        match &e.rollback {
            Some(r) => crate::outln!(
                "Rolling back: [{}], started by {} ({}); record what the rollback did, then `decide --option \"{}\" --then continue|abort`",
                e.artifact, r.by, r.reason, r.option
            ),
            None => crate::outln!("Awaiting evidence: [{}]", e.artifact),
        }
        if let Some(card) = &e.card {
            crate::out!("{}", visible(&card.text()));
        }
        if let Some(by) = &e.point_of_no_return_confirmed_by {
            crate::outln!("  point of no return confirmed by {by}");
        }
        if e.items.is_empty() {
            crate::outln!("  evidence: none yet");
        }
        for item in &e.items {
            let exit = item
                .command_outcome()
                .map_or(String::new(), |o| format!(", {o}"));
            crate::outln!(
                "  evidence {}: {}{exit}, by {} ({})",
                item.id,
                visible(item.command.as_deref().unwrap_or(&item.path)),
                item.by,
                item.path
            );
        }
        crate::outln!(
            "  add: migagent evidence {} --note TEXT | --file PATH | --exec [--yes] | --none --reason TEXT",
            status.run_id
        );
    }
    if !status.context_inputs.is_empty() {
        crate::outln!();
        crate::outln!(
            "Evidence for this phase (migagent evidence {} --note TEXT | --file PATH) fills: {}",
            status.run_id,
            status.context_inputs.join("; ")
        );
    }
    if !status.artifacts.is_empty() {
        crate::outln!();
        crate::outln!("Artifacts:");
        for a in &status.artifacts {
            let state = serde_json::to_value(a.state)?
                .as_str()
                .unwrap_or_default()
                .to_string();
            let by = a
                .approved_by
                .as_ref()
                .map_or(String::new(), |b| format!(" by {b}"));
            crate::outln!(
                "  {:<10} {:<18} r{} {}{}",
                a.id,
                state,
                a.revision,
                visible(&a.title),
                by
            );
            for problem in &a.approved_with_problems {
                crate::outln!("  {:<10} approved with: {}", "", visible(problem));
            }
        }
    }
    Ok(0)
}

/// The tamper warning section of `status`.
fn print_tamper_warning(run_id: &str, findings: &[Finding]) {
    crate::outln!("TAMPER WARNING: run {run_id} differs from its record; `resume` and decisions stop until it is restored (`migagent verify {run_id}`):");
    print_findings(findings);
}

pub(super) fn cmd_list(ctx: &Ctx, json: bool) -> Result<u8> {
    let runs = ctx.store.list();
    let mut rows = Vec::new();
    for r in runs {
        match r {
            // Brought up to its journal, as `status` shows it; as saved
            // when the run does not open (its workflow no longer loads).
            Ok(state) => rows.push(
                Engine::open_read_only(&ctx.store, &state.run_id)
                    .map(|e| e.state().clone())
                    .unwrap_or(state),
            ),
            Err(e) => crate::errln!("warning: {e}"),
        }
    }
    // Tokens from the journal, which records every request (repairs and
    // panel reviews too); a journal that does not read shows none.
    let tokens: Vec<Option<u64>> = rows
        .iter()
        .map(|s| {
            ctx.store
                .open_read_only(&s.run_id)
                .and_then(|d| d.read_journal())
                .ok()
                .map(|events| crate::report::Usage::of_journal(&events).total_tokens())
        })
        .collect();
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .zip(&tokens)
            .map(|(s, tokens)| {
                serde_json::json!({
                    "run_id": s.run_id,
                    "workflow": s.workflow.name,
                    "state": engine::run_state(s),
                    "pending": engine::pending_artifact(s).map(|a| a.id.clone()),
                    "created_at": s.created_at,
                    "updated_at": s.updated_at,
                    "artifacts": s.artifacts.len(),
                    "tokens": tokens,
                })
            })
            .collect();
        super::json::print_json_under("runs", &items)?;
        return Ok(0);
    }
    if rows.is_empty() {
        crate::outln!(
            "No runs under {}. Start one with: migagent run --need \"...\"",
            ctx.store.runs_dir().display()
        );
        return Ok(0);
    }
    for (s, tokens) in rows.iter().zip(&tokens) {
        let detail = engine::pending_artifact(s).map_or(String::new(), |a| format!(" {}", a.id));
        let tokens = tokens.map_or("?".to_string(), |t| {
            format!("{} tokens", crate::report::thousands(t))
        });
        crate::outln!(
            "{:<48} {:<12} {:>16}  {}{}",
            s.run_id,
            s.workflow.name,
            tokens,
            engine::run_state(s),
            detail
        );
    }
    Ok(0)
}

pub(super) fn cmd_show(ctx: &Ctx, args: ShowArgs) -> Result<u8> {
    let engine = open_read_only(ctx, &args.run)?;
    let id = args.artifact.trim_matches(['[', ']']);
    let Some(rec) = engine.state().artifacts.iter().find(|a| a.id == id) else {
        let known: Vec<&str> = engine
            .state()
            .artifacts
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        bail!(
            "run '{}' has no artifact '{id}'; it has: {}",
            args.run,
            if known.is_empty() {
                "none yet".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    let text = if args.draft {
        match rec.latest_draft() {
            Some(d) => Some(
                std::fs::read_to_string(engine.run_dir().join(&d.path))
                    .with_context(|| format!("cannot read {}", d.path))?,
            ),
            None => None,
        }
    } else {
        match rec.state {
            ArtifactState::Approved | ArtifactState::Accepted => {
                engine.approved_copy(id)?.map(|(text, _)| text)
            }
            // Kept until a new approval replaces it; said so, since it is
            // no longer what the run stands on.
            ArtifactState::Stale => {
                crate::errln!(
                    "[{id}] is stale: the work was sent back, and this earlier approved copy is to be redrafted"
                );
                engine.approved_copy(id)?.map(|(text, _)| text)
            }
            _ => None,
        }
    };
    let Some(text) = text else {
        bail!(
            "[{id}] is not approved (it is {}); use --draft to see the latest draft",
            rec.state
        );
    };
    terminal::print_markdown(&text);
    Ok(0)
}
