//! Every file a workflow names, resolved once for `validate`, `show` and a
//! run alike: each directive's file, a panel's members and moderator, and
//! the files each persona links to; with a diagnostic for each reading the
//! author may not have meant.
//!
//! **Built-in copies serve the built-in workflow.** migagent's built-in
//! personas and prompts were written for its built-in workflows (the
//! Migration workflow). Another workflow that names a path its own library
//! lacks still gets the built-in copy, but announced: a warning at the
//! directive's line says which file and for which workflow it was written.
//! The built-in workflows, and any workflow titled like one (the seed,
//! `# Workflow: Migration`), run without it.

use super::{
    builtin_workflow_titles, persona_links, read_panel, resolve_persona, Library, LinkedFile,
    Origin, Panel,
};
use crate::workflow::{Diagnostic, DirectiveKind, Workflow};

/// Where a reference's file was found.
#[derive(Debug, Clone)]
pub struct Found {
    /// Library-relative path of the file found.
    pub rel: String,
    pub origin: Origin,
    /// The path asked for, when the file moved.
    pub moved_from: Option<String>,
}

/// One directive of a workflow and what it resolved to.
#[derive(Debug, Clone)]
pub struct Reference {
    pub phase: u32,
    pub kind: DirectiveKind,
    /// The path as the workflow writes it.
    pub path: String,
    pub line: usize,
    /// The file, or why there is none.
    pub found: Result<Found, String>,
    /// The panel, for a panel or round-table directive that resolved.
    pub panel: Option<Panel>,
    /// The files each persona of this reference links to: the persona
    /// itself, or each panel member and the moderator; by persona path.
    pub links: Vec<(String, Vec<LinkedFile>)>,
}

/// Whether a workflow is one of migagent's built-in ones, or titled like
/// one (the seed): the built-in copies were written for it.
pub fn is_builtin_workflow(workflow: &Workflow) -> bool {
    workflow.source.to_string_lossy().starts_with("builtin:")
        || builtin_workflow_titles()
            .iter()
            .any(|t| t.eq_ignore_ascii_case(workflow.name.trim()))
}

/// The warning for a reference that only a built-in copy serves.
fn builtin_fallback(rel: &str) -> String {
    let titles = builtin_workflow_titles();
    format!(
        "{rel} is not in this workflow's library; using migagent's built-in copy, written for the {} workflow",
        titles.join(" and ")
    )
}

/// Resolves every directive of `workflow` against `library`.
pub fn resolve_references(
    workflow: &Workflow,
    library: &Library,
) -> (Vec<Reference>, Vec<Diagnostic>) {
    let file = &workflow.source;
    let builtin_ok = is_builtin_workflow(workflow);
    let mut refs = Vec::new();
    let mut out = Vec::new();
    for phase in &workflow.phases {
        for d in &phase.directives {
            let mut reference = Reference {
                phase: phase.number,
                kind: d.kind,
                path: d.path.clone(),
                line: d.line,
                found: Err(String::new()),
                panel: None,
                links: Vec::new(),
            };
            let found = match library.resolve(&d.path) {
                Ok(found) => found,
                Err(e) => {
                    out.push(Diagnostic::error(
                        file.clone(),
                        d.line,
                        format!("{}: {e}", d.kind.label()),
                    ));
                    reference.found = Err(e.to_string());
                    refs.push(reference);
                    continue;
                }
            };
            if let Some(asked) = &found.moved_from {
                out.push(Diagnostic::warning(
                    file.clone(),
                    d.line,
                    format!(
                        "{}: {asked} is not in the library; using {} ({}), the one file of that name",
                        d.kind.label(),
                        found.rel,
                        found.origin
                    ),
                ));
            }
            if found.origin.is_builtin() && !builtin_ok {
                out.push(Diagnostic::warning(
                    file.clone(),
                    d.line,
                    builtin_fallback(&found.rel),
                ));
            }
            match d.kind {
                DirectiveKind::Panel | DirectiveKind::RoundTable => {
                    let (panel, diags) = read_panel(library, &found);
                    out.extend(diags);
                    let panel_path = found.origin.as_path();
                    let mut personas: Vec<(String, Origin, Option<usize>)> = panel
                        .participants
                        .iter()
                        .map(|m| (m.path.clone(), m.origin.clone(), Some(m.line)))
                        .collect();
                    personas.push((
                        panel.moderator.path.clone(),
                        panel.moderator.origin.clone(),
                        None,
                    ));
                    for (path, origin, line) in personas {
                        // A built-in panel's members are built-in too: the
                        // directive's warning covers them.
                        if let (true, false, Some(line), false) = (
                            origin.is_builtin(),
                            found.origin.is_builtin(),
                            line,
                            builtin_ok,
                        ) {
                            out.push(Diagnostic::warning(
                                panel_path.clone(),
                                line,
                                builtin_fallback(&path),
                            ));
                        }
                        if let Ok(persona) = resolve_persona(library, &path) {
                            let (files, diags) = persona_links(library, &persona);
                            out.extend(diags);
                            reference.links.push((path, files));
                        }
                    }
                    reference.panel = Some(panel);
                }
                DirectiveKind::Persona | DirectiveKind::SecondaryPersona => {
                    let (files, diags) = persona_links(library, &found);
                    out.extend(diags);
                    reference.links.push((found.rel.clone(), files));
                }
                DirectiveKind::Prompt => {}
            }
            reference.found = Ok(Found {
                rel: found.rel,
                origin: found.origin,
                moved_from: found.moved_from,
            });
            refs.push(reference);
        }
    }
    (refs, out)
}

/// Where a reference's file is, for people: the path, and how it was found.
pub fn describe(found: &Found) -> String {
    let mut s = found.origin.to_string();
    if let Some(asked) = &found.moved_from {
        s.push_str(&format!(
            "; moved: {asked} is not in the library, this is the one file of that name"
        ));
    }
    if found.origin.is_builtin() {
        s.push_str("; migagent's built-in copy");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::validate::{load_file, LoadError};
    use crate::library::LibraryFile;

    /// A workflow whose phases name `directives` (one phase each).
    fn workflow(title: &str, directives: &[&str]) -> String {
        let mut text = format!("# Workflow: {title}\n\n## Phases\n\n");
        for (i, _) in directives.iter().enumerate() {
            text.push_str(&format!("{}. **P{}** → `[W-{}]`\n", i + 1, i + 1, i + 1));
        }
        for (i, d) in directives.iter().enumerate() {
            text.push_str(&format!(
                "\n## Phase {n}: P{n}\n\n{d}\n\n### Input\n\n- The request\n\n### Process\n\nDo it.\n\n### Output\n\n**Artifact `[W-{n}]: Out`**\n\n```\n## Out\n<out>\n```\n",
                n = i + 1
            ));
        }
        text
    }

    /// The line of `text` holding `needle`, 1-based.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    use crate::library::temp_library as library;

    fn load(library: &Library, text: &str) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        let file = LibraryFile {
            rel: "w.md".into(),
            origin: Origin::File("w.md".into()),
            text: text.into(),
            moved_from: None,
        };
        match load_file(file, library.clone()) {
            Ok(loaded) => Ok(loaded.warnings),
            Err(LoadError::Invalid(e)) => Err(e.diagnostics),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_moved_reference_is_used_with_a_warning_at_its_line() {
        let (_dir, lib) = library(&[("personas/special_purpose/x.md", "# X\n")]);
        let text = workflow("Team", &["> **Adopt persona:** `personas/specialist/x.md`"]);
        let warnings = load(&lib, &text).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].line, line_of(&text, "Adopt persona"));
        let m = &warnings[0].message;
        assert!(
            m.contains("personas/specialist/x.md") && m.contains("personas/special_purpose/x.md"),
            "{m}"
        );
    }

    #[test]
    fn several_or_no_files_of_the_name_are_errors_at_the_line() {
        let (_dir, lib) = library(&[
            ("personas/a/x.md", "# X\n"),
            ("personas/b/x.md", "# X\n"),
            (
                "personas/panels/api-review.md",
                "# Panel: API\n## Participants\n- **X** - x\n",
            ),
        ]);
        let text = workflow(
            "Team",
            &[
                "> **Adopt persona:** `personas/old/x.md`",
                "> **Invoke panel:** `personas/panels/api-reviw.md`",
            ],
        );
        let errors = load(&lib, &text).unwrap_err();
        let lines: Vec<usize> = errors
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.line)
            .collect();
        assert_eq!(
            lines,
            [
                line_of(&text, "Adopt persona"),
                line_of(&text, "Invoke panel")
            ],
            "{errors:?}"
        );
        assert!(errors[0].message.contains("personas/a/x.md"), "{errors:?}");
        assert!(errors[0].message.contains("personas/b/x.md"), "{errors:?}");
        assert!(
            errors[1]
                .message
                .contains("did you mean personas/panels/api-review.md?"),
            "{errors:?}"
        );
    }

    #[test]
    fn phases_need_no_primary_persona() {
        let (_dir, lib) = library(&[("personas/qa/reviewer.md", "# Reviewer\n")]);
        let text = workflow(
            "Team",
            &[
                "> **Secondary persona:** `personas/qa/reviewer.md`",
                "> **Invoke prompt:** `prompts/assembly/moderator.md`",
                "",
            ],
        );
        let warnings = load(&lib, &text).unwrap();
        // The prompt is migagent's built-in copy: announced, not refused.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].message.contains("built-in copy"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_persona_link_to_a_missing_file_is_a_warning_in_the_persona() {
        let (dir, lib) = library(&[
            (
                "personas/qa/reviewer.md",
                "# Reviewer\n\nUse the [scale](../../policies/severity.md)\nand the [gone](../../policies/gone.md).\n",
            ),
            ("policies/severity.md", "# Severity\n"),
        ]);
        let text = workflow("Team", &["> **Adopt persona:** `personas/qa/reviewer.md`"]);
        let warnings = load(&lib, &text).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].file, dir.path().join("personas/qa/reviewer.md"));
        assert_eq!(warnings[0].line, 4);
        let (refs, _) = resolve_references(
            &crate::workflow::parse(&text, "w.md".as_ref()).unwrap(),
            &lib,
        );
        assert_eq!(refs[0].links[0].1.len(), 1);
        assert_eq!(refs[0].links[0].1[0].rel, "policies/severity.md");
    }

    #[test]
    fn a_team_panel_naming_a_builtin_persona_is_announced_at_the_member() {
        let (dir, lib) = library(&[(
            "personas/panels/ops.md",
            "# Panel: Ops\n\n## Participants\n- **[SRE](../operations/sre.md)** - ops\n- **Moderator** - keeps order\n",
        )]);
        let text = workflow("Team", &["> **Invoke panel:** `personas/panels/ops.md`"]);
        let warnings = load(&lib, &text).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].file, dir.path().join("personas/panels/ops.md"));
        assert_eq!(warnings[0].line, 4);
        assert!(warnings[0]
            .message
            .starts_with("personas/operations/sre.md is not in this workflow's library"));
        // Under the built-in workflow's title, the same is not announced.
        let text = workflow(
            "Migration",
            &["> **Invoke panel:** `personas/panels/ops.md`"],
        );
        assert!(load(&lib, &text).unwrap().is_empty());
    }
}
