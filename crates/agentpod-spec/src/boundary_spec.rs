//! The `boundary` section: which tables and columns the agent may write, may only propose writes
//! to, may only read, or may not see. A spec alone cannot tell whether the tables exist; the
//! database crate checks that against the seeded catalog, so every rule keeps its position.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::identifier::{TABLE_NAME_HELP, is_identifier, is_table_name};
use crate::keys;
use crate::node::{Node, Position};
use crate::{AccessClass, ProposalResponse};

/// Unqualified names land in this schema when fixtures are seeded, so `tickets` and
/// `public.tickets` name the same table.
const DEFAULT_SCHEMA: &str = "public";

const COLUMN_RULE_HELP: &str =
    "write `table.column` or `schema.table.column`, e.g. `tickets.status: writable`";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundarySpec {
    /// The class of every table not listed; without it, every table must be listed.
    pub default: Option<AccessClass>,
    pub on_proposal: ProposalResponse,
    /// In the order written.
    pub tables: Vec<TableRule>,
    /// In the order written; each overrides its table's class for one column.
    pub columns: Vec<ColumnRule>,
    /// The position of the `boundary` key, where a problem with the boundary as a whole (a table
    /// left unclassified) is reported.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRule {
    /// As written: `table` or `schema.table`.
    pub table: String,
    pub access: AccessClass,
    /// The position of the rule's key, for "no such table" found later.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRule {
    /// As written: `table` or `schema.table`.
    pub table: String,
    pub column: String,
    pub access: AccessClass,
    /// The position of the rule's key, for "no such column" found later.
    pub line: usize,
    pub column_number: usize,
}

impl BoundarySpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<BoundarySpec> {
        let fields = decoder.mapping(node, owner, "`boundary`", keys::BOUNDARY)?;
        let default = decoder.optional(&fields, "default", |decoder, node| {
            AccessClass::decode(decoder, node, "`boundary.default`")
        });
        let on_proposal = decoder.optional(&fields, "on_proposal", ProposalResponse::decode);
        let tables = decoder.optional(&fields, "tables", decode_tables);
        let columns = decoder.optional(&fields, "columns", decode_columns);
        Some(BoundarySpec {
            default: default?,
            on_proposal: on_proposal?.unwrap_or_default(),
            tables: tables?.unwrap_or_default(),
            columns: columns?.unwrap_or_default(),
            line: owner.line,
            column: owner.column,
        })
    }
}

fn decode_tables(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<TableRule>> {
    let fields = decoder.open_mapping(node, node.position, "`boundary.tables`")?;
    let mut rules = Vec::new();
    let mut valid = true;
    for field in fields.iter() {
        let table = field.key;
        let access =
            AccessClass::decode(decoder, field.value, &format!("`boundary.tables.{table}`"));
        if !is_table_name(table) {
            // `ticket-notes` for `ticket_notes` is the likeliest slip.
            let underscored = table.replace('-', "_");
            let help = if is_table_name(&underscored) {
                format!("did you mean `{underscored}`? {TABLE_NAME_HELP}")
            } else {
                TABLE_NAME_HELP.to_owned()
            };
            decoder.report_with_help(
                field.key_position,
                format!("invalid table name `{table}` in `boundary.tables`"),
                Some(help),
            );
            valid = false;
            continue;
        }
        if let Some(first) = rules
            .iter()
            .find(|rule: &&TableRule| qualified(&rule.table) == qualified(table))
        {
            report_listed_twice(decoder, field.key_position, table, &first.table, first.line);
            valid = false;
            continue;
        }
        match access {
            Some(access) => rules.push(TableRule {
                table: table.to_owned(),
                access,
                line: field.key_position.line,
                column: field.key_position.column,
            }),
            None => valid = false,
        }
    }
    valid.then_some(rules)
}

fn decode_columns(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<ColumnRule>> {
    let fields = decoder.open_mapping(node, node.position, "`boundary.columns`")?;
    let mut rules: Vec<ColumnRule> = Vec::new();
    let mut valid = true;
    for field in fields.iter() {
        let key = field.key;
        let access =
            AccessClass::decode(decoder, field.value, &format!("`boundary.columns.{key}`"));
        let Some((table, column)) = split_column_rule(decoder, key, field.key_position) else {
            valid = false;
            continue;
        };
        if let Some(first) = rules
            .iter()
            .find(|rule| rule.column == column && qualified(&rule.table) == qualified(table))
        {
            let first_key = format!("{}.{}", first.table, first.column);
            report_listed_twice(decoder, field.key_position, key, &first_key, first.line);
            valid = false;
            continue;
        }
        match access {
            Some(access) => rules.push(ColumnRule {
                table: table.to_owned(),
                column: column.to_owned(),
                access,
                line: field.key_position.line,
                column_number: field.key_position.column,
            }),
            None => valid = false,
        }
    }
    valid.then_some(rules)
}

/// `tickets.status` → (`tickets`, `status`); `support.tickets.status` → (`support.tickets`,
/// `status`).
fn split_column_rule<'k>(
    decoder: &mut Decoder<'_>,
    key: &'k str,
    position: Position,
) -> Option<(&'k str, &'k str)> {
    let Some((table, column)) = key.rsplit_once('.') else {
        let help = if is_identifier(key) {
            format!("write `table.column`, e.g. `tickets.{key}`")
        } else {
            COLUMN_RULE_HELP.to_owned()
        };
        decoder.report_with_help(
            position,
            format!("column rule `{key}` does not name its table"),
            Some(help),
        );
        return None;
    };
    if !is_table_name(table) || !is_identifier(column) {
        decoder.report_with_help(
            position,
            format!("invalid column rule `{key}` in `boundary.columns`"),
            Some(COLUMN_RULE_HELP),
        );
        return None;
    }
    Some((table, column))
}

fn report_listed_twice(
    decoder: &mut Decoder<'_>,
    position: Position,
    written: &str,
    first_written: &str,
    first_line: usize,
) {
    decoder.report_with_help(
        position,
        format!("`{written}` is listed twice in the boundary"),
        Some(format!(
            "it is first listed as `{first_written}` on line {first_line}; unqualified names are in the `{DEFAULT_SCHEMA}` schema"
        )),
    );
}

/// The table as `(schema, name)`, so two spellings of one table compare equal.
fn qualified(table: &str) -> (&str, &str) {
    table.split_once('.').unwrap_or((DEFAULT_SCHEMA, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unqualified_tables_are_in_the_default_schema() {
        assert_eq!(qualified("tickets"), ("public", "tickets"));
        assert_eq!(qualified("public.tickets"), qualified("tickets"));
        assert_ne!(qualified("support.tickets"), qualified("tickets"));
    }
}
