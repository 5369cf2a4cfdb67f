//! Walks the positioned YAML tree and collects every problem as a [`Diagnostic`] instead of
//! stopping at the first; the section decoders (`PodSpec::decode` and friends) build on it.

use std::path::{Path, PathBuf};

use crate::Diagnostic;
use crate::keys;
use crate::node::{Node, NodeValue, Position, ScalarValue};
use crate::paths;

pub(crate) struct Decoder<'a> {
    file: &'a Path,
    source: &'a str,
    spec_directory: PathBuf,
    diagnostics: Vec<Diagnostic>,
    /// Problems past [`MAX_DIAGNOSTICS`], counted but not kept: a broken file of a million lines
    /// must not cost a million messages.
    suppressed: usize,
}

/// More problems than anyone reads; past this they are only counted.
const MAX_DIAGNOSTICS: usize = 50;

/// The entries of a mapping whose keys were checked: unknown and duplicate keys are already
/// reported, and only the first of duplicate entries is kept.
pub(crate) struct Fields<'n> {
    /// Where a missing key is reported: the key that opens the section.
    pub(crate) owner: Position,
    /// The section as messages name it, e.g. "`database`".
    label: String,
    entries: Vec<Field<'n>>,
}

pub(crate) struct Field<'n> {
    pub(crate) key: &'n str,
    pub(crate) key_position: Position,
    pub(crate) value: &'n Node,
}

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, key: &str) -> Option<&Field<'n>> {
        self.entries.iter().find(|field| field.key == key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Field<'n>> {
        self.entries.iter()
    }

    pub(crate) fn owner(&self) -> Position {
        self.owner
    }
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(file: &'a Path, source: &'a str) -> Decoder<'a> {
        Decoder {
            file,
            source,
            spec_directory: paths::spec_directory(file),
            diagnostics: Vec::new(),
            suppressed: 0,
        }
    }

    pub(crate) fn spec_directory(&self) -> &Path {
        &self.spec_directory
    }

    pub(crate) fn report(&mut self, position: Position, message: impl Into<String>) {
        self.report_with_help(position, message, None::<String>);
    }

    pub(crate) fn report_with_help(
        &mut self,
        position: Position,
        message: impl Into<String>,
        help: Option<impl Into<String>>,
    ) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.suppressed += 1;
            return;
        }
        let mut diagnostic = Diagnostic::new(self.file, position.line, position.column, message)
            .with_source_from(self.source);
        diagnostic.end_column = position.end_column;
        diagnostic.help = help.map(Into::into);
        self.diagnostics.push(diagnostic);
    }

    /// Takes in the problems of another file the spec names (a price table): reported with the
    /// spec's, at their own file and line.
    pub(crate) fn include(&mut self, diagnostics: Vec<Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// The diagnostics in document order; missing keys are found late but point early.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        // The spec's own first, then those of the files it names (stable: each in its order).
        let file = self.file;
        self.diagnostics.sort_by_key(|diagnostic| {
            (diagnostic.file != file, diagnostic.line, diagnostic.column)
        });
        if self.suppressed > 0 {
            self.diagnostics.push(Diagnostic::new(
                self.file,
                0,
                0,
                format!(
                    "… and {} more problems not shown; fix the ones above first",
                    self.suppressed
                ),
            ));
        }
        self.diagnostics
    }

    /// Where the `skip`-th next `needle` after `from` is written in the source (`skip` 0 is the
    /// first), for a problem inside a scalar: a placeholder in a query, say. Plain, literal and
    /// quoted scalars keep such text as written unless it holds quotes or escapes.
    pub(crate) fn locate_text(
        &self,
        from: Position,
        needle: &str,
        skip: usize,
    ) -> Option<Position> {
        let line_start: usize = self
            .source
            .split_inclusive('\n')
            .take(from.line.saturating_sub(1))
            .map(str::len)
            .sum();
        let start = line_start
            + self.source[line_start..]
                .chars()
                .take(from.column.saturating_sub(1))
                .map(char::len_utf8)
                .sum::<usize>();
        let found = self
            .source
            .get(start..)?
            .match_indices(needle)
            .nth(skip)
            .map(|(offset, _)| start + offset)?;
        let before = &self.source[..found];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |newline| newline + 1)..]
            .chars()
            .count()
            + 1;
        let mut position = Position::at(line, column);
        if !needle.contains('\n') {
            position.end_column = Some(column + needle.chars().count());
        }
        Some(position)
    }

    pub(crate) fn has_problems(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    /// Checks that `node` is a mapping with only `known` keys, each at most once.
    pub(crate) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        owner: Position,
        label: &str,
        known: &[&str],
    ) -> Option<Fields<'n>> {
        self.checked_mapping(node, owner, label, Some(known))
    }

    /// Checks that `node` is a mapping whose keys are strings, each at most once, for mappings
    /// the user names the keys of (`agent.env`).
    pub(crate) fn open_mapping<'n>(
        &mut self,
        node: &'n Node,
        owner: Position,
        label: &str,
    ) -> Option<Fields<'n>> {
        self.checked_mapping(node, owner, label, None)
    }

    /// `Some(None)` when `key` is absent, `None` when it is present but invalid (and reported).
    pub(crate) fn optional<T>(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        decode: impl FnOnce(&mut Self, &Node) -> Option<T>,
    ) -> Option<Option<T>> {
        match fields.get(key) {
            Some(field) => decode(self, field.value).map(Some),
            None => Some(None),
        }
    }

    fn checked_mapping<'n>(
        &mut self,
        node: &'n Node,
        owner: Position,
        label: &str,
        known: Option<&[&str]>,
    ) -> Option<Fields<'n>> {
        let NodeValue::Mapping(entries) = &node.value else {
            self.report(
                node.position,
                format!("expected a mapping for {label}, found {}", node.kind_name()),
            );
            return None;
        };
        let mut fields = Fields {
            owner,
            label: label.to_owned(),
            entries: Vec::new(),
        };
        for (key_node, value) in entries {
            let Some(ScalarValue::String(key)) = key_node.scalar() else {
                self.report(
                    key_node.position,
                    format!(
                        "expected a key name in {label}, found {}",
                        key_node.kind_name()
                    ),
                );
                continue;
            };
            if let Some(known) = known.filter(|known| !known.contains(&key)) {
                let help = match keys::suggest(key, known) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => format!("expected {}", keys::list(known)),
                };
                self.report_with_help(
                    key_node.position,
                    format!("unknown key `{key}` in {label}"),
                    Some(help),
                );
                continue;
            }
            if let Some(first) = fields.get(key) {
                let help = format!("`{key}` is first set on line {}", first.key_position.line);
                self.report_with_help(
                    key_node.position,
                    format!("duplicate key `{key}` in {label}"),
                    Some(help),
                );
                continue;
            }
            fields.entries.push(Field {
                key,
                key_position: key_node.position,
                value,
            });
        }
        Some(fields)
    }

    /// Reports the `required` keys missing from `fields`, all in one diagnostic at the section.
    pub(crate) fn require(&mut self, fields: &Fields<'_>, required: &[&str]) {
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|key| fields.get(key).is_none())
            .collect();
        let message = match missing.as_slice() {
            [] => return,
            [key] => format!("missing required key `{key}` in {}", fields.label),
            keys => format!(
                "missing required keys {} in {}",
                keys::list_all(keys),
                fields.label
            ),
        };
        self.report(fields.owner, message);
    }

    /// Any scalar but null, as written: `version: 1.0` is the string `1.0`.
    pub(crate) fn string(&mut self, node: &Node, name: &str) -> Option<String> {
        match (node.scalar(), node.scalar_text()) {
            (Some(ScalarValue::Null) | None, _) | (_, None) => {
                self.report(
                    node.position,
                    format!("expected a string for `{name}`, found {}", node.kind_name()),
                );
                None
            }
            (Some(_), Some(text)) => Some(text.to_owned()),
        }
    }

    pub(crate) fn non_empty_string(&mut self, node: &Node, name: &str) -> Option<String> {
        let text = self.string(node, name)?;
        if text.trim().is_empty() {
            self.report(node.position, format!("`{name}` is empty"));
            return None;
        }
        Some(text)
    }

    pub(crate) fn integer(&mut self, node: &Node, name: &str) -> Option<i64> {
        let scalar = node.scalar();
        if let Some(ScalarValue::Integer(value)) = scalar {
            return Some(value);
        }
        // `seed: "7"` is a string in YAML; say so, since the fix is not obvious.
        let help = match scalar {
            Some(ScalarValue::String(text)) if text.trim().parse::<i64>().is_ok() => {
                Some(format!("write `{}` without quotes", text.trim()))
            }
            _ => None,
        };
        self.report_with_help(
            node.position,
            format!(
                "expected an integer for `{name}`, found {}",
                node.kind_name()
            ),
            help,
        );
        None
    }

    pub(crate) fn boolean(&mut self, node: &Node, name: &str) -> Option<bool> {
        if let Some(ScalarValue::Boolean(value)) = node.scalar() {
            return Some(value);
        }
        self.report_with_help(
            node.position,
            format!(
                "expected `true` or `false` for `{name}`, found {}",
                node.kind_name()
            ),
            Some("write `true` or `false` without quotes"),
        );
        None
    }

    /// A finite number, integer or not; `help` says how the number is written (its unit).
    pub(crate) fn number(&mut self, node: &Node, name: &str, help: &str) -> Option<f64> {
        let value = match node.scalar() {
            Some(ScalarValue::Float(value)) if value.is_finite() => value,
            // The amounts and rates a spec holds are far below where f64 loses precision.
            #[allow(clippy::cast_precision_loss)]
            Some(ScalarValue::Integer(value)) => value as f64,
            _ => {
                let help = match node.scalar() {
                    Some(ScalarValue::String(text)) if text.trim().parse::<f64>().is_ok() => {
                        format!("write `{}` without quotes", text.trim())
                    }
                    _ => help.to_owned(),
                };
                self.report_with_help(
                    node.position,
                    format!("expected a number for `{name}`, found {}", node.kind_name()),
                    Some(help),
                );
                return None;
            }
        };
        Some(value)
    }

    /// A number greater than zero (`.nan` and `.inf` are numbers, and not valid ones);
    /// `bound_help`, if any, goes with the message when it is not.
    pub(crate) fn positive_number(
        &mut self,
        node: &Node,
        name: &str,
        help: &str,
        bound_help: Option<&str>,
    ) -> Option<f64> {
        let value = match node.scalar() {
            Some(ScalarValue::Float(value)) => value,
            // The amounts and rates a spec holds are far below where f64 loses precision.
            #[allow(clippy::cast_precision_loss)]
            Some(ScalarValue::Integer(value)) => value as f64,
            _ => {
                self.report_with_help(
                    node.position,
                    format!("expected a number for `{name}`, found {}", node.kind_name()),
                    Some(help),
                );
                return None;
            }
        };
        if !(value.is_finite() && value > 0.0) {
            let written = node.scalar_text().unwrap_or_default();
            self.report_with_help(
                node.position,
                format!("`{name}` must be greater than zero, found `{written}`"),
                bound_help,
            );
            return None;
        }
        Some(value)
    }

    /// A number that is at least zero, or greater than zero when `zero_allowed` is false.
    pub(crate) fn non_negative_number(
        &mut self,
        node: &Node,
        name: &str,
        help: &str,
        zero_allowed: bool,
    ) -> Option<f64> {
        let value = self.number(node, name, help)?;
        let (valid, bound) = if zero_allowed {
            (value >= 0.0, "at least zero")
        } else {
            (value > 0.0, "greater than zero")
        };
        if !valid {
            let written = node.scalar_text().unwrap_or_default();
            self.report(
                node.position,
                format!("`{name}` must be {bound}, found `{written}`"),
            );
            return None;
        }
        Some(value)
    }

    /// One of `names` (a keyword such as `pending` or `approve`); anything else is reported,
    /// with the nearest name suggested or `meaning` (what each name means) as help. `what` names
    /// the kind of value in messages ("proposal response").
    pub(crate) fn choice(
        &mut self,
        node: &Node,
        field: &str,
        what: &str,
        names: &[&'static str],
        meaning: &str,
    ) -> Option<&'static str> {
        let expected = names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        let Some(ScalarValue::String(text)) = node.scalar() else {
            self.report_with_help(
                node.position,
                format!(
                    "expected {expected} for `{field}`, found {}",
                    node.kind_name()
                ),
                Some(meaning),
            );
            return None;
        };
        if let Some(name) = names.iter().find(|name| **name == text) {
            return Some(name);
        }
        let help = match keys::suggest(&text.to_ascii_lowercase(), names) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => meaning.to_owned(),
        };
        self.report_with_help(
            node.position,
            format!("unknown {what} `{text}` for `{field}`"),
            Some(help),
        );
        None
    }

    /// The items of a list; anything else is reported.
    pub(crate) fn sequence<'n>(&mut self, node: &'n Node, name: &str) -> Option<&'n [Node]> {
        let NodeValue::Sequence(items) = &node.value else {
            self.report(
                node.position,
                format!("expected a list for `{name}`, found {}", node.kind_name()),
            );
            return None;
        };
        Some(items)
    }

    /// An integer within `minimum..=maximum`.
    pub(crate) fn integer_in_range(
        &mut self,
        node: &Node,
        name: &str,
        minimum: i64,
        maximum: i64,
    ) -> Option<i64> {
        let value = self.integer(node, name)?;
        if value < minimum || value > maximum {
            let expected = if maximum == i64::MAX {
                format!("at least {minimum}")
            } else {
                format!("between {minimum} and {maximum}")
            };
            self.report(
                node.position,
                format!("`{name}` must be {expected}, found {value}"),
            );
            return None;
        }
        Some(value)
    }

    /// A container image reference; only its shape is checked, since whether it exists is up to
    /// the engine that pulls it.
    pub(crate) fn image(&mut self, node: &Node, name: &str) -> Option<String> {
        let image = self.non_empty_string(node, name)?;
        if image.chars().any(char::is_whitespace) {
            self.report_with_help(
                node.position,
                format!("invalid image `{image}`"),
                Some("an image reference has no spaces, e.g. `postgres:15`"),
            );
            return None;
        }
        Some(image)
    }

    /// A path resolved against the spec's directory.
    pub(crate) fn path(&mut self, node: &Node, name: &str) -> Option<PathBuf> {
        let written = self.non_empty_string(node, name)?;
        Some(paths::resolve(&self.spec_directory, &written))
    }

    /// Checks that the file at `resolved` exists; `what` names it in messages ("fixture file not
    /// found: fixtures/nope.sql").
    pub(crate) fn existing_file(
        &mut self,
        node: &Node,
        resolved: PathBuf,
        what: &str,
    ) -> Option<PathBuf> {
        if resolved.is_file() {
            return Some(resolved);
        }
        let message = if resolved.is_dir() {
            format!("{what} is a directory: {}", resolved.display())
        } else {
            format!("{what} not found: {}", resolved.display())
        };
        let help = resolved.is_relative().then(|| {
            format!(
                "paths in a pod spec are relative to its directory, `{}`",
                paths::normalize(&self.spec_directory).display()
            )
        });
        self.report_with_help(node.position, message, help);
        None
    }
}
