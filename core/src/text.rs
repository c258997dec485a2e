//! Text hygiene for what people type: characters that would corrupt a page, a log line, a
//! spreadsheet or the display of neighbouring text are refused before anything is stored.

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadText {
    /// NUL or another control character (C0, DEL, C1); in a multi-line text, `\n`, `\t` and
    /// the `\r` of a `\r\n` (as browsers send textareas) are allowed.
    Control,
    /// A bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which can
    /// make text display in a different order than it is stored.
    Bidi,
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a single-line text (a name, a title) or a multi-line one (a description, an answer).
pub fn check(value: &str, multi_line: bool) -> Result<(), BadText> {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if is_bidi_control(c) {
            return Err(BadText::Bidi);
        }
        if c.is_control() {
            let allowed = multi_line
                && match c {
                    '\n' | '\t' => true,
                    '\r' => chars.peek() == Some(&'\n'),
                    _ => false,
                };
            if !allowed {
                return Err(BadText::Control);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for (text, multi, expected) in [
            ("柑橘 叶片", false, Ok(())),
            ("第一行\n第二行\t缩进\r\n", true, Ok(())),
            ("第一行\n第二行", false, Err(BadText::Control)),
            ("tab\there", false, Err(BadText::Control)),
            ("nul\0", true, Err(BadText::Control)),
            ("bell\u{7}", true, Err(BadText::Control)),
            ("del\u{7f}", true, Err(BadText::Control)),
            ("c1\u{85}", true, Err(BadText::Control)),
            ("lone cr\r", true, Err(BadText::Control)),
            ("escape\u{1b}[31m", true, Err(BadText::Control)),
            ("abc\u{202E}fdp.exe", false, Err(BadText::Bidi)),
            ("x\u{202A}y", true, Err(BadText::Bidi)),
            ("x\u{2066}y\u{2069}", true, Err(BadText::Bidi)),
            ("zero\u{200B}width", false, Ok(())),
        ] {
            assert_eq!(check(text, multi), expected, "{text:?}");
        }
    }
}
