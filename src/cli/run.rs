//! `run` and `resume`: start or continue a run and drive it to the next
//! gate, asking at the terminal when there is one.

use std::io::IsTerminal;

use anyhow::{bail, Result};

use super::interrupt::{install_interrupt_handler, set_current_run};
use super::{
    evidence_settings, load_workflow, read_named_text, who, Ctx, InteractionArgs, ResumeArgs,
    RunArgs, EXIT_ABORTED, EXIT_AWAITING,
};
use crate::config::{Config, RedactMode};
use crate::engine::{self, ContextFile, Engine, GivenInput, Outcome, RunStart};
use crate::llm::connect::{connect, Connection};
use crate::llm::{ModelClient, OpenAiCompatible, StructuredStyle};
use crate::terminal::{visible, ProgressSink, TerminalReviewer, TerminalSink};
use crate::workflow::input::same_label;
use crate::workflow::Workflow;

pub(super) async fn cmd_run(ctx: &Ctx, args: RunArgs) -> Result<u8> {
    let loaded = load_workflow(ctx, &args.workflow, &args.library)?;
    let need = match (args.need, args.need_file) {
        (Some(n), _) => Some(n),
        (None, Some(path)) => Some(read_named_text(ctx, &path, "request file")?),
        (None, None) => None,
    };
    // Every named file is read before the run exists: a pipe, a device or
    // an oversized file is refused without creating (or burning) a run id.
    let contexts = ContextFile::read_all(&args.context, ctx.config.limits.max_file_bytes())?;
    let given = given_inputs(ctx, &loaded.workflow, need.as_deref(), &args.inputs)?;
    let unfilled =
        engine::check_first_phase_inputs(&loaded.workflow, &given, !args.context.is_empty())?;
    for label in &unfilled {
        crate::errln!(
            "warning: nothing fills phase 1's input '{label}'; pass --input \"{label}=TEXT\" or a --context file, or the model is told it is missing"
        );
    }
    let request = given
        .iter()
        .find(|g| {
            loaded
                .workflow
                .request_label()
                .is_some_and(|r| same_label(r, &g.label))
        })
        .map(|g| g.text.clone());
    let connection = connect(&ctx.config, &args.model.options(), None).await?;
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| engine::make_run_id(request.as_deref()));
    let mut engine = Engine::start(
        loaded,
        &ctx.store,
        RunStart {
            run_id: &run_id,
            need: request,
            inputs: given,
            contexts: &contexts,
            model: connection.record(),
            capabilities: connection.client.capabilities(),
        },
    )?;
    engine.set_bounds(connection.target.profile.bounds());
    engine.set_evidence_settings(evidence_settings(&ctx.config, args.evidence.no_exec));
    engine.set_redaction(redacts_secrets(&ctx.config, &connection));
    crate::errln!(
        "Run {run_id}: workflow '{}', {}",
        engine.workflow().name,
        describe(&connection)
    );
    let code = drive(&mut engine, &connection.client, &args.interaction).await;
    // What the command set aside on its way (a file a killed run left).
    super::runs::warn(&mut engine);
    code
}

/// The request and every `--input`, matched to the workflow's free-text
/// labels: a label that names no input, or names one twice, is an error
/// before the run starts.
fn given_inputs(
    ctx: &Ctx,
    workflow: &Workflow,
    need: Option<&str>,
    inputs: &[String],
) -> Result<Vec<GivenInput>> {
    let mut given: Vec<GivenInput> = Vec::new();
    if let Some(need) = need {
        given.push(GivenInput {
            label: workflow.require_request_label()?.to_string(),
            text: need.to_string(),
            given_as: "--need".into(),
        });
    }
    for raw in inputs {
        let Some((label, value)) = raw.split_once('=') else {
            bail!("--input '{raw}' has no '='; write --input \"LABEL=TEXT\" or --input \"LABEL=@FILE\"");
        };
        let label = workflow.match_label(label)?;
        let (text, given_as) = match value.strip_prefix('@') {
            Some(path) => (
                read_named_text(ctx, std::path::Path::new(path), "input file")?,
                format!("--input @{path}"),
            ),
            None => (value.to_string(), "--input".to_string()),
        };
        if text.trim().is_empty() {
            bail!("--input for '{label}' is empty");
        }
        if let Some(earlier) = given.iter().find(|g| same_label(&g.label, &label)) {
            bail!(
                "'{label}' is given twice (by {} and by --input '{raw}'); give it once",
                earlier.given_as
            );
        }
        given.push(GivenInput {
            label,
            text,
            given_as,
        });
    }
    Ok(given)
}

/// Whether draft requests to this connection's server carry secrets
/// redacted: always for a server that is not on this machine, and for every
/// server with `redact = "always"` under `[secrets]`. Decided from the URL
/// requests actually go to, so a loopback-looking name (`localhost.evil.com`,
/// `127.0.0.1@evil.com`) is remote.
fn redacts_secrets(config: &Config, connection: &Connection) -> bool {
    redacts_for(config.secrets.redact, &connection.endpoint.base_url)
}

/// [`redacts_secrets`] for a base URL.
fn redacts_for(mode: RedactMode, base_url: &str) -> bool {
    mode == RedactMode::Always || !crate::llm::url::is_loopback(base_url)
}

pub(super) async fn cmd_resume(ctx: &Ctx, args: ResumeArgs) -> Result<u8> {
    // Read before the run is opened: a pipe never holds the run's lock.
    let contexts = ContextFile::read_all(&args.context, ctx.config.limits.max_file_bytes())?;
    let mut engine = super::runs::open_run(ctx, &args.run)?;
    // Before anything is added, and before the server is even asked.
    engine.check_untampered()?;
    engine.set_evidence_settings(evidence_settings(&ctx.config, args.evidence.no_exec));
    if args.confirm_point_of_no_return {
        let by = who(args.interaction.who.clone())?;
        if engine.confirm_point_of_no_return(&by)? {
            crate::errln!("Point of no return confirmed by {by}.");
        }
    }
    let connection = connect(
        &ctx.config,
        &args.model.options(),
        Some(&engine.state().model),
    )
    .await?;
    // Who changed the model, when that can be told; not knowing is no
    // reason to stop a resume that decides nothing.
    let by = who(args.interaction.who.clone()).ok();
    engine.set_model(connection.record(), by.as_deref())?;
    engine.add_contexts(&contexts, &connection.client.capabilities())?;
    engine.set_bounds(connection.target.profile.bounds());
    engine.set_redaction(redacts_secrets(&ctx.config, &connection));
    crate::errln!("Run {}: {}", args.run, describe(&connection));
    let code = drive(&mut engine, &connection.client, &args.interaction).await;
    // What the command set aside on its way (a file a killed run left).
    super::runs::warn(&mut engine);
    code
}

/// One line on where drafts come from, and anything the person should know.
fn describe(connection: &Connection) -> String {
    let e = &connection.endpoint;
    let t = &connection.target;
    // The profile is named once: the base URL's source says "the
    // profile's base_url" rather than naming it again.
    let mut line = format!(
        "model {} ({}) at {} ({}, profile {}{}; {})",
        visible(&e.model),
        visible(&connection.model_from),
        e.base_url,
        e.kind.label(),
        t.profile_name,
        if t.offline { ", offline" } else { "" },
        t.found_by
    );
    line.push_str(match e.structured {
        StructuredStyle::None => "; artifacts drafted as Markdown",
        _ => "; artifacts drafted as schema-checked JSON",
    });
    for note in &connection.notes {
        line.push_str("\nnote: ");
        line.push_str(note);
    }
    line
}

/// Moves a run forward, asking at the terminal when there is one.
async fn drive(
    engine: &mut Engine,
    client: &OpenAiCompatible,
    interaction: &InteractionArgs,
) -> Result<u8> {
    let run_id = engine.state().run_id.clone();
    set_current_run(&run_id);
    install_interrupt_handler();
    let interactive = !interaction.no_input && std::io::stdin().is_terminal();
    let outcome = if interactive {
        let mut reviewer = TerminalReviewer::new(who(interaction.who.clone())?);
        let mut sink = TerminalSink::new();
        engine
            .advance(client, Some(&mut reviewer), &mut sink)
            .await?
    } else {
        engine.advance(client, None, &mut ProgressSink).await?
    };
    if interaction.json {
        super::json::print_json(&engine.status())?;
    }
    Ok(match outcome {
        Outcome::Complete => {
            if !interaction.json {
                crate::outln!("run: {run_id}");
                crate::outln!("state: complete");
                crate::outln!(
                    "artifacts: {}",
                    engine.run_dir().join("artifacts").display()
                );
            }
            0
        }
        Outcome::Aborted => {
            if !interaction.json {
                crate::outln!("run: {run_id}");
                crate::outln!("state: aborted");
            }
            EXIT_ABORTED
        }
        Outcome::AwaitingEvidence { artifact } => {
            if !interaction.json {
                crate::outln!("run: {run_id}");
                crate::outln!("awaiting evidence: {artifact}");
            }
            if let Some(card) = engine.evidence_card()? {
                crate::errln!("{}", visible(&card.text()));
            }
            print_evidence_help(&run_id, &artifact);
            EXIT_AWAITING
        }
        Outcome::RollingBack { artifact } => {
            if !interaction.json {
                crate::outln!("run: {run_id}");
                crate::outln!("rolling back: {artifact}");
            }
            crate::errln!(
                "[{artifact}] is being rolled back. Record what the rollback did, then end it:"
            );
            crate::errln!(
                "  migagent evidence {run_id} --note TEXT | --file PATH | --exec [--yes]"
            );
            let option = engine
                .rolling_back_artifact()
                .and_then(|r| r.rolling_back.as_ref())
                .map_or_else(|| "Rollback".to_string(), |s| s.option.clone());
            crate::errln!("  migagent decide {run_id} --option \"{option}\" --then continue|abort");
            EXIT_AWAITING
        }
        Outcome::AwaitingDecision { artifact, path } | Outcome::Quit { artifact, path } => {
            if !interaction.json {
                crate::outln!("run: {run_id}");
                crate::outln!("awaiting: {artifact}");
                crate::outln!("draft: {}", path.display());
            }
            crate::errln!("[{artifact}] awaits a decision. Read the draft, then one of:");
            crate::errln!("  migagent approve {run_id}");
            crate::errln!("  migagent revise {run_id} --feedback \"what to change\"");
            crate::errln!(
                "  migagent decide {run_id} --option LABEL ...   (see `migagent status {run_id}`)"
            );
            crate::errln!("and `migagent resume {run_id}` to continue.");
            EXIT_AWAITING
        }
    })
}

/// How to record a step's evidence, for a person without a terminal gate.
pub(super) fn print_evidence_help(run_id: &str, artifact: &str) {
    crate::errln!(
        "[{artifact}] waits for evidence of what happened. Run the step, then record it:"
    );
    crate::errln!("  migagent evidence {run_id} --note \"what you did and saw\"");
    crate::errln!("  migagent evidence {run_id} --file output.log");
    crate::errln!("  migagent evidence {run_id} --exec            (lists the plan's commands; --exec --yes runs them)");
    crate::errln!("  migagent evidence {run_id} --none --reason \"why there is none\"");
    crate::errln!("then `migagent resume {run_id}` drafts [{artifact}] from it.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_server_on_this_machine_gets_secrets_unredacted() {
        for local in [
            "http://127.0.0.1:8080/v1",
            "http://127.9.9.9/v1",
            "http://localhost:11434/v1",
            "http://[::1]:8000/v1",
        ] {
            assert!(!redacts_for(RedactMode::Remote, local), "{local}");
            assert!(redacts_for(RedactMode::Always, local), "{local}");
        }
        for remote in [
            "https://api.openai.com/v1",
            "http://10.0.0.12:8000/v1",
            "http://gpu-box.internal/v1",
            "http://localhost.evil.com/v1",
            "http://127.0.0.1.nip.io/v1",
            "http://127.0.0.1@evil.com/v1",
            "http://[::ffff:8.8.8.8]/v1",
            "http://0.0.0.0:8080/v1",
            "not a url",
        ] {
            assert!(redacts_for(RedactMode::Remote, remote), "{remote}");
        }
    }
}
