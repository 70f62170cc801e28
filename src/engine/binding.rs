//! Decisions bound to the draft a person read.
//!
//! Bob read revision 1; meanwhile Alice revised and the model drafted
//! revision 2. A decision names the draft it is about ([`DraftPin`]: a
//! revision, a sha256 prefix, or both, as `--revision N` and `--sha PREFIX`
//! give them, or exactly the draft a gate showed), and the engine refuses
//! it when the pending draft is another one. Every decision is journalled
//! with the revision and sha256 of the draft it decided ([`Decided`]).

use super::EngineError;
use crate::store::{ArtifactRecord, DraftRecord};

/// Which draft a decision is about. The default pins nothing: the pending
/// draft, whichever it is, is decided (and recorded as decided).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftPin {
    pub revision: Option<u32>,
    /// A prefix of the draft's sha256, in hex (at least 4 digits).
    pub sha: Option<String>,
}

impl DraftPin {
    /// Exactly the draft `draft`: what a gate showed.
    pub fn exactly(draft: &DraftRecord) -> DraftPin {
        DraftPin {
            revision: Some(draft.revision),
            sha: Some(draft.sha256.clone()),
        }
    }

    /// Refuses a sha prefix that cannot name a draft.
    pub fn validate(&self) -> Result<(), EngineError> {
        match &self.sha {
            Some(sha)
                if sha.len() < 4
                    || sha.len() > 64
                    || !sha.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                Err(EngineError::BadShaPrefix { given: sha.clone() })
            }
            _ => Ok(()),
        }
    }

    /// Whether `draft` is the one pinned.
    fn matches(&self, draft: &DraftRecord) -> bool {
        self.revision.is_none_or(|r| r == draft.revision)
            && self
                .sha
                .as_deref()
                .is_none_or(|p| draft.sha256.starts_with(&p.to_ascii_lowercase()))
    }

    /// Refuses to decide on `rec`'s pending `draft` unless it is the one
    /// pinned, naming both.
    pub(super) fn check(
        &self,
        rec: &ArtifactRecord,
        draft: &DraftRecord,
    ) -> Result<(), EngineError> {
        self.validate()?;
        if self.matches(draft) {
            return Ok(());
        }
        Err(EngineError::NotTheDraftRead {
            artifact: rec.id.clone(),
            named: self.describe(rec),
            pending: describe(draft.revision, &draft.sha256),
        })
    }

    /// The pinned draft in words, found among `rec`'s drafts when it can be.
    fn describe(&self, rec: &ArtifactRecord) -> String {
        match rec.drafts.iter().find(|d| self.matches(d)) {
            Some(d) => describe(d.revision, &d.sha256),
            None => match (&self.revision, &self.sha) {
                (Some(r), Some(s)) => format!("revision {r} (sha {s}), which is no draft of it"),
                (Some(r), None) => format!("revision {r}, which it does not have"),
                (None, Some(s)) => format!("sha {s}, which no draft of it has"),
                (None, None) => "any draft".into(),
            },
        }
    }
}

/// The draft a decision was made on, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub artifact: String,
    pub revision: u32,
    pub sha256: String,
    /// For an edit: the revision and sha256 the edit became.
    pub edited: Option<(u32, String)>,
    /// The gate option the decision went through, as the journal records
    /// it; `None` for an edit, or an abort that named no option.
    pub option: Option<String>,
    /// For an approval: what the structure check found wrong with the
    /// draft approved, as journalled with the decision. People may approve
    /// a flawed draft, but never without it being said and recorded.
    pub check: DraftCheck,
}

/// The structure check of a draft, as the gate shows it: cut off at the
/// token limit, template sections missing, template rules broken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftCheck {
    pub truncated: bool,
    pub missing_sections: Vec<String>,
    pub problems: Vec<String>,
}

impl DraftCheck {
    /// The check of `draft`, from what its record says.
    pub fn of(draft: &DraftRecord) -> DraftCheck {
        DraftCheck {
            truncated: draft.truncated,
            missing_sections: draft.missing_sections.clone(),
            problems: draft.problems.clone(),
        }
    }

    pub fn is_clean(&self) -> bool {
        !self.truncated && self.missing_sections.is_empty() && self.problems.is_empty()
    }

    /// One line per problem, as the journal lists them with an approval.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.truncated {
            out.push("incomplete: the model stopped at its token limit".to_string());
        }
        out.extend(
            self.missing_sections
                .iter()
                .map(|s| format!("missing section: {s}")),
        );
        out.extend(self.problems.iter().cloned());
        out
    }
}

impl Decided {
    /// "MIG-1 revision 2 (sha 1a2b3c4d)".
    pub fn describe(&self) -> String {
        format!(
            "{} {}",
            self.artifact,
            describe(self.revision, &self.sha256)
        )
    }
}

/// "revision 2 (sha 1a2b3c4d)": how people are shown a draft.
pub fn describe(revision: u32, sha256: &str) -> String {
    format!("revision {revision} (sha {})", short_sha(sha256))
}

/// The first 8 hex digits of a sha256, enough to tell drafts apart.
pub fn short_sha(sha256: &str) -> &str {
    sha256.get(..8).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ArtifactState, DraftSource};

    fn rec() -> ArtifactRecord {
        let draft = |n: u32, sha: &str| {
            DraftRecord::new(
                n,
                format!("drafts/A.r{n}.md"),
                sha.repeat(64),
                DraftSource::Model,
            )
        };
        ArtifactRecord {
            id: "A".into(),
            title: "A".into(),
            phase_index: 0,
            step: None,
            state: ArtifactState::AwaitingDecision,
            drafts: vec![draft(1, "a"), draft(2, "b")],
            pending_feedback: None,
            findings: Vec::new(),
            approval: None,
            rollback: None,
            evidence: Vec::new(),
            point_of_no_return_confirmed_by: None,
            rolling_back: None,
        }
    }

    #[test]
    fn a_pin_on_another_draft_is_refused_naming_both() {
        let rec = rec();
        let pending = rec.drafts.last().unwrap();
        let by_revision = DraftPin {
            revision: Some(1),
            sha: None,
        };
        let err = by_revision.check(&rec, pending).unwrap_err().to_string();
        assert!(err.contains("revision 1 (sha aaaaaaaa)"), "{err}");
        assert!(err.contains("revision 2 (sha bbbbbbbb)"), "{err}");
        let by_sha = DraftPin {
            revision: None,
            sha: Some("AAAA".into()),
        };
        assert!(by_sha.check(&rec, pending).is_err());
        for ok in [
            DraftPin::default(),
            DraftPin::exactly(pending),
            DraftPin {
                revision: Some(2),
                sha: Some("BBBBbb".into()),
            },
        ] {
            assert!(ok.check(&rec, pending).is_ok(), "{ok:?}");
        }
        let missing = DraftPin {
            revision: Some(7),
            sha: None,
        };
        let err = missing.check(&rec, pending).unwrap_err().to_string();
        assert!(err.contains("revision 7, which it does not have"), "{err}");
    }

    #[test]
    fn a_sha_prefix_must_be_hex_and_long_enough() {
        for bad in ["abc", "xyz123", &"a".repeat(65)] {
            let pin = DraftPin {
                revision: None,
                sha: Some(bad.to_string()),
            };
            assert!(pin.validate().is_err(), "{bad}");
        }
    }
}
