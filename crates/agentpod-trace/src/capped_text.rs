//! The size cap every recorded text obeys, so one runaway agent cannot fill the run store.

/// Texts (attribute values, bodies, results) longer than this are cut.
pub(crate) const RECORD_CAP_BYTES: usize = 64 * 1024;

/// Cuts `text` to at most `cap` bytes on a character boundary; returns the original byte count
/// when it was cut.
pub(crate) fn cap_text(text: &mut String, cap: usize) -> Option<usize> {
    if text.len() <= cap {
        return None;
    }
    let original = text.len();
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    Some(original)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        let mut text = String::from("hello");
        assert_eq!(cap_text(&mut text, 5), None);
        assert_eq!(text, "hello");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_and_reports_its_size() {
        // "é" is two bytes: a cut at 3 bytes would split the second one.
        let mut text = String::from("éééé");
        assert_eq!(cap_text(&mut text, 3), Some(8));
        assert_eq!(text, "é");
    }
}
