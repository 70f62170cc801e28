//! migagent: an agent that walks a team through a risky migration. A model
//! drafts each artifact of a Markdown workflow; a person decides at every
//! gate; every draft, decision and approved artifact is kept as a plain file.
//!
//! The folders are the architecture, each depending only on those above it:
//!
//! - [`files`]: reading a file a person names: regular files only, within
//!   a limit, never blocking on a pipe;
//! - [`markdown`]: the one place that reads Markdown's block structure
//!   (fences, headings, plan steps);
//! - [`workflow`]: the workflow types, their parser, and plan steps;
//! - [`library`]: finding persona, prompt, panel and workflow files, loading a
//!   workflow and the checks that need its library;
//! - [`artifact_schema`]: an artifact template compiled to a JSON Schema,
//!   rendered back to Markdown, read from Markdown and checked;
//! - [`config`]: `config.toml` and its profiles;
//! - [`prompt`]: prompt assembly (handlebars);
//! - [`llm`]: the `ModelClient` trait and the OpenAI-compatible client,
//!   server kinds and probing, and the choice of server for a command;
//! - [`store`]: the run folder, its records and the journal;
//! - [`evidence`]: a step's card read from the approved plan, commands run
//!   with a person's yes, and the rule that no result claims success
//!   without proof;
//! - [`engine`]: moves a run forward through `ModelClient` and `Reviewer`;
//! - [`report`]: a run told as one document (Markdown, HTML, JSON) and
//!   its journal as a timeline;
//! - [`terminal`]: the gate at a terminal and the live draft display;
//! - [`doctor`]: checks a setup;
//! - [`cli`]: the commands. Nothing imports it; only it uses `anyhow`.

pub mod artifact_schema;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod evidence;
pub mod files;
pub mod library;
pub mod llm;
pub mod markdown;
pub mod prompt;
pub mod report;
pub mod store;
pub mod terminal;
pub mod workflow;
