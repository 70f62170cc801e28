//! Panel and round-table files as people write them: a title, sections of
//! instructions, a list of participants and perhaps a moderator.
//!
//! **Participants.** A list item in a section whose heading names the
//! participants and nothing else (Participants, Panel Members, Panelists,
//! Roster) is a member, in any of these forms, with `-`, `–`, `—` or `:`
//! before the focus:
//!
//! - `- **[Name](path.md)** - focus` (a bold link);
//! - `- [Name](path.md) — focus` (a link);
//! - `- **Name** - focus` (a name without a link, resolved by name; see
//!   [`super::members`]).
//!
//! A plain item (`- Name - focus`) is a member when its name is short (at
//! most six words) and a separator follows it; another item is read as an
//! instruction to the participants, with a warning. Indented items below a
//! member add to its focus. A link is relative to the panel file.
//!
//! **The moderator.** A bold or linked item under a heading that names the
//! moderator and nothing else (Moderator, Facilitator, Chair); else one of
//! the participants (see [`super::members`]); else the built-in moderator.
//! A panel without one is not an error.
//!
//! **Instructions.** Every other section is an instruction to the
//! participants, the moderator, or both, by its heading, matched by the
//! start of its words, ignoring case and emphasis, first rule first. A
//! `###` section inside a `##` one is matched on its own and otherwise
//! follows its parent:
//!
//! | heading words                                        | goes to      |
//! |------------------------------------------------------|--------------|
//! | output/format/report/template/deliverable with consolidated, final, synthesis, summary, moderator, combined, overall, verdict | moderator |
//! | output/format/report/template/deliverable with participant, individual, each, member, finding, perspective, reviewer, per, response | participants |
//! | output/format/report/template/deliverable otherwise (the panel's output) | moderator |
//! | a bare "Format" (a round table's session format as often as an output) | both |
//! | conflict, disagreement, dissent, tie-break, escalation, consensus, resolution, consolidation, synthesis, verdict, moderator, facilitator | moderator |
//! | participant, member, panelist (e.g. "Participant etiquette") | participants |
//! | purpose, goal, objective, overview, context, scope, why, when, about | both |
//! | process, how, procedure, protocol, rounds, steps, agenda, method, discussion, review, inputs, constraints, rules, guidelines, principles, boundaries, limits, guardrails, norms | participants |
//! | anything else                                        | both         |
//!
//! The text before the first `##` section (after the title) is the
//! description, which both get. Sections are cut with
//! [`crate::markdown::Outline`], so a heading inside a code fence is text.

mod entry;
mod heading;

use entry::{list_item, parse_entry};
use heading::{classify, is_bare_format, is_purpose, Class};

use super::{normalize_rel, rel_dir, LibraryFile, Origin};
use crate::markdown::{strip_emphasis, Outline};
use crate::workflow::Diagnostic;

/// Who a section of a panel file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Participants,
    Moderator,
    Both,
}

/// A member line as written: a name, a focus and, when linked, the
/// library-relative path of the persona file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelEntry {
    pub name: String,
    pub focus: String,
    /// The link, relative to the library (resolved against the panel file's
    /// folder); `None` for a member named without a link.
    pub link: Option<String>,
    pub line: usize,
}

/// A panel (or round table) file as written, before its members are
/// resolved against the library ([`super::read_panel`] does that).
#[derive(Debug, Clone)]
pub struct PanelFile {
    pub title: String,
    pub description: String,
    /// The description and any purpose or rules section (`## Purpose`,
    /// `## Scope`, `## Constraints`, ...): what every member is told the
    /// panel is for and the limits it sets them.
    pub purpose: String,
    pub participants: Vec<PanelEntry>,
    /// The member of a `## Moderator` section.
    pub moderator: Option<PanelEntry>,
    /// Sections for the participants, verbatim with their headings.
    pub participant_instructions: String,
    /// Sections for the moderator, verbatim with their headings.
    pub moderator_instructions: String,
    /// The sections that tell participants how to write their findings,
    /// verbatim with their headings; empty when none does. Members are
    /// given this and the description, not every participants' section.
    pub participant_format: String,
    pub origin: Origin,
}

/// A resolved member: the persona file it speaks as.
#[derive(Debug, Clone)]
pub struct PanelMember {
    pub name: String,
    pub focus: String,
    /// Library-relative path of the persona file found.
    pub path: String,
    pub line: usize,
    pub origin: Origin,
    /// The linked path, when the file was found elsewhere (it moved).
    pub moved_from: Option<String>,
    /// Whether it was found by its name rather than a link.
    pub by_name: bool,
}

/// A panel with its members resolved; see [`super::read_panel`].
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub description: String,
    /// See [`PanelFile::purpose`].
    pub purpose: String,
    pub participants: Vec<PanelMember>,
    pub moderator: super::Moderator,
    pub participant_instructions: String,
    pub moderator_instructions: String,
    /// See [`PanelFile::participant_format`].
    pub participant_format: String,
    pub origin: Origin,
}

/// Reads a panel file's title, members and instructions. Problems are
/// returned as diagnostics located in the panel file.
pub fn parse_panel(file: &LibraryFile) -> (PanelFile, Vec<Diagnostic>) {
    let mut reader = Reader {
        file,
        outline: Outline::new(&file.text),
        diagnostics: Vec::new(),
        participants: Vec::new(),
        moderators: Vec::new(),
        for_participants: Vec::new(),
        for_moderator: Vec::new(),
        participant_format: Vec::new(),
    };
    let outline = &reader.outline;
    let n = outline.len();
    let title_line = (0..n).find(|i| outline.level(*i) == Some(1));
    let title = title_line
        .and_then(|i| outline.heading(i))
        .map(|(_, t)| {
            let t = strip_emphasis(t);
            let lower = t.to_lowercase();
            ["panel:", "round table:", "roundtable:", "round-table:"]
                .iter()
                .find_map(|p| {
                    lower
                        .starts_with(p)
                        .then(|| t[p.len()..].trim().to_string())
                })
                .unwrap_or(t)
        })
        .unwrap_or_default();
    let (intro_end, sections) = outline.split(0, n, |level, _| level == 2);
    let description = outline
        .lines(0, intro_end)
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != title_line)
        .map(|(_, l)| *l)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    let mut purpose = vec![description.clone()];
    for (h, end) in sections {
        let heading = reader.outline.heading(h).map_or("", |(_, t)| t);
        let class = classify(heading, None);
        if is_purpose(heading) {
            purpose.push(reader.outline.lines(h, end).join("\n").trim().to_string());
        }
        if is_bare_format(heading) {
            let lines = reader.outline.lines(h, end).to_vec();
            reader.participant_format.extend(lines);
            reader.participant_format.push("");
        }
        match class {
            Class::Instructions(..) => {
                let (sub_intro, subs) = reader.outline.split(h + 1, end, |level, _| level == 3);
                reader.take(h, sub_intro, class);
                for (sh, send) in subs {
                    let sub = reader.outline.heading(sh).map_or("", |(_, t)| t);
                    if !is_purpose(heading) && is_purpose(sub) {
                        purpose.push(reader.outline.lines(sh, send).join("\n").trim().to_string());
                    }
                    reader.take(sh, send, classify(sub, Some(class)));
                }
            }
            _ => reader.take(h, end, class),
        }
    }
    let path = file.origin.as_path();
    let mut diagnostics = reader.diagnostics;
    let mut moderators = reader.moderators.into_iter();
    let moderator = moderators.next();
    for extra in moderators {
        diagnostics.push(Diagnostic::error(
            path.clone(),
            extra.line,
            "a panel has one moderator; this is a second one",
        ));
    }
    if reader.participants.is_empty() {
        diagnostics.push(Diagnostic::error(
            path,
            1,
            "the panel lists no participants: add '## Participants' with '- **[Name](persona.md)** - focus' or '- **Name** - focus' lines",
        ));
    }
    purpose.retain(|p| !p.is_empty());
    let panel = PanelFile {
        title,
        description,
        purpose: purpose.join("\n\n"),
        participants: reader.participants,
        moderator,
        participant_instructions: reader.for_participants.join("\n").trim().to_string(),
        moderator_instructions: reader.for_moderator.join("\n").trim().to_string(),
        participant_format: reader.participant_format.join("\n").trim().to_string(),
        origin: file.origin.clone(),
    };
    (panel, diagnostics)
}

/// The state of one pass over a panel file's sections.
struct Reader<'a> {
    file: &'a LibraryFile,
    outline: Outline<'a>,
    diagnostics: Vec<Diagnostic>,
    participants: Vec<PanelEntry>,
    moderators: Vec<PanelEntry>,
    for_participants: Vec<&'a str>,
    for_moderator: Vec<&'a str>,
    participant_format: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    /// Takes lines `start..end` (a heading and its body) as `class` says.
    fn take(&mut self, start: usize, end: usize, class: Class) {
        let lines: Vec<&'a str> = self.outline.lines(start, end).to_vec();
        match class {
            Class::Instructions(audience, output) => {
                if output && audience == Audience::Participants {
                    self.participant_format.extend(lines.iter().copied());
                    self.participant_format.push("");
                }
                if audience != Audience::Moderator {
                    self.for_participants.extend(lines.iter().copied());
                    self.for_participants.push("");
                }
                if audience != Audience::Participants {
                    self.for_moderator.extend(lines.iter().copied());
                    self.for_moderator.push("");
                }
            }
            Class::Members | Class::ModeratorMembers => {
                let moderator = class == Class::ModeratorMembers;
                let mut current: Option<PanelEntry> = None;
                for (k, line) in lines.iter().enumerate().skip(1) {
                    let no = start + k + 1;
                    let indented = line.starts_with("  ") || line.starts_with('\t');
                    let fenced = self.outline.is_fenced(start + k);
                    match (list_item(line), indented, fenced) {
                        (Some(item), false, false) => {
                            self.push(current.take(), moderator);
                            current = self.entry(item, no, moderator);
                            if current.is_none() {
                                self.instruction(line, moderator);
                            }
                        }
                        (_, true, false) if current.is_some() && !line.trim().is_empty() => {
                            if let Some(entry) = current.as_mut() {
                                let more = list_item(line).unwrap_or(line).trim();
                                if !entry.focus.is_empty() {
                                    entry.focus.push_str("; ");
                                }
                                entry.focus.push_str(more);
                            }
                        }
                        _ => {
                            if self.outline.heading(start + k).is_none() {
                                self.instruction(line, moderator);
                            }
                        }
                    }
                }
                self.push(current, moderator);
            }
        }
    }

    fn instruction(&mut self, line: &'a str, moderator: bool) {
        if moderator {
            self.for_moderator.push(line);
        } else {
            self.for_participants.push(line);
        }
    }

    fn push(&mut self, entry: Option<PanelEntry>, moderator: bool) {
        if let Some(entry) = entry {
            if moderator {
                self.moderators.push(entry);
            } else {
                self.participants.push(entry);
            }
        }
    }

    /// A member from a list item at line `no`, or `None` (with a warning
    /// for an item that looked like one) when the item is an instruction.
    fn entry(&mut self, item: &str, no: usize, moderator: bool) -> Option<PanelEntry> {
        let path = self.file.origin.as_path();
        let raw = match parse_entry(item) {
            // A moderator section's plain items are instructions to the
            // moderator ("- Keep time: ten minutes a round").
            Some(raw) if raw.marked || (!moderator && raw.name.split_whitespace().count() <= 6) => {
                raw
            }
            _ => {
                // A moderator section's prose item is an instruction for the
                // moderator; nothing to warn about.
                if !moderator {
                    self.diagnostics.push(Diagnostic::warning(
                        path,
                        no,
                        "this item is read as an instruction to the participants, not a participant: write a participant as '- **Name** - focus' or '- **[Name](persona.md)** - focus'",
                    ));
                }
                return None;
            }
        };
        if raw.name.is_empty() {
            self.diagnostics.push(Diagnostic::error(
                path,
                no,
                "a panel member needs a name: '- **[Name](persona.md)** - focus'",
            ));
            return None;
        }
        let link = match raw.target {
            None => None,
            Some(target) => {
                let is_url = target.contains("://") || target.starts_with("mailto:");
                let joined = format!("{}/{}", rel_dir(&self.file.rel), target);
                let target_path = joined.split('#').next().unwrap_or("");
                match normalize_rel(target_path) {
                    Ok(rel) if !is_url => Some(rel),
                    _ => {
                        self.diagnostics.push(Diagnostic::error(
                            path,
                            no,
                            format!(
                                "panel member '{}' links to '{target}', which is not a file of the library: link a persona file relative to this panel file",
                                raw.name
                            ),
                        ));
                        return None;
                    }
                }
            }
        };
        Some(PanelEntry {
            name: raw.name,
            focus: raw.focus,
            link,
            line: no,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, text: &str) -> LibraryFile {
        LibraryFile {
            rel: rel.into(),
            origin: Origin::Builtin(rel.into()),
            text: text.into(),
            moved_from: None,
        }
    }

    #[test]
    fn the_seed_panel_reads_as_before() {
        let f = file(
            "personas/panels/review.md",
            "# Panel: Review\n\nWhy.\n\n## Moderator\n- [Mod](moderator.md) — consolidates\n\n## Participants\n- [SRE](../operations/sre.md) — ops\n\n## How the panel works\n\n### Inputs\n- the plan\n\n### Independent review\n1. alone\n\n### Consolidation\n5. merge\n\n### Verdict\n9. strict\n",
        );
        let (panel, diags) = parse_panel(&f);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(panel.title, "Review");
        assert_eq!(panel.description, "Why.");
        let m = panel.moderator.unwrap();
        assert_eq!(m.link.as_deref(), Some("personas/panels/moderator.md"));
        assert_eq!(m.line, 6);
        assert_eq!(
            panel.participants[0].link.as_deref(),
            Some("personas/operations/sre.md")
        );
        assert_eq!(panel.participants[0].focus, "ops");
        assert!(panel.participant_instructions.contains("1. alone"));
        assert!(panel.participant_instructions.contains("- the plan"));
        assert!(!panel.participant_instructions.contains("merge"));
        assert!(panel.moderator_instructions.contains("5. merge"));
        assert!(panel.moderator_instructions.contains("9. strict"));
        assert!(!panel.moderator_instructions.contains("alone"));
    }

    #[test]
    fn sections_go_to_participants_or_the_moderator_by_their_heading() {
        let f = file(
            "personas/panels/api.md",
            "# Panel: API Review\n\n## Purpose\nPURPOSE\n\n## Participants\n- **[Designer](../eng/designer.md)** - contracts\n  - versioning too\n- **Skeptic** - doubts\n\n## Process\nPROCESS\n\n## Output Format\n\n### Per-Participant Output\nEACH-FORMAT\n\n### Consolidated Output\nCONSOLIDATED-FORMAT\n\n## Constraints\nCONSTRAINTS\n\n## Conflict Resolution\nCONFLICTS\n\n## Notes for authors\nOTHER\n",
        );
        let (panel, diags) = parse_panel(&f);
        assert!(diags.is_empty(), "{diags:?}");
        let p = &panel.participant_instructions;
        let m = &panel.moderator_instructions;
        for want in [
            "PURPOSE",
            "PROCESS",
            "EACH-FORMAT",
            "CONSTRAINTS",
            "OTHER",
            "## Process",
        ] {
            assert!(p.contains(want), "participants lack {want}:\n{p}");
        }
        for want in ["PURPOSE", "CONSOLIDATED-FORMAT", "CONFLICTS", "OTHER"] {
            assert!(m.contains(want), "moderator lacks {want}:\n{m}");
        }
        for never in ["CONSOLIDATED-FORMAT", "CONFLICTS"] {
            assert!(!p.contains(never), "participants got {never}");
        }
        for never in ["PROCESS", "EACH-FORMAT", "CONSTRAINTS"] {
            assert!(!m.contains(never), "moderator got {never}");
        }
        assert_eq!(
            panel.purpose,
            "## Purpose\nPURPOSE\n\n## Constraints\nCONSTRAINTS"
        );
        // Members get the findings format alone, not the process.
        assert!(
            panel.participant_format.contains("EACH-FORMAT"),
            "{}",
            panel.participant_format
        );
        for never in ["PROCESS", "PURPOSE", "CONSOLIDATED-FORMAT"] {
            assert!(
                !panel.participant_format.contains(never),
                "format got {never}"
            );
        }
        assert_eq!(panel.participants.len(), 2);
        assert_eq!(panel.participants[0].focus, "contracts; versioning too");
        assert_eq!(
            panel.participants[0].link.as_deref(),
            Some("personas/eng/designer.md")
        );
        assert_eq!(panel.participants[1].link, None);
        assert_eq!(panel.participants[1].line, 9);
        assert!(panel.moderator.is_none());
    }

    #[test]
    fn a_panel_without_a_moderator_or_with_two_and_prose_items() {
        let f = file(
            "personas/panels/x.md",
            "# Round Table: Decisions\n\n## Participants\n- **Architect** - structure\n- Everyone speaks once per round and keeps to five minutes of talking\n",
        );
        let (panel, diags) = parse_panel(&f);
        assert_eq!(panel.title, "Decisions");
        assert_eq!(panel.participants.len(), 1);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(!diags[0].is_error() && diags[0].line == 5, "{diags:?}");
        assert!(panel.participant_instructions.contains("Everyone speaks"));

        let f = file(
            "personas/panels/x.md",
            "# Panel: X\n## Moderator\n- **[Lead](lead.md)** - chairs\n- Keep time: ten minutes a round\n## Participants\n- **A** - a\n",
        );
        let (panel, diags) = parse_panel(&f);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(panel.moderator.unwrap().name, "Lead");
        assert!(panel.moderator_instructions.contains("Keep time"));
        assert!(!panel.participant_instructions.contains("Keep time"));

        let f = file(
            "personas/panels/x.md",
            "# Panel: X\n## Moderator\n- [A](a.md)\n- [B](b.md)\n## Participants\n- [C](https://example.com/c.md) - web\n- [D](../../../d.md) - escapes\n",
        );
        let (_, diags) = parse_panel(&f);
        let mut lines: Vec<(usize, bool)> = diags.iter().map(|d| (d.line, d.is_error())).collect();
        lines.sort();
        assert_eq!(
            lines,
            [(1, true), (4, true), (6, true), (7, true)],
            "{diags:?}"
        );
    }
}
