//! Bad input survived: every file a person names is read only when it is a
//! regular file within its limit (a device, a FIFO, a folder and an
//! oversized file each get a clear error, before a run is created or its
//! lock taken, and nothing hangs); a context file larger than a whole
//! request is refused before it is copied; a context file that is not
//! UTF-8 is kept byte for byte, hashed as given and said how it was read;
//! and run folders are private.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{pending, FakeServer, Sandbox};
use migagent::store::sha256_hex;

const NEED: &str = "Move the billing database to PostgreSQL 16";

/// Generous: a hang is caught, a slow machine is not failed.
const HANG: Duration = Duration::from_secs(60);

/// A FIFO nobody writes to, in the sandbox.
fn fifo(sandbox: &Sandbox, name: &str) -> PathBuf {
    let path = sandbox.path().join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `run --context FILE`; must fail at once, with `expect` in its error and
/// no run created.
async fn run_refuses_context(sandbox: &Sandbox, base: &str, file: &str, expect: &str) {
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            base,
            "--run-id",
            "bad",
            "--context",
            file,
        ])
        .run_or_kill(HANG)
        .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(expect) && err.contains(file),
        "the error names the file and why: {err}"
    );
    assert!(
        !sandbox.run_dir("bad").exists(),
        "no run is created (or its id burned) for a file that cannot be read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_pipes_folders_and_oversized_files_are_refused_everywhere() {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write_config("[limits]\nmax_file_mb = 1\n");
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let pipe = fifo(&sandbox, "pipe");
    let big = sandbox.write("big.log", &"x".repeat(1024 * 1024 + 1));
    let folder = sandbox.path().join("folder");
    std::fs::create_dir(&folder).unwrap();

    run_refuses_context(&sandbox, &base, "/dev/zero", "character device").await;
    run_refuses_context(&sandbox, &base, s(&pipe), "named pipe").await;
    run_refuses_context(&sandbox, &base, s(&folder), "a folder").await;
    run_refuses_context(&sandbox, &base, s(&big), "max_file_mb under [limits]").await;
    assert!(
        fake.request_bodies().await.is_empty(),
        "nothing was drafted"
    );

    // The request and inputs from files, before any run exists.
    for args in [
        vec!["--need-file", "/dev/zero"],
        vec!["--need-file", s(&pipe)],
        vec!["--need-file", s(&big)],
        vec!["--need", NEED, "--input", "Current system state=@/dev/zero"],
    ] {
        let mut all = vec!["run", "--no-input", "--base-url", &base, "--run-id", "bad"];
        all.extend(args.iter());
        let (code, out, err) = sandbox.cmd(&all).run_or_kill(HANG).await;
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("not a regular file") || err.contains("over the limit"),
            "{args:?}: {err}"
        );
        assert!(!sandbox.run_dir("bad").exists(), "{args:?}");
    }

    // A run at its first gate: feedback, an edit and evidence from bad
    // files are refused, and the run stays usable.
    let (code, out, err) = sandbox.start_run(NEED, &base, "ok").await;
    assert_eq!(code, 10, "{out}{err}");
    for args in [
        vec!["revise", "ok", "--feedback-file", "/dev/zero"],
        vec!["revise", "ok", "--feedback-file", s(&pipe)],
        vec!["edit", "ok", "--file", s(&pipe)],
        vec!["edit", "ok", "--file", s(&big)],
        vec!["edit", "ok", "--file", s(&folder)],
        vec![
            "resume",
            "ok",
            "--no-input",
            "--base-url",
            &base,
            "--context",
            s(&pipe),
        ],
        vec![
            "resume",
            "ok",
            "--no-input",
            "--base-url",
            &base,
            "--context",
            "/dev/zero",
        ],
    ] {
        let (code, out, err) = sandbox.cmd(&args).run_or_kill(HANG).await;
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("not a regular file") || err.contains("over the limit"),
            "{args:?}: {err}"
        );
    }
    // Nothing was decided or added, and the lock is free.
    let journal = sandbox.journal("ok");
    assert!(
        !journal
            .iter()
            .any(|e| ["revised", "edited", "context_added"]
                .contains(&e["event"].as_str().unwrap_or(""))),
        "{journal:#?}"
    );
    assert_eq!(pending(&sandbox.status("ok").await), "MIG-1");
    sandbox.approve("ok").await;

    // A workflow file to validate is a library file: the same checks.
    for (file, why) in [("/dev/zero", "character device"), (s(&pipe), "named pipe")] {
        let (code, out, err) = sandbox
            .cmd(&["workflows", "validate", file])
            .run_or_kill(HANG)
            .await;
        assert_ne!(code, 0, "{out}{err}");
        assert!(format!("{out}{err}").contains(why), "{file}: {out}{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_file_larger_than_the_context_is_refused_before_it_is_copied() {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write_config("[profiles.openai]\ncontext_tokens = 8192\nmax_tokens = 1024\n");
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let dump = sandbox.write("dump.sql", &"INSERT INTO t VALUES (1);\n".repeat(4000));
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            &base,
            "--run-id",
            "big",
            "--context",
            s(&dump),
        ])
        .run()
        .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("dump.sql")
            && err.contains("104000 bytes")
            && err.contains("8192-token context")
            && err.contains("7104 tokens"),
        "the error gives the file's size and the budget: {err}"
    );
    assert!(!sandbox.run_dir("big").exists(), "nothing was copied");
    assert!(fake.request_bodies().await.is_empty());

    // Resuming a run with it copies nothing either.
    let (code, out, err) = sandbox.start_run(NEED, &base, "r").await;
    assert_eq!(code, 10, "{out}{err}");
    let (code, out, err) = sandbox
        .cmd(&[
            "resume",
            "r",
            "--no-input",
            "--base-url",
            &base,
            "--context",
            s(&dump),
        ])
        .run()
        .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("nothing was copied into the run"), "{err}");
    assert!(!sandbox.run_dir("r").join("context").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_file_that_is_not_utf8_is_kept_as_given() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let bytes: &[u8] = b"host=db-old\nowner=M\xfcller\nlocale=fr_FR.ISO-8859-1 caf\xe9\n";
    let path = sandbox.path().join("state.txt");
    std::fs::write(&path, bytes).unwrap();
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "--no-input",
            "--need",
            NEED,
            "--base-url",
            &fake.base_url(),
            "--run-id",
            "latin",
            "--context",
            s(&path),
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    let dir = sandbox.run_dir("latin");
    let added: Vec<_> = sandbox
        .journal("latin")
        .into_iter()
        .filter(|e| e["event"] == "context_added")
        .collect();
    assert_eq!(added.len(), 1);
    let stored = std::fs::read(dir.join(added[0]["stored"].as_str().unwrap())).unwrap();
    assert_eq!(stored, bytes, "the bytes as given");
    assert_eq!(added[0]["sha256"], sha256_hex(bytes), "hashed as given");
    assert_eq!(added[0]["decoded"], "utf-8 with 2 replacement characters");
    let user = crate::support::user_message(&fake.request_bodies().await[0]);
    assert!(user.contains("owner=M\u{FFFD}ller"), "{user}");
    assert!(
        user.contains("read as utf-8 with 2 replacement characters"),
        "{user}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_folders_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let (code, out, err) = sandbox.start_run(NEED, &fake.base_url(), "mine").await;
    assert_eq!(code, 10, "{out}{err}");
    for dir in [sandbox.run_dir("mine"), sandbox.state_dir().join("runs")] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
}
