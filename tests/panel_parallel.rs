//! A review panel's members are asked in parallel, at most
//! `max_parallel_requests` at once (the server's slots, else 4), each
//! finding saved as it arrives and numbered by the member's place in the
//! panel, whatever order the answers come in.

use std::time::Duration;

use crate::support::{user_message, FakeServer, Sandbox};
use crate::workflow_family::copy_library;

/// The server takes this long per answer, so requests in flight together
/// arrive well within [`WINDOW`] of each other and a later wave after it.
const DELAY: Duration = Duration::from_secs(3);
const WINDOW: Duration = Duration::from_millis(1500);

/// Runs the decision-record workflow (a round table of three in phase 2)
/// up to ADR-2 with `max_parallel_requests` set (or left out); returns the
/// sandbox and how many of the panel's requests arrived together.
async fn panel_wave(max_parallel: Option<usize>) -> (Sandbox, FakeServer, usize) {
    let fake = FakeServer::new().delay(DELAY).start().await;
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let setting = max_parallel.map_or(String::new(), |n| format!("max_parallel_requests = {n}\n"));
    sandbox.write_config(&format!(
        "[profiles.panel]\nbase_url = \"{}\"\nmodel = \"m\"\n{setting}",
        fake.base_url()
    ));
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "decision-record",
            "--request",
            "Pick the queue for billing events",
            "--profile",
            "panel",
            "--no-input",
            "--run-id",
            "adr",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.approve("adr").await;
    let before = fake.chat_arrivals();
    let (code, out, err) = sandbox.cmd(&["resume", "adr", "--no-input"]).run().await;
    assert_eq!(code, 10, "{out}{err}");
    assert!(
        err.contains("panel review for ADR-2"),
        "the progress names the panel: {err}"
    );
    let together = fake.arrived_together(before, WINDOW);
    (sandbox, fake, together)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_asked_in_parallel_up_to_the_limit() {
    for (limit, expected) in [(Some(1), 1), (Some(2), 2), (None, 3)] {
        let (sandbox, fake, together) = panel_wave(limit).await;
        assert_eq!(
            together, expected,
            "max_parallel_requests {limit:?}: requests in flight at once"
        );
        // Every member reported, numbered by its place in the panel.
        let dir = sandbox.run_dir("adr").join("drafts/ADR-2.r1.findings");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("findings folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "01-software-architect.md",
                "02-product-owner.md",
                "03-site-reliability-engineer.md"
            ],
            "{limit:?}"
        );
        // The moderator's draft request lists the findings in the panel's
        // order.
        let requests = fake.chat_requests().await;
        let (draft, _) = requests.last().expect("the draft request");
        let user = user_message(draft);
        let at = |name: &str| {
            user.find(name)
                .unwrap_or_else(|| panic!("{name} not in the draft request"))
        };
        assert!(
            at("Software Architect") < at("Product Owner")
                && at("Product Owner") < at("Site Reliability Engineer"),
            "{user}"
        );
        let findings = sandbox
            .journal("adr")
            .iter()
            .filter(|e| e["event"] == "panel_finding")
            .count();
        assert_eq!(findings, 3, "each finding journalled once");
    }
}

/// A member whose request fails does not cost the others their findings:
/// each answer that came in is saved, the command fails naming the model
/// error, and the next resume asks only the member that failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_member_is_asked_again_on_its_own() {
    let healthy = FakeServer::new().start().await;
    // The crash answers at once and the others a second later, so the
    // failure comes in while their requests are still in flight.
    let crashing = FakeServer::new()
        .fail_when("PERSONA-MARKER-sre")
        .delay(Duration::from_secs(1))
        .start()
        .await;
    let sandbox = Sandbox::new();
    copy_library(sandbox.path());
    let (code, out, err) = sandbox
        .cmd(&[
            "run",
            "decision-record",
            "--request",
            "Pick the queue for billing events",
            "--base-url",
            &healthy.base_url(),
            "--model",
            "m",
            "--no-input",
            "--run-id",
            "adr",
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.approve("adr").await;
    let (code, out, err) = sandbox
        .cmd(&[
            "resume",
            "adr",
            "--no-input",
            "--base-url",
            &crashing.base_url(),
        ])
        .run()
        .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("failed: Site Reliability Engineer"), "{err}");
    let kept: Vec<String> = sandbox
        .journal("adr")
        .iter()
        .filter(|e| e["event"] == "panel_finding")
        .map(|e| e["member"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kept.len(), 2, "the others' findings are kept: {kept:?}");
    assert!(
        !kept.iter().any(|m| m.contains("Site Reliability")),
        "{kept:?}"
    );

    let before = healthy.chat_arrivals();
    let (code, out, err) = sandbox
        .cmd(&[
            "resume",
            "adr",
            "--no-input",
            "--base-url",
            &healthy.base_url(),
        ])
        .run()
        .await;
    assert_eq!(code, 10, "{out}{err}");
    let requests = healthy.chat_requests().await;
    let asked: Vec<String> = requests[before..]
        .iter()
        .map(|(body, _)| crate::support::user_message(body))
        .collect();
    assert_eq!(asked.len(), 2, "one member, then the draft");
    assert!(
        asked[0].contains("PERSONA-MARKER-sre"),
        "only the SRE is asked again"
    );
    let findings = sandbox
        .journal("adr")
        .iter()
        .filter(|e| e["event"] == "panel_finding")
        .count();
    assert_eq!(findings, 3);
}
