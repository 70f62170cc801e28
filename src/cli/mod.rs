//! The commands: argument parsing ([`args`]) and the glue between the
//! engine, the model client and the terminal, one file per command group.
//! This is the only module that uses `anyhow`; nothing imports it.

mod approver;
mod args;
mod decide;
mod decided;
mod doctor;
mod evidence;
mod interrupt;
mod json;
mod local_llm;
mod log;
mod remove;
mod report;
mod run;
mod runs;
mod shell;
mod state_dir;
mod verify;
mod workflow_json;
mod workflows;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;

pub use args::*;

use approver::who;

use crate::config::Config;
use crate::engine::Decision;
use crate::evidence::EvidenceSettings;
use crate::library::validate::{self, LoadError};
use crate::library::LibraryBuilder;
use crate::store::RunStore;
use crate::terminal;

/// Exit code: a draft waits for a human decision.
pub const EXIT_AWAITING: u8 = 10;
/// Exit code: the run was aborted by a decision.
pub const EXIT_ABORTED: u8 = 11;
/// Exit code: the run differs from its record (`verify`, and any command
/// that stopped because of it).
pub const EXIT_TAMPERED: u8 = 12;
/// Exit code: interrupted with Ctrl-C; the run is saved, nothing decided.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How a run gathers evidence: `[evidence]` in the config, `--no-exec`, and
/// the variables a command never sees: `OPENAI_API_KEY` and every key
/// variable a profile names.
fn evidence_settings(config: &Config, no_exec: bool) -> EvidenceSettings {
    let mut settings = EvidenceSettings::default();
    let c = &config.evidence;
    settings.exec = c.exec && !no_exec;
    settings.command_timeout = std::time::Duration::from_secs(c.command_timeout_secs);
    settings.prompt_chars = c.prompt_chars;
    settings.max_file_bytes = config.limits.max_file_bytes();
    settings
        .success_words
        .extend(c.success_words.iter().cloned());
    for env in config
        .profiles
        .values()
        .filter_map(|p| p.api_key_env.clone())
    {
        if !settings.scrub_env.contains(&env) {
            settings.scrub_env.push(env);
        }
    }
    settings
}

pub(crate) struct Ctx {
    config: Config,
    store: RunStore,
    cwd: PathBuf,
}

impl Ctx {
    fn new(cli: &Cli) -> Result<Ctx> {
        let config = Config::load(cli.config.as_deref())?;
        approver::set_configured(config.approver.clone());
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let state_dir = state_dir::state_dir(
            cli.state_dir.as_deref(),
            config.run.state_dir.as_deref(),
            &cwd,
        );
        Ok(Ctx {
            store: RunStore::new(&state_dir),
            config,
            cwd,
        })
    }
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    terminal::set_color_choice(match cli.color {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    });
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            crate::errln!("error: {}", error_message(&e));
            let tampered = matches!(
                e.downcast_ref::<crate::engine::EngineError>(),
                Some(crate::engine::EngineError::Tampered { .. })
            );
            if tampered {
                std::process::ExitCode::from(EXIT_TAMPERED)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes, leaving out causes the message already quotes.
fn error_message(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "migagent=warn",
        1 => "migagent=info",
        _ => "migagent=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal::use_color_stderr())
        .try_init();
}

async fn dispatch(cli: Cli) -> Result<u8> {
    // These need no config and no runs: a broken config must not stop a
    // person from installing completions or starting the local server.
    match cli.command {
        Command::Completions(args) => return shell::cmd_completions(args.shell),
        Command::Man => return shell::cmd_man(),
        Command::LocalLlm(args) => return local_llm::cmd_local_llm(args.action),
        _ => {}
    }
    let ctx = Ctx::new(&cli)?;
    match cli.command {
        Command::Run(args) => run::cmd_run(&ctx, args).await,
        Command::Resume(args) => run::cmd_resume(&ctx, args).await,
        Command::Approve(args) => decide::decide(
            &ctx,
            &args.run,
            Decision::Proceed {
                option: None,
                by: who(args.who)?,
                note: args.note,
            },
            &args.draft,
            args.json,
        ),
        Command::Revise(args) => {
            let feedback = match (args.feedback, args.feedback_file) {
                (Some(f), _) => f,
                (None, Some(path)) => read_named_text(&ctx, &path, "feedback file")?,
                (None, None) => bail!("give --feedback TEXT or --feedback-file FILE"),
            };
            decide::decide(
                &ctx,
                &args.run,
                Decision::Revise {
                    option: args.option,
                    by: who(args.who)?,
                    feedback,
                },
                &args.draft,
                args.json,
            )
        }
        Command::Decide(args) => decide::cmd_decide(&ctx, args),
        Command::Edit(args) => {
            let text = read_named_text(&ctx, &args.file, "edited draft")?;
            decide::decide(
                &ctx,
                &args.run,
                Decision::Edit {
                    by: who(args.who)?,
                    text,
                },
                &args.draft,
                args.json,
            )
        }
        Command::Abort(args) => decide::decide(
            &ctx,
            &args.run,
            Decision::Abort {
                option: None,
                by: who(args.who)?,
                reason: args.reason,
            },
            &DraftArgs::default(),
            args.json,
        ),
        Command::Status(args) => runs::cmd_status(&ctx, &args.run, args.json),
        Command::List(args) => runs::cmd_list(&ctx, args.json),
        Command::Verify(args) => verify::cmd_verify(&ctx, &args.run, args.json),
        Command::Show(args) => runs::cmd_show(&ctx, args),
        Command::Evidence(args) => evidence::cmd_evidence(&ctx, args),
        Command::Workflows(cmd) => workflows::cmd_workflows(&ctx, cmd),
        Command::Doctor(args) => {
            doctor::cmd_doctor(&ctx.config, &args.model.options(), args.json).await
        }
        Command::Rm(args) => remove::cmd_rm(&ctx, &args),
        Command::Prune(args) => remove::cmd_prune(&ctx, &args),
        // Handled above, before the config is read; the same calls here
        // keep this match whole without a panic.
        Command::Completions(args) => shell::cmd_completions(args.shell),
        Command::Man => shell::cmd_man(),
        Command::LocalLlm(args) => local_llm::cmd_local_llm(args.action),
        Command::Log(args) => log::cmd_log(&ctx, &args.run, args.json),
        Command::Report(args) => report::cmd_report(&ctx, &args),
    }
}

/// A text file named on the command line (`--need-file`, `--input
/// LABEL=@FILE`, `--feedback-file`, `edit --file`): a regular file within
/// `max_file_mb` under `[limits]`, in UTF-8. Read before any run is opened,
/// so a bad file never holds a run's lock.
fn read_named_text(ctx: &Ctx, path: &std::path::Path, what: &str) -> Result<String> {
    crate::files::read_text(
        path,
        ctx.config.limits.max_file_bytes(),
        crate::files::LIMIT_SETTING,
    )
    .with_context(|| format!("cannot use {what} {}", path.display()))
}

/// Where the library is for this command: `--library`, else
/// `MIGAGENT_LIBRARY`, else the config's `library`; then the current
/// directory and the config folder (see `library::roots`).
fn library_search(ctx: &Ctx, args: &LibraryArgs) -> Result<LibraryBuilder> {
    Ok(LibraryBuilder::new(&ctx.cwd).explicit(
        &args.dirs,
        std::env::var_os("MIGAGENT_LIBRARY").as_deref(),
        &ctx.config.library,
    )?)
}

fn load_workflow(ctx: &Ctx, name: &str, library: &LibraryArgs) -> Result<validate::LoadedWorkflow> {
    match validate::load(name, library_search(ctx, library)?) {
        Ok(w) => {
            // Warnings say how the workflow was read; they go to stderr so
            // that `--json` output stays clean.
            for warning in &w.warnings {
                crate::errln!("{warning}");
            }
            Ok(w)
        }
        Err(LoadError::Invalid(errors)) => {
            bail!("{errors}Fix these before running; `migagent workflows validate` re-checks.")
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_to_the_migration_workflow() {
        let cli = Cli::try_parse_from(["migagent", "run", "--need", "x"]).unwrap();
        match cli.command {
            Command::Run(args) => assert_eq!(args.workflow, "migration"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn library_is_taken_by_the_commands_that_load_a_workflow() {
        let cli = Cli::try_parse_from([
            "migagent",
            "run",
            "bug-fix",
            "--library",
            "a",
            "--library",
            "b",
        ])
        .unwrap();
        match cli.command {
            Command::Run(args) => {
                assert_eq!(args.library.dirs, [PathBuf::from("a"), PathBuf::from("b")])
            }
            other => panic!("{other:?}"),
        }
        for sub in [
            vec!["workflows", "list", "--library", "x"],
            vec!["workflows", "show", "w", "--library", "x"],
            vec!["workflows", "validate", "w", "--library", "x"],
            vec!["workflows", "schema", "w", "--library", "x"],
        ] {
            let mut argv = vec!["migagent"];
            argv.extend(sub.iter());
            assert!(Cli::try_parse_from(&argv).is_ok(), "{sub:?}");
        }
        assert!(Cli::try_parse_from(["migagent", "status", "r", "--library", "x"]).is_err());
    }
}
