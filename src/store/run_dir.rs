//! The run folder: where runs live, creating one (in a staging folder
//! renamed into place) and opening one under an OS file lock or read-only,
//! reading and writing its files, and appending to its journal.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::journal_file::{encode_batch, read_journal, torn_path, JournalRead, GENESIS};
use super::verify::CheckedJournal;
use super::{io_err, now_rfc3339, write_atomic, JournalEvent, JournalMark, RunState, StoreError};

/// The journal's file name in a run folder.
pub const JOURNAL: &str = "journal.jsonl";

/// Where runs live: `STATE_DIR/runs/RUN_ID/`.
#[derive(Debug, Clone)]
pub struct RunStore {
    runs: PathBuf,
}

pub fn validate_run_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadRunId(id.to_string()))
    }
}

/// Told apart staging folders of one process (tests start many runs).
static STAGING: AtomicU64 = AtomicU64::new(0);

impl RunStore {
    pub fn new(state_dir: &Path) -> RunStore {
        RunStore {
            runs: state_dir.join("runs"),
        }
    }

    pub fn runs_dir(&self) -> &Path {
        &self.runs
    }

    /// Starts a new run in a hidden staging folder, locked. Nothing is
    /// under `RUN_ID` until [`RunDir::publish`] renames it into place, so a
    /// kill before that leaves the id free. A folder under the id without a
    /// `run.json` (a start an earlier version never finished) is set aside.
    pub fn create(&self, run_id: &str) -> Result<RunDir, StoreError> {
        validate_run_id(run_id)?;
        // Runs hold what people paste in (configs, logs): readable by
        // their owner only.
        private_dir()
            .recursive(true)
            .create(&self.runs)
            .map_err(io_err("create", &self.runs))?;
        let path = self.runs.join(run_id);
        self.make_room(run_id, &path)?;
        self.clean_staging();
        let n = STAGING.fetch_add(1, Ordering::Relaxed);
        let staging = self
            .runs
            .join(format!(".{run_id}.starting-{}-{n}", std::process::id()));
        if staging.exists() {
            // Left by a dead process that had the same pid.
            let _ = fs::remove_dir_all(&staging);
        }
        private_dir()
            .create(&staging)
            .map_err(io_err("create", &staging))?;
        let mut dir = RunDir::lock(staging, run_id)?;
        dir.publish_to = Some(path);
        Ok(dir)
    }

    /// Refuses an id in use; sets aside a folder with no `run.json`.
    fn make_room(&self, run_id: &str, path: &Path) -> Result<(), StoreError> {
        if !path.exists() {
            return Ok(());
        }
        if path.join("run.json").is_file() {
            return Err(StoreError::RunExists {
                run_id: run_id.into(),
                dir: self.runs.clone(),
            });
        }
        let aside = (1..)
            .map(|n| self.runs.join(format!(".{run_id}.abandoned-{n}")))
            .find(|p| !p.exists())
            .unwrap_or_else(|| self.runs.join(format!(".{run_id}.abandoned")));
        fs::rename(path, &aside).map_err(io_err("set aside", path))?;
        tracing::warn!(
            "run folder {} had no run.json (a start that never finished); moved to {}",
            path.display(),
            aside.display()
        );
        Ok(())
    }

    /// Removes staging folders of starts that died: their lock is free.
    fn clean_staging(&self) {
        let Ok(entries) = fs::read_dir(&self.runs) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with('.') && name.contains(".starting-")) {
                continue;
            }
            let path = entry.path();
            let Ok(held) = File::open(path.join(".lock")) else {
                continue;
            };
            if held.try_lock().is_ok() {
                let _ = fs::remove_dir_all(&path);
            }
        }
    }

    /// Opens a run to change it: locked, with a torn end of its journal set
    /// aside and temporary files of a killed write removed.
    pub fn open(&self, run_id: &str) -> Result<RunDir, StoreError> {
        let path = self.existing(run_id)?;
        let dir = RunDir::lock(path, run_id)?;
        dir.recover()?;
        Ok(dir)
    }

    /// Opens a run to read it, without its lock, while another command may
    /// be working on it. Nothing can be written through it.
    pub fn open_read_only(&self, run_id: &str) -> Result<RunDir, StoreError> {
        let path = self.existing(run_id)?;
        Ok(RunDir::unlocked(path, run_id))
    }

    fn existing(&self, run_id: &str) -> Result<PathBuf, StoreError> {
        validate_run_id(run_id)?;
        let path = self.runs.join(run_id);
        if !path.join("run.json").is_file() {
            return Err(StoreError::NoSuchRun {
                run_id: run_id.into(),
                dir: self.runs.clone(),
            });
        }
        Ok(path)
    }

    /// Every run's state, newest first. Unreadable runs are reported, not
    /// skipped silently; hidden folders (runs being started, set aside)
    /// are not runs.
    pub fn list(&self) -> Vec<Result<RunState, StoreError>> {
        let Ok(entries) = fs::read_dir(&self.runs) else {
            return Vec::new();
        };
        let mut out: Vec<Result<RunState, StoreError>> = entries
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path().join("run.json"))
            .filter(|p| p.is_file())
            .map(|p| read_state(&p))
            .collect();
        out.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => b.created_at.cmp(&a.created_at),
            _ => std::cmp::Ordering::Equal,
        });
        out
    }
}

/// Folders only their owner may enter: a run holds the request, context
/// files and drafts, which may be confidential, and nobody else on the
/// machine needs to read them. Set at creation (the umask can only take
/// bits away), so there is no moment when the folder is open to others.
fn private_dir() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

pub(super) fn read_state(path: &Path) -> Result<RunState, StoreError> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the journal ends, as the process that holds the lock appends.
#[derive(Debug)]
struct JournalTail {
    len: u64,
    lines: u64,
    last_hash: String,
    /// Opened for appending on the first event.
    file: Option<File>,
}

/// An open run folder: locked to change it, or read-only.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    run_id: String,
    /// The OS lock; `None` when opened read-only.
    lock: Option<File>,
    /// While the run is being started: the folder it is renamed to.
    publish_to: Option<PathBuf>,
    tail: Mutex<JournalTail>,
    /// The journal as this process found it intact, with its own lines
    /// since: kept in `.journal-checked.json` for the next command (see
    /// [`CheckedJournal`]).
    checked: Mutex<Option<CheckedJournal>>,
    /// Whether `checked` holds more than `.journal-checked.json` does.
    checked_unsaved: AtomicBool,
    /// What opening the run set aside, for the command to say.
    notices: Mutex<Vec<String>>,
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // A start that failed before it was published leaves nothing.
        if self.publish_to.is_some() && self.lock.is_some() {
            let _ = fs::remove_dir_all(&self.path);
            return;
        }
        // What this command checked and appended, for the next one: saved
        // once, as the lock is given up (a kill before leaves the older
        // cache, which no longer matches the journal and is ignored).
        if self.lock.is_some() && self.checked_unsaved.load(Ordering::Relaxed) {
            if let Some(checked) = lock(&self.checked).as_mut() {
                checked.save(&self.path);
            }
        }
    }
}

impl RunDir {
    fn unlocked(path: PathBuf, run_id: &str) -> RunDir {
        RunDir {
            path,
            run_id: run_id.to_string(),
            lock: None,
            publish_to: None,
            tail: Mutex::new(JournalTail {
                len: 0,
                lines: 0,
                last_hash: GENESIS.to_string(),
                file: None,
            }),
            checked: Mutex::new(None),
            checked_unsaved: AtomicBool::new(false),
            notices: Mutex::new(Vec::new()),
        }
    }

    fn lock(path: PathBuf, run_id: &str) -> Result<RunDir, StoreError> {
        let lock_path = path.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        match file.try_lock() {
            Ok(()) => {
                let mut dir = RunDir::unlocked(path, run_id);
                dir.lock = Some(file);
                Ok(dir)
            }
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                run_id: run_id.into(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &lock_path)(e)),
        }
    }

    /// Renames a run being started into place, once its state is saved;
    /// from then on its id is taken.
    pub fn publish(&mut self) -> Result<(), StoreError> {
        let Some(to) = self.publish_to.clone() else {
            return Ok(());
        };
        // `rename` would replace an empty folder: a run started meanwhile
        // under the same id is never empty.
        if to.exists() {
            return Err(StoreError::RunExists {
                run_id: self.run_id.clone(),
                dir: to.parent().unwrap_or(Path::new(".")).to_path_buf(),
            });
        }
        fs::rename(&self.path, &to).map_err(io_err("create", &to))?;
        self.publish_to = None;
        self.path = to;
        sync_dir(&self.path);
        if let Some(runs) = self.path.parent() {
            sync_dir(runs);
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Whether this process holds the run's lock and may change it.
    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    pub(super) fn require_writable(&self) -> Result<(), StoreError> {
        if self.is_writable() {
            Ok(())
        } else {
            Err(StoreError::ReadOnly {
                run_id: self.run_id.clone(),
            })
        }
    }

    /// What opening or writing set aside (a torn journal end, a file no
    /// journal line records) since last asked, in words, for the command to
    /// report.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.notices))
    }

    pub(super) fn notice(&self, text: String) {
        // The command prints it (see `Engine::notices`); logged for -v too.
        tracing::info!("{text}");
        lock(&self.notices).push(text);
    }

    /// On opening to write: sets aside a torn end of the journal, learns
    /// where it ends, and removes temporary files a killed write left.
    fn recover(&self) -> Result<(), StoreError> {
        let path = self.path.join(JOURNAL);
        // Nothing but the last command that held the lock wrote the
        // journal since it checked it: its end is known without reading.
        if let Some(checked) = CheckedJournal::load(&self.path, &self.run_id) {
            if checked.unchained > 0 {
                self.notice(unchained_notice(&self.run_id, checked.unchained));
            }
            let mut tail = lock(&self.tail);
            tail.len = checked.len;
            tail.lines = checked.lines;
            tail.last_hash = checked.last_hash.clone();
            drop(tail);
            *lock(&self.checked) = Some(checked);
            remove_temp_files(&self.path);
            return Ok(());
        }
        let read = read_journal(&path)?;
        if let Some(torn) = &read.torn {
            let aside = torn_path(&self.path, &torn.bytes);
            write_atomic(&aside, &torn.bytes)?;
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            file.set_len(torn.offset)
                .and_then(|()| file.sync_all())
                .map_err(io_err("truncate", &path))?;
            self.notice(format!(
                "run '{}': the journal ended in a torn write ({}); its {} bytes were moved to {} and the run goes on from line {}",
                self.run_id,
                torn.why,
                torn.bytes.len(),
                aside.display(),
                torn.first_line.saturating_sub(1)
            ));
        }
        if read.unchained > 0 {
            self.notice(unchained_notice(&self.run_id, read.unchained));
        }
        let mut tail = lock(&self.tail);
        tail.len = read.whole_len();
        tail.lines = read.lines.len() as u64;
        tail.last_hash = read.last_hash();
        drop(tail);
        remove_temp_files(&self.path);
        Ok(())
    }

    pub fn load_state(&self) -> Result<RunState, StoreError> {
        read_state(&self.path.join("run.json"))
    }

    /// Saves `state` as `run.json`, marked with how far into the journal it
    /// goes.
    pub fn save_state(&self, state: &mut RunState) -> Result<(), StoreError> {
        self.require_writable()?;
        state.updated_at = now_rfc3339();
        state.journal = Some(self.journal_mark());
        let path = self.path.join("run.json");
        let json = serde_json::to_vec_pretty(state).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json)
    }

    /// Where the journal ends now: what a state saved now reflects.
    pub fn journal_mark(&self) -> JournalMark {
        let tail = lock(&self.tail);
        JournalMark {
            lines: tail.lines,
            last_hash: tail.last_hash.clone(),
        }
    }

    /// Appends one event to `journal.jsonl`: one line, one write, one
    /// fsync. This is the cost of one event; nothing else is rewritten.
    pub fn journal(&self, event: &JournalEvent) -> Result<(), StoreError> {
        self.journal_all(std::slice::from_ref(event))
    }

    /// Appends the events of one decision with one write and one fsync, so
    /// they are recorded all together or (after a crash, once the torn end
    /// is set aside) not at all. A failed write is cut back off, so a full
    /// disk leaves the journal as it was.
    pub fn journal_all(&self, events: &[JournalEvent]) -> Result<(), StoreError> {
        self.require_writable()?;
        if events.is_empty() {
            return Ok(());
        }
        let path = self.path.join(JOURNAL);
        let mut tail = lock(&self.tail);
        let (bytes, last_hash) = encode_batch(events, &tail.last_hash, &path)?;
        if tail.file.is_none() {
            let created = !path.exists();
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            if created {
                sync_dir(&self.path);
            }
            tail.file = Some(file);
        }
        let len = tail.len;
        let Some(file) = tail.file.as_mut() else {
            return Err(io_err("open", &path)(std::io::ErrorKind::NotFound.into()));
        };
        if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
            let _ = file.set_len(len).and_then(|()| file.sync_data());
            return Err(io_err("append to", &path)(e));
        }
        tail.len += bytes.len() as u64;
        tail.lines += events.len() as u64;
        tail.last_hash = last_hash;
        drop(tail);
        if let Some(checked) = lock(&self.checked).as_mut() {
            checked.extend(&bytes);
            self.checked_unsaved.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The journal as this process found it intact (with its own lines
    /// since), if it did; a check may then skip reading it.
    pub fn checked_journal(&self) -> Option<CheckedJournal> {
        lock(&self.checked).clone()
    }

    /// Runs `f` on the journal as this process found it intact, if it did,
    /// without copying it.
    pub fn with_checked_journal<R>(&self, f: impl FnOnce(Option<&CheckedJournal>) -> R) -> R {
        f(lock(&self.checked).as_ref())
    }

    /// Keeps what a full check found of an intact journal, when it is the
    /// journal this process appends to, and leaves it for the next command.
    /// Only the lock holder keeps it: a reader cannot know nobody appends.
    pub fn keep_checked(&self, checked: CheckedJournal) {
        if !self.is_writable() {
            return;
        }
        let tail = lock(&self.tail);
        if checked.lines != tail.lines || checked.last_hash != tail.last_hash {
            return;
        }
        drop(tail);
        *lock(&self.checked) = Some(checked);
        self.checked_unsaved.store(true, Ordering::Relaxed);
    }

    /// The journal's whole lines, raw and parsed, and its torn end if a
    /// crash left one (a run opened to write has set it aside already).
    pub fn read_journal_lines(&self) -> Result<JournalRead, StoreError> {
        read_journal(&self.path.join(JOURNAL))
    }

    /// The journal's events, in order.
    pub fn read_journal(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        Ok(self
            .read_journal_lines()?
            .lines
            .into_iter()
            .map(|l| l.event)
            .collect())
    }
}

fn unchained_notice(run_id: &str, lines: usize) -> String {
    format!(
        "run '{run_id}': {lines} journal lines were written by an earlier migagent without a hash chain (\"prev\"); they are unchained, and lines from now on are chained"
    )
}

/// A mutex's contents; a panic elsewhere while holding it leaves plain data
/// that is still whole (every change to it is one assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Persists the entries of `dir` (a rename, a new file); some filesystems
/// refuse to fsync a folder, and the data is already safe in the files.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes the temporary files of atomic writes (`.NAME.PID.tmp`) a kill
/// left anywhere in the run; only the lock holder calls this.
fn remove_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(t) if t.is_dir() => remove_temp_files(&path),
            Ok(t) if t.is_file() && name.starts_with('.') && name.ends_with(".tmp") => {
                let _ = fs::remove_file(&path);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventKind;

    fn event(reason: &str) -> JournalEvent {
        JournalEvent {
            at: now_rfc3339(),
            run_id: "r1".into(),
            kind: EventKind::Aborted {
                reason: reason.into(),
                by: "ana".into(),
            },
        }
    }

    /// A published run with `run.json` = `{}` and no journal.
    fn published(store: &RunStore, id: &str) -> RunDir {
        let mut dir = store.create(id).unwrap();
        dir.write("run.json", "{}").unwrap();
        dir.publish().unwrap();
        dir
    }

    #[test]
    fn a_locked_run_cannot_be_opened_twice_but_can_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let first = published(&store, "r1");
        assert!(matches!(store.open("r1"), Err(StoreError::Locked { .. })));
        let reader = store.open_read_only("r1").unwrap();
        assert_eq!(reader.read("run.json").unwrap(), "{}");
        assert!(matches!(
            reader.write("x", "y"),
            Err(StoreError::ReadOnly { .. })
        ));
        assert!(matches!(
            reader.journal(&event("x")),
            Err(StoreError::ReadOnly { .. })
        ));
        drop(first);
        assert!(store.open("r1").is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn run_folders_and_the_runs_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(&dir.path().join("state"));
        let run = store.create("r1").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(run.path()), 0o700, "the run folder");
        assert_eq!(mode(store.runs_dir()), 0o700, "runs/");
        assert_eq!(mode(&dir.path().join("state")), 0o700, "the state folder");
    }

    #[test]
    fn run_ids_are_checked() {
        assert!(validate_run_id("2026-11-27-pg-upgrade").is_ok());
        assert!(validate_run_id("../x").is_err());
        assert!(validate_run_id(".hidden").is_err());
    }

    #[test]
    fn a_run_is_nowhere_until_published_and_a_dead_start_frees_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let starting = store.create("r1").unwrap();
        starting.write("run.json", "{}").unwrap();
        assert!(matches!(
            store.open("r1"),
            Err(StoreError::NoSuchRun { .. })
        ));
        assert!(store.list().is_empty(), "a staging folder is not a run");
        // A start that fails leaves nothing behind.
        drop(starting);
        assert_eq!(fs::read_dir(store.runs_dir()).unwrap().count(), 0);
        // A start that died (its lock is free) is cleaned by the next one.
        let dead = store.runs_dir().join(".r1.starting-999999-0");
        fs::create_dir_all(&dead).unwrap();
        fs::write(dead.join(".lock"), "").unwrap();
        drop(published(&store, "r1"));
        assert!(!dead.exists());
        assert!(store.open("r1").is_ok());
        assert!(matches!(
            store.create("r1"),
            Err(StoreError::RunExists { .. })
        ));
        // An earlier version's folder without run.json is set aside.
        fs::create_dir_all(store.runs_dir().join("old")).unwrap();
        drop(published(&store, "old"));
        assert!(store.runs_dir().join(".old.abandoned-1").is_dir());
    }

    #[test]
    fn events_append_chained_and_the_state_marks_where_it_stands() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let run = published(&store, "r1");
        run.journal(&event("a")).unwrap();
        let before = fs::read(run.path().join(JOURNAL)).unwrap();
        run.journal_all(&[event("b"), event("c")]).unwrap();
        let after = fs::read(run.path().join(JOURNAL)).unwrap();
        assert!(after.starts_with(&before), "appended, not rewritten");
        let read = run.read_journal_lines().unwrap();
        assert_eq!(read.lines.len(), 3);
        assert!(read.broken_links().is_empty());
        assert_eq!(read.lines[0].prev(), Some(GENESIS));
        let mark = run.journal_mark();
        assert_eq!(mark.lines, 3);
        assert_eq!(mark.last_hash, read.last_hash());
    }

    #[test]
    fn a_torn_end_is_set_aside_on_open_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let run = published(&store, "r1");
        run.journal(&event("a")).unwrap();
        run.journal_all(&[event("b"), event("c")]).unwrap();
        let path = run.path().join(JOURNAL);
        drop(run);
        let whole = fs::read(&path).unwrap();
        let first_end = whole.iter().position(|b| *b == b'\n').unwrap() + 1;
        let second_end =
            first_end + whole[first_end..].iter().position(|b| *b == b'\n').unwrap() + 1;
        // Killed after the first of the two lines written together.
        fs::write(&path, &whole[..second_end + 5]).unwrap();
        let run = store.open("r1").unwrap();
        assert_eq!(fs::read(&path).unwrap(), &whole[..first_end]);
        let aside = fs::read(run.path().join("journal.torn-1")).unwrap();
        assert_eq!(aside, &whole[first_end..second_end + 5]);
        let notices = run.take_notices();
        assert!(notices[0].contains("journal.torn-1"), "{notices:?}");
        // The next event chains on from the last whole line.
        run.journal(&event("d")).unwrap();
        let read = run.read_journal_lines().unwrap();
        assert_eq!(read.lines.len(), 2);
        assert!(read.torn.is_none());
        assert!(read.broken_links().is_empty());
    }

    #[test]
    fn a_file_no_journal_line_records_is_set_aside_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let run = published(&store, "r1");
        run.write("drafts/A.r2.md", "first").unwrap();
        run.write_new("drafts/A.r2.md", b"second").unwrap();
        assert_eq!(run.read("drafts/A.r2.md").unwrap(), "second");
        assert_eq!(run.read("drafts/A.r2.unrecorded-1.md").unwrap(), "first");
        // The same bytes again: nothing to set aside.
        run.write_new("drafts/A.r2.md", b"second").unwrap();
        assert!(!run.path().join("drafts/A.r2.unrecorded-2.md").exists());
        assert_eq!(run.take_notices().len(), 1);
    }
}
