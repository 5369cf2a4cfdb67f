//! The states of two clones of one template compared cheaply: the server computes one SHA-256
//! per table over its rows' text (sorted, ignored columns left out), and only the tables whose
//! fingerprints differ are snapshotted and diffed. An issue touches a few tables of a fixture;
//! reading every row of every table out of two databases, for each issue, cost more than the
//! agents of small issues.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::DbError;
use crate::database_name::quote_identifier;
use crate::state_snapshot::{
    StateSnapshot, begin_consistent_read, connect_to_read, resolve_ignored, snapshot_state,
};

/// A table's compared columns and the fingerprint of its rows over them.
type Fingerprints = BTreeMap<String, (Vec<String>, String)>;

/// The snapshots of the expected and the actual database at `expected_url` and `actual_url`
/// (superuser URLs of two clones of one template), limited to the tables whose contents differ:
/// the diff of the two is the diff of the whole databases. When the two do not even have the
/// same tables and columns, every table is snapshotted.
///
/// # Errors
///
/// As [`snapshot_state`]: a database that cannot be read, or an ignored column it does not have.
pub async fn snapshot_differences(
    expected_url: &str,
    actual_url: &str,
    ignored_columns: &[String],
) -> Result<(StateSnapshot, StateSnapshot), DbError> {
    let (expected, actual) = tokio::join!(
        fingerprint_tables(expected_url, ignored_columns),
        fingerprint_tables(actual_url, ignored_columns)
    );
    let (expected, actual) = (expected?, actual?);
    let same_tables = expected.len() == actual.len()
        && expected.iter().zip(&actual).all(
            |((left, (left_columns, _)), (right, (right_columns, _)))| {
                left == right && left_columns == right_columns
            },
        );
    let tables: Vec<String> = if same_tables {
        let differing: Vec<String> = expected
            .iter()
            .filter(|(table, (_, fingerprint))| actual[*table].1 != *fingerprint)
            .map(|(table, _)| table.clone())
            .collect();
        if differing.is_empty() {
            let nothing = StateSnapshot { tables: Vec::new() };
            return Ok((nothing.clone(), nothing));
        }
        differing
    } else {
        // Empty: every table of each database.
        Vec::new()
    };
    let (expected, actual) = tokio::join!(
        snapshot_state(expected_url, &tables, ignored_columns),
        snapshot_state(actual_url, &tables, ignored_columns)
    );
    Ok((expected?, actual?))
}

/// Every user table's compared columns and fingerprint, by the name a spec writes, read in one
/// read-only transaction.
async fn fingerprint_tables(
    admin_url: &str,
    ignored_columns: &[String],
) -> Result<Fingerprints, DbError> {
    let mut connection = connect_to_read(admin_url).await?;
    let fingerprints = read_fingerprints(&mut connection, ignored_columns).await;
    if let Err(error) = connection.close().await {
        tracing::debug!(%error, "closing the fingerprint connection failed");
    }
    fingerprints
}

async fn read_fingerprints(
    connection: &mut PgConnection,
    ignored_columns: &[String],
) -> Result<Fingerprints, DbError> {
    let failed = |action: &'static str| move |source| DbError::Snapshot { action, source };
    let catalog = begin_consistent_read(connection).await?;
    let ignored = resolve_ignored(&catalog, ignored_columns)?;
    let mut fingerprints = Fingerprints::new();
    if !catalog.tables.is_empty() {
        let mut parts = Vec::with_capacity(catalog.tables.len());
        let mut compared = Vec::with_capacity(catalog.tables.len());
        for (index, table) in catalog.tables.iter().enumerate() {
            let ignored_here = ignored.get(&(table.schema.as_str(), table.name.as_str()));
            let columns: Vec<String> = table
                .columns
                .iter()
                .filter(|column| ignored_here.is_none_or(|ignored| !ignored.contains(*column)))
                .cloned()
                .collect();
            parts.push(fingerprint_query(index, &table.quoted(), &columns));
            compared.push((table.display_name(), columns));
        }
        let rows: Vec<(i32, String)> = sqlx::query_as(AssertSqlSafe(parts.join(" UNION ALL ")))
            .fetch_all(&mut *connection)
            .await
            .map_err(failed("fingerprint the tables"))?;
        let mut by_index: BTreeMap<i32, String> = rows.into_iter().collect();
        for (index, (table, columns)) in compared.into_iter().enumerate() {
            let fingerprint = i32::try_from(index)
                .ok()
                .and_then(|index| by_index.remove(&index))
                .unwrap_or_default();
            fingerprints.insert(table, (columns, fingerprint));
        }
    }
    sqlx::raw_sql("COMMIT")
        .execute(&mut *connection)
        .await
        .map_err(failed("end the read-only transaction"))?;
    Ok(fingerprints)
}

/// One table's fingerprint: the SHA-256 of its row count and its rows' text, sorted by bytes.
/// A composite's text quotes any value holding a delimiter or white space, so the text of the
/// rows, one per line, stands for them exactly.
fn fingerprint_query(index: usize, quoted_table: &str, columns: &[String]) -> String {
    let row: Vec<String> = columns
        .iter()
        .map(|column| format!("t.{}", quote_identifier(column)))
        .collect();
    format!(
        "(SELECT {index}::int4, encode(sha256(convert_to(count(*)::text || E'\\n' || \
         COALESCE(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\"), ''), 'UTF8')), 'hex') \
         FROM (SELECT ROW({row})::text AS r FROM {quoted_table} AS t) AS rows)",
        row = row.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_only_the_compared_columns_quoted() {
        let query = fingerprint_query(
            3,
            "\"public\".\"orders\"",
            &["id".to_owned(), "Total \"net\"".to_owned()],
        );
        assert!(query.starts_with("(SELECT 3::int4"), "{query}");
        assert!(
            query.contains("ROW(t.\"id\", t.\"Total \"\"net\"\"\")::text"),
            "{query}"
        );
        assert!(query.contains("FROM \"public\".\"orders\" AS t"), "{query}");
    }
}
