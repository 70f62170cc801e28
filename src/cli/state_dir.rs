//! Where runs are kept for this command: `--state-dir` (or
//! `MIGAGENT_STATE_DIR`), else the config's `run.state_dir`, else the
//! nearest `.migagent` folder in the current directory or above it, the
//! way git finds `.git`, so `list` and `status` work from any subfolder of
//! a project; with none found, `./.migagent`, where a new run is created.

use std::path::{Path, PathBuf};

/// The name of the state folder looked for upward.
const STATE_FOLDER: &str = ".migagent";

/// The state folder for a command run in `cwd`.
pub(super) fn state_dir(
    flag_or_env: Option<&Path>,
    configured: Option<&Path>,
    cwd: &Path,
) -> PathBuf {
    match flag_or_env.or(configured) {
        // Absolute, so that every path a command prints (and every path in
        // its JSON) names the same file from any folder.
        Some(dir) => cwd.join(dir),
        None => find_upward(cwd).unwrap_or_else(|| cwd.join(STATE_FOLDER)),
    }
}

/// The nearest `.migagent` folder at `start` or above, up to the
/// filesystem root. A `.migagent` that is a file, not a folder, is passed.
fn find_upward(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(STATE_FOLDER))
        .find(|candidate| candidate.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_state_folder_above_wins_and_a_file_is_passed() {
        let top = tempfile::tempdir().unwrap();
        let deep = top.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(top.path().join(STATE_FOLDER)).unwrap();
        assert_eq!(state_dir(None, None, &deep), top.path().join(STATE_FOLDER));
        std::fs::create_dir(top.path().join("a/b").join(STATE_FOLDER)).unwrap();
        assert_eq!(
            state_dir(None, None, &deep),
            top.path().join("a/b").join(STATE_FOLDER)
        );
        // A file of that name is not a state folder.
        std::fs::write(deep.join(STATE_FOLDER), "x").unwrap();
        assert_eq!(
            state_dir(None, None, &deep),
            top.path().join("a/b").join(STATE_FOLDER)
        );
    }

    #[test]
    fn flags_and_config_come_before_the_search() {
        let top = tempfile::tempdir().unwrap();
        std::fs::create_dir(top.path().join(STATE_FOLDER)).unwrap();
        let flag = Path::new("/flag");
        let conf = Path::new("rel");
        assert_eq!(state_dir(Some(flag), Some(conf), top.path()), flag);
        assert_eq!(
            state_dir(None, Some(conf), top.path()),
            top.path().join(conf)
        );
    }
}
