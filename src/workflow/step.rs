//! The steps of an approved plan, and the per-step artifacts they give:
//! `[MIG-4.N]: Step N Result` becomes `[MIG-4.3]: Step 3 Result` with the
//! plan's own step name in its template.

use std::sync::LazyLock;

use regex::Regex;

use crate::markdown::{headings, step_heading, Outline};

/// One step of a plan, from a `### Step N: Name` heading.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub number: u32,
    pub name: String,
}

/// The steps a plan lists, in order of appearance.
pub fn steps(markdown: &str) -> Vec<Step> {
    headings(markdown)
        .iter()
        .filter(|h| h.level >= 2)
        .filter_map(|h| step_heading(&h.text))
        .filter_map(|(number, name)| {
            Some(Step {
                number: number.parse().ok()?,
                name: name.to_string(),
            })
        })
        .collect()
}

/// The text of the section whose heading starts with `Step N`, up to the
/// next heading of the same or a higher level.
pub fn step_section(markdown: &str, step: &Step) -> String {
    let outline = Outline::new(markdown);
    let mut out: Vec<&str> = Vec::new();
    let mut level = None;
    for i in 0..outline.len() {
        let line = outline.line(i).unwrap_or_default();
        let heading = outline.heading(i);
        match (level, heading) {
            (None, Some((hashes, text))) => {
                if let Some((number, _)) = step_heading(text) {
                    if number.parse::<u32>().ok() == Some(step.number) {
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
            vec![
                Step {
                    number: 1,
                    name: "Freeze writes".into()
                },
                Step {
                    number: 2,
                    name: "Copy data".into()
                }
            ]
        );
    }

    #[test]
    fn step_section_stops_at_the_next_step() {
        let plan = "## Steps\n### Step 1: A\n- **Action:** a\n### Step 2: B\n- **Action:** b\n## Point of No Return\nx";
        let s = step_section(
            plan,
            &Step {
                number: 2,
                name: "B".into(),
            },
        );
        assert_eq!(s, "### Step 2: B\n- **Action:** b");
    }

    #[test]
    fn step_ids_and_templates_are_instantiated() {
        let step = Step {
            number: 3,
            name: "Cut over".into(),
        };
        assert_eq!(step_artifact_id("MIG-4.N", &step), "MIG-4.3");
        assert_eq!(
            step_template("## Step N: <Name>\n<in Step N>", &step),
            "## Step 3: Cut over\n<in Step 3>"
        );
        let priced = Step {
            number: 2,
            name: "Pay $1 fee".into(),
        };
        assert_eq!(
            step_template("# Step N — <Title>", &priced),
            "# Step 2 — Pay $1 fee"
        );
        // A name with markup (as a small model writes it) is made plain, so
        // the template has no stray placeholder or emphasis.
        let marked = Step {
            number: 2,
            name: "Pre-Condition **Check** (2)</strong></code><br /><a href=".into(),
        };
        assert_eq!(
            step_template(
                "## Step N: <Name>\n### Status\n<Complete / Rolled back>",
                &marked
            ),
            "## Step 2: Pre-Condition Check (2) a href=\n### Status\n<Complete / Rolled back>"
        );
        let only_markup = Step {
            number: 4,
            name: "<br/>**".into(),
        };
        assert_eq!(
            step_template("## Step N: <Name>", &only_markup),
            "## Step 4: <Name>"
        );
    }
}
