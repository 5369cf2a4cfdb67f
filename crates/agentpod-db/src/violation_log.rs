//! Boundary violations from the server's JSON log: Postgres refuses a statement and, with
//! `log_min_error_statement=error`, writes the error and the statement to its log, which the
//! superuser reads back with `pg_read_binary_file`.
//!
//! The pod's server runs with `logging_collector=on`, `log_destination=jsonlog` and a fixed
//! `log_filename`, so the whole pod's history is one file; each issue reads from the size the
//! file had when its database was created.

use std::time::{Duration, Instant};

use rand::RngExt;
use serde::Deserialize;
use sqlx::{AssertSqlSafe, PgConnection};

use crate::Violation;
use crate::agent_role::AGENT_ROLE;

/// How long to wait for the logging collector to write what backends sent it. It is usually a
/// matter of milliseconds.
const COLLECTOR_TIMEOUT: Duration = Duration::from_secs(10);
/// The collector usually writes the marker within a ms or two: polls start at 1 ms and double.
const FIRST_POLL: Duration = Duration::from_millis(1);
const LONGEST_POLL: Duration = Duration::from_millis(20);

/// The current size of the JSON log, or `None` when the server keeps none.
pub(crate) async fn log_size(connection: &mut PgConnection) -> Result<Option<u64>, sqlx::Error> {
    let size: Option<i64> = sqlx::query_scalar(
        "SELECT (pg_stat_file(file, true)).size FROM pg_current_logfile('jsonlog') AS file",
    )
    .fetch_one(&mut *connection)
    .await?;
    Ok(size.and_then(|size| u64::try_from(size).ok()))
}

/// One line of the JSON log; only the fields violations need.
#[derive(Debug, Deserialize)]
pub(crate) struct LogEntry {
    pub(crate) user: Option<String>,
    pub(crate) dbname: Option<String>,
    pub(crate) error_severity: Option<String>,
    pub(crate) state_code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) statement: Option<String>,
}

/// The log entries written since `offset`, up to a marker this call logs itself: the marker
/// shows the collector has caught up with everything the agent's sessions sent before it.
pub(crate) async fn entries_since(
    connection: &mut PgConnection,
    offset: u64,
) -> Result<Vec<LogEntry>, sqlx::Error> {
    let marker: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let marker = format!("agentpod log marker {marker}");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DO $marker$ BEGIN RAISE LOG '{marker}'; END $marker$"
    )))
    .execute(&mut *connection)
    .await?;

    let deadline = Instant::now() + COLLECTOR_TIMEOUT;
    let mut poll = FIRST_POLL;
    let mut content: Vec<u8> = Vec::new();
    loop {
        let read_from = offset + content.len() as u64;
        let chunk: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT pg_read_binary_file(file, $1, greatest((pg_stat_file(file)).size - $1, 0), true)
             FROM pg_current_logfile('jsonlog') AS file",
        )
        .bind(i64::try_from(read_from).unwrap_or(i64::MAX))
        .fetch_one(&mut *connection)
        .await?;
        content.extend(chunk.unwrap_or_default());
        let complete = content
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(&content[..0], |end| &content[..end]);
        let entries = parse(complete);
        let caught_up = entries
            .iter()
            .any(|entry| entry.message.as_deref() == Some(marker.as_str()));
        if caught_up || Instant::now() >= deadline {
            if !caught_up {
                tracing::warn!(
                    "the server's log did not show the marker in time; violations may be missing"
                );
            }
            return Ok(entries);
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(LONGEST_POLL);
    }
}

fn parse(content: &[u8]) -> Vec<LogEntry> {
    String::from_utf8_lossy(content)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| match serde_json::from_str(line) {
            Ok(entry) => Some(entry),
            Err(error) => {
                tracing::debug!(%error, "skipping a log line that is not JSON");
                None
            }
        })
        .collect()
}

impl LogEntry {
    /// Whether the entry records the agent being refused. The codes:
    /// - `42501` insufficient_privilege, as ERROR or FATAL: every refused read, write, DDL,
    ///   `SET ROLE`, file or program access, and connections to databases without CONNECT.
    /// - `01007`/`01006` (WARNING): a GRANT or REVOKE of privileges the agent does not hold
    ///   on an object it can see; Postgres answers with a warning and changes nothing.
    /// - `55000` as FATAL: connecting to the template, which accepts no connections at all.
    ///
    /// `42P01` (undefined_table) is not one: hidden tables are still named in the catalog, so
    /// touching one is refused with `42501`; `42P01` means a typo, not an attempt.
    pub(crate) fn is_agent_violation(&self) -> bool {
        if self.user.as_deref() != Some(AGENT_ROLE) {
            return false;
        }
        matches!(
            (self.error_severity.as_deref(), self.state_code.as_deref()),
            (Some("ERROR" | "FATAL"), Some("42501"))
                | (Some("WARNING"), Some("01007" | "01006"))
                | (Some("FATAL"), Some("55000"))
        )
    }

    /// A connection the server refused at log-in: FATAL, before any statement.
    pub(crate) fn is_refused_connection(&self) -> bool {
        self.error_severity.as_deref() == Some("FATAL") && self.statement.is_none()
    }

    pub(crate) fn into_violation(self) -> Violation {
        let error = self.message.unwrap_or_default();
        Violation {
            table: table_named_in(&error),
            statement: self.statement,
            error,
            sqlstate: self.state_code.unwrap_or_default(),
        }
    }
}

/// `permission denied for table refunds`, `must be owner of table orders`: the table after
/// the word `table`.
fn table_named_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once(" table ")?;
    let name = rest.split_whitespace().next()?.trim_matches('"');
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_agent_refusals_and_nothing_else() {
        let log = br#"{"user":"agent","dbname":"issue_1","error_severity":"ERROR","state_code":"42501","message":"permission denied for table orders","statement":"DELETE FROM orders"}
{"user":"postgres","dbname":"issue_1","error_severity":"ERROR","state_code":"42501","message":"permission denied for table orders"}
{"user":"agent","dbname":"issue_1","error_severity":"ERROR","state_code":"42P01","message":"relation \"nope\" does not exist"}
{"user":"agent","dbname":"issue_1","error_severity":"WARNING","state_code":"01007","message":"no privileges were granted for \"orders\""}
not json
{"user":"agent","dbname":"agentpod_template","error_severity":"FATAL","state_code":"55000","message":"database \"agentpod_template\" is not currently accepting connections"}
"#;
        let violations: Vec<Violation> = parse(log)
            .into_iter()
            .filter(LogEntry::is_agent_violation)
            .map(LogEntry::into_violation)
            .collect();
        assert_eq!(violations.len(), 3, "{violations:#?}");
        assert_eq!(violations[0].table.as_deref(), Some("orders"));
        assert_eq!(
            violations[0].statement.as_deref(),
            Some("DELETE FROM orders")
        );
        assert_eq!(violations[1].sqlstate, "01007");
        assert_eq!(violations[2].statement, None);
    }

    #[test]
    fn finds_the_table_a_message_names() {
        assert_eq!(
            table_named_in("must be owner of table staff_permissions").as_deref(),
            Some("staff_permissions")
        );
        assert_eq!(
            table_named_in("permission denied to set role \"postgres\""),
            None
        );
    }
}
