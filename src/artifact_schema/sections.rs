//! The structure check run on every draft: which of the template's
//! section headings the draft lacks.

use crate::markdown::{headings, step_heading, strip_emphasis, Heading, Outline};

/// The part of a heading that a draft must reproduce: the text before the
/// first placeholder (`### Step 1: <Name>` needs "Step 1:"). Headings made
/// only of a placeholder, and the template's own "Step 2 ... N" repeats, are
/// not required.
fn required_prefix(text: &str) -> Option<String> {
    let prefix = text.split('<').next().unwrap_or("").trim();
    let prefix = heading_words(prefix);
    if prefix.is_empty() {
        None
    } else {
        Some(prefix)
    }
}

/// A heading's words as drafts and templates are compared: without
/// emphasis, single-spaced, lower case.
fn heading_words(s: &str) -> String {
    strip_emphasis(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The template's section headings that the draft lacks, as written in the
/// template. Heading levels are not compared, only their words. Headings
/// inside the template's code blocks are examples, not sections, and its
/// title line (`# Migration Assessment: <system>`, see
/// [`crate::markdown`]'s `Outline::title`) names the artifact: a draft is
/// not refused for lacking either.
pub fn missing_sections(template: &str, draft: &str) -> Vec<String> {
    let drafted: Vec<String> = headings(draft)
        .iter()
        .map(|h| heading_words(&h.text))
        .collect();
    let mut missing = Vec::new();
    let outline = Outline::new(template);
    let title = outline.title();
    let template_headings: Vec<Heading> = (0..outline.len())
        .filter(|i| Some(*i) != title)
        .filter_map(|i| outline.heading(i))
        .map(|(level, text)| Heading {
            level,
            text: text.to_string(),
        })
        .collect();
    let first_step = template_headings
        .iter()
        .position(|h| step_heading(&h.text).is_some());
    for (i, h) in template_headings.iter().enumerate() {
        // Only the first of a template's repeated step blocks is required:
        // a plan may have any number of steps.
        if step_heading(&h.text).is_some() && Some(i) != first_step {
            continue;
        }
        let Some(prefix) = required_prefix(&h.text) else {
            continue;
        };
        if !drafted.iter().any(|d| d.starts_with(&prefix)) {
            missing.push(format!("{} {}", "#".repeat(h.level), h.text));
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN_TEMPLATE: &str = "## Pre-Migration Checklist\n- [ ] <Pre-condition>\n\n## Steps\n\n### Step 1: <Name>\n- **Action:** <what>\n\n### Step 2: <Name>\n...\n\n## Point of No Return\n<After step N>";

    #[test]
    fn missing_sections_names_what_the_draft_lacks() {
        let draft =
            "## Pre-Migration Checklist\n- [ ] db backup\n## Steps\n### Step 1: Freeze writes\n";
        assert_eq!(
            missing_sections(PLAN_TEMPLATE, draft),
            vec!["## Point of No Return"]
        );
    }

    #[test]
    fn a_plan_with_one_step_is_complete() {
        let draft =
            "## Pre-Migration Checklist\n## Steps\n### Step 1: Freeze\n## Point of No Return\nNone";
        assert!(missing_sections(PLAN_TEMPLATE, draft).is_empty());
    }
}
