//! Reading Postgres error responses: the fields sqlx keeps, and the `COPY t, line N` context
//! that tells which row of a data fixture was rejected.

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};

/// The parts of a Postgres error worth showing next to a fixture line.
pub(crate) struct ServerError {
    pub(crate) message: String,
    pub(crate) detail: Option<String>,
    pub(crate) hint: Option<String>,
    /// 1-based character position in the statement that was sent, when Postgres gave one.
    pub(crate) position: Option<usize>,
    /// The `CONTEXT` lines, most recent first.
    pub(crate) context: Option<String>,
}

impl ServerError {
    /// Takes the Postgres fields out of `error`; anything that is not a server error (a broken
    /// connection, say) keeps only its message.
    pub(crate) fn from_sqlx(error: &sqlx::Error) -> ServerError {
        let Some(database_error) = error
            .as_database_error()
            .and_then(|database_error| database_error.try_downcast_ref::<PgDatabaseError>())
        else {
            return ServerError {
                message: error.to_string(),
                detail: None,
                hint: None,
                position: None,
                context: None,
            };
        };
        ServerError {
            message: database_error.message().to_owned(),
            detail: database_error.detail().map(str::to_owned),
            hint: database_error.hint().map(str::to_owned),
            position: match database_error.position() {
                Some(PgErrorPosition::Original(position)) => Some(position),
                _ => None,
            },
            context: database_error.r#where().map(str::to_owned),
        }
    }

    /// The data line and column named by a `COPY t, line N[, column c]` context, if any.
    pub(crate) fn copy_location(&self) -> Option<CopyLocation> {
        self.context.as_deref().and_then(parse_copy_context)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CopyLocation {
    /// 1-based line of the data stream sent to `COPY`.
    pub(crate) line: usize,
    pub(crate) column: Option<String>,
}

fn parse_copy_context(context: &str) -> Option<CopyLocation> {
    // A trigger fired by the COPY adds its own lines before the COPY one.
    let copy_line = context.lines().find(|line| line.starts_with("COPY "))?;
    let after_line = &copy_line[copy_line.find(", line ")? + ", line ".len()..];
    let digits: String = after_line
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let line = digits.parse().ok()?;
    let column = after_line[digits.len()..]
        .strip_prefix(", column ")
        .map(|rest| {
            rest.split_once(": ")
                .map_or(rest, |(column, _value)| column)
                .to_owned()
        });
    Some(CopyLocation { line, column })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_context_gives_line_and_column() {
        assert_eq!(
            parse_copy_context("COPY orders, line 3, column amount: \"abc\""),
            Some(CopyLocation {
                line: 3,
                column: Some("amount".to_owned())
            })
        );
        assert_eq!(
            parse_copy_context(
                "SQL statement \"...\"\nPL/pgSQL function f() line 2\nCOPY orders, line 12"
            ),
            Some(CopyLocation {
                line: 12,
                column: None
            })
        );
        assert_eq!(parse_copy_context("PL/pgSQL function f() line 2"), None);
    }
}
