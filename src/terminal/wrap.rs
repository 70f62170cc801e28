//! Word wrapping for the gate's own lines (criteria, the menu), so a
//! narrow terminal breaks them between words, not inside one. A list item
//! (`- text`, `1) text`, `e) text`) continues under its text, not under its
//! marker. A word longer than the line is left whole: cutting it would not
//! make it readable.

use unicode_width::UnicodeWidthStr;

/// `text` wrapped at words to `width` columns, each line of it on its own;
/// the result ends without a newline.
pub(super) fn wrap(text: &str, width: usize) -> String {
    text.lines()
        .map(|line| wrap_line(line, width))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_line(line: &str, width: usize) -> String {
    if UnicodeWidthStr::width(line) <= width {
        return line.to_string();
    }
    let (marker, body) = split_marker(line);
    let hang = " ".repeat(UnicodeWidthStr::width(marker));
    let mut out = String::new();
    let mut current = marker.to_string();
    // Whether `current` holds a word yet (beyond the marker or indent).
    let mut has_word = false;
    for word in body.split_whitespace() {
        let used = UnicodeWidthStr::width(current.as_str());
        let w = UnicodeWidthStr::width(word);
        if has_word && used + 1 + w > width {
            out.push_str(current.trim_end());
            out.push('\n');
            current = format!("{hang}{word}");
        } else {
            if has_word {
                current.push(' ');
            }
            current.push_str(word);
        }
        has_word = true;
    }
    out.push_str(current.trim_end());
    out
}

/// A line's indent and list marker with the space after it, and the rest.
/// A line that is no list item keeps its indent as its "marker", so its
/// continuation lines line up with it.
fn split_marker(line: &str) -> (&str, &str) {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let marker_len = if let Some(r) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
    {
        rest.len() - r.len()
    } else {
        // `12) `, `3. `, `e) `: a short label, then `)` or `.`, then a space.
        let label = rest
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric())
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        let after = &rest[label..];
        if label > 0 && label <= 3 && (after.starts_with(") ") || after.starts_with(". ")) {
            label + 2
        } else {
            0
        }
    };
    // The text starts after the marker's spaces.
    let body_start = indent + marker_len;
    let spaces = line[body_start..].len() - line[body_start..].trim_start().len();
    line.split_at(body_start + spaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
    }

    #[test]
    fn lines_break_between_words_within_the_width() {
        let text =
            "Approval criteria: every affected component is named, with an owner and a rollback.";
        let wrapped = wrap(text, 30);
        assert!(widest(&wrapped) <= 30, "{wrapped}");
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>(),
            "no word is cut or lost"
        );
        assert_eq!(wrap("short", 30), "short");
    }

    #[test]
    fn list_items_hang_under_their_text() {
        let wrapped = wrap(
            "  1) Approve → the plan is complete and every step can be undone",
            32,
        );
        assert_eq!(
            wrapped,
            "  1) Approve → the plan is\n     complete and every step can\n     be undone"
        );
        assert_eq!(
            wrap("- a bullet that goes on and on", 14),
            "- a bullet\n  that goes on\n  and on"
        );
        assert_eq!(
            wrap("  e) Edit in $EDITOR, then decide", 20),
            "  e) Edit in\n     $EDITOR, then\n     decide"
        );
    }

    #[test]
    fn a_word_longer_than_the_line_is_left_whole() {
        let url = "https://example.invalid/a/very/long/path/that/never/ends";
        assert_eq!(
            wrap(&format!("see {url} now"), 20),
            format!("see\n{url}\nnow")
        );
    }

    #[test]
    fn prose_is_not_taken_for_a_list_item() {
        assert_eq!(
            split_marker("Decide now. Or later"),
            ("", "Decide now. Or later")
        );
        assert_eq!(split_marker("  q) Save"), ("  q) ", "Save"));
        assert_eq!(split_marker("  10. Step"), ("  10. ", "Step"));
        assert_eq!(split_marker("    indented"), ("    ", "indented"));
    }
}
