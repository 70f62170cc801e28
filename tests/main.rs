//! migagent's integration tests: one test binary (`cargo test --test main`),
//! one module per area, and one support module they share.
//!
//! | module               | what it covers                                                    |
//! |----------------------|-------------------------------------------------------------------|
//! | `api_keys`           | the key goes only to its host; redirects stay on it; no password shown |
//! | `architecture`       | the module rules read off `src/`: no cycles, layers, file sizes   |
//! | `bad_input`          | devices, FIFOs, folders, oversized and non-UTF-8 files; private run folders |
//! | `cli_workflows`      | `migagent workflows …` (list, show, validate, schema) from a folder |
//! | `crash_safety`       | kill -9 in the middle of a draft; a full disk at a decision       |
//! | `decisions`          | decisions bound to the draft read (--revision/--sha), status while drafting, torn and unchained journals |
//! | `doctor`             | `migagent doctor` against live, dead, keyless and refused servers |
//! | `evidence`           | per-step evidence: the step card, notes, files, approved commands, no success without proof |
//! | `kill_points`        | SIGKILL at every write and rename of run/revise/resume/edit/approve, then finished: each gate decided once |
//! | `fuzz`               | the parsers and readers fuzzed from real files (`MIGAGENT_FUZZ=1` for 120,000 cases) |
//! | `gate_pty`           | the gate menu at a real terminal (pseudo-terminal via expectrl)   |
//! | `library_layout`     | a team's library (prompts/workflows/, personas by discipline, panels, policies) found and run |
//! | `loop_back`          | gate options that send the work back; stale artifacts redrafted   |
//! | `markdown_reading`   | templates read by CommonMark: inner code blocks, titles, unclosed fences, in runs |
//! | `offline_e2e`        | the whole workflow on a real local model server; only with `MIGAGENT_E2E=1` |
//! | `offline_mode`       | `--offline` never lets a request leave the machine, nor a redirect (network namespace as root) |
//! | `plan_steps`         | a plan's steps by place: two `Step 1` blocks, two gates; numbering flagged |
//! | `run_noninteractive` | a full run without a terminal, every gate a separate command      |
//! | `server_faults`      | dripping, hanging, cut, huge and non-stream answers: clear errors, no draft |
//! | `schema_templates`   | the seed workflow's templates compile, validate and round-trip    |
//! | `secret_redaction`   | secrets in context files redacted from requests, named by kind, file, line |
//! | `structured_runs`    | whole runs against a server that enforces JSON schemas            |
//! | `tamper`             | `verify` names each tampering; `resume`, decisions and `status` stop or warn |
//! | `terminal_controls`  | a model's escape sequences shown as text at the gate, in `show` and `status` |
//! | `workflow_family`    | six workflows for other jobs, from a team library, end to end in both modes |
//! | `workflow_parse`     | the workflow parser and validator against real files              |
//! | `approver`           | who decides (--as, MIGAGENT_APPROVER, config, git, USER, the uid's account); approve shows and journals a flawed draft's check; --json on decisions |
//! | `run_management`     | runs found from a subfolder; abort with no draft; `rm` and `prune` |
//! | `terminal_display`   | streaming without raw JSON, findings, narrow screens, colour, Ctrl-C, the pager |
//! | `closed_pipe`        | a closed stdout ends every printing command quietly (141), runs stay whole |
//! | `completions`        | completion scripts for four shells (bash sources one), the man page, `local-llm` |
//! | `connection`         | a dead server starts no run; probes retried, not cached; the model chosen; env vars; model changes journalled |
//! | `panel_parallel`     | a panel's members asked in parallel up to max_parallel_requests, findings in panel order |
//! | `json_output`        | every `--json` document starts with schema_version and is described in docs/json.md |
//!
//! `support` holds what the areas share: [`support::Sandbox`] (an isolated
//! folder and environment that runs the binary), [`support::FakeServer`] (a
//! real HTTP server speaking the OpenAI chat API with SSE), the offline
//! [`support::Tripwire`], and helpers that read chat requests.
//!
//! Run one area with a name filter, e.g. `cargo test --test main gate_pty::`.

mod support;

mod api_keys;
mod approver;
mod architecture;
mod bad_input;
mod cli_workflows;
mod closed_pipe;
mod completions;
mod connection;
mod crash_safety;
mod decisions;
mod doctor;
mod evidence;
mod fuzz;
mod gate_pty;
mod json_output;
mod kill_points;
mod library_layout;
mod loop_back;
mod markdown_reading;
mod offline_e2e;
mod offline_mode;
mod panel_parallel;
mod plan_steps;
mod prompt_size;
mod report;
mod run_management;
mod run_noninteractive;
mod schema_templates;
mod secret_redaction;
mod server_faults;
mod structured_runs;
mod tamper;
mod terminal_controls;
mod terminal_display;
mod workflow_family;
mod workflow_parse;
