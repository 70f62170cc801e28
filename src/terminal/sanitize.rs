//! Text from a model (a draft, a step name, a server's model name) made
//! safe to print: a terminal obeys control characters in what it prints,
//! so a draft holding `ESC[2J` would clear the screen under the gate and
//! `ESC]0;…BEL` would retitle the window. Every such character is shown as
//! what it is instead, in caret notation (`^[[2J`, `^[]0;title^G`), so a
//! reviewer sees that the draft carries one and nothing acts on it.
//!
//! Kept: newline and tab. Dropped: carriage return, which is harmless only
//! before a newline and otherwise rewrites the line a person reads. Shown:
//! every other C0 control and DEL (`^@` … `^_`, `^?`), the C1 controls
//! U+0080–U+009F that some terminals obey as escapes (`<U+009B>`), and the
//! bidirectional overrides that make text read in another order than it
//! runs (`<U+202E>`). The files in the run keep the original bytes; only
//! what reaches a terminal is changed.

use std::borrow::Cow;

/// `text` as it may reach a terminal: see the module documentation.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_care) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

fn needs_care(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// The characters that reorder how text is displayed (embeddings,
/// overrides, isolates): "Trojan source".
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' | '\t' => out.push(c),
        '\r' => {}
        '\u{0}'..='\u{1F}' => {
            out.push('^');
            out.push(char::from(b'@' + c as u8));
        }
        '\u{7F}' => out.push_str("^?"),
        c if c.is_control() || is_bidi_control(c) => {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(visible("a\x1b[2Jb"), "a^[[2Jb");
        assert_eq!(
            visible("\x1b]0;owned\x07title"),
            "^[]0;owned^Gtitle",
            "OSC with a BEL"
        );
        assert_eq!(
            visible("\x1b]8;;http://x\x1b\\link"),
            "^[]8;;http://x^[\\link"
        );
        assert_eq!(visible("\x1bP+q\x1b\\"), "^[P+q^[\\", "DCS");
        assert_eq!(visible("\u{9b}31m red"), "<U+009B>31m red", "8-bit CSI");
        assert_eq!(visible("\u{90}x\u{9c}"), "<U+0090>x<U+009C>");
        assert_eq!(
            visible("bell\x07 nul\0 del\x7f bs\x08"),
            "bell^G nul^@ del^? bs^H"
        );
        assert_eq!(visible("e\u{202E}txt.exe"), "e<U+202E>txt.exe");
    }

    #[test]
    fn text_and_layout_are_kept() {
        let plain = "## Step 1: Cut over\n\t- **Action:** `psql -c 'select 1'` — ünïcödé ✓\n";
        assert!(matches!(visible(plain), Cow::Borrowed(_)));
        assert_eq!(visible(plain), plain);
        assert_eq!(visible("line\r\nnext\r\n"), "line\nnext\n", "CRLF");
        assert_eq!(
            visible("approved\rrejected"),
            "approvedrejected",
            "a bare CR cannot rewrite the line"
        );
    }

    #[test]
    fn nothing_that_a_terminal_obeys_survives() {
        // Every char from U+0000 to U+00FF, and the bidi controls.
        let all: String = (0u32..=0xFF)
            .chain(0x2000..=0x206F)
            .filter_map(char::from_u32)
            .collect();
        let shown = visible(&all);
        assert!(
            !shown
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)),
            "{shown:?}"
        );
    }
}
