//! What a draft request carries of the evidence: a step's own items,
//! marked with who reported them or which command printed them, and for a
//! later phase an index of every step's evidence.

use super::{Engine, EngineError};
use crate::prompt::{InputSource, PromptInput};
use crate::store::{EvidenceKind, RedactionRecord};

impl Engine {
    /// The evidence of a step as a prompt input, marked as evidence: who
    /// reported it or which command printed it, with its exit code. Long
    /// content is cut here, with a marker; the files stay whole.
    /// Each item is redacted of secrets when redaction is on (added to
    /// `found`), before it is cut, so a cut never leaves half a key.
    pub(super) fn evidence_input(
        &self,
        index: usize,
        found: &mut Vec<RedactionRecord>,
    ) -> Result<Option<PromptInput>, EngineError> {
        let rec = &self.state.artifacts[index];
        if rec.evidence.is_empty() {
            return Ok(None);
        }
        let limit = self.evidence.prompt_chars;
        let mut text = format!(
            "Cite the evidence behind each claim by its id, e.g. (evidence: {}/cmd-1, exit 0). Claim success only where this evidence shows it.\n",
            rec.id
        );
        for e in &rec.evidence {
            let content = self.read_for_prompt(&e.path, limit, found)?;
            let head = match e.kind {
                EvidenceKind::Note => format!("reported by {}", e.by),
                EvidenceKind::File => format!(
                    "file {} supplied by {}",
                    e.source.as_deref().unwrap_or("?"),
                    e.by
                ),
                EvidenceKind::None => format!("no evidence, on purpose, said {}", e.by),
                EvidenceKind::Command => format!(
                    "command run by migagent, approved by {}, {}, {:.1} s",
                    e.by,
                    e.command_outcome().unwrap_or_default(),
                    e.seconds.unwrap_or_default()
                ),
            };
            text.push_str(&format!("\n### {}/{}: {head}\n", rec.id, e.id));
            if let Some(cmd) = &e.command {
                text.push_str(&format!("$ {cmd}\nstdout:\n"));
            }
            text.push_str(&content);
            if let Some(err_path) = &e.stderr_path {
                let err = self.read_for_prompt(err_path, limit, found)?;
                if !err.trim().is_empty() {
                    text.push_str("\nstderr:\n");
                    text.push_str(&err);
                }
            }
            text.push('\n');
        }
        Ok(Some(PromptInput {
            label: format!("Evidence for [{}]", rec.id),
            origin: Some("recorded in the run, with sha256 in its journal".into()),
            content: text,
            source: InputSource::Fixed,
        }))
    }

    /// At most `limit` characters of an evidence file for a prompt, with a
    /// marker naming the whole file when it is longer; only the head is
    /// read, so a huge output costs no more than a small one.
    fn read_for_prompt(
        &self,
        path: &str,
        limit: usize,
        found: &mut Vec<RedactionRecord>,
    ) -> Result<String, EngineError> {
        // A character is at most four bytes; the margin lets a secret that
        // straddles the cut be seen whole, and redacted, before the cut.
        let (head, more) = self
            .run
            .read_head(path, limit.saturating_mul(4).saturating_add(4096))?;
        let text = self.outgoing(String::from_utf8_lossy(&head).into_owned(), path, found);
        let kept: String = text.chars().take(limit).collect();
        if !more && kept.len() == text.len() {
            return Ok(kept.trim_end().to_string());
        }
        Ok(format!(
            "{kept}\n[... cut by migagent to {limit} characters; the whole output is in {path}]"
        ))
    }

    /// One line per step of a per-step phase: its evidence ids, kinds, exit
    /// codes and hashes, so a later phase reviews what was recorded, not
    /// only what was drafted.
    pub(super) fn evidence_index(&self, producer: usize) -> Option<PromptInput> {
        let mut lines = Vec::new();
        for rec in self
            .state
            .artifacts
            .iter()
            .filter(|a| a.phase_index == producer && a.step.is_some())
        {
            let items: Vec<String> = rec
                .evidence
                .iter()
                .map(|e| {
                    let exit = e
                        .command_outcome()
                        .map_or(String::new(), |o| format!(", {o}"));
                    format!(
                        "{}/{} ({}{exit}, sha256 {})",
                        rec.id,
                        e.id,
                        e.kind.name(),
                        e.sha256
                    )
                })
                .collect();
            lines.push(format!(
                "- [{}]: {}",
                rec.id,
                if items.is_empty() {
                    "no evidence recorded".to_string()
                } else {
                    items.join("; ")
                }
            ));
        }
        (!lines.is_empty()).then(|| PromptInput {
            label: "Evidence index of the steps".into(),
            origin: Some("recorded in the run".into()),
            content: lines.join("\n"),
            source: InputSource::Fixed,
        })
    }
}
