//! Seeding the template from SQL, CSV and JSON lines fixtures.

use std::time::Instant;

use agentpod_db::PodDatabase;
use serde_json::json;

use crate::support::{LocalPostgres, TestResult, connect, shop_fixtures};

#[tokio::test]
async fn fixtures_of_every_kind_reach_issue_databases() -> TestResult {
    let server = LocalPostgres::start().await?;
    let started = Instant::now();
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    eprintln!("seeded shop fixtures in {:?}", started.elapsed());
    let issue = pod.create_issue_database("shop-1").await?;
    let mut connection = connect(&issue.admin_url).await?;

    let customers: Vec<(i32, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, name, email, note FROM customers ORDER BY id")
            .fetch_all(&mut connection)
            .await?;
    assert_eq!(
        customers,
        vec![
            (
                1,
                "Ada Lovelace".into(),
                Some("ada@example.com".into()),
                None
            ),
            (
                2,
                "Grace \"Amazing\" Hopper".into(),
                Some("grace@example.com".into()),
                Some(String::new())
            ),
            (
                3,
                "Alan\nTuring".into(),
                None,
                Some("likes; semicolons".into())
            ),
        ],
        "unquoted empty CSV fields are NULL, quoted ones empty strings"
    );

    let orders: Vec<(i64, i32, String, Option<serde_json::Value>, String)> = sqlx::query_as(
        "SELECT id, customer_id, amount::text, details, status FROM orders ORDER BY id",
    )
    .fetch_all(&mut connection)
    .await?;
    assert_eq!(
        orders,
        vec![
            (
                1,
                1,
                "12.50".into(),
                Some(json!({"items": ["tea", "cake"]})),
                "paid".into()
            ),
            (2, 1, "3.00".into(), None, "open".into()),
            (3, 2, "40.25".into(), Some(json!([1, 2, 3])), "open".into()),
        ],
        "JSON null is NULL, nested values are jsonb, a missing key keeps the column default"
    );

    let total: String = sqlx::query_scalar("SELECT order_total(1)::text")
        .fetch_one(&mut connection)
        .await?;
    assert_eq!(total, "15.50");
    let indexed: bool = sqlx::query_scalar("SELECT to_regclass('orders_customer') IS NOT NULL")
        .fetch_one(&mut connection)
        .await?;
    assert!(indexed, "CREATE INDEX CONCURRENTLY ran outside the batch");

    sqlx::Connection::close(connection).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn seeding_again_on_the_same_server_starts_from_an_empty_template() -> TestResult {
    let server = LocalPostgres::start().await?;
    let first = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let old_issue = first.create_issue_database("old").await?;
    first.close().await;

    // The role exists now and the template holds data; a second seed must reset both.
    let second = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let issue = second.create_issue_database("new").await?;
    let mut agent = connect(&issue.agent_url).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut agent)
        .await?;
    assert_eq!(count, 3);
    assert!(
        connect(&old_issue.agent_url).await.is_err(),
        "the old agent password must stop working"
    );
    sqlx::Connection::close(agent).await?;
    second.drop_issue_database(issue).await?;
    second.drop_issue_database(old_issue).await?;
    second.close().await;
    Ok(())
}

#[tokio::test]
async fn many_statements_and_rows_seed_quickly() -> TestResult {
    let server = LocalPostgres::start().await?;
    let directory = tempfile::tempdir()?;
    let mut script =
        String::from("create table events (id integer primary key, kind text, payload jsonb);\n");
    for id in 0..3000 {
        script.push_str(&format!(
            "insert into events values ({id}, 'kind-{}', '{{\"n\": {id}}}');\n",
            id % 7
        ));
    }
    let script_path = directory.path().join("events.sql");
    std::fs::write(&script_path, script)?;
    let mut rows = String::new();
    for id in 3000..8000 {
        rows.push_str(&format!(
            "{{\"id\": {id}, \"kind\": \"bulk\", \"payload\": {{\"n\": {id}}}}}\n"
        ));
    }
    let rows_path = directory.path().join("events.jsonl");
    std::fs::write(&rows_path, rows)?;

    let started = Instant::now();
    let pod = PodDatabase::seed(
        &server.endpoint,
        &[
            crate::support::sql(script_path),
            crate::support::json_lines(rows_path, "events"),
        ],
    )
    .await?;
    let elapsed = started.elapsed();
    eprintln!("seeded 3000 INSERT statements and 5000 JSON lines in {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "seeding took {elapsed:?}");

    let issue = pod.create_issue_database("events").await?;
    let mut connection = connect(&issue.admin_url).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut connection)
        .await?;
    assert_eq!(count, 8000);
    sqlx::Connection::close(connection).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}
