//! What a writer already checked of its journal, so the next command does
//! not read the whole journal again.
//!
//! Every decision checks the run before it records anything: the journal's
//! chain, what each line records, the files in use against it. Reading the
//! whole journal for that made a decision's cost grow with the run's
//! history (a run of 100,000 events read 30 MB per decision). A command
//! that held the run's lock and found its journal whole leaves what it
//! read in `.journal-checked.json`, extended with every line it appended
//! itself, beside the journal's identity as the filesystem gives it
//! (device, inode, length, change and modification times). The next
//! command takes it instead of reading the journal only when that identity
//! is unchanged, that is when nothing but that command wrote the journal
//! since. An edit by anyone else (an editor, `sed -i`, an append with
//! `>>`) changes the change time or the inode, and the whole journal is
//! read and checked as before. `migagent verify` always reads it whole.
//!
//! The file is a cache: deleting it costs one full read, and a damaged,
//! foreign or oversized one is ignored.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::journal_scan::{record, Recorded, Scan};
use super::ChainState;
use crate::store::journal::line_hash;

/// The cache's file name, in the run folder.
pub const CHECKED_FILE: &str = ".journal-checked.json";

/// The cache is never read past this size: a real one holds a record per
/// file of the run, far below it.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Bumped when the cache's shape or meaning changes: an older cache is
/// then ignored.
const VERSION: u32 = 1;

/// The journal's identity as the filesystem gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    ctime: (i64, i64),
    mtime: (i64, i64),
}

impl Stamp {
    fn of(journal: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(journal).ok()?;
        m.file_type().is_file().then(|| Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            ctime: (m.ctime(), m.ctime_nsec()),
            mtime: (m.mtime(), m.mtime_nsec()),
        })
    }
}

/// A journal read whole and found intact (no broken link, no unreadable
/// or foreign line, no torn end), and what its lines record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckedJournal {
    version: u32,
    run_id: String,
    /// The journal as it was when this was saved; `None` in memory until
    /// then.
    stamp: Option<Stamp>,
    /// Whole lines, and the bytes they take.
    pub lines: u64,
    pub len: u64,
    /// The hash the next line's `prev` carries.
    pub last_hash: String,
    pub(super) chain: ChainState,
    pub(super) first_chained: usize,
    /// Lines without `prev`, from an earlier migagent.
    pub unchained: usize,
    pub(super) recorded: Recorded,
}

impl CheckedJournal {
    /// What a full scan read; kept for the next command only when it
    /// found the journal intact.
    pub(super) fn from_scan(run_id: &str, scan: Scan) -> CheckedJournal {
        CheckedJournal {
            version: VERSION,
            run_id: run_id.to_string(),
            stamp: None,
            lines: scan.lines as u64,
            len: scan.len,
            last_hash: scan.last_hash,
            chain: scan.chain,
            first_chained: scan.first_chained,
            unchained: scan.unchained,
            recorded: scan.recorded,
        }
    }

    /// The cache of run `run_id` in `dir`, if its journal is still exactly
    /// the one it describes.
    pub fn load(dir: &Path, run_id: &str) -> Option<CheckedJournal> {
        let file = fs::File::open(dir.join(CHECKED_FILE)).ok()?;
        let mut bytes = Vec::new();
        file.take(MAX_BYTES + 1).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > MAX_BYTES {
            return None;
        }
        let cached: CheckedJournal = serde_json::from_slice(&bytes).ok()?;
        let now = Stamp::of(&dir.join("journal.jsonl"))?;
        let valid = cached.version == VERSION
            && cached.run_id == run_id
            && cached.stamp.as_ref() == Some(&now)
            && cached.len == now.len;
        valid.then_some(cached)
    }

    /// Saves this, stamped with the journal as it is now. Called by the
    /// lock holder as it gives up the lock, so the stamp is of the journal
    /// it checked plus its own lines. Not synced: a cache lost in
    /// a crash costs one full read, and a stale one never matches.
    pub fn save(&mut self, dir: &Path) {
        let journal = dir.join("journal.jsonl");
        let Some(stamp) = Stamp::of(&journal) else {
            return;
        };
        if stamp.len != self.len {
            // Not the journal this describes: leave no cache at all.
            let _ = fs::remove_file(dir.join(CHECKED_FILE));
            return;
        }
        self.stamp = Some(stamp);
        let Ok(json) = serde_json::to_vec(self) else {
            return;
        };
        let tmp = dir.join(format!(".{CHECKED_FILE}.{}.tmp", std::process::id()));
        let written = fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(&json))
            .and_then(|()| fs::rename(&tmp, dir.join(CHECKED_FILE)));
        if written.is_err() {
            // An older cache left in place never matches the journal now.
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Takes in the lines this process appended (`bytes`, whole lines),
    /// as a full scan would have read them.
    pub fn extend(&mut self, bytes: &[u8]) {
        for raw in bytes.split_inclusive(|b| *b == b'\n') {
            self.lines += 1;
            self.len += raw.len() as u64;
            self.last_hash = line_hash(raw);
            let number = usize::try_from(self.lines).unwrap_or(usize::MAX);
            if self.chain == ChainState::Empty {
                self.chain = ChainState::Chained;
                self.first_chained = number;
            } else if self.chain == ChainState::Unchained {
                self.chain = ChainState::Partly;
                self.first_chained = number;
            }
            if let Ok(value) = serde_json::from_slice::<Value>(raw) {
                record(&value, number, &mut self.recorded);
            }
        }
    }

    /// The artifacts the journal records as approved or accepted.
    pub fn approved_artifacts(&self) -> impl Iterator<Item = &str> {
        self.recorded.approvals.iter().map(|a| a.artifact.as_str())
    }
}
