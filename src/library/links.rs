//! Files a persona links to, such as a shared severity scale
//! (`[severity scale](../../policies/severity.md)`): the model gets each
//! one right after the persona, since the persona's words lean on it.
//!
//! Only relative links to `.md` files inside the library are followed,
//! resolved against the persona file's folder like any reference (an exact
//! path, a moved file, a built-in copy); web links, anchors, images and
//! other files are left as they are written. Links are followed one level
//! deep, in the order they appear, each file once, at most
//! [`MAX_LINKS`] of them. A link to a file the library lacks, or one that
//! leaves the library, is a warning: the persona still reads, without it.

use std::sync::LazyLock;

use regex::Regex;

use super::{normalize_rel, rel_dir, Library, LibraryFile, Origin};
use crate::markdown::Outline;
use crate::workflow::Diagnostic;

/// At most this many linked files are taken from one persona.
pub const MAX_LINKS: usize = 16;

// The patterns are literals: `expect` cannot fire once the tests have
// compiled them.
static INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#).expect("static regex")
});
static DEFINITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s{0,3}\[([^\]]+)\]:\s*<?([^\s>]+)>?").expect("static regex"));
static CODE_SPAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`[^`]*`").expect("static regex"));

/// A library file a persona links to.
#[derive(Debug, Clone)]
pub struct LinkedFile {
    /// Library-relative path of the file found.
    pub rel: String,
    /// The link's text, e.g. "severity scale".
    pub label: String,
    pub origin: Origin,
    pub text: String,
    /// The line of the persona file that links it.
    pub line: usize,
}

/// A link as written: its text, target and line.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    label: String,
    target: String,
    line: usize,
}

fn links_in(text: &str) -> Vec<Link> {
    let outline = Outline::new(text);
    let mut out = Vec::new();
    for i in 0..outline.len() {
        if outline.is_fenced(i) {
            continue;
        }
        let Some(line) = outline.line(i) else {
            continue;
        };
        let line = CODE_SPAN.replace_all(line, "");
        for c in INLINE.captures_iter(&line) {
            if &c[1] == "!" {
                continue;
            }
            out.push(Link {
                label: c[2].trim().to_string(),
                target: c[3].to_string(),
                line: i + 1,
            });
        }
        if let Some(c) = DEFINITION.captures(&line) {
            out.push(Link {
                label: c[1].trim().to_string(),
                target: c[2].to_string(),
                line: i + 1,
            });
        }
    }
    out
}

/// Whether a link target is one to follow: relative, to a `.md` file.
fn followed(target: &str) -> Option<&str> {
    let path = target.split('#').next().unwrap_or("");
    let is_remote = target.contains("://") || target.starts_with("mailto:");
    (!is_remote && !path.starts_with('/') && path.to_lowercase().ends_with(".md")).then_some(path)
}

/// The files `persona` links to, and a warning for each link that cannot
/// be followed (located in the persona file).
pub fn persona_links(
    library: &Library,
    persona: &LibraryFile,
) -> (Vec<LinkedFile>, Vec<Diagnostic>) {
    let at = persona.origin.as_path();
    let mut files: Vec<LinkedFile> = Vec::new();
    let mut diagnostics = Vec::new();
    for link in links_in(&persona.text) {
        let Some(path) = followed(&link.target) else {
            continue;
        };
        let joined = format!("{}/{path}", rel_dir(&persona.rel));
        let rel = match normalize_rel(&joined) {
            Ok(rel) => rel,
            Err(_) => {
                diagnostics.push(Diagnostic::warning(
                    at.clone(),
                    link.line,
                    format!(
                        "the link to '{}' leaves the library; it is not given to the model",
                        link.target
                    ),
                ));
                continue;
            }
        };
        if rel == persona.rel || files.iter().any(|f| f.rel == rel) {
            continue;
        }
        if files.len() == MAX_LINKS {
            diagnostics.push(Diagnostic::warning(
                at.clone(),
                link.line,
                format!("more than {MAX_LINKS} linked files; '{}' and later ones are not given to the model", link.target),
            ));
            break;
        }
        match library.resolve(&rel) {
            Ok(file) => {
                if let Some(asked) = &file.moved_from {
                    diagnostics.push(Diagnostic::warning(
                        at.clone(),
                        link.line,
                        format!(
                            "the link to '{}' names {asked}, which is not in the library; using {} ({}), the one file of that name",
                            link.target, file.rel, file.origin
                        ),
                    ));
                }
                if !files.iter().any(|f| f.rel == file.rel) {
                    files.push(LinkedFile {
                        rel: file.rel,
                        label: link.label,
                        origin: file.origin,
                        text: file.text,
                        line: link.line,
                    });
                }
            }
            Err(e) => diagnostics.push(Diagnostic::warning(
                at.clone(),
                link.line,
                format!("the link to '{}' is not followed: {e}", link.target),
            )),
        }
    }
    (files, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::RootKind;

    #[test]
    fn links_are_read_outside_code() {
        let text = "# P\n\nSee [the scale](../../policies/severity.md#levels) and [web](https://x.org/a.md).\n![img](pic.md)\n`[code](no.md)`\n```\n[fenced](no.md)\n```\n[ref]: ../shared/glossary.md\n";
        let links = links_in(text);
        let targets: Vec<(&str, usize)> =
            links.iter().map(|l| (l.target.as_str(), l.line)).collect();
        assert_eq!(
            targets,
            [
                ("../../policies/severity.md#levels", 3),
                ("https://x.org/a.md", 3),
                ("../shared/glossary.md", 9)
            ]
        );
        assert_eq!(followed("a.md#x"), Some("a.md"));
        assert_eq!(followed("https://x.org/a.md"), None);
        assert_eq!(followed("/etc/a.md"), None);
        assert_eq!(followed("notes.txt"), None);
    }

    #[test]
    fn linked_files_resolve_once_and_missing_ones_warn() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policies/severity.md");
        std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
        std::fs::write(&policy, "# Severity\nS1..S4\n").unwrap();
        let library = Library::with_roots(vec![(dir.path().to_path_buf(), RootKind::Cwd)]);
        let persona = LibraryFile {
            rel: "personas/quality/qa.md".into(),
            origin: Origin::File(dir.path().join("personas/quality/qa.md")),
            text: "# QA\n\nUse the [scale](../../policies/severity.md).\nAgain: [scale](../../policies/severity.md).\nAnd [gone](../../policies/gone.md) and [out](../../../../etc/x.md).\n".into(),
            moved_from: None,
        };
        let (files, diags) = persona_links(&library, &persona);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].rel, "policies/severity.md");
        assert_eq!(files[0].label, "scale");
        assert!(files[0].text.contains("S1..S4"));
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [5, 5], "{diags:?}");
        assert!(diags.iter().all(|d| !d.is_error()));
        assert!(diags[0].message.contains("gone.md"), "{diags:?}");
        assert!(diags[1].message.contains("leaves the library"), "{diags:?}");
    }
}
