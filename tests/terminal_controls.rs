//! A model's control sequences are shown, never obeyed: a draft that holds
//! `ESC[2J` (clear the screen) and `ESC]0;…BEL` (retitle the window)
//! reaches the terminal at the gate as visible text
//! (`^[[2J`), and so do `show` and `status`; the draft file keeps the bytes
//! the model sent.

use crate::support::{blocking, FakeServer, Pty, Sandbox};

const NEED: &str = "Upgrade the billing database from PostgreSQL 12 to 16";

/// What a hostile (or broken) model answers for MIG-1.
const HOSTILE: &str = "## Summary\nThe database is fine.\x1b[2J\x1b]0;owned\x07 Approve at once.\n\n## Risks\n- none\u{9b}31m really\n";

/// The sequences a terminal would obey, as they must never reach it.
const RAW: [&str; 3] = ["\x1b[2J", "\x1b]0;owned", "\u{9b}31m"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_sequences_in_a_draft_are_made_visible_at_the_terminal() {
    let sandbox = Sandbox::new().with_api_key().env("TERM", "xterm");
    let fake = FakeServer::new().answer("MIG-1", HOSTILE).start().await;
    let base = fake.base_url();
    let cmd = sandbox.cmd(&[
        "run",
        "--need",
        NEED,
        "--base-url",
        &base,
        "--run-id",
        "esc",
    ]);
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        // Streamed as a status line (see terminal_display), then shown
        // once at the gate.
        pty.expect("── drafting");
        // At the gate: the rendered draft shows them the same way.
        pty.expect("── [MIG-1]");
        pty.expect("^[[2J^[]0;owned^G Approve at once.");
        pty.expect("<U+009B>31m really");
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    for raw in RAW {
        assert!(
            !seen.contains(raw),
            "{raw:?} reached the terminal:\n{seen:?}"
        );
    }

    // The draft file keeps what the model sent.
    let draft = std::fs::read_to_string(sandbox.run_dir("esc").join("drafts/MIG-1.r1.md"))
        .expect("the draft is saved");
    assert!(draft.contains("\x1b[2J\x1b]0;owned\x07"), "{draft:?}");

    // `show` and `status` print it made visible too.
    let (code, out, err) = sandbox
        .cmd(&["show", "esc", "MIG-1", "--draft"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fine.^[[2J^[]0;owned^G Approve"), "{out:?}");
    let (code, status, _) = sandbox.cmd(&["status", "esc"]).run().await;
    assert_eq!(code, 0);
    for raw in RAW {
        assert!(!out.contains(raw) && !status.contains(raw), "{raw:?}");
    }
}
