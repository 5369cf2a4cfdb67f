//! Per-issue databases: isolated from each other, dropped even with connections open.

use agentpod_db::PodDatabase;

use crate::support::{LocalPostgres, TestResult, connect, shop_fixtures};

#[tokio::test]
async fn a_write_in_one_issue_database_is_not_seen_in_another() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let first = pod.create_issue_database("issue-1").await?;
    // Connected before the next issue database exists: from then on only the newest one
    // accepts the agent's new connections.
    let mut first_agent = connect(&first.agent_url).await?;
    let second = pod.create_issue_database("issue-1").await?;
    assert_ne!(
        first.name, second.name,
        "the same issue id twice gets two databases"
    );

    sqlx::query("INSERT INTO customers (id, name) VALUES (100, 'Only in the first')")
        .execute(&mut first_agent)
        .await?;
    sqlx::query("DELETE FROM orders WHERE customer_id = 2")
        .execute(&mut first_agent)
        .await?;
    assert!(
        connect(&first.agent_url).await.is_err(),
        "a newer issue database closes the older ones to new agent connections"
    );

    let mut second_agent = connect(&second.agent_url).await?;
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut second_agent)
        .await?;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut second_agent)
        .await?;
    assert_eq!((customers, orders), (3, 3));

    let third = pod.create_issue_database("issue-3").await?;
    let mut third_admin = connect(&third.admin_url).await?;
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut third_admin)
        .await?;
    assert_eq!(customers, 3, "writes never reach the template");

    for connection in [first_agent, second_agent, third_admin] {
        sqlx::Connection::close(connection).await?;
    }
    for database in [first, second, third] {
        pod.drop_issue_database(database).await?;
    }
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn drop_succeeds_while_the_agent_is_still_connected() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let issue = pod.create_issue_database("left-open").await?;
    let name = issue.name.clone();
    let mut agent = connect(&issue.agent_url).await?;
    sqlx::query("SELECT 1").execute(&mut agent).await?;

    pod.drop_issue_database(issue).await?;

    let mut admin = server.admin("postgres").await?;
    let remaining: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(remaining, 0);
    assert!(
        sqlx::query("SELECT 1").execute(&mut agent).await.is_err(),
        "the agent's session was ended by the drop"
    );
    sqlx::Connection::close(admin).await?;
    pod.close().await;
    Ok(())
}
