//! Reading `journal.jsonl` for `verify`: the chain of `prev` hashes, and
//! what each line records (files with their sha256, drafts, approvals), in
//! one bounded pass.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChainState, Finding, FindingKind, MAX_LINE_BYTES};
use crate::store::journal::{line_hash, GENESIS};
use crate::store::{io_err, SourceRecord, StoreError};

/// What a file is to the run, for messages and for whether it is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Role {
    Context,
    Input,
    Draft,
    /// A first answer a repair request replaced.
    Attempt,
    Finding,
    Evidence,
    /// The requests sent for a draft or a panel finding, as sent.
    Prompt,
}

impl Role {
    pub(super) fn name(self) -> &'static str {
        match self {
            Role::Context => "context file",
            Role::Input => "input",
            Role::Draft => "draft",
            Role::Attempt => "first attempt",
            Role::Finding => "panel finding",
            Role::Evidence => "evidence",
            Role::Prompt => "prompt sent",
        }
    }
}

/// A file a journal line records with its sha256.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FileRecord {
    pub(super) line: usize,
    pub(super) path: String,
    pub(super) sha256: String,
    pub(super) role: Role,
    pub(super) artifact: Option<String>,
    pub(super) revision: Option<u32>,
}

/// An `approved` or `accepted` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ApprovalRecord {
    pub(super) line: usize,
    pub(super) artifact: String,
    pub(super) revision: u32,
    pub(super) sha256: String,
    pub(super) path: String,
    /// Who approved; none for a phase without a gate.
    pub(super) by: Option<String>,
}

/// A `drafted` line's sources, to check against what the journal recorded
/// of those files before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DraftSources {
    pub(super) line: usize,
    pub(super) artifact: String,
    pub(super) revision: u32,
    pub(super) sources: Vec<SourceRecord>,
}

/// Everything the journal records, line numbers kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Recorded {
    /// `run_started`: its line and the workflow's sha256.
    pub(super) run_started: Option<(usize, String)>,
    pub(super) files: Vec<FileRecord>,
    pub(super) approvals: Vec<ApprovalRecord>,
    /// `marked_stale` lines: line and artifact.
    pub(super) stale: Vec<(usize, String)>,
    /// Each draft revision's sha256 and line, by artifact and revision.
    #[serde(with = "as_pairs")]
    pub(super) drafts: BTreeMap<(String, u32), (usize, String)>,
    pub(super) draft_sources: Vec<DraftSources>,
}

/// A map keyed by (artifact, revision) as a list of pairs: JSON object keys
/// are strings only, and the checked-journal cache stores this map.
mod as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Key = (String, u32);
    type Entry = (usize, String);
    type Map = BTreeMap<Key, Entry>;

    pub(super) fn serialize<S: Serializer>(map: &Map, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(&Key, &Entry)> = map.iter().collect();
        pairs.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        let pairs: Vec<(Key, Entry)> = Vec::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

impl Recorded {
    /// The highest draft revision of `artifact`.
    pub(super) fn latest_revision(&self, artifact: &str) -> Option<u32> {
        self.drafts
            .keys()
            .filter(|(a, _)| a == artifact)
            .map(|(_, r)| *r)
            .max()
    }

    /// The sha256 the journal recorded for run file `path` last before
    /// line `before`, with that line: an approval for `artifacts/ID.md`,
    /// else the file's own record.
    pub(super) fn sha_before(&self, path: &str, before: usize) -> Option<(usize, &str)> {
        let approved = self
            .approvals
            .iter()
            .filter(|a| a.path == path && a.line < before)
            .map(|a| (a.line, a.sha256.as_str()));
        let files = self
            .files
            .iter()
            .filter(|f| f.path == path && f.line < before)
            .map(|f| (f.line, f.sha256.as_str()));
        approved.chain(files).max_by_key(|(line, _)| *line)
    }
}

/// The journal read: its chain and its record.
pub(super) struct Scan {
    pub(super) chain: ChainState,
    /// The first line that carries `prev` (1-based); 0 when none does.
    pub(super) first_chained: usize,
    pub(super) lines: usize,
    /// Lines without `prev`.
    pub(super) unchained: usize,
    /// The bytes of the lines read, and the hash of the last one.
    pub(super) len: u64,
    pub(super) last_hash: String,
    pub(super) recorded: Recorded,
}

/// Reads `dir/journal.jsonl` line by line, checking the chain and
/// collecting what each line records. Differences go to `findings`.
pub(super) fn scan(
    dir: &Path,
    run_id: &str,
    findings: &mut Vec<Finding>,
) -> Result<Scan, StoreError> {
    let path = dir.join("journal.jsonl");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            findings.push(journal_finding(
                FindingKind::FileMissing,
                None,
                "journal.jsonl is missing: nothing in the run can be checked against a record"
                    .into(),
            ));
            return Ok(Scan {
                chain: ChainState::Empty,
                first_chained: 0,
                lines: 0,
                unchained: 0,
                len: 0,
                last_hash: GENESIS.to_string(),
                recorded: Recorded::default(),
            });
        }
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let mut reader = BufReader::new(file);
    let mut recorded = Recorded::default();
    let mut number = 0;
    let mut first_chained = 0;
    let mut unchained = 0;
    // The hash of the previous line, as its successor must carry it.
    let mut expected = GENESIS.to_string();
    let mut len = 0u64;
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io_err("read", &path))?;
        if n == 0 {
            break;
        }
        number += 1;
        len += n as u64;
        if !line.ends_with(b"\n") {
            let (kind, message) = if line.len() > MAX_LINE_BYTES {
                (
                    FindingKind::UnreadableLine,
                    format!("journal line {number} is longer than {MAX_LINE_BYTES} bytes; the journal was not read past it"),
                )
            } else {
                (
                    FindingKind::TornLine,
                    format!("journal line {number}, the last, has no newline: a write was cut off (a crash), or the line was edited"),
                )
            };
            findings.push(journal_finding(kind, Some(number), message));
            break;
        }
        let hash = line_hash(&line);
        let value: Value = match serde_json::from_slice(&line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                findings.push(journal_finding(
                    FindingKind::UnreadableLine,
                    Some(number),
                    format!(
                        "journal line {number} is not a JSON object: it was edited or corrupted"
                    ),
                ));
                expected = hash;
                continue;
            }
        };
        match value.get("prev").and_then(Value::as_str) {
            Some(prev) => {
                // The first chained line after unchained ones links to the
                // last of them, which it was appended after.
                if first_chained == 0 {
                    first_chained = number;
                }
                if prev != expected {
                    let message = if number == 1 {
                        "journal line 1 does not start the chain (its prev is not 64 zeros): lines before it were deleted, or it was edited".to_string()
                    } else {
                        format!(
                            "journal line {number} does not chain to line {}: line {} was edited, or lines were deleted or inserted between them",
                            number - 1,
                            number - 1
                        )
                    };
                    findings.push(journal_finding(
                        FindingKind::ChainBroken,
                        Some(number.saturating_sub(1).max(1)),
                        message,
                    ));
                }
            }
            None if first_chained != 0 => findings.push(journal_finding(
                FindingKind::ChainBroken,
                Some(number),
                format!("journal line {number} has no prev, though the lines before it are chained: it was inserted or rewritten"),
            )),
            None => unchained += 1,
        }
        expected = hash;
        if let Some(other) = value.get("run_id").and_then(Value::as_str) {
            if other != run_id {
                findings.push(journal_finding(
                    FindingKind::RecordMismatch,
                    Some(number),
                    format!("journal line {number} belongs to run '{other}', not '{run_id}': it was copied from another run"),
                ));
            }
        }
        record(&value, number, &mut recorded);
    }
    let chain = match (number, first_chained, unchained) {
        (0, _, _) => ChainState::Empty,
        (_, 0, _) => ChainState::Unchained,
        (_, 1, _) => ChainState::Chained,
        _ => ChainState::Partly,
    };
    Ok(Scan {
        chain,
        first_chained,
        lines: number,
        unchained,
        len,
        last_hash: expected,
        recorded,
    })
}

fn journal_finding(kind: FindingKind, line: Option<usize>, message: String) -> Finding {
    Finding {
        kind,
        artifact: None,
        line,
        path: Some("journal.jsonl".into()),
        message,
        in_use: kind != FindingKind::TornLine,
    }
}

/// Notes what line `n` records.
pub(super) fn record(v: &Value, n: usize, out: &mut Recorded) {
    let s = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let revision = v
        .get("revision")
        .and_then(Value::as_u64)
        .and_then(|r| u32::try_from(r).ok());
    let artifact = s("artifact");
    let mut file = |path: Option<String>, sha: Option<String>, role: Role| {
        if let (Some(path), Some(sha256)) = (path, sha) {
            out.files.push(FileRecord {
                line: n,
                path,
                sha256,
                role,
                artifact: artifact.clone(),
                revision,
            });
        }
    };
    match v.get("event").and_then(Value::as_str).unwrap_or_default() {
        "run_started" => {
            if let Some(sha) = s("workflow_sha256") {
                out.run_started.get_or_insert((n, sha));
            }
        }
        "context_added" => file(s("stored"), s("sha256"), Role::Context),
        "input_supplied" => file(s("stored"), s("sha256"), Role::Input),
        "drafted" | "edited" => {
            file(s("path"), s("sha256"), Role::Draft);
            file(s("prompt_path"), s("prompt_sha256"), Role::Prompt);
            if let (Some(a), Some(r), Some(sha)) = (artifact.clone(), revision, s("sha256")) {
                out.drafts.insert((a.clone(), r), (n, sha));
                let sources: Vec<SourceRecord> = v
                    .get("sources")
                    .and_then(|s| serde_json::from_value(s.clone()).ok())
                    .unwrap_or_default();
                if !sources.is_empty() {
                    out.draft_sources.push(DraftSources {
                        line: n,
                        artifact: a,
                        revision: r,
                        sources,
                    });
                }
            }
        }
        "repair_requested" => file(s("first_attempt"), s("first_attempt_sha256"), Role::Attempt),
        "panel_finding" => {
            file(s("path"), s("sha256"), Role::Finding);
            file(s("prompt_path"), s("prompt_sha256"), Role::Prompt);
        }
        "evidence_added" => {
            file(s("path"), s("sha256"), Role::Evidence);
            file(s("stderr_path"), s("stderr_sha256"), Role::Evidence);
        }
        "approved" | "accepted" => {
            if let (Some(a), Some(r), Some(sha)) = (artifact.clone(), revision, s("sha256")) {
                out.approvals.push(ApprovalRecord {
                    line: n,
                    path: s("path").unwrap_or_else(|| format!("artifacts/{a}.md")),
                    artifact: a,
                    revision: r,
                    sha256: sha,
                    by: s("approver"),
                });
            }
        }
        "marked_stale" => {
            if let Some(a) = artifact {
                out.stale.push((n, a));
            }
        }
        _ => {}
    }
}
