//! Unit tests of the schema compiler, on templates held back from the seed
//! workflow: `compiling` for template → shape → JSON Schema and rendering,
//! `reading` for Markdown → value, checks and enum fields, `templates` for
//! the Markdown rules of templates (titles, inner code blocks, choices). The fixtures
//! both use live here.

mod compiling;
mod reading;
mod templates;

use super::*;
use serde_json::json;

/// Held back from the seed workflow: enums with details (in a section
/// and in a key line), a numbered list of joined items, a checklist,
/// key lines with literal text, step blocks named "Phase", a title
/// before the first section, and a section mixing prose and a list.
pub(super) const INCIDENT: &str = "# Incident Review

## Summary
<What happened, in two sentences>

## Severity
<SEV1 / SEV2 / SEV3 — justification>

## Customer Impact
<None / Degraded / Outage>

## Timeline
1. <Time> — <event>
2. <Time> — <event>
...

## Follow-ups
- [ ] <Action> — <owner>
- ...

## Escalation
- **Primary:** page <rotation>
- **Backup:** <name and team>

## Phases

### Phase 1: <Title>
- **Goal:** <goal>
- **Exit check:** <Passed / Failed — why>

### Phase 2: <Title>
...

## Notes
Anything else, e.g. <links>
- or a list of <things>
";

/// Nested `###` subsections under a heading with a placeholder, steps
/// named "Stage" with other fields, and two headings with one key.
pub(super) const SERVICE: &str = "## Service <Name>

### Owner
<Team>

### Health
<Green / Amber / Red>

### Probes
- <Probe> — <Up / Down>
- ...

## Runbook

### Stage 1: <Label>
- **Command:** <shell command>
- **Expect:** <output>

### Stage 2: <Label>
...

## Notes
<Anything else>

## Notes
<More>
";

pub(super) fn compile(t: &str) -> ArtifactSchema {
    ArtifactSchema::compile(t, &Bounds::default()).unwrap_or_else(|e| panic!("compile failed: {e}"))
}

pub(super) fn keys(s: &ArtifactSchema) -> Vec<String> {
    s.sections().into_iter().map(|(k, _)| k).collect()
}

pub(super) fn incident_value() -> Value {
    json!({
        "summary": "The primary database failed over.\nWrites paused for 4 minutes.",
        "severity": {"value": "SEV2", "justification": "customer-facing latency"},
        "customer_impact": "Degraded",
        "timeline": [
            {"time": "10:02", "event": "alert fired"},
            {"time": "10:06", "event": "failover done"}
        ],
        "follow_ups": [
            {"action": "Add replica lag alert", "owner": "dba team"},
            {"action": "Write runbook", "owner": ""}
        ],
        "escalation": {"primary": "page db-oncall", "backup": "Ana (platform)"},
        "phases": [
            {"title": "Detect", "goal": "find the fault", "exit_check": {"value": "Passed", "why": ""}},
            {"title": "Recover", "goal": "restore writes", "exit_check": {"value": "Failed", "why": "replica lagged"}}
        ],
        "notes": "See https://example.com/pm-1\n- graphs attached"
    })
}

pub(super) const INCIDENT_RENDERED: &str = "# Incident Review

## Summary
The primary database failed over.
Writes paused for 4 minutes.

## Severity
SEV2 — customer-facing latency

## Customer Impact
Degraded

## Timeline
1. 10:02 — alert fired
2. 10:06 — failover done

## Follow-ups
- [ ] Add replica lag alert — dba team
- [ ] Write runbook —

## Escalation
- **Primary:** page db-oncall
- **Backup:** Ana (platform)

## Phases

### Phase 1: Detect
- **Goal:** find the fault
- **Exit check:** Passed

### Phase 2: Recover
- **Goal:** restore writes
- **Exit check:** Failed — replica lagged

## Notes
See https://example.com/pm-1
- graphs attached
";
