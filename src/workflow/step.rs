//! The steps of an approved plan, and the per-step artifacts they give:
//! `[MIG-4.N]: Step N Result` becomes `[MIG-4.3]: Step 3 Result` with the
//! plan's own step name in its template.
//!
//! A step is identified by its place in the plan, never by the number its
//! heading writes: a model or a person may write `### Step 1:` twice, skip
//! a number or swap two, and a step identified by that number would share
//! (or lose) its gate. Every step block gets its own artifact, draft, gate
//! and journal line, in the order it appears; [`numbering_problems`] tells
//! the plan's gate where the written numbers disagree with that order.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::markdown::{collapse_blank_runs, headings, step_heading, Outline};

/// One step of a plan, from a `### Step N: Name` heading.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// The step's place among the plan's steps, from 1: its identity (its
    /// artifact `MIG-4.3`, its gate, its journal lines) and the number it
    /// is shown and drafted under.
    pub number: u32,
    pub name: String,
    /// The number the plan's heading writes, kept only when it is not the
    /// step's place (a repeated, skipped or swapped number), so the card
    /// can say which heading of the plan the step is. Runs of earlier
    /// versions have none: their numbers were always read as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

impl Step {
    /// A step whose heading writes its own place, `Step N`.
    pub fn new(number: u32, name: impl Into<String>) -> Step {
        Step {
            number,
            name: name.into(),
            written: None,
        }
    }

    /// The number as the plan writes it, which is what the plan's own text
    /// (its point of no return, say) refers to.
    pub fn written_number(&self) -> String {
        match &self.written {
            Some(w) => plain_number(w).to_string(),
            None => self.number.to_string(),
        }
    }
}

/// The `Step N: Name` headings of a plan (level 2 and deeper, outside
/// fences), in order: the number as written and the name.
fn step_headings(markdown: &str) -> Vec<(String, String)> {
    headings(markdown)
        .iter()
        .filter(|h| h.level >= 2)
        .filter_map(|h| step_heading(&h.text))
        .map(|(number, name)| (number.to_string(), name.to_string()))
        .collect()
}

/// A written number without leading zeros: `07` is step 7, as a reader
/// takes it.
fn plain_number(written: &str) -> &str {
    match written.trim_start_matches('0') {
        "" => "0",
        n => n,
    }
}

/// The steps a plan lists, in order of appearance, numbered by their place.
pub fn steps(markdown: &str) -> Vec<Step> {
    step_headings(markdown)
        .into_iter()
        .enumerate()
        .map(|(i, (written, name))| {
            let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let same = plain_number(&written) == number.to_string();
            Step {
                number,
                name,
                written: (!same).then_some(written),
            }
        })
        .collect()
}

/// Where a plan's written step numbers disagree with the order of its step
/// headings: a number used twice, a number skipped, numbers out of order.
/// Steps are taken in the order they appear whatever their numbers say, so
/// each of these is told at the plan's gate, where a person can renumber
/// the plan or see that a step went missing. Empty for a plan numbered
/// 1, 2, 3, ...
pub fn numbering_problems(markdown: &str) -> Vec<String> {
    let all = steps(markdown);
    if all.iter().all(|s| s.written.is_none()) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let mut by_number: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in &all {
        by_number
            .entry(plain_number(&s.written_number()).to_string())
            .or_default()
            .push(s);
    }
    for (number, same) in by_number.iter().filter(|(_, v)| v.len() > 1) {
        let names: Vec<String> = same.iter().map(|s| format!("'{}'", s.name)).collect();
        problems.push(format!(
            "step numbering: 'Step {number}' heads {} steps ({})",
            same.len(),
            names.join(", ")
        ));
    }
    let written: Vec<u64> = all
        .iter()
        .filter_map(|s| s.written_number().parse().ok())
        .collect();
    let missing: Vec<String> = (1..=all.len() as u64)
        .filter(|n| !written.contains(n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "step numbering: no heading is numbered {}",
            missing.join(", ")
        ));
    }
    if written.windows(2).any(|w| w[0] >= w[1]) && by_number.values().all(|v| v.len() == 1) {
        let order: Vec<String> = all.iter().map(Step::written_number).collect();
        problems.push(format!(
            "step numbering: the steps are numbered out of order ({})",
            order.join(", ")
        ));
    }
    let moved: Vec<String> = all
        .iter()
        .filter_map(|s| {
            s.written
                .as_ref()
                .map(|w| format!("'Step {w}: {}' is step {}", s.name, s.number))
        })
        .collect();
    problems.push(format!(
        "step numbering: every step gets its own gate in the order the plan lists them, so {}; renumber the headings 1 to {} if that is not the order meant",
        moved.join(", "),
        all.len()
    ));
    problems
}

/// The text of the `step.number`-th step section (by place, as [`steps`]
/// counts), up to the next heading of the same or a higher level.
pub fn step_section(markdown: &str, step: &Step) -> String {
    let outline = Outline::new(markdown);
    let mut out: Vec<&str> = Vec::new();
    let mut level = None;
    let mut seen = 0u32;
    for i in 0..outline.len() {
        let line = outline.line(i).unwrap_or_default();
        let heading = outline.heading(i);
        match (level, heading) {
            (None, Some((hashes, text))) => {
                if hashes >= 2 && step_heading(text).is_some() {
                    seen = seen.saturating_add(1);
                    if seen == step.number {
                        level = Some(hashes);
                        out.push(line);
                    }
                }
            }
            (Some(l), Some((hashes, _))) if hashes <= l => break,
            (Some(_), _) => out.push(line),
            (None, None) => {}
        }
    }
    out.join("\n").trim().to_string()
}

/// The plan as the draft of one step needs it: that step (by place, as
/// [`steps`] counts) in full, and every other step as its heading line
/// alone. Everything outside the step blocks (checklists, point of no
/// return, monitoring) stays whole. A step's prompt thus grows by one line
/// per step of the plan, not by every step's text: with 40 steps the
/// others' details were over half of each step's request.
pub fn plan_for_step(markdown: &str, step: &Step) -> String {
    let outline = Outline::new(markdown);
    let mut out: Vec<&str> = Vec::with_capacity(outline.len());
    // The level of the step block being shortened, while inside one.
    let mut skipping: Option<usize> = None;
    let mut seen = 0u32;
    for i in 0..outline.len() {
        let line = outline.line(i).unwrap_or_default();
        if let Some((hashes, text)) = outline.heading(i) {
            if skipping.is_some_and(|l| hashes <= l) {
                skipping = None;
            }
            if skipping.is_none() && hashes >= 2 && step_heading(text).is_some() {
                seen = seen.saturating_add(1);
                if seen != step.number {
                    out.push(line);
                    out.push("");
                    skipping = Some(hashes);
                    continue;
                }
            }
        }
        if skipping.is_none() {
            out.push(line);
        }
    }
    collapse_blank_runs(out).trim_end().to_string()
}

/// The template of one step's artifact: `Step N: <Name>` becomes
/// `Step 3: Cut over`, the step's own name from the approved plan, so the
/// model is never asked to name the step again; any other `Step N` becomes
/// `Step 3`.
pub fn step_template(template: &str, step: &Step) -> String {
    let name = template_safe_name(&step.name);
    let named = if name.is_empty() {
        template.to_string()
    } else {
        let replacement = format!("Step {}${{sep}}{}", step.number, name.replace('$', "$$"));
        NAMED_STEP
            .replace_all(template, replacement.as_str())
            .into_owned()
    };
    named.replace("Step N", &format!("Step {}", step.number))
}

/// A plan's step name as plain words for a template heading. A name is
/// whatever a person or a model wrote in the plan; markup in it (`<a href=`,
/// `**`, backticks) would read as a placeholder or emphasis in the template,
/// and the artifact would not read back as it was rendered. Tags go, then
/// the characters the template language gives a meaning; words stay.
fn template_safe_name(name: &str) -> String {
    let untagged = TAG.replace_all(name, " ");
    let plain: String = untagged
        .chars()
        .map(|c| {
            if matches!(
                c,
                '<' | '>' | '*' | '`' | '[' | ']' | '|' | '\\' | '#' | '~'
            ) {
                ' '
            } else {
                c
            }
        })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^<>\n]*>").expect("static regex"));

static NAMED_STEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Step N(?P<sep>[ \t]*[:.\-—][ \t]*)<[^>\n]*>").expect("static regex")
});

/// The title of one step's artifact: `Step N Result` becomes `Step 3 Result`.
pub fn step_title(title: &str, step: &Step) -> String {
    title
        .split(' ')
        .map(|w| {
            if w == "N" {
                step.number.to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The artifact id of one step: `MIG-4.N` becomes `MIG-4.3`.
pub fn step_artifact_id(pattern: &str, step: &Step) -> String {
    match pattern.strip_suffix(".N") {
        Some(base) => format!("{base}.{}", step.number),
        None => format!("{pattern}.{}", step.number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_from_headings_outside_fences() {
        let plan = "## Steps\n### Step 1: Freeze writes\n```\n### Step 9: not real\n```\n### Step 2: Copy data\n";
        assert_eq!(
            steps(plan),
            vec![Step::new(1, "Freeze writes"), Step::new(2, "Copy data")]
        );
    }

    /// The plan of the red-team report: two `Step 1` blocks, the second
    /// the irreversible one.
    const TWICE_ONE: &str = "## Steps\n### Step 1: Take a backup\n- **Action:** `pg_dump`\n### Step 1: Cut over writes (irreversible)\n- **Action:** `./switch.sh`\n### Step 2: Watch\n- **Action:** look\n## Point of No Return\nAfter step 1\n";

    #[test]
    fn steps_are_identified_by_their_place_not_their_written_number() {
        let all = steps(TWICE_ONE);
        let places: Vec<(u32, &str, Option<&str>)> = all
            .iter()
            .map(|s| (s.number, s.name.as_str(), s.written.as_deref()))
            .collect();
        assert_eq!(
            places,
            [
                (1, "Take a backup", None),
                (2, "Cut over writes (irreversible)", Some("1")),
                (3, "Watch", Some("2")),
            ]
        );
        let ids: Vec<String> = all.iter().map(|s| step_artifact_id("MIG-4.N", s)).collect();
        assert_eq!(ids, ["MIG-4.1", "MIG-4.2", "MIG-4.3"], "one artifact each");
        // Each step's section is its own block, not the first `Step 1`.
        assert_eq!(
            step_section(TWICE_ONE, &all[1]),
            "### Step 1: Cut over writes (irreversible)\n- **Action:** `./switch.sh`"
        );
        assert_eq!(
            step_section(TWICE_ONE, &all[2]),
            "### Step 2: Watch\n- **Action:** look"
        );
        assert_eq!(all[1].written_number(), "1");
        assert_eq!(all[0].written_number(), "1");
    }

    #[test]
    fn duplicate_missing_and_swapped_numbers_are_problems_for_the_gate() {
        let dup = numbering_problems(TWICE_ONE);
        assert!(
            dup.iter().any(|p| p.contains("'Step 1' heads 2 steps")
                && p.contains("'Take a backup', 'Cut over writes (irreversible)'")),
            "{dup:?}"
        );
        assert!(
            dup.iter().any(|p| p.contains("no heading is numbered 3")),
            "{dup:?}"
        );
        assert!(
            dup.iter()
                .any(|p| p.contains("'Step 1: Cut over writes (irreversible)' is step 2")),
            "{dup:?}"
        );

        let skipped = "### Step 1: A\n### Step 2: B\n### Step 4: D\n";
        let problems = numbering_problems(skipped);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no heading is numbered 3")),
            "{problems:?}"
        );
        assert!(
            !problems.iter().any(|p| p.contains("heads")),
            "{problems:?}"
        );
        assert_eq!(steps(skipped)[2].number, 3);

        let swapped = "### Step 2: B\n### Step 1: A\n### Step 3: C\n";
        let problems = numbering_problems(swapped);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("out of order (2, 1, 3)")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("'Step 2: B' is step 1")),
            "{problems:?}"
        );
        assert_eq!(
            steps(swapped)
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["B", "A", "C"],
            "taken in the order written"
        );

        // A number too large for any integer is still a step of its own.
        let huge = "### Step 1: A\n### Step 99999999999999999999999: B\n";
        assert_eq!(steps(huge).len(), 2);
        assert!(!numbering_problems(huge).is_empty());

        for fine in [
            "### Step 1: A\n### Step 2: B\n",
            "### Step 01: A\n### Step 02: B\n",
            "no steps at all\n",
        ] {
            assert!(numbering_problems(fine).is_empty(), "{fine}");
        }
    }

    #[test]
    fn a_step_draft_gets_its_own_step_whole_and_the_others_as_one_line() {
        let plan = "## Steps\n\n### Step 1: Back up\n- **Action:** dump\n- **Rollback:** none\n\n### Step 2: Cut over\n- **Action:** switch\n\n```\n### Step 9: fenced\n```\n\n### Step 3: Watch\n- **Action:** look\n\n## Point of No Return\nStep 2\n";
        let two = plan_for_step(plan, &Step::new(2, "Cut over"));
        assert!(
            two.contains("### Step 1: Back up\n\n### Step 2: Cut over"),
            "{two}"
        );
        assert!(
            two.contains("- **Action:** switch") && two.contains("Step 9: fenced"),
            "{two}"
        );
        assert!(!two.contains("dump") && !two.contains("look"), "{two}");
        assert!(
            two.contains("### Step 3: Watch\n\n## Point of No Return\nStep 2"),
            "{two}"
        );
        let one = plan_for_step(plan, &Step::new(1, "Back up"));
        assert!(
            one.contains("dump") && !one.contains("switch") && !one.contains("fenced"),
            "{one}"
        );

        // Each further step adds one line, not its text.
        let long: String = (1..=40)
            .map(|n| format!("### Step {n}: Do thing {n}\n- **Action:** run a long command number {n} with care\n- **Verification:** check it\n\n"))
            .collect();
        let short: String = long
            .split("### Step 5:")
            .next()
            .unwrap_or_default()
            .to_string();
        let a = plan_for_step(&short, &Step::new(2, "Do thing 2"));
        let b = plan_for_step(&long, &Step::new(2, "Do thing 2"));
        assert_eq!(
            b.lines().filter(|l| !l.trim().is_empty()).count()
                - a.lines().filter(|l| !l.trim().is_empty()).count(),
            36
        );
    }

    #[test]
    fn step_section_stops_at_the_next_step() {
        let plan = "## Steps\n### Step 1: A\n- **Action:** a\n### Step 2: B\n- **Action:** b\n## Point of No Return\nx";
        let s = step_section(plan, &Step::new(2, "B"));
        assert_eq!(s, "### Step 2: B\n- **Action:** b");
    }

    #[test]
    fn step_ids_and_templates_are_instantiated() {
        let step = Step::new(3, "Cut over");
        assert_eq!(step_artifact_id("MIG-4.N", &step), "MIG-4.3");
        assert_eq!(
            step_template("## Step N: <Name>\n<in Step N>", &step),
            "## Step 3: Cut over\n<in Step 3>"
        );
        let priced = Step::new(2, "Pay $1 fee");
        assert_eq!(
            step_template("# Step N — <Title>", &priced),
            "# Step 2 — Pay $1 fee"
        );
        // A name with markup (as a small model writes it) is made plain, so
        // the template has no stray placeholder or emphasis.
        let marked = Step::new(
            2,
            "Pre-Condition **Check** (2)</strong></code><br /><a href=",
        );
        assert_eq!(
            step_template(
                "## Step N: <Name>\n### Status\n<Complete / Rolled back>",
                &marked
            ),
            "## Step 2: Pre-Condition Check (2) a href=\n### Status\n<Complete / Rolled back>"
        );
        let only_markup = Step::new(4, "<br/>**");
        assert_eq!(
            step_template("## Step N: <Name>", &only_markup),
            "## Step 4: <Name>"
        );
    }
}
