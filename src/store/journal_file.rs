//! `journal.jsonl` on disk: how lines are written, chained and read back.
//!
//! The format, which `migagent verify` and people with `jq` rely on:
//!
//! - one JSON object a line, each ended by `\n`, appended and never
//!   rewritten;
//! - every line carries `"prev"`: the sha256 (hex) of the previous line's
//!   exact bytes, its newline included; the first line's `prev` is
//!   [`GENESIS`], 64 zeros. Journals of earlier migagent versions have no
//!   `prev`: they are read as *unchained* ([`JournalRead::unchained`]), and
//!   lines appended to them chain on from their last line;
//! - the events of one decision are appended with one write; each of them
//!   carries `"batch": [K, N]`, its place among the N lines written
//!   together, so a crash that leaves only part of them is seen as torn,
//!   not as a smaller decision.
//!
//! A crash in the middle of an append leaves a *torn* tail: bytes without a
//! final newline, a line that is not JSON, or a batch cut short. Reading
//! reports it ([`JournalRead::torn`]) and never hands it out as an event;
//! the writer that opens the run next sets it aside (see `RunDir`), so
//! nothing is dropped silently.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::journal::JournalEvent;
use super::{io_err, sha256_hex, StoreError};

/// The `prev` of a journal's first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash that the next line's `prev` carries: the sha256 of `bytes`, one
/// whole line with its newline.
pub fn line_hash(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

/// One whole line of the journal.
#[derive(Debug, Clone)]
pub struct JournalLine {
    /// 1-based, as editors count.
    pub number: usize,
    /// Where the line starts in the file.
    pub offset: u64,
    /// The exact bytes, newline included: what [`line_hash`] is taken of.
    pub raw: Vec<u8>,
    /// The parsed event (always a JSON object).
    pub event: Value,
}

impl JournalLine {
    /// The hash the next line's `prev` must carry.
    pub fn hash(&self) -> String {
        line_hash(&self.raw)
    }

    /// The line's own `prev`, absent in journals of earlier versions.
    pub fn prev(&self) -> Option<&str> {
        self.event.get("prev").and_then(Value::as_str)
    }

    /// The event's name (`approved`, `drafted`, ...).
    pub fn kind(&self) -> &str {
        self.event["event"].as_str().unwrap_or_default()
    }
}

/// The end of a journal a crash cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn bytes start: the journal's whole part ends here.
    pub offset: u64,
    /// The number the first torn line would have had.
    pub first_line: usize,
    pub bytes: Vec<u8>,
    /// What is wrong with it, in words.
    pub why: String,
}

/// A journal as read: its whole lines, and the torn tail if there is one.
#[derive(Debug, Clone, Default)]
pub struct JournalRead {
    pub lines: Vec<JournalLine>,
    pub torn: Option<TornTail>,
    /// How many lines carry no `prev` (written by an earlier migagent).
    pub unchained: usize,
}

impl JournalRead {
    /// The parsed events of the whole lines, in order.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Value> {
        self.lines.iter().map(|l| &l.event)
    }

    /// The length in bytes of the whole lines.
    pub fn whole_len(&self) -> u64 {
        self.lines
            .last()
            .map_or(0, |l| l.offset + l.raw.len() as u64)
    }

    /// The `prev` the next line appended gets.
    pub fn last_hash(&self) -> String {
        self.lines
            .last()
            .map_or_else(|| GENESIS.to_string(), JournalLine::hash)
    }

    /// The numbers of chained lines whose `prev` is not the hash of the
    /// line before them (or, for the first line, not [`GENESIS`]): where a
    /// line was removed, edited or inserted.
    pub fn broken_links(&self) -> Vec<usize> {
        let mut expected = GENESIS.to_string();
        let mut broken = Vec::new();
        for line in &self.lines {
            if let Some(prev) = line.prev() {
                if prev != expected {
                    broken.push(line.number);
                }
            }
            expected = line.hash();
        }
        broken
    }
}

/// Reads the journal at `path`; a journal that does not exist yet is empty.
/// A line in the middle that is not a JSON object is an error: a crash only
/// ever damages the end.
pub fn read_journal(path: &Path) -> Result<JournalRead, StoreError> {
    match fs::read(path) {
        Ok(bytes) => parse_journal(&bytes, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JournalRead::default()),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Reads journal `bytes` (from `path`, for messages).
pub fn parse_journal(bytes: &[u8], path: &Path) -> Result<JournalRead, StoreError> {
    let mut lines: Vec<JournalLine> = Vec::new();
    // The first line that is not whole: (its number, where it starts, why).
    // Torn if nothing whole follows it, an error otherwise.
    let mut bad: Option<(usize, u64, String)> = None;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let number = lines.len() + 1;
        let Some(end) = bytes[pos..].iter().position(|b| *b == b'\n') else {
            if bad.is_none() {
                bad = Some((
                    number,
                    pos as u64,
                    "has no newline (a write cut short)".into(),
                ));
            }
            break;
        };
        let raw = &bytes[pos..=pos + end];
        let parsed: Result<Value, String> = serde_json::from_slice(&raw[..raw.len() - 1])
            .map_err(|e| format!("is not JSON ({e})"))
            .and_then(|v: Value| {
                if v.is_object() {
                    Ok(v)
                } else {
                    Err("is not a JSON object".into())
                }
            });
        match (parsed, &bad) {
            (Ok(_), Some((line, _, why))) => {
                return Err(StoreError::CorruptJournal {
                    path: path.to_path_buf(),
                    line: *line,
                    why: format!("{why}, and whole lines follow it, so no crash left it"),
                })
            }
            (Ok(event), None) => lines.push(JournalLine {
                number,
                offset: pos as u64,
                raw: raw.to_vec(),
                event,
            }),
            (Err(_), Some(_)) => {}
            (Err(why), None) => bad = Some((number, pos as u64, why)),
        }
        pos += end + 1;
    }
    let mut torn = bad.map(|(line, offset, why)| TornTail {
        offset,
        first_line: line,
        bytes: Vec::new(),
        why: format!("line {line} {why}"),
    });
    // A batch cut short: its last whole line is part k of n, k < n.
    let short = lines.last().and_then(|last| {
        let part = last.event.get("batch")?.as_array()?;
        let (k, n) = (part.first()?.as_u64()?, part.get(1)?.as_u64()?);
        let k = usize::try_from(k)
            .ok()
            .filter(|k| *k >= 1 && *k <= lines.len())?;
        ((k as u64) < n).then_some((lines.len() - k, n))
    });
    if let Some((i, n)) = short {
        let first = &lines[i];
        torn = Some(TornTail {
            offset: first.offset,
            first_line: first.number,
            bytes: Vec::new(),
            why: format!(
                "line {} starts {n} lines written together, and not all of them are there",
                first.number
            ),
        });
        lines.truncate(i);
    }
    if let Some(t) = torn.as_mut() {
        t.bytes = bytes[t.offset as usize..].to_vec();
    }
    let unchained = lines.iter().filter(|l| l.prev().is_none()).count();
    Ok(JournalRead {
        lines,
        torn,
        unchained,
    })
}

/// The lines that append `events` after a line whose hash is `prev`: the
/// bytes to write with one write, and the hash of their last line.
pub(super) fn encode_batch(
    events: &[JournalEvent],
    prev: &str,
    path: &Path,
) -> Result<(Vec<u8>, String), StoreError> {
    let mut bytes = Vec::new();
    let mut prev = prev.to_string();
    for (i, event) in events.iter().enumerate() {
        let corrupt = |source| StoreError::Corrupt {
            path: path.to_path_buf(),
            source,
        };
        let mut value = serde_json::to_value(event).map_err(corrupt)?;
        // A `JournalEvent` is a struct, so always an object.
        if let Some(object) = value.as_object_mut() {
            if events.len() > 1 {
                object.insert("batch".into(), serde_json::json!([i + 1, events.len()]));
            }
            object.insert("prev".into(), Value::from(prev.clone()));
        }
        let mut line = serde_json::to_vec(&value).map_err(corrupt)?;
        line.push(b'\n');
        prev = line_hash(&line);
        bytes.extend_from_slice(&line);
    }
    Ok((bytes, prev))
}

/// Where the torn tail of a journal is set aside: `journal.torn-N` beside
/// it, the first N free, or the one that already holds the same bytes (a
/// crash while setting aside leaves one there).
pub(super) fn torn_path(dir: &Path, bytes: &[u8]) -> PathBuf {
    let mut n = 1;
    loop {
        let candidate = dir.join(format!("journal.torn-{n}"));
        match fs::read(&candidate) {
            Ok(existing) if existing == bytes => return candidate,
            Ok(_) => n += 1,
            Err(_) => return candidate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventKind;

    fn event(reason: &str) -> JournalEvent {
        JournalEvent {
            at: "t".into(),
            run_id: "r".into(),
            kind: EventKind::Aborted {
                reason: reason.into(),
                by: "ana".into(),
            },
        }
    }

    fn journal(groups: &[&[&str]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut prev = GENESIS.to_string();
        for group in groups {
            let events: Vec<_> = group.iter().map(|r| event(r)).collect();
            let (b, last) = encode_batch(&events, &prev, Path::new("j")).unwrap();
            bytes.extend(b);
            prev = last;
        }
        bytes
    }

    #[test]
    fn lines_chain_to_the_one_before_and_batches_say_their_size() {
        let bytes = journal(&[&["a"], &["b", "c"]]);
        let read = parse_journal(&bytes, Path::new("j")).unwrap();
        assert_eq!(read.lines.len(), 3);
        assert_eq!(read.lines[0].prev(), Some(GENESIS));
        assert_eq!(read.lines[1].prev(), Some(read.lines[0].hash().as_str()));
        assert_eq!(read.lines[2].prev(), Some(read.lines[1].hash().as_str()));
        assert_eq!(read.lines[1].event["batch"], serde_json::json!([1, 2]));
        assert_eq!(read.lines[2].event["batch"], serde_json::json!([2, 2]));
        assert!(read.lines[0].event.get("batch").is_none());
        assert!(read.torn.is_none());
        assert_eq!(read.unchained, 0);
        assert!(read.broken_links().is_empty());
        assert_eq!(read.whole_len(), bytes.len() as u64);
        assert_eq!(read.last_hash(), read.lines[2].hash());
        // The hash is of the exact bytes, newline included.
        let first_end = bytes.iter().position(|b| *b == b'\n').unwrap();
        assert_eq!(read.lines[0].hash(), sha256_hex(&bytes[..=first_end]));
    }

    #[test]
    fn every_cut_of_the_last_write_is_torn_and_never_an_event() {
        let whole = journal(&[&["a"]]);
        let full = journal(&[&["a"], &["b", "c"]]);
        for cut in whole.len() + 1..full.len() {
            let read = parse_journal(&full[..cut], Path::new("j")).unwrap();
            assert_eq!(read.lines.len(), 1, "cut at {cut}");
            let torn = read.torn.expect("torn");
            assert_eq!(torn.offset, whole.len() as u64, "cut at {cut}");
            assert_eq!(torn.bytes, &full[whole.len()..cut]);
            assert_eq!(torn.first_line, 2);
        }
    }

    #[test]
    fn a_damaged_line_with_whole_lines_after_it_is_an_error() {
        let mut bytes = journal(&[&["a"]]);
        bytes.extend_from_slice(b"{not json\n");
        bytes.extend(journal(&[&["b"]]));
        let err = parse_journal(&bytes, Path::new("j")).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        // Garbage at the very end is a torn tail.
        let mut bytes = journal(&[&["a"]]);
        bytes.extend_from_slice(b"\0\0\0\n");
        let read = parse_journal(&bytes, Path::new("j")).unwrap();
        assert_eq!(read.lines.len(), 1);
        assert_eq!(read.torn.unwrap().first_line, 2);
    }

    #[test]
    fn old_journals_read_as_unchained_and_edits_break_links() {
        let old = b"{\"event\":\"run_started\"}\n{\"event\":\"completed\"}\n";
        let read = parse_journal(old, Path::new("j")).unwrap();
        assert_eq!(read.unchained, 2);
        assert!(read.broken_links().is_empty());
        let bytes = journal(&[&["a"], &["b"], &["c"]]);
        let text = String::from_utf8(bytes).unwrap();
        let without_second: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| l)
            .collect();
        let edited = format!("{}\n", without_second.join("\n"));
        let read = parse_journal(edited.as_bytes(), Path::new("j")).unwrap();
        assert_eq!(read.broken_links(), vec![2]);
    }
}
