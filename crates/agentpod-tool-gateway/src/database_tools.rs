//! The built-in database tools (`query`, `execute`, `list_tables`), run as the agent's role on
//! the issue's own database, so the database's grants decide what the agent may do; each runs on
//! the issue's [`StatementConnections`].

use std::ops::ControlFlow;

use serde_json::{Value, json};

use crate::capped_rows::{CappedRowsReader, capped_json_rows};
use crate::result_cap::CappedValue;
use crate::statement_connections::TransactionEnd::ReadOnlyRolledBack;
use crate::statement_connections::{StatementConnections, StatementError};

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
/// `max_rows` of them, and no more than fit the result cap. Rows are read as they arrive and
/// reading stops at the cap, so a huge result never sits in the gateway's memory. How the
/// statement is kept from writing, in one round trip: [`StatementConnections`].
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
    let mut reader = CappedRowsReader::new(Some(max_rows));
    connections
        .run(ReadOnlyRolledBack, &wrapped, &[], |row| {
            Ok(reader.push((row.try_get(0)?, row.try_get(1)?))?)
        })
        .await?;
    let read = reader.finish();
    let capped = read.stopped_at_the_cap();
    Ok(CappedValue {
        value: read.into_result(),
        capped,
    })
}

/// Runs `sql` (one write statement, or several) in one transaction, committed, and returns how
/// many rows it affected; rows it returns are read and dropped.
pub(crate) async fn execute(
    connections: &StatementConnections,
    sql: &str,
) -> Result<Value, StatementError> {
    let affected = connections.execute(sql).await?;
    Ok(json!({ "rows_affected": affected }))
}

/// The tables and columns the agent's role can see, with their types.
pub(crate) async fn list_tables(
    connections: &StatementConnections,
) -> Result<Value, StatementError> {
    // information_schema.columns shows only columns the current role holds a privilege on.
    let mut tables: Vec<Value> = Vec::new();
    let mut current: Option<(String, String, Vec<Value>)> = None;
    connections
        .run(
            ReadOnlyRolledBack,
            "SELECT table_schema::text, table_name::text, column_name::text, \
                    CASE WHEN data_type = 'USER-DEFINED' THEN udt_name::text ELSE data_type::text END \
             FROM information_schema.columns \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
             ORDER BY table_schema, table_name, ordinal_position",
            &[],
            |row| {
                let (schema, table, column, data_type): (String, String, String, String) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
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
                Ok(ControlFlow::Continue(()))
            },
        )
        .await?;
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
