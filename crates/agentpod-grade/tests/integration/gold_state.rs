//! The gold-actions grader on real clones: the same writes in another order reach the gold
//! state; one differing field fails with a row diff.

use agentpod_db::{PodDatabase, StateSnapshot, diff_states, snapshot_differences, snapshot_state};
use agentpod_grade::grade_gold_state;

use crate::support::{LocalPostgres, TestResult, run_as_agent, support_desk_pod};

/// The gold actions: two notes with explicit ids, a status update, and a tag in a table
/// without a primary key.
const GOLD_ACTIONS: &[&str] = &[
    "INSERT INTO ticket_notes (id, ticket_id, body) VALUES (10, 1, 'Refund approved')",
    "INSERT INTO ticket_notes (id, ticket_id, body) VALUES (11, 1, 'Customer informed')",
    "UPDATE tickets SET status = 'resolved' WHERE id = 1",
    "INSERT INTO ticket_tags VALUES (1, 'refund')",
];

fn ignored() -> Vec<String> {
    // `now()` differs between the two clones whatever the agent does.
    vec!["ticket_notes.created_at".to_owned()]
}

/// Replays `gold` on one fresh clone and `agent` on another, and snapshots both.
async fn states_after(
    pod: &PodDatabase,
    gold: &[&str],
    agent: &[&str],
    ignored_columns: &[String],
) -> Result<(StateSnapshot, StateSnapshot), Box<dyn std::error::Error>> {
    let gold_database = pod.create_issue_database("gold").await?;
    run_as_agent(&gold_database.agent_url, gold).await?;
    let expected = snapshot_state(&gold_database.admin_url, &[], ignored_columns).await?;
    pod.drop_issue_database(gold_database).await?;

    let agent_database = pod.create_issue_database("agent").await?;
    run_as_agent(&agent_database.agent_url, agent).await?;
    let actual = snapshot_state(&agent_database.admin_url, &[], ignored_columns).await?;
    pod.drop_issue_database(agent_database).await?;
    Ok((expected, actual))
}

#[tokio::test]
async fn the_same_writes_in_another_order_reach_the_gold_state() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    // Inserts swapped, the update before them, the tag first.
    let reordered = [
        GOLD_ACTIONS[3],
        GOLD_ACTIONS[2],
        GOLD_ACTIONS[1],
        GOLD_ACTIONS[0],
    ];
    let (expected, actual) = states_after(&pod, GOLD_ACTIONS, &reordered, &ignored()).await?;

    let check = grade_gold_state(&expected, &actual, &[]);
    assert!(check.passed, "{check:?}");
    assert_eq!(check.actual, "the same state");
    assert_eq!(expected, actual, "rows and hashes are canonical");

    let tables: Vec<&str> = actual
        .tables
        .iter()
        .map(|table| table.table.as_str())
        .collect();
    assert_eq!(
        tables,
        ["ticket_notes", "ticket_tags", "tickets"],
        "no audit tables"
    );
    let notes = actual.table("ticket_notes").ok_or("no ticket_notes")?;
    assert_eq!(notes.key_columns, ["id"]);
    assert_eq!(notes.columns, ["id", "ticket_id", "body"]);
    let note_ids: Vec<Option<&str>> = notes
        .rows
        .iter()
        .map(|row| row.values["id"].as_deref())
        .collect();
    assert_eq!(note_ids, [Some("1"), Some("10"), Some("11")]);
    let tags = actual.table("ticket_tags").ok_or("no ticket_tags")?;
    assert!(tags.key_columns.is_empty(), "no primary key: whole rows");
    assert_eq!(tags.rows.len(), 2);

    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn order_matters_only_where_writes_touch_the_same_row() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    let insert = "INSERT INTO ticket_notes (id, ticket_id, body) VALUES (20, 2, 'Parcel found')";
    let update = "UPDATE ticket_notes SET body = upper(body) WHERE ticket_id = 2";
    // The update touches no row before the insert and the new row after it: a different
    // history, and a different state.
    let (expected, actual) =
        states_after(&pod, &[update, insert], &[insert, update], &ignored()).await?;
    let check = grade_gold_state(&expected, &actual, &[]);
    assert!(!check.passed);
    assert_eq!(
        check.actual,
        "ticket_notes: 1 changed; changed id=20: body \"Parcel found\" → \"PARCEL FOUND\""
    );
    // Where order does not matter, the states agree.
    let status = "UPDATE tickets SET status = 'waiting' WHERE id = 2";
    let (expected, actual) =
        states_after(&pod, &[status, insert], &[insert, status], &ignored()).await?;
    assert!(grade_gold_state(&expected, &actual, &[]).passed);
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn one_different_field_fails_with_a_row_diff() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    let mut agent = GOLD_ACTIONS.to_vec();
    agent[0] = "INSERT INTO ticket_notes (id, ticket_id, body) VALUES (10, 1, 'Refund denied')";
    let (expected, actual) = states_after(&pod, GOLD_ACTIONS, &agent, &ignored()).await?;

    let check = grade_gold_state(&expected, &actual, &[]);
    assert!(!check.passed);
    assert_eq!(
        check.actual,
        "ticket_notes: 1 changed; changed id=10: body \"Refund approved\" → \"Refund denied\""
    );
    let diff = diff_states(&expected, &actual);
    let [notes] = diff.tables.as_slice() else {
        panic!("only ticket_notes differs: {diff:?}");
    };
    assert_eq!(notes.table, "ticket_notes");
    assert!(notes.missing_rows.is_empty() && notes.extra_rows.is_empty());
    let [changed] = notes.changed_rows.as_slice() else {
        panic!("one changed row: {notes:?}");
    };
    assert_eq!(changed.key, [Some("10".to_owned())]);
    assert_eq!(changed.differing_columns, ["body"]);
    assert_eq!(changed.expected["body"].as_deref(), Some("Refund approved"));
    assert_eq!(changed.actual["body"].as_deref(), Some("Refund denied"));
    assert_eq!(
        expected.table("tickets").map(|table| &table.hash),
        actual.table("tickets").map(|table| &table.hash),
        "the tables that agree keep equal hashes"
    );
    pod.close().await;
    Ok(())
}

#[tokio::test]
async fn timestamps_differ_unless_ignored_and_names_are_checked() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    let (expected, actual) = states_after(&pod, GOLD_ACTIONS, GOLD_ACTIONS, &[]).await?;
    let check = grade_gold_state(&expected, &actual, &[]);
    assert!(!check.passed, "now() is not the same in two clones");
    let diff = diff_states(&expected, &actual);
    assert_eq!(diff.tables.len(), 1);
    assert!(
        diff.tables[0]
            .changed_rows
            .iter()
            .all(|row| row.differing_columns == ["created_at"]),
        "{diff}"
    );

    let database = pod.create_issue_database("names").await?;
    let only_tickets =
        snapshot_state(&database.admin_url, &["public.tickets".to_owned()], &[]).await?;
    assert_eq!(only_tickets.tables.len(), 1);
    assert_eq!(only_tickets.tables[0].table, "tickets");
    let unknown_table = snapshot_state(&database.admin_url, &["nope".to_owned()], &[]).await;
    assert_eq!(
        unknown_table.map(|_| ()).map_err(|error| error.to_string()),
        Err("cannot snapshot table `nope`: the database has no such table".to_owned())
    );
    let unknown_column =
        snapshot_state(&database.admin_url, &[], &["tickets.created_at".to_owned()]).await;
    assert_eq!(
        unknown_column.map(|_| ()).map_err(|error| error.to_string()),
        Err("cannot ignore column `tickets.created_at` in a state snapshot: table `tickets` has no column `created_at`".to_owned())
    );
    pod.drop_issue_database(database).await?;
    pod.close().await;
    Ok(())
}

/// The grader's shortcut: `snapshot_differences` reads out only the tables whose server-side
/// fingerprints differ, and its diff is the diff of the whole databases, for equal states,
/// reordered writes, one changed field, a row only one side has, a column only `now()` sets
/// (ignored or not), and a table the agent emptied.
#[tokio::test]
async fn only_differing_tables_are_read_and_the_diff_is_the_whole_one() -> TestResult {
    let server = LocalPostgres::start().await?;
    let pod = support_desk_pod(&server).await?;
    let variants: Vec<(Vec<&str>, Vec<String>)> = vec![
        (GOLD_ACTIONS.to_vec(), ignored()),
        (GOLD_ACTIONS.iter().rev().copied().collect(), ignored()),
        (GOLD_ACTIONS.to_vec(), Vec::new()),
        (
            vec![
                GOLD_ACTIONS[0],
                GOLD_ACTIONS[1],
                "UPDATE tickets SET status = 'closed' WHERE id = 1",
                GOLD_ACTIONS[3],
            ],
            ignored(),
        ),
        (GOLD_ACTIONS[..3].to_vec(), ignored()),
        (
            [
                GOLD_ACTIONS,
                &["INSERT INTO ticket_tags VALUES (2, 'refund')"],
            ]
            .concat(),
            ignored(),
        ),
        (
            [GOLD_ACTIONS, &["DELETE FROM ticket_tags"]].concat(),
            ignored(),
        ),
    ];
    for (agent, ignored_columns) in variants {
        // Each new database closes the ones before it to their roles: one after the other.
        let gold = pod.create_issue_database("gold").await?;
        run_as_agent(&gold.agent_url, GOLD_ACTIONS).await?;
        let actual = pod.create_issue_database("agent").await?;
        run_as_agent(&actual.agent_url, &agent).await?;
        let whole = diff_states(
            &snapshot_state(&gold.admin_url, &[], &ignored_columns).await?,
            &snapshot_state(&actual.admin_url, &[], &ignored_columns).await?,
        );
        let (expected_part, actual_part) =
            snapshot_differences(&gold.admin_url, &actual.admin_url, &ignored_columns).await?;
        assert_eq!(
            diff_states(&expected_part, &actual_part),
            whole,
            "agent {agent:?}, ignoring {ignored_columns:?}"
        );
        let read: Vec<&str> = actual_part
            .tables
            .iter()
            .map(|table| table.table.as_str())
            .collect();
        let differing: Vec<&str> = whole
            .tables
            .iter()
            .map(|table| table.table.as_str())
            .collect();
        assert_eq!(read, differing, "only the differing tables are read out");
        pod.drop_issue_database(gold).await?;
        pod.drop_issue_database(actual).await?;
    }

    let database = pod.create_issue_database("names").await?;
    let unknown_column = snapshot_differences(
        &database.admin_url,
        &database.admin_url,
        &["tickets.created_at".to_owned()],
    )
    .await;
    assert_eq!(
        unknown_column.map(|_| ()).map_err(|error| error.to_string()),
        Err("cannot ignore column `tickets.created_at` in a state snapshot: table `tickets` has no column `created_at`".to_owned()),
        "an ignored column is checked even when no table differs"
    );
    pod.drop_issue_database(database).await?;
    pod.close().await;
    Ok(())
}
