//! No success without proof: which values claim success, and finding such
//! claims in a drafted result.

use crate::artifact_schema::{ArtifactSchema, Bounds};

/// Values that claim success, in the seed's templates and their kin.
pub const DEFAULT_SUCCESS_WORDS: [&str; 6] = [
    "Pass",
    "Met",
    "Verified",
    "Complete",
    "Functioning",
    "Migration successful",
];

/// What a result uses in place of a success value it may not claim.
pub const UNVERIFIED: &str = "Unverified";

/// The choices of a drafted result that claim success, as
/// `(field, value)`. The draft is read against its template; where it
/// cannot be read that way, a line that starts with a success word counts.
pub fn success_claims(template: &str, markdown: &str, words: &[String]) -> Vec<(String, String)> {
    let is_success = |v: &str| words.iter().any(|w| w.eq_ignore_ascii_case(v.trim()));
    let read = ArtifactSchema::compile(template, &Bounds::unbounded())
        .ok()
        .and_then(|schema| schema.parse(markdown).ok().map(|v| schema.enum_fields(&v)));
    match read {
        Some(fields) => fields
            .into_iter()
            .filter(|f| is_success(&f.value))
            .map(|f| (f.path, f.value))
            .collect(),
        None => markdown
            .lines()
            .filter_map(|l| {
                let t = l.trim().trim_start_matches(['-', '*', ' ']);
                words
                    .iter()
                    .find(|w| {
                        t.len() >= w.len()
                            && t[..w.len()].eq_ignore_ascii_case(w)
                            && t[w.len()..]
                                .chars()
                                .next()
                                .is_none_or(|c| !c.is_alphanumeric())
                    })
                    .map(|w| (l.trim().to_string(), w.clone()))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        DEFAULT_SUCCESS_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    const TEMPLATE: &str = "## Step 1: Backup\n\n### Pre-conditions\n<Met / Not met — details>\n\n### Execution\n<What was done>\n\n### Verification Result\n<Pass / Fail — details>\n\n### Status\n<Complete / Rolled back — reason>\n";

    #[test]
    fn claims_are_found_in_a_draft_read_against_its_template() {
        let draft = "## Step 1: Backup\n\n### Pre-conditions\nMet — disk free\n\n### Execution\nRan pg_dump; it passed.\n\n### Verification Result\nFail — restore list empty\n\n### Status\nComplete\n";
        let claims = success_claims(TEMPLATE, draft, &words());
        let values: Vec<&str> = claims.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["Met", "Complete"], "{claims:?}");
    }

    #[test]
    fn an_unreadable_draft_is_scanned_line_by_line() {
        let draft = "Whatever the model wrote\n- Pass: everything\nPassword rotated\n";
        let claims = success_claims(TEMPLATE, draft, &words());
        assert_eq!(claims.len(), 1, "{claims:?}");
        assert_eq!(claims[0].1, "Pass");
    }
}
