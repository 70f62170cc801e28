//! Every artifact template of the seed migration workflow compiles to the
//! expected JSON shape; a sample value of each validates, renders to Markdown
//! with all of the template's sections, and reads back to the same value; and
//! validation catches the mistakes a model makes.

use std::path::Path;

use migagent::artifact_schema::sections::missing_sections;
use migagent::artifact_schema::{ArtifactSchema, Bounds, EnumField};
use migagent::workflow::step::{self, Step};
use migagent::workflow::{self, Output};
use serde_json::{json, Value};

/// The seed workflow's artifact outputs, in phase order.
fn outputs() -> Vec<Output> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/migration.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let wf = workflow::parse(&text, Path::new(path)).unwrap_or_else(|e| panic!("{e:?}"));
    wf.phases
        .iter()
        .map(|p| {
            p.output
                .clone()
                .unwrap_or_else(|| panic!("phase {} has no output", p.number))
        })
        .collect()
}

fn output(id: &str) -> Output {
    outputs()
        .into_iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no template {id}"))
}

/// An artifact's template; a per-step one as for step 3, "Cut over".
fn template(id: &str) -> String {
    let step = Step::new(3, "Cut over");
    let out = output(id);
    out.template_for(out.per_step.then_some(&step))
}

fn compile(id: &str) -> (String, ArtifactSchema) {
    let t = template(id);
    let s = ArtifactSchema::compile(&t, &Bounds::default())
        .unwrap_or_else(|e| panic!("{id} does not compile: {e}"));
    (t, s)
}

fn keys(s: &ArtifactSchema) -> Vec<String> {
    s.sections().into_iter().map(|(k, _)| k).collect()
}

fn enums(s: &ArtifactSchema, v: &Value) -> Vec<(String, String, Vec<String>)> {
    s.enum_fields(v)
        .into_iter()
        .map(
            |EnumField {
                 path,
                 value,
                 allowed,
             }| (path, value, allowed),
        )
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Validates, renders, checks the sections and reads back; returns the
/// Markdown.
fn round_trip(id: &str, v: &Value) -> String {
    let (t, s) = compile(id);
    assert_eq!(s.validate(v), Vec::<String>::new(), "{id}");
    let md = s.render(v).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(
        missing_sections(&t, &md),
        Vec::<String>::new(),
        "{id}:\n{md}"
    );
    assert_eq!(s.parse(&md).as_ref(), Ok(&s.normalize(v)), "{id}:\n{md}");
    md
}

fn mig1() -> Value {
    json!({
        "migration": "PostgreSQL 12 → PostgreSQL 16",
        "motivation": "PostgreSQL 12 is out of support.",
        "affected_components": [
            {"component": "billing-api", "how_its_affected": "driver upgrade"},
            {"component": "reports", "how_its_affected": "uses removed functions"}
        ],
        "breaking_changes": [{"breaking_change": "md5 auth removed", "impact": "all clients re-auth"}],
        "data_compatibility": {"value": "Requires transformation", "details": "rebuild indexes"},
        "risk_level": "High",
        "risk_factors": ["large tables", "tight window"]
    })
}

fn mig2() -> Value {
    json!({
        "strategy": "Blue-green",
        "rationale": "Lets us switch back instantly.",
        "sequence": ["Build green", "Replicate", "Switch traffic"],
        "compatibility_layers": [{"layer_needed": "None needed", "purpose": ""}],
        "rollback_strategy": {"per_step": "undo the step's change", "full_rollback": "point traffic back to blue"},
        "success_criteria": ["p99 < 200 ms", "no errors for 1 h"],
        "health_checks": [{"check": "/healthz", "what_it_validates": "app can reach the database"}]
    })
}

fn mig3() -> Value {
    json!({
        "pre_migration_checklist": ["backup verified", "change approved"],
        "steps": [
            {"name": "Freeze writes", "action": "enable read-only", "pre_condition": "backup done",
             "verification": "writes fail", "rollback": "disable read-only", "duration_estimate": "5 min"},
            {"name": "Copy data", "action": "pg_dump | pg_restore", "pre_condition": "writes frozen",
             "verification": "row counts match", "rollback": "drop the copy", "duration_estimate": "40 min"},
            {"name": "Switch", "action": "update DNS", "pre_condition": "copy verified",
             "verification": "traffic on new db", "rollback": "revert DNS", "duration_estimate": ""}
        ],
        "point_of_no_return": "After step 3",
        "monitoring_plan": ["error rate", "replication lag"],
        "communication_plan": {"before": "notify #ops", "during": "update #ops every 15 min", "after": "confirm to stakeholders"}
    })
}

fn mig4() -> Value {
    json!({
        "step_3_cut_over": {
            "pre_conditions": {"value": "Met", "details": ""},
            "execution": "Switched DNS at 10:04.\nTTL was 60 s.",
            "verification_result": {"value": "Pass", "details": "all checks green"},
            "health_check_status": [{"check": "/healthz", "status": "green"}],
            "status": {"value": "Complete", "reason": ""}
        }
    })
}

fn mig5() -> Value {
    json!({
        "success_criteria": [
            {"criterion": "p99 < 200 ms", "value": "Met"},
            {"criterion": "no errors for 1 h", "value": "Not met"}
        ],
        "health_checks": [{"check": "/healthz", "value": "Pass"}],
        "consumer_status": [{"consumer": "reports", "value": "Issues"}],
        "data_integrity": {"value": "Verified", "details": "checksums match"},
        "verdict": "Issues found"
    })
}

fn mig6() -> Value {
    json!({
        "rollback_status": {"value": "No longer possible", "reason": "old cluster deleted"},
        "rollback_window": "Until 2025-07-01",
        "rollback_triggers": ["error rate above 1%"],
        "rollback_procedure": ["Point DNS back", "Restore from snapshot"],
        "cleanup_tasks": [
            {"item": "Remove dual-write shim", "safe_after_date_condition": "after 2 weeks"},
            {"item": "Decommission pg12", "safe_after_date_condition": "after the window"}
        ]
    })
}

#[test]
fn every_template_of_the_workflow_compiles() {
    let all = outputs();
    assert_eq!(all.len(), 6);
    let step = Step::new(1, "x");
    for out in all {
        let id = out.id.clone();
        let t = out.template_for(out.per_step.then_some(&step));
        let s =
            ArtifactSchema::compile(&t, &Bounds::default()).unwrap_or_else(|e| panic!("{id}: {e}"));
        let schema = s.json_schema();
        assert_eq!(schema["type"], "object", "{id}");
        assert_eq!(schema["additionalProperties"], false, "{id}");
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(required, keys(&s), "{id}");
        bounds_are_written(&schema, &id);
        if id.ends_with(".N") {
            // Instantiated for step 1, the per-step template is still one
            // step's object, not a list of steps.
            assert_eq!(keys(&s), ["step_1_x"], "{id}");
            assert_eq!(schema["properties"]["step_1_x"]["type"], "object", "{id}");
            assert_eq!(
                schema["properties"]["step_1_x"]["required"][0], "pre_conditions",
                "{id}: the step's name comes from the plan, not from the model"
            );
        }
    }
}

/// Strings carry `maxLength`, arrays `minItems: 1` and `maxItems`, and every
/// object is closed and requires all its properties.
fn bounds_are_written(v: &Value, id: &str) {
    match v {
        Value::Object(m) => {
            match m.get("type").and_then(Value::as_str) {
                Some("string") if !m.contains_key("enum") => {
                    assert!(m["maxLength"].as_u64().is_some_and(|n| n > 0), "{id}: {v}")
                }
                Some("array") => {
                    assert_eq!(m["minItems"], 1, "{id}: {v}");
                    assert!(m["maxItems"].as_u64().is_some_and(|n| n > 1), "{id}: {v}");
                }
                Some("object") => {
                    assert_eq!(m["additionalProperties"], false, "{id}: {v}");
                    let props = m["properties"].as_object().map_or(0, |p| p.len());
                    assert_eq!(
                        m["required"].as_array().map_or(0, Vec::len),
                        props,
                        "{id}: {v}"
                    );
                }
                _ => {}
            }
            m.values().for_each(|x| bounds_are_written(x, id));
        }
        Value::Array(a) => a.iter().for_each(|x| bounds_are_written(x, id)),
        _ => {}
    }
}

/// A value that fits `schema`: the last enum value, two list items, and
/// text that varies with the path so fields cannot be confused.
fn sample(schema: &Value, path: &str) -> Value {
    if let Some(e) = schema["enum"].as_array() {
        return e.last().cloned().unwrap_or(Value::Null);
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut m = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (k, p) in props {
                    m.insert(k.clone(), sample(p, &format!("{path}.{k}")));
                }
            }
            Value::Object(m)
        }
        Some("array") => Value::Array(
            (0..2)
                .map(|i| sample(&schema["items"], &format!("{path}[{i}]")))
                .collect(),
        ),
        _ => json!(format!("text for {path}")),
    }
}

/// Every template of every workflow in the repository, not just the six
/// above: any template in this style must compile, and a value shaped by its
/// schema must validate, render with all sections and read back.
#[test]
fn any_workflow_template_round_trips_a_sample() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let files = [
        format!("{dir}/workflows/migration.md"),
        format!("{dir}/tests/fixtures/workflows/upgrade.md"),
        format!("{dir}/tests/fixtures/workflows/small.md"),
    ];
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let wf = workflow::parse(&text, Path::new(&file)).unwrap_or_else(|e| panic!("{e:?}"));
        for out in wf.phases.iter().filter_map(|p| p.output.as_ref()) {
            let t = out.template_for(out.per_step.then_some(&Step::new(2, "x")));
            let id = format!("{file} {}", out.id);
            let s = ArtifactSchema::compile(&t, &Bounds::default())
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            bounds_are_written(&s.json_schema(), &id);
            let v = sample(&s.json_schema(), "");
            assert_eq!(s.validate(&v), Vec::<String>::new(), "{id}");
            let md = s.render(&v).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(
                missing_sections(&t, &md),
                Vec::<String>::new(),
                "{id}:\n{md}"
            );
            assert_eq!(s.parse(&md), Ok(v), "{id}:\n{md}");
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} templates");
}

#[test]
fn mig1_assessment() {
    let (_, s) = compile("MIG-1");
    assert_eq!(
        keys(&s),
        [
            "migration",
            "motivation",
            "affected_components",
            "breaking_changes",
            "data_compatibility",
            "risk_level",
            "risk_factors"
        ]
    );
    let p = &s.json_schema()["properties"];
    assert_eq!(p["migration"]["type"], "string");
    assert_eq!(p["migration"]["description"], "From what → to what");
    assert_eq!(
        p["affected_components"]["items"]["required"],
        json!(["component", "how_its_affected"])
    );
    assert_eq!(
        p["breaking_changes"]["items"]["required"],
        json!(["breaking_change", "impact"])
    );
    assert_eq!(
        p["data_compatibility"]["required"],
        json!(["value", "details"])
    );
    assert_eq!(p["risk_factors"]["items"]["type"], "string");
    let v = mig1();
    assert_eq!(
        enums(&s, &v),
        [
            (
                "data_compatibility.value".to_string(),
                "Requires transformation".to_string(),
                strings(&["Compatible", "Requires transformation"])
            ),
            (
                "risk_level".to_string(),
                "High".to_string(),
                strings(&["Low", "Medium", "High", "Critical"])
            )
        ]
    );
    let md = round_trip("MIG-1", &v);
    assert!(md.contains("## Data Compatibility\nRequires transformation — rebuild indexes\n"));
    assert!(md.contains("## Affected Components\n- billing-api — driver upgrade\n- reports — uses removed functions\n"));
}

#[test]
fn mig2_strategy() {
    let (_, s) = compile("MIG-2");
    assert_eq!(
        keys(&s),
        [
            "strategy",
            "rationale",
            "sequence",
            "compatibility_layers",
            "rollback_strategy",
            "success_criteria",
            "health_checks"
        ]
    );
    let p = &s.json_schema()["properties"];
    assert_eq!(
        p["strategy"]["enum"],
        json!([
            "Big bang",
            "Incremental",
            "Parallel run",
            "Blue-green",
            "Strangler fig"
        ])
    );
    assert_eq!(p["sequence"]["items"]["type"], "string");
    assert!(p["compatibility_layers"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("None needed")));
    assert_eq!(
        p["rollback_strategy"]["required"],
        json!(["per_step", "full_rollback"])
    );
    assert_eq!(
        p["health_checks"]["items"]["required"],
        json!(["check", "what_it_validates"])
    );
    let md = round_trip("MIG-2", &mig2());
    assert!(md.contains("## Sequence\n1. Build green\n2. Replicate\n3. Switch traffic\n"));
    assert!(md.contains("## Compatibility Layers\n- None needed —\n"));
    assert!(md.contains(
        "- **Per-step:** undo the step's change\n- **Full rollback:** point traffic back to blue\n"
    ));
}

#[test]
fn mig3_execution_plan() {
    let (_, s) = compile("MIG-3");
    assert_eq!(
        keys(&s),
        [
            "pre_migration_checklist",
            "steps",
            "point_of_no_return",
            "monitoring_plan",
            "communication_plan"
        ]
    );
    let p = &s.json_schema()["properties"];
    assert_eq!(
        p["steps"]["items"]["required"],
        json!([
            "name",
            "action",
            "pre_condition",
            "verification",
            "rollback",
            "duration_estimate"
        ])
    );
    assert_eq!(p["steps"]["maxItems"], 12);
    // `<After step N / None — fully reversible>`: never force a literal "step N".
    assert_eq!(p["point_of_no_return"]["type"], "string");
    assert!(p["point_of_no_return"].get("enum").is_none());
    assert_eq!(
        p["communication_plan"]["required"],
        json!(["before", "during", "after"])
    );
    assert_eq!(
        p["communication_plan"]["properties"]["during"]["description"],
        "update <who> at <frequency>"
    );
    assert!(enums(&s, &mig3()).is_empty());
    let md = round_trip("MIG-3", &mig3());
    let steps: Vec<(u32, String)> = step::steps(&md)
        .into_iter()
        .map(|s| (s.number, s.name))
        .collect();
    assert_eq!(
        steps,
        [
            (1, "Freeze writes".to_string()),
            (2, "Copy data".to_string()),
            (3, "Switch".to_string())
        ]
    );
    assert!(
        md.contains("## Pre-Migration Checklist\n- [ ] backup verified\n- [ ] change approved\n")
    );
    assert!(md.contains("- **Duration estimate:**\n\n## Point of No Return\nAfter step 3\n"));
}

#[test]
fn mig4_step_result() {
    let (t, s) = compile("MIG-4.N");
    assert!(
        t.starts_with("## Step 3: Cut over\n"),
        "the plan's step name is filled in: {t}"
    );
    assert_eq!(keys(&s), ["step_3_cut_over"]);
    let step = &s.json_schema()["properties"]["step_3_cut_over"];
    assert_eq!(
        step["required"],
        json!([
            "pre_conditions",
            "execution",
            "verification_result",
            "health_check_status",
            "status"
        ])
    );
    assert_eq!(
        step["properties"]["health_check_status"]["items"]["required"],
        json!(["check", "status"])
    );
    assert_eq!(
        step["properties"]["status"]["required"],
        json!(["value", "reason"])
    );
    let v = mig4();
    assert_eq!(
        enums(&s, &v),
        [
            (
                "step_3_cut_over.pre_conditions.value".to_string(),
                "Met".to_string(),
                strings(&["Met", "Not met"])
            ),
            (
                "step_3_cut_over.verification_result.value".to_string(),
                "Pass".to_string(),
                strings(&["Pass", "Fail"])
            ),
            (
                "step_3_cut_over.status.value".to_string(),
                "Complete".to_string(),
                strings(&["Complete", "Rolled back"])
            )
        ]
    );
    let md = round_trip("MIG-4.N", &v);
    assert_eq!(
        md,
        "## Step 3: Cut over\n\n### Pre-conditions\nMet\n\n### Execution\nSwitched DNS at 10:04.\nTTL was 60 s.\n\n### Verification Result\nPass — all checks green\n\n### Health Check Status\n- /healthz — green\n\n### Status\nComplete\n"
    );
    let rolled = json!({"step_3_cut_over": {
        "pre_conditions": {"value": "Not met", "details": "backup stale"},
        "execution": "nothing", "verification_result": {"value": "Fail", "details": ""},
        "health_check_status": [{"check": "db", "status": "red"}],
        "status": {"value": "Rolled back", "reason": "pre-conditions not met"}
    }});
    let md = round_trip("MIG-4.N", &rolled);
    assert!(md.contains("### Status\nRolled back — pre-conditions not met\n"));
}

#[test]
fn mig5_validation_report() {
    let (_, s) = compile("MIG-5");
    assert_eq!(
        keys(&s),
        [
            "success_criteria",
            "health_checks",
            "consumer_status",
            "data_integrity",
            "verdict"
        ]
    );
    let v = mig5();
    assert_eq!(
        enums(&s, &v),
        [
            (
                "success_criteria[0].value".to_string(),
                "Met".to_string(),
                strings(&["Met", "Not met"])
            ),
            (
                "success_criteria[1].value".to_string(),
                "Not met".to_string(),
                strings(&["Met", "Not met"])
            ),
            (
                "health_checks[0].value".to_string(),
                "Pass".to_string(),
                strings(&["Pass", "Fail"])
            ),
            (
                "consumer_status[0].value".to_string(),
                "Issues".to_string(),
                strings(&["Functioning", "Issues"])
            ),
            (
                "data_integrity.value".to_string(),
                "Verified".to_string(),
                strings(&["Verified", "Issues"])
            ),
            (
                "verdict".to_string(),
                "Issues found".to_string(),
                strings(&["Migration successful", "Issues found"])
            )
        ]
    );
    let md = round_trip("MIG-5", &v);
    assert!(
        md.contains("## Success Criteria\n- p99 < 200 ms — Met\n- no errors for 1 h — Not met\n")
    );
    assert!(md.contains("## Verdict\nIssues found\n"));
}

#[test]
fn mig6_rollback_and_cleanup() {
    let (_, s) = compile("MIG-6");
    assert_eq!(
        keys(&s),
        [
            "rollback_status",
            "rollback_window",
            "rollback_triggers",
            "rollback_procedure",
            "cleanup_tasks"
        ]
    );
    let p = &s.json_schema()["properties"];
    assert_eq!(p["rollback_status"]["required"], json!(["value", "reason"]));
    assert_eq!(
        p["cleanup_tasks"]["items"]["required"],
        json!(["item", "safe_after_date_condition"])
    );
    let v = mig6();
    assert_eq!(
        enums(&s, &v),
        [(
            "rollback_status.value".to_string(),
            "No longer possible".to_string(),
            strings(&["Available", "No longer possible"])
        )]
    );
    let md = round_trip("MIG-6", &v);
    assert!(md.contains("## Rollback Procedure\n1. Point DNS back\n2. Restore from snapshot\n"));
    assert!(md.contains("- [ ] Remove dual-write shim — after 2 weeks\n"));
}

#[test]
fn validation_catches_what_models_get_wrong() {
    let samples = [
        ("MIG-1", mig1()),
        ("MIG-2", mig2()),
        ("MIG-3", mig3()),
        ("MIG-4.N", mig4()),
        ("MIG-5", mig5()),
        ("MIG-6", mig6()),
    ];
    for (id, v) in samples {
        let (_, s) = compile(id);
        let top = keys(&s);

        // A missing key.
        let mut missing = v.clone();
        missing.as_object_mut().map(|m| m.remove(&top[0]));
        let problems = s.validate(&missing);
        assert!(
            problems
                .iter()
                .any(|p| p == &format!("{}: missing", top[0])),
            "{id}: {problems:?}"
        );

        // A wrong enum value, wherever the template's first enum sits.
        if let Some(first) = s.enum_fields(&v).first() {
            let mut wrong = v.clone();
            set(&mut wrong, &first.path, json!("Perhaps"));
            let problems = s.validate(&wrong);
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{}:", first.path))
                        && p.contains(&first.allowed.join(", "))),
                "{id}: {problems:?}"
            );
        }

        // An empty list and an over-long string, in the first list.
        let list = top.iter().find(|k| v[k.as_str()].is_array());
        if let Some(list) = list {
            let mut empty = v.clone();
            empty[list.as_str()] = json!([]);
            let problems = s.validate(&empty);
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{list}:")) && p.contains("empty")),
                "{id}: {problems:?}"
            );
            let mut long = v.clone();
            let item = &mut long[list.as_str()][0];
            let field = match item {
                Value::Object(m) => m.keys().next().cloned(),
                _ => None,
            };
            let path = match &field {
                Some(f) => {
                    item[f.as_str()] = json!("x".repeat(241));
                    format!("{list}[0].{f}")
                }
                None => {
                    *item = json!("x".repeat(241));
                    format!("{list}[0]")
                }
            };
            let problems = s.validate(&long);
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{path}:")) && p.contains("at most 240")),
                "{id}: {problems:?}"
            );
        }
    }

    // MIG-4 keeps its lists one level down.
    let (_, s) = compile("MIG-4.N");
    let mut v = mig4();
    v["step_3_cut_over"]["health_check_status"] = json!([]);
    v["step_3_cut_over"]["execution"] = json!("x".repeat(801));
    let problems = s.validate(&v);
    assert!(problems
        .iter()
        .any(|p| p.starts_with("step_3_cut_over.health_check_status:") && p.contains("empty")));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("step_3_cut_over.execution:") && p.contains("at most 800")));
}

/// Sets the value at a path such as `a.b[2].c`.
fn set(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        cur = &mut cur[key];
        if let Some(i) = index {
            cur = &mut cur[i];
        }
    }
    *cur = new;
}

#[test]
fn hand_varied_values_round_trip() {
    let (_, s1) = compile("MIG-1");

    // Empty details render as the bare value.
    let mut v = mig1();
    v["data_compatibility"] = json!({"value": "Compatible", "details": ""});
    let md = round_trip("MIG-1", &v);
    assert!(md.contains("## Data Compatibility\nCompatible\n"));
    assert_eq!(s1.parse(&md), Ok(v));

    // Unicode everywhere.
    let mut v = mig1();
    v["migration"] = json!("MySQL 5.7 → TiDB 7 (東京リージョン) ✓");
    v["affected_components"][0] =
        json!({"component": "Zürich-Gateway", "how_its_affected": "émojis 😀 and «quotes»"});
    v["risk_factors"] = json!(["naïve timestamps", "ß vs SS"]);
    let md = round_trip("MIG-1", &v);
    assert_eq!(s1.parse(&md), Ok(v));

    // A newline: prose keeps it, a list item collapses it to a space.
    let mut v = mig1();
    v["motivation"] = json!("Line one.\n\nLine three, after a blank line.");
    v["risk_factors"] = json!(["large\ntables", "tight window"]);
    let md = round_trip("MIG-1", &v);
    let back = s1.parse(&md).expect("parse");
    assert_eq!(back["motivation"], v["motivation"]);
    assert_eq!(
        back["risk_factors"],
        json!(["large tables", "tight window"])
    );

    // Per-step values in a step other than 3.
    let t = output("MIG-4.N").template_for(Some(&Step::new(7, "Drop old")));
    let s = ArtifactSchema::compile(&t, &Bounds::default()).expect("compile");
    assert_eq!(keys(&s), ["step_7_drop_old"]);
    let v = json!({"step_7_drop_old": mig4()["step_3_cut_over"].clone()});
    let md = s.render(&v).expect("render");
    assert!(md.starts_with("## Step 7: Drop old\n"), "{md}");
    assert!(missing_sections(&t, &md).is_empty());
    assert_eq!(s.parse(&md), Ok(v));
}

#[test]
fn a_free_form_draft_is_read_for_its_enums() {
    let (_, s) = compile("MIG-1");
    let draft = "## Migration\nRedis 6 to Redis 7\n\n## Motivation\nEOL\n\n## Affected Components\n* cache layer - client lib bump\n\n## Breaking Changes\n- none: n/a\n\n## Data compatibility\n**Compatible**\n\n## Risk level\nmedium\n\n## Risk Factors\n- none\n";
    let v = s.parse(draft).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(v["risk_level"], "Medium");
    assert_eq!(
        v["data_compatibility"],
        json!({"value": "Compatible", "details": ""})
    );
    assert_eq!(
        v["affected_components"],
        json!([{"component": "cache layer", "how_its_affected": "client lib bump"}])
    );
    let bad = draft.replace("medium", "Severe");
    let problems = s.parse(&bad).expect_err("Severe is not a risk level");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("risk_level:")
            && problems[0].contains("Low, Medium, High, Critical")
    );
}

#[test]
fn a_step_named_with_markup_still_round_trips() {
    // A small model's plan named a step with HTML in it; its result must
    // still render and read back, with no problem at the gate.
    let t = output("MIG-4.N").template_for(Some(&Step::new(
        2,
        "Pre-Condition Check List of Steps (2)</strong></code><br /><a href=",
    )));
    let s = ArtifactSchema::compile(&t, &Bounds::default()).expect("compile");
    let keys = keys(&s);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let v = json!({ keys[0].clone(): mig4()["step_3_cut_over"].clone() });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert!(
        md.starts_with("## Step 2: Pre-Condition Check List of Steps (2) a href=\n"),
        "{md}"
    );
    assert!(missing_sections(&t, &md).is_empty());
    assert_eq!(s.parse(&md), Ok(v));
}
