//! Placeholders written inside SQL quotes (`'{{id}}'`, `"{{field}}"`, `'%{{word}}%'`). The
//! grader fills a placeholder in as a quoted SQL literal already, so quotes around it make
//! `''T-1''`: every issue then fails with a syntax error, or compares with the wrong text.
//! Found by a small scanner that knows SQL's quotes and comments, as Postgres reads them.

use crate::template_part::is_field_path;

/// One placeholder inside quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuotedPlaceholder<'a> {
    /// The placeholder as written, braces included: `{{id}}`, `{{ id }}`.
    pub(crate) written: &'a str,
    /// The field path inside it.
    pub(crate) field: &'a str,
    /// How many placeholders written the same way come before it in the query, quoted or not,
    /// to find this one in the spec's text.
    pub(crate) occurrence: usize,
    /// The quote it sits in: `'` for a string, `"` for an identifier.
    pub(crate) quote: char,
    /// The quotes hold only the placeholder (`'{{id}}'`), rather than text around it too.
    pub(crate) alone: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// Inside `'...'` or `"..."`, from the byte offset of the opening quote.
    Quoted {
        quote: u8,
        backslash_escapes: bool,
        opened_at: usize,
    },
    LineComment,
    BlockComment(usize),
}

/// Every placeholder of `query` that sits inside a quoted string or identifier, in order.
/// Dollar-quoted bodies are skipped whole, as text the placeholder rule does not judge.
pub(crate) fn quoted_placeholders(query: &str) -> Vec<QuotedPlaceholder<'_>> {
    let bytes = query.as_bytes();
    let mut found = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut state = State::Code;
    let mut index = 0;
    while index < bytes.len() {
        if let Some((written, field, end)) = placeholder_at(query, index) {
            let occurrence = seen.iter().filter(|earlier| **earlier == written).count();
            seen.push(written);
            if let State::Quoted {
                quote, opened_at, ..
            } = state
            {
                let closes_next = bytes.get(end) == Some(&quote);
                found.push(QuotedPlaceholder {
                    written,
                    field,
                    occurrence,
                    quote: char::from(quote),
                    alone: opened_at + 1 == index && closes_next,
                });
            }
            index = end;
            continue;
        }
        let byte = bytes[index];
        let next = bytes.get(index + 1).copied();
        match state {
            State::Code => match byte {
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    index += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment(1);
                    index += 1;
                }
                b'\'' | b'"' => {
                    let escape_prefix = byte == b'\''
                        && index > 0
                        && matches!(bytes[index - 1], b'e' | b'E')
                        && (index == 1 || !is_word_byte(bytes[index - 2]));
                    state = State::Quoted {
                        quote: byte,
                        backslash_escapes: escape_prefix,
                        opened_at: index,
                    };
                }
                b'$' if index == 0 || !is_word_byte(bytes[index - 1]) => {
                    if let Some(end) = dollar_quote_end(query, index) {
                        index = end;
                        continue;
                    }
                }
                _ => {}
            },
            State::Quoted {
                quote,
                backslash_escapes,
                ..
            } => {
                if backslash_escapes && byte == b'\\' {
                    index += 1;
                } else if byte == quote {
                    if next == Some(quote) {
                        index += 1;
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::LineComment => {
                if byte == b'\n' {
                    state = State::Code;
                }
            }
            State::BlockComment(depth) => {
                if byte == b'/' && next == Some(b'*') {
                    state = State::BlockComment(depth + 1);
                    index += 1;
                } else if byte == b'*' && next == Some(b'/') {
                    state = if depth == 1 {
                        State::Code
                    } else {
                        State::BlockComment(depth - 1)
                    };
                    index += 1;
                }
            }
        }
        index += 1;
    }
    found
}

/// The placeholder starting at byte `index` (written, field, end offset), by the template rule:
/// `{{`, optional blanks, a field path, optional blanks, `}}`.
fn placeholder_at(query: &str, index: usize) -> Option<(&str, &str, usize)> {
    let rest = query.get(index..)?.strip_prefix("{{")?;
    let close = rest.find("}}")?;
    let field = rest[..close].trim();
    if !is_field_path(field) {
        return None;
    }
    let end = index + 2 + close + 2;
    Some((&query[index..end], field, end))
}

/// Where the dollar-quoted body opening at `start` (`$$` or `$tag$`) ends, after its closing tag.
fn dollar_quote_end(query: &str, start: usize) -> Option<usize> {
    let rest = &query[start + 1..];
    let tag_length = rest.find('$')?;
    let tag = &rest[..tag_length];
    let valid_tag = tag
        .chars()
        .next()
        .is_none_or(|first| first.is_ascii_alphabetic() || first == '_')
        && tag
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    if !valid_tag {
        return None;
    }
    let delimiter = &query[start..start + tag_length + 2];
    let body_start = start + delimiter.len();
    let closing = query[body_start..].find(delimiter)?;
    Some(body_start + closing + delimiter.len())
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> Vec<(&str, char, bool)> {
        quoted_placeholders(query)
            .into_iter()
            .map(|found| (found.field, found.quote, found.alone))
            .collect()
    }

    #[test]
    fn quoted_placeholders_are_found() {
        assert_eq!(
            fields("SELECT count(*) = 1 FROM t WHERE id = '{{id}}'"),
            [("id", '\'', true)]
        );
        assert_eq!(
            fields("SELECT \"{{column}}\" FROM t"),
            [("column", '"', true)]
        );
        assert_eq!(
            fields("SELECT note LIKE '%{{ expected.word }}%' FROM t"),
            [("expected.word", '\'', false)]
        );
        assert_eq!(fields("SELECT E'it''s {{x}}'"), [("x", '\'', false)]);
    }

    #[test]
    fn bare_placeholders_and_other_text_are_left_alone() {
        assert!(fields("SELECT status = {{expected.status}} FROM t WHERE id = {{id}}").is_empty());
        // A doubled quote closes nothing; the placeholder after the string is bare.
        assert!(fields("SELECT 'it''s' = {{x}}").is_empty());
        // Array literals are not placeholders.
        assert!(fields("SELECT '{{1,2},{3,4}}'::int[] IS NOT NULL").is_empty());
        // Comments and dollar quotes are not strings of the query.
        assert!(fields("SELECT {{x}} -- it's fine\n = 1").is_empty());
        assert!(fields("SELECT $$ '{{x}}' $$ = {{x}}").is_empty());
        assert!(fields("SELECT /* ' */ {{x}}").is_empty());
        // A backslash escapes a quote only in E'' strings.
        assert!(fields("SELECT E'\\'' = {{x}}").is_empty());
    }

    #[test]
    fn occurrences_count_every_placeholder_written_the_same_way() {
        let found = quoted_placeholders("SELECT {{id}} = 1 AND x = '{{id}}'");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].occurrence, 1);
        assert_eq!(found[0].written, "{{id}}");
    }
}
