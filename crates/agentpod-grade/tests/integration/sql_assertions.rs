//! SQL assertions on a real issue database: templating keeps issue text literal, and only a
//! single true or non-zero value passes.

use agentpod_grade::grade_sql_assertions;
use agentpod_spec::SqlAssertion;
use serde_json::{Map, Value, json};
use sqlx::Connection;

use crate::support::{LocalPostgres, TestResult, connect, run_as_agent, support_desk_pod};

fn assertion(name: &str, query: &str) -> SqlAssertion {
    SqlAssertion {
        name: name.to_owned(),
        query: query.to_owned(),
        line: 1,
    }
}

#[tokio::test]
async fn assertions_run_templated_and_read_only() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    let database = pod.create_issue_database("assertions").await?;
    run_as_agent(
        &database.agent_url,
        &["INSERT INTO ticket_notes (id, ticket_id, body) VALUES (10, 1, 'Refund approved')"],
    )
    .await?;
    let hostile = "it's fine'); DROP TABLE tickets; --";
    let issue: Map<String, Value> = json!({
        "id": "1",
        "ticket_id": 1,
        "subject": hostile,
        "expected": {"note": "Refund approved"}
    })
    .as_object()
    .cloned()
    .ok_or("an object")?;
    let assertions = [
        assertion(
            "note written",
            "SELECT count(*) > 0 FROM ticket_notes WHERE ticket_id = {{ticket_id}}",
        ),
        assertion(
            "text id compares with an integer",
            "SELECT count(*) FROM tickets WHERE id = {{id}};  ",
        ),
        assertion(
            "quote stays literal",
            &format!(
                "SELECT {{{{subject}}}} = '{}' -- a trailing comment",
                hostile.replace('\'', "''")
            ),
        ),
        assertion(
            "expected value",
            "SELECT body = {{expected.note}} FROM ticket_notes WHERE id = 10",
        ),
        assertion("false", "SELECT false"),
        assertion(
            "zero",
            "SELECT count(*) FROM ticket_notes WHERE ticket_id = 2",
        ),
        assertion("two rows", "SELECT true FROM generate_series(1, 2)"),
        assertion("two columns", "SELECT true AS ok, true AS ok"),
        assertion("no such table", "SELECT count(*) > 0 FROM nope"),
        assertion("missing field", "SELECT {{customer_id}} IS NOT NULL"),
        assertion("writes refused", "SELECT nextval('ticket_numbers') > 0"),
    ];
    let checks = grade_sql_assertions(&database.admin_url, &assertions, &issue).await?;
    let outcomes: Vec<(&str, bool, &Value)> = checks
        .iter()
        .map(|check| (check.name.as_str(), check.passed, &check.actual))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("sql: note written", true, &json!(true)),
            ("sql: text id compares with an integer", true, &json!(1)),
            ("sql: quote stays literal", true, &json!(true)),
            ("sql: expected value", true, &json!(true)),
            ("sql: false", false, &json!(false)),
            ("sql: zero", false, &json!(0)),
            (
                "sql: two rows",
                false,
                &json!("error: the query returned 2 rows, not 1")
            ),
            (
                "sql: two columns",
                false,
                &json!("error: the query returned 2 columns, not 1")
            ),
            (
                "sql: no such table",
                false,
                &json!("error: relation \"nope\" does not exist")
            ),
            (
                "sql: missing field",
                false,
                &json!("error: the issue has no field `customer_id`")
            ),
            (
                "sql: writes refused",
                false,
                &json!("error: cannot execute nextval() in a read-only transaction")
            ),
        ]
    );
    assert!(checks.iter().all(|check| check.expected == json!(true)));

    let mut admin = connect(&database.admin_url).await?;
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(tickets, 2, "the hostile subject stayed a string");
    admin.close().await?;

    pod.drop_issue_database(database).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn no_assertions_need_no_database_and_an_unreachable_one_is_an_error() -> TestResult {
    let issue = Map::new();
    let unreachable = "postgres://postgres:x@127.0.0.1:1/none";
    assert!(
        grade_sql_assertions(unreachable, &[], &issue)
            .await?
            .is_empty()
    );
    let error = grade_sql_assertions(unreachable, &[assertion("a", "SELECT true")], &issue).await;
    let message = error.map(|_| ()).map_err(|error| error.to_string());
    assert!(
        message
            .as_ref()
            .is_err_and(|message| message.starts_with("cannot connect to the issue database")),
        "{message:?}"
    );
    Ok(())
}
