//! The built-in database tools (`query`, `execute`, `list_tables`), run as the agent's role on
//! the issue's own database, so the database's grants decide what the agent may do. `query` and
//! `execute` run on connections of their own ([`StatementConnections`]), `list_tables` on the
//! issue's sqlx pool.

use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::capped_rows::{CappedRow, capped_json_rows, read_capped_rows};
use crate::result_cap::CappedValue;
use crate::statement_connections::{ReadEnd, StatementConnections, StatementError};

pub(crate) const QUERY: &str = "query";
pub(crate) const EXECUTE: &str = "execute";
pub(crate) const LIST_TABLES: &str = "list_tables";

/// The JSON Schema of a tool that takes one SQL text.
pub(crate) fn sql_input_schema(description: &str) -> serde_json::Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": { "sql": { "type": "string", "description": description } },
        "required": ["sql"],
        "additionalProperties": false,
    });
    match schema {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

pub(crate) fn empty_input_schema() -> serde_json::Map<String, Value> {
    let mut schema = serde_json::Map::new();
    schema.insert("type".to_owned(), json!("object"));
    schema.insert("properties".to_owned(), json!({}));
    schema
}

/// The statement without trailing semicolons, so it can sit inside a subquery.
pub(crate) fn single_statement(sql: &str) -> &str {
    sql.trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// Runs `sql` in a read-only transaction and returns its rows as JSON objects: at most
/// `max_rows` of them, and no more than fit the result cap. Rows are streamed and reading stops
/// at the cap, so a huge result never sits in the gateway's memory. How the statement is kept
/// from writing, in one round trip: [`StatementConnections`].
pub(crate) async fn query(
    connections: &StatementConnections,
    sql: &str,
    max_rows: usize,
) -> Result<CappedValue, StatementError> {
    // The statement goes into a subquery so every row comes back as one JSON object whatever its
    // column types; the newline keeps a trailing `--` comment from swallowing the parenthesis.
    // The LIMIT also keeps the subquery apart from the capping query around it.
    let wrapped = capped_json_rows(&format!(
        "SELECT to_jsonb(agentpod_row)::text AS agentpod_json FROM (\n{}\n) AS agentpod_row LIMIT {}",
        single_statement(sql),
        max_rows.saturating_add(1)
    ));
    connections
        .read_only(&wrapped, |rows| async move {
            let mut rows = rows.map(|row| {
                let row = row?;
                Ok::<CappedRow, StatementError>((row.try_get(0)?, row.try_get(1)?))
            });
            let read = read_capped_rows(&mut rows, Some(max_rows), StatementError::Decode).await?;
            // Past the cap the server may still have many rows to send: the connection is
            // closed rather than left to read them. Past the row limit there should be none
            // (the statement's LIMIT is one more than it), but a text that closes the wrapper's
            // parentheses escapes that LIMIT: the connection is kept only once the rows ended.
            let end = if read.stopped_at_the_cap() {
                ReadEnd::Stopped
            } else if read.stop.is_none() || rows.next().await.is_none() {
                ReadEnd::AllRows
            } else {
                ReadEnd::Stopped
            };
            let capped = read.stopped_at_the_cap();
            let value = CappedValue {
                value: read.into_result(),
                capped,
            };
            Ok((value, end))
        })
        .await
}

/// Runs one write statement, committed, and returns how many rows it affected.
pub(crate) async fn execute(
    connections: &StatementConnections,
    sql: &str,
) -> Result<Value, StatementError> {
    let affected = connections.execute(single_statement(sql)).await?;
    Ok(json!({ "rows_affected": affected }))
}

/// The tables and columns the agent's role can see, with their types.
pub(crate) async fn list_tables(pool: &PgPool) -> Result<Value, sqlx::Error> {
    // information_schema.columns shows only columns the current role holds a privilege on.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text, column_name::text, \
                CASE WHEN data_type = 'USER-DEFINED' THEN udt_name::text ELSE data_type::text END \
         FROM information_schema.columns \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY table_schema, table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await?;
    let mut tables: Vec<Value> = Vec::new();
    let mut current: Option<(String, String, Vec<Value>)> = None;
    for (schema, table, column, data_type) in rows {
        let same_table = current
            .as_ref()
            .is_some_and(|(s, t, _)| *s == schema && *t == table);
        if !same_table {
            if let Some((s, t, columns)) = current.take() {
                tables.push(json!({ "schema": s, "name": t, "columns": columns }));
            }
            current = Some((schema, table, Vec::new()));
        }
        if let Some((_, _, columns)) = current.as_mut() {
            columns.push(json!({ "name": column, "type": data_type }));
        }
    }
    if let Some((s, t, columns)) = current {
        tables.push(json!({ "schema": s, "name": t, "columns": columns }));
    }
    Ok(json!({ "tables": tables }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_semicolons_and_space_are_dropped() {
        assert_eq!(single_statement(" SELECT 1 ;; \n"), "SELECT 1");
        assert_eq!(single_statement("SELECT ';'"), "SELECT ';'");
    }

    #[test]
    fn sql_schema_requires_sql() {
        let schema = sql_input_schema("a statement");
        assert_eq!(schema["required"], json!(["sql"]));
        assert_eq!(schema["properties"]["sql"]["type"], json!("string"));
    }
}
