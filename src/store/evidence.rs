//! What a run records as evidence: a person's note, a file they supplied, a
//! command migagent ran with their yes, or a deliberate "no evidence".
//! Each item is a file under `evidence/ARTIFACT/` with its sha256, so the
//! record of a step says what really happened, not what a model wrote.

use serde::{Deserialize, Serialize};

/// What kind of evidence an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// What a person reported, typed or from a file they wrote.
    Note,
    /// A file a person supplied (a log, query output), copied whole.
    File,
    /// A command from the approved plan, run by migagent after a yes.
    Command,
    /// A person chose to draft without evidence, with a reason.
    None,
}

impl EvidenceKind {
    /// The kind as the journal and prompts name it.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Note => "note",
            EvidenceKind::File => "file",
            EvidenceKind::Command => "command",
            EvidenceKind::None => "none",
        }
    }

    /// The prefix of an item's id: `note-1`, `file-2`, `cmd-1`, `none`.
    pub fn id_prefix(self) -> &'static str {
        match self {
            EvidenceKind::Note => "note",
            EvidenceKind::File => "file",
            EvidenceKind::Command => "cmd",
            EvidenceKind::None => "none",
        }
    }
}

/// One item of evidence for an artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// Unique within the artifact: `note-1`, `file-1`, `cmd-2`, `none`.
    pub id: String,
    pub kind: EvidenceKind,
    /// Who reported it, or who said yes to the command.
    pub by: String,
    pub at: String,
    /// Run-relative path of the stored content (a command's stdout).
    pub path: String,
    pub sha256: String,
    /// For a file: where it was copied from. For a command: which part of
    /// the plan it came from ("Action", "Verification", "Health check").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A command ran out of time (always false for other kinds).
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_sha256: Option<String>,
    /// Gathered while rolling the step back, not while running it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

impl EvidenceRecord {
    /// An item with what every item has: its id, kind, author, file and
    /// hash, stamped now. Commands add their outcome on top.
    pub fn new(id: String, kind: EvidenceKind, by: &str, path: String, sha256: String) -> Self {
        EvidenceRecord {
            id,
            kind,
            by: by.to_string(),
            at: super::now_rfc3339(),
            path,
            sha256,
            source: None,
            command: None,
            exit_code: None,
            timed_out: false,
            seconds: None,
            stderr_path: None,
            stderr_sha256: None,
            rollback: false,
        }
    }

    /// A command that did not succeed: it exited non-zero, was killed, or
    /// ran out of time. Such evidence contradicts any claim of success.
    pub fn failed(&self) -> bool {
        self.kind == EvidenceKind::Command && (self.timed_out || self.exit_code != Some(0))
    }

    /// How a command ended, in words the gate, `status` and the prompt all
    /// use: "exit 0", "timed out", "killed by a signal". `None` for evidence
    /// that is not a command.
    pub fn command_outcome(&self) -> Option<String> {
        (self.kind == EvidenceKind::Command).then(|| match (self.exit_code, self.timed_out) {
            (_, true) => "timed out".to_string(),
            (Some(code), _) => format!("exit {code}"),
            (None, _) => "killed by a signal".to_string(),
        })
    }

    /// Evidence that something was observed: anything but a deliberate
    /// "none".
    pub fn is_proof(&self) -> bool {
        self.kind != EvidenceKind::None
    }
}
