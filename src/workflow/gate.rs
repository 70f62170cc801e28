//! A phase's `### GATE` section, and what its options do to a run.
//!
//! How a gate is read (the README's workflow-format section says the same):
//!
//! - **Approval criteria** are the whole paragraph that starts with
//!   `**Approval criteria:**`: lines that wrap onto the next ones are joined
//!   with spaces until a blank line or a list item. A label alone on its
//!   line followed by a list takes the list's items as the criteria.
//! - **Options** are list items `- **Label** → description`; a description
//!   that wraps onto further lines (indented or not) is kept whole.
//! - **One gate per phase.** A second `### GATE` section in a phase is an
//!   error at its line: which of two gates a draft must pass, and in what
//!   order, is for the author to say by merging them (see `parse.rs`).
//! - **Options that send the work back.** An option whose description names
//!   an earlier phase ("revise contract in Phase 2, then re-present at
//!   Phase 3", "return to Phase 4 or 5 as needed", "back to Phase 1") or an
//!   earlier artifact after a verb of going back ("revise `[API-2]`") is a
//!   [`GateAction::SendBack`] to those phases. A phase is read by the verb
//!   nearest before it: after "re-present" it is where the work comes back
//!   to, after "proceed"/"continue" it is where the run goes next, after any
//!   other wording an earlier phase is a place to send the work back to.
//!   A label starting "Approve" always proceeds.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::{Line, Parser};
use super::*;

// The patterns below are literals: `expect` cannot fire once the parser
// tests have compiled them.
static CRITERIA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*\*approval criteria:?\*\*:?\s*(.*)$").expect("static regex")
});
static OPTION_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[-*+]|\d{1,9}[.)])\s+\*\*(.+?)\*\*\s*(?:→|->|=>|—|–|-)\s*(.*)$")
        .expect("static regex")
});
/// The start of a list item: a bullet, or a number with `.` or `)`.
static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[-*+]|\d{1,9}[.)])(?:\s|$)").expect("static regex"));
/// "Phase 2", "Phases 4 and 5", "Phase 4 or 5", "Phase 4, 5 or Phase 6",
/// "Phases 2–3" (a range).
static PHASE_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bphases?\s+(\d+)((?:\s*(?:,|\bor\b|\band\b|/|&)\s*(?:phase\s+)?\d+)*)(?:\s*(?:-|–|\bthrough\b)\s*(?:phase\s+)?(\d+))?",
    )
    .expect("static regex")
});
/// An artifact named right after a verb of going back: "revise `[API-2]`",
/// "back to [API-2]".
static ARTIFACT_BACK_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:revise|rework|redo|reopen|re-open|revisit|return\s+to|back\s+to)\s+(?:the\s+)?`?\[([A-Za-z][A-Za-z0-9_]*-\d+(?:\.(?:N|\d+))?)\]",
    )
    .expect("static regex")
});
/// A thematic break (`---`), which separates phases and says nothing.
static BREAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$").expect("static regex")
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+").expect("static regex"));
/// The words that say what a phase named after them is: where the work is
/// presented again, where the run goes next, or where it goes back to.
static ROLE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(re-?present\w*|present(?:ed)?\s+again|re-?submit\w*|re-?review\w*)|(proceed\w*|continue\w*|advance\w*|move\s+on|go\s+on|next)|(revis\w*|return\w*|back|rework\w*|redo\w*|re-do\w*|revisit\w*|re-?open\w*|loop\w*|restart\w*|repeat\w*|re-?run\w*|fix\w*|amend\w*|update\w*|address\w*|adjust\w*|correct\w*|redesign\w*|rewrite\w*|change\w*|go\s+to|send\w*))\b",
    )
    .expect("static regex")
});

/// What a phase named in an option's description is to the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// "then re-present at Phase 3": where the work comes back to.
    Represent,
    /// "proceed to Phase 5": where the run goes next.
    Forward,
    /// "revise contract in Phase 2": where the work is sent.
    Back,
    /// Named with no verb before it.
    Unsaid,
}

/// The gate's phase, as the option wording needs it.
pub(super) struct GateContext<'a> {
    pub(super) phase: u32,
    /// This phase's artifact id, when known.
    pub(super) artifact: Option<&'a str>,
    /// The `## Phases` list, to find the phase of an artifact an option names.
    pub(super) overview: &'a [OverviewEntry],
}

/// One block of the gate section: a paragraph or a list item, its wrapped
/// lines joined with spaces.
struct Block {
    line: usize,
    item: bool,
    text: String,
}

/// Cuts the section into paragraphs and list items. A blank line (or a
/// `---` break, which is left out) ends a block; a list item starts one; any other line continues the block before
/// it, indented or not (Markdown's lazy continuation), so wrapped text is
/// kept whole.
fn blocks(lines: &[Line<'_>]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for line in lines {
        let t = line.text.trim();
        if t.is_empty() || BREAK.is_match(t) {
            open = false;
            continue;
        }
        let item = LIST_ITEM.is_match(t);
        match out.last_mut() {
            Some(last) if open && !item => {
                last.text.push(' ');
                last.text.push_str(t);
            }
            _ => out.push(Block {
                line: line.no,
                item,
                text: t.to_string(),
            }),
        }
        open = true;
    }
    out
}

/// Reads a `### GATE` section.
pub(super) fn parse_gate(
    p: &mut Parser,
    heading_line: usize,
    per_step: bool,
    lines: &[Line<'_>],
    ctx: &GateContext<'_>,
) -> Gate {
    let mut criteria = String::new();
    let mut criteria_items: Option<Vec<String>> = None;
    let mut instructions = Vec::new();
    let mut options = Vec::new();
    for block in blocks(lines) {
        // A list item's text without its bullet or number.
        let bare = match LIST_ITEM.find(&block.text).filter(|_| block.item) {
            Some(m) => block.text[m.end()..].trim().to_string(),
            None => block.text.clone(),
        };
        if let Some(caps) = CRITERIA.captures(&bare) {
            let rest = caps[1].trim().to_string();
            // A label alone: the criteria are the list that follows it.
            criteria_items = rest.is_empty().then(Vec::new);
            criteria = rest;
        } else if let Some(caps) = OPTION_ITEM.captures(&block.text) {
            criteria_items = None;
            let label = caps[1].trim().trim_end_matches(':').to_string();
            let description = caps[2].trim().to_string();
            if let Some(option) = read_option(p, ctx, label, description, block.line) {
                options.push(option);
            }
        } else if let (true, Some(items)) = (block.item, criteria_items.as_mut()) {
            items.push(bare);
            criteria = items.join("; ");
        } else {
            criteria_items = None;
            instructions.push(block.text);
        }
    }
    if criteria.is_empty() {
        p.error(
            heading_line,
            "the gate has no '**Approval criteria:**' line",
        );
    }
    if !options.iter().any(|o| o.action == GateAction::Proceed) {
        p.error(
            heading_line,
            "the gate has no option that proceeds; add e.g. '- **Approved** → proceed to the next phase'",
        );
    }
    Gate {
        per_step,
        instructions: instructions.join("\n"),
        criteria,
        options,
        line: heading_line,
    }
}

/// One option: its action from its wording, and for an option that sends
/// the work back, the phases it names.
fn read_option(
    p: &mut Parser,
    ctx: &GateContext<'_>,
    label: String,
    description: String,
    line: usize,
) -> Option<GateOption> {
    let refs = phase_refs(&description, ctx);
    for (number, role) in &refs {
        if *role == Role::Represent && *number != ctx.phase {
            p.warn(
                line,
                format!(
                    "option '{label}' says the work is presented again at Phase {number}; it comes back to this gate, in phase {}",
                    ctx.phase
                ),
            );
        }
    }
    let mut targets: Vec<u32> = refs
        .iter()
        .filter(|(n, role)| {
            *n != ctx.phase
                && match role {
                    Role::Back => true,
                    // A phase named without a verb is a place to go back
                    // to only when it comes before this one.
                    Role::Unsaid => *n < ctx.phase,
                    Role::Represent | Role::Forward => false,
                }
        })
        .map(|(n, _)| *n)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let approves = label.to_lowercase().starts_with("approve");
    let action = match GateAction::classify(&label, &description) {
        Some(GateAction::Rollback) => Some(GateAction::Rollback),
        Some(GateAction::Abort) => Some(GateAction::Abort),
        _ if !targets.is_empty() && !approves => Some(GateAction::SendBack),
        other => other,
    };
    let Some(action) = action else {
        p.error(
            line,
            format!(
                "cannot tell what gate option '{label}' does; its description should say 'proceed', 're-present', 'back to Phase N', 'undo'/'rollback' or 'abort'"
            ),
        );
        return None;
    };
    if action != GateAction::SendBack {
        targets.clear();
    }
    Some(GateOption {
        label,
        description,
        action,
        targets,
        line,
    })
}

/// Every phase an option's description names, with the role the nearest
/// verb before it gives it. Artifacts named after a verb of going back
/// count as their phase (from the `## Phases` list).
fn phase_refs(description: &str, ctx: &GateContext<'_>) -> Vec<(u32, Role)> {
    let words: Vec<(usize, Role)> = ROLE_WORD
        .captures_iter(description)
        .filter_map(|c| {
            let role = if c.get(1).is_some() {
                Role::Represent
            } else if c.get(2).is_some() {
                Role::Forward
            } else {
                Role::Back
            };
            Some((c.get(0)?.end(), role))
        })
        .collect();
    let role_at = |start: usize| {
        words
            .iter()
            .rev()
            .find(|(end, _)| *end <= start)
            .map_or(Role::Unsaid, |(_, role)| *role)
    };
    let mut refs = Vec::new();
    for caps in PHASE_REF.captures_iter(description) {
        let Some(whole) = caps.get(0) else { continue };
        let role = role_at(whole.start());
        let first = caps[1].parse::<u32>().unwrap_or(0);
        let mut numbers = vec![first];
        if let Some(more) = caps.get(2) {
            numbers.extend(
                NUMBER
                    .find_iter(more.as_str())
                    .filter_map(|m| m.as_str().parse::<u32>().ok()),
            );
        }
        if let Some(last) = caps.get(3).and_then(|m| m.as_str().parse::<u32>().ok()) {
            let from = numbers.last().copied().unwrap_or(first);
            // A range names every phase in it; a backwards one only its ends.
            numbers.extend((from.saturating_add(1)..=last).take(100));
            numbers.push(last);
        }
        refs.extend(numbers.into_iter().map(|n| (n, role)));
    }
    for caps in ARTIFACT_BACK_REF.captures_iter(description) {
        let id = &caps[1];
        if Some(id) == ctx.artifact {
            continue;
        }
        if let Some(entry) = ctx
            .overview
            .iter()
            .find(|e| e.artifact.as_deref() == Some(id))
        {
            refs.push((entry.number, Role::Back));
        }
    }
    refs
}

impl GateAction {
    /// The action an option's wording says, apart from sending the work
    /// back (read from the phases it names, in `read_option`).
    fn classify(label: &str, description: &str) -> Option<GateAction> {
        let l = label.to_lowercase();
        let d = description.to_lowercase();
        if l.contains("rollback") || l.contains("roll back") || d.starts_with("undo") {
            Some(GateAction::Rollback)
        } else if l.contains("abort") || d.starts_with("abort") {
            Some(GateAction::Abort)
        } else if l.contains("revise")
            || d.contains("re-present")
            || d.contains("re-validate")
            || d.contains("revise")
            || d.contains("rework")
            || d.contains("redo")
            || d.contains("not proceed")
        {
            // Checked before "proceed": "do not proceed; re-present" revises.
            Some(GateAction::Revise)
        } else if l.starts_with("approve") || d.contains("proceed") || d.contains("is complete") {
            Some(GateAction::Proceed)
        } else {
            None
        }
    }
}

impl Workflow {
    /// The index of the phase numbered `number`.
    pub fn phase_index(&self, number: u32) -> Option<usize> {
        self.phases.iter().position(|p| p.number == number)
    }

    /// The indexes of the phases whose inputs include phase `index`'s
    /// artifact, directly or through other phases (an artifact input or
    /// all the steps of a per-step phase), in order. These are what a
    /// change to that artifact makes stale.
    pub fn dependents(&self, index: usize) -> Vec<usize> {
        let mut depends = vec![false; self.phases.len()];
        for (j, phase) in self.phases.iter().enumerate().skip(index + 1) {
            depends[j] = phase.inputs.iter().any(|input| {
                let id = match &input.kind {
                    InputKind::Artifact(id) | InputKind::AllSteps(id) => id,
                    InputKind::FreeText => return false,
                };
                self.producer(id)
                    .is_some_and(|(i, _)| i == index || depends[i])
            });
        }
        (0..self.phases.len()).filter(|j| depends[*j]).collect()
    }

    /// Why the gate of phase index `gate` cannot send the work back to
    /// phase index `target`: a per-step phase between them (or the gate's
    /// own) executes a plan that the send-back would redraft. Its steps were
    /// carried out; a new plan cannot undo them. Returns the per-step
    /// phase's index and its plan's id.
    pub fn send_back_blocker(&self, target: usize, gate: usize) -> Option<(usize, String)> {
        let stale = self.dependents(target);
        self.phases
            .iter()
            .enumerate()
            .filter(|(s, ph)| *s > target && *s <= gate && ph.is_per_step())
            .find_map(|(s, ph)| {
                let InputKind::Artifact(plan) = &self.plan_for(ph)?.kind else {
                    return None;
                };
                let (p, _) = self.producer(plan)?;
                (p == target || stale.contains(&p)).then(|| (s, plan.clone()))
            })
    }

    /// What choosing `option` at the gate of `phase` does, in words, for
    /// `workflows show` and `status`.
    pub fn option_effect(&self, phase: &Phase, option: &GateOption) -> String {
        match option.action {
            GateAction::Proceed => "proceed".into(),
            GateAction::Revise => "revise this artifact".into(),
            GateAction::Rollback => "rollback".into(),
            GateAction::Abort => "abort".into(),
            GateAction::SendBack => {
                let named: Vec<String> = option
                    .targets
                    .iter()
                    .map(|n| {
                        let name = self
                            .phase_index(*n)
                            .map_or(String::new(), |i| format!(": {}", self.phases[i].name));
                        format!("Phase {n}{name}")
                    })
                    .collect();
                let to = match named.as_slice() {
                    [one] => format!("send back to {one}"),
                    many => format!(
                        "send back to Phase {} (choice of {})",
                        option
                            .targets
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(" or "),
                        many.join(", ")
                    ),
                };
                format!(
                    "{to}, redraft what depends on it, then re-present Phase {}",
                    phase.number
                )
            }
        }
    }
}

/// The checks of send-back options that need the whole workflow: every
/// phase named exists, comes before the gate's, produces an artifact, and
/// is not the plan of a per-step phase already carried out.
pub(super) fn check_send_backs(p: &mut Parser, workflow: &Workflow) {
    for (gate_index, phase) in workflow.phases.iter().enumerate() {
        let Some(gate) = &phase.gate else { continue };
        for option in gate.options.iter().filter(|o| !o.targets.is_empty()) {
            for target in &option.targets {
                let label = &option.label;
                let Some(t) = workflow.phase_index(*target) else {
                    p.error(
                        option.line,
                        format!("option '{label}' sends the work back to Phase {target}, and the workflow has no phase {target}"),
                    );
                    continue;
                };
                if t > gate_index {
                    p.error(
                        option.line,
                        format!("option '{label}' sends the work back to Phase {target}, which comes after this gate's phase {}; work can only go back to an earlier phase", phase.number),
                    );
                } else if workflow.phases[t].output.is_none() {
                    p.error(
                        option.line,
                        format!("option '{label}' sends the work back to Phase {target}, which produces no artifact to reopen"),
                    );
                } else if let Some((s, plan)) = workflow.send_back_blocker(t, gate_index) {
                    p.error(
                        option.line,
                        format!(
                            "option '{label}' sends the work back to Phase {target}, which would redraft [{plan}], the plan phase {} has carried out step by step; executed steps cannot be redrafted from a new plan. Send the work back to phase {} or later, or start a new run",
                            workflow.phases[s].number, workflow.phases[s].number
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
