//! What a draft is made from, noted as it is read: every input artifact,
//! input, context and evidence file, persona, linked file, prompt, panel
//! and template, with the sha256 of the text read. The draft's record and
//! the journal's `drafted` line carry the list, and an approval copies it,
//! so the record says exactly which text stood behind what was approved.
//!
//! Noting at the read, rather than listing the files again afterwards,
//! keeps the list true to what the request was built from.

use std::sync::{Mutex, PoisonError};

use super::Engine;
use crate::library::Library;
use crate::prompt::{DRAFT_TEMPLATE, REVIEW_TEMPLATE, SYSTEM_TEMPLATE};
use crate::store::{self, SourceKind, SourceRecord};

/// The files read for the draft being made. The engine reads through
/// `&self`, so the log is behind a lock rather than `&mut`.
#[derive(Debug, Default)]
pub(super) struct SourceLog(Mutex<Vec<SourceRecord>>);

impl SourceLog {
    /// Notes that `text` was read from `path` as a `kind`.
    pub(super) fn note(&self, kind: SourceKind, path: &str, text: &[u8]) {
        self.note_sha(kind, path, store::sha256_hex(text));
    }

    /// Notes a file by the sha256 already recorded for it (evidence, whose
    /// prompt carries only the head of a long file).
    pub(super) fn note_sha(&self, kind: SourceKind, path: &str, sha256: String) {
        let record = SourceRecord {
            kind,
            path: path.to_string(),
            sha256,
        };
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !log.contains(&record) {
            log.push(record);
        }
    }

    /// Starts a new draft's list.
    pub(super) fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The list so far, leaving it empty.
    pub(super) fn take(&self) -> Vec<SourceRecord> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The prompt assembly templates as the library resolves them: `review`
/// only with a panel. A template that does not resolve is left out; the
/// assembler itself reported it when the run was opened.
pub(super) fn template_sources(library: &Library, panel: bool) -> Vec<SourceRecord> {
    let mut paths = vec![SYSTEM_TEMPLATE, DRAFT_TEMPLATE];
    if panel {
        paths.push(REVIEW_TEMPLATE);
    }
    paths
        .into_iter()
        .filter_map(|p| library.resolve_exact(p).ok())
        .map(|f| SourceRecord {
            kind: SourceKind::Template,
            path: f.origin.to_string(),
            sha256: store::sha256_hex(f.text.as_bytes()),
        })
        .collect()
}

impl Engine {
    /// Begins the list of what the draft of the artifact at
    /// `artifact_index` is made from: the templates, and a step's evidence
    /// by its recorded sha256.
    pub(super) fn start_sources(&self, artifact_index: usize, panel: bool) {
        self.sources.clear();
        for s in template_sources(&self.loaded.library, panel) {
            self.sources.note_sha(s.kind, &s.path, s.sha256);
        }
        for e in &self.state.artifacts[artifact_index].evidence {
            self.sources
                .note_sha(SourceKind::Evidence, &e.path, e.sha256.clone());
            if let (Some(p), Some(sha)) = (&e.stderr_path, &e.stderr_sha256) {
                self.sources.note_sha(SourceKind::Evidence, p, sha.clone());
            }
        }
    }
}
