//! The part of a prompt file (`Invoke prompt`) that one phase needs.
//!
//! One prompt file often serves several phases of a workflow: the built-in
//! `prompts/migrate.md` guides both the assessment and the report of each
//! executed step. Sending the whole file to both would give each phase
//! the other's guidance as well, at the cost of prompt size and of a model
//! mixing up the two jobs. So a `##` section whose heading is the name of
//! one of the workflow's phases (`## Assessment`, `## Execute`; case,
//! emphasis and a leading `Phase 4:` ignored) goes only to that phase,
//! and everything else in the file goes to every phase that invokes it.
//! A file without such sections is given whole, as it always was.

use crate::markdown::{collapse_blank_runs, strip_emphasis, Outline};

/// The text of the prompt file `text` that the phase named `phase` gets,
/// where `phases` names every phase of the workflow: the sections named
/// after other phases are left out.
pub fn guidance_for(text: &str, phase: &str, phases: &[&str]) -> String {
    let outline = Outline::new(text);
    let mut out: Vec<&str> = Vec::with_capacity(outline.len());
    let mut skipping = false;
    let mut any_cut = false;
    for i in 0..outline.len() {
        let line = outline.line(i).unwrap_or_default();
        match outline.heading(i) {
            Some((level, heading)) if level <= 2 => {
                let named = phase_named(heading, phases);
                skipping = named.is_some_and(|name| !same_name(name, phase));
                any_cut |= skipping;
            }
            _ => {}
        }
        if !skipping {
            out.push(line);
        }
    }
    if !any_cut {
        return text.to_string();
    }
    collapse_blank_runs(out).trim().to_string() + "\n"
}

/// The phase a section heading names, if any.
fn phase_named<'p>(heading: &str, phases: &[&'p str]) -> Option<&'p str> {
    let words = strip_emphasis(heading);
    let name = without_phase_number(&words);
    phases.iter().copied().find(|p| same_name(p, name))
}

/// `Phase 4: Execute` and `Phase 4 — Execute` name the phase `Execute`.
fn without_phase_number(heading: &str) -> &str {
    let Some(rest) = heading
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("phase "))
        .map(|_| &heading[6..])
    else {
        return heading;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.trim_start();
    match rest.strip_prefix([':', '.', '-', '—', '–']) {
        Some(name) => name.trim(),
        None => heading,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Prompt: Both\n\nShared rule.\n\n## Assessment\n\nASSESS-ONLY\n\n### Checks\n\nASSESS-CHECK\n\n## **Phase 4: Execute**\n\nSTEP-ONLY\n\n```\n## Assessment\ninside a fence\n```\n\n## Checks for everyone\n\nALL-CHECK\n";

    #[test]
    fn each_phase_gets_its_own_section_and_the_shared_rest() {
        let phases = ["Assessment", "Strategy", "Execute"];
        let a = guidance_for(FILE, "assessment", &phases);
        assert!(
            a.contains("Shared rule.") && a.contains("ASSESS-ONLY"),
            "{a}"
        );
        assert!(
            a.contains("ASSESS-CHECK"),
            "a ### section follows its ##: {a}"
        );
        assert!(a.contains("ALL-CHECK"), "{a}");
        assert!(
            !a.contains("STEP-ONLY") && !a.contains("inside a fence"),
            "{a}"
        );

        let e = guidance_for(FILE, "Execute", &phases);
        assert!(
            e.contains("STEP-ONLY") && e.contains("inside a fence"),
            "{e}"
        );
        assert!(
            !e.contains("ASSESS-ONLY") && !e.contains("ASSESS-CHECK"),
            "{e}"
        );
        assert!(e.contains("Shared rule.") && e.contains("ALL-CHECK"), "{e}");

        // A phase with no section of its own gets only the shared parts.
        let s = guidance_for(FILE, "Strategy", &phases);
        assert!(
            !s.contains("ASSESS-ONLY") && !s.contains("STEP-ONLY"),
            "{s}"
        );
        assert!(s.contains("Shared rule.") && s.contains("ALL-CHECK"), "{s}");
    }

    #[test]
    fn a_file_without_phase_sections_is_given_whole() {
        let phases = ["Discovery", "Rollout"];
        assert_eq!(guidance_for(FILE, "Discovery", &phases), FILE);
        let plain = "# Prompt\n\n## Guidance\n\ntext\n";
        assert_eq!(
            guidance_for(plain, "Guidance-less", &["Guidance-less"]),
            plain
        );
    }

    #[test]
    fn phase_numbers_and_separators_are_read() {
        assert_eq!(without_phase_number("Phase 4: Execute"), "Execute");
        assert_eq!(without_phase_number("Phase 12 — Cut over"), "Cut over");
        assert_eq!(without_phase_number("phase 2. Plan"), "Plan");
        assert_eq!(without_phase_number("Phase out"), "Phase out");
        assert_eq!(without_phase_number("Phases"), "Phases");
    }
}
