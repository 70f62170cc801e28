//! The structure check of a draft, worded as the gate words it: the gate
//! shows it before a person decides, and `approve` (or `decide` with an
//! option that proceeds) shows it for the draft it approved, so a flawed
//! draft is never approved in silence.

use super::visible;
use crate::engine::DraftCheck;

/// The lines of the check that say something is wrong; none for a clean
/// draft.
pub fn draft_check_lines(check: &DraftCheck) -> Vec<String> {
    let mut out = Vec::new();
    if check.truncated {
        out.push(
            "WARNING: the model stopped at its token limit (finish_reason: length). This draft is incomplete."
                .to_string(),
        );
    }
    if !check.missing_sections.is_empty() {
        out.push("Structure check: the draft lacks these template sections:".to_string());
        out.extend(
            check
                .missing_sections
                .iter()
                .map(|s| format!("  - {}", visible(s))),
        );
    }
    if !check.problems.is_empty() {
        out.push("Template check: the draft breaks the template's rules:".to_string());
        out.extend(check.problems.iter().map(|p| format!("  - {}", visible(p))));
    }
    out
}

/// Prints the check's problems on stdout, or on stderr when stdout carries
/// JSON.
pub fn print_draft_check(check: &DraftCheck, to_stderr: bool) {
    for line in draft_check_lines(check) {
        if to_stderr {
            crate::errln!("{line}");
        } else {
            crate::outln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_draft_has_nothing_to_say_and_a_flawed_one_names_each_problem() {
        assert!(draft_check_lines(&DraftCheck::default()).is_empty());
        let lines = draft_check_lines(&DraftCheck {
            truncated: true,
            missing_sections: vec!["Rollback".into()],
            problems: vec!["Risk must be one of: Low, High".into()],
        });
        let text = lines.join("\n");
        assert!(text.contains("token limit"), "{text}");
        assert!(text.contains("  - Rollback"), "{text}");
        assert!(text.contains("  - Risk must be one of"), "{text}");
    }
}
