//! Where the baseline's SQL goes: the pod's tool gateway (MCP `query`/`execute` tools) when
//! `AGENTPOD_MCP_URL` is set — so every statement is a metered tool call — or straight to
//! `DATABASE_URL` otherwise. Either way it runs as the pod's restricted agent role.
//!
//! Statements are built with literals, quoted by [`literal`], because the tools take SQL text.

use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};

use crate::mcp_client::{McpClient, McpError};

pub(crate) enum Database {
    Direct(PgPool),
    Tools(McpClient),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum DatabaseError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Tools(#[from] McpError),
}

impl Database {
    /// The rows of a query, as JSON objects.
    pub(crate) async fn rows(&mut self, sql: &str) -> Result<Vec<Value>, DatabaseError> {
        match self {
            Database::Direct(pool) => {
                let wrapped = format!("SELECT row_to_json(row)::jsonb FROM ({sql}) row");
                Ok(sqlx::query_scalar::<_, Value>(AssertSqlSafe(wrapped))
                    .fetch_all(&*pool)
                    .await?)
            }
            Database::Tools(client) => {
                let result = client.call("query", sql_argument(sql)).await?;
                Ok(match result {
                    Value::Array(rows) => rows,
                    Value::Object(ref object) => object
                        .get("rows")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    _ => Vec::new(),
                })
            }
        }
    }

    /// Runs a write statement.
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<(), DatabaseError> {
        match self {
            Database::Direct(pool) => {
                sqlx::query(AssertSqlSafe(sql.to_string()))
                    .execute(&*pool)
                    .await?;
            }
            Database::Tools(client) => {
                client.call("execute", sql_argument(sql)).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn close(self) {
        match self {
            Database::Direct(pool) => pool.close().await,
            Database::Tools(client) => client.close().await,
        }
    }
}

/// The one argument both tools take.
fn sql_argument(sql: &str) -> serde_json::Map<String, Value> {
    serde_json::Map::from_iter([("sql".to_owned(), Value::String(sql.to_owned()))])
}

/// A SQL string literal: quotes doubled, so text from a ticket cannot end the literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn literals_cannot_be_escaped() {
        assert_eq!(
            super::literal("o'brien@example.com"),
            "'o''brien@example.com'"
        );
        assert_eq!(
            super::literal("x'); DROP TABLE t; --"),
            "'x''); DROP TABLE t; --'"
        );
    }
}
