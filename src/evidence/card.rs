//! The step card: what the approved plan says about one step, shown before
//! anyone runs it, so the person executing the step and the record of it
//! both work from the plan a person approved, not from a model's summary.

use serde::Serialize;

use crate::markdown::Outline;
use crate::workflow::step::{step_section, Step};

/// One labelled part of a step as the plan writes it: `- **Action:** ...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardField {
    pub label: String,
    pub text: String,
}

/// A command found in the plan: inline code or a fenced block in the step's
/// Action or Verification, or a health check of the approved strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardCommand {
    /// Where in the plan it was found: "Action", "Verification", "Health check".
    pub source: String,
    pub command: String,
}

/// Everything the plan says about one step, read before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepCard {
    pub artifact: String,
    pub step: Step,
    pub fields: Vec<CardField>,
    /// The health checks of the approved strategy, when the phase's inputs
    /// reach one.
    pub health_checks: Vec<String>,
    pub commands: Vec<CardCommand>,
    /// The commands in the step's Rollback, offered only while it is rolled
    /// back.
    pub rollback_commands: Vec<CardCommand>,
    /// The plan names this step as the point of no return: once it has run,
    /// the change cannot be undone.
    pub point_of_no_return: bool,
}

/// The labels whose commands migagent offers to run: what the step does and
/// how it is verified. A rollback command is offered only after a rollback.
const COMMAND_FIELDS: [&str; 2] = ["action", "verification"];

impl StepCard {
    /// Reads step `step` of an approved `plan`, with the health checks of
    /// `strategy` (an approved artifact with a "Health Checks" section).
    pub fn read(artifact: &str, plan: &str, step: &Step, strategy: Option<&str>) -> StepCard {
        let section = step_section(plan, step);
        let fields = fields(&section);
        let health_checks = strategy.map(health_checks).unwrap_or_default();
        let mut commands = Vec::new();
        for f in &fields {
            if COMMAND_FIELDS.contains(&f.label.to_lowercase().as_str()) {
                for command in commands_in(&f.text) {
                    commands.push(CardCommand {
                        source: f.label.clone(),
                        command,
                    });
                }
            }
        }
        let rollback_commands = fields
            .iter()
            .filter(|f| f.label.eq_ignore_ascii_case("rollback"))
            .flat_map(|f| commands_in(&f.text))
            .map(|command| CardCommand {
                source: "Rollback".into(),
                command,
            })
            .collect();
        let mut card = StepCard {
            artifact: artifact.to_string(),
            step: step.clone(),
            fields,
            health_checks,
            commands,
            rollback_commands,
            // The plan's text names a step by the number its heading
            // writes; a number written twice marks both steps, so neither
            // passes the point of no return unconfirmed.
            point_of_no_return: point_of_no_return(plan)
                .is_some_and(|n| n.to_string() == step.written_number()),
        };
        // Health checks written as commands run under the same rules as
        // the step's own: listed, and run only with a yes.
        let checks = card.health_check_commands();
        card.commands.extend(checks);
        card
    }

    /// The commands offered at this step: its own, or its Rollback's while
    /// it is rolled back. The engine, the terminal and `evidence --exec`
    /// all offer from here, so they agree on what number K is.
    pub fn commands_for(&self, rollback: bool) -> &[CardCommand] {
        if rollback {
            &self.rollback_commands
        } else {
            &self.commands
        }
    }

    /// A field's text by its label, case-insensitively ("Rollback").
    pub fn field(&self, label: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.label.eq_ignore_ascii_case(label))
            .map(|f| f.text.as_str())
    }

    /// The health checks that are commands themselves (inline code), which
    /// may be run as evidence with the same rules as the step's own.
    pub fn health_check_commands(&self) -> Vec<CardCommand> {
        self.health_checks
            .iter()
            .flat_map(|h| commands_in(h))
            .map(|command| CardCommand {
                source: "Health check".into(),
                command,
            })
            .collect()
    }

    /// The card as plain text, for the terminal, `status` and the prompt.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Step {}: {} [{}]\n",
            self.step.number, self.step.name, self.artifact
        );
        if let Some(written) = &self.step.written {
            out.push_str(&format!(
                "  (the plan heads it 'Step {written}'; steps are counted in the order the plan lists them)\n"
            ));
        }
        for f in &self.fields {
            let mut lines = f.text.lines();
            out.push_str(&format!(
                "  {}: {}\n",
                f.label,
                lines.next().unwrap_or_default()
            ));
            for l in lines {
                out.push_str(&format!("    {l}\n"));
            }
        }
        if !self.health_checks.is_empty() {
            out.push_str("  Health checks (approved strategy):\n");
            for h in &self.health_checks {
                out.push_str(&format!("    - {h}\n"));
            }
        }
        if !self.commands.is_empty() {
            out.push_str("  Commands in the plan:\n");
            for (i, c) in self.commands.iter().enumerate() {
                out.push_str(&format!("    {}) [{}] {}\n", i + 1, c.source, c.command));
            }
        }
        if self.point_of_no_return {
            out.push_str(
                "  POINT OF NO RETURN: the plan says the change cannot be undone after this step.\n",
            );
        }
        out
    }
}

/// The `- **Label:** text` parts of a step section, each with the lines that
/// continue it (a fenced block under an Action belongs to the Action).
pub fn fields(section: &str) -> Vec<CardField> {
    let mut out: Vec<CardField> = Vec::new();
    let outline = Outline::new(section);
    for (i, line) in section.lines().enumerate() {
        if i == 0 && line.trim_start().starts_with('#') {
            continue;
        }
        let in_fence = outline.is_fenced(i);
        if !in_fence {
            if let Some((label, text)) = key_line(line) {
                out.push(CardField {
                    label,
                    text: text.to_string(),
                });
                continue;
            }
        }
        if let Some(last) = out.last_mut() {
            let t = if in_fence { line } else { line.trim() };
            if !t.is_empty() || in_fence {
                if !last.text.is_empty() {
                    last.text.push('\n');
                }
                last.text.push_str(t);
            }
        }
    }
    for f in &mut out {
        f.text = f.text.trim_end().to_string();
    }
    out
}

/// `- **Label:** text` (or `* **Label**: text`) as label and text.
fn key_line(line: &str) -> Option<(String, &str)> {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").or_else(|| t.strip_prefix("* "))?;
    let t = t.trim_start().strip_prefix("**")?;
    let end = t.find("**")?;
    let label = t[..end].trim().trim_end_matches(':').trim();
    let rest = t[end + 2..].trim_start();
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
    (!label.is_empty()).then(|| (label.to_string(), rest))
}

/// The commands in a piece of plan text: each fenced block whole, and each
/// inline code span outside fences.
pub fn commands_in(text: &str) -> Vec<String> {
    let outline = Outline::new(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(f) = outline.fences().iter().find(|f| f.open == i) {
            let body = f.content();
            let cmd = outline.lines(body.start, body.end).join("\n");
            let cmd = cmd.trim();
            if !cmd.is_empty() {
                out.push(cmd.to_string());
            }
        } else if !outline.is_fenced(i) {
            out.extend(inline_code(line));
        }
    }
    out
}

/// Inline code spans of one line (single backticks).
fn inline_code(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            break;
        };
        let code = after[..close].trim();
        if !code.is_empty() {
            out.push(code.to_string());
        }
        rest = &after[close + 1..];
    }
    out
}

/// The items of an approved strategy's "Health Checks" section.
pub fn health_checks(strategy: &str) -> Vec<String> {
    section_items(strategy, "health check")
}

/// The list items of the first section whose heading starts with `name`
/// (case-insensitive).
fn section_items(markdown: &str, name: &str) -> Vec<String> {
    let Some(body) = section_body(markdown, name) else {
        return Vec::new();
    };
    body.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            t.strip_prefix("- ")
                .or_else(|| t.strip_prefix("* "))
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty() && s != "..." && s != "…")
        .collect()
}

/// The text under the first heading starting with `name`, up to the next
/// heading of the same or a higher level.
fn section_body(markdown: &str, name: &str) -> Option<String> {
    let outline = Outline::new(markdown);
    let (start, level) = (0..outline.len()).find_map(|i| {
        let (level, text) = outline.heading(i)?;
        text.to_lowercase().starts_with(name).then_some((i, level))
    })?;
    let end = (start + 1..outline.len())
        .find(|i| outline.level(*i).is_some_and(|l| l <= level))
        .unwrap_or(outline.len());
    Some(outline.lines(start + 1, end).join("\n"))
}

/// The step after which the plan says there is no way back ("After step 3"),
/// read from its "Point of No Return" section. `None` when the plan says
/// the migration is fully reversible, or names no step.
pub fn point_of_no_return(plan: &str) -> Option<u32> {
    let body = section_body(plan, "point of no return")?;
    let lower = body.to_lowercase();
    let at = lower.find("step")?;
    lower[at + 4..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "## Pre-Migration Checklist\n- [ ] backup\n\n## Steps\n\n### Step 1: Take a backup\n- **Action:** run `pg_dump -Fc orders > orders.dump`\n- **Pre-condition:** disk has 2x free\n- **Verification:** `pg_restore --list orders.dump | head`\n- **Rollback:** none needed\n- **Duration estimate:** 10 min\n\n### Step 2: Cut over writes\n- **Action:** switch the writer:\n  ```sh\n  ./switch.sh --to new\n  systemctl reload app\n  ```\n- **Verification:** check `curl -fsS localhost/healthz` and `psql -c 'select 1'`\n- **Rollback:** `./switch.sh --to old`\n\n## Point of No Return\nAfter step 2 — the old primary is dropped.\n\n## Monitoring Plan\n- lag\n";

    fn step(n: u32, name: &str) -> Step {
        Step::new(n, name)
    }

    #[test]
    fn a_repeated_step_number_gets_each_block_its_own_card() {
        let plan = "## Steps\n### Step 1: Take a backup\n- **Action:** `pg_dump -Fc db > db.dump`\n### Step 1: Cut over writes (irreversible)\n- **Action:** `./switch.sh --to new`\n- **Rollback:** none\n\n## Point of No Return\nAfter step 1 — writes go to the new primary.\n";
        let all = crate::workflow::step::steps(plan);
        let second = StepCard::read("MIG-4.2", plan, &all[1], None);
        assert_eq!(second.step.number, 2);
        assert_eq!(second.commands[0].command, "./switch.sh --to new");
        assert!(
            second.text().contains("the plan heads it 'Step 1'"),
            "{}",
            second.text()
        );
        let first = StepCard::read("MIG-4.1", plan, &all[0], None);
        assert_eq!(first.commands[0].command, "pg_dump -Fc db > db.dump");
        // "After step 1" names both blocks headed Step 1: both must be
        // confirmed, never neither.
        assert!(first.point_of_no_return && second.point_of_no_return);
    }

    #[test]
    fn a_card_has_the_plan_fields_and_the_commands_of_action_and_verification() {
        let card = StepCard::read("MIG-4.1", PLAN, &step(1, "Take a backup"), None);
        let labels: Vec<&str> = card.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Action",
                "Pre-condition",
                "Verification",
                "Rollback",
                "Duration estimate"
            ]
        );
        assert_eq!(card.field("duration estimate"), Some("10 min"));
        let cmds: Vec<(&str, &str)> = card
            .commands
            .iter()
            .map(|c| (c.source.as_str(), c.command.as_str()))
            .collect();
        assert_eq!(
            cmds,
            [
                ("Action", "pg_dump -Fc orders > orders.dump"),
                ("Verification", "pg_restore --list orders.dump | head")
            ]
        );
        assert!(!card.point_of_no_return);
    }

    #[test]
    fn a_fenced_block_under_an_action_is_one_command_and_rollback_commands_wait() {
        let card = StepCard::read("MIG-4.2", PLAN, &step(2, "Cut over writes"), None);
        let cmds: Vec<&str> = card.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            cmds,
            [
                "./switch.sh --to new\n  systemctl reload app",
                "curl -fsS localhost/healthz",
                "psql -c 'select 1'"
            ]
        );
        assert_eq!(card.field("Rollback"), Some("`./switch.sh --to old`"));
        assert_eq!(card.rollback_commands.len(), 1);
        assert_eq!(card.rollback_commands[0].command, "./switch.sh --to old");
        assert!(card.point_of_no_return);
        assert!(
            card.text().contains("POINT OF NO RETURN"),
            "{}",
            card.text()
        );
    }

    #[test]
    fn health_checks_come_from_the_strategy() {
        let strategy = "## Strategy\nBlue-green\n\n## Health Checks\n- `curl -fsS localhost/healthz` — app answers\n- replication lag under 1 s\n- ...\n\n## Other\n- x\n";
        let card = StepCard::read("MIG-4.1", PLAN, &step(1, "Take a backup"), Some(strategy));
        assert_eq!(
            card.health_checks,
            [
                "`curl -fsS localhost/healthz` — app answers",
                "replication lag under 1 s"
            ]
        );
        let hc = card.health_check_commands();
        assert_eq!(hc.len(), 1);
        assert_eq!(hc[0].command, "curl -fsS localhost/healthz");
        // Offered after the step's own commands.
        assert_eq!(card.commands.len(), 3);
        assert_eq!(card.commands[2].source, "Health check");
    }

    #[test]
    fn the_point_of_no_return_is_read_or_absent() {
        assert_eq!(point_of_no_return(PLAN), Some(2));
        assert_eq!(
            point_of_no_return("## Point of No Return\nNone — fully reversible\n"),
            None
        );
        assert_eq!(
            point_of_no_return("## Point of no return\nafter Step 12: drop\n"),
            Some(12)
        );
        assert_eq!(point_of_no_return("## Steps\n### Step 1: x\n"), None);
    }

    #[test]
    fn a_missing_step_gives_an_empty_card() {
        let card = StepCard::read("MIG-4.9", PLAN, &step(9, "Nope"), None);
        assert!(card.fields.is_empty() && card.commands.is_empty());
    }
}
