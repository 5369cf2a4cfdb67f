//! The SQL-assertion grader: the spec's queries run on the issue's database after the agent
//! ended, as the superuser, each in a read-only transaction. A placeholder becomes a SQL literal
//! of the issue's value, never SQL text, so an issue field holding `'; DROP TABLE x; --` stays a
//! string.

use agentpod_spec::{SqlAssertion, TemplateError, TemplatePart};
use serde_json::{Map, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

use agentpod_error_chain::error_chain;

use crate::{Check, GradeError};

/// An assertion is a check, not a workload; one that runs longer is most likely a mistake.
const STATEMENT_TIMEOUT: &str = "30s";

/// Why one assertion has no value: its check fails with this as the actual value, written
/// `error: …`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AssertionError {
    #[error("invalid template")]
    Template(#[source] TemplateError),
    #[error("the issue has no field `{0}`")]
    MissingField(String),
    #[error("cannot open the assertion's read-only transaction")]
    Transaction(#[source] sqlx::Error),
    /// The server refused the query: its own message, without the driver's prefix.
    #[error("{0}")]
    Query(String),
    #[error("the query returned {0} rows, not 1")]
    Rows(usize),
    #[error("the query returned {0} columns, not 1")]
    Columns(usize),
}

impl AssertionError {
    /// The check's actual value.
    fn reason(&self) -> String {
        format!("error: {}", error_chain(self))
    }
}

/// Runs each assertion on the database at `admin_url` and returns one check per assertion, in
/// order. `issue` holds the values placeholders name: pass the issue as the agent sees it (`id`
/// and its fields), with `expected` added for `{{expected.field}}`.
///
/// An assertion passes when its query returns exactly one row of one column holding `true` or
/// a non-zero number. A query that fails, or a placeholder the issue has no value for, fails
/// its check with the reason as the actual value.
///
/// # Errors
///
/// [`GradeError::Connect`] when the database cannot be reached at all; no assertion ran.
pub async fn grade_sql_assertions(
    admin_url: &str,
    assertions: &[SqlAssertion],
    issue: &Map<String, Value>,
) -> Result<Vec<Check>, GradeError> {
    if assertions.is_empty() {
        return Ok(Vec::new());
    }
    let mut connection = admin_url
        .parse::<PgConnectOptions>()
        .map_err(|source| GradeError::Connect { source })?
        .application_name("agentpod-grader")
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|source| GradeError::Connect { source })?;
    let mut checks = Vec::with_capacity(assertions.len());
    for assertion in assertions {
        let outcome = match render(assertion, issue) {
            Ok(query) => run_assertion(&mut connection, &query).await,
            Err(problem) => Err(problem),
        };
        let (passed, actual) = match outcome {
            Ok(value) => (is_true(&value), value),
            Err(problem) => (false, Value::String(problem.reason())),
        };
        checks.push(Check {
            name: format!("sql: {}", assertion.name),
            passed,
            expected: Value::Bool(true),
            actual,
        });
    }
    if let Err(error) = connection.close().await {
        tracing::debug!(%error, "closing the assertion connection failed");
    }
    Ok(checks)
}

/// The query with every placeholder replaced by a literal.
pub(crate) fn render(
    assertion: &SqlAssertion,
    issue: &Map<String, Value>,
) -> Result<String, AssertionError> {
    let parts = assertion
        .template_parts()
        .map_err(AssertionError::Template)?;
    let mut query = String::with_capacity(assertion.query.len());
    for part in parts {
        match part {
            TemplatePart::Text(text) => query.push_str(text),
            TemplatePart::Field(path) => {
                let value = lookup(issue, path)
                    .ok_or_else(|| AssertionError::MissingField(path.to_string()))?;
                query.push_str(&sql_literal(value));
            }
        }
    }
    Ok(query)
}

/// `a.b` is `b` inside the object `a`.
fn lookup<'v>(issue: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut segments = path.split('.');
    let mut value = issue.get(segments.next()?)?;
    for segment in segments {
        value = value.as_object()?.get(segment)?;
    }
    Some(value)
}

/// A JSON value as a SQL literal. Text is quoted with `'` doubled, which is all quoting takes
/// with `standard_conforming_strings` on (the assertion's transaction sets it). A bare quoted
/// literal has no type yet, so `id = '7'` still compares with an integer column: CSV issues
/// give every field as text. Numbers are wrapped in parentheses so a negative one cannot join a
/// `-` before it into a comment.
pub(crate) fn sql_literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(true) => "TRUE".to_owned(),
        Value::Bool(false) => "FALSE".to_owned(),
        Value::Number(number) => format!("({number})"),
        Value::String(text) => quote(text),
        // Lists and objects as their JSON text; cast them with `::jsonb` in the query.
        Value::Array(_) | Value::Object(_) => quote(&value.to_string()),
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Runs `query` read-only and returns its single value, or why there is none.
async fn run_assertion(
    connection: &mut PgConnection,
    query: &str,
) -> Result<Value, AssertionError> {
    let mut transaction = connection
        .begin()
        .await
        .map_err(AssertionError::Transaction)?;
    let setup = format!(
        "SET TRANSACTION READ ONLY; SET LOCAL standard_conforming_strings = on; \
         SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"
    );
    sqlx::raw_sql(AssertSqlSafe(setup))
        .execute(&mut *transaction)
        .await
        .map_err(AssertionError::Transaction)?;
    // `ROW(result.*)` names the columns f1, f2, … whatever the query calls them, so two
    // columns with one name still count as two. The line break ends a trailing `--` comment.
    let body = query.trim_end().trim_end_matches(';');
    let wrapped = format!("SELECT to_jsonb(ROW(result.*)) FROM (\n{body}\n) AS result");
    let rows: Result<Vec<Json<Map<String, Value>>>, sqlx::Error> =
        sqlx::query_scalar(AssertSqlSafe(wrapped))
            .fetch_all(&mut *transaction)
            .await;
    if let Err(error) = transaction.rollback().await {
        tracing::debug!(%error, "rolling back an assertion failed");
    }
    let rows = rows.map_err(|error| AssertionError::Query(server_message(&error)))?;
    let [Json(row)] = rows.as_slice() else {
        return Err(AssertionError::Rows(rows.len()));
    };
    let mut values = row.values();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value.clone()),
        _ => Err(AssertionError::Columns(row.len())),
    }
}

/// Postgres's own message, without sqlx's prefix.
fn server_message(error: &sqlx::Error) -> String {
    match error.as_database_error() {
        Some(database_error) => database_error.message().to_owned(),
        None => error_chain(error),
    }
}

/// `true`, or a number other than zero.
fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assertion(query: &str) -> SqlAssertion {
        SqlAssertion {
            name: "test".to_owned(),
            query: query.to_owned(),
            line: 1,
        }
    }

    fn issue(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn reason(rendered: Result<String, AssertionError>) -> String {
        rendered.expect_err("a missing field").reason()
    }

    #[test]
    fn placeholders_become_literals() {
        let fields = issue(json!({
            "id": "7",
            "note": "it's '; DROP TABLE t; --",
            "amount": -5,
            "urgent": true,
            "tags": ["a"],
            "expected": {"status": "closed"},
            "missing": null
        }));
        let rendered = render(
            &assertion(
                "SELECT {{id}}, {{note}}, 1 -{{amount}}, {{urgent}}, {{tags}}, {{expected.status}}, {{missing}}",
            ),
            &fields,
        );
        assert_eq!(
            rendered.as_deref().ok(),
            Some(
                "SELECT '7', 'it''s ''; DROP TABLE t; --', 1 -(-5), TRUE, '[\"a\"]', 'closed', NULL"
            )
        );
    }

    #[test]
    fn a_missing_field_is_a_reason_not_sql() {
        let fields = issue(json!({"id": "7", "expected": {"status": "closed"}}));
        assert_eq!(
            reason(render(&assertion("SELECT {{ticket_id}}"), &fields)),
            "error: the issue has no field `ticket_id`"
        );
        assert_eq!(
            reason(render(&assertion("SELECT {{expected.priority}}"), &fields)),
            "error: the issue has no field `expected.priority`"
        );
        assert_eq!(
            reason(render(&assertion("SELECT {{id.x}}"), &fields)),
            "error: the issue has no field `id.x`"
        );
    }

    #[test]
    fn only_true_and_non_zero_numbers_pass() {
        assert!(is_true(&json!(true)));
        assert!(is_true(&json!(3)));
        assert!(is_true(&json!(0.5)));
        assert!(!is_true(&json!(false)));
        assert!(!is_true(&json!(0)));
        assert!(!is_true(&json!("true")));
        assert!(!is_true(&Value::Null));
    }
}
