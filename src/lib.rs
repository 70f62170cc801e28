//! migagent: an agent that walks a team through a risky migration. A model
//! drafts each artifact of a Markdown workflow; a person decides at every
//! gate; every draft, decision and approved artifact is kept as a plain file.
//!
//! The crate is split by concept: [`workflow`] parses workflow files,
//! [`validate`] checks them against the [`library`] of personas and prompts,
//! [`template`] and [`schema`] read artifact templates (the schema compiler
//! turns one into a JSON Schema and back into Markdown), [`prompt`] assembles
//! messages, [`model`] talks to the model server, [`server`] learns what a
//! server is and can do, [`connect`] picks the server for a command under the
//! profile and offline rules, [`engine`] moves a run forward and [`store`]
//! keeps it on disk, [`gate`] is the terminal side of a gate, [`doctor`]
//! checks a setup, and [`cli`] wires them to commands.

pub mod cli;
pub mod config;
pub mod connect;
pub mod doctor;
pub mod engine;
pub mod gate;
pub mod library;
pub mod model;
pub mod prompt;
pub mod schema;
pub mod server;
pub mod store;
pub mod template;
pub mod validate;
pub mod workflow;
