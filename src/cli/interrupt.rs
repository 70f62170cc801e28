//! Ctrl-C: stop without deciding anything, and say which run to resume.

use std::io::IsTerminal;
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
///
/// The signal is registered here, before this returns, not when the task
/// that waits for it first runs: on a busy machine that task may not have
/// been scheduled yet when the person presses Ctrl-C, and the default
/// action would kill the process without saying which run to resume.
pub(super) fn install_interrupt_handler() {
    #[cfg(unix)]
    let mut interrupts =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            Ok(signal) => signal,
            // Without a handler the default action still stops the process;
            // the run is as it was last saved.
            Err(_) => return,
        };
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            let pressed = interrupts.recv().await.is_some();
            #[cfg(not(unix))]
            let pressed = tokio::signal::ctrl_c().await.is_ok();
            if !pressed {
                return;
            }
            // A pager showing a draft has the terminal: Ctrl-C is its own
            // (less stops a search with it), and the gate comes back after.
            if crate::terminal::pager::paging() {
                continue;
            }
            let run = CURRENT_RUN.lock().ok().and_then(|r| r.clone());
            // The draft's status line goes, rather than stay on screen
            // above the message; it is drawn only on a terminal.
            let cleared = crate::terminal::clear_live_line();
            if std::io::stderr().is_terminal() {
                // The cursor, in case whatever was drawing had hidden it.
                crate::err!("\x1b[?25h");
            }
            if !cleared {
                // Off the line the ^C was echoed on (a gate's prompt).
                crate::errln!();
            }
            match run {
                Some(id) => crate::errln!(
                    "Interrupted. Run {id} is saved and nothing was decided. Continue with: migagent resume {id}"
                ),
                None => crate::errln!("Interrupted before a run was created; nothing was saved."),
            }
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}
