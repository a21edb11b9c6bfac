//! Text the host keeps or shows that came from outside (a vendor, a
//! connector): cut to a bound, on a character boundary, saying how much
//! was cut, so nothing stored or printed can grow without limit.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_says_how_much() {
        assert_eq!(clip("short", 10), "short");
        // "é" is two bytes: a cut at 2 would split it, so it falls back to 1.
        assert_eq!(clip("aé-rest", 2), "a…[7 more bytes cut]");
    }
}
