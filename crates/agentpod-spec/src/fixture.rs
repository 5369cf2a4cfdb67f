//! One entry of `database.fixtures`: a SQL script, or a CSV or JSON Lines file loaded into a
//! table.

use std::path::PathBuf;

use serde::Serialize;

use crate::decoder::{Decoder, Field, Fields};
use crate::identifier::{TABLE_NAME_HELP, is_table_name};
use crate::keys;
use crate::node::{Node, NodeValue};

const ENTRY_HELP: &str = "write `sql: path`, or `table: name` with `csv: path` or `jsonl: path`";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixture {
    /// Resolved against the spec's directory and normalised lexically.
    pub path: PathBuf,
    pub kind: FixtureKind,
    /// The line of the entry in the spec, for errors found later while seeding.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum FixtureKind {
    Sql,
    Csv { table: String },
    JsonLines { table: String },
}

/// The keys that name a fixture's file, one of which an entry must have.
const FILE_KEYS: &[&str] = &["sql", "csv", "jsonl"];

impl Fixture {
    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node, index: usize) -> Option<Fixture> {
        if matches!(node.value, NodeValue::Scalar { .. }) {
            decoder.report_with_help(
                node.position,
                format!(
                    "expected a mapping for fixture entry {}, found {}",
                    index + 1,
                    node.kind_name()
                ),
                Some(ENTRY_HELP),
            );
            return None;
        }
        let fields = decoder.mapping(node, node.position, "the fixture entry", keys::FIXTURE)?;
        let files: Vec<&Field<'_>> = FILE_KEYS.iter().filter_map(|key| fields.get(key)).collect();
        let table = decode_table(decoder, &fields, index);
        // Every file is checked even when the entry is invalid, to report all problems at once.
        let paths: Vec<Option<PathBuf>> = files
            .iter()
            .map(|field| {
                let name = format!("database.fixtures[{index}].{}", field.key);
                let resolved = decoder.path(field.value, &name)?;
                decoder.existing_file(field.value, resolved, "fixture file")
            })
            .collect();

        let [file] = files.as_slice() else {
            match files.as_slice() {
                [] => decoder.report_with_help(
                    fields.owner(),
                    "fixture entry has no file",
                    Some(ENTRY_HELP),
                ),
                [first, second, ..] => decoder.report_with_help(
                    second.key_position,
                    format!(
                        "fixture entry has both `{}` and `{}`",
                        first.key, second.key
                    ),
                    Some("use one entry per file"),
                ),
                [_] => {}
            }
            return None;
        };
        let kind = match (file.key, fields.get("table")) {
            ("sql", None) => Some(FixtureKind::Sql),
            ("sql", Some(table_field)) => {
                decoder.report_with_help(
                    table_field.key_position,
                    "`table` does not apply to a `sql` fixture",
                    Some("a `sql` fixture is run as a script; remove `table`"),
                );
                None
            }
            (key, None) => {
                decoder.report_with_help(
                    fields.owner(),
                    format!("a `{key}` fixture needs a `table`"),
                    Some(format!(
                        "add `table: name`, the table the `{key}` rows go into"
                    )),
                );
                None
            }
            ("csv", Some(_)) => table.map(|table| FixtureKind::Csv { table }),
            (_, Some(_)) => table.map(|table| FixtureKind::JsonLines { table }),
        };
        Some(Fixture {
            path: paths.into_iter().next().flatten()?,
            kind: kind?,
            line: node.position.line,
        })
    }
}

fn decode_table(decoder: &mut Decoder<'_>, fields: &Fields<'_>, index: usize) -> Option<String> {
    let field = fields.get("table")?;
    let table =
        decoder.non_empty_string(field.value, &format!("database.fixtures[{index}].table"))?;
    if is_table_name(&table) {
        return Some(table);
    }
    decoder.report_with_help(
        field.value.position,
        format!("invalid table name `{table}`"),
        Some(TABLE_NAME_HELP),
    );
    None
}
