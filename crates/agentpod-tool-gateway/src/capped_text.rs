//! Size caps for what the gateway records: a recorded body or result never grows past
//! [`RECORD_CAP_BYTES`], and the original size is kept beside the cut text.

/// The most bytes of one argument set, result or rejected body that a record keeps.
pub(crate) const RECORD_CAP_BYTES: usize = 64 * 1024;

/// `text` cut to at most `RECORD_CAP_BYTES` on a character boundary, with its original length.
/// Takes the text by value so text under the cap is kept without a copy.
pub(crate) fn cap_text(mut text: String) -> (String, usize) {
    let original = text.len();
    if original <= RECORD_CAP_BYTES {
        return (text, original);
    }
    let mut end = RECORD_CAP_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, original)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(cap_text("abc".to_owned()), ("abc".to_owned(), 3));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        // 'é' is two bytes, so the cap falls inside a character and must step back.
        let text = format!("a{}", "é".repeat(RECORD_CAP_BYTES));
        let (cut, original) = cap_text(text.clone());
        assert_eq!(original, text.len());
        assert!(cut.len() <= RECORD_CAP_BYTES);
        assert_eq!(cut.len(), RECORD_CAP_BYTES - 1);
        assert!(text.starts_with(&cut));
    }
}
