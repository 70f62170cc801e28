//! Reading gates: wrapped criteria and options, one gate per phase, and the
//! many ways an option says it sends the work back.

use std::path::Path;

use crate::workflow::{self, Diagnostic, GateAction, GateOption, Severity, Workflow};

const WRAPPED_60: &str = include_str!("../testdata/wrapped-60.md");

fn parse(text: &str) -> (Workflow, Vec<Diagnostic>) {
    workflow::parse_lenient(text, Path::new("t.md"))
}

fn gate_options(wf: &Workflow, phase: u32) -> &[GateOption] {
    let ph = wf.phases.iter().find(|p| p.number == phase).unwrap();
    &ph.gate.as_ref().unwrap().options
}

fn listing(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn criteria_and_options_wrapped_at_60_columns_are_kept_whole() {
    let (wf, diagnostics) = parse(WRAPPED_60);
    assert!(diagnostics.is_empty(), "{}", listing(&diagnostics));
    let gate = |n: u32| wf.phases[n as usize - 1].gate.as_ref().unwrap();
    assert_eq!(
        gate(1).criteria,
        "Every alert, page and operator action is on the timeline with its time in UTC. Gaps longer than five minutes are explained."
    );
    // The label alone on its line, the paragraph under it.
    assert_eq!(
        gate(2).criteria,
        "Causes are stated as mechanisms, not as people. Each one points to evidence on the timeline."
    );
    assert_eq!(
        gate(3).criteria,
        "Every cause has at least one action with an owner and a date."
    );
    // The label alone, the criteria as a list.
    assert_eq!(
        gate(4).criteria,
        "The summary fits on one page; It names no individual as a cause"
    );
    assert_eq!(
        gate(1).instructions,
        "**Stop.** Present `[INC-1]` for review with the on-call engineer."
    );

    let described: Vec<(&str, &str, GateAction, usize)> = wf
        .phases
        .iter()
        .flat_map(|p| &p.gate.as_ref().unwrap().options)
        .map(|o| (o.label.as_str(), o.description.as_str(), o.action, o.line))
        .collect();
    assert_eq!(
        described,
        [
            ("Approved", "proceed to Phase 2", GateAction::Proceed, 41),
            (
                "Revise",
                "fill the gaps the reviewer names, then re-present `[INC-1]`",
                GateAction::Revise,
                42
            ),
            ("Approved", "proceed to Phase 3", GateAction::Proceed, 70),
            (
                "Revise",
                "deepen the analysis, re-present `[INC-2]`",
                GateAction::Revise,
                71
            ),
            ("Approved", "proceed to Phase 4", GateAction::Proceed, 98),
            (
                "Cause unclear",
                "go back to Phase 2 and deepen the analysis, then re-present at Phase 3",
                GateAction::SendBack,
                99
            ),
            (
                "Timeline wrong",
                "return to Phase 1 or 2 as needed, then re-present at Phase 3",
                GateAction::SendBack,
                101
            ),
            ("Approved", "review is complete", GateAction::Proceed, 131),
            (
                "Revise",
                "shorten it, re-present `[INC-4]`",
                GateAction::Revise,
                132
            ),
        ]
    );
    let targets: Vec<&[u32]> = gate(3).options.iter().map(|o| &o.targets[..]).collect();
    assert_eq!(targets, [&[][..], &[2], &[1, 2]]);
}

#[test]
fn the_same_gates_read_the_same_unwrapped() {
    // Joining every wrapped line back onto its paragraph changes nothing.
    let unwrapped = WRAPPED_60
        .replace("on-call\nengineer", "on-call engineer")
        .replace("operator\naction", "operator action")
        .replace("then\n  re-present `[INC-1]`", "then re-present `[INC-1]`");
    assert_ne!(unwrapped, WRAPPED_60);
    let (a, _) = parse(WRAPPED_60);
    let (b, diagnostics) = parse(&unwrapped);
    assert!(diagnostics.is_empty(), "{}", listing(&diagnostics));
    let gate = |wf: &Workflow| wf.phases[0].gate.clone().unwrap();
    assert_eq!(gate(&a).criteria, gate(&b).criteria);
    assert_eq!(gate(&a).instructions, gate(&b).instructions);
    assert_eq!(
        gate(&a).options[1].description,
        gate(&b).options[1].description
    );
}

#[test]
fn a_second_gate_in_a_phase_is_an_error_at_its_line() {
    let text = WRAPPED_60.replace(
        "- **Revise** → shorten it, re-present `[INC-4]`\n",
        "- **Revise** → shorten it, re-present `[INC-4]`\n\n### GATE\n\n**Approval criteria:** Legal has read it.\n\n- **Approved** → proceed\n",
    );
    let (wf, diagnostics) = parse(&text);
    assert_eq!(
        diagnostics,
        [Diagnostic::error(
            "t.md",
            134,
            "phase 4 has a second GATE section (first at line 124); one gate per phase: merge the criteria and options"
        )],
        "{}",
        listing(&diagnostics)
    );
    // The first gate is the one kept.
    let gate = wf.phases[3].gate.as_ref().unwrap();
    assert_eq!(gate.line, 124);
    assert!(gate.criteria.starts_with("The summary"));
}

/// A workflow of `n` phases, each feeding the next, with `options` (and an
/// Approved option) at the gate of phase `at`. Each phase's options start
/// at the line the parser reports; the gate options of phase `at` are
/// returned with every diagnostic.
fn chain(n: u32, at: u32, options: &str) -> (Workflow, Vec<Diagnostic>) {
    let mut text = String::from("# Workflow: Chain\n\n## Phases\n\n");
    for i in 1..=n {
        text.push_str(&format!("{i}. **P{i}** → `[CH-{i}]` — **GATE**\n"));
    }
    for i in 1..=n {
        text.push_str(&format!("\n## Phase {i}: P{i}\n\n### Input\n\n"));
        if i == 1 {
            text.push_str("- The request\n");
        } else {
            text.push_str(&format!("- `[CH-{}]`: P{}\n", i - 1, i - 1));
        }
        text.push_str(&format!(
            "\n### Output\n\n**Artifact `[CH-{i}]: P{i}`**\n\n```\n## Body\n<text>\n```\n\n### GATE\n\n**Approval criteria:** Good.\n\n- **Approved** → proceed\n"
        ));
        if i == at {
            text.push_str(options);
        }
    }
    parse(&text)
}

/// The action and targets of the one option `- **Label** → DESCRIPTION` at
/// the gate of phase `at` in a chain of six.
fn read_at(at: u32, description: &str) -> (GateAction, Vec<u32>, Vec<Diagnostic>) {
    let (wf, diagnostics) = chain(6, at, &format!("- **Label** → {description}\n"));
    let option = gate_options(&wf, at)
        .iter()
        .find(|o| o.label == "Label")
        .cloned()
        .unwrap_or_else(|| panic!("no option read from {description:?}: {diagnostics:?}"));
    (option.action, option.targets, diagnostics)
}

#[test]
fn options_that_send_the_work_back_name_their_phases_in_many_ways() {
    let cases: &[(u32, &str, GateAction, &[u32])] = &[
        (
            3,
            "revise contract in Phase 2, then re-present at Phase 3",
            GateAction::SendBack,
            &[2],
        ),
        (
            6,
            "return to Phase 4 or 5 as needed, then re-present at Phase 6",
            GateAction::SendBack,
            &[4, 5],
        ),
        (3, "back to Phase 1", GateAction::SendBack, &[1]),
        (
            5,
            "rework in Phases 2–4, then re-present",
            GateAction::SendBack,
            &[2, 3, 4],
        ),
        (
            5,
            "return to Phase 1, 2 or Phase 3",
            GateAction::SendBack,
            &[1, 2, 3],
        ),
        (4, "go back to phase 2 / 3", GateAction::SendBack, &[2, 3]),
        (4, "Phase 1", GateAction::SendBack, &[1]),
        (
            3,
            "revise `[CH-1]`, then re-present `[CH-3]`",
            GateAction::SendBack,
            &[1],
        ),
        (
            4,
            "do not proceed; return to Phase 2",
            GateAction::SendBack,
            &[2],
        ),
        // Not sending back: forward, own phase, plain revisions.
        (3, "proceed to Phase 4", GateAction::Proceed, &[]),
        (
            4,
            "proceed to next step (or Phase 5 if all steps complete)",
            GateAction::Proceed,
            &[],
        ),
        (3, "revise in Phase 3, re-present", GateAction::Revise, &[]),
        (3, "deepen it, re-present `[CH-3]`", GateAction::Revise, &[]),
        (
            3,
            "revise the plan to match `[CH-1]`, re-present",
            GateAction::Revise,
            &[],
        ),
        (5, "undo step, back to Phase 2", GateAction::Rollback, &[]),
    ];
    for (at, description, action, targets) in cases {
        let (got, got_targets, diagnostics) = read_at(*at, description);
        assert_eq!(
            (got, &got_targets[..]),
            (*action, *targets),
            "{description:?} at phase {at}"
        );
        assert!(
            diagnostics.is_empty(),
            "{description:?}: {}",
            listing(&diagnostics)
        );
    }
}

#[test]
fn an_approving_label_never_sends_back() {
    let (action, targets, _) = read_at(3, "consistent with Phase 1, proceed");
    assert_eq!((action, targets), (GateAction::SendBack, vec![1]));
    let (wf, _) = chain(
        6,
        3,
        "- **Approved with notes** → consistent with Phase 1, proceed\n",
    );
    let option = &gate_options(&wf, 3)[1];
    assert_eq!(
        (option.action, option.targets.len()),
        (GateAction::Proceed, 0)
    );
}

#[test]
fn a_phase_that_is_not_earlier_or_does_not_exist_is_an_error_at_the_option() {
    let (_, _, diagnostics) = read_at(3, "back to Phase 9, then re-present");
    assert_eq!(diagnostics.len(), 1, "{}", listing(&diagnostics));
    assert_eq!(
        diagnostics[0].message,
        "option 'Label' sends the work back to Phase 9, and the workflow has no phase 9"
    );
    assert!(diagnostics[0].is_error());
    let (_, _, diagnostics) = read_at(3, "revise Phase 5, then re-present at Phase 3");
    assert_eq!(diagnostics.len(), 1, "{}", listing(&diagnostics));
    assert!(
        diagnostics[0]
            .message
            .contains("sends the work back to Phase 5, which comes after this gate's phase 3"),
        "{}",
        diagnostics[0]
    );
    // The error is at the option's own line.
    let (wf, _) = chain(6, 3, "- **Label** → back to Phase 9\n");
    assert_eq!(diagnostics[0].line, gate_options(&wf, 3)[1].line);
}

#[test]
fn re_presenting_elsewhere_than_the_gate_is_a_warning() {
    let (action, targets, diagnostics) = read_at(4, "back to Phase 2, then re-present at Phase 3");
    assert_eq!((action, targets), (GateAction::SendBack, vec![2]));
    assert_eq!(diagnostics.len(), 1, "{}", listing(&diagnostics));
    assert_eq!(diagnostics[0].severity, Severity::Warning);
    assert!(diagnostics[0]
        .message
        .contains("comes back to this gate, in phase 4"));
}

/// A plan, a per-step phase and a check whose gate ends in `OPTION`, a
/// line each test fills with the option it needs.
const STEPS: &str = include_str!("../testdata/steps-workflow.md");

#[test]
fn sending_back_to_a_plan_that_was_carried_out_is_refused() {
    let text = STEPS.replace("OPTION", "- **Replan** → back to Phase 1, then re-present");
    let (wf, diagnostics) = parse(&text);
    assert_eq!(diagnostics.len(), 1, "{}", listing(&diagnostics));
    assert!(
        diagnostics[0]
            .message
            .contains("would redraft [ST-1], the plan phase 2 has carried out step by step"),
        "{}",
        diagnostics[0]
    );
    assert_eq!(wf.send_back_blocker(0, 2), Some((1, "ST-1".to_string())));
    // Going back to the steps themselves is allowed: they are redrafted
    // from their evidence.
    let text = STEPS.replace("OPTION", "- **Recheck steps** → return to Phase 2");
    let (wf, diagnostics) = parse(&text);
    assert!(diagnostics.is_empty(), "{}", listing(&diagnostics));
    assert_eq!(wf.send_back_blocker(1, 2), None);
    assert_eq!(wf.dependents(1), [2]);
}

#[test]
fn dependents_are_transitive_and_leave_the_others_out() {
    // INC-2 takes INC-1, INC-3 takes INC-2, INC-4 takes INC-1 and INC-3.
    let (wf, _) = parse(WRAPPED_60);
    assert_eq!(wf.dependents(0), [1, 2, 3]);
    assert_eq!(wf.dependents(1), [2, 3]);
    assert_eq!(wf.dependents(2), [3]);
    assert_eq!(wf.dependents(3), Vec::<usize>::new());
    let text = WRAPPED_60.replace(
        "- `[INC-1]: Timeline`\n- `[INC-3]: Actions`",
        "- `[INC-1]: Timeline`",
    );
    let (wf, _) = parse(&text);
    assert_eq!(wf.dependents(1), [2], "phase 4 no longer reads the actions");
}

#[test]
fn each_option_says_what_it_does() {
    let (wf, _) = parse(WRAPPED_60);
    let effects: Vec<String> = wf
        .phases
        .iter()
        .skip(2)
        .take(1)
        .flat_map(|p| {
            let wf = &wf;
            p.gate
                .as_ref()
                .unwrap()
                .options
                .iter()
                .map(move |o| wf.option_effect(p, o))
        })
        .collect();
    assert_eq!(
        effects,
        [
            "proceed",
            "send back to Phase 2: Root Cause, redraft what depends on it, then re-present Phase 3",
            "send back to Phase 1 or 2 (choice of Phase 1: Timeline, Phase 2: Root Cause), redraft what depends on it, then re-present Phase 3",
        ]
    );
    let revise = &wf.phases[0].gate.as_ref().unwrap().options[1];
    assert_eq!(
        wf.option_effect(&wf.phases[0], revise),
        "revise this artifact"
    );
}
