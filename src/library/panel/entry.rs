//! One member line of a panel file, as written: its name, link and focus
//! (the forms are listed in [`super`]).

use crate::markdown::strip_emphasis;

/// A member line's parts as written: name, link target, focus.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RawEntry {
    pub(super) name: String,
    pub(super) target: Option<String>,
    pub(super) focus: String,
    /// Bold or linked: certainly a member, whatever its length.
    pub(super) marked: bool,
}

/// The text of a list item (`- x`, `* x`, `+ x`, `1. x`, `1) x`).
pub(super) fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if let Some(rest) = t
        .strip_prefix("- ")
        .or_else(|| t.strip_prefix("* "))
        .or_else(|| t.strip_prefix("+ "))
    {
        return Some(rest);
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let rest = &t[digits..];
    (digits > 0)
        .then(|| rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")))
        .flatten()
}

const SEPARATORS: [char; 4] = ['-', '–', '—', ':'];

/// The focus after a name: separators and spaces dropped from its start.
fn focus_of(rest: &str) -> String {
    rest.trim_start_matches(|c: char| c.is_whitespace() || SEPARATORS.contains(&c) || c == '*')
        .trim()
        .to_string()
}

pub(super) fn parse_entry(item: &str) -> Option<RawEntry> {
    let item = item.trim();
    let (bold, rest) = match item.strip_prefix("**").or_else(|| item.strip_prefix("__")) {
        Some(rest) => (true, rest),
        None => (false, item),
    };
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find("](")?;
        let name = &after[..close];
        let target_and_rest = &after[close + 2..];
        let end = target_and_rest.find(')')?;
        let inside = target_and_rest[..end].trim();
        // `<path with spaces.md>`, else the path up to an optional title.
        let target = match inside.strip_prefix('<').and_then(|t| t.split_once('>')) {
            Some((path, _)) => path,
            None => inside.split_whitespace().next().unwrap_or(""),
        };
        let mut rest = &target_and_rest[end + 1..];
        if bold {
            rest = rest
                .strip_prefix("**")
                .or_else(|| rest.strip_prefix("__"))
                .unwrap_or(rest);
        }
        return Some(RawEntry {
            name: clean_name(name),
            target: Some(target.to_string()),
            focus: focus_of(rest),
            marked: true,
        });
    }
    if bold {
        let end = rest.find("**").or_else(|| rest.find("__"))?;
        return Some(RawEntry {
            name: clean_name(&rest[..end]),
            target: None,
            focus: focus_of(&rest[end + 2..]),
            marked: true,
        });
    }
    // A plain item: the name ends at the first separator set off by
    // spaces, or at a colon.
    let cut = [" - ", " – ", " — ", ": "]
        .iter()
        .filter_map(|sep| rest.find(sep))
        .min()?;
    Some(RawEntry {
        name: clean_name(&rest[..cut]),
        target: None,
        focus: focus_of(&rest[cut..]),
        marked: false,
    })
}

fn clean_name(name: &str) -> String {
    strip_emphasis(name)
        .trim_end_matches(|c: char| c == ':' || c.is_whitespace())
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(item: &str) -> RawEntry {
        parse_entry(item).unwrap_or_else(|| panic!("no entry in {item}"))
    }

    #[test]
    fn every_participant_form_is_read() {
        let cases = [
            (
                "**[API Designer](../eng/api.md)** - contracts",
                "API Designer",
                Some("../eng/api.md"),
                "contracts",
            ),
            (
                "[SRE](../ops/sre.md) — operability",
                "SRE",
                Some("../ops/sre.md"),
                "operability",
            ),
            (
                "[SRE](../ops/sre.md) – en dash",
                "SRE",
                Some("../ops/sre.md"),
                "en dash",
            ),
            (
                "[SRE](../ops/sre.md): colon",
                "SRE",
                Some("../ops/sre.md"),
                "colon",
            ),
            (
                "**Skeptic** - challenges assumptions",
                "Skeptic",
                None,
                "challenges assumptions",
            ),
            ("**Skeptic:** challenges", "Skeptic", None, "challenges"),
            ("**Skeptic**: challenges", "Skeptic", None, "challenges"),
            (
                "[**Bold inside**](x.md) - f",
                "Bold inside",
                Some("x.md"),
                "f",
            ),
            ("**[No focus](x.md)**", "No focus", Some("x.md"), ""),
            (
                "Data Engineer - pipelines",
                "Data Engineer",
                None,
                "pipelines",
            ),
            (
                "Data Engineer: pipelines - and more",
                "Data Engineer",
                None,
                "pipelines - and more",
            ),
            (
                "[Titled](<x y.md> \"title\") - f",
                "Titled",
                Some("x y.md"),
                "f",
            ),
            ("[T](x.md \"title\") - f", "T", Some("x.md"), "f"),
        ];
        for (item, name, target, focus) in cases {
            let e = entry(item);
            assert_eq!(e.name, name, "{item}");
            assert_eq!(e.target.as_deref(), target, "{item}");
            assert_eq!(e.focus, focus, "{item}");
        }
        assert_eq!(parse_entry("Just prose without a separator"), None);
        assert_eq!(list_item("1. **X** - y"), Some("**X** - y"));
        assert_eq!(list_item("* x"), Some("x"));
        assert_eq!(list_item("text"), None);
    }
}
