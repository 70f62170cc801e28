//! `migagent local-llm start|stop|status|fetch`: the local model server for
//! offline mode, shipped inside the binary.
//!
//! The script is `scripts/local-llm`, embedded at build time and run with
//! bash, so an installed migagent (`cargo install`) has the same server
//! commands as a checkout, and there is one script to maintain. Its
//! downloads go through pip, so the user's index settings apply.

use std::process::Command;

use anyhow::{Context, Result};

use super::LocalLlmAction;

/// The script, byte for byte as in the repository.
const SCRIPT: &str = include_str!("../../scripts/local-llm");

/// Runs the embedded script with the action; returns its exit status
/// (`status` says 0 running, 1 unhealthy, 3 stopped).
pub(super) fn cmd_local_llm(action: LocalLlmAction) -> Result<u8> {
    let status = Command::new("bash")
        .arg("-c")
        .arg(SCRIPT)
        .arg("migagent local-llm")
        .arg(action.as_str())
        .status()
        .context("cannot run bash, which `migagent local-llm` needs (install bash)")?;
    // A status outside 0..=255 (killed by a signal) is reported as 1.
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::SCRIPT;

    #[test]
    fn the_embedded_script_names_no_package_host() {
        // Downloads go through pip so that the user's index settings apply.
        for host in ["pythonhosted", "pypi.org", "huggingface", "github.com"] {
            assert!(!SCRIPT.contains(host), "the script names {host}");
        }
        assert!(SCRIPT.contains("pip download"));
    }
}
