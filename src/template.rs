//! Artifact templates: their sections, the structure check run on every
//! draft, and the steps a plan lists.

use std::sync::LazyLock;

use regex::Regex;

/// Tracks whether a line sits inside a fenced code block (``` or ~~~).
#[derive(Debug, Default)]
pub struct FenceTracker {
    open: Option<(char, usize)>,
}

impl FenceTracker {
    /// Feeds one line; returns true when the line is part of a fence
    /// (including the fence markers themselves).
    pub fn feed(&mut self, line: &str) -> bool {
        let t = line.trim_start();
        let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| t.chars().take_while(|c| *c == m).count());
        match (self.open, marker) {
            (None, Some(m)) if run >= 3 => {
                self.open = Some((m, run));
                true
            }
            (Some((m, n)), Some(c))
                if c == m && run >= n && t.trim_end().chars().all(|x| x == m) =>
            {
                self.open = None;
                true
            }
            (Some(_), _) => true,
            _ => false,
        }
    }
}

/// The content of the first fenced block in `lines`. `Err(offset)` names the
/// line of a fence that never closes.
pub fn first_fenced_block(lines: &[&str]) -> Result<Option<String>, usize> {
    let mut start = None;
    let mut fence = FenceTracker::default();
    let mut body = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let was_open = fence.open.is_some();
        fence.feed(line);
        match (was_open, fence.open.is_some()) {
            (false, true) => start = Some(i),
            (true, false) => return Ok(Some(body.join("\n"))),
            (true, true) => body.push(*line),
            (false, false) => {}
        }
    }
    match start {
        Some(offset) => Err(offset),
        None => Ok(None),
    }
}

/// A Markdown heading found outside code fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub text: String,
}

pub fn headings(markdown: &str) -> Vec<Heading> {
    let mut fence = FenceTracker::default();
    let mut out = Vec::new();
    for line in markdown.lines() {
        if fence.feed(line) {
            continue;
        }
        let t = line.trim_start();
        let level = t.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && t[level..].starts_with(' ') {
            out.push(Heading {
                level,
                text: t[level..].trim().to_string(),
            });
        }
    }
    out
}

/// The part of a heading that a draft must reproduce: the text before the
/// first placeholder (`### Step 1: <Name>` needs "Step 1:"). Headings made
/// only of a placeholder, and the template's own "Step 2 ... N" repeats, are
/// not required.
fn required_prefix(text: &str) -> Option<String> {
    let prefix = text.split('<').next().unwrap_or("").trim();
    let prefix = normalize(prefix);
    if prefix.is_empty() {
        None
    } else {
        Some(prefix)
    }
}

fn normalize(s: &str) -> String {
    s.replace(['*', '`'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The template's section headings that the draft lacks, as written in the
/// template. Heading levels are not compared, only their words.
pub fn missing_sections(template: &str, draft: &str) -> Vec<String> {
    let drafted: Vec<String> = headings(draft).iter().map(|h| normalize(&h.text)).collect();
    let mut missing = Vec::new();
    let template_headings = headings(template);
    let first_step = template_headings
        .iter()
        .position(|h| STEP.is_match(&h.text));
    for (i, h) in template_headings.iter().enumerate() {
        // Only the first of a template's repeated step blocks is required:
        // a plan may have any number of steps.
        if STEP.is_match(&h.text) && Some(i) != first_step {
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

// The patterns below are literals: `expect` cannot fire once the parser
// tests have compiled them.
static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step\s+(\d+)\s*[:.\-—]\s*(.*)$").expect("static regex"));

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
        .filter_map(|h| STEP.captures(&h.text))
        .filter_map(|c| {
            Some(Step {
                number: c[1].parse().ok()?,
                name: c[2].trim().to_string(),
            })
        })
        .collect()
}

/// The text of the section whose heading starts with `Step N`, up to the
/// next heading of the same or a higher level.
pub fn step_section(markdown: &str, step: &Step) -> String {
    let mut fence = FenceTracker::default();
    let mut out: Vec<&str> = Vec::new();
    let mut level = None;
    for line in markdown.lines() {
        let in_fence = fence.feed(line);
        let t = line.trim_start();
        let hashes = t.chars().take_while(|c| *c == '#').count();
        let is_heading = !in_fence && (1..=6).contains(&hashes) && t[hashes..].starts_with(' ');
        match level {
            None if is_heading => {
                if let Some(c) = STEP.captures(t[hashes..].trim()) {
                    if c[1].parse::<u32>().ok() == Some(step.number) {
                        level = Some(hashes);
                        out.push(line);
                    }
                }
            }
            Some(l) if is_heading && hashes <= l => break,
            Some(_) => out.push(line),
            None => {}
        }
    }
    out.join("\n").trim().to_string()
}

/// The template of one step's artifact: `Step N: <Name>` becomes
/// `Step 3: Cut over`, the step's own name from the approved plan, so the
/// model is never asked to name the step again; any other `Step N` becomes
/// `Step 3`.
pub fn step_template(template: &str, step: &Step) -> String {
    let named = if step.name.trim().is_empty() {
        template.to_string()
    } else {
        let replacement = format!(
            "Step {}${{sep}}{}",
            step.number,
            step.name.replace('$', "$$")
        );
        NAMED_STEP
            .replace_all(template, replacement.as_str())
            .into_owned()
    };
    named.replace("Step N", &format!("Step {}", step.number))
}

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

/// Models often wrap their whole answer in a ```markdown fence; the artifact
/// is what is inside it.
pub fn strip_outer_fence(draft: &str) -> String {
    let trimmed = draft.trim();
    let lines: Vec<&str> = trimmed.lines().collect();
    if lines.len() >= 2 {
        let first = lines[0].trim();
        let last = lines[lines.len() - 1].trim();
        let opens =
            first.starts_with("```") && first[3..].chars().all(|c| c.is_ascii_alphanumeric());
        if opens && last == "```" {
            let inner = &lines[1..lines.len() - 1];
            if !inner.iter().any(|l| l.trim_start().starts_with("```")) {
                return inner.join("\n").trim().to_string() + "\n";
            }
        }
    }
    let mut out = trimmed.to_string();
    out.push('\n');
    out
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
    fn outer_markdown_fence_is_removed() {
        assert_eq!(strip_outer_fence("```markdown\n## A\nx\n```"), "## A\nx\n");
        assert_eq!(
            strip_outer_fence("## A\n```\ncode\n```\n"),
            "## A\n```\ncode\n```\n"
        );
    }

    #[test]
    fn unclosed_fence_is_reported_at_its_line() {
        assert_eq!(first_fenced_block(&["text", "```", "## A"]), Err(1));
        assert_eq!(
            first_fenced_block(&["```", "## A", "```"]),
            Ok(Some("## A".to_string()))
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
    }
}
