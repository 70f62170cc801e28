use super::*;
use serde_json::json;

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
