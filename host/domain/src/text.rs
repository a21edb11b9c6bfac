//! Text the host keeps or shows that came from outside (a vendor, a
//! connector): cut to a bound on a character boundary, saying so, and for
//! log lines with control characters escaped, so nothing stored or printed
//! can grow without limit or forge a line.

/// Whether `c` can rewrite what a terminal, a log line or a report cell
/// shows: a control character, or an invisible, line-separating or
/// bidirectional-format one (e.g. U+202E, which reverses what follows).
pub fn rewrites_display(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// `text` cut to `max` bytes on a character boundary, saying how much was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} more bytes cut]", &text[..end], text.len() - end)
}

/// Cuts a guest string to `max` bytes on a character boundary and escapes
/// control characters, so a guest cannot forge or flood log lines.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = text[..end].escape_debug().collect();
    if end < text.len() {
        out.push_str("…[cut]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_control_characters_and_cuts_on_char_boundaries() {
        assert_eq!(sanitize("a\nb\x1b[31m", 100), "a\\nb\\u{1b}[31m");
        assert_eq!(sanitize("ééé", 3), "é…[cut]");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_says_how_much() {
        assert_eq!(clip("short", 10), "short");
        // "é" is two bytes: a cut at 2 would split it, so it falls back to 1.
        assert_eq!(clip("aé-rest", 2), "a…[7 more bytes cut]");
    }
}
