//! Secrets left out of draft requests: what people supply (context files,
//! evidence, inputs) is redacted as it is read for a request when the
//! server is not on this machine, each redaction noted by kind, file and
//! line for the gate and the journal. The run's files keep the originals.

use super::{Engine, EngineError};
use crate::evidence::secrets;
use crate::store::{EventKind, RedactionRecord};

impl Engine {
    /// Whether draft requests carry supplied text redacted: the CLI says so
    /// from where requests go (and `[secrets]` in the config). An engine
    /// nobody told redacts.
    pub fn set_redaction(&mut self, on: bool) {
        self.evidence.redact_secrets = on;
    }

    /// `text`, read from the run's file `file`, as a request may carry it:
    /// with its secrets replaced by `[REDACTED: kind]` when redaction is on,
    /// each one added to `found`.
    pub(super) fn outgoing(
        &self,
        text: String,
        file: &str,
        found: &mut Vec<RedactionRecord>,
    ) -> String {
        if !self.evidence.redact_secrets {
            return text;
        }
        let (redacted, secrets) = secrets::redact(&text);
        found.extend(secrets.into_iter().map(|s| RedactionRecord {
            kind: s.kind.to_string(),
            file: file.to_string(),
            line: s.line,
        }));
        redacted
    }

    /// Journals what was redacted from the request for `artifact`'s
    /// revision `revision`, before the request is sent, so the record says
    /// what left the machine even if the answer never comes.
    pub(super) fn journal_redactions(
        &self,
        artifact: &str,
        revision: u32,
        redactions: &[RedactionRecord],
    ) -> Result<(), EngineError> {
        if redactions.is_empty() {
            return Ok(());
        }
        tracing::info!(
            artifact,
            count = redactions.len(),
            "secrets redacted from the draft request"
        );
        self.journal(EventKind::SecretsRedacted {
            artifact: artifact.to_string(),
            revision,
            redactions: redactions.to_vec(),
        })
    }
}
