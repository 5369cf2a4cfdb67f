//! Builds the positioned [`Node`] tree from saphyr's event parser. saphyr's own loader keeps
//! mappings in a hash map, which loses duplicate keys and stops at the first one; building the
//! tree here keeps every entry so the decoder can report all problems at once.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScanError, Span, SpannedEventReceiver};

use crate::node::{Node, NodeValue, Position};

/// Aliases are expanded by copying; this caps the copies so a "billion laughs" document cannot
/// exhaust memory.
const MAXIMUM_EXPANDED_NODES: usize = 100_000;

/// A YAML syntax error at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) position: Position,
    pub(crate) message: String,
}

/// Parses the first document of `source`; `Ok(None)` when there is no document at all.
pub(crate) fn parse_document(source: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(source);
    parser
        .load(&mut builder, false)
        .map_err(|error| syntax_error(&error))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root)
}

fn syntax_error(error: &ScanError) -> SyntaxError {
    SyntaxError {
        position: Position::at(error.marker().line(), error.marker().col() + 1),
        message: error.info().to_owned(),
    }
}

enum Frame {
    Sequence {
        position: Position,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    expanded_nodes: usize,
    error: Option<SyntaxError>,
}

impl TreeBuilder {
    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                Some(key) => entries.push((key, node)),
                None => *pending_key = Some(node),
            },
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }

    fn expand_alias(&mut self, anchor: usize, position: Position) {
        let Some(node) = self.anchors.get(&anchor).cloned() else {
            self.fail(position, "unknown alias".to_owned());
            return;
        };
        self.expanded_nodes += count_nodes(&node);
        if self.expanded_nodes > MAXIMUM_EXPANDED_NODES {
            self.fail(position, "too many alias expansions".to_owned());
            return;
        }
        self.complete(node, 0);
    }

    fn fail(&mut self, position: Position, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { position, message });
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for TreeBuilder {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let position = Position {
            line: span.start.line(),
            column: span.start.col() + 1,
            end_column: (span.end.line() == span.start.line() && span.end.col() > span.start.col())
                .then(|| span.end.col() + 1),
        };
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    position,
                    value: NodeValue::Scalar {
                        text: text.into_owned(),
                        style,
                        tag: tag.map(std::borrow::Cow::into_owned),
                    },
                };
                self.complete(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Sequence {
                position,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Mapping {
                position,
                anchor,
                entries: Vec::new(),
                pending_key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                // A collection on one line (`[a, b]`, `{a: 1}`) ends at its closing bracket.
                let closed = |start: Position| Position {
                    end_column: (span.end.line() == start.line)
                        .then(|| span.end.col() + 1)
                        .filter(|end| *end > start.column),
                    ..start
                };
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence {
                        position,
                        anchor,
                        items,
                    }) => (
                        Node {
                            position: closed(position),
                            value: NodeValue::Sequence(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Mapping {
                        position,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            position: closed(position),
                            value: NodeValue::Mapping(entries),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.complete(node, anchor);
            }
            Event::Alias(anchor) => self.expand_alias(anchor, position),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        NodeValue::Scalar { .. } => 1,
        NodeValue::Sequence(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeValue::Mapping(entries) => {
            1 + entries
                .iter()
                .map(|(key, value)| count_nodes(key) + count_nodes(value))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping_entries(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            NodeValue::Mapping(entries) => entries,
            other => panic!("expected a mapping, got {other:?}"),
        }
    }

    #[test]
    fn keeps_duplicate_keys_with_positions() {
        let root = parse_document("name: a\nname: b\n")
            .expect("valid yaml")
            .expect("a document");
        let entries = mapping_entries(&root);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0.position, Position::at(2, 1));
        assert_eq!(entries[1].1.scalar_text(), Some("b"));
        assert_eq!(entries[1].1.position, Position::at(2, 7));
    }

    #[test]
    fn nested_positions_are_one_based() {
        let root = parse_document("database:\n  image: postgres:15\n")
            .expect("valid yaml")
            .expect("a document");
        let database = &mapping_entries(&root)[0].1;
        let (key, value) = &mapping_entries(database)[0];
        assert_eq!(key.position, Position::at(2, 3));
        assert_eq!(value.scalar_text(), Some("postgres:15"));
    }

    #[test]
    fn expands_aliases() {
        let root = parse_document("a: &x hello\nb: *x\n")
            .expect("valid yaml")
            .expect("a document");
        assert_eq!(mapping_entries(&root)[1].1.scalar_text(), Some("hello"));
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut source = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            source.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse_document(&source).expect_err("expansion must be capped");
        assert_eq!(error.message, "too many alias expansions");
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let error = parse_document("name: [unclosed\npods: 1\n").expect_err("invalid yaml");
        assert!(error.position.line >= 1, "{error:?}");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn empty_input_has_no_document() {
        assert!(parse_document("").expect("valid yaml").is_none());
        assert!(
            parse_document("# only a comment\n")
                .expect("valid yaml")
                .is_none()
        );
    }
}
