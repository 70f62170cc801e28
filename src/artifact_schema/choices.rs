//! Narrowing a template's choices. A step recorded without proof must not be
//! able to claim success, so the template it is drafted in offers no
//! success value to pick: the schema, the rendering and the checks all come
//! from the narrowed template and agree.

use super::text::{alternatives, PLACEHOLDER};

/// `template` with every `<A / B — details>` choice stripped of the values
/// in `remove` (compared case-insensitively). A choice that loses a value
/// gains `add`, unless it already offers it, so it stays a choice.
pub fn without_choices(template: &str, remove: &[String], add: &str) -> String {
    let removed = |v: &str| remove.iter().any(|r| r.eq_ignore_ascii_case(v.trim()));
    PLACEHOLDER
        .replace_all(template, |caps: &regex::Captures<'_>| {
            let whole = &caps[0];
            let inner = &whole[1..whole.len() - 1];
            let Some(alt) = alternatives(inner) else {
                return whole.to_string();
            };
            if !alt.values.iter().any(|v| removed(v)) {
                return whole.to_string();
            }
            let mut values: Vec<String> = alt.values.into_iter().filter(|v| !removed(v)).collect();
            if !values.iter().any(|v| v.eq_ignore_ascii_case(add)) {
                values.push(add.to_string());
            }
            let detail = alt.detail.map_or(String::new(), |d| format!(" — {d}"));
            format!("<{}{detail}>", values.join(" / "))
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["Pass", "Met", "Complete", "Migration successful"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn success_values_leave_and_unverified_joins() {
        let t = "## Pre-conditions\n<Met / Not met — details>\n\n## Verification Result\n<Pass / Fail — details>\n\n## Status\n<Complete / Rolled back — reason>\n\n## Verdict\n<Migration successful / Issues found>\n\n## Risk\n<Low / Medium / High>\n\n## Notes\n<What was done>\n";
        let out = without_choices(t, &words(), "Unverified");
        assert_eq!(
            out,
            "## Pre-conditions\n<Not met / Unverified — details>\n\n## Verification Result\n<Fail / Unverified — details>\n\n## Status\n<Rolled back / Unverified — reason>\n\n## Verdict\n<Issues found / Unverified>\n\n## Risk\n<Low / Medium / High>\n\n## Notes\n<What was done>\n"
        );
    }

    #[test]
    fn a_choice_that_already_offers_unverified_keeps_one() {
        let out = without_choices("<PASS / Unverified / Fail>", &words(), "Unverified");
        assert_eq!(out, "<Unverified / Fail>");
        // Lower-case words are not a choice (`<likelihood / impact>`), so
        // they are left as written.
        let prose = "<pass / unverified>";
        assert_eq!(without_choices(prose, &words(), "Unverified"), prose);
    }
}
