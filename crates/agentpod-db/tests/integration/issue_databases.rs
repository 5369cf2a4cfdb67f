//! Per-issue databases: isolated from each other, dropped even with connections open.

use agentpod_db::{PodDatabase, Spares};

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

/// Between issues, while an agent works, `prepare_next` drops the retired databases and clones
/// a spare that the next issue takes by renaming; the spare is closed to the agent until then.
#[tokio::test]
async fn retired_databases_go_and_a_closed_spare_becomes_the_next_issue() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let mut admin = server.admin("postgres").await?;
    let first = pod.create_issue_database("first").await?;
    let (first_name, first_url) = (first.name.clone(), first.agent_url.clone());
    let mut agent = connect(&first.agent_url).await?;
    sqlx::query("DELETE FROM orders")
        .execute(&mut agent)
        .await?;
    pod.retire_issue_database(first);
    assert_eq!(
        issue_databases(&mut admin).await?,
        vec![first_name.clone()],
        "retiring drops nothing yet"
    );

    pod.prepare_next(Spares {
        next_issue: true,
        grading: false,
    })
    .await;
    let after_prepare = issue_databases(&mut admin).await?;
    assert_eq!(after_prepare.len(), 1, "{after_prepare:?}");
    let spare = after_prepare[0].clone();
    assert!(spare.starts_with("issue_spare_"), "{spare}");
    assert!(
        sqlx::query("SELECT 1").execute(&mut agent).await.is_err(),
        "dropping the retired database ended the agent's session in it"
    );
    // The agent's own credentials, pointed at the spare: its role went with its database.
    let spare_url = first_url.replace(&first_name, &spare);
    let refused = connect(&spare_url).await.expect_err("the spare is closed");
    assert!(
        refused
            .to_string()
            .contains("password authentication failed"),
        "{refused}"
    );

    // Its role was made with it (the password hashed ahead), and cannot log in yet.
    let spare_roles = roles_that_may_connect(&mut admin, &spare).await?;
    assert_eq!(
        spare_roles.len(),
        1,
        "one role may connect to the spare: {spare_roles:?}"
    );
    let (spare_role, can_log_in) = spare_roles[0].clone();
    assert!(!can_log_in, "{spare_role} logs in only once handed out");

    let second = pod.create_issue_database("second").await?;
    assert_eq!(
        issue_databases(&mut admin).await?,
        vec![second.name.clone()],
        "the second issue took the spare: no other clone was made"
    );
    assert_eq!(
        second.role, spare_role,
        "the spare's role was handed out with it"
    );
    assert_eq!(
        roles_that_may_connect(&mut admin, &second.name).await?,
        vec![(spare_role.clone(), true)],
        "once handed out, its role alone may connect, and log in"
    );
    let mut second_agent = connect(&second.agent_url).await?;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut second_agent)
        .await?;
    assert_eq!(
        orders, 3,
        "the spare is a clone of the template, not of the first issue"
    );
    sqlx::Connection::close(second_agent).await?;

    // An issue and the preparation at once, as the runner does: both complete, and the next
    // spare is ready for the issue after.
    let (third, ()) = tokio::join!(
        pod.create_issue_database("third"),
        pod.prepare_next(Spares {
            next_issue: true,
            grading: false
        })
    );
    let third = third?;
    let names = issue_databases(&mut admin).await?;
    assert_eq!(names.len(), 3, "second, third and a new spare: {names:?}");
    assert!(names.iter().any(|name| name.starts_with("issue_spare_")));
    // A retired database, not dropped yet, is closed to its agent as soon as the next issue's
    // database exists, like a live earlier one: its role may log in no more.
    let third_url = third.agent_url.clone();
    pod.retire_issue_database(third);
    let fourth = pod.create_issue_database("fourth").await?;
    let refused = connect(&third_url)
        .await
        .expect_err("a retired database is closed to the agent");
    assert!(
        refused.to_string().contains("is not permitted to log in"),
        "{refused}"
    );
    pod.retire_issue_database(second);
    pod.retire_issue_database(fourth);
    pod.prepare_next(Spares {
        next_issue: true,
        grading: false,
    })
    .await;
    let names = issue_databases(&mut admin).await?;
    assert_eq!(names.len(), 1, "only the spare is left: {names:?}");

    sqlx::Connection::close(admin).await?;
    pod.close().await;
    Ok(())
}

/// With a grading spare wanted, `prepare_next` also clones one for the grader: the gold clone
/// takes it by renaming (no clone is made after the agent), and the next issue still gets its
/// own spare, never the grader's.
#[tokio::test]
async fn the_grader_takes_its_own_spare() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = PodDatabase::seed(&server.endpoint, &shop_fixtures()).await?;
    let mut admin = server.admin("postgres").await?;
    pod.prepare_next(Spares {
        next_issue: true,
        grading: true,
    })
    .await;
    let spares = issue_databases(&mut admin).await?;
    assert_eq!(spares.len(), 2, "{spares:?}");
    let grading_spare = spares
        .iter()
        .find(|name| name.starts_with("issue_grading_spare_"))
        .ok_or_else(|| format!("no grading spare among {spares:?}"))?
        .clone();

    let gold = pod.create_grading_database("T-1-gold").await?;
    let names = issue_databases(&mut admin).await?;
    assert_eq!(
        names.len(),
        2,
        "the gold clone was renamed, not cloned: {names:?}"
    );
    assert!(!names.contains(&grading_spare));
    assert!(names.contains(&gold.name));
    let mut gold_agent = connect(&gold.agent_url).await?;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut gold_agent)
        .await?;
    assert_eq!(orders, 3, "a clone of the template, open to the gold role");
    sqlx::Connection::close(gold_agent).await?;

    let issue = pod.create_issue_database("T-2").await?;
    let names = issue_databases(&mut admin).await?;
    assert_eq!(names.len(), 2, "the issue took the issue spare: {names:?}");
    assert!(names.contains(&issue.name) && names.contains(&gold.name));
    // Without a grading spare, the gold clone is made when it is asked for.
    let second_gold = pod.create_grading_database("T-2-gold").await?;
    assert_eq!(issue_databases(&mut admin).await?.len(), 3);
    pod.drop_issue_database(second_gold).await?;
    pod.drop_issue_database(gold).await?;
    pod.drop_issue_database(issue).await?;
    sqlx::Connection::close(admin).await?;
    pod.close().await;
    Ok(())
}

/// The issue roles (and whether each may log in) that hold CONNECT on `database`.
async fn roles_that_may_connect(
    admin: &mut sqlx::PgConnection,
    database: &str,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT rolname::text, rolcanlogin FROM pg_roles \
         WHERE rolname LIKE 'agent\\_%' AND has_database_privilege(oid, $1, 'CONNECT') \
         ORDER BY 1",
    )
    .bind(database)
    .fetch_all(admin)
    .await
}

async fn issue_databases(admin: &mut sqlx::PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'issue\\_%' ORDER BY 1",
    )
    .fetch_all(admin)
    .await
}
