use super::*;
use serde_json::json;

/// Held back from the seed workflow: enums with details (in a section
/// and in a key line), a numbered list of joined items, a checklist,
/// key lines with literal text, step blocks named "Phase", a title
/// before the first section, and a section mixing prose and a list.
const INCIDENT: &str = "# Incident Review

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
const SERVICE: &str = "## Service <Name>

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

fn compile(t: &str) -> ArtifactSchema {
    ArtifactSchema::compile(t, &Bounds::default()).unwrap_or_else(|e| panic!("compile failed: {e}"))
}

fn keys(s: &ArtifactSchema) -> Vec<String> {
    s.sections().into_iter().map(|(k, _)| k).collect()
}

fn incident_value() -> Value {
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

const INCIDENT_RENDERED: &str = "# Incident Review

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

#[test]
fn incident_template_compiles_to_its_shape() {
    let s = compile(INCIDENT);
    assert_eq!(
        keys(&s),
        [
            "summary",
            "severity",
            "customer_impact",
            "timeline",
            "follow_ups",
            "escalation",
            "phases",
            "notes"
        ]
    );
    let js = s.json_schema();
    let p = &js["properties"];
    assert_eq!(p["summary"]["type"], "string");
    assert_eq!(p["summary"]["maxLength"], 800);
    assert_eq!(
        p["severity"]["properties"]["value"]["enum"],
        json!(["SEV1", "SEV2", "SEV3"])
    );
    assert_eq!(p["severity"]["required"], json!(["value", "justification"]));
    assert_eq!(
        p["customer_impact"]["enum"],
        json!(["None", "Degraded", "Outage"])
    );
    assert_eq!(p["timeline"]["items"]["required"], json!(["time", "event"]));
    assert_eq!(p["timeline"]["minItems"], 1);
    assert_eq!(p["timeline"]["maxItems"], 8);
    assert_eq!(
        p["follow_ups"]["items"]["required"],
        json!(["action", "owner"])
    );
    assert_eq!(p["escalation"]["required"], json!(["primary", "backup"]));
    assert_eq!(
        p["escalation"]["properties"]["primary"]["description"],
        "page <rotation>"
    );
    assert_eq!(p["phases"]["type"], "array");
    assert_eq!(p["phases"]["maxItems"], 12);
    assert_eq!(
        p["phases"]["items"]["required"],
        json!(["title", "goal", "exit_check"])
    );
    assert_eq!(
        p["phases"]["items"]["properties"]["exit_check"]["properties"]["value"]["enum"],
        json!(["Passed", "Failed"])
    );
    assert_eq!(
        p["phases"]["items"]["properties"]["exit_check"]["required"],
        json!(["value", "why"])
    );
    assert_eq!(p["notes"]["type"], "string");
    assert!(p["notes"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("- or a list of <things>")));
}

#[test]
fn every_object_is_closed_and_requires_everything() {
    fn walk(v: &Value, bounded: bool) {
        match v {
            Value::Object(m) => {
                if m.get("type") == Some(&json!("object")) {
                    assert_eq!(m["additionalProperties"], json!(false));
                    let props: Vec<&String> = m["properties"]
                        .as_object()
                        .map(|p| p.keys().collect())
                        .unwrap_or_default();
                    let req = m["required"].as_array().map_or(0, Vec::len);
                    assert_eq!(props.len(), req, "{v}");
                }
                if !bounded {
                    for k in ["maxLength", "minLength", "minItems", "maxItems"] {
                        assert!(!m.contains_key(k), "{k} in {v}");
                    }
                }
                m.values().for_each(|x| walk(x, bounded));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, bounded)),
            _ => {}
        }
    }
    for t in [INCIDENT, SERVICE] {
        let s = compile(t);
        walk(&s.json_schema(), true);
        walk(&s.json_schema_without_bounds(), false);
        assert!(s.json_schema().to_string().contains("maxLength"));
    }
}

#[test]
fn incident_renders_exactly_and_reads_back() {
    let s = compile(INCIDENT);
    let v = incident_value();
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(md, INCIDENT_RENDERED);
    assert!(sections::missing_sections(INCIDENT, &md).is_empty());
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn rendering_is_deterministic() {
    let s = compile(INCIDENT);
    let v = incident_value();
    let a = s.render(&v).expect("render");
    let b = compile(INCIDENT).render(&v).expect("render");
    assert_eq!(a, b);
}

#[test]
fn nested_subsections_heading_placeholders_and_duplicate_keys() {
    let s = compile(SERVICE);
    assert_eq!(keys(&s), ["service", "runbook", "notes", "notes_2"]);
    let js = s.json_schema();
    let svc = &js["properties"]["service"];
    assert_eq!(
        svc["required"],
        json!(["name", "owner", "health", "probes"])
    );
    assert_eq!(
        svc["properties"]["health"]["enum"],
        json!(["Green", "Amber", "Red"])
    );
    assert_eq!(
        svc["properties"]["probes"]["items"]["properties"]["value"]["enum"],
        json!(["Up", "Down"])
    );
    assert_eq!(
        js["properties"]["runbook"]["items"]["required"],
        json!(["label", "command", "expect"])
    );
    let v = json!({
        "service": {"name": "billing-api", "owner": "Payments", "health": "Amber",
                    "probes": [{"probe": "/healthz", "value": "Up"}, {"probe": "db ping", "value": "Down"}]},
        "runbook": [
            {"label": "Drain", "command": "kubectl drain node-1", "expect": "node cordoned"},
            {"label": "Upgrade", "command": "apt upgrade", "expect": ""}
        ],
        "notes": "first",
        "notes_2": "second"
    });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(
            md,
            "## Service billing-api\n\n### Owner\nPayments\n\n### Health\nAmber\n\n### Probes\n- /healthz — Up\n- db ping — Down\n\n## Runbook\n\n### Stage 1: Drain\n- **Command:** kubectl drain node-1\n- **Expect:** node cordoned\n\n### Stage 2: Upgrade\n- **Command:** apt upgrade\n- **Expect:**\n\n## Notes\nfirst\n\n## Notes\nsecond\n"
        );
    assert!(sections::missing_sections(SERVICE, &md).is_empty());
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn a_template_without_headings_is_refused() {
    let e = ArtifactSchema::compile("<Just write something>\n- <item>", &Bounds::default());
    assert!(matches!(e, Err(SchemaError::NoSections)), "{e:?}");
    assert!(ArtifactSchema::compile("", &Bounds::default()).is_err());
}

#[test]
fn odd_placeholders_stay_free_strings() {
    let s = compile(
            "## Point\n<After step N / None — fully reversible>\n\n## Mix\n<likelihood / impact>\n\n## Pick\n<Keep the upgrade / Roll it back>\n\n## Line\n<Package> <current> → <target>\n\n## Odd\nIntro <x>\n\nMore prose\n- <y>\n1. <z>\n",
        );
    let p = &s.json_schema()["properties"];
    assert_eq!(p["point"]["type"], "string");
    assert_eq!(
        p["point"]["description"],
        "After step N / None — fully reversible"
    );
    assert_eq!(p["mix"]["type"], "string");
    assert_eq!(
        p["pick"]["enum"],
        json!(["Keep the upgrade", "Roll it back"])
    );
    assert_eq!(p["line"]["type"], "string");
    assert_eq!(p["odd"]["type"], "string");
    let v = json!({
        "point": "After step 4", "mix": "low / high", "pick": "Roll it back",
        "line": "serde 1.0.1 → 1.0.2", "odd": "Anything\n\n- at all\n1. really"
    });
    let md = s.render(&v).expect("render");
    assert!(
        md.contains("## Odd\nAnything\n\n- at all\n1. really\n"),
        "{md}"
    );
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn steps_without_a_section_heading_and_a_preamble_with_a_placeholder() {
    let s =
        compile("Plan for <team>\n\n### Step 1: <Name>\n<What to do>\n\n### Step 2: <Name>\n...\n");
    assert_eq!(keys(&s), ["preamble", "steps"]);
    let v = json!({
        "preamble": "Plan for the data team",
        "steps": [{"name": "Freeze", "body": "stop writes"}, {"name": "Copy", "body": "copy rows"}]
    });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(
            md,
            "Plan for the data team\n\n### Step 1: Freeze\nstop writes\n\n### Step 2: Copy\ncopy rows\n"
        );
    let steps: Vec<String> = crate::workflow::step::steps(&md)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(steps, ["Freeze", "Copy"]);
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn a_lone_first_step_under_a_section_is_still_a_list() {
    let s = compile("## Steps\n\n### Step 1: <Name>\n- **Action:** <what to do>\n");
    let js = s.json_schema();
    assert_eq!(js["properties"]["steps"]["type"], "array");
    let v = json!({"steps": [{"name": "a", "action": "x"}, {"name": "b", "action": "y"}]});
    let md = s.render(&v).expect("render");
    assert_eq!(crate::workflow::step::steps(&md).len(), 2);
    assert_eq!(s.parse(&md), Ok(v));
    // At the top level it is one step's own heading, whatever its lists hold.
    let one = compile("## Step 1: <Name>\n\n### Checks\n- <Check>\n- ...\n");
    assert_eq!(keys(&one), ["step_1"]);
    assert_eq!(
        one.json_schema()["properties"]["step_1"]["required"],
        json!(["name", "checks"])
    );
    // ...unless a bare `...` says more steps follow.
    let many = compile("### Step 1: <Name>\n<What to do>\n...\n");
    assert_eq!(many.json_schema()["properties"]["steps"]["type"], "array");
}

#[test]
fn parse_accepts_what_people_and_models_write() {
    let s = compile(INCIDENT);
    let md = "```markdown
# Incident review

## **Summary**
DB failed over.

### severity
sev2: customer facing

## Customer impact
**degraded**

## Timeline
1) 10:02 - alert fired
* 10:06 — failover done

## Follow-ups
- [x] Add alert - dba
- [ ] Write runbook

## Escalation
* Primary: page db-oncall
* **Backup**: Ana

## Phases
### Phase 1 - Detect
- Goal: find it
- Exit check: passed

## Notes
none

## Extra section by the model
blah
```";
    let v = s.parse(md).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        v,
        json!({
            "summary": "DB failed over.",
            "severity": {"value": "SEV2", "justification": "customer facing"},
            "customer_impact": "Degraded",
            "timeline": [{"time": "10:02", "event": "alert fired"}, {"time": "10:06", "event": "failover done"}],
            "follow_ups": [{"action": "Add alert", "owner": "dba"}, {"action": "Write runbook", "owner": ""}],
            "escalation": {"primary": "page db-oncall", "backup": "Ana"},
            "phases": [{"title": "Detect", "goal": "find it", "exit_check": {"value": "Passed", "why": ""}}],
            "notes": "none"
        })
    );
}

#[test]
fn parse_names_the_allowed_values_and_what_is_missing() {
    let s = compile(INCIDENT);
    let md = INCIDENT_RENDERED
        .replace("## Customer Impact\nDegraded", "## Customer Impact\nSevere")
        .replace(
            "- **Exit check:** Failed — replica lagged",
            "- **Exit check:** Unknown",
        )
        .replace(
            "## Escalation\n- **Primary:** page db-oncall\n",
            "## Escalation\n",
        );
    let problems = s.parse(&md).expect_err("must fail");
    assert!(
        problems.iter().any(|p| p.starts_with("customer_impact:")
            && p.contains("'Severe'")
            && p.contains("None, Degraded, Outage")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("phases[1].exit_check:") && p.contains("Passed, Failed")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("escalation.primary:") && p.contains("missing")),
        "{problems:?}"
    );
    let without = INCIDENT_RENDERED.replace("## Timeline", "## Chronology");
    let problems = s.parse(&without).expect_err("must fail");
    assert!(
        problems
            .iter()
            .any(|p| p == "timeline: missing section '## Timeline'"),
        "{problems:?}"
    );
}

#[test]
fn validate_names_each_kind_of_problem() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["customer_impact"] = json!("Severe");
    v["severity"]["value"] = json!("sev2");
    v["timeline"] = json!([]);
    v["follow_ups"][0]["owner"] = json!("x".repeat(241));
    v["summary"] = json!("y".repeat(801));
    v["escalation"].as_object_mut().map(|m| m.remove("backup"));
    v["escalation"]["extra"] = json!("z");
    v["phases"][0]["goal"] = json!(3);
    let problems = s.validate(&v);
    let has = |prefix: &str, part: &str| {
        problems
            .iter()
            .any(|p| p.starts_with(prefix) && p.contains(part))
    };
    assert!(
        has("customer_impact:", "None, Degraded, Outage"),
        "{problems:?}"
    );
    assert!(has("severity.value:", "'sev2'"), "{problems:?}");
    assert!(has("timeline:", "empty"), "{problems:?}");
    assert!(
        has("follow_ups[0].owner:", "241 characters"),
        "{problems:?}"
    );
    assert!(has("summary:", "at most 800"), "{problems:?}");
    assert!(has("escalation.backup:", "missing"), "{problems:?}");
    assert!(has("escalation.extra:", "unexpected"), "{problems:?}");
    assert!(has("phases[0].goal:", "expected a string"), "{problems:?}");
    v["timeline"] = Value::Array(vec![json!({"time": "1", "event": "e"}); 9]);
    assert!(s
        .validate(&v)
        .iter()
        .any(|p| p.starts_with("timeline:") && p.contains("9 items")));
}

#[test]
fn render_refuses_a_value_of_the_wrong_shape_only() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["customer_impact"] = json!("Severe");
    assert!(s.render(&v).is_ok(), "an unknown enum value still renders");
    v.as_object_mut().map(|m| m.remove("notes"));
    match s.render(&v) {
        Err(SchemaError::Shape(p)) => assert_eq!(p, ["notes: missing"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_line_fields_collapse_newlines_and_prose_keeps_them() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["timeline"][0]["event"] = json!("alert\n  fired");
    v["escalation"]["backup"] = json!("Ana\r\n(platform)");
    v["severity"]["justification"] = json!("  slow\nwrites ");
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let normal = s.normalize(&v);
    assert_eq!(normal["timeline"][0]["event"], "alert fired");
    assert_eq!(normal["escalation"]["backup"], "Ana (platform)");
    assert_eq!(normal["severity"]["justification"], "slow writes");
    let mut loose = v.clone();
    loose["customer_impact"] = json!(" degraded");
    assert!(!s.validate(&loose).is_empty(), "the schema's enum is exact");
    assert_eq!(s.normalize(&loose)["customer_impact"], "Degraded");
    assert_eq!(
        normal["summary"], v["summary"],
        "prose keeps its line breaks"
    );
    let md = s.render(&v).expect("render");
    assert!(md.contains("1. 10:02 — alert fired\n"), "{md}");
    assert_eq!(s.parse(&md), Ok(normal));
}

#[test]
fn a_dash_inside_a_first_field_does_not_split_it() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["timeline"][0]["time"] = json!("10:02 — UTC");
    v["timeline"][0]["event"] = json!("alert — paged");
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let back = s.parse(&s.render(&v).expect("render")).expect("parse");
    assert_eq!(
        back["timeline"][0],
        json!({"time": "10:02 - UTC", "event": "alert — paged"})
    );
    assert_eq!(back, s.normalize(&v));
}

#[test]
fn prose_that_would_break_the_structure_is_refused() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["summary"] = json!("fine\n## Severity\nnot fine");
    assert!(s
        .validate(&v)
        .iter()
        .any(|p| p.starts_with("summary:") && p.contains("heading")));
    v["summary"] = json!("ok\n#### Customer Impact\nhidden");
    assert!(s
        .validate(&v)
        .iter()
        .any(|p| p.starts_with("summary:") && p.contains("template's headings")));
    v["summary"] = json!("```sh\nrm -rf /");
    assert!(s
        .validate(&v)
        .iter()
        .any(|p| p.starts_with("summary:") && p.contains("fence")));
    v["summary"] = json!("```sh\n## not a heading\n```\n#### a deeper heading");
    assert_eq!(s.validate(&v), Vec::<String>::new());
    assert_eq!(s.parse(&s.render(&v).expect("render")), Ok(v));
}

#[test]
fn continuation_markers_are_not_items() {
    let s = compile(INCIDENT);
    let mut v = incident_value();
    v["follow_ups"] = json!([{"action": "a", "owner": "b"}]);
    v["timeline"] = json!([{"time": "t", "event": "e"}]);
    let md = s
        .render(&v)
        .expect("render")
        .replace("- [ ] a — b", "- [ ] a — b\n- ...");
    assert_eq!(s.parse(&md), Ok(v.clone()));
    let t = compile("## Factors\n- <Factor>\n- ... (or \"None\")\n");
    assert!(t.json_schema()["properties"]["factors"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("or \"None\"")));
    let bad = json!({"factors": ["..."]});
    assert!(t.validate(&bad).iter().any(|p| p.contains("continuation")));
}

#[test]
fn enum_fields_lists_every_choice() {
    let s = compile(INCIDENT);
    let fields = s.enum_fields(&incident_value());
    let found: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| (f.path.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("severity.value", "SEV2"),
            ("customer_impact", "Degraded"),
            ("phases[0].exit_check.value", "Passed"),
            ("phases[1].exit_check.value", "Failed")
        ]
    );
    assert_eq!(fields[1].allowed, ["None", "Degraded", "Outage"]);
}

#[test]
fn key_line_and_item_enums_round_trip() {
    let s = compile(
            "## Checks\n- <Check> — <Pass / Fail>\n- ...\n\n## Gate\n- **Decision:** <Go / No go>\n- **Owner:** <who>\n\n## Tasks\n- [ ] <Task>\n- [ ] <Task>\n",
        );
    let v = json!({
        "checks": [{"check": "smoke — api", "value": "Fail"}, {"check": "", "value": "Pass"}],
        "gate": {"decision": "No go", "owner": "Kim"},
        "tasks": ["", "ship it"]
    });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(
            md,
            "## Checks\n- smoke - api — Fail\n-  — Pass\n\n## Gate\n- **Decision:** No go\n- **Owner:** Kim\n\n## Tasks\n- [ ]\n- [ ] ship it\n"
        );
    assert_eq!(s.parse(&md), Ok(s.normalize(&v)));
}

#[test]
fn template_text_that_looks_like_handlebars_is_copied() {
    let t = "Intro {{x}} and \\{{y}} and }} {{{{raw}}}}\n\n## Path C:\\<dir>\n<Text>\n";
    let s = compile(t);
    assert_eq!(keys(&s), ["path_c"]);
    let v = json!({"path_c": {"dir": "tmp", "body": "{{v}} \\{{w}}"}});
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(
        md,
        "Intro {{x}} and \\{{y}} and }} {{{{raw}}}}\n\n## Path C:\\tmp\n{{v}} \\{{w}}\n"
    );
    assert!(sections::missing_sections(t, &md).is_empty());
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn sections_may_come_in_another_order() {
    let s = compile(INCIDENT);
    let md = INCIDENT_RENDERED.replace(
        "## Summary\nThe primary database failed over.\nWrites paused for 4 minutes.\n\n",
        "",
    ) + "\n## Summary\nThe primary database failed over.\nWrites paused for 4 minutes.\n";
    assert_eq!(s.parse(&md), Ok(incident_value()));
}

#[test]
fn an_enum_with_details_as_a_list_item() {
    let s = compile("## Results\n- <Pass / Fail — details>\n- ...\n");
    let v = json!({"results": [{"value": "Pass", "details": ""}, {"value": "Fail", "details": "timeout — 30 s"}]});
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(md, "## Results\n- Pass\n- Fail — timeout — 30 s\n");
    assert_eq!(s.parse(&md), Ok(v));
    let loose = s.parse("## Results\n* fail: timeout\n").expect("parse");
    assert_eq!(
        loose,
        json!({"results": [{"value": "Fail", "details": "timeout"}]})
    );
}

#[test]
fn unicode_text_round_trips() {
    let s = compile(SERVICE);
    let v = json!({
        "service": {"name": "Zürich – 東京 ✓", "owner": "Équipe «données»", "health": "Green",
                    "probes": [{"probe": "ping ünïcode", "value": "Up"}]},
        "runbook": [{"label": "Étape", "command": "echo {{x}} <y>", "expect": "\\{{ ok"}],
        "notes": "{{not a template}}",
        "notes_2": "😀"
    });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert!(md.contains("- **Command:** echo {{x}} <y>\n"), "{md}");
    assert_eq!(s.parse(&md), Ok(v));
}
