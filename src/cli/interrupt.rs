//! Ctrl-C: stop without deciding anything, and say which run to resume.

use std::sync::Mutex;

use super::EXIT_INTERRUPTED;

/// The run a Ctrl-C handler should name.
static CURRENT_RUN: Mutex<Option<String>> = Mutex::new(None);

pub(super) fn set_current_run(id: &str) {
    if let Ok(mut slot) = CURRENT_RUN.lock() {
        *slot = Some(id.to_string());
    }
}

/// Ctrl-C anywhere (at a gate, during a draft) stops the process without
/// deciding anything. Every write is atomic, so stopping at any instant
/// leaves the run as it was last saved.
pub(super) fn install_interrupt_handler() {
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
