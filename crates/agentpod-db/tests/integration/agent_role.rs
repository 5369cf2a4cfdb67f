//! The `agent` role: enough to work with the fixture tables, nothing administrative.

use agentpod_db::PodDatabase;

use crate::support::{LocalPostgres, TestResult, connect, shop_fixtures};

#[tokio::test]
async fn agent_can_read_and_write_tables_but_not_administer() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let issue = pod.create_issue_database("boundary").await?;
    // The issue's own role, a member of the `agent` group.
    assert!(
        issue
            .agent_url
            .starts_with(&format!("postgres://{}:", issue.role))
            && issue.role.starts_with("agent_"),
        "{}",
        issue.role
    );
    let mut agent = connect(&issue.agent_url).await?;

    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = 1")
        .fetch_one(&mut agent)
        .await?;
    assert_eq!(name, "Ada Lovelace");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, amount) VALUES (3, 9.99) RETURNING id",
    )
    .fetch_one(&mut agent)
    .await?;
    assert_eq!(
        id, 4,
        "the serial sequence is usable and continues after the fixtures"
    );
    sqlx::query("UPDATE customers SET note = 'vip' WHERE id = 3")
        .execute(&mut agent)
        .await?;
    sqlx::query("DELETE FROM orders WHERE id = 4")
        .execute(&mut agent)
        .await?;

    for forbidden in [
        "CREATE ROLE intruder LOGIN",
        "SELECT rolpassword FROM pg_authid",
        "CREATE TABLE scratch (x int)",
        "ALTER TABLE customers ADD COLUMN x int",
        "DROP TABLE orders",
        "CREATE DATABASE elsewhere",
        "ALTER ROLE agent SUPERUSER",
        "SET ROLE postgres",
    ] {
        let result = sqlx::raw_sql(forbidden).execute(&mut agent).await;
        assert!(result.is_err(), "agent could run {forbidden}");
    }

    let attributes: (bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut agent)
    .await?;
    assert_eq!(attributes, (false, false, false));

    let template = issue.agent_url.replace(&issue.name, "agentpod_template");
    assert!(
        connect(&template).await.is_err(),
        "agent reached the template"
    );

    sqlx::Connection::close(agent).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}
