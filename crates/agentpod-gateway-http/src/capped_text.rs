//! The size cap on what a gateway records of the agent's text (bodies, arguments, results,
//! attribute values), so one runaway agent cannot fill the run store: text is cut on a character
//! boundary and its original size is kept beside it.

use serde::Serialize;

/// The most bytes of one recorded text a gateway keeps.
pub const RECORD_CAP_BYTES: usize = 64 * 1024;

/// Text kept for a record, cut at [`RECORD_CAP_BYTES`] with the original size kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CappedText {
    pub text: String,
    pub original_bytes: usize,
    pub truncated: bool,
}

impl CappedText {
    /// Copies no more of `text` than the cap keeps.
    pub fn new(text: &str) -> CappedText {
        let end = cut_point(text, RECORD_CAP_BYTES);
        CappedText {
            text: text[..end].to_owned(),
            original_bytes: text.len(),
            truncated: end < text.len(),
        }
    }

    /// Bytes as text (invalid UTF-8 replaced), capped.
    pub fn from_bytes(bytes: &[u8]) -> CappedText {
        // Valid UTF-8, the usual case, is checked in one pass and copied once.
        match std::str::from_utf8(bytes) {
            Ok(text) => CappedText::new(text),
            Err(_) => CappedText::new(&String::from_utf8_lossy(bytes)),
        }
    }

    /// Takes the text by value, so text under the cap is kept without a copy.
    pub fn from_string(mut text: String) -> CappedText {
        let original_bytes = text.len();
        let truncated = cap_text(&mut text, RECORD_CAP_BYTES).is_some();
        CappedText {
            text,
            original_bytes,
            truncated,
        }
    }
}

/// Cuts `text` to at most `cap` bytes on a character boundary; returns the original byte count
/// when it was cut.
pub fn cap_text(text: &mut String, cap: usize) -> Option<usize> {
    let original = text.len();
    let end = cut_point(text, cap);
    if end == original {
        return None;
    }
    text.truncate(end);
    Some(original)
}

/// The longest prefix of `text` of at most `cap` bytes that ends on a character boundary.
fn cut_point(text: &str, cap: usize) -> usize {
    if text.len() <= cap {
        return text.len();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        let kept = CappedText::new("short");
        assert_eq!(kept.text, "short");
        assert_eq!(kept.original_bytes, 5);
        assert!(!kept.truncated);
        assert_eq!(CappedText::from_string("abc".to_owned()).text, "abc");
        let mut text = String::from("hello");
        assert_eq!(cap_text(&mut text, 5), None);
        assert_eq!(text, "hello");
    }

    #[test]
    fn long_text_keeps_the_cap_and_its_original_size() {
        // 'é' is two bytes after one 'a', so the cap falls inside a character and steps back.
        let text = format!("a{}", "é".repeat(RECORD_CAP_BYTES));
        for capped in [
            CappedText::new(&text),
            CappedText::from_string(text.clone()),
            CappedText::from_bytes(text.as_bytes()),
        ] {
            assert!(capped.truncated);
            assert_eq!(capped.original_bytes, text.len());
            assert_eq!(capped.text.len(), RECORD_CAP_BYTES - 1);
            assert!(text.starts_with(&capped.text));
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_with_replacement_characters() {
        let kept = CappedText::from_bytes(b"ok \xff end");
        assert_eq!(kept.text, "ok \u{fffd} end");
        assert_eq!(kept.original_bytes, kept.text.len());
        assert!(!kept.truncated);
    }

    #[test]
    fn text_exactly_at_the_cap_is_not_cut() {
        let capped = CappedText::from_string("x".repeat(RECORD_CAP_BYTES));
        assert!(!capped.truncated);
        assert_eq!(capped.text.len(), RECORD_CAP_BYTES);
    }

    #[test]
    fn any_cap_cuts_on_a_character_boundary_and_reports_the_size() {
        // "é" is two bytes: a cut at 3 bytes would split the second one.
        let mut text = String::from("éééé");
        assert_eq!(cap_text(&mut text, 3), Some(8));
        assert_eq!(text, "é");
    }
}
