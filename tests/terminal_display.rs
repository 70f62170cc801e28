//! What a person sees at a real terminal while drafts stream and at the
//! gate: no raw JSON and each draft shown once, panel findings as findings,
//! words kept whole on a narrow screen, `##` markers without colour, the
//! `--color` rules, a clean Ctrl-C, and long drafts through the pager. The
//! screen is read through a terminal emulator (vt100) where what matters is
//! what stays on it, not the bytes that went by.

use std::time::Duration;

use serde_json::Value;

use crate::support::{blocking, pending, Cmd, FakeServer, Pty, Sandbox};

const NEED: &str = "Move the session store from Redis 6 to Valkey 8";

/// A sandbox whose commands carry the API key and a terminal type, as from
/// a person's shell.
fn terminal_sandbox() -> Sandbox {
    Sandbox::new().with_api_key().env("TERM", "xterm-256color")
}

/// `migagent run` of the default workflow against `base`.
fn run_args<'a>(base: &'a str, run_id: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--need",
        NEED,
        "--base-url",
        base,
        "--run-id",
        run_id,
    ]
}

/// The screen after `raw` was written to a terminal `cols` wide (tall
/// enough that nothing scrolls away).
fn screen(raw: &str, cols: u16) -> vt100::Parser {
    let rows = std::num::NonZeroU16::new(2000).expect("rows");
    let cols = std::num::NonZeroU16::new(cols).expect("cols");
    let mut parser = vt100::Parser::new(rows, cols, 0);
    parser.process(raw.as_bytes());
    parser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_mode_draft_streams_no_json_and_is_shown_once() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().structured().start().await;
    let base = fake.base_url();
    let cmd = sandbox.cmd(&run_args(&base, "json"));
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("── drafting MIG-1 r1");
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    let run_dir = sandbox.run_dir("json");
    let json = std::fs::read_to_string(run_dir.join("drafts/MIG-1.r1.json"))
        .expect("drafted in schema mode");
    let answer: Value = serde_json::from_str(&json).expect("the answer is JSON");
    let keys: Vec<&String> = answer.as_object().expect("an object").keys().collect();
    assert!(keys.len() > 3, "{json}");
    assert!(
        !seen.contains("{\""),
        "raw JSON reached the screen:\n{seen}"
    );
    for key in keys {
        assert!(
            !seen.contains(&format!("\"{key}\"")),
            "the key \"{key}\" reached the screen:\n{seen}"
        );
    }
    // The rendered artifact, once: every line of its body is on the screen
    // as often as in the draft, no more.
    let draft = std::fs::read_to_string(run_dir.join("drafts/MIG-1.r1.md")).expect("draft");
    let marker = "fake-MIG-1-call";
    let in_draft = draft.matches(marker).count();
    assert!(in_draft > 0, "{draft}");
    assert_eq!(
        seen.matches(marker).count(),
        in_draft,
        "the draft's text should be on screen once:\n{seen}"
    );
    for heading in ["## Migration", "## Risk Level", "## Risk Factors"] {
        assert_eq!(seen.matches(heading).count(), 1, "{heading}:\n{seen}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_markdown_draft_is_shown_once_too() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let cmd = sandbox.cmd(&run_args(&base, "md"));
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    // Each heading of the draft once (the status line names sections
    // without their `##`), and its body lines as often as in the draft.
    for heading in ["## Migration", "## Risk Level", "## Risk Factors"] {
        assert_eq!(seen.matches(heading).count(), 1, "{heading}:\n{seen}");
    }
    let draft =
        std::fs::read_to_string(sandbox.run_dir("md").join("drafts/MIG-1.r1.md")).expect("draft");
    let body = "— fake-MIG-1-call1";
    assert!(draft.contains(body), "{draft}");
    assert_eq!(
        seen.matches(body).count(),
        draft.matches(body).count(),
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_findings_are_shown_as_findings() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().structured().start().await;
    let base = fake.base_url();
    // Through the plan and its step without a terminal, up to the panel's
    // phase.
    let (mut code, out, err) = sandbox.start_run(NEED, &base, "panel").await;
    assert_eq!(code, 10, "{out}{err}");
    loop {
        let status = sandbox.status("panel").await;
        if status["state"] == "awaiting_evidence" {
            sandbox.note("panel", "step done, checks green").await;
            (code, _, _) = sandbox.resume("panel", &base).await;
            assert_eq!(code, 10);
            continue;
        }
        let artifact = pending(&status);
        sandbox.approve("panel").await;
        if artifact.starts_with("MIG-4.") {
            break;
        }
        let (c, o, e) = sandbox.resume("panel", &base).await;
        assert_eq!(c, 10, "{o}{e}");
    }
    let cmd = sandbox.cmd(&["resume", "panel", "--base-url", &base]);
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("### Findings of");
        pty.menu("MIG-5");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    assert!(
        !seen.contains("{\""),
        "raw JSON reached the screen:\n{seen}"
    );
    assert!(!seen.contains("\"findings\""), "{seen}");
    assert!(
        seen.contains("- fake-MIG-5-call"),
        "findings as bullets:\n{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_terminal_breaks_gate_lines_between_words() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let cmd = sandbox.cmd_sized(60, 40, &run_args(&base, "narrow"));
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn_sized(cmd, 60, 40);
        pty.menu("MIG-1");
        // An answer the gate does not take, so its retry prompt shows too.
        pty.send("x\r");
        pty.expect("Please answer");
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    let parser = screen(&seen, 60);
    let rows: Vec<String> = parser.screen().rows(0, 60).collect();
    let first = rows
        .iter()
        .position(|r| r.starts_with("Approval criteria:"))
        .unwrap_or_else(|| panic!("no criteria on screen:\n{}", rows.join("\n")));
    let last = rows
        .iter()
        .rposition(|r| r.contains("Save and quit"))
        .expect("the menu");
    for (i, row) in rows.iter().enumerate().take(last + 1).skip(first) {
        // The pty does not echo input, so what follows a `> ` prompt shares
        // its row; at a person's terminal the answer and Enter come between.
        if row.starts_with("> ") {
            continue;
        }
        assert!(
            !parser.screen().row_wrapped(i as u16),
            "the terminal had to break row {i} ({row:?}) mid-line:\n{}",
            rows[first..=last].join("\n")
        );
    }
    // Every word of the criteria is there whole.
    let gate = rows[first..=last].join("\n");
    let words: Vec<&str> = gate.split_whitespace().collect();
    for word in ["identified.", "documented.", "approve/revise/resume)"] {
        assert!(words.contains(&word), "{word} is broken:\n{gate}");
    }
    // The retry prompt offers only what this gate has: no previous draft,
    // so no diff.
    let flowed = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flowed.contains("Please answer with a number from the list (1 to 2), or e, v or q."),
        "{seen}"
    );
}

/// A run `id` with MIG-1 drafted (without a terminal), for `show`.
async fn drafted(sandbox: &Sandbox, id: &str) {
    let fake = FakeServer::new().start().await;
    let (code, out, err) = sandbox.start_run(NEED, &fake.base_url(), id).await;
    assert_eq!(code, 10, "{out}{err}");
}

/// `show RUN MIG-1 --draft` at a pty, with `setup` applied; the output.
async fn show_at_a_pty(sandbox: &Sandbox, id: &str, setup: impl FnOnce(Cmd) -> Cmd) -> String {
    let cmd = setup(sandbox.cmd(&["show", id, "MIG-1", "--draft"]));
    let (code, seen) = blocking(move || Pty::spawn(cmd).finish()).await;
    assert_eq!(code, 0, "{seen}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_colour_headings_keep_their_markers() {
    let sandbox = terminal_sandbox();
    drafted(&sandbox, "nc").await;
    // The sandbox sets NO_COLOR.
    let seen = show_at_a_pty(&sandbox, "nc", |c| c).await;
    assert!(seen.contains("## Migration"), "{seen:?}");
    assert!(seen.contains("## Risk Level"), "{seen:?}");
    assert!(!seen.contains("\x1b["), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_follows_the_flag_then_the_variables() {
    let sandbox = terminal_sandbox();
    drafted(&sandbox, "col").await;
    let piped = |args: &[&str], env: &[(&str, &str)], keep_no_color: bool| {
        let mut all = vec!["show", "col", "MIG-1", "--draft"];
        all.extend_from_slice(args);
        let mut cmd = sandbox.cmd(&all);
        if !keep_no_color {
            cmd = cmd.env_remove("NO_COLOR");
        }
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        cmd
    };
    // stdout a pipe: no colour unless asked for.
    let (code, out, err) = piped(&[], &[], false).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("\x1b["), "{out:?}");
    // --color always wins, even over NO_COLOR.
    let (_, out, _) = piped(&["--color", "always"], &[], true).run().await;
    assert!(out.contains("\x1b["), "--color always: {out:?}");
    // CLICOLOR_FORCE colours a pipe; NO_COLOR goes before it.
    let (_, out, _) = piped(&[], &[("CLICOLOR_FORCE", "1")], false).run().await;
    assert!(out.contains("\x1b["), "CLICOLOR_FORCE=1: {out:?}");
    let (_, out, _) = piped(&[], &[("CLICOLOR_FORCE", "1")], true).run().await;
    assert!(
        !out.contains("\x1b["),
        "NO_COLOR and CLICOLOR_FORCE: {out:?}"
    );

    // At a terminal: colour by default; none with --color never or a dumb
    // terminal.
    let seen = show_at_a_pty(&sandbox, "col", |c| c.env_remove("NO_COLOR")).await;
    assert!(seen.contains("\x1b["), "auto at a terminal: {seen:?}");
    let seen = show_at_a_pty(&sandbox, "col", |c| {
        c.env_remove("NO_COLOR").args(&["--color", "never"])
    })
    .await;
    assert!(!seen.contains("\x1b["), "--color never: {seen:?}");
    assert!(seen.contains("## Migration"), "{seen:?}");
    let seen = show_at_a_pty(&sandbox, "col", |c| {
        c.env_remove("NO_COLOR").env("TERM", "dumb")
    })
    .await;
    assert!(!seen.contains("\x1b["), "TERM=dumb: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_draft_clears_the_status_line() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new()
        .delay(Duration::from_secs(60))
        .start()
        .await;
    let base = fake.base_url();
    let cmd = sandbox.cmd(&run_args(&base, "cc"));
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("waiting for the model");
        pty.send("\x03");
        pty.expect("Interrupted");
        pty.finish()
    })
    .await;
    assert_eq!(code, 130, "{seen}");
    let parser = screen(&seen, 80);
    let shown = parser.screen().contents();
    assert!(
        shown.contains("Interrupted. Run cc is saved and nothing was decided"),
        "{shown}"
    );
    assert!(
        !shown.contains("waiting for the model"),
        "the status line stayed on screen:\n{shown}"
    );
    assert!(!parser.screen().hide_cursor(), "the cursor is shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_writes_no_escapes_into_a_redirected_stderr() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new()
        .delay(Duration::from_secs(60))
        .start()
        .await;
    let base = fake.base_url();
    // stdout at the terminal, stderr into a file.
    let log = sandbox.path().join("stderr.log");
    let cmd = sandbox
        .cmd_under(
            &["sh", "-c", "exec \"$0\" \"$@\" 2>\"$STDERR_FILE\""],
            &run_args(&base, "cc2"),
        )
        .env("STDERR_FILE", &log);
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.expect("── drafting");
        pty.send("\x03");
        pty.finish()
    })
    .await;
    assert_eq!(code, 130, "{seen}");
    let err = std::fs::read_to_string(&log).expect("stderr log");
    assert!(err.contains("Interrupted. Run cc2"), "{err:?}");
    assert!(!err.contains("\x1b["), "escapes in a file: {err:?}");
}

/// A pager that keeps what it was given in `out` (appending), for tests.
fn recording_pager(sandbox: &Sandbox, out: &std::path::Path) -> String {
    let script = sandbox.write(
        "bin/record-pager",
        &format!("#!/bin/sh\ncat >> '{}'\n", out.display()),
    );
    let mut perms = std::fs::metadata(&script).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    script.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_draft_goes_through_the_pager_at_a_terminal_only() {
    let sandbox = terminal_sandbox();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let paged = sandbox.path().join("paged.txt");
    let pager = recording_pager(&sandbox, &paged);
    let cmd = sandbox
        .cmd_sized(80, 12, &run_args(&base, "pg"))
        .env_remove("MIGAGENT_PAGER")
        .env("PAGER", &pager);
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn_sized(cmd, 80, 12);
        pty.menu("MIG-1");
        // `v` shows it again, through the pager again.
        pty.send("v\r");
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    let draft =
        std::fs::read_to_string(sandbox.run_dir("pg").join("drafts/MIG-1.r1.md")).expect("draft");
    let through = std::fs::read_to_string(&paged).expect("the pager ran");
    assert_eq!(
        through.matches("## Risk Level").count(),
        2,
        "shown, then viewed again:\n{through}"
    );
    assert!(through.contains(draft.trim()), "{through}");
    assert!(
        !seen.contains("## Risk Level"),
        "the draft went to the screen besides the pager:\n{seen}"
    );

    // stdout not a terminal: printed, never paged.
    std::fs::remove_file(&paged).expect("rm");
    let (code, out, err) = sandbox
        .cmd(&["show", "pg", "MIG-1", "--draft"])
        .env_remove("MIGAGENT_PAGER")
        .env("PAGER", &pager)
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("## Risk Level"), "{out}");
    assert!(!paged.exists(), "the pager ran with stdout a pipe");

    // A pager that cannot start: the draft is printed instead.
    let cmd = sandbox
        .cmd_sized(80, 12, &["show", "pg", "MIG-1", "--draft"])
        .env("MIGAGENT_PAGER", "/nonexistent/pager");
    let (code, seen) = blocking(move || Pty::spawn_sized(cmd, 80, 12).finish()).await;
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("## Risk Level"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pager_quit_before_the_end_leaves_the_gate_working() {
    let sandbox = terminal_sandbox();
    // Longer than a pipe holds, so the write to a pager that has quit
    // fails.
    let mut long = String::from("## Migration\nValkey 8\n\n## Motivation\n");
    while long.len() < 200_000 {
        long.push_str("The session store outgrew its single primary; replicas lag at peak.\n");
    }
    let fake = FakeServer::new().answer("MIG-1", &long).start().await;
    let base = fake.base_url();
    // `true` reads nothing and exits at once, as a person pressing q in less
    // before the end.
    let cmd = sandbox
        .cmd(&run_args(&base, "quit"))
        .env("MIGAGENT_PAGER", "true");
    let (code, seen) = blocking(move || {
        let mut pty = Pty::spawn(cmd);
        pty.menu("MIG-1");
        pty.send("q\r");
        pty.finish()
    })
    .await;
    assert_eq!(code, 10, "{seen}");
    assert!(
        !seen.contains("replicas lag at peak"),
        "the draft was printed besides the pager"
    );
    assert!(seen.contains("awaiting: MIG-1"), "{seen}");
}
