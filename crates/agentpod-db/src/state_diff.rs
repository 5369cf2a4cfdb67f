//! `StateDiff`: how one database state differs from another, table by table and row by row,
//! readable enough to explain a failed gold-actions check.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::json_path_diff::json_path_changes;
use crate::state_snapshot::compare_keys;
use crate::{RowValues, SnapshotRow, StateSnapshot, TableSnapshot};

/// `Display` lists this many differences; the rest are counted.
const DISPLAYED_DIFFERENCES: usize = 10;

/// The tables whose rows differ, sorted by name; empty when the states are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateDiff {
    pub tables: Vec<TableDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    pub table: String,
    /// The columns that identify a row; empty when whole rows are compared.
    pub key_columns: Vec<String>,
    /// In the expected state only.
    pub missing_rows: Vec<SnapshotRow>,
    /// In the actual state only.
    pub extra_rows: Vec<SnapshotRow>,
    /// Same key, other values; only for tables with a key.
    pub changed_rows: Vec<ChangedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedRow {
    pub key: Vec<Option<String>>,
    pub expected: RowValues,
    pub actual: RowValues,
    /// Sorted by name.
    pub differing_columns: Vec<String>,
}

impl StateDiff {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Missing, extra and changed rows over every table.
    #[must_use]
    pub fn difference_count(&self) -> usize {
        self.tables.iter().map(TableDiff::difference_count).sum()
    }
}

impl TableDiff {
    #[must_use]
    pub fn difference_count(&self) -> usize {
        self.missing_rows.len() + self.extra_rows.len() + self.changed_rows.len()
    }
}

/// Compares two snapshots of databases cloned from one template. Tables with equal hashes are
/// equal and skipped; a table only one snapshot has is compared with an empty table.
#[must_use]
pub fn diff_states(expected: &StateSnapshot, actual: &StateSnapshot) -> StateDiff {
    let mut names: Vec<&str> = expected
        .tables
        .iter()
        .chain(&actual.tables)
        .map(|table| table.table.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let tables = names
        .into_iter()
        .filter_map(|name| diff_table(name, expected.table(name), actual.table(name)))
        .collect();
    StateDiff { tables }
}

fn diff_table(
    name: &str,
    expected: Option<&TableSnapshot>,
    actual: Option<&TableSnapshot>,
) -> Option<TableDiff> {
    if let (Some(expected), Some(actual)) = (expected, actual)
        && expected.hash == actual.hash
    {
        return None;
    }
    let empty: &[SnapshotRow] = &[];
    let expected_rows = expected.map_or(empty, |table| table.rows.as_slice());
    let actual_rows = actual.map_or(empty, |table| table.rows.as_slice());
    // Both clones come from one template, so a key is the same on both sides unless the agent
    // altered the table; then rows are compared whole.
    let key_columns = match (expected, actual) {
        (Some(expected), Some(actual)) if expected.key_columns == actual.key_columns => {
            expected.key_columns.clone()
        }
        (Some(table), None) | (None, Some(table)) => table.key_columns.clone(),
        _ => Vec::new(),
    };
    let mut diff = TableDiff {
        table: name.to_owned(),
        key_columns,
        missing_rows: Vec::new(),
        extra_rows: Vec::new(),
        changed_rows: Vec::new(),
    };
    if diff.key_columns.is_empty() {
        diff_whole_rows(&mut diff, expected_rows, actual_rows);
    } else {
        diff_keyed_rows(&mut diff, expected_rows, actual_rows);
    }
    (diff.difference_count() > 0).then_some(diff)
}

fn diff_keyed_rows(diff: &mut TableDiff, expected: &[SnapshotRow], actual: &[SnapshotRow]) {
    let actual_by_key: BTreeMap<&[Option<String>], &SnapshotRow> =
        actual.iter().map(|row| (row.key.as_slice(), row)).collect();
    let expected_by_key: BTreeMap<&[Option<String>], &SnapshotRow> = expected
        .iter()
        .map(|row| (row.key.as_slice(), row))
        .collect();
    for row in expected {
        match actual_by_key.get(row.key.as_slice()) {
            None => diff.missing_rows.push(row.clone()),
            Some(other) if other.values != row.values => diff.changed_rows.push(ChangedRow {
                key: row.key.clone(),
                expected: row.values.clone(),
                actual: other.values.clone(),
                differing_columns: differing_columns(&row.values, &other.values),
            }),
            Some(_) => {}
        }
    }
    diff.extra_rows = actual
        .iter()
        .filter(|row| !expected_by_key.contains_key(row.key.as_slice()))
        .cloned()
        .collect();
}

/// Rows as a multiset: a duplicate row counts once per copy.
fn diff_whole_rows(diff: &mut TableDiff, expected: &[SnapshotRow], actual: &[SnapshotRow]) {
    let mut unmatched: BTreeMap<&RowValues, usize> = BTreeMap::new();
    for row in actual {
        *unmatched.entry(&row.values).or_default() += 1;
    }
    for row in expected {
        match unmatched.get_mut(&row.values) {
            Some(count) if *count > 0 => *count -= 1,
            _ => diff.missing_rows.push(row.clone()),
        }
    }
    for row in actual {
        if let Some(count) = unmatched.get_mut(&row.values)
            && *count > 0
        {
            *count -= 1;
            diff.extra_rows.push(row.clone());
        }
    }
    diff.extra_rows
        .sort_by(|left, right| compare_keys(&left.key, &right.key));
}

fn differing_columns(expected: &RowValues, actual: &RowValues) -> Vec<String> {
    let mut columns: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .filter(|column| expected.get(*column) != actual.get(*column))
        .cloned()
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns
}

impl fmt::Display for StateDiff {
    /// ```text
    /// ticket_notes: 1 changed, 1 extra
    ///   changed id=3: body "refund approved" → "refund denied"
    ///   extra id=4: body "hello", id 4, ticket_id 1
    /// ```
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(formatter, "no differences");
        }
        let mut shown = 0;
        let mut lines = Vec::new();
        for table in &self.tables {
            lines.push(format!("{}: {}", table.table, table.summary()));
            for line in table.difference_lines() {
                if shown == DISPLAYED_DIFFERENCES {
                    break;
                }
                lines.push(format!("  {line}"));
                shown += 1;
            }
        }
        let total = self.difference_count();
        if total > shown {
            lines.push(format!("… and {} more differences", total - shown));
        }
        write!(formatter, "{}", lines.join("\n"))
    }
}

impl TableDiff {
    fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.missing_rows.len(), "missing"),
            (self.extra_rows.len(), "extra"),
            (self.changed_rows.len(), "changed"),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        parts.join(", ")
    }

    /// Changed rows first: they are the likeliest mistake and the shortest to read.
    fn difference_lines(&self) -> impl Iterator<Item = String> + '_ {
        let changed = self.changed_rows.iter().map(|row| {
            let changes: Vec<String> = row
                .differing_columns
                .iter()
                .flat_map(|column| show_column_change(column, row))
                .collect();
            format!(
                "changed {}: {}",
                self.show_key(&row.key),
                changes.join(", ")
            )
        });
        let missing = self
            .missing_rows
            .iter()
            .map(|row| format!("missing {}", self.show_row(row)));
        let extra = self
            .extra_rows
            .iter()
            .map(|row| format!("extra {}", self.show_row(row)));
        changed.chain(missing).chain(extra)
    }

    fn show_key(&self, key: &[Option<String>]) -> String {
        self.key_columns
            .iter()
            .zip(key)
            .map(|(column, value)| format!("{column}={}", show_value(Some(value))))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn show_row(&self, row: &SnapshotRow) -> String {
        let values = row
            .values
            .iter()
            .map(|(column, value)| format!("{column} {}", show_value(Some(value))))
            .collect::<Vec<_>>()
            .join(", ");
        if self.key_columns.is_empty() {
            format!("row: {values}")
        } else {
            format!("{}: {values}", self.show_key(&row.key))
        }
    }
}

/// One column's change: `column old → new`, or, for JSON documents on both sides (a `json` or
/// `jsonb` column), one `column.path old → new` per changed path.
fn show_column_change(column: &str, row: &ChangedRow) -> Vec<String> {
    let expected = row.expected.get(column);
    let actual = row.actual.get(column);
    if let (Some(Some(expected)), Some(Some(actual))) = (expected, actual)
        && let Some(changes) = json_path_changes(column, expected, actual)
    {
        return changes;
    }
    vec![format!(
        "{column} {} → {}",
        show_value(expected),
        show_value(actual)
    )]
}

/// Text quoted as JSON so spaces and empty strings show; numbers bare; SQL NULL as `NULL`; a
/// column the row lacks as `(absent)`.
fn show_value(value: Option<&Option<String>>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(None) => "NULL".to_owned(),
        Some(Some(text)) if text.parse::<f64>().is_ok() && !text.trim().is_empty() => text.clone(),
        Some(Some(text)) => serde_json::to_string(text).unwrap_or_else(|_| text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key_columns: &[&str], values: &[(&str, Option<&str>)]) -> SnapshotRow {
        let values: RowValues = values
            .iter()
            .map(|(column, value)| ((*column).to_owned(), value.map(str::to_owned)))
            .collect();
        let key = key_columns
            .iter()
            .map(|column| values.get(*column).cloned().flatten())
            .collect();
        SnapshotRow { key, values }
    }

    fn table(
        name: &str,
        key_columns: &[&str],
        rows: Vec<SnapshotRow>,
        hash: &str,
    ) -> TableSnapshot {
        TableSnapshot {
            table: name.to_owned(),
            columns: Vec::new(),
            key_columns: key_columns
                .iter()
                .map(|column| (*column).to_owned())
                .collect(),
            rows,
            hash: hash.to_owned(),
        }
    }

    #[test]
    fn keyed_rows_are_missing_extra_or_changed() {
        let note = |id: &str, body: &str| row(&["id"], &[("id", Some(id)), ("body", Some(body))]);
        let expected = StateSnapshot {
            tables: vec![table(
                "notes",
                &["id"],
                vec![note("1", "a"), note("2", "b")],
                "x",
            )],
        };
        let actual = StateSnapshot {
            tables: vec![table(
                "notes",
                &["id"],
                vec![note("2", "B"), note("3", "c")],
                "y",
            )],
        };
        let diff = diff_states(&expected, &actual);
        let [notes] = diff.tables.as_slice() else {
            panic!("one table differs: {diff:?}");
        };
        assert_eq!(notes.missing_rows, [note("1", "a")]);
        assert_eq!(notes.extra_rows, [note("3", "c")]);
        assert_eq!(notes.changed_rows.len(), 1);
        assert_eq!(notes.changed_rows[0].differing_columns, ["body"]);
        assert_eq!(
            diff.to_string(),
            "notes: 1 missing, 1 extra, 1 changed\n  \
             changed id=2: body \"b\" → \"B\"\n  \
             missing id=1: body \"a\", id 1\n  \
             extra id=3: body \"c\", id 3"
        );
    }

    #[test]
    fn a_changed_json_document_shows_its_changed_paths() {
        let order = |data: &str| {
            row(
                &["id"],
                &[
                    ("id", Some("7")),
                    ("data", Some(data)),
                    ("note", Some("{x")),
                ],
            )
        };
        let expected = StateSnapshot {
            tables: vec![table(
                "orders",
                &["id"],
                vec![order(
                    r#"{"exchange_price_difference": -16.63, "items": [1, 2]}"#,
                )],
                "x",
            )],
        };
        let actual = StateSnapshot {
            tables: vec![table(
                "orders",
                &["id"],
                vec![order(
                    r#"{"exchange_price_difference": -17.02, "items": [1]}"#,
                )],
                "y",
            )],
        };
        assert_eq!(
            diff_states(&expected, &actual).to_string(),
            "orders: 1 changed\n  \
             changed id=7: data.exchange_price_difference -16.63 → -17.02, \
             data.items[1] 2 → (absent)"
        );
    }

    #[test]
    fn equal_hashes_are_equal_tables() {
        let one = row(&["id"], &[("id", Some("1"))]);
        let two = row(&["id"], &[("id", Some("2"))]);
        let expected = StateSnapshot {
            tables: vec![table("t", &["id"], vec![one], "same")],
        };
        let actual = StateSnapshot {
            tables: vec![table("t", &["id"], vec![two], "same")],
        };
        assert!(diff_states(&expected, &actual).is_empty());
        assert_eq!(
            diff_states(&expected, &actual).to_string(),
            "no differences"
        );
    }

    #[test]
    fn rows_without_a_key_compare_as_a_multiset() {
        let tag = |value: &str| row(&["tag"], &[("tag", Some(value))]);
        let expected = StateSnapshot {
            tables: vec![table("tags", &[], vec![tag("a"), tag("a"), tag("b")], "x")],
        };
        let actual = StateSnapshot {
            tables: vec![table("tags", &[], vec![tag("a"), tag("b"), tag("b")], "y")],
        };
        let diff = diff_states(&expected, &actual);
        assert_eq!(diff.tables[0].missing_rows, [tag("a")]);
        assert_eq!(diff.tables[0].extra_rows, [tag("b")]);
        assert!(diff.tables[0].changed_rows.is_empty());
        assert_eq!(
            diff.to_string(),
            "tags: 1 missing, 1 extra\n  missing row: tag \"a\"\n  extra row: tag \"b\""
        );
    }

    #[test]
    fn display_stops_after_the_first_differences() {
        let rows: Vec<SnapshotRow> = (0..25)
            .map(|id| row(&["id"], &[("id", Some(&id.to_string())), ("v", None)]))
            .collect();
        let expected = StateSnapshot {
            tables: vec![table("t", &["id"], rows, "x")],
        };
        let actual = StateSnapshot {
            tables: vec![table("t", &["id"], Vec::new(), "y")],
        };
        let rendered = diff_states(&expected, &actual).to_string();
        assert_eq!(
            rendered.lines().count(),
            1 + DISPLAYED_DIFFERENCES + 1,
            "{rendered}"
        );
        assert!(
            rendered.ends_with("… and 15 more differences"),
            "{rendered}"
        );
        assert!(
            rendered.contains("missing id=0: id 0, v NULL"),
            "{rendered}"
        );
    }
}
