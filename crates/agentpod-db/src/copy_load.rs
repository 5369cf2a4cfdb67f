//! `CopyLoad`: rows of a data fixture, already encoded as CSV, streamed into a table with one
//! `COPY ... FROM STDIN`, with Postgres' `COPY t, line N` mapped back to the fixture's own lines.

use std::path::Path;

use sqlx::PgConnection;

use crate::FixtureError;
use crate::database_name::{quote_identifier, quote_table};
use crate::postgres_error::ServerError;

/// One `COPY` worth of rows for one table.
pub(crate) struct CopyLoad {
    pub(crate) table: String,
    pub(crate) columns: Vec<String>,
    /// CSV data, one record per row, without a header.
    data: Vec<u8>,
    /// For each row: the line of the data stream it starts on, and the fixture line it came
    /// from. Postgres counts physical lines, newlines inside quoted values included, so a row
    /// may span several stream lines.
    rows: Vec<RowStart>,
    /// Physical lines in `data` so far.
    stream_lines: usize,
    /// Where to point errors that concern the load as a whole (an unknown column, say).
    heading_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowStart {
    stream_line: usize,
    file_line: usize,
}

impl CopyLoad {
    pub(crate) fn new(table: &str, columns: Vec<String>, heading_line: usize) -> CopyLoad {
        CopyLoad {
            table: table.to_owned(),
            columns,
            data: Vec::new(),
            rows: Vec::new(),
            stream_lines: 0,
            heading_line,
        }
    }

    /// Appends one CSV record (without its terminator) that came from `file_line`.
    pub(crate) fn push_row(&mut self, record: &[u8], file_line: usize) {
        self.rows.push(RowStart {
            stream_line: self.stream_lines + 1,
            file_line,
        });
        self.stream_lines += 1 + record.iter().filter(|&&byte| byte == b'\n').count();
        self.data.extend_from_slice(record);
        self.data.push(b'\n');
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// The fixture line of each row, in order.
    #[cfg(test)]
    pub(crate) fn row_lines(&self) -> Vec<usize> {
        self.rows.iter().map(|row| row.file_line).collect()
    }

    /// The fixture line where the row holding stream line `stream_line` starts.
    fn file_line_of(&self, stream_line: usize) -> Option<usize> {
        let after = self
            .rows
            .partition_point(|row| row.stream_line <= stream_line);
        after.checked_sub(1).map(|index| self.rows[index].file_line)
    }

    pub(crate) async fn run(
        &self,
        connection: &mut PgConnection,
        file: &Path,
    ) -> Result<(), FixtureError> {
        let statement = format!(
            "COPY {} ({}) FROM STDIN WITH (FORMAT csv)",
            quote_table(&self.table),
            self.columns
                .iter()
                .map(|column| quote_identifier(column))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let result = async {
            let mut copy = connection.copy_in_raw(&statement).await?;
            copy.send(self.data.as_slice()).await?;
            copy.finish().await
        }
        .await;
        match result {
            Ok(_rows) => Ok(()),
            Err(error) => Err(self.locate(file, &error)),
        }
    }

    fn locate(&self, file: &Path, error: &sqlx::Error) -> FixtureError {
        let server_error = ServerError::from_sqlx(error);
        let (line, message) = match server_error.copy_location() {
            Some(location) => {
                let line = self
                    .file_line_of(location.line)
                    .unwrap_or(self.heading_line);
                let message = match location.column {
                    Some(column) => format!("{} (column `{column}`)", server_error.message),
                    None => server_error.message,
                };
                (line, message)
            }
            None => (self.heading_line, server_error.message),
        };
        FixtureError::Invalid {
            file: file.to_path_buf(),
            line,
            message,
            detail: server_error.detail,
            hint: server_error.hint,
        }
    }
}

/// Fails with "table `x` does not exist" before any data is sent, because Postgres' own message
/// for a missing table names no line and reads like an internal problem.
pub(crate) async fn ensure_table_exists(
    connection: &mut PgConnection,
    file: &Path,
    table: &str,
) -> Result<(), FixtureError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(quote_table(table))
        .fetch_one(&mut *connection)
        .await
        .map_err(|source| {
            let server_error = ServerError::from_sqlx(&source);
            FixtureError::invalid(file, 1, server_error.message)
        })?;
    if exists {
        Ok(())
    } else {
        Err(FixtureError::invalid(
            file,
            1,
            format!("table `{table}` does not exist"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lines_map_to_the_line_where_their_row_starts() {
        let mut load = CopyLoad::new("t", vec!["a".to_owned()], 1);
        load.push_row(b"1", 2);
        load.push_row(b"\"two\nlines\"", 4);
        load.push_row(b"3", 7);
        assert_eq!(load.file_line_of(1), Some(2));
        assert_eq!(load.file_line_of(2), Some(4));
        assert_eq!(load.file_line_of(3), Some(4));
        assert_eq!(load.file_line_of(4), Some(7));
        assert_eq!(load.file_line_of(0), None);
    }
}
