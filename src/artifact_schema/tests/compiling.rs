use super::*;
use serde_json::json;

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
