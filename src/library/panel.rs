//! Panel and round-table files: a moderator and participants, each a link
//! to a persona file relative to the panel file.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{normalize_rel, LibraryFile, Origin};
use crate::workflow::Diagnostic;

/// A member of a panel: a persona and what it is asked to focus on.
#[derive(Debug, Clone)]
pub struct PanelMember {
    pub name: String,
    pub focus: String,
    /// Library-relative path of the persona file.
    pub path: String,
    pub line: usize,
}

/// A panel (or round table) file: a moderator and its participants, each a
/// link to a persona file relative to the panel file.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub description: String,
    pub moderator: Option<PanelMember>,
    pub participants: Vec<PanelMember>,
    pub origin: Origin,
}

// The patterns below are literals: `expect` cannot fire once the parser
// tests have compiled them.
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-*]\s+\[([^\]]+)\]\(([^)\s]+)\)\s*(?:[—:-]+\s*(.*))?$").expect("static regex")
});

/// Reads a panel file's members. Problems are returned as diagnostics
/// located in the panel file.
pub fn parse_panel(file: &LibraryFile) -> (Panel, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let path = file.origin.as_path();
    let base = Path::new(&file.rel)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut panel = Panel {
        title: String::new(),
        description: String::new(),
        moderator: None,
        participants: Vec::new(),
        origin: file.origin.clone(),
    };
    let mut section = String::new();
    let mut description = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let no = i + 1;
        let t = line.trim();
        if let Some(title) = t.strip_prefix("# ") {
            panel.title = title.trim_start_matches("Panel:").trim().to_string();
            continue;
        }
        if let Some(h) = t.strip_prefix("## ") {
            section = h.trim().to_lowercase();
            continue;
        }
        let Some(caps) = LINK.captures(t) else {
            if section.is_empty() || section.starts_with("how") {
                description.push(line);
            }
            continue;
        };
        let target = base.join(&caps[2]);
        let rel = match normalize_rel(&target.to_string_lossy()) {
            Ok(rel) => rel,
            Err(e) => {
                diagnostics.push(Diagnostic::error(path.clone(), no, e.to_string()));
                continue;
            }
        };
        let member = PanelMember {
            name: caps[1].trim().to_string(),
            focus: caps.get(3).map_or("", |m| m.as_str()).trim().to_string(),
            path: rel,
            line: no,
        };
        if section.starts_with("moderator") {
            if panel.moderator.is_some() {
                diagnostics.push(Diagnostic::error(
                    path.clone(),
                    no,
                    "a panel has one moderator; this is a second one",
                ));
            }
            panel.moderator = Some(member);
        } else if section.starts_with("participant") {
            panel.participants.push(member);
        }
    }
    panel.description = description.join("\n").trim().to_string();
    if panel.participants.is_empty() {
        diagnostics.push(Diagnostic::error(path.clone(), 1, "the panel lists no participants: add '## Participants' with '- [Name](persona.md) — focus' lines"));
    }
    if panel.moderator.is_none() {
        diagnostics.push(Diagnostic::error(
            path,
            1,
            "the panel has no moderator: add '## Moderator' with a '- [Name](persona.md)' line",
        ));
    }
    (panel, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_links_resolve_relative_to_the_panel_file() {
        let file = LibraryFile {
            rel: "personas/panels/review.md".into(),
            origin: Origin::Builtin("personas/panels/review.md".into()),
            text: "# Panel: Review\n\nWhy.\n\n## Moderator\n- [Mod](moderator.md) — consolidates\n\n## Participants\n- [SRE](../operations/sre.md) — ops\n".into(),
        };
        let (panel, diags) = parse_panel(&file);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            panel.moderator.unwrap().path,
            "personas/panels/moderator.md"
        );
        assert_eq!(panel.participants[0].path, "personas/operations/sre.md");
        assert_eq!(panel.participants[0].focus, "ops");
    }
}
