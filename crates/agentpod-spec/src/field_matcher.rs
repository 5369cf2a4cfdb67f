//! `FieldMatcher`: how one expected output field is compared with the agent's answer, as written
//! under `grading.fields`: `equal`, `{ one_of: [...] }`, `{ regex: "..." }` or `{ within: 0.01 }`.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::json_value::decode_json;
use crate::keys;
use crate::node::{Node, NodeValue, ScalarValue};

const MATCHER_HELP: &str =
    "write `equal`, `{ one_of: [a, b] }`, `{ regex: \"a|b\" }` or `{ within: 0.01 }`";

/// Serializes as written in the spec: `"equal"`, `{"one_of": [...]}`, `{"regex": "..."}`,
/// `{"within": 0.01}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldMatcher {
    /// The answer equals the issue's expected value (scalars by their text, so CSV text agrees
    /// with JSON numbers and booleans).
    #[default]
    Equal,
    /// The answer is any of these; the issue's expected value is ignored.
    OneOf(Vec<serde_json::Value>),
    /// The answer's text contains a match of this regular expression (unanchored; write `^…$`
    /// to match the whole answer); the issue's expected value is ignored.
    Regex(String),
    /// The answer is a number at most this far from the issue's expected value.
    Within(f64),
}

impl FieldMatcher {
    /// `name` is the field's path as messages show it, e.g. `grading.fields.priority`.
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        name: &str,
    ) -> Option<FieldMatcher> {
        match &node.value {
            NodeValue::Mapping(_) => decode_mapping(decoder, node, name),
            NodeValue::Scalar { .. } => decode_word(decoder, node, name),
            NodeValue::Sequence(_) => {
                decoder.report_with_help(
                    node.position,
                    format!("expected a matcher for `{name}`, found a list"),
                    Some("a list of accepted answers is written `{ one_of: [a, b] }`"),
                );
                None
            }
        }
    }
}

fn decode_word(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<FieldMatcher> {
    if let Some(ScalarValue::String(word)) = node.scalar() {
        if word == "equal" {
            return Some(FieldMatcher::Equal);
        }
        let help = if keys::FIELD_MATCHER.contains(&word) {
            format!("`{word}` needs a value, e.g. `{{ {word}: ... }}`")
        } else if let Some(suggestion) = keys::suggest(word, keys::FIELD_MATCHER_WORDS) {
            format!("did you mean `{suggestion}`?")
        } else {
            MATCHER_HELP.to_owned()
        };
        decoder.report_with_help(
            node.position,
            format!("unknown matcher `{word}` for `{name}`"),
            Some(help),
        );
        return None;
    }
    decoder.report_with_help(
        node.position,
        format!(
            "expected a matcher for `{name}`, found {}",
            node.kind_name()
        ),
        Some(MATCHER_HELP),
    );
    None
}

fn decode_mapping(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<FieldMatcher> {
    let fields = decoder.mapping(
        node,
        node.position,
        &format!("`{name}`"),
        keys::FIELD_MATCHER,
    )?;
    let mut matchers = fields.iter();
    let Some(first) = matchers.next() else {
        // A mapping of unknown keys only is already reported key by key.
        if matches!(&node.value, NodeValue::Mapping(entries) if !entries.is_empty()) {
            return None;
        }
        decoder.report_with_help(
            node.position,
            format!("no matcher in `{name}`"),
            Some(MATCHER_HELP),
        );
        return None;
    };
    if let Some(second) = matchers.next() {
        decoder.report_with_help(
            second.key_position,
            format!("`{name}` sets both `{}` and `{}`", first.key, second.key),
            Some("a field has one matcher"),
        );
        return None;
    }
    let label = format!("{name}.{}", first.key);
    let node = first.value;
    match first.key {
        "one_of" => decode_one_of(decoder, node, &label),
        "regex" => decode_regex(decoder, node, &label),
        // Zero is allowed: an exact numeric comparison, unlike `equal`'s comparison of text.
        "within" => decoder
            .non_negative_number(
                node,
                &label,
                "write the tolerance as a number, e.g. `0.01`",
                true,
            )
            .map(FieldMatcher::Within),
        // `mapping` already refused every other key.
        _ => None,
    }
}

fn decode_one_of(decoder: &mut Decoder<'_>, node: &Node, label: &str) -> Option<FieldMatcher> {
    let items = decoder.sequence(node, label)?;
    if items.is_empty() {
        decoder.report_with_help(
            node.position,
            format!("`{label}` is empty"),
            Some("list the accepted answers, e.g. `one_of: [high, urgent]`"),
        );
        return None;
    }
    let values: Vec<Option<serde_json::Value>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| decode_json(decoder, item, &format!("{label}[{index}]")))
        .collect();
    values
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(FieldMatcher::OneOf)
}

fn decode_regex(decoder: &mut Decoder<'_>, node: &Node, label: &str) -> Option<FieldMatcher> {
    let pattern = decoder.non_empty_string(node, label)?;
    match regex::Regex::new(&pattern) {
        Ok(_) => Some(FieldMatcher::Regex(pattern)),
        Err(error) => {
            decoder.report_with_help(
                node.position,
                format!(
                    "invalid regular expression `{pattern}` for `{label}`: {}",
                    regex_problem(&error)
                ),
                Some("the syntax is Rust's `regex` crate's, e.g. `refund|charge`; escape `\\` as `\\\\` in double quotes"),
            );
            None
        }
    }
}

/// The regex crate renders a syntax error over several lines with a caret under the pattern;
/// the diagnostic already shows the pattern, so only the last line (what is wrong) is kept.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_problems_keep_only_what_is_wrong() {
        // Built at run time: clippy rejects a literal invalid pattern, which is the point here.
        let pattern = ["(", "refund"].concat();
        let Err(error) = regex::Regex::new(&pattern) else {
            panic!("an unclosed group must not compile");
        };
        assert_eq!(regex_problem(&error), "unclosed group");
    }

    #[test]
    fn matchers_serialize_as_written() {
        let written = |matcher: &FieldMatcher| serde_json::to_string(matcher).unwrap_or_default();
        assert_eq!(written(&FieldMatcher::Equal), r#""equal""#);
        assert_eq!(
            written(&FieldMatcher::OneOf(vec!["high".into()])),
            r#"{"one_of":["high"]}"#
        );
        assert_eq!(written(&FieldMatcher::Within(0.5)), r#"{"within":0.5}"#);
    }
}
