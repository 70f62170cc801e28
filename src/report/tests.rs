use serde_json::json;

use super::*;

#[test]
fn a_decision_carries_the_note_feedback_or_reason_journalled_with_it() {
    let events = vec![
        json!({"event": "decided", "at": "t1", "artifact": "MIG-1", "revision": 1, "option": "Needs changes", "action": "revise", "by": "ana"}),
        json!({"event": "revised", "at": "t1", "artifact": "MIG-1", "revision": 1, "feedback": "name the rollback owner", "by": "ana"}),
        json!({"event": "decided", "at": "t2", "artifact": "MIG-1", "revision": 2, "option": "Approve", "action": "proceed", "by": "bo"}),
        json!({"event": "approved", "at": "t2", "artifact": "MIG-1", "revision": 2, "approver": "bo", "note": "ok for staging"}),
        json!({"event": "point_of_no_return_confirmed", "at": "t3", "artifact": "MIG-4.1", "step": 1, "by": "cy"}),
        json!({"event": "aborted", "at": "t4", "reason": "window closed", "by": "dee"}),
    ];
    let d = decisions(&events);
    let seen: Vec<(&str, &str, &str, Option<&str>)> = d
        .iter()
        .map(|d| {
            (
                d.option.as_str(),
                d.action.as_str(),
                d.by.as_str(),
                d.note.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "Needs changes",
                "revise",
                "ana",
                Some("name the rollback owner")
            ),
            ("Approve", "proceed", "bo", Some("ok for staging")),
            ("past the point of no return", "confirm", "cy", None),
            ("abort", "abort", "dee", Some("window closed")),
        ]
    );
    assert_eq!(d[1].revision, Some(2));
    assert_eq!(d[1].artifact.as_deref(), Some("MIG-1"));
}

#[test]
fn headings_move_below_the_artifact_heading_outside_fences_only() {
    let text = "# Top\n## Section\n```\n## not a heading\n```\n####### seven\n#tag";
    assert_eq!(
        markdown::demote(text, 3),
        "#### Top\n##### Section\n```\n## not a heading\n```\n####### seven\n#tag"
    );
}
