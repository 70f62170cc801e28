//! A template's title line (`# Migration Assessment: <system>`): the H1
//! that names the artifact rather than a part of it. [`Outline::title`]
//! finds it; here it is compiled into the root's title fields and read back
//! from a document. See the module documentation of `artifact_schema` for
//! the rule.

use std::collections::HashSet;

use super::compile::heading_holes;
use super::shape::{object_matches, Field, Matcher, Object, SectionHeading, Title};
use super::text::{placeholder_count, segments, unique_key};
use crate::markdown::Outline;

/// The title's fields and shape, if its line holds placeholders (a title
/// without any is literal text of the intro).
pub(super) fn compile(
    t: &Outline,
    h: usize,
    used: &mut HashSet<String>,
) -> Option<(Vec<Field>, Title)> {
    let (level, text) = t.heading(h)?;
    let b = segments(text);
    if placeholder_count(&b) == 0 {
        return None;
    }
    let mut own = HashSet::new();
    let (mut holes, pieces) = heading_holes(&b, &mut own);
    let single = holes.len() == 1;
    for f in &mut holes {
        let base = if single {
            "title".to_string()
        } else {
            format!("title_{}", f.key)
        };
        f.key = unique_key(&base, used);
    }
    let heading = SectionHeading {
        text: format!("{} {text}", "#".repeat(level)),
        matcher: Matcher::new(&b, &pieces),
        pieces,
    };
    Some((holes, Title { level, heading }))
}

/// The document's title line and its placeholders' values, when the
/// template has a title: the first heading of the title's level, if no
/// section heading comes before it and it reads as the title. A document
/// without one is not refused: its title fields are empty.
pub(super) fn read(root: &Object, doc: &Outline) -> Option<(usize, Vec<String>)> {
    let t = root.title.as_ref()?;
    let (line, text) = (0..doc.len()).find_map(|i| {
        let (lv, text) = doc.heading(i)?;
        (lv <= t.level || object_matches(root, text)).then_some((i, text))
    })?;
    if object_matches(root, text) {
        return None;
    }
    t.heading.matcher.matches(text).map(|caps| (line, caps))
}
