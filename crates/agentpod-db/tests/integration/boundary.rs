//! The boundary applied to a seeded template: what it resolves to, which specs it rejects,
//! and what it records — changes to writable tables, proposals for approval tables.

use agentpod_db::{BoundaryError, PodDatabase};
use agentpod_spec::{AccessClass, ProposalResponse, TableRule};

use crate::support::{
    LocalPostgres, TestResult, connect, support_desk_boundary, support_desk_fixtures,
    support_desk_pod, table_digests,
};

#[tokio::test]
async fn the_effective_boundary_lists_every_table_with_its_class() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, effective) = support_desk_pod(&server, Some(&boundary)).await?;
    type Summary = (String, AccessClass, bool, Vec<(String, AccessClass)>);
    let summary: Vec<Summary> = effective
        .tables
        .iter()
        .map(|table| {
            (
                format!("{}.{}", table.schema, table.name),
                table.access,
                table.declared,
                table.columns.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "billing.invoices".to_owned(),
                AccessClass::ReadOnly,
                false,
                vec![]
            ),
            (
                "public.customers".to_owned(),
                AccessClass::ReadOnly,
                true,
                vec![("email".to_owned(), AccessClass::Hidden)]
            ),
            (
                "public.orders".to_owned(),
                AccessClass::ReadOnly,
                true,
                vec![]
            ),
            (
                "public.refunds".to_owned(),
                AccessClass::Approval,
                true,
                vec![]
            ),
            (
                "public.staff_permissions".to_owned(),
                AccessClass::Hidden,
                true,
                vec![]
            ),
            (
                "public.ticket_notes".to_owned(),
                AccessClass::Writable,
                true,
                vec![]
            ),
            (
                "public.tickets".to_owned(),
                AccessClass::ReadOnly,
                true,
                vec![("status".to_owned(), AccessClass::Writable)]
            ),
        ]
    );
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn names_without_a_table_and_unclassified_tables_are_rejected() -> TestResult {
    let server = LocalPostgres::start().await?;
    let mut pod = PodDatabase::seed(&server.endpoint, &support_desk_fixtures()).await?;

    let mut unknown_table = support_desk_boundary(ProposalResponse::Pending);
    unknown_table.tables.push(TableRule {
        table: "refundz".to_owned(),
        access: AccessClass::Approval,
        line: 11,
        column: 5,
    });
    let error = pod.apply_boundary(Some(&unknown_table)).await.err();
    assert!(
        matches!(&error, Some(BoundaryError::UnknownTable { table, line: 11, column: 5 }) if table == "refundz"),
        "{error:?}"
    );

    let mut unknown_column = support_desk_boundary(ProposalResponse::Pending);
    unknown_column.columns[0].column = "state".to_owned();
    let error = pod.apply_boundary(Some(&unknown_column)).await.err();
    assert!(
        matches!(&error, Some(BoundaryError::UnknownColumn { table, column_name, line: 12, .. }) if table == "tickets" && column_name == "state"),
        "{error:?}"
    );

    let mut wrong_schema = support_desk_boundary(ProposalResponse::Pending);
    wrong_schema.tables[0].table = "billing.ticket_notes".to_owned();
    let error = pod.apply_boundary(Some(&wrong_schema)).await.err();
    assert!(
        matches!(&error, Some(BoundaryError::UnknownTable { table, line: 5, .. }) if table == "billing.ticket_notes"),
        "unqualified names mean `public`, qualified ones their schema: {error:?}"
    );

    let mut no_default = support_desk_boundary(ProposalResponse::Pending);
    no_default.default = None;
    no_default.tables.retain(|rule| rule.table != "orders");
    let error = pod.apply_boundary(Some(&no_default)).await.err();
    assert!(
        matches!(&error, Some(BoundaryError::Unclassified { tables, line: 2, column: 1 }) if tables == &["billing.invoices".to_owned(), "orders".to_owned()]),
        "{error:?}"
    );
    if let Some(error) = error {
        assert_eq!(
            error.to_string(),
            "boundary (line 2, column 1) gives no class to tables `billing.invoices`, `orders`, and declares no `default`"
        );
    }

    // A rejected boundary changed nothing: the agent still has seeding's full access, and the
    // template can still be cloned.
    let issue = pod.create_issue_database("after-rejection").await?;
    let mut agent = connect(&issue.agent_url).await?;
    let staff: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_permissions")
        .fetch_one(&mut agent)
        .await?;
    assert_eq!(staff, 2);
    sqlx::Connection::close(agent).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn writes_to_writable_tables_and_columns_are_applied_and_captured() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let issue = pod.create_issue_database("writable").await?;
    let mut agent = connect(&issue.agent_url).await?;

    let note_id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_notes (ticket_id, body) VALUES (2, 'Parcel found.') RETURNING id",
    )
    .fetch_one(&mut agent)
    .await?;
    assert_eq!(note_id, 2, "the notes' sequence is usable");
    sqlx::raw_sql("UPDATE tickets SET status = 'solved' WHERE id = 2")
        .execute(&mut agent)
        .await?;
    sqlx::raw_sql("DELETE FROM ticket_notes WHERE id = 1")
        .execute(&mut agent)
        .await?;

    let events = pod.collect_boundary_events(&issue).await?;
    let summary: Vec<(&str, &str)> = events
        .changes
        .iter()
        .map(|change| (change.table.as_str(), change.operation.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("ticket_notes", "insert"),
            ("tickets", "update"),
            ("ticket_notes", "delete")
        ]
    );
    let update = &events.changes[1];
    assert_eq!(
        update.before.as_ref().and_then(|row| row.get("status")),
        Some(&serde_json::json!("open"))
    );
    assert_eq!(
        update.after.as_ref().and_then(|row| row.get("status")),
        Some(&serde_json::json!("solved"))
    );
    assert_eq!(
        update.statement,
        "UPDATE tickets SET status = 'solved' WHERE id = 2"
    );
    assert_eq!(events.changes[0].before, None);
    assert_eq!(
        events.changes[0]
            .after
            .as_ref()
            .and_then(|row| row.get("body")),
        Some(&serde_json::json!("Parcel found."))
    );
    assert_eq!(events.changes[2].after, None);
    assert!(events.proposals.is_empty(), "{:?}", events.proposals);
    assert!(events.violations.is_empty(), "{:?}", events.violations);

    // Writes by the superuser (graders, fixtures) are not the agent's.
    let mut admin = connect(&issue.admin_url).await?;
    sqlx::raw_sql("INSERT INTO ticket_notes (ticket_id, body) VALUES (1, 'by a human')")
        .execute(&mut admin)
        .await?;
    let events = pod.collect_boundary_events(&issue).await?;
    assert_eq!(events.changes.len(), 3);

    sqlx::Connection::close(agent).await?;
    sqlx::Connection::close(admin).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn writes_to_approval_tables_become_pending_proposals() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let issue = pod.create_issue_database("approval").await?;
    let mut admin = connect(&issue.admin_url).await?;
    let before = table_digests(&mut admin).await?;
    let mut agent = connect(&issue.agent_url).await?;

    let inserted = sqlx::raw_sql(
        "INSERT INTO refunds (order_id, amount, reason) VALUES (1, 120.00, 'kettle arrived broken')",
    )
    .execute(&mut agent)
    .await?;
    assert_eq!(
        inserted.rows_affected(),
        0,
        "the row is diverted, not inserted"
    );
    sqlx::raw_sql("UPDATE refunds SET amount = 500 WHERE id = 1")
        .execute(&mut agent)
        .await?;
    sqlx::raw_sql("DELETE FROM refunds")
        .execute(&mut agent)
        .await?;

    assert_eq!(
        table_digests(&mut admin).await?,
        before,
        "refunds unchanged"
    );
    let events = pod.collect_boundary_events(&issue).await?;
    let summary: Vec<(&str, &str, &str, &str)> = events
        .proposals
        .iter()
        .map(|proposal| {
            (
                proposal.table.as_str(),
                proposal.operation.as_str(),
                proposal.status.as_str(),
                proposal.proposed_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("refunds", "insert", "pending", issue.role.as_str()),
            ("refunds", "update", "pending", issue.role.as_str()),
            ("refunds", "delete", "pending", issue.role.as_str()),
        ]
    );
    let insert = &events.proposals[0];
    let row = insert
        .after
        .as_ref()
        .ok_or("no row in the insert proposal")?;
    assert_eq!(
        row.get("reason"),
        Some(&serde_json::json!("kettle arrived broken"))
    );
    assert_eq!(
        row.get("id"),
        Some(&serde_json::json!(2)),
        "defaults are filled in"
    );
    assert_eq!(
        events.proposals[1]
            .after
            .as_ref()
            .and_then(|row| row.get("amount")),
        Some(&serde_json::json!(500.00))
    );
    assert!(events.changes.is_empty(), "{:?}", events.changes);
    assert!(events.violations.is_empty(), "{:?}", events.violations);

    sqlx::Connection::close(agent).await?;
    sqlx::Connection::close(admin).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn with_approve_proposals_are_applied_and_recorded() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Approve);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let issue = pod.create_issue_database("approve").await?;
    let mut agent = connect(&issue.agent_url).await?;

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO refunds (order_id, amount, reason) VALUES (1, 120.00, 'approved refund') RETURNING id",
    )
    .fetch_one(&mut agent)
    .await?;
    let mut admin = connect(&issue.admin_url).await?;
    let reason: String = sqlx::query_scalar("SELECT reason FROM refunds WHERE id = $1")
        .bind(id)
        .fetch_one(&mut admin)
        .await?;
    assert_eq!(reason, "approved refund");

    let events = pod.collect_boundary_events(&issue).await?;
    assert_eq!(events.proposals.len(), 1, "{:?}", events.proposals);
    assert_eq!(events.proposals[0].status, "approved");
    assert_eq!(events.changes.len(), 1, "{:?}", events.changes);
    assert_eq!(
        (
            events.changes[0].table.as_str(),
            events.changes[0].operation.as_str()
        ),
        ("refunds", "insert")
    );
    assert_eq!(events.changes[0].after, events.proposals[0].after);

    sqlx::Connection::close(agent).await?;
    sqlx::Connection::close(admin).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn without_a_boundary_every_table_is_writable_and_changes_are_captured() -> TestResult {
    let server = LocalPostgres::start().await?;
    let (pod, effective) = support_desk_pod(&server, None).await?;
    assert!(
        effective
            .tables
            .iter()
            .all(|table| table.access == AccessClass::Writable && !table.declared)
    );
    let issue = pod.create_issue_database("no-boundary").await?;
    let mut agent = connect(&issue.agent_url).await?;
    sqlx::raw_sql("UPDATE staff_permissions SET permission = 'none' WHERE staff = 'bob'")
        .execute(&mut agent)
        .await?;
    sqlx::raw_sql("INSERT INTO billing.invoices VALUES (3, 2, 1.00)")
        .execute(&mut agent)
        .await?;
    let refused = sqlx::raw_sql("DROP TABLE orders").execute(&mut agent).await;
    assert!(refused.is_err());

    let events = pod.collect_boundary_events(&issue).await?;
    let tables: Vec<&str> = events
        .changes
        .iter()
        .map(|change| change.table.as_str())
        .collect();
    assert_eq!(tables, ["staff_permissions", "billing.invoices"]);
    assert_eq!(events.violations.len(), 1, "{:?}", events.violations);
    assert_eq!(events.violations[0].sqlstate, "42501");
    assert_eq!(
        events.violations[0].statement.as_deref(),
        Some("DROP TABLE orders")
    );
    assert_eq!(events.violations[0].table.as_deref(), Some("orders"));

    sqlx::Connection::close(agent).await?;
    pod.drop_issue_database(issue).await?;
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn each_issue_sees_only_its_own_violations() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;

    let first = pod.create_issue_database("first").await?;
    let mut agent = connect(&first.agent_url).await?;
    let _ = sqlx::raw_sql("SELECT * FROM staff_permissions")
        .execute(&mut agent)
        .await;
    sqlx::Connection::close(agent).await?;
    let events = pod.collect_boundary_events(&first).await?;
    assert_eq!(events.violations.len(), 1, "{:?}", events.violations);
    pod.drop_issue_database(first).await?;

    let second = pod.create_issue_database("second").await?;
    let mut agent = connect(&second.agent_url).await?;
    let _ = sqlx::raw_sql("DELETE FROM orders")
        .execute(&mut agent)
        .await;
    sqlx::Connection::close(agent).await?;
    let events = pod.collect_boundary_events(&second).await?;
    let statements: Vec<Option<&str>> = events
        .violations
        .iter()
        .map(|violation| violation.statement.as_deref())
        .collect();
    assert_eq!(statements, [Some("DELETE FROM orders")]);
    pod.drop_issue_database(second).await?;
    pod.close().await;
    Ok(())
}

/// A delete the agent may make cascades, through a foreign key, into a table it may only read:
/// the cascaded change is on record too, whatever the agent's grants on that table.
#[tokio::test]
async fn changes_cascaded_into_read_only_tables_are_recorded() -> TestResult {
    let server = LocalPostgres::start().await?;
    let directory = tempfile::tempdir()?;
    let schema = directory.path().join("cascade.sql");
    std::fs::write(
        &schema,
        "CREATE TABLE parents (id integer PRIMARY KEY);
         CREATE TABLE children (
             id integer PRIMARY KEY,
             parent_id integer NOT NULL REFERENCES parents (id) ON DELETE CASCADE
         );
         INSERT INTO parents VALUES (1), (2);
         INSERT INTO children VALUES (10, 1), (20, 2);",
    )?;
    let mut pod = PodDatabase::seed(&server.endpoint, &[crate::support::sql(schema)]).await?;
    let rule = |table: &str, access: AccessClass| TableRule {
        table: table.to_owned(),
        access,
        line: 1,
        column: 1,
    };
    let boundary = agentpod_spec::BoundarySpec {
        default: None,
        on_proposal: ProposalResponse::Pending,
        tables: vec![
            rule("parents", AccessClass::Writable),
            rule("children", AccessClass::ReadOnly),
        ],
        columns: vec![],
        line: 1,
        column: 1,
    };
    pod.apply_boundary(Some(&boundary)).await?;
    let issue = pod.create_issue_database("cascade").await?;
    let mut agent = connect(&issue.agent_url).await?;
    sqlx::raw_sql("DELETE FROM parents WHERE id = 1")
        .execute(&mut agent)
        .await?;
    sqlx::Connection::close(agent).await?;
    let events = pod.collect_boundary_events(&issue).await?;
    let mut changes: Vec<(&str, &str, serde_json::Value)> = events
        .changes
        .iter()
        .map(|change| {
            let before = change.before.as_ref().map(|row| row["id"].clone());
            (
                change.table.as_str(),
                change.operation.as_str(),
                before.unwrap_or_default(),
            )
        })
        .collect();
    changes.sort_by(|left, right| left.0.cmp(right.0));
    assert_eq!(
        changes,
        [
            ("children", "delete", serde_json::json!(10)),
            ("parents", "delete", serde_json::json!(1)),
        ]
    );
    assert!(events.violations.is_empty(), "{:?}", events.violations);
    pod.close().await;
    Ok(())
}

/// A seeded pod from `sql`, with `boundary` applied.
async fn pod_from_sql(
    server: &LocalPostgres,
    sql: &str,
    boundary: &agentpod_spec::BoundarySpec,
) -> Result<(PodDatabase, tempfile::TempDir), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let schema = directory.path().join("schema.sql");
    std::fs::write(&schema, sql)?;
    let mut pod = PodDatabase::seed(&server.endpoint, &[crate::support::sql(schema)]).await?;
    pod.apply_boundary(Some(boundary)).await?;
    Ok((pod, directory))
}

fn table_rule(table: &str, access: AccessClass) -> TableRule {
    TableRule {
        table: table.to_owned(),
        access,
        line: 1,
        column: 1,
    }
}

/// An exception handler would catch a refused statement before the server logs it: the agent
/// could probe the boundary unrecorded. It has no procedural language, so the attempt itself is
/// refused, recorded, and changes nothing.
#[tokio::test]
async fn a_refusal_cannot_be_caught_out_of_the_record() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let issue = pod.create_issue_database("caught").await?;
    let mut admin = connect(&issue.admin_url).await?;
    let before = table_digests(&mut admin).await?;
    let mut agent = connect(&issue.agent_url).await?;
    let caught = sqlx::raw_sql(
        "DO $$ BEGIN DELETE FROM orders; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$",
    )
    .execute(&mut agent)
    .await
    .expect_err("no procedural language for the agent");
    assert!(caught.to_string().contains("language plpgsql"), "{caught}");
    sqlx::Connection::close(agent).await?;
    assert_eq!(table_digests(&mut admin).await?, before);
    let events = pod.collect_boundary_events(&issue).await?;
    assert_eq!(events.violations.len(), 1, "{:?}", events.violations);
    assert_eq!(events.violations[0].sqlstate, "42501");
    Ok(())
}

/// A writable table's approval column cannot be set by a new row (nor by deleting a row and
/// inserting it again): only an update, which becomes a proposal, can change it.
#[tokio::test]
async fn an_approval_column_cannot_be_set_by_an_insert() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = agentpod_spec::BoundarySpec {
        default: None,
        on_proposal: ProposalResponse::Pending,
        tables: vec![table_rule("tickets", AccessClass::Writable)],
        columns: vec![agentpod_spec::ColumnRule {
            table: "tickets".to_owned(),
            column: "refund".to_owned(),
            access: AccessClass::Approval,
            line: 1,
            column_number: 1,
        }],
        line: 1,
        column: 1,
    };
    let (pod, _directory) = pod_from_sql(
        &server,
        "CREATE TABLE tickets (id integer PRIMARY KEY, status text, refund numeric DEFAULT 0);
         INSERT INTO tickets VALUES (1, 'open', 0), (2, 'open', 0);",
        &boundary,
    )
    .await?;
    let issue = pod.create_issue_database("approval-insert").await?;
    let mut agent = connect(&issue.agent_url).await?;
    let refused =
        sqlx::raw_sql("INSERT INTO tickets (id, status, refund) VALUES (3, 'open', 1000)")
            .execute(&mut agent)
            .await
            .expect_err("the approval column is not insertable");
    assert!(
        refused.to_string().contains("permission denied"),
        "{refused}"
    );
    sqlx::raw_sql(
        "DELETE FROM tickets WHERE id = 2; INSERT INTO tickets (id, status) VALUES (2, 'open')",
    )
    .execute(&mut agent)
    .await?;
    sqlx::raw_sql("UPDATE tickets SET refund = 500 WHERE id = 1")
        .execute(&mut agent)
        .await?;
    sqlx::Connection::close(agent).await?;
    let mut admin = connect(&issue.admin_url).await?;
    let refunds: Vec<(i32, String)> =
        sqlx::query_as("SELECT id, refund::text FROM tickets ORDER BY id")
            .fetch_all(&mut admin)
            .await?;
    assert_eq!(refunds, [(1, "0".to_owned()), (2, "0".to_owned())]);
    let events = pod.collect_boundary_events(&issue).await?;
    assert_eq!(events.proposals.len(), 1, "{:?}", events.proposals);
    assert_eq!(events.violations.len(), 1, "{:?}", events.violations);
    Ok(())
}

/// What an agent leaves in its role's settings (readable by every role) is gone before the
/// next issue's agent starts.
#[tokio::test]
async fn an_issue_leaves_nothing_in_its_role_for_the_next() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let first = pod.create_issue_database("first").await?;
    let mut agent = connect(&first.agent_url).await?;
    sqlx::raw_sql("ALTER ROLE CURRENT_USER SET application_name = 'the answer is 42'")
        .execute(&mut agent)
        .await?;
    // And in this database only (`pg_db_role_setting`), where every role can read it too.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER ROLE CURRENT_USER IN DATABASE \"{}\" SET application_name = 'the answer is 43'",
        first.name
    )))
    .execute(&mut agent)
    .await?;
    // A session still open when the agent ends is ended, not waited for.
    let mut lingering = connect(&first.agent_url).await?;
    let set: Vec<String> =
        sqlx::query_scalar("SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting")
            .fetch_all(&mut lingering)
            .await?;
    assert!(
        set.iter()
            .any(|settings| settings.contains("the answer is 43")),
        "{set:?}"
    );
    sqlx::Connection::close(agent).await?;
    pod.collect_boundary_events(&first).await?;
    assert!(
        sqlx::query("SELECT 1")
            .execute(&mut lingering)
            .await
            .is_err(),
        "the agent's session outlived its issue"
    );
    pod.retire_issue_database(first);
    let second = pod.create_issue_database("second").await?;
    let mut agent = connect(&second.agent_url).await?;
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolconfig IS NOT NULL
         UNION ALL SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting",
    )
    .fetch_all(&mut agent)
    .await?;
    assert!(
        left.iter().all(|settings| !settings.contains("the answer")),
        "{left:?}"
    );
    sqlx::Connection::close(agent).await?;
    Ok(())
}
