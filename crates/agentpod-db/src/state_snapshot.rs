//! `StateSnapshot`: the rows of a database's user tables in a canonical order, with a hash per
//! table, so two databases cloned from one template can be compared after different histories
//! (the agent's, and the replay of an issue's gold actions).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

use crate::DbError;
use crate::catalog::{Catalog, CatalogTable};

/// A row's values by column name; `None` is SQL NULL. Values are Postgres's own text for them,
/// so numbers keep every digit and compare exactly.
pub type RowValues = BTreeMap<String, Option<String>>;

/// Every captured table of one database, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateSnapshot {
    pub tables: Vec<TableSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSnapshot {
    /// As a spec writes it: unqualified in `public`, `schema.table` elsewhere.
    pub table: String,
    /// The compared columns in table order; ignored columns are left out.
    pub columns: Vec<String>,
    /// The primary key's columns, which identify a row across the two databases. Empty when
    /// the table has no primary key or one of its columns is ignored; rows are then identified
    /// by all their values.
    pub key_columns: Vec<String>,
    /// Ordered by key (numbers numerically, text by bytes), then by all values.
    pub rows: Vec<SnapshotRow>,
    /// SHA-256, in hex, of the columns and rows in this order: equal hashes, equal tables.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotRow {
    /// The values of `key_columns`, or of every column when there is no key, in column order.
    pub key: Vec<Option<String>>,
    pub values: RowValues,
}

impl StateSnapshot {
    #[must_use]
    pub fn table(&self, table: &str) -> Option<&TableSnapshot> {
        self.tables.iter().find(|snapshot| snapshot.table == table)
    }
}

/// Reads the state of the database at `admin_url` (a superuser URL, so hidden tables are seen).
///
/// `tables` names the tables to capture as a spec writes them (`tickets`, `billing.invoices`);
/// empty means every user table. `ignored_columns` are `table.column` or `schema.table.column`,
/// left out of rows and hashes: values no two histories share, such as `now()` timestamps.
/// Everything is read in one read-only, repeatable-read transaction, so the tables are from the
/// same moment.
///
/// # Errors
///
/// [`DbError::Snapshot`] when the database cannot be read; [`DbError::UnknownSnapshotTable`] or
/// [`DbError::UnknownIgnoredColumn`] for a name the database does not have.
pub async fn snapshot_state(
    admin_url: &str,
    tables: &[String],
    ignored_columns: &[String],
) -> Result<StateSnapshot, DbError> {
    let mut connection = connect_to_read(admin_url).await?;
    let snapshot = read_snapshot(&mut connection, tables, ignored_columns).await;
    if let Err(error) = connection.close().await {
        tracing::debug!(%error, "closing the snapshot connection failed");
    }
    snapshot
}

/// Starts the read-only, repeatable-read transaction a state is read in, with only the
/// system's functions on the search path (names an agent created elsewhere never stand in for
/// them), and reads the database's tables in it.
pub(crate) async fn begin_consistent_read(
    connection: &mut PgConnection,
) -> Result<Catalog, DbError> {
    let failed = |action: &'static str| move |source| DbError::Snapshot { action, source };
    sqlx::raw_sql(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog",
    )
    .execute(&mut *connection)
    .await
    .map_err(failed("start a read-only transaction"))?;
    Catalog::read(connection)
        .await
        .map_err(failed("read the tables"))
}

/// A superuser connection to read a database's state (`admin_url`), its statements not logged.
pub(crate) async fn connect_to_read(admin_url: &str) -> Result<PgConnection, DbError> {
    let failed = |action: &'static str| move |source| DbError::Snapshot { action, source };
    admin_url
        .parse::<PgConnectOptions>()
        .map_err(failed("read the database URL"))?
        .application_name("agentpod")
        .disable_statement_logging()
        .connect()
        .await
        .map_err(failed("connect to the database"))
}

async fn read_snapshot(
    connection: &mut PgConnection,
    tables: &[String],
    ignored_columns: &[String],
) -> Result<StateSnapshot, DbError> {
    let failed = |action: &'static str| move |source| DbError::Snapshot { action, source };
    let catalog = begin_consistent_read(connection).await?;
    let selected = select_tables(&catalog, tables)?;
    let ignored = resolve_ignored(&catalog, ignored_columns)?;
    let mut snapshots = Vec::with_capacity(selected.len());
    for table in selected {
        let primary_key = primary_key(connection, table)
            .await
            .map_err(failed("read a primary key"))?;
        let rows = read_rows(connection, table)
            .await
            .map_err(failed("read the rows of a table"))?;
        let ignored_here = ignored
            .get(&(table.schema.as_str(), table.name.as_str()))
            .cloned()
            .unwrap_or_default();
        snapshots.push(table_snapshot(table, &primary_key, &ignored_here, rows));
    }
    sqlx::raw_sql("COMMIT")
        .execute(&mut *connection)
        .await
        .map_err(failed("end the read-only transaction"))?;
    snapshots.sort_by(|left, right| left.table.cmp(&right.table));
    Ok(StateSnapshot { tables: snapshots })
}

fn select_tables<'c>(
    catalog: &'c Catalog,
    tables: &[String],
) -> Result<Vec<&'c CatalogTable>, DbError> {
    if tables.is_empty() {
        return Ok(catalog.tables.iter().collect());
    }
    let mut selected: Vec<&CatalogTable> = Vec::new();
    for name in tables {
        let index = catalog
            .find(name)
            .ok_or_else(|| DbError::UnknownSnapshotTable {
                table: name.clone(),
            })?;
        let table = &catalog.tables[index];
        if !selected.contains(&table) {
            selected.push(table);
        }
    }
    Ok(selected)
}

/// Ignored columns by `(schema, table)`.
pub(crate) fn resolve_ignored<'c>(
    catalog: &'c Catalog,
    ignored_columns: &[String],
) -> Result<BTreeMap<(&'c str, &'c str), BTreeSet<String>>, DbError> {
    let mut ignored: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
    for written in ignored_columns {
        let unknown = |reason: String| DbError::UnknownIgnoredColumn {
            column: written.clone(),
            reason,
        };
        let (table_name, column) = written
            .rsplit_once('.')
            .ok_or_else(|| unknown("write `table.column`".to_owned()))?;
        let index = catalog
            .find(table_name)
            .ok_or_else(|| unknown(format!("no table `{table_name}`")))?;
        let table = &catalog.tables[index];
        if !table.columns.iter().any(|name| name == column) {
            return Err(unknown(format!(
                "table `{}` has no column `{column}`",
                table.display_name()
            )));
        }
        ignored
            .entry((table.schema.as_str(), table.name.as_str()))
            .or_default()
            .insert(column.to_owned());
    }
    Ok(ignored)
}

async fn primary_key(
    connection: &mut PgConnection,
    table: &CatalogTable,
) -> Result<Vec<String>, sqlx::Error> {
    let columns: Option<Vec<String>> = sqlx::query_scalar(
        "SELECT array(SELECT a.attname::text
                      FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      ORDER BY k.position)
         FROM pg_index i
         WHERE i.indrelid = $1::regclass AND i.indisprimary",
    )
    .bind(table.quoted())
    .fetch_optional(&mut *connection)
    .await?;
    Ok(columns.unwrap_or_default())
}

/// Each row as column → text; `#>> '{}'` gives a JSON scalar's text without quotes, and
/// `to_jsonb` keeps numerics exact and writes timestamps the same whatever the session's style.
async fn read_rows(
    connection: &mut PgConnection,
    table: &CatalogTable,
) -> Result<Vec<RowValues>, sqlx::Error> {
    let query = format!(
        "SELECT coalesce((SELECT jsonb_object_agg(entry.key, entry.value #>> '{{}}')
                          FROM jsonb_each(to_jsonb(row_value)) AS entry), '{{}}'::jsonb)
         FROM {} AS row_value",
        table.quoted()
    );
    let rows: Vec<Json<RowValues>> = sqlx::query_scalar(AssertSqlSafe(query))
        .fetch_all(&mut *connection)
        .await?;
    Ok(rows.into_iter().map(|Json(values)| values).collect())
}

fn table_snapshot(
    table: &CatalogTable,
    primary_key: &[String],
    ignored: &BTreeSet<String>,
    rows: Vec<RowValues>,
) -> TableSnapshot {
    let columns: Vec<String> = table
        .columns
        .iter()
        .filter(|column| !ignored.contains(*column))
        .cloned()
        .collect();
    // An ignored key column cannot tell rows apart, so the rows are compared as a whole.
    let key_columns: Vec<String> = if primary_key.iter().any(|column| ignored.contains(column)) {
        Vec::new()
    } else {
        primary_key.to_vec()
    };
    let key_source = if key_columns.is_empty() {
        &columns
    } else {
        &key_columns
    };
    let mut rows: Vec<SnapshotRow> = rows
        .into_iter()
        .map(|mut values| {
            values.retain(|column, _| !ignored.contains(column));
            let key = key_source
                .iter()
                .map(|column| values.get(column).cloned().flatten())
                .collect();
            SnapshotRow { key, values }
        })
        .collect();
    rows.sort_by(|left, right| {
        compare_keys(&left.key, &right.key).then_with(|| left.values.cmp(&right.values))
    });
    let hash = canonical_hash(&columns, &rows);
    TableSnapshot {
        table: table.display_name(),
        columns,
        key_columns,
        rows,
        hash,
    }
}

/// Orders keys as a reader expects: NULL first, numbers numerically (so 9 comes before 10),
/// anything else by bytes.
pub(crate) fn compare_keys(left: &[Option<String>], right: &[Option<String>]) -> Ordering {
    for (left, right) in left.iter().zip(right) {
        let ordering = match (left, right) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(left), Some(right)) => compare_values(left, right),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    left.len().cmp(&right.len())
}

fn compare_values(left: &str, right: &str) -> Ordering {
    match (left.parse::<f64>(), right.parse::<f64>()) {
        (Ok(left_number), Ok(right_number)) => left_number
            .partial_cmp(&right_number)
            .unwrap_or(Ordering::Equal)
            // Numbers that only differ past f64's precision still get a fixed order.
            .then_with(|| left.cmp(right)),
        _ => left.cmp(right),
    }
}

fn canonical_hash(columns: &[String], rows: &[SnapshotRow]) -> String {
    let mut hasher = Sha256::new();
    // serde_json writes a BTreeMap in key order and escapes every string, so the text is one
    // canonical form of the rows.
    hasher.update(serde_json::to_string(columns).unwrap_or_default());
    for row in rows {
        hasher.update(b"\n");
        hasher.update(serde_json::to_string(&row.values).unwrap_or_default());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(values: &[Option<&str>]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|value| value.map(str::to_owned))
            .collect()
    }

    #[test]
    fn keys_order_numbers_numerically_and_nulls_first() {
        assert_eq!(
            compare_keys(&key(&[Some("9")]), &key(&[Some("10")])),
            Ordering::Less
        );
        assert_eq!(
            compare_keys(&key(&[Some("b")]), &key(&[Some("a")])),
            Ordering::Greater
        );
        assert_eq!(
            compare_keys(&key(&[None]), &key(&[Some("0")])),
            Ordering::Less
        );
        assert_eq!(
            compare_keys(
                &key(&[Some("1"), Some("2")]),
                &key(&[Some("1"), Some("10")])
            ),
            Ordering::Less
        );
        assert_eq!(
            compare_keys(&key(&[Some("1.0")]), &key(&[Some("1")])),
            Ordering::Greater,
            "equal numbers written differently still have an order"
        );
    }

    fn table() -> CatalogTable {
        CatalogTable {
            schema: "public".to_owned(),
            name: "notes".to_owned(),
            columns: vec!["id".to_owned(), "body".to_owned(), "created_at".to_owned()],
            sequences: Vec::new(),
        }
    }

    fn row(id: &str, body: &str, created_at: &str) -> RowValues {
        BTreeMap::from([
            ("id".to_owned(), Some(id.to_owned())),
            ("body".to_owned(), Some(body.to_owned())),
            ("created_at".to_owned(), Some(created_at.to_owned())),
        ])
    }

    #[test]
    fn row_order_does_not_change_the_hash_but_a_value_does() {
        let primary_key = vec!["id".to_owned()];
        let none = BTreeSet::new();
        let forward = table_snapshot(
            &table(),
            &primary_key,
            &none,
            vec![row("9", "a", "t1"), row("10", "b", "t2")],
        );
        let backward = table_snapshot(
            &table(),
            &primary_key,
            &none,
            vec![row("10", "b", "t2"), row("9", "a", "t1")],
        );
        assert_eq!(forward, backward);
        assert_eq!(forward.rows[0].key, key(&[Some("9")]));
        let changed = table_snapshot(
            &table(),
            &primary_key,
            &none,
            vec![row("9", "a", "t1"), row("10", "c", "t2")],
        );
        assert_ne!(forward.hash, changed.hash);
        assert_eq!(forward.hash.len(), 64);
    }

    #[test]
    fn ignored_columns_leave_rows_and_hash() {
        let ignored = BTreeSet::from(["created_at".to_owned()]);
        let primary_key = vec!["id".to_owned()];
        let first = table_snapshot(&table(), &primary_key, &ignored, vec![row("1", "a", "t1")]);
        let second = table_snapshot(&table(), &primary_key, &ignored, vec![row("1", "a", "t2")]);
        assert_eq!(first.hash, second.hash);
        assert_eq!(first.columns, ["id", "body"]);
        assert!(!first.rows[0].values.contains_key("created_at"));
    }

    #[test]
    fn an_ignored_key_column_compares_whole_rows() {
        let ignored = BTreeSet::from(["id".to_owned()]);
        let snapshot = table_snapshot(
            &table(),
            &["id".to_owned()],
            &ignored,
            vec![row("2", "b", "t"), row("1", "a", "t")],
        );
        assert!(snapshot.key_columns.is_empty());
        assert_eq!(snapshot.rows[0].key, key(&[Some("a"), Some("t")]));
    }
}
