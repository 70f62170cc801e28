//! The lookups behind [`Library::resolve`] beyond an exact path: a file
//! that moved within its top folder, and the nearest names to suggest when
//! nothing is found.

use super::{read_bounded, Library, LibraryError, LibraryFile, Origin};

/// At most this many names are suggested.
const MAX_SUGGESTIONS: usize = 3;

impl Library {
    /// The one file named like `rel` elsewhere under the same top folder of
    /// the roots (not the built-in copies); an error when there are
    /// several; `None` when there is none.
    pub(super) fn moved(
        &self,
        asked: &str,
        rel: &str,
    ) -> Result<Option<LibraryFile>, LibraryError> {
        let Some((top, _)) = rel.split_once('/') else {
            return Ok(None);
        };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let found: Vec<_> = self
            .markdown_files(top)
            .into_iter()
            .filter(|f| f.file_name() == name && f.rel != rel)
            .filter_map(|f| match f.origin {
                Origin::File(path) => Some((f.rel, path)),
                Origin::Builtin(_) => None,
            })
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [(moved, path)] => Ok(Some(LibraryFile {
                rel: moved.clone(),
                text: read_bounded(path)?,
                origin: Origin::File(path.clone()),
                moved_from: Some(rel.to_string()),
            })),
            several => Err(LibraryError::Ambiguous {
                path: asked.to_string(),
                name: name.to_string(),
                candidates: several
                    .iter()
                    .map(|(_, p)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// "; did you mean a or b?" naming the library files nearest to `rel`
    /// under its top folder (roots and built-in copies), or "" when none is
    /// near.
    pub(super) fn suggestion(&self, rel: &str) -> String {
        let Some((top, _)) = rel.split_once('/') else {
            return String::new();
        };
        let names: Vec<String> = self
            .markdown_files(top)
            .into_iter()
            .map(|f| f.rel)
            .collect();
        let near = nearest(rel, &names);
        if near.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", near.join(" or "))
        }
    }
}

/// The candidates nearest to `wanted`, closest first: by edit distance on
/// the file stem or on the whole path, whichever is smaller, and only those
/// within a third of the stem's length (at least 3 edits) of it.
pub(crate) fn nearest(wanted: &str, candidates: &[String]) -> Vec<String> {
    let stem = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        name.strip_suffix(".md").unwrap_or(name).to_lowercase()
    };
    let wanted_stem = stem(wanted);
    let limit = (wanted_stem.chars().count() / 3).max(3);
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .map(|c| {
            let d = levenshtein(&wanted_stem, &stem(c))
                .min(levenshtein(&wanted.to_lowercase(), &c.to_lowercase()));
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c.clone())
        .collect()
}

/// The number of single-character insertions, deletions and substitutions
/// that turn `a` into `b`.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library_with(files: &[&str]) -> (tempfile::TempDir, Library) {
        let texts: Vec<String> = files.iter().map(|f| format!("# {f}\n")).collect();
        let files: Vec<(&str, &str)> = files
            .iter()
            .zip(&texts)
            .map(|(f, t)| (*f, t.as_str()))
            .collect();
        crate::library::temp_library(&files)
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("api-review", "api-review"), 0);
        assert_eq!(levenshtein("é", "e"), 1);
    }

    #[test]
    fn a_moved_file_is_found_once_and_says_where_it_was_asked_for() {
        let (dir, library) = library_with(&["personas/special_purpose/x.md"]);
        let file = library.resolve("personas/specialist/x.md").unwrap();
        assert_eq!(file.rel, "personas/special_purpose/x.md");
        assert_eq!(file.moved_from.as_deref(), Some("personas/specialist/x.md"));
        assert_eq!(
            file.origin,
            Origin::File(dir.path().join("personas/special_purpose/x.md"))
        );
        // An exact path is not "moved".
        let exact = library.resolve("personas/special_purpose/x.md").unwrap();
        assert_eq!(exact.moved_from, None);
    }

    #[test]
    fn several_files_of_the_name_are_an_error_listing_them() {
        let (dir, library) = library_with(&["personas/a/x.md", "personas/b/x.md"]);
        let err = library
            .resolve("personas/old/x.md")
            .unwrap_err()
            .to_string();
        for p in ["personas/a/x.md", "personas/b/x.md"] {
            assert!(
                err.contains(&dir.path().join(p).display().to_string()),
                "{err}"
            );
        }
        assert!(err.contains("several files named 'x.md'"), "{err}");
    }

    #[test]
    fn a_moved_file_in_the_roots_comes_before_the_builtin_copy() {
        // The built-in library has personas/operations/sre.md.
        let (_dir, library) = library_with(&["personas/ops/sre.md"]);
        let file = library.resolve("personas/operations/sre.md").unwrap();
        assert_eq!(file.rel, "personas/ops/sre.md");
        let (_dir, library) = library_with(&[]);
        let file = library.resolve("personas/operations/sre.md").unwrap();
        assert!(file.origin.is_builtin());
    }

    #[test]
    fn nothing_found_suggests_the_nearest_names() {
        let (_dir, library) =
            library_with(&["personas/panels/api-review.md", "personas/qa/tester.md"]);
        let err = library
            .resolve("personas/panels/api-reviews.md")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean personas/panels/api-review.md?"),
            "{err}"
        );
        let err = library
            .resolve("personas/zzzzzzzz.md")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("did you mean"), "{err}");
        assert_eq!(
            nearest("personas/qa/testers.md", &["personas/qa/tester.md".into()]),
            ["personas/qa/tester.md"]
        );
    }
}
