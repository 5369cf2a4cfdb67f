//! The YAML tree the decoder walks: every node keeps its position, and mappings keep every
//! entry in document order, duplicates included, so the decoder can report them.

use saphyr::{Scalar, ScalarStyle, Tag};

/// A 1-based line and column in the spec file, and where the token that starts there ends when
/// it ends on the same line (the column after it), so a caret can underline exactly that token.
/// Positions are equal and ordered by where they start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) end_column: Option<usize>,
}

impl Position {
    pub(crate) const START: Position = Position::at(1, 1);

    pub(crate) const fn at(line: usize, column: usize) -> Position {
        Position {
            line,
            column,
            end_column: None,
        }
    }
}

impl PartialEq for Position {
    fn eq(&self, other: &Self) -> bool {
        (self.line, self.column) == (other.line, other.column)
    }
}

impl Eq for Position {}

impl PartialOrd for Position {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Position {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.line, self.column).cmp(&(other.line, other.column))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) position: Position,
    pub(crate) value: NodeValue,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeValue {
    Scalar {
        text: String,
        style: ScalarStyle,
        tag: Option<Tag>,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

/// What a scalar means under the YAML core schema, so `pods: three` and `pods: "3"` can be told
/// apart from `pods: 3`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScalarValue<'a> {
    Null,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(&'a str),
}

impl Node {
    pub(crate) fn scalar(&self) -> Option<ScalarValue<'_>> {
        let NodeValue::Scalar { text, style, tag } = &self.value else {
            return None;
        };
        let tag = tag.clone().map(std::borrow::Cow::Owned);
        let resolved =
            Scalar::parse_from_cow_and_metadata(text.as_str().into(), *style, tag.as_ref());
        Some(match resolved {
            Some(Scalar::Null) => ScalarValue::Null,
            Some(Scalar::Boolean(value)) => ScalarValue::Boolean(value),
            Some(Scalar::Integer(value)) => ScalarValue::Integer(value),
            Some(Scalar::FloatingPoint(value)) => ScalarValue::Float(value.into_inner()),
            // An explicit tag the text does not fit (`!!int abc`) is still text to the decoder.
            Some(Scalar::String(_)) | None => ScalarValue::String(text),
        })
    }

    /// The raw text of a scalar, whatever its type, e.g. `1.0` for `version: 1.0`.
    pub(crate) fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Describes the node's type for "expected X, found Y" messages.
    pub(crate) fn kind_name(&self) -> String {
        match &self.value {
            NodeValue::Sequence(_) => "a list".to_owned(),
            NodeValue::Mapping(_) => "a mapping".to_owned(),
            NodeValue::Scalar { text, .. } => match self.scalar() {
                Some(ScalarValue::Null) => "nothing".to_owned(),
                Some(ScalarValue::Boolean(_)) => format!("the boolean `{text}`"),
                Some(ScalarValue::Integer(_)) => format!("the integer `{text}`"),
                Some(ScalarValue::Float(_)) => format!("the number `{text}`"),
                _ => format!("the string `{text}`"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Node {
        Node {
            position: Position::START,
            value: NodeValue::Scalar {
                text: text.to_owned(),
                style: ScalarStyle::Plain,
                tag: None,
            },
        }
    }

    #[test]
    fn plain_scalars_resolve_by_core_schema() {
        assert_eq!(plain("3").scalar(), Some(ScalarValue::Integer(3)));
        assert_eq!(plain("three").scalar(), Some(ScalarValue::String("three")));
        assert_eq!(plain("").scalar(), Some(ScalarValue::Null));
        assert_eq!(plain("~").scalar(), Some(ScalarValue::Null));
        assert_eq!(plain("true").scalar(), Some(ScalarValue::Boolean(true)));
        assert_eq!(plain("1.5").scalar(), Some(ScalarValue::Float(1.5)));
    }

    #[test]
    fn quoted_scalars_are_strings() {
        let quoted = Node {
            position: Position::START,
            value: NodeValue::Scalar {
                text: "3".to_owned(),
                style: ScalarStyle::DoubleQuoted,
                tag: None,
            },
        };
        assert_eq!(quoted.scalar(), Some(ScalarValue::String("3")));
        assert_eq!(quoted.kind_name(), "the string `3`");
    }
}
