//! What the binary gives a shell and `man`: completion scripts that load,
//! a man page, and the local server's commands without a checkout.

use crate::support::Sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shell_gets_a_script_and_bash_can_source_it() {
    let sandbox = Sandbox::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef migagent"),
        ("fish", "complete -c migagent"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = sandbox.cmd(&["completions", shell]).run().await;
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell} script lacks {marker:?}");
        for command in ["approve", "workflows", "local-llm"] {
            assert!(out.contains(command), "{shell} script lacks {command}");
        }
    }
    let (_, script, _) = sandbox.cmd(&["completions", "bash"]).run().await;
    let path = sandbox.write("migagent.bash", &script);
    // Sourced in a real bash, the script registers a completion for
    // migagent, and completing "migagent app" offers approve.
    let probe = format!(
        "source {}; COMP_WORDS=(migagent app); COMP_CWORD=1; COMP_LINE='migagent app'; \
         COMP_POINT=12; _migagent migagent app migagent; complete -p migagent; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("-F _migagent migagent"), "{text}");
    assert!(text.lines().any(|l| l == "approve"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_man_page_documents_every_command() {
    let sandbox = Sandbox::new();
    let (code, page, err) = sandbox.cmd(&["man"]).run().await;
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH migagent 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "the man page lacks {section}");
    }
    for command in ["run", "approve", "verify", "completions", "local\\-llm"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
}

/// Completions and the man page need no config: a broken one does not stop
/// a person from installing them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_work_with_a_broken_config() {
    let sandbox = Sandbox::new();
    let config = sandbox.write_config("this is = = not toml");
    let config = config.to_string_lossy().to_string();
    let (code, _, err) = sandbox.cmd(&["--config", &config, "list"]).run().await;
    assert_eq!(code, 1, "the broken config is refused elsewhere: {err}");
    let (code, out, err) = sandbox
        .cmd(&["--config", &config, "completions", "fish"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty());
}

/// `migagent local-llm` runs the script built into the binary: an installed
/// migagent has it without a checkout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_llm_status_runs_the_built_in_script() {
    let sandbox = Sandbox::new();
    let cache = sandbox.path().join("llm-cache");
    let other = sandbox.path().join("elsewhere");
    std::fs::create_dir_all(&other).expect("folder");
    let (code, out, err) = sandbox
        .cmd(&["local-llm", "status"])
        .env("MIGAGENT_CACHE_DIR", &cache)
        .env("MIGAGENT_LLM_PORT", "9")
        .current_dir(&other)
        .run()
        .await;
    assert_eq!(code, 3, "stopped is exit 3: {out}{err}");
    assert!(
        out.contains(&format!("cache:  {}", cache.display())),
        "{out}"
    );
    assert!(out.contains("server: not built yet"), "{out}");
    assert!(out.contains("state:  stopped"), "{out}");
    let (code, _, err) = sandbox.cmd(&["local-llm", "restart"]).run().await;
    assert_eq!(code, 2, "an unknown action is a usage error: {err}");
    assert!(err.contains("start") && err.contains("fetch"), "{err}");
}
