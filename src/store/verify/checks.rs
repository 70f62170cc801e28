//! The record against the run: each file the journal names against its
//! sha256, each approval against its draft and its file, each draft's
//! sources against what the journal recorded of them, and `run.json`
//! against the journal.

use std::collections::BTreeMap;
use std::path::Path;

use super::journal_scan::{ApprovalRecord, FileRecord, Recorded, Role};
use super::{hash_file, inside_run, short, Finding, FindingKind, OnDisk};
use crate::store::{ArtifactState, RunState, SourceKind};

/// The checks of one run, with the files it has hashed.
pub(super) struct Checker<'a> {
    dir: &'a Path,
    rec: &'a Recorded,
    state: Option<&'a RunState>,
    /// Each file hashed once, however many records name it.
    hashed: BTreeMap<String, Result<String, String>>,
    pub(super) files_checked: usize,
}

impl<'a> Checker<'a> {
    pub(super) fn new(dir: &'a Path, rec: &'a Recorded, state: Option<&'a RunState>) -> Self {
        Checker {
            dir,
            rec,
            state,
            hashed: BTreeMap::new(),
            files_checked: 0,
        }
    }

    pub(super) fn run(&mut self, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
        self.workflow(findings);
        for file in &self.rec.files {
            self.recorded_file(file, findings);
        }
        self.approvals(findings, notes);
        self.sources(findings);
        if let Some(state) = self.state {
            self.state_against_journal(state, findings, notes);
        }
        self.unrecorded_artifacts(findings, notes);
    }

    /// The sha256 of run file `rel`, or why there is none.
    fn sha_of(&mut self, rel: &str) -> Result<String, String> {
        if !inside_run(rel) {
            return Err("it names a place outside the run folder".into());
        }
        if let Some(known) = self.hashed.get(rel) {
            return known.clone();
        }
        let found = match hash_file(self.dir, rel) {
            OnDisk::Sha(sha) => Ok(sha),
            OnDisk::Missing(why) => Err(why),
        };
        self.files_checked += 1;
        self.hashed.insert(rel.to_string(), found.clone());
        found
    }

    /// Compares `rel` with `expected`; the finding says what `what` is.
    fn compare(
        &mut self,
        rel: &str,
        expected: &str,
        what: String,
        base: Finding,
        findings: &mut Vec<Finding>,
    ) {
        let (kind, message) = match self.sha_of(rel) {
            Ok(sha) if sha == expected => return,
            Ok(sha) => (
                base.kind,
                format!(
                    "{rel} ({what}) was changed: its sha256 is now {}, the record says {}",
                    short(&sha),
                    short(expected)
                ),
            ),
            Err(why) => (FindingKind::FileMissing, format!("{rel} ({what}): {why}")),
        };
        findings.push(Finding {
            kind,
            message,
            path: Some(rel.to_string()),
            ..base
        });
    }

    /// The workflow snapshot against the sha256 the run started with.
    fn workflow(&mut self, findings: &mut Vec<Finding>) {
        let snapshot = self
            .state
            .map_or("workflow.md", |s| s.workflow.snapshot.as_str());
        let journal = self.rec.run_started.as_ref();
        let expected = journal
            .map(|(_, sha)| sha.as_str())
            .or(self.state.map(|s| s.workflow.sha256.as_str()));
        let line = journal.map(|(l, _)| *l);
        if let Some(expected) = expected {
            let what = match line {
                Some(l) => format!("the workflow snapshot the run follows, journal line {l}"),
                None => "the workflow snapshot the run follows, per run.json".into(),
            };
            let base = finding(FindingKind::WorkflowChanged, None, line, true);
            self.compare(snapshot, expected, what, base, findings);
        }
        if let (Some((l, journal_sha)), Some(state)) = (journal, self.state) {
            if state.workflow.sha256 != *journal_sha {
                findings.push(Finding {
                    path: Some("run.json".into()),
                    message: format!(
                        "run.json records the workflow's sha256 as {}, but journal line {l} recorded {} when the run started",
                        short(&state.workflow.sha256),
                        short(journal_sha)
                    ),
                    ..finding(FindingKind::RecordMismatch, None, Some(*l), true)
                });
            }
        }
        if journal.is_none() && !self.rec.files.is_empty() {
            findings.push(finding_msg(
                FindingKind::RecordMismatch,
                None,
                None,
                "the journal has no run_started line: its first lines were deleted".into(),
            ));
        }
    }

    fn recorded_file(&mut self, file: &FileRecord, findings: &mut Vec<Finding>) {
        let of = match (&file.artifact, file.revision) {
            (Some(a), Some(r)) => format!(" of [{a}] revision {r}"),
            (Some(a), None) => format!(" of [{a}]"),
            _ => String::new(),
        };
        let what = format!("{}{of}, journal line {}", file.role.name(), file.line);
        let in_use = match file.role {
            Role::Context | Role::Input | Role::Evidence => true,
            // A record of what was sent: a changed one misleads a reviewer
            // (verify names it) but changes nothing the run reads next.
            Role::Attempt | Role::Prompt => false,
            Role::Draft => match (&file.artifact, file.revision) {
                (Some(a), Some(r)) => self.rec.latest_revision(a) == Some(r),
                _ => true,
            },
            Role::Finding => self.state.is_none_or(|s| {
                s.artifacts
                    .iter()
                    .any(|a| a.findings.iter().any(|f| f.path == file.path))
            }),
        } && !self
            .rec
            .files
            .iter()
            .any(|later| later.path == file.path && later.line > file.line);
        let base = finding(
            FindingKind::FileChanged,
            file.artifact.clone(),
            Some(file.line),
            in_use,
        );
        self.compare(&file.path, &file.sha256, what, base, findings);
    }

    /// Each artifact's file against its last approval, and each approval
    /// against the draft revision it names.
    fn approvals(&mut self, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
        let mut last: BTreeMap<&str, &ApprovalRecord> = BTreeMap::new();
        for a in &self.rec.approvals {
            last.insert(&a.artifact, a);
        }
        for a in last.values() {
            if self.sha_of(&a.path).is_ok_and(|sha| sha != a.sha256) {
                if let Some(note) = self.interrupted_promotion(&a.artifact, &a.path, a.line) {
                    notes.push(note);
                    continue;
                }
            }
            let what = format!(
                "{} [{}] revision {}{}, journal line {}",
                if a.by.is_some() {
                    "approved"
                } else {
                    "accepted"
                },
                a.artifact,
                a.revision,
                a.by.as_ref().map_or(String::new(), |b| format!(" by {b}")),
                a.line
            );
            let base = finding(
                FindingKind::FileChanged,
                Some(a.artifact.clone()),
                Some(a.line),
                true,
            );
            self.compare(&a.path, &a.sha256, what, base, findings);
        }
        for a in &self.rec.approvals {
            let Some((draft_line, draft_sha)) =
                self.rec.drafts.get(&(a.artifact.clone(), a.revision))
            else {
                continue;
            };
            if *draft_sha != a.sha256 {
                let current = last
                    .get(a.artifact.as_str())
                    .is_some_and(|l| l.line == a.line);
                findings.push(Finding {
                    in_use: current,
                    ..finding_msg(
                    FindingKind::ApprovedOtherText,
                    Some(a.artifact.clone()),
                    Some(a.line),
                    format!(
                        "[{}] revision {} was approved (journal line {}) as text with sha256 {}, but that draft was recorded as {} (journal line {draft_line}): the draft was changed by hand between drafting and approval",
                        a.artifact, a.revision, a.line, short(&a.sha256), short(draft_sha)
                    ),
                )
                });
            }
        }
    }

    /// Each draft's sources from the run against what the journal had
    /// recorded of them when the draft was made.
    fn sources(&mut self, findings: &mut Vec<Finding>) {
        for d in &self.rec.draft_sources {
            let decided = self
                .rec
                .approvals
                .iter()
                .any(|a| a.artifact == d.artifact && a.line > d.line);
            let latest = self.rec.latest_revision(&d.artifact) == Some(d.revision);
            for s in &d.sources {
                if !run_file(s.kind) {
                    continue;
                }
                let Some((line, sha)) = self.rec.sha_before(&s.path, d.line) else {
                    continue;
                };
                if sha != s.sha256 {
                    findings.push(Finding {
                    in_use: latest && !decided,
                    ..finding_msg(
                        FindingKind::ChangedSource,
                        Some(d.artifact.clone()),
                        Some(d.line),
                        format!(
                            "[{}] revision {} (journal line {}) was drafted from {} with sha256 {}, but the journal recorded {} for it (line {line}): the file was changed before it was sent to the model",
                            d.artifact, d.revision, d.line, s.path, short(&s.sha256), short(sha)
                        ),
                    )
                });
                }
            }
        }
    }

    /// `run.json`'s approvals, drafts, context files and inputs against
    /// the journal: the journal is the record, so what only `run.json`
    /// shows is forged (or its journal lines were deleted).
    fn state_against_journal(
        &mut self,
        state: &RunState,
        findings: &mut Vec<Finding>,
        notes: &mut Vec<String>,
    ) {
        for art in &state.artifacts {
            let id = &art.id;
            let in_journal = |revision: Option<u32>, sha: Option<&str>| {
                self.rec.approvals.iter().any(|a| {
                    a.artifact == *id
                        && revision.is_none_or(|r| r == a.revision)
                        && sha.is_none_or(|s| s == a.sha256)
                })
            };
            if let Some(a) = &art.approval {
                if !in_journal(Some(a.revision), Some(&a.sha256)) {
                    findings.push(Finding {
                    path: Some("run.json".into()),
                    ..finding_msg(
                        FindingKind::ForgedApproval,
                        Some(id.clone()),
                        None,
                        format!(
                            "run.json records [{id}] revision {} as approved by {} (sha256 {}), but the journal has no such approval: it was forged in run.json, or its lines were deleted from the journal",
                            a.revision, a.by, short(&a.sha256)
                        ),
                    )
                });
                }
            } else if matches!(art.state, ArtifactState::Approved) {
                findings.push(Finding {
                    path: Some("run.json".into()),
                    ..finding_msg(
                        FindingKind::ForgedApproval,
                        Some(id.clone()),
                        None,
                        format!("run.json records [{id}] as approved without an approval"),
                    )
                });
            }
            if art.state == ArtifactState::Accepted && !in_journal(None, None) {
                findings.push(Finding {
                    path: Some("run.json".into()),
                    ..finding_msg(
                    FindingKind::ForgedApproval,
                    Some(id.clone()),
                    None,
                    format!("run.json records [{id}] as accepted, but the journal has no acceptance of it: it was forged in run.json, or its lines were deleted from the journal"),
                )
                });
            }
            let latest = art.latest_draft().map(|d| d.revision);
            for d in &art.drafts {
                let message = match self.rec.drafts.get(&(id.clone(), d.revision)) {
                    Some((_, sha)) if *sha == d.sha256 => continue,
                    Some((line, sha)) => format!(
                        "run.json records [{id}] revision {} ({}) with sha256 {}, but journal line {line} recorded {}",
                        d.revision, d.path, short(&d.sha256), short(sha)
                    ),
                    None => format!(
                        "run.json lists [{id}] revision {} ({}), which the journal does not record",
                        d.revision, d.path
                    ),
                };
                let f = finding_msg(FindingKind::RecordMismatch, Some(id.clone()), None, message);
                findings.push(Finding {
                    path: Some("run.json".into()),
                    in_use: latest == Some(d.revision),
                    ..f
                });
            }
        }
        let files = state
            .contexts
            .iter()
            .map(|c| (&c.stored, &c.sha256, Role::Context))
            .chain(
                state
                    .inputs
                    .iter()
                    .map(|i| (&i.stored, &i.sha256, Role::Input)),
            );
        for (stored, sha, role) in files {
            let recorded = self
                .rec
                .files
                .iter()
                .filter(|f| f.path == *stored)
                .map(|f| &f.sha256)
                .collect::<Vec<_>>();
            if !recorded.contains(&sha) {
                let f = finding_msg(
                    FindingKind::RecordMismatch,
                    None,
                    None,
                    format!(
                        "run.json lists the {} {stored} with sha256 {}, which the journal does not record",
                        role.name(),
                        short(sha)
                    ),
                );
                findings.push(Finding {
                    path: Some("run.json".into()),
                    ..f
                });
            }
        }
        // An approval only the journal has is a command cut short between
        // the two writes, not a forgery: the journal is the record.
        let mut last: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &self.rec.approvals {
            last.insert(&a.artifact, a.line);
        }
        for (artifact, line) in last {
            let stale_after = self
                .rec
                .stale
                .iter()
                .any(|(l, a)| a == artifact && *l > line);
            let shown = state.artifacts.iter().any(|a| {
                a.id == artifact
                    && matches!(
                        a.state,
                        ArtifactState::Approved | ArtifactState::Accepted | ArtifactState::Stale
                    )
            });
            if !stale_after && !shown {
                notes.push(format!(
                    "the journal records [{artifact}] as approved or accepted (line {line}), but run.json does not show it yet: a command was cut short after writing the journal"
                ));
            }
        }
    }

    /// Whether the file `rel` of `artifact` is a later draft of it, copied
    /// there by an approval that was cut short (a kill between the copy and
    /// the journal line), as `run.json`, which does not show it approved,
    /// agrees: a note, not tampering. The next decision rewrites the file.
    fn interrupted_promotion(&mut self, artifact: &str, rel: &str, after: usize) -> Option<String> {
        let sha = self.sha_of(rel).ok()?;
        let shown = self.state?.artifacts.iter().any(|a| {
            a.id == artifact && matches!(a.state, ArtifactState::Approved | ArtifactState::Accepted)
        });
        if shown {
            return None;
        }
        let ((_, revision), (line, _)) = self
            .rec
            .drafts
            .iter()
            .find(|((a, _), (line, d))| a == artifact && *line > after && *d == sha)?;
        Some(format!(
            "{rel} holds [{artifact}] revision {revision}'s draft (journal line {line}) with no approval recorded: an approval was cut short; the next decision on it rewrites the file"
        ))
    }

    /// Files in `artifacts/` that no approval accounts for.
    fn unrecorded_artifacts(&mut self, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("artifacts")) else {
            return;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // Hidden names are the temporary files of atomic writes.
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let rel = format!("artifacts/{name}");
            if self.rec.approvals.iter().any(|a| a.path == rel) {
                continue;
            }
            let id = name.strip_suffix(".md").unwrap_or(&name).to_string();
            if let Some(note) = self.interrupted_promotion(&id, &rel, 0) {
                notes.push(note);
                continue;
            }
            findings.push(Finding {
                path: Some(rel.clone()),
                ..finding_msg(
                    FindingKind::UnrecordedArtifact,
                    Some(id.clone()),
                    None,
                    format!("{rel} is in the run, but the journal records no approval or acceptance of [{id}]"),
                )
            });
        }
    }
}

/// Whether a source is one of the run's own files, which the journal
/// records; library files are not.
fn run_file(kind: SourceKind) -> bool {
    matches!(
        kind,
        SourceKind::Artifact
            | SourceKind::Input
            | SourceKind::Context
            | SourceKind::Evidence
            | SourceKind::Finding
            | SourceKind::PreviousDraft
    )
}

fn finding(
    kind: FindingKind,
    artifact: Option<String>,
    line: Option<usize>,
    in_use: bool,
) -> Finding {
    Finding {
        kind,
        artifact,
        line,
        path: None,
        message: String::new(),
        in_use,
    }
}

/// A finding in use, with its message; callers adjust the rest.
fn finding_msg(
    kind: FindingKind,
    artifact: Option<String>,
    line: Option<usize>,
    message: String,
) -> Finding {
    Finding {
        message,
        ..finding(kind, artifact, line, true)
    }
}
