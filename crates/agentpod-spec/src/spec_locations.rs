//! `SpecLocations`: where the keys of a loaded spec sit in its file, for problems found after
//! loading, against other inputs (its issues, its fixtures, the agent program): they are reported
//! like the spec's own, with file, line, column and the source line.

use std::path::{Path, PathBuf};

use crate::Diagnostic;
use crate::load::newlines_only;
use crate::node::{Node, NodeValue, Position};
use crate::yaml_tree::parse_document;

/// The spec's text and positioned tree, read again from its file.
pub struct SpecLocations {
    file: PathBuf,
    source: String,
    root: Option<Node>,
}

impl SpecLocations {
    /// Reads the spec at `path` (as given to [`crate::load`]). A file that cannot be read or
    /// parsed (it changed since it loaded) gives diagnostics without a position.
    pub fn read(path: &Path) -> SpecLocations {
        let source = std::fs::read_to_string(path)
            .map(|source| newlines_only(&source).into_owned())
            .unwrap_or_default();
        let root = parse_document(&source).ok().flatten();
        SpecLocations {
            file: path.to_path_buf(),
            source,
            root,
        }
    }

    /// A diagnostic at the value of `key_path` (`issues.stratify_by`; a number picks an item of
    /// a list: `agent.command.0`), or at the whole file when the spec does not set it.
    pub fn at_value(&self, key_path: &str, message: impl Into<String>) -> Diagnostic {
        match self.find(key_path) {
            Some((_, value)) => self.at_position(value.position, message),
            None => Diagnostic::new(&self.file, 0, 0, message),
        }
    }

    /// A diagnostic at the key of `key_path`, or at the whole file when the spec does not set it.
    pub fn at_key(&self, key_path: &str, message: impl Into<String>) -> Diagnostic {
        match self.find(key_path) {
            Some((Some(key), _)) => self.at_position(key, message),
            Some((None, value)) => self.at_position(value.position, message),
            None => Diagnostic::new(&self.file, 0, 0, message),
        }
    }

    /// A diagnostic at a line and column the decoded spec kept (a boundary rule's).
    pub fn at(&self, line: usize, column: usize, message: impl Into<String>) -> Diagnostic {
        self.at_position(Position::at(line, column), message)
    }

    fn at_position(&self, position: Position, message: impl Into<String>) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(&self.file, position.line, position.column, message)
            .with_source_from(&self.source);
        diagnostic.end_column = position.end_column;
        diagnostic
    }

    /// The key's position (none for a list item) and the value of `key_path`.
    fn find(&self, key_path: &str) -> Option<(Option<Position>, &Node)> {
        let mut node = self.root.as_ref()?;
        let mut key_position = None;
        for segment in key_path.split('.') {
            match &node.value {
                NodeValue::Mapping(entries) => {
                    let (key, value) = entries
                        .iter()
                        .find(|(key, _)| key.scalar_text() == Some(segment))?;
                    key_position = Some(key.position);
                    node = value;
                }
                NodeValue::Sequence(items) => {
                    node = items.get(segment.parse::<usize>().ok()?)?;
                    key_position = None;
                }
                NodeValue::Scalar { .. } => return None,
            }
        }
        Some((key_position, node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locations(source: &str) -> SpecLocations {
        SpecLocations {
            file: PathBuf::from("pod.yaml"),
            source: source.to_owned(),
            root: parse_document(source).ok().flatten(),
        }
    }

    #[test]
    fn keys_and_values_are_found_by_their_path() {
        let spec = locations("name: x\nissues:\n  source: a.csv\n  stratify_by: kind\n");
        let value = spec.at_value("issues.stratify_by", "no such field");
        assert_eq!((value.line, value.column), (4, 16));
        assert_eq!(value.source_line.as_deref(), Some("  stratify_by: kind"));
        let key = spec.at_key("issues.stratify_by", "no such field");
        assert_eq!((key.line, key.column), (4, 3));
    }

    #[test]
    fn list_items_are_found_by_their_index() {
        let spec = locations("agent:\n  command: [\"./agent\", \"--fast\"]\n");
        let item = spec.at_value("agent.command.1", "x");
        assert_eq!((item.line, item.column), (2, 24));
    }

    #[test]
    fn a_key_the_spec_does_not_set_points_at_the_file() {
        let spec = locations("name: x\n");
        let missing = spec.at_value("issues.stratify_by", "x");
        assert_eq!((missing.line, missing.column), (0, 0));
        assert_eq!(missing.file, PathBuf::from("pod.yaml"));
    }
}
