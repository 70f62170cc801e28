//! `EngineError`: every way a step of a run can fail, each message saying
//! what to do next.

use std::path::PathBuf;

use crate::library::validate::LoadError;
use crate::library::LibraryError;
use crate::llm::ModelError;
use crate::prompt::PromptError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the run reads differs from its record (exit code 12).
    #[error("{}", super::integrity::tamper_message(run_id, findings))]
    Tampered {
        run_id: String,
        findings: Vec<crate::store::verify::Finding>,
    },
    #[error("drafting {artifact} in run '{run_id}': {source}. The run is saved; fix the cause and `migagent resume {run_id}`")]
    Model {
        run_id: String,
        artifact: String,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("run '{run_id}': the workflow it follows no longer loads: {source}")]
    Workflow {
        run_id: String,
        #[source]
        source: LoadError,
    },
    #[error("run '{run_id}' is {status}; there is nothing to decide")]
    Finished { run_id: String, status: String },
    #[error("run '{run_id}' has no draft awaiting a decision ({state}); run `migagent resume {run_id}` to draft the next artifact")]
    NothingPending { run_id: String, state: String },
    #[error("{artifact} has {pending} pending, not {named} that you named; nothing was decided. Read the pending draft (`migagent show RUN {artifact} --draft`) and decide again")]
    NotTheDraftRead {
        artifact: String,
        named: String,
        pending: String,
    },
    #[error("'{given}' is not a draft's sha256 prefix: give 4 to 64 hex digits, as `migagent status RUN` shows them")]
    BadShaPrefix { given: String },
    #[error("{path} no longer has the sha256 the journal records for it ({recorded}; the file has {found}): it was changed after it was drafted, so nobody read what is there now. Nothing was decided; restore the file or record the change with `migagent edit`")]
    DraftChanged {
        path: String,
        recorded: String,
        found: String,
    },
    #[error("run '{run_id}': the decision on {artifact} is recorded in the journal, but storing {path} failed: {source}. Fix the cause; the next `migagent resume {run_id}` finishes it without asking again")]
    DecidedNotStored {
        run_id: String,
        artifact: String,
        path: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("the gate of {artifact} has no option '{label}'; its options are: {available}")]
    NoSuchOption {
        artifact: String,
        label: String,
        available: String,
    },
    #[error("the gate of {artifact} offers no option that does '{action}'; its options are: {available}")]
    NoOptionFor {
        artifact: String,
        action: String,
        available: String,
    },
    #[error("option '{option}' at the gate of {artifact} sends the work back to one of several phases: choose one with --to-phase N, from phase {allowed}")]
    SendBackNeedsPhase {
        artifact: String,
        option: String,
        allowed: String,
    },
    #[error("option '{option}' at the gate of {artifact} cannot send the work back to phase {phase}; it may go to phase {allowed}")]
    NoSuchSendBackPhase {
        artifact: String,
        option: String,
        phase: u32,
        allowed: String,
    },
    #[error("sending the work back to phase {phase} would redraft [{plan}], the plan phase {steps_phase} carried out step by step; executed steps cannot be redrafted from a new plan. Send it back to phase {steps_phase} or later, or start a new run")]
    SendBackAcrossSteps {
        phase: u32,
        plan: String,
        steps_phase: u32,
    },
    #[error("phase {phase} has no approved artifact to reopen (its steps were rolled back); choose another option")]
    NothingToReopen { phase: u32 },
    #[error("{what} cannot be empty: say what should change")]
    EmptyText { what: String },
    #[error("phase {phase} declares the input '{input}', and this run has none: pass --need TEXT (or --need-file FILE), --input \"{input}=TEXT\", or a --context file")]
    MissingNeed { phase: u32, input: String },
    #[error("the approved plan {plan} lists no steps ('### Step 1: Name' headings), so phase {phase} has nothing to iterate over. The plan is approved; start a new run with a plan that lists its steps")]
    EmptyPlan { plan: String, phase: u32 },
    #[error("input {id} of phase {phase} is not approved yet")]
    InputNotApproved { id: String, phase: u32 },
    #[error("cannot read context file {path}: {source}")]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("context file: {0}")]
    ContextFile(#[source] crate::files::FileError),
    #[error("context file {path} is {bytes} bytes, about {tokens} tokens, more than a whole request to this server can carry ({budget} tokens of its {window}-token context, after the answer); nothing was copied into the run. Pass the part the model needs (an excerpt, a summary), or use a server with a larger context")]
    ContextFileTooLarge {
        path: PathBuf,
        bytes: u64,
        tokens: u64,
        budget: u64,
        window: u32,
    },
    #[error("{artifact} is not a step of a per-step phase")]
    NotAStep { artifact: String },
    #[error("run '{run_id}' has no step awaiting evidence (it is {state}); evidence is recorded for a step of a per-step phase before its result is drafted, and a note or file for a phase whose inputs take free text (such as Current system state)")]
    NotAwaitingEvidence { run_id: String, state: String },
    #[error("step {step} ({artifact}) is the plan's point of no return: after it the change cannot be undone. Nothing was recorded. To go on, say so: migagent evidence {run_id} ... --confirm-point-of-no-return (or resume {run_id} --confirm-point-of-no-return)")]
    PointOfNoReturn {
        run_id: String,
        artifact: String,
        step: u32,
    },
    #[error("the card of {artifact} has no command {index}; it lists {count}. See `migagent evidence RUN --exec`")]
    NoSuchCommand {
        artifact: String,
        index: usize,
        count: usize,
    },
    #[error("running commands is turned off for this run (--no-exec, or exec = false under [evidence] in the config); record what you ran with --note or --file")]
    ExecOff,
    #[error(transparent)]
    SuppliedFile(#[from] crate::files::FileError),
    #[error("a rollback of {artifact} needs its outcome: say --then continue or --then abort (only a step of a per-step phase can be rolled back in two parts)")]
    RollbackNeedsThen { artifact: String },
    #[error("{artifact} of run '{run_id}' is being rolled back: record the rollback's evidence with `migagent evidence {run_id}`, then end it with `migagent decide {run_id} --option LABEL --then continue|abort`")]
    RollingBack { run_id: String, artifact: String },
    #[error("running a command: {0}")]
    Command(String),
    #[error("at the gate: {0}")]
    Review(String),
    #[error("the inputs of {artifact} need about {need} tokens even after cutting every context file and shortening every approved artifact, and the server takes {have} tokens per request with {answer} kept for the answer. Raise the server's context (migagent local-llm: MIGAGENT_LLM_CTX), lower max_tokens, or set context_tokens in the profile if the server takes more")]
    ContextTooSmall {
        artifact: String,
        need: u64,
        have: u32,
        answer: u32,
    },
}
