//! Shared test support: a real HTTP server speaking the OpenAI chat
//! completions API with SSE streaming (wiremock), helpers to run the
//! `migagent` binary in an isolated folder, and the offline tripwire.

mod child;
mod fake_server;
mod pty;
mod requests;
mod sandbox;
mod tripwire;

pub use fake_server::{FakeServer, Redirect};
pub use pty::{blocking, Pty};
pub use requests::{requested_artifact, system_message, template_in, user_message};
pub use sandbox::{files_under, pending, temp_files_under, Cmd, Sandbox};
pub use tripwire::Tripwire;

/// The API key tests hand to the binary and expect as the bearer token.
pub const API_KEY: &str = "sk-test-0123456789-secret-key";
