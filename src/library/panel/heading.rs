//! Which part of a panel file a heading starts: the members, the
//! moderator, or instructions for whom (the table is in [`super`]).

use crate::markdown::strip_emphasis;

use super::Audience;

/// What a section of the panel file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Members,
    ModeratorMembers,
    /// Instructions for an audience; `true` when they describe an output
    /// format (so `###` sections inside may name whose).
    Instructions(Audience, bool),
}

fn words(heading: &str) -> Vec<String> {
    strip_emphasis(heading)
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn any(words: &[String], prefixes: &[&str]) -> bool {
    words
        .iter()
        .any(|w| prefixes.iter().any(|p| w.starts_with(p)))
}

/// Words a heading naming the members may carry besides the role itself.
const FILLER: [&str; 14] = [
    "the", "panel", "and", "roles", "role", "round", "table", "of", "our", "who", "list", "core",
    "voices", "s",
];
const MEMBER_WORDS: [&str; 6] = [
    "participant",
    "member",
    "panelist",
    "roster",
    "attendee",
    "seat",
];
const MODERATOR_WORDS: [&str; 3] = ["moderat", "facilitat", "chair"];
/// Words of a heading that says what the panel is for.
const PURPOSE_WORDS: [&str; 9] = [
    "purpose",
    "goal",
    "objective",
    "overview",
    "context",
    "scope",
    "why",
    "when",
    "about",
];

/// Whether a heading is a bare "Format": a round table's session format as
/// often as an output format, which its members need either way.
pub(super) fn is_bare_format(heading: &str) -> bool {
    words(heading) == ["format"]
}

/// Words of a heading that sets members limits.
const RULE_WORDS: [&str; 6] = [
    "constraint",
    "rule",
    "guardrail",
    "boundar",
    "limit",
    "norm",
];

/// Whether a heading introduces the panel's purpose or the limits it sets
/// its members, which every member is given with the description: members
/// get what the panel is for, its rules and their own focus, not its
/// process or the moderator's part.
pub(super) fn is_purpose(heading: &str) -> bool {
    let w = words(heading);
    match classify(heading, None) {
        Class::Instructions(Audience::Both, false) => {
            any(&w, &PURPOSE_WORDS) || any(&w, &RULE_WORDS)
        }
        Class::Instructions(Audience::Participants, false) => any(&w, &RULE_WORDS),
        _ => false,
    }
}

/// What a section headed `heading` holds; `parent` is the class of the
/// `##` section a `###` one sits in.
pub(super) fn classify(heading: &str, parent: Option<Class>) -> Class {
    let w = words(heading);
    // "Participants", "Panel Members", "The Moderator": the heading names a
    // role and nothing else, so its list items are people. "Moderator
    // guidelines" is an instruction.
    let role_only = |role: &[&str]| {
        let rest: Vec<&String> = w.iter().filter(|x| !FILLER.contains(&x.as_str())).collect();
        !rest.is_empty() && rest.iter().all(|x| role.iter().any(|p| x.starts_with(p)))
    };
    if role_only(&MEMBER_WORDS) {
        return Class::Members;
    }
    if role_only(&MODERATOR_WORDS) {
        return Class::ModeratorMembers;
    }
    let moderator_words = [
        "consolidat",
        "final",
        "synthes",
        "summar",
        "moderat",
        "facilitat",
        "combined",
        "overall",
        "verdict",
        "aggregat",
        "joint",
    ];
    let participant_words = [
        "participant",
        "individual",
        "each",
        "member",
        "finding",
        "perspective",
        "reviewer",
        "per",
        "panelist",
        "seat",
        "role",
        "response",
        "answer",
    ];
    // A bare "Format" is a round table's session format as often as an
    // output format: it is read as unknown (both).
    let bare_format = w.len() == 1 && w[0] == "format";
    let is_output = !bare_format
        && any(
            &w,
            &["output", "format", "report", "template", "deliverable"],
        );
    let parent_output = matches!(parent, Some(Class::Instructions(_, true)));
    if is_output || parent_output {
        if any(&w, &moderator_words) {
            return Class::Instructions(Audience::Moderator, true);
        }
        if any(&w, &participant_words) {
            return Class::Instructions(Audience::Participants, true);
        }
        if let (false, Some(p)) = (is_output, parent) {
            return p;
        }
        return Class::Instructions(Audience::Moderator, true);
    }
    let audience = if any(
        &w,
        &[
            "conflict",
            "disagree",
            "dissent",
            "tie",
            "escalat",
            "consensus",
            "resolution",
            "consolidat",
            "synthes",
            "verdict",
            "moderat",
            "facilitat",
            "chair",
        ],
    ) {
        Some(Audience::Moderator)
    } else if any(&w, &["participant", "member", "panelist"]) {
        Some(Audience::Participants)
    } else if any(&w, &PURPOSE_WORDS) {
        Some(Audience::Both)
    } else if any(
        &w,
        &[
            "process",
            "how",
            "procedure",
            "protocol",
            "round",
            "step",
            "agenda",
            "method",
            "discussion",
            "review",
            "input",
            "constraint",
            "rule",
            "guideline",
            "principle",
            "boundar",
            "limit",
            "guardrail",
            "norm",
        ],
    ) {
        Some(Audience::Participants)
    } else {
        None
    };
    match (audience, parent) {
        (Some(a), _) => Class::Instructions(a, false),
        (None, Some(p @ Class::Instructions(..))) => p,
        (None, _) => Class::Instructions(Audience::Both, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_matched_loosely() {
        use Audience::*;
        let cases = [
            ("Final Synthesis Format", Moderator),
            ("**Individual findings** template", Participants),
            ("Output", Moderator),
            ("Handling disagreements", Moderator),
            ("Ground rules", Participants),
            ("GOALS", Both),
            ("Appendix", Both),
        ];
        for (heading, audience) in cases {
            match classify(heading, None) {
                Class::Instructions(a, _) => assert_eq!(a, audience, "{heading}"),
                other => panic!("{heading}: {other:?}"),
            }
        }
        assert_eq!(classify("Panel Members", None), Class::Members);
        assert_eq!(classify("Facilitator", None), Class::ModeratorMembers);
        assert_eq!(classify("The Moderator", None), Class::ModeratorMembers);
        assert_eq!(
            classify("Moderator guidelines", None),
            Class::Instructions(Moderator, false)
        );
        assert_eq!(
            classify("Participant etiquette", None),
            Class::Instructions(Participants, false)
        );
        assert_eq!(classify("Format", None), Class::Instructions(Both, false));
        // Inside an output format section, a sub-heading names whose format.
        let parent = classify("Output Format", None);
        assert_eq!(
            classify("Individual Assessment", Some(parent)),
            Class::Instructions(Participants, true)
        );
    }
}
