//! A panel's members resolved against the library: a linked member by its
//! link, a member named without a link by its name, and the moderator.
//!
//! **By name.** A name matches a persona file under `personas/` (any depth)
//! whose file stem, or whose `# Title` (without a `Persona:` prefix or a
//! parenthesised part), is the name once both are made slugs
//! (`Site Reliability Engineer` ↔ `site-reliability-engineer.md`). File
//! stems are tried before titles, and the team's folders before the
//! built-in copies; one match is the member, several or none is an error
//! listing the candidates.
//!
//! **The moderator**, the first of:
//!
//! 1. the member of a `## Moderator` section;
//! 2. a participant named Moderator or Facilitator (any name with the word);
//! 3. a participant whose persona is a facilitator: its title says
//!    Moderator or Facilitator, or the first sentence of its first
//!    paragraph says it moderates or facilitates;
//! 4. the built-in moderator, [`DEFAULT_MODERATOR`], a persona for any
//!    panel (a library may put its own at that path).
//!
//! A moderator taken from the participants consolidates and does not
//! review. A participant named Moderator without a link or a matching
//! persona file in the team's folders is the built-in moderator.

use std::io::Read;
use std::path::Path;

use super::panel::{parse_panel, Panel, PanelEntry, PanelMember};
use super::resolve::nearest;
use super::{Library, LibraryError, LibraryFile, Origin};
use crate::markdown::{headings, strip_emphasis};
use crate::workflow::Diagnostic;

/// The moderator of a panel that names none: a persona that consolidates
/// any panel's findings, overridable at this path like the assembly
/// templates.
pub const DEFAULT_MODERATOR: &str = "prompts/assembly/moderator.md";

/// How much of a persona file is read to learn its title.
const TITLE_BYTES: u64 = 4096;

/// How the moderator was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeratorChoice {
    /// The `## Moderator` section.
    Section,
    /// A participant named Moderator or Facilitator.
    Named,
    /// A participant whose persona is a facilitator.
    Facilitator,
    /// Nobody: the built-in moderator.
    Default,
}

/// Who consolidates a panel's findings.
#[derive(Debug, Clone)]
pub struct Moderator {
    pub name: String,
    /// Library-relative path of the persona.
    pub path: String,
    pub origin: Origin,
    pub choice: ModeratorChoice,
    /// The member line, when one names the moderator.
    pub line: Option<usize>,
}

impl Moderator {
    /// How the moderator was chosen, for `workflows show`.
    pub fn describe(&self) -> &'static str {
        match self.choice {
            ModeratorChoice::Section => "the panel's Moderator section",
            ModeratorChoice::Named => "the participant named as moderator or facilitator",
            ModeratorChoice::Facilitator => "a participant whose persona is a facilitator",
            ModeratorChoice::Default if self.line.is_some() => {
                "a participant named as moderator, with no persona file of that name: migagent's built-in moderator"
            }
            ModeratorChoice::Default => "migagent's built-in moderator; the panel names none",
        }
    }
}

/// Reads a panel file and resolves its members and moderator against
/// `library`. Problems are diagnostics in the panel file; a member that
/// does not resolve is left out (and is an error).
pub fn read_panel(library: &Library, file: &LibraryFile) -> (Panel, Vec<Diagnostic>) {
    let (parsed, mut diagnostics) = parse_panel(file);
    let at = file.origin.as_path();
    let mut participants: Vec<(PanelMember, String)> = Vec::new();
    let mut named_moderator: Option<(PanelEntry, Option<(PanelMember, String)>)> = None;
    for entry in &parsed.participants {
        let moderator_name = is_moderator_name(&entry.name);
        if moderator_name && named_moderator.is_none() && parsed.moderator.is_none() {
            // Resolved below, where a miss means the built-in moderator.
            let found = resolve_entry(library, entry, true, &at, &mut diagnostics);
            named_moderator = Some((entry.clone(), found));
            continue;
        }
        if let Some(found) = resolve_entry(library, entry, false, &at, &mut diagnostics) {
            participants.push(found);
        }
    }
    let mut moderator = None;
    if let Some(entry) = &parsed.moderator {
        if let Some((m, _)) = resolve_entry(library, entry, false, &at, &mut diagnostics) {
            moderator = Some(as_moderator(m, ModeratorChoice::Section));
        }
    }
    if let (None, Some((entry, found))) = (&moderator, named_moderator) {
        moderator = Some(match found {
            Some((m, _)) => as_moderator(m, ModeratorChoice::Named),
            None => Moderator {
                line: Some(entry.line),
                ..default_moderator(library)
            },
        });
    }
    if moderator.is_none() && parsed.moderator.is_none() {
        if let Some(i) = participants
            .iter()
            .position(|(_, text)| is_facilitator(text))
        {
            let (m, _) = participants.remove(i);
            moderator = Some(as_moderator(m, ModeratorChoice::Facilitator));
        }
    }
    let moderator = moderator.unwrap_or_else(|| default_moderator(library));
    if participants.is_empty() && !parsed.participants.is_empty() {
        diagnostics.push(Diagnostic::error(
            at,
            1,
            "the panel has no participant besides its moderator",
        ));
    }
    let panel = Panel {
        title: parsed.title,
        description: parsed.description,
        purpose: parsed.purpose,
        participants: participants.into_iter().map(|(m, _)| m).collect(),
        moderator,
        participant_instructions: parsed.participant_instructions,
        moderator_instructions: parsed.moderator_instructions,
        participant_format: parsed.participant_format,
        origin: parsed.origin,
    };
    (panel, diagnostics)
}

/// A panel persona's file: the built-in moderator at its exact path only
/// (a library overrides it there or not at all), any other persona as a
/// reference ([`Library::resolve`], which finds moved files).
pub fn resolve_persona(library: &Library, path: &str) -> Result<LibraryFile, LibraryError> {
    if path == DEFAULT_MODERATOR {
        library.resolve_exact(path)
    } else {
        library.resolve(path)
    }
}

fn as_moderator(m: PanelMember, choice: ModeratorChoice) -> Moderator {
    Moderator {
        name: m.name,
        path: m.path,
        origin: m.origin,
        choice,
        line: Some(m.line),
    }
}

fn default_moderator(library: &Library) -> Moderator {
    let origin = library
        .resolve_exact(DEFAULT_MODERATOR)
        .map_or_else(|_| Origin::Builtin(DEFAULT_MODERATOR.into()), |f| f.origin);
    Moderator {
        name: "Moderator".into(),
        path: DEFAULT_MODERATOR.into(),
        origin,
        choice: ModeratorChoice::Default,
        line: None,
    }
}

/// Whether a member's name makes it the moderator.
fn is_moderator_name(name: &str) -> bool {
    slug(name)
        .split('-')
        .any(|w| w == "moderator" || w == "facilitator")
}

/// Whether a persona is a facilitator: by its title, or by the first
/// sentence of its first paragraph.
pub(crate) fn is_facilitator(text: &str) -> bool {
    let says = |t: &str| {
        t.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| {
                matches!(
                    w,
                    "moderator"
                        | "moderators"
                        | "moderates"
                        | "moderating"
                        | "facilitator"
                        | "facilitators"
                        | "facilitate"
                        | "facilitates"
                        | "facilitating"
                )
            })
    };
    if headings(text)
        .iter()
        .find(|h| h.level == 1)
        .is_some_and(|h| says(&h.text))
    {
        return true;
    }
    let paragraph: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('#'))
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let paragraph = paragraph.join(" ");
    let first_sentence = paragraph.split(". ").next().unwrap_or("");
    // "moderate" alone is as often an adjective ("moderate load"); "you
    // moderate" is the verb.
    says(first_sentence) || first_sentence.to_lowercase().contains("you moderate ")
}

/// The member an entry names, with its persona's text; `None` (and an
/// error in `diagnostics`, located in the panel file `file`) when it
/// resolves to nothing. `quiet_miss`: a name-only entry found in no team
/// folder is `None` without a diagnostic (the moderator falls back to the
/// built-in one).
fn resolve_entry(
    library: &Library,
    entry: &PanelEntry,
    quiet_miss: bool,
    file: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(PanelMember, String)> {
    let at = |d: &mut Vec<Diagnostic>, message: String, error: bool| {
        d.push(if error {
            Diagnostic::error(file, entry.line, message)
        } else {
            Diagnostic::warning(file, entry.line, message)
        });
    };
    let mut local = Vec::new();
    let found = match &entry.link {
        Some(link) => match library.resolve(link) {
            Ok(file) => {
                if let Some(asked) = &file.moved_from {
                    at(
                        &mut local,
                        format!(
                            "panel member '{}': {asked} is not in the library; using {} ({}), the one file of that name",
                            entry.name, file.rel, file.origin
                        ),
                        false,
                    );
                }
                Some((file, false))
            }
            Err(e) => {
                at(
                    &mut local,
                    format!("panel member '{}': {e}", entry.name),
                    true,
                );
                None
            }
        },
        None => match by_name(library, &entry.name, quiet_miss) {
            Ok(Some(file)) => Some((file, true)),
            Ok(None) => None,
            Err(message) => {
                at(&mut local, message, true);
                None
            }
        },
    };
    diagnostics.extend(local);
    found.map(|(file, by_name)| {
        (
            PanelMember {
                name: entry.name.clone(),
                focus: entry.focus.clone(),
                path: file.rel.clone(),
                line: entry.line,
                origin: file.origin,
                moved_from: file.moved_from,
                by_name,
            },
            file.text,
        )
    })
}

/// A name as a slug: lowercase words joined by `-`, without a
/// parenthesised part or a leading "the".
pub(crate) fn slug(name: &str) -> String {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in strip_emphasis(name).chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<String> = plain
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let words = match words.first() {
        Some(w) if w == "the" && words.len() > 1 => &words[1..],
        _ => &words[..],
    };
    words.join("-")
}

/// A persona file's title, from its first `#` heading, without a
/// `Persona:` prefix; reads at most [`TITLE_BYTES`] of a file.
fn title_of(library_file: &super::IndexedFile) -> Option<String> {
    let head = match &library_file.origin {
        Origin::Builtin(rel) => super::builtin(rel)?
            .chars()
            .take(TITLE_BYTES as usize)
            .collect(),
        Origin::File(path) => {
            let mut head = String::new();
            // Opened as any named file is: never a FIFO's wait.
            let (file, _) = crate::files::open_regular(path).ok()?;
            // A file cut mid-character is read lossily: only its first
            // heading matters.
            let mut bytes = Vec::new();
            file.take(TITLE_BYTES).read_to_end(&mut bytes).ok()?;
            head.push_str(&String::from_utf8_lossy(&bytes));
            head
        }
    };
    let h = headings(&head).into_iter().find(|h| h.level == 1)?;
    let t = h.text.trim();
    let t = t
        .strip_prefix("Persona:")
        .or_else(|| t.strip_prefix("Persona -"))
        .unwrap_or(t);
    Some(t.trim().to_string())
}

/// The persona file a member named without a link speaks as; see the
/// module documentation. `Ok(None)` only with `quiet_miss`, when no team
/// folder has it.
fn by_name(library: &Library, name: &str, quiet_miss: bool) -> Result<Option<LibraryFile>, String> {
    let key = slug(name);
    let files = library.markdown_files("personas");
    let (team, builtin): (Vec<_>, Vec<_>) = files.iter().partition(|f| !f.origin.is_builtin());
    let stem = |f: &super::IndexedFile| slug(f.file_name().trim_end_matches(".md"));
    let groups: Vec<Vec<&super::IndexedFile>> = if quiet_miss {
        vec![team]
    } else {
        vec![team, builtin]
    };
    for group in &groups {
        let by_stem: Vec<&&super::IndexedFile> = group.iter().filter(|f| stem(f) == key).collect();
        let hits = if by_stem.is_empty() {
            group
                .iter()
                .filter(|f| title_of(f).is_some_and(|t| slug(&t) == key))
                .collect()
        } else {
            by_stem
        };
        match hits.as_slice() {
            [] => continue,
            [one] => {
                return library
                    .resolve_exact(&one.rel)
                    .map(Some)
                    .map_err(|e| format!("panel member '{name}': {e}"))
            }
            several => {
                return Err(format!(
                    "panel member '{name}' has no link, and several persona files match the name: {}; link the one you mean: '- **[{name}](path.md)** - focus'",
                    several.iter().map(|f| f.rel.as_str()).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
    if quiet_miss {
        return Ok(None);
    }
    let names: Vec<String> = files.iter().map(|f| f.rel.clone()).collect();
    let near = nearest(&format!("personas/{key}.md"), &names);
    Err(format!(
        "panel member '{name}' has no link, and no persona file under personas/ has that name (file name or title){}; link it: '- **[{name}](path.md)** - focus'",
        if near.is_empty() {
            String::new()
        } else {
            format!("; nearest: {}", near.join(", "))
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::library::temp_library as library;

    fn panel_file(text: &str) -> LibraryFile {
        LibraryFile {
            rel: "personas/panels/p.md".into(),
            origin: Origin::Builtin("personas/panels/p.md".into()),
            text: text.into(),
            moved_from: None,
        }
    }

    const PEOPLE: &[(&str, &str)] = &[
        ("personas/engineering/api-designer.md", "# Persona: API Designer\n\nYou design APIs.\n"),
        ("personas/quality/skeptic.md", "# Persona: The Skeptic\n\nYou doubt.\n"),
        ("personas/ops/sre.md", "# Persona: Site Reliability Engineer (SRE)\n\nYou run things.\n"),
        ("personas/facilitation/lead.md", "# Persona: Tech Lead\n\nYou are a tech lead who facilitates design reviews. You know things.\n"),
    ];

    #[test]
    fn names_resolve_by_file_name_or_title() {
        let (_dir, lib) = library(PEOPLE);
        let (panel, diags) = read_panel(
            &lib,
            &panel_file("# Round Table: R\n## Participants\n- **API Designer** - contracts\n- **Skeptic** - doubts\n- **Site Reliability Engineer** - ops\n"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        let paths: Vec<&str> = panel.participants.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "personas/engineering/api-designer.md",
                "personas/quality/skeptic.md",
                "personas/ops/sre.md"
            ]
        );
        assert!(panel.participants.iter().all(|m| m.by_name));
        assert_eq!(panel.moderator.choice, ModeratorChoice::Default);
        assert_eq!(panel.moderator.path, DEFAULT_MODERATOR);
    }

    #[test]
    fn an_ambiguous_or_unknown_name_is_an_error_listing_candidates() {
        let mut files = PEOPLE.to_vec();
        files.push((
            "personas/security/skeptic.md",
            "# Persona: Security Skeptic\n",
        ));
        let (_dir, lib) = library(&files);
        let (panel, diags) = read_panel(
            &lib,
            &panel_file("# Panel: P\n## Participants\n- **Skeptic** - doubts\n- **API Designr** - typo\n- **API Designer** - ok\n"),
        );
        assert_eq!(panel.participants.len(), 1);
        let messages: Vec<(usize, &str)> =
            diags.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0].0, 3);
        assert!(
            messages[0]
                .1
                .contains("personas/quality/skeptic.md, personas/security/skeptic.md"),
            "{messages:?}"
        );
        assert_eq!(messages[1].0, 4);
        assert!(
            messages[1]
                .1
                .contains("nearest: personas/engineering/api-designer.md"),
            "{messages:?}"
        );
        assert!(diags.iter().all(Diagnostic::is_error));
    }

    #[test]
    fn the_moderator_is_found_three_ways_or_is_the_builtin_one() {
        let (_dir, lib) = library(PEOPLE);
        // 1. A Moderator section.
        let (panel, diags) = read_panel(
            &lib,
            &panel_file("# Panel: P\n## Moderator\n- [Lead](../facilitation/lead.md)\n## Participants\n- **Skeptic** - doubts\n"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(panel.moderator.choice, ModeratorChoice::Section);
        assert_eq!(panel.moderator.path, "personas/facilitation/lead.md");
        // 2. A participant named Moderator, linked.
        let (panel, _) = read_panel(
            &lib,
            &panel_file("# Panel: P\n## Participants\n- **[Moderator](../facilitation/lead.md)** - keeps order\n- **Skeptic** - doubts\n"),
        );
        assert_eq!(panel.moderator.choice, ModeratorChoice::Named);
        assert_eq!(panel.participants.len(), 1, "the moderator does not review");
        // ... or named only, with no such persona: the built-in moderator.
        let (panel, diags) = read_panel(
            &lib,
            &panel_file("# Panel: P\n## Participants\n- **Skeptic** - doubts\n- **Moderator** - keeps order\n"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(panel.moderator.path, DEFAULT_MODERATOR);
        assert_eq!(panel.moderator.line, Some(4));
        assert_eq!(panel.participants.len(), 1);
        // 3. A participant whose persona facilitates.
        let (panel, _) = read_panel(
            &lib,
            &panel_file(
                "# Panel: P\n## Participants\n- **Tech Lead** - runs it\n- **Skeptic** - doubts\n",
            ),
        );
        assert_eq!(panel.moderator.choice, ModeratorChoice::Facilitator);
        assert_eq!(panel.moderator.name, "Tech Lead");
        assert_eq!(panel.participants[0].name, "Skeptic");
    }

    #[test]
    fn the_builtin_moderator_is_taken_by_its_exact_path_only() {
        // A file named like it elsewhere under prompts/ is not "moved" there.
        let (dir, lib) = library(&[("prompts/team/moderator.md", "# Team moderator\n")]);
        let file = resolve_persona(&lib, DEFAULT_MODERATOR).unwrap();
        assert!(file.origin.is_builtin(), "{:?}", file.origin);
        assert!(file.text.contains("# Persona: Panel Moderator"));
        // One at the exact path overrides it.
        let own = dir.path().join(DEFAULT_MODERATOR);
        std::fs::create_dir_all(own.parent().unwrap()).unwrap();
        std::fs::write(&own, "# Our moderator\n").unwrap();
        let file = resolve_persona(&lib, DEFAULT_MODERATOR).unwrap();
        assert_eq!(file.origin, Origin::File(own));
    }

    #[test]
    fn facilitators_are_told_by_title_or_first_sentence() {
        assert!(is_facilitator(
            "# Persona: Facilitator\n\nYou keep order.\n"
        ));
        assert!(is_facilitator(
            "# Lead\n\nYou moderate the discussion and keep time.\n"
        ));
        assert!(!is_facilitator(
            "# SRE\n\nYou run systems with moderate load. Later you facilitate nothing.\n"
        ));
        assert!(!is_facilitator(
            "# SRE\n\nYou run systems.\n\nYou facilitate incidents.\n"
        ));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("**The Skeptic**"), "skeptic");
        assert_eq!(
            slug("Site Reliability Engineer (SRE)"),
            "site-reliability-engineer"
        );
        assert_eq!(slug("API  designer"), "api-designer");
        assert!(is_moderator_name("Panel Moderator"));
        assert!(!is_moderator_name("Moderation Expert"));
    }
}
