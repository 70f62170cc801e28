use super::*;
use crate::artifact_schema::sections::missing_sections;
use crate::artifact_schema::text::alternatives;
use serde_json::json;

/// `Some((values, detail))` when `inner` is a choice.
fn choice(inner: &str) -> Option<(Vec<String>, Option<String>)> {
    alternatives(inner).map(|a| (a.values, a.detail))
}

fn values(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_alternative_must_be_a_short_label_for_a_choice() {
    let choices: &[(&str, &[&str], Option<&str>)] = &[
        (
            "Low / Medium / High / Critical",
            &["Low", "Medium", "High", "Critical"],
            None,
        ),
        (
            "Critical / High / Medium / Low / Informational",
            &["Critical", "High", "Medium", "Low", "Informational"],
            None,
        ),
        ("Yes / No", &["Yes", "No"], None),
        ("Yes / No / N/A", &["Yes", "No", "N/A"], None),
        ("Met / Not met", &["Met", "Not met"], None),
        (
            "Met / Not met — details",
            &["Met", "Not met"],
            Some("details"),
        ),
        ("Pass / Fail — details", &["Pass", "Fail"], Some("details")),
        ("Pass / Fail - details", &["Pass", "Fail"], Some("details")),
        ("Pass / Fail – details", &["Pass", "Fail"], Some("details")),
        (
            "Available / No longer possible — reason",
            &["Available", "No longer possible"],
            Some("reason"),
        ),
        (
            "Complete / Rolled back — reason",
            &["Complete", "Rolled back"],
            Some("reason"),
        ),
        (
            "Compatible / Requires transformation — details",
            &["Compatible", "Requires transformation"],
            Some("details"),
        ),
        (
            "Done / In progress / Blocked — details",
            &["Done", "In progress", "Blocked"],
            Some("details"),
        ),
        (
            "Yes / No — if yes, which",
            &["Yes", "No"],
            Some("if yes, which"),
        ),
        (
            "Big bang / Incremental / Parallel run / Blue-green / Strangler fig",
            &[
                "Big bang",
                "Incremental",
                "Parallel run",
                "Blue-green",
                "Strangler fig",
            ],
            None,
        ),
        (
            "Migration successful / Issues found",
            &["Migration successful", "Issues found"],
            None,
        ),
        ("SEV1 / SEV2 / SEV3", &["SEV1", "SEV2", "SEV3"], None),
        ("P0 / P1 / P2", &["P0", "P1", "P2"], None),
        ("1 / 2 / 3 / 5 / 8", &["1", "2", "3", "5", "8"], None),
        ("0.5 / 1 / 2", &["0.5", "1", "2"], None),
        ("10% / 50% / 100%", &["10%", "50%", "100%"], None),
        ("Option 1 / Option 2", &["Option 1", "Option 2"], None),
        (
            "Approve / Reject / Defer",
            &["Approve", "Reject", "Defer"],
            None,
        ),
        (
            "Keep the upgrade / Roll it back",
            &["Keep the upgrade", "Roll it back"],
            None,
        ),
        ("R&D / Ops", &["R&D", "Ops"], None),
    ];
    for (inner, vals, detail) in choices {
        assert_eq!(
            choice(inner),
            Some((values(vals), detail.map(str::to_string))),
            "<{inner}> is a choice"
        );
    }
    let free = [
        "None / List of intentional changes",
        "List of intentional changes / None",
        "None / List of breaking changes with their impact",
        "None / Describe the changes",
        "None / See details below",
        "Yes / No / Explain",
        "Short summary / Long summary",
        "How to verify / N/A",
        "e.g. Postgres / MySQL",
        "Yes / No etc",
        "Accepted / Rejected with reasons",
        "None / Examples of affected calls",
        "None / Which services, if any",
        "After step N / None — fully reversible",
        "likelihood / impact",
        "Yes / no",
        "v1 / v2",
        "A short description of the problem / None",
        "Pass / Pass",
        "Why this migration is needed",
        "Low",
        "Pass / Fail — <what>",
        "Pass / ...",
        // `B` stands alone like the `N` of "step N".
        "Option A / Option B",
    ];
    for inner in free {
        assert_eq!(choice(inner), None, "<{inner}> is free text");
    }
}

#[test]
fn a_parallel_pair_of_placeholders_compiles_alike() {
    let s = compile(
        "## Breaking Changes\n<None / List of breaking changes with their impact>\n\n## Behaviour Changes\n<None / List of intentional changes>\n\n## Risk\n<Low / Medium / High / Critical>\n",
    );
    let p = &s.json_schema()["properties"];
    assert_eq!(p["breaking_changes"]["type"], "string");
    assert_eq!(p["behaviour_changes"]["type"], "string");
    assert_eq!(
        p["risk"]["enum"],
        json!(["Low", "Medium", "High", "Critical"])
    );
    assert_eq!(
        s.choices(),
        vec![(
            "risk".to_string(),
            values(&["Low", "Medium", "High", "Critical"])
        )]
    );
}

const TITLED: &str = "# Migration Assessment: <system>\n\n## Risk Level\n<Low / Medium / High / Critical>\n\n## Notes\n<Anything else>\n";

#[test]
fn a_title_line_renders_from_a_title_field_and_is_not_a_section() {
    let s = compile(TITLED);
    assert_eq!(keys(&s), ["title", "risk_level", "notes"]);
    assert_eq!(
        s.sections()[0],
        (
            "title".to_string(),
            "# Migration Assessment: <system>".to_string()
        )
    );
    let js = s.json_schema();
    assert_eq!(js["required"], json!(["title", "risk_level", "notes"]));
    assert_eq!(js["properties"]["title"]["description"], "system");
    let v = json!({"title": "Billing DB", "risk_level": "High", "notes": "none"});
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(
        md,
        "# Migration Assessment: Billing DB\n\n## Risk Level\nHigh\n\n## Notes\nnone\n"
    );
    assert_eq!(s.parse(&md), Ok(v));
    // A draft without the title is read, with an empty title, and is not
    // missing a section.
    let untitled = "## Risk Level\nLow\n\n## Notes\nx\n";
    assert_eq!(
        s.parse(untitled),
        Ok(json!({"title": "", "risk_level": "Low", "notes": "x"}))
    );
    assert!(missing_sections(TITLED, untitled).is_empty());
    assert!(missing_sections(TITLED, &md).is_empty());
    assert_eq!(
        missing_sections(TITLED, "# Migration Assessment: X\n## Notes\n"),
        ["## Risk Level"]
    );
}

#[test]
fn titles_with_several_placeholders_none_or_a_clashing_section() {
    let s = compile("# <System>: <From> to <To>\n\n## Scope\n<t>\n");
    assert_eq!(
        keys(&s),
        ["title_system", "title_from", "title_to", "scope"]
    );
    let v = json!({"title_system": "Billing", "title_from": "PG 12", "title_to": "PG 16", "scope": "x"});
    let md = s.render(&v).expect("render");
    assert_eq!(md, "# Billing: PG 12 to PG 16\n\n## Scope\nx\n");
    assert_eq!(s.parse(&md), Ok(v));
    // The title field keeps its name; a section called Title gives way.
    let clash = compile("# Report: <name>\n\n## Title\n<t>\n");
    assert_eq!(keys(&clash), ["title", "title_2"]);
    // Without a placeholder the title is literal text, copied.
    let plain = compile("# Assessment\n\n## A\n<a>\n");
    assert_eq!(keys(&plain), ["a"]);
    assert_eq!(
        plain.render(&json!({"a": "x"})).expect("render"),
        "# Assessment\n\n## A\nx\n"
    );
    assert!(missing_sections("# Assessment\n\n## A\n<a>\n", "## A\nx").is_empty());
    // An H1 that heads the only sections is a section.
    let h1s = compile("# A\n<a>\n\n# B\n<b>\n");
    assert_eq!(keys(&h1s), ["a", "b"]);
}

const WITH_EXAMPLE: &str = "## Endpoint\n<Method and path>\n\n## Request Example\n```json\n{\"id\": \"<id>\"}\n## not a section\n```\n\n## Errors\n- <Code> — <meaning>\n- ...\n\n## Risk\n<Low / Medium / High>\n";

#[test]
fn an_inner_code_block_is_content_of_its_section() {
    let s = compile(WITH_EXAMPLE);
    assert_eq!(keys(&s), ["endpoint", "request_example", "errors", "risk"]);
    let p = &s.json_schema()["properties"];
    assert_eq!(p["request_example"]["type"], "string");
    assert_eq!(p["errors"]["type"], "array");
    assert_eq!(p["risk"]["enum"], json!(["Low", "Medium", "High"]));
    let v = json!({
        "endpoint": "GET /v1/orders/{id}",
        "request_example": "```json\n{\"id\": \"42\"}\n```",
        "errors": [{"code": "404", "meaning": "no such order"}],
        "risk": "Low"
    });
    assert_eq!(s.validate(&v), Vec::<String>::new());
    let md = s.render(&v).expect("render");
    assert_eq!(s.parse(&md), Ok(v));
    // The sections after the inner block are required of a draft; the
    // heading inside the block is not.
    let draft = "## Endpoint\nGET /\n\n## Request Example\n```json\n{}\n```\n";
    assert_eq!(
        missing_sections(WITH_EXAMPLE, draft),
        ["## Errors", "## Risk"]
    );
    // A draft whose own code block holds a heading-like line keeps it as
    // content.
    let code = "## Endpoint\nGET /\n\n## Request Example\n```\n## Risk\n```\n\n## Errors\n- 500 — boom\n\n## Risk\nHigh\n";
    let read = s.parse(code).expect("reads");
    assert_eq!(read["request_example"], "```\n## Risk\n```");
    assert_eq!(read["risk"], "High");
}

#[test]
fn a_prose_value_that_opens_a_block_it_never_closes_is_refused() {
    let s = compile(WITH_EXAMPLE);
    let v = json!({
        "endpoint": "GET /",
        "request_example": "```json\n{\"id\": 1}",
        "errors": [{"code": "1", "meaning": "x"}],
        "risk": "Low"
    });
    let problems = s.validate(&v);
    assert!(
        problems.iter().any(|p| p.contains("never closes")),
        "{problems:?}"
    );
}
