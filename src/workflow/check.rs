//! The checks that need the whole workflow: phase numbers, the overview's
//! artifact list and gate kinds against the phases.

use super::parse::Parser;
use super::*;

/// Checks the phases against each other and against the overview.
pub(super) fn cross_check(p: &mut Parser, overview: &[OverviewEntry], phases: &[Phase]) {
    let mut seen_numbers = std::collections::HashSet::new();
    for (i, phase) in phases.iter().enumerate() {
        if !seen_numbers.insert(phase.number) {
            p.error(
                phase.line,
                format!("phase number {} is used twice", phase.number),
            );
        }
        if i > 0 && phase.number <= phases[i - 1].number {
            p.error(
                phase.line,
                format!(
                    "phase {} comes after phase {}; number phases in order",
                    phase.number,
                    phases[i - 1].number
                ),
            );
        }
        let gate_kind = match &phase.gate {
            None => GateKind::None,
            Some(g) if g.per_step => GateKind::PerStep,
            Some(_) => GateKind::Gate,
        };
        if gate_kind == GateKind::PerStep && !phase.is_per_step() {
            p.error(
                phase.gate.as_ref().map_or(phase.line, |g| g.line),
                "a per-step gate needs a per-step output ('### Output (per step)')",
            );
        }
        if phase.is_per_step() && gate_kind == GateKind::Gate {
            p.error(
                phase.gate.as_ref().map_or(phase.line, |g| g.line),
                "a per-step output needs a per-step gate ('### GATE (per step)')",
            );
        }
        let Some(entry) = overview.iter().find(|e| e.number == phase.number) else {
            if !overview.is_empty() {
                p.error(
                    phase.line,
                    format!("phase {} is not in the '## Phases' list", phase.number),
                );
            }
            continue;
        };
        if !entry.name.eq_ignore_ascii_case(&phase.name) {
            p.error(
                phase.line,
                format!(
                    "phase {} is called '{}' here but '{}' in the '## Phases' list (line {})",
                    phase.number, phase.name, entry.name, entry.line
                ),
            );
        }
        if let (Some(listed), Some(id)) = (&entry.artifact, phase.artifact_id()) {
            if listed != id {
                p.error(
                    phase.output.as_ref().map_or(phase.line, |o| o.line),
                    format!(
                        "phase {} produces '[{id}]' but the '## Phases' list (line {}) says '[{listed}]'",
                        phase.number, entry.line
                    ),
                );
            }
        }
        if entry.gate != gate_kind {
            p.error(
                phase.line,
                format!(
                    "phase {} has gate '{}' but the '## Phases' list (line {}) says '{}'",
                    phase.number,
                    gate_name(gate_kind),
                    entry.line,
                    gate_name(entry.gate)
                ),
            );
        }
    }
    for entry in overview {
        if !phases.iter().any(|ph| ph.number == entry.number) {
            p.error(
                entry.line,
                format!(
                    "phase {} ('{}') is listed but has no '## Phase {}: {}' section",
                    entry.number, entry.name, entry.number, entry.name
                ),
            );
        }
    }
}

fn gate_name(kind: GateKind) -> &'static str {
    match kind {
        GateKind::None => "none",
        GateKind::Gate => "GATE",
        GateKind::PerStep => "per-step GATE",
    }
}
