//! Commands: argument parsing and the glue between the engine, the model
//! client and the terminal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::artifact_schema::{ArtifactSchema, Bounds};
use crate::config::Config;
use crate::doctor;
use crate::engine::{self, Decision, Engine, Outcome, RunStart};
use crate::library::validate::{self, LoadError};
use crate::library::Library;
use crate::llm::connect::{connect, ConnectOptions, Connection};
use crate::llm::OpenAiCompatible;
use crate::store::{AfterRollback, RunStore};
use crate::terminal::{self, ProgressSink, TerminalReviewer, TerminalSink};
use crate::workflow::{GateAction, InputKind};

/// Exit code: a draft waits for a human decision.
pub const EXIT_AWAITING: u8 = 10;
/// Exit code: the run was aborted by a decision.
pub const EXIT_ABORTED: u8 = 11;
/// Exit code: interrupted with Ctrl-C; the run is saved, nothing decided.
pub const EXIT_INTERRUPTED: u8 = 130;

const AFTER_HELP: &str = "\
Exit codes: 0 done (workflow complete, or command succeeded), 10 a draft awaits a decision,
11 the run was aborted, 130 interrupted (run saved, nothing decided), 1 error, 2 bad usage.

Typical session:
  export OPENAI_API_KEY=...                      # or --base-url http://127.0.0.1:8080/v1
  migagent run --need \"Upgrade PostgreSQL 12 to 16\" --context docs/current-db.md
Offline, nothing leaves the machine (scripts/local-llm start runs a local server):
  migagent doctor --offline                      # is the local server ready?
  migagent run --offline --need \"Upgrade PostgreSQL 12 to 16\"
Without a terminal (CI, scripts), each gate is a separate command:
  migagent run --no-input --need \"...\"            # drafts MIG-1, exits 10
  migagent approve RUN                            # or: migagent revise RUN --feedback \"...\"
  migagent resume RUN --no-input                  # drafts the next artifact";

#[derive(Debug, Parser)]
#[command(
    name = "migagent",
    version,
    about = "Walk a team through a risky migration: the model drafts each artifact, a person decides at every gate.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Where runs are stored [default: config run.state_dir, ".migagent"].
    #[arg(
        long,
        global = true,
        env = "MIGAGENT_STATE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// A config file to use instead of ~/.config/migagent/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log more (repeat for more detail); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a run of a workflow and draft until a gate needs a decision.
    Run(RunArgs),
    /// Continue a run: draft until the next gate (exit 10) or the end (exit 0).
    Resume(ResumeArgs),
    /// Approve the draft awaiting a decision (the gate's "proceed" option).
    Approve(ApproveArgs),
    /// Send the pending draft back with feedback; `resume` drafts it again.
    Revise(ReviseArgs),
    /// Choose any gate option by its label, e.g. "Issues found" or "Rollback".
    Decide(DecideArgs),
    /// Replace the pending draft with your own edited file, then decide.
    Edit(EditArgs),
    /// Stop a run for good, with a reason.
    Abort(AbortArgs),
    /// Show where a run stands.
    Status(StatusArgs),
    /// List runs in the state folder.
    List(ListArgs),
    /// Print an approved artifact (or with --draft, the latest draft).
    Show(ShowArgs),
    /// List, show and validate workflow files.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Check the model server: profile, key, reachability, models, a one-token completion, structured output.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// The config profile to use, e.g. openai or local [default: config `profile`; with --offline, `offline_profile`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Nothing leaves this machine: use the local profile, refuse any server that is not on loopback (or in offline_allowed_hosts), and find a local server (llama.cpp, Ollama, LM Studio, vLLM) when no URL is set. A run started offline stays offline.
    #[arg(long)]
    pub offline: bool,
    /// OpenAI-compatible API base URL, e.g. http://127.0.0.1:8080/v1 [default: the profile's; OPENAI_BASE_URL overrides the default profile's].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name sent to the server [default: the profile's, else the first the server lists].
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
}

impl ModelArgs {
    fn options(&self) -> ConnectOptions {
        ConnectOptions {
            profile: self.profile.clone(),
            offline: self.offline,
            base_url: self.base_url.clone(),
            model: self.model.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct InteractionArgs {
    /// Never ask at the terminal: draft up to the next gate and exit 10.
    #[arg(long)]
    pub no_input: bool,
    /// Your name, recorded with each decision [default: $USER]; a decision nobody can be named for is refused.
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
    /// Print the final status as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A workflow name from the library (see `workflows list`) or a path to a workflow file.
    #[arg(default_value = "migration")]
    pub workflow: String,
    /// What is being migrated and why.
    #[arg(long, value_name = "TEXT", conflicts_with = "need_file")]
    pub need: Option<String>,
    /// Read the migration need from a file.
    #[arg(long, value_name = "FILE")]
    pub need_file: Option<PathBuf>,
    /// A file describing the current or target system; repeatable. Copied into the run.
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    /// Name the run [default: date and a slug of the need].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub interaction: InteractionArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    pub run: String,
    /// Add a context file (e.g. what a step printed, the system state after the change); repeatable.
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub interaction: InteractionArgs,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    pub run: String,
    /// Your name, recorded with the approval [default: $USER].
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
    /// A note kept with the approval.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReviseArgs {
    pub run: String,
    /// What should change in the next draft.
    #[arg(long, value_name = "TEXT", required_unless_present = "feedback_file")]
    pub feedback: Option<String>,
    /// Read the feedback from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "feedback")]
    pub feedback_file: Option<PathBuf>,
    /// The gate option to record, when the gate has several that revise (e.g. "Issues found").
    #[arg(long, value_name = "LABEL")]
    pub option: Option<String>,
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    pub run: String,
    /// The option's label as the workflow writes it, e.g. "Approved", "Issues found", "Rollback".
    #[arg(long, value_name = "LABEL")]
    pub option: String,
    /// Feedback, for an option that revises.
    #[arg(long, value_name = "TEXT")]
    pub feedback: Option<String>,
    /// Reason, for an option that rolls back or aborts.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// After a rollback: continue with the next step, or abort the run.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub then: Option<AfterRollback>,
    /// A note, for an option that proceeds.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    pub run: String,
    /// The edited artifact; becomes the next revision of the pending draft.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    pub run: String,
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[arg(long = "as", value_name = "NAME")]
    pub who: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub run: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub run: String,
    /// Artifact id, e.g. MIG-1 or MIG-4.2.
    pub artifact: String,
    /// Show the latest draft instead of the approved artifact.
    #[arg(long)]
    pub draft: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// List the workflows found on the library path.
    List,
    /// Show a workflow's phases, inputs and gates.
    Show {
        /// A workflow name or path.
        name: String,
    },
    /// Check a workflow file and every file it names; reports every problem with file:line.
    Validate {
        /// A workflow file path or name.
        file: String,
    },
    /// Print the JSON Schema compiled from each artifact template (what a server that enforces schemas receives).
    Schema {
        /// A workflow name or path.
        name: String,
        /// Only this artifact, e.g. MIG-1 or MIG-4.N.
        artifact: Option<String>,
        /// Use this profile's bounds (max_text_chars, max_list_items, ...) [default: the default profile's].
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
}

/// The run a Ctrl-C handler should name.
static CURRENT_RUN: Mutex<Option<String>> = Mutex::new(None);

fn set_current_run(id: &str) {
    if let Ok(mut slot) = CURRENT_RUN.lock() {
        *slot = Some(id.to_string());
    }
}

/// Ctrl-C anywhere (at a gate, during a draft) stops the process without
/// deciding anything. Every write is atomic, so stopping at any instant
/// leaves the run as it was last saved.
fn install_interrupt_handler() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            let run = CURRENT_RUN.lock().ok().and_then(|r| r.clone());
            eprint!("\x1b[?25h");
            eprintln!();
            match run {
                Some(id) => eprintln!(
                    "Interrupted. Run {id} is saved and nothing was decided. Continue with: migagent resume {id}"
                ),
                None => eprintln!("Interrupted before a run was created; nothing was saved."),
            }
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// The person recorded with a decision: `--as`, else the login name. A
/// decision nobody can be named for is refused rather than recorded as
/// "unknown".
fn who(explicit: Option<String>) -> Result<String> {
    explicit
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            ["USER", "LOGNAME", "USERNAME"]
                .iter()
                .filter_map(|v| std::env::var(v).ok())
                .map(|s| s.trim().to_string())
                .find(|s| !s.is_empty())
        })
        .context("cannot tell who is deciding: pass --as NAME (or set USER)")
}

struct Ctx {
    config: Config,
    store: RunStore,
    cwd: PathBuf,
}

impl Ctx {
    fn new(cli: &Cli) -> Result<Ctx> {
        let config = Config::load(cli.config.as_deref())?;
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let state_dir = cli
            .state_dir
            .clone()
            .unwrap_or_else(|| config.run.state_dir.clone());
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
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            std::process::ExitCode::FAILURE
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
        .with_ansi(terminal::use_color())
        .try_init();
}

async fn dispatch(cli: Cli) -> Result<u8> {
    let ctx = Ctx::new(&cli)?;
    match cli.command {
        Command::Run(args) => cmd_run(&ctx, args).await,
        Command::Resume(args) => cmd_resume(&ctx, args).await,
        Command::Approve(args) => decide(
            &ctx,
            &args.run,
            Decision::Proceed {
                option: None,
                by: who(args.who)?,
                note: args.note,
            },
        ),
        Command::Revise(args) => {
            let feedback = match (args.feedback, args.feedback_file) {
                (Some(f), _) => f,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read feedback file {}", path.display()))?,
                (None, None) => bail!("give --feedback TEXT or --feedback-file FILE"),
            };
            decide(
                &ctx,
                &args.run,
                Decision::Revise {
                    option: args.option,
                    by: who(args.who)?,
                    feedback,
                },
            )
        }
        Command::Decide(args) => cmd_decide(&ctx, args),
        Command::Edit(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            decide(
                &ctx,
                &args.run,
                Decision::Edit {
                    by: who(args.who)?,
                    text,
                },
            )
        }
        Command::Abort(args) => decide(
            &ctx,
            &args.run,
            Decision::Abort {
                option: None,
                by: who(args.who)?,
                reason: args.reason,
            },
        ),
        Command::Status(args) => cmd_status(&ctx, &args.run, args.json),
        Command::List(args) => cmd_list(&ctx, args.json),
        Command::Show(args) => cmd_show(&ctx, args),
        Command::Workflows(cmd) => cmd_workflows(&ctx, cmd),
        Command::Doctor(args) => doctor::run(&ctx.config, &args.model.options(), args.json).await,
    }
}

fn load_workflow(ctx: &Ctx, name: &str) -> Result<validate::LoadedWorkflow> {
    match validate::load(name, &ctx.cwd) {
        Ok(w) => Ok(w),
        Err(LoadError::Invalid(errors)) => {
            bail!("{errors}Fix these before running; `migagent workflows validate` re-checks.")
        }
        Err(e) => Err(e.into()),
    }
}

async fn cmd_run(ctx: &Ctx, args: RunArgs) -> Result<u8> {
    let loaded = load_workflow(ctx, &args.workflow)?;
    let need = match (args.need, args.need_file) {
        (Some(n), _) => Some(n),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read need file {}", path.display()))?,
        ),
        (None, None) => None,
    };
    for c in &args.context {
        if !c.is_file() {
            bail!(
                "context file {} does not exist or is not a file",
                c.display()
            );
        }
    }
    let connection = connect(&ctx.config, &args.model.options(), None).await?;
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| engine::make_run_id(need.as_deref()));
    let mut engine = Engine::start(
        loaded,
        &ctx.store,
        RunStart {
            run_id: &run_id,
            need,
            contexts: &args.context,
            model: connection.record(),
        },
    )?;
    engine.set_bounds(connection.target.profile.bounds());
    eprintln!(
        "Run {run_id}: workflow '{}', {}",
        engine.workflow().name,
        describe(&connection)
    );
    drive(&mut engine, &connection.client, &args.interaction).await
}

async fn cmd_resume(ctx: &Ctx, args: ResumeArgs) -> Result<u8> {
    let mut engine = Engine::open(&ctx.store, &args.run)?;
    engine.add_contexts(&args.context)?;
    let connection = connect(
        &ctx.config,
        &args.model.options(),
        Some(&engine.state().model),
    )
    .await?;
    engine.set_model(connection.record())?;
    engine.set_bounds(connection.target.profile.bounds());
    eprintln!("Run {}: {}", args.run, describe(&connection));
    drive(&mut engine, &connection.client, &args.interaction).await
}

/// Each artifact's template compiled to a schema; a per-step template is
/// shown as for a step named by its placeholder.
fn artifact_schemas(
    workflow: &crate::workflow::Workflow,
    bounds: &Bounds,
) -> Vec<(
    String,
    Result<ArtifactSchema, crate::artifact_schema::SchemaError>,
)> {
    workflow
        .phases
        .iter()
        .filter_map(|p| p.output.as_ref())
        .map(|o| {
            let template = if o.per_step {
                crate::workflow::step::step_template(
                    &o.template,
                    &crate::workflow::step::Step {
                        number: 1,
                        name: String::new(),
                    },
                )
            } else {
                o.template.clone()
            };
            (o.id.clone(), ArtifactSchema::compile(&template, bounds))
        })
        .collect()
}

/// The enum fields of a JSON Schema, as dotted paths with their values.
fn enum_paths(schema: &serde_json::Value, path: &str, out: &mut Vec<(String, Vec<String>)>) {
    if let Some(values) = schema["enum"].as_array() {
        out.push((
            path.to_string(),
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ));
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            enum_paths(v, &p, out);
        }
    }
    if schema["items"].is_object() {
        enum_paths(&schema["items"], &format!("{path}[]"), out);
    }
}

/// One line on where drafts come from, and anything the person should know.
fn describe(connection: &Connection) -> String {
    let e = &connection.endpoint;
    let t = &connection.target;
    let mut line = format!(
        "model {} at {} ({}, profile {}{}; {})",
        e.model,
        e.base_url,
        e.kind.label(),
        t.profile_name,
        if t.offline { ", offline" } else { "" },
        t.found_by
    );
    line.push_str(match e.structured {
        crate::llm::StructuredStyle::None => "; artifacts drafted as Markdown",
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
        let mut reviewer = TerminalReviewer {
            who: who(interaction.who.clone())?,
        };
        let mut sink = TerminalSink::new();
        engine
            .advance(client, Some(&mut reviewer), &mut sink)
            .await?
    } else {
        engine.advance(client, None, &mut ProgressSink).await?
    };
    if interaction.json {
        println!("{}", serde_json::to_string_pretty(&engine.status())?);
    }
    Ok(match outcome {
        Outcome::Complete => {
            if !interaction.json {
                println!("run: {run_id}");
                println!("state: complete");
                println!(
                    "artifacts: {}",
                    engine.run_dir().join("artifacts").display()
                );
            }
            0
        }
        Outcome::Aborted => {
            if !interaction.json {
                println!("run: {run_id}");
                println!("state: aborted");
            }
            EXIT_ABORTED
        }
        Outcome::AwaitingDecision { artifact, path } | Outcome::Quit { artifact, path } => {
            if !interaction.json {
                println!("run: {run_id}");
                println!("awaiting: {artifact}");
                println!("draft: {}", path.display());
            }
            eprintln!("[{artifact}] awaits a decision. Read the draft, then one of:");
            eprintln!("  migagent approve {run_id}");
            eprintln!("  migagent revise {run_id} --feedback \"what to change\"");
            eprintln!(
                "  migagent decide {run_id} --option LABEL ...   (see `migagent status {run_id}`)"
            );
            eprintln!("and `migagent resume {run_id}` to continue.");
            EXIT_AWAITING
        }
    })
}

fn decide(ctx: &Ctx, run: &str, decision: Decision) -> Result<u8> {
    let mut engine = Engine::open(&ctx.store, run)?;
    let pending = engine.pending().map(|a| a.id.clone());
    let what = match &decision {
        Decision::Proceed { .. } => "approved",
        Decision::Revise { .. } => "sent back for revision",
        Decision::Rollback { .. } => "rolled back",
        Decision::Abort { .. } => "aborted",
        Decision::Edit { .. } => "replaced with your edit",
        Decision::Quit => "left undecided",
    };
    engine.apply(decision)?;
    let status = engine.status();
    match (&pending, status.state.as_str()) {
        (_, "aborted") => println!("Run {run} aborted."),
        (Some(id), _) => println!("[{id}] {what}."),
        (None, _) => println!("Run {run}: {what}."),
    }
    match status.state.as_str() {
        "complete" => println!(
            "The workflow is complete. Artifacts: {}",
            engine.run_dir().join("artifacts").display()
        ),
        "awaiting_decision" => println!("The draft awaits a decision: migagent status {run}"),
        "ready_to_draft" => println!("Next: migagent resume {run}"),
        _ => {}
    }
    Ok(if status.state == "aborted" {
        EXIT_ABORTED
    } else {
        0
    })
}

fn cmd_decide(ctx: &Ctx, args: DecideArgs) -> Result<u8> {
    let engine = Engine::open(&ctx.store, &args.run)?;
    let Some(pending) = engine.pending() else {
        bail!(
            "run '{}' has no draft awaiting a decision; see `migagent status {}`",
            args.run,
            args.run
        );
    };
    let phase = &engine.workflow().phases[pending.phase_index];
    let Some(gate) = &phase.gate else {
        bail!("phase {} has no gate", phase.number);
    };
    let Some(option) = gate.option_named(&args.option) else {
        let labels: Vec<&str> = gate.options.iter().map(|o| o.label.as_str()).collect();
        bail!(
            "the gate of [{}] has no option '{}'; its options are: {}",
            pending.id,
            args.option,
            labels.join(", ")
        );
    };
    let by = who(args.who)?;
    let label = Some(option.label.clone());
    let decision = match option.action {
        GateAction::Proceed => Decision::Proceed {
            option: label,
            by,
            note: args.note,
        },
        GateAction::Revise => Decision::Revise {
            option: label,
            by,
            feedback: args
                .feedback
                .context("this option sends the draft back: give --feedback TEXT")?,
        },
        GateAction::Rollback => Decision::Rollback {
            option: label,
            by,
            reason: args
                .reason
                .context("this option rolls back: give --reason TEXT")?,
            then: args
                .then
                .context("after a rollback, say --then continue or --then abort")?,
        },
        GateAction::Abort => Decision::Abort {
            option: label,
            by,
            reason: args
                .reason
                .context("this option aborts: give --reason TEXT")?,
        },
    };
    drop(engine);
    decide(ctx, &args.run, decision)
}

fn cmd_status(ctx: &Ctx, run: &str, json: bool) -> Result<u8> {
    let engine = Engine::open(&ctx.store, run)?;
    let status = engine.status();
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(0);
    }
    println!("run:      {}", status.run_id);
    println!("workflow: {}", status.workflow);
    println!("state:    {}", status.state);
    if let Some(phase) = &status.phase {
        println!("phase:    {phase}");
    }
    println!(
        "model:    {} at {}{}{}",
        status.model.model,
        status.model.base_url,
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
        println!();
        println!(
            "Awaiting a decision: [{}] {} (revision {})",
            p.artifact, p.title, p.revision
        );
        println!("  draft:   {}", p.path.display());
        if p.truncated {
            println!("  WARNING: the draft stopped at the token limit and is incomplete");
        }
        if !p.missing_sections.is_empty() {
            println!("  missing sections: {}", p.missing_sections.join(", "));
        }
        for problem in &p.problems {
            println!("  template problem: {problem}");
        }
        for cut in &p.cuts {
            println!("  cut to fit the context: {cut}");
        }
        println!("  options: {}", p.options.join(", "));
    }
    if !status.artifacts.is_empty() {
        println!();
        println!("Artifacts:");
        for a in &status.artifacts {
            let state = serde_json::to_value(a.state)?
                .as_str()
                .unwrap_or_default()
                .to_string();
            let by = a
                .approved_by
                .as_ref()
                .map_or(String::new(), |b| format!(" by {b}"));
            println!(
                "  {:<10} {:<18} r{} {}{}",
                a.id, state, a.revision, a.title, by
            );
        }
    }
    Ok(0)
}

fn cmd_list(ctx: &Ctx, json: bool) -> Result<u8> {
    let runs = ctx.store.list();
    let mut rows = Vec::new();
    for r in runs {
        match r {
            Ok(state) => rows.push(state),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|s| {
                serde_json::json!({
                    "run_id": s.run_id,
                    "workflow": s.workflow.name,
                    "state": engine::run_state(s),
                    "pending": engine::pending_artifact(s).map(|a| a.id.clone()),
                    "created_at": s.created_at,
                    "updated_at": s.updated_at,
                    "artifacts": s.artifacts.len(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(0);
    }
    if rows.is_empty() {
        println!(
            "No runs under {}. Start one with: migagent run --need \"...\"",
            ctx.store.runs_dir().display()
        );
        return Ok(0);
    }
    for s in rows {
        let detail = engine::pending_artifact(&s).map_or(String::new(), |a| format!(" {}", a.id));
        println!(
            "{:<48} {:<12} {}{}",
            s.run_id,
            s.workflow.name,
            engine::run_state(&s),
            detail
        );
    }
    Ok(0)
}

fn cmd_show(ctx: &Ctx, args: ShowArgs) -> Result<u8> {
    let engine = Engine::open(&ctx.store, &args.run)?;
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
    let rel = if args.draft {
        rec.latest_draft().map(|d| d.path.clone())
    } else {
        match rec.state {
            crate::store::ArtifactState::Approved | crate::store::ArtifactState::Accepted => {
                Some(rec.approved_path())
            }
            _ => None,
        }
    };
    let Some(rel) = rel else {
        bail!(
            "[{id}] is not approved (it is {:?}); use --draft to see the latest draft",
            rec.state
        );
    };
    let text = std::fs::read_to_string(engine.run_dir().join(&rel))
        .with_context(|| format!("cannot read {rel}"))?;
    terminal::print_markdown(&text);
    Ok(0)
}

fn cmd_workflows(ctx: &Ctx, cmd: WorkflowsCommand) -> Result<u8> {
    match cmd {
        WorkflowsCommand::List => {
            let library = Library::new(ctx.cwd.clone());
            for (name, origin) in library.workflows() {
                let title = library
                    .find_workflow(&name)
                    .ok()
                    .and_then(|f| {
                        crate::workflow::parse_lenient(&f.text, &origin.as_path())
                            .0
                            .name
                            .into()
                    })
                    .unwrap_or_default();
                println!("{name:<24} {title:<24} {origin}");
            }
            Ok(0)
        }
        WorkflowsCommand::Validate { file } => match validate::load(&file, &ctx.cwd) {
            Ok(loaded) => {
                if let Err(e) = crate::prompt::PromptAssembler::load(&loaded.library) {
                    println!("{e}");
                    return Ok(1);
                }
                let w = &loaded.workflow;
                println!(
                    "{}: ok: workflow '{}', {} phases, artifacts {}",
                    w.source.display(),
                    w.name,
                    w.phases.len(),
                    w.phases
                        .iter()
                        .filter_map(|p| p.artifact_id())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for (id, schema) in artifact_schemas(w, &Bounds::default()) {
                    match schema {
                        Ok(schema) => {
                            let mut enums = Vec::new();
                            enum_paths(&schema.json_schema(), "", &mut enums);
                            let enums: Vec<String> = enums
                                .iter()
                                .map(|(path, values)| format!("{path} ({})", values.join(" / ")))
                                .collect();
                            let n = schema.sections().len();
                            println!(
                                "  [{id}] JSON schema: {n} section{}{}",
                                if n == 1 { "" } else { "s" },
                                if enums.is_empty() {
                                    String::new()
                                } else {
                                    format!("; choices: {}", enums.join(", "))
                                }
                            );
                        }
                        Err(e) => println!(
                            "  [{id}] no JSON schema ({e}); drafted as Markdown with a section check"
                        ),
                    }
                }
                Ok(0)
            }
            Err(LoadError::Invalid(errors)) => {
                for d in &errors.diagnostics {
                    println!("{d}");
                }
                eprintln!(
                    "{} problem{} found.",
                    errors.diagnostics.len(),
                    if errors.diagnostics.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
                Ok(1)
            }
            Err(e) => Err(e.into()),
        },
        WorkflowsCommand::Schema {
            name,
            artifact,
            profile,
        } => {
            let loaded = load_workflow(ctx, &name)?;
            let profile = ctx
                .config
                .profile(profile.as_deref().unwrap_or(&ctx.config.profile))?;
            let mut out = serde_json::Map::new();
            for (id, schema) in artifact_schemas(&loaded.workflow, &profile.bounds()) {
                if artifact.as_ref().is_some_and(|a| a != &id) {
                    continue;
                }
                let value = match schema {
                    Ok(s) => s.json_schema(),
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                };
                out.insert(id, value);
            }
            if let (Some(a), true) = (&artifact, out.is_empty()) {
                bail!("workflow '{}' has no artifact '{a}'", loaded.workflow.name);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(0)
        }
        WorkflowsCommand::Show { name } => {
            let loaded = load_workflow(ctx, &name)?;
            print_workflow(&loaded.workflow, &loaded.library);
            Ok(0)
        }
    }
}

fn print_workflow(w: &crate::workflow::Workflow, library: &Library) {
    println!("Workflow: {}", w.name);
    println!("Source:   {}", w.source.display());
    let roots: Vec<String> = library
        .roots()
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    println!("Library:  {}, then built-in", roots.join(", "));
    if !w.description.is_empty() {
        println!();
        println!("{}", w.description.lines().next().unwrap_or_default());
    }
    for phase in &w.phases {
        println!();
        let gate = match &phase.gate {
            None => "no gate".to_string(),
            Some(g) if g.per_step => "per-step GATE".to_string(),
            Some(_) => "GATE".to_string(),
        };
        println!(
            "Phase {}: {} → [{}] {} ({gate})",
            phase.number,
            phase.name,
            phase.artifact_id().unwrap_or("?"),
            phase.output.as_ref().map_or("", |o| o.title.as_str())
        );
        for d in &phase.directives {
            let origin = library
                .resolve(&d.path)
                .map_or_else(|e| format!("UNRESOLVED: {e}"), |f| f.origin.to_string());
            println!("  {}: {} ({origin})", d.kind.label(), d.path);
        }
        for i in &phase.inputs {
            let kind = match &i.kind {
                InputKind::Artifact(_) => "artifact",
                InputKind::AllSteps(_) => "all steps",
                InputKind::FreeText if i.is_need() => "the need (--need)",
                InputKind::FreeText => "context (--context)",
            };
            println!("  input: {} [{kind}]", i.text);
        }
        if let Some(g) = &phase.gate {
            let labels: Vec<&str> = g.options.iter().map(|o| o.label.as_str()).collect();
            println!("  options: {}", labels.join(" / "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;
    use clap::CommandFactory;
    use std::path::Path;

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
    fn workflow_root_is_used_for_relative_files() {
        let root = library::root_of_workflow(Path::new("/a/workflows/x.md"), Path::new("/c"));
        assert_eq!(root, PathBuf::from("/a"));
    }
}
