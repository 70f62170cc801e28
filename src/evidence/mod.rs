//! Evidence for a step of a per-step phase: the step card read from the
//! approved plan ([`card`]), commands run with a person's yes
//! ([`command`]), and the rule that a result may not claim success without
//! proof ([`claims`]); and the secrets redacted from what people supply
//! before a request carries it off the machine ([`secrets`]).
//!
//! The engine decides when evidence is asked for and records it; this
//! module only reads plans, runs what it is told to run and checks claims.

pub mod card;
pub mod claims;
pub mod command;
pub mod secrets;

use std::time::Duration;

pub use card::{CardCommand, StepCard};

/// How evidence is gathered and judged, from `[evidence]` in the config.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// Whether migagent may run the plan's commands at all.
    pub exec: bool,
    /// How long one command may run before its process group is killed.
    pub command_timeout: Duration,
    /// Variables a command never sees: the model's API key and any other
    /// the profile names.
    pub scrub_env: Vec<String>,
    /// Values a result may not pick without proof.
    pub success_words: Vec<String>,
    /// How much of one evidence item a prompt carries; the file on disk
    /// stays whole.
    pub prompt_chars: usize,
    /// Whether what people supply (context files, evidence, inputs) has
    /// its secrets redacted before a draft request carries it: on unless
    /// the CLI knows the server is on this machine (see `[secrets]` in the
    /// config), so an engine nobody told where its model is redacts.
    pub redact_secrets: bool,
    /// The largest file a person may supply as evidence (`max_file_mb`
    /// under `[limits]`); see [`crate::files`].
    pub max_file_bytes: u64,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        EvidenceSettings {
            exec: true,
            command_timeout: Duration::from_secs(600),
            scrub_env: vec!["OPENAI_API_KEY".into()],
            success_words: claims::DEFAULT_SUCCESS_WORDS
                .iter()
                .map(|w| w.to_string())
                .collect(),
            prompt_chars: 4000,
            redact_secrets: true,
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}
