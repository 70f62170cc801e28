//! Who is deciding: the name recorded with every decision, resolved the way
//! git finds an author, so containers and CI (where `USER` is often unset)
//! still name a person. In order: `--as`; `MIGAGENT_APPROVER`; `approver`
//! in config.toml; `git config user.name`; `USER` or `LOGNAME`; the account
//! name of the process's uid. A decision is refused only when all are
//! empty, rather than recorded as "unknown".

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How long `git config user.name` may take: a wedged git (a network
/// home folder, a hook) must not hold a decision up.
const GIT_TIMEOUT: Duration = Duration::from_secs(3);

/// The config's `approver`, set once when the command's config is loaded
/// (`Ctx::new`), so that every command that records a name reads the same
/// setting without each carrying the config.
static CONFIGURED: OnceLock<Option<String>> = OnceLock::new();

/// Records the config's `approver` for [`who`].
pub(super) fn set_configured(approver: Option<String>) {
    let _ = CONFIGURED.set(approver);
}

/// The person recorded with a decision (see the module doc for the order).
pub(super) fn who(explicit: Option<String>) -> Result<String> {
    resolve(Sources {
        explicit,
        env: &|name| std::env::var(name).ok(),
        config: CONFIGURED.get().cloned().flatten(),
        git: &git_user_name,
        account: &account_name,
    })
}

/// Where a name may come from; the lookups that cost something (git, the
/// account database) are functions, called only when everything before
/// them is empty.
pub(super) struct Sources<'a> {
    pub explicit: Option<String>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub config: Option<String>,
    pub git: &'a dyn Fn() -> Option<String>,
    pub account: &'a dyn Fn() -> Option<String>,
}

/// The first non-empty name, in the documented order.
pub(super) fn resolve(s: Sources<'_>) -> Result<String> {
    let named = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(n) = named(s.explicit)
        .or_else(|| named((s.env)("MIGAGENT_APPROVER")))
        .or_else(|| named(s.config))
        .or_else(|| named((s.git)()))
        .or_else(|| named((s.env)("USER")))
        .or_else(|| named((s.env)("LOGNAME")))
        .or_else(|| named((s.account)()))
    {
        return Ok(n);
    }
    bail!(
        "cannot tell who is deciding; name yourself in one of these ways, first wins: \
         --as NAME; MIGAGENT_APPROVER=NAME; approver = \"NAME\" in config.toml; \
         git config --global user.name NAME; USER or LOGNAME; \
         or run as an account that has a name"
    )
}

/// `git config user.name`, or `None` when git is absent, fails, says
/// nothing or takes longer than [`GIT_TIMEOUT`].
fn git_user_name() -> Option<String> {
    let mut child = Command::new("git")
        .args(["config", "--get", "user.name"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if started.elapsed() > GIT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let mut out = String::new();
    use std::io::Read;
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The account name of the process's uid, from the system's user database.
fn account_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Resolves with the given sources; `env` holds the variables set.
    fn with(
        explicit: Option<&str>,
        env: &[(&str, &str)],
        config: Option<&str>,
        git: Option<&str>,
        account: Option<&str>,
    ) -> Result<String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let git = git.map(str::to_string);
        let account = account.map(str::to_string);
        resolve(Sources {
            explicit: explicit.map(str::to_string),
            env: &move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            config: config.map(str::to_string),
            git: &move || git.clone(),
            account: &move || account.clone(),
        })
    }

    #[test]
    fn each_source_wins_over_the_ones_after_it() {
        let all_env = [
            ("MIGAGENT_APPROVER", "env-approver"),
            ("USER", "user"),
            ("LOGNAME", "logname"),
        ];
        let full = |explicit| {
            with(
                explicit,
                &all_env,
                Some("config"),
                Some("Git Name\n"),
                Some("account"),
            )
            .unwrap()
        };
        assert_eq!(full(Some("  flag ")), "flag");
        assert_eq!(full(None), "env-approver");
        let no_env = |env: &[(&str, &str)], config, git| {
            with(None, env, config, git, Some("account")).unwrap()
        };
        assert_eq!(
            no_env(&all_env[1..], Some("config"), Some("Git Name")),
            "config"
        );
        assert_eq!(no_env(&all_env[1..], None, Some("Git Name\n")), "Git Name");
        assert_eq!(no_env(&all_env[1..], None, None), "user");
        assert_eq!(no_env(&all_env[2..], None, None), "logname");
        assert_eq!(no_env(&[], None, None), "account");
    }

    #[test]
    fn blank_values_are_skipped_like_missing_ones() {
        let name = with(
            Some(" "),
            &[("MIGAGENT_APPROVER", ""), ("USER", "\t")],
            Some(""),
            Some("\n"),
            Some("acct"),
        )
        .unwrap();
        assert_eq!(name, "acct");
    }

    #[test]
    fn nobody_at_all_is_refused_naming_every_way() {
        let err = with(None, &[], None, None, None).unwrap_err().to_string();
        for way in [
            "--as",
            "MIGAGENT_APPROVER",
            "approver",
            "git config",
            "USER",
            "LOGNAME",
            "account",
        ] {
            assert!(err.contains(way), "{way}: {err}");
        }
    }

    #[test]
    fn git_is_not_asked_when_an_earlier_source_names_someone() {
        let asked = Cell::new(false);
        let git = || {
            asked.set(true);
            None
        };
        let name = resolve(Sources {
            explicit: None,
            env: &|_| None,
            config: Some("cfg".into()),
            git: &git,
            account: &|| None,
        })
        .unwrap();
        assert_eq!(name, "cfg");
        assert!(!asked.get());
    }
}
