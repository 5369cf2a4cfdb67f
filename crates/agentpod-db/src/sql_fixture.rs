//! SQL fixtures: a script run statement by statement on the template, as `psql -f` would, with
//! any error pointed at the line of the file where Postgres found it.
//!
//! For speed, consecutive statements go to the server in batches, one round trip each. A
//! multi-statement query runs as one implicit transaction, so a failed batch leaves nothing
//! behind and is simply replayed one statement at a time to find (and locate) the culprit —
//! which also lets statements that refuse to run in a transaction block (`CREATE INDEX
//! CONCURRENTLY`, `VACUUM`) succeed on their own. Scripts with explicit transaction control are
//! not batched, since a batch holding a `COMMIT` could fail half-applied.

use std::path::Path;

use sqlx::{AssertSqlSafe, PgConnection};

use crate::FixtureError;
use crate::postgres_error::ServerError;
use crate::sql_script::{SqlStatement, split_statements};

const BATCH_STATEMENTS: usize = 500;
const BATCH_BYTES: usize = 1 << 20;

const TRANSACTION_CONTROL: &[&str] = &[
    "begin",
    "start",
    "commit",
    "end",
    "rollback",
    "abort",
    "savepoint",
    "release",
    "prepare",
    "call",
];

pub(crate) async fn apply(
    connection: &mut PgConnection,
    file: &Path,
    script: &str,
) -> Result<(), FixtureError> {
    let statements = split_statements(script);
    let controls_transactions = statements
        .iter()
        .any(|statement| TRANSACTION_CONTROL.contains(&statement.first_word().as_str()));
    if controls_transactions {
        for statement in &statements {
            run_one(connection, file, statement).await?;
        }
        return Ok(());
    }
    for batch in batches(&statements) {
        if batch.len() == 1 {
            run_one(connection, file, &batch[0]).await?;
            continue;
        }
        let mut text = String::new();
        for statement in batch {
            text.push_str(statement.text);
            // A final statement may lack its semicolon, or end in a `--` comment.
            text.push_str(if statement.text.ends_with(';') {
                "\n"
            } else {
                "\n;\n"
            });
        }
        if sqlx::raw_sql(AssertSqlSafe(text))
            .execute(&mut *connection)
            .await
            .is_err()
        {
            for statement in batch {
                run_one(connection, file, statement).await?;
            }
        }
    }
    Ok(())
}

fn batches<'statements, 'script>(
    statements: &'statements [SqlStatement<'script>],
) -> Vec<&'statements [SqlStatement<'script>]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, statement) in statements.iter().enumerate() {
        if index > start
            && (index - start >= BATCH_STATEMENTS || bytes + statement.text.len() > BATCH_BYTES)
        {
            batches.push(&statements[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += statement.text.len();
    }
    if start < statements.len() {
        batches.push(&statements[start..]);
    }
    batches
}

async fn run_one(
    connection: &mut PgConnection,
    file: &Path,
    statement: &SqlStatement<'_>,
) -> Result<(), FixtureError> {
    match sqlx::raw_sql(AssertSqlSafe(statement.text))
        .execute(&mut *connection)
        .await
    {
        Ok(_) => Ok(()),
        Err(error) => {
            let server_error = ServerError::from_sqlx(&error);
            let line = server_error.position.map_or(statement.line, |position| {
                statement.line_of_position(position)
            });
            Err(FixtureError::Invalid {
                file: file.to_path_buf(),
                line,
                message: server_error.message,
                detail: server_error.detail,
                hint: server_error.hint,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_statement_limit() {
        let script = "select 1;\n".repeat(BATCH_STATEMENTS * 2 + 3);
        let statements = split_statements(&script);
        let sizes: Vec<usize> = batches(&statements)
            .iter()
            .map(|batch| batch.len())
            .collect();
        assert_eq!(sizes, vec![BATCH_STATEMENTS, BATCH_STATEMENTS, 3]);
    }
}
