//! The reading of Markdown: CommonMark's headings and fences, the readings
//! that follow an author's intent (and the notes they leave), titles, and
//! the helpers built on them.

use super::*;

/// Line numbers (0-based) of the headings of `text`, with their levels.
fn heading_lines(text: &str) -> Vec<(usize, usize)> {
    let o = Outline::new(text);
    (0..o.len())
        .filter_map(|i| o.level(i).map(|l| (i, l)))
        .collect()
}

fn fenced_lines(text: &str) -> Vec<usize> {
    let o = Outline::new(text);
    (0..o.len()).filter(|i| o.is_fenced(*i)).collect()
}

#[test]
fn outer_markdown_fence_is_removed() {
    assert_eq!(strip_outer_fence("```markdown\n## A\nx\n```"), "## A\nx\n");
    assert_eq!(
        strip_outer_fence("## A\n```\ncode\n```\n"),
        "## A\n```\ncode\n```\n"
    );
    // A wrapper holding a code block of its own: longer, or as the model
    // wrote it with fences of the same length.
    assert_eq!(
        strip_outer_fence("````markdown\n## A\n```json\n{}\n```\n## B\n````"),
        "## A\n```json\n{}\n```\n## B\n"
    );
    assert_eq!(
        strip_outer_fence("```markdown\n## A\n```json\n{}\n```\n## B\n```"),
        "## A\n```json\n{}\n```\n## B\n"
    );
    // Two blocks are not a wrapper.
    let two = "```\n## A\n```\n\n```\n## B\n```";
    assert_eq!(strip_outer_fence(two), format!("{two}\n"));
}

#[test]
fn unclosed_fence_is_reported_at_its_line() {
    assert_eq!(first_fenced_block(&["text", "```", "## A"]), Err(1));
    assert_eq!(first_fenced_block(&["text", "~~~~", "x", "~~~"]), Err(1));
    assert_eq!(
        first_fenced_block(&["```", "## A", "```"]),
        Ok(Some("## A".to_string()))
    );
    assert_eq!(first_fenced_block(&["no", "fence"]), Ok(None));
    let o = Outline::new("# T\n\n```json\n{\n## not a heading");
    assert_eq!(o.fences().len(), 1);
    assert_eq!((o.fences()[0].open, o.fences()[0].close), (2, None));
    assert_eq!(
        heading_lines("# T\n\n```json\n{\n## not a heading"),
        [(0, 1)]
    );
}

#[test]
fn headings_are_atx_headings_as_commonmark_reads_them() {
    let text = "# One\n   ### Three spaces\n    ## Four spaces is code\n\n##\tTab\n#NoSpace\n####### Seven\n## Closed ##\n## C# is a language\nPara\n---\n> ## Quoted\n- ## In a list\n\n##\n";
    assert_eq!(
        heading_lines(text),
        [(0, 1), (1, 3), (4, 2), (7, 2), (8, 2), (14, 2)]
    );
    let hs = headings(text);
    let texts: Vec<&str> = hs.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "One",
            "Three spaces",
            "Tab",
            "Closed",
            "C# is a language",
            ""
        ]
    );
    assert_eq!(heading("## Foo #"), Some((2, "Foo")));
    assert_eq!(heading("## Foo#"), Some((2, "Foo#")));
    assert_eq!(heading("### ###"), Some((3, "")));
    assert_eq!(heading("    # code"), None);
}

#[test]
fn a_placeholder_line_is_not_html_and_keeps_the_next_heading() {
    // To CommonMark, `<Summary of it>` (a type-6 tag name) and
    // `<Why this is needed>` (a complete tag) open HTML blocks that run to
    // the next blank line.
    let text = "## A\n<Summary of it>\n## B\n<Why this is needed>\n## C\n<!--\n## in a comment\n-->\n## D\n";
    assert_eq!(heading_lines(text), [(0, 2), (2, 2), (4, 2), (8, 2)]);
}

#[test]
fn a_longer_outer_fence_holds_inner_blocks_without_notes() {
    for outer in ["````", "~~~", "~~~~"] {
        let text =
            format!("{outer}\n## A\n```json\n{{\"a\": 1}}\n```\n## B\n## C\n{outer}\n## After\n");
        let o = Outline::new(&text);
        assert!(o.notes().is_empty(), "{outer}: {:?}", o.notes());
        assert_eq!(fenced_lines(&text), (0..=7).collect::<Vec<_>>(), "{outer}");
        assert_eq!(heading_lines(&text), [(8, 2)], "{outer}");
        assert_eq!(
            first_fenced_block(&text.lines().collect::<Vec<_>>()),
            Ok(Some(
                "## A\n```json\n{\"a\": 1}\n```\n## B\n## C".to_string()
            ))
        );
    }
    // Inside the template, the inner block is a block and the sections
    // after it are headings.
    let template = "## A\n```json\n{\"a\": 1}\n```\n## B\n## C\n";
    assert_eq!(heading_lines(template), [(0, 2), (4, 2), (5, 2)]);
}

#[test]
fn an_inner_block_in_a_fence_of_the_same_length_is_read_as_meant() {
    let text = "Intro\n```\n## A\n```json\n{}\n```\n## B\n```\n## After\n```bash\nls\n```\n";
    let o = Outline::new(text);
    let spans: Vec<(usize, Option<usize>)> = o.fences().iter().map(|f| (f.open, f.close)).collect();
    assert_eq!(spans, [(1, Some(7)), (9, Some(11))]);
    assert_eq!(heading_lines(text), [(8, 2)]);
    let notes = o.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].line, 3);
    assert!(
        notes[0]
            .message(1)
            .contains("'```json' is read as opening a code block inside the one opened at line 2"),
        "{}",
        notes[0].message(1)
    );
    assert!(
        notes[0]
            .message(1)
            .contains("would end the outer block at line 6"),
        "{}",
        notes[0].message(1)
    );
    assert!(
        notes[0].message(1).contains("e.g. ````"),
        "{}",
        notes[0].message(1)
    );
    // With tildes, too.
    let tildes = text.replace("```", "~~~");
    let o = Outline::new(&tildes);
    assert_eq!(o.fences()[0].close, Some(7));
    assert!(
        o.notes()[0].message(1).contains("more tildes"),
        "{:?}",
        o.notes()
    );
}

#[test]
fn an_info_string_close_is_read_as_a_close_with_a_note() {
    // In a workflow: the outer fence ends where CommonMark ends it, and
    // the note names the line of the `text` close.
    let text = "```\n## A\n```json\n{}\n```text\n## B\n```\n## After\n";
    let o = Outline::new(text);
    assert_eq!(o.fences()[0].close, Some(6));
    assert_eq!(heading_lines(text), [(7, 2)]);
    let notes: Vec<usize> = o.notes().iter().map(|n| n.line).collect();
    assert_eq!(notes, [4]);
    assert!(o.notes()[0]
        .message(1)
        .contains("Write the closing fence bare ('```')"));
    // In the template itself, CommonMark would run the `json` block to the
    // end and lose `## B`.
    let template = "## A\n```json\n{}\n```text\n## B\n<b>\n";
    let o = Outline::new(template);
    assert_eq!(o.fences()[0].close, Some(3));
    assert_eq!(heading_lines(template), [(0, 2), (4, 2)]);
    assert_eq!(o.notes()[0].line, 3);
    // Lines are named as in the file the text came from.
    assert!(
        o.notes()[0]
            .message(31)
            .contains("closing the code block opened at line 32"),
        "{}",
        o.notes()[0].message(31)
    );
}

#[test]
fn a_reading_that_finds_no_close_leaves_commonmarks() {
    // `json` pairs with the next bare fence; nothing closes the outer one
    // after that, so CommonMark's reading (closed at line 3) stands.
    let text = "```\n```json\n{}\n```\n## A\n";
    let o = Outline::new(text);
    assert_eq!(o.fences()[0].close, Some(3));
    assert!(o.notes().is_empty());
    assert_eq!(heading_lines(text), [(4, 2)]);
    // A fence that is only text to CommonMark in an indented code block is
    // not a fence.
    assert!(Outline::new("    ```\n## A\n").fences().is_empty());
}

#[test]
fn a_fence_in_a_list_item_ends_with_the_item() {
    let o = Outline::new("- a\n  ```\n  code\n- b\n\n## A\n");
    let f = &o.fences()[0];
    assert_eq!((f.open, f.close, f.end, f.contained), (1, None, 2, true));
    assert!(!o.is_fenced(3));
    assert_eq!(o.level(5), Some(2));
}

#[test]
fn a_title_is_a_first_line_h1_above_deeper_headings() {
    let title = |t: &str| Outline::new(t).title();
    assert_eq!(title("# Assessment: <system>\n\n## A\n<a>"), Some(0));
    assert_eq!(title("\n\n# Assessment\nIntro\n### A\n"), Some(2));
    assert_eq!(title("# A\n<a>\n# B\n<b>"), None);
    assert_eq!(title("# Only\ntext"), None);
    assert_eq!(title("Intro\n# T\n## A"), None);
    assert_eq!(title("## A\n# T\n## B"), None);
}

#[test]
fn the_line_reader_still_tracks_simple_fences() {
    let mut f = FenceTracker::default();
    let inside: Vec<bool> = ["a", "```", "x", "```", "b"]
        .iter()
        .map(|l| f.feed(l))
        .collect();
    assert_eq!(inside, [false, true, true, true, false]);
}
