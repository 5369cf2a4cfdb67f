//! `query` and `execute` as a hostile agent uses them: each statement runs in one round trip
//! with the transaction control queued around it (`BEGIN`, then `ROLLBACK` or `COMMIT`, then
//! `DISCARD ALL`), on connections kept from call to call. Nothing a statement does may outlast
//! its call: not a write through `query`, not a setting changed for the session, not a lock, not
//! rows still streaming; and what it makes the server send is held to a size before the gateway
//! reads it.

use std::time::Duration;

use serde_json::{Value, json};

use agentpod_tool_gateway::{ToolConfig, ToolGateway, ToolLimits};

use crate::support::{
    LocalPostgres, MEMORY_HEAVY, TestResult, call, peak_memory, reset_peak_memory, run_client,
};

/// What one call gave: its rows when it succeeded, its error text when it did not.
fn answer(seen: &Value, index: usize) -> Result<Value, String> {
    let call = &seen["calls"][index];
    let text = call["text"].as_str().unwrap_or_default();
    if call["is_error"].as_bool() == Some(true) {
        return Err(text.to_owned());
    }
    let result: Value = serde_json::from_str(text).map_err(|error| format!("{error}: {text}"))?;
    Ok(result["rows"].clone())
}

#[tokio::test]
async fn a_query_leaves_no_write_setting_or_lock_behind_on_its_connection() -> TestResult {
    let postgres = LocalPostgres::start().await?;
    let database_url = postgres.create_issue_database("issue_read_only").await?;
    {
        // A function the agent may call that writes, as the agent could have made with `execute`
        // if its grants allowed; through `query` it must fail.
        let mut admin = postgres.admin("issue_read_only").await?;
        sqlx::raw_sql(
            "CREATE FUNCTION public.add_note() RETURNS integer LANGUAGE sql VOLATILE AS \
             $$ INSERT INTO public.notes (body) VALUES ('written by a query') RETURNING id $$; \
             GRANT EXECUTE ON FUNCTION public.add_note() TO agent;",
        )
        .execute(&mut admin)
        .await?;
    }
    let gateway = ToolGateway::start("127.0.0.1:0".parse()?, ToolConfig::default()).await?;
    let access = gateway.register_issue("issue-ro", &database_url, ToolLimits::default())?;
    let result: TestResult = async {
        let calls = json!([
            // 0: the session's default turned read-write for the calls after this one.
            call("query", json!({ "sql": "SELECT pg_backend_pid() AS pid, \
                set_config('default_transaction_read_only', 'off', false) AS set_to" })),
            // 1: the same connection, the setting as the connection was opened.
            call("query", json!({ "sql": "SELECT pg_backend_pid() AS pid, \
                current_setting('default_transaction_read_only') AS default_read_only, \
                current_setting('transaction_read_only') AS read_only" })),
            // 2-4: writes through a function, with and without leaving read-only first.
            call("query", json!({ "sql": "SELECT public.add_note()" })),
            call("query", json!({ "sql": "SELECT set_config('transaction_read_only', 'off', false)" })),
            call("query", json!({ "sql": "SELECT set_config('default_transaction_read_only', 'off', false), public.add_note()" })),
            // 5: an error of the statement leaves the connection usable for the next call.
            call("query", json!({ "sql": "SELECT 1 / 0" })),
            call("query", json!({ "sql": "SELECT pg_backend_pid() AS pid, public.add_note()" })),
            // 7: a share lock on customers, released when the call ends.
            call("query", json!({ "sql": "SELECT name FROM customers WHERE id = 1" })),
        ]);
        let seen = run_client(&access.url, &calls).await?;

        let first = answer(&seen, 0)?;
        let second = answer(&seen, 1)?;
        assert_eq!(first[0]["set_to"], json!("off"), "{seen:#}");
        // One connection served both calls (the calls are sequential and it is kept), and the
        // rollback queued behind the first undid its setting.
        assert_eq!(first[0]["pid"], second[0]["pid"], "{seen:#}");
        assert_eq!(second[0]["default_read_only"], json!("on"), "{seen:#}");
        assert_eq!(second[0]["read_only"], json!("on"), "{seen:#}");
        for index in [2, 4, 6] {
            let refused = answer(&seen, index).err().unwrap_or_default();
            assert!(
                refused.contains("read-only transaction") && refused.contains("SQLSTATE 25006"),
                "call {index}: {refused}"
            );
        }
        let refused = answer(&seen, 3).err().unwrap_or_default();
        assert!(
            refused.contains("read-write mode must be set before any query"),
            "{refused}"
        );
        let refused = answer(&seen, 5).err().unwrap_or_default();
        assert_eq!(refused, "division by zero (SQLSTATE 22012)");
        assert_eq!(answer(&seen, 7)?, json!([{ "name": "Ada" }]));

        // Nothing was written, and no call left its transaction open: an exclusive lock on the
        // table the last call read is granted at once, the gateway's connections are idle.
        let mut admin = postgres.admin("issue_read_only").await?;
        let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
            .fetch_one(&mut admin)
            .await?;
        assert_eq!(notes, 0);
        sqlx::raw_sql(
            "BEGIN; SET LOCAL lock_timeout = '2s'; \
             LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; ROLLBACK;",
        )
        .execute(&mut admin)
        .await?;
        let in_transaction: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'issue_read_only' \
             AND application_name = 'agentpod-tool-gateway' AND state <> 'idle'",
        )
        .fetch_one(&mut admin)
        .await?;
        assert_eq!(in_transaction, 0);

        // The calls that follow, in a new client, still cannot write.
        let again = run_client(
            &access.url,
            &json!([call("query", json!({ "sql": "SELECT public.add_note()" }))]),
        )
        .await?;
        assert!(answer(&again, 0).is_err(), "{again:#}");
        let record = gateway.finish_issue(&access.token);
        assert_eq!(record.calls.len(), 9);
        Ok(())
    }
    .await;
    gateway.shutdown().await;
    result
}

/// One issue on a gateway of its own, called in process (as a grader's gold actions are), for
/// the tests that check the database between calls.
pub(crate) struct OneIssue {
    pub(crate) postgres: LocalPostgres,
    gateway: ToolGateway,
    token: String,
}

impl OneIssue {
    /// A fresh database `database` (after `set_up`, run as its owner) and a gateway whose calls
    /// time out after `call_timeout`.
    pub(crate) async fn start(
        database: &str,
        set_up: &str,
        call_timeout: Duration,
    ) -> Result<OneIssue, Box<dyn std::error::Error>> {
        let postgres = LocalPostgres::start().await?;
        let database_url = postgres.create_issue_database(database).await?;
        if !set_up.is_empty() {
            let mut owner = postgres.admin(database).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(set_up.to_owned()))
                .execute(&mut owner)
                .await?;
        }
        let config = ToolConfig {
            call_timeout,
            ..ToolConfig::default()
        };
        let gateway = ToolGateway::start("127.0.0.1:0".parse()?, config).await?;
        let access = gateway.register_issue(database, &database_url, ToolLimits::default())?;
        Ok(OneIssue {
            postgres,
            gateway,
            token: access.token.to_string(),
        })
    }

    /// `tool` called with the statement `text`.
    pub(crate) async fn call(&self, tool: &str, text: &str) -> Result<String, String> {
        let arguments = json!({ "sql": text })
            .as_object()
            .cloned()
            .unwrap_or_default();
        self.gateway.call_tool(&self.token, tool, arguments).await
    }

    pub(crate) async fn finish(self) {
        self.gateway.finish_issue(&self.token);
        self.gateway.shutdown().await;
    }
}

/// A call refused because the server's answer held a message over the gateway's cap: it says so
/// in a few words, not with the message.
fn assert_refused_unread(answer: Result<String, String>) {
    let message = answer.err().unwrap_or_default();
    assert!(
        message.contains("over the tool gateway's limit") && message.len() < 2_000,
        "{message:.500}"
    );
}

/// What outlasts a rollback does not outlast the call either: a session advisory lock taken by
/// one `query` is gone when it answers (else it would stay held by the idle connection, and
/// block the agent's own `execute` of the same lock until the call timeout); a statement that
/// closes the wrapper's parentheses, escaping its row limit, does not leave rows streaming into
/// the next call on that connection.
#[tokio::test]
async fn advisory_locks_and_escaped_statements_do_not_outlast_their_calls() -> TestResult {
    let issue = OneIssue::start("issue_outlast", "", Duration::from_secs(3)).await?;
    let result: TestResult = async {
        let taken = issue
            .call("query", "SELECT pg_advisory_lock(42) AS taken")
            .await;
        assert!(taken.is_ok(), "{taken:?}");
        let mut admin = issue.postgres.admin("issue_outlast").await?;
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42",
        )
        .fetch_one(&mut admin)
        .await?;
        assert_eq!(held, 0, "the advisory lock outlasted its query");
        let again = issue.call("execute", "SELECT pg_advisory_lock(42)").await;
        assert!(again.is_ok(), "{again:?}");

        // An endless row source outside the wrapper's LIMIT: the rows are read to the row
        // limit, and the connection, still receiving, is closed rather than used again.
        let escaped = issue
            .call(
                "query",
                "SELECT 1 AS n) AS agentpod_row LIMIT 1) AS q CROSS JOIN \
                 (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) \
                 SELECT i FROM r) AS g CROSS JOIN (SELECT * FROM (SELECT 1 AS m",
            )
            .await;
        assert!(escaped.is_ok_and(|text| text.contains("\"truncated\":true")));
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let next = issue.call("query", "SELECT 'next' AS call").await;
            assert!(next.is_ok(), "{next:?}");
            let took = started.elapsed();
            assert!(took < Duration::from_secs(2), "{took:?}");
        }
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// Each message the server sends a `query` connection is held to a size before the gateway
/// reads it: an error quoting a 100 MB value fails the call with a note, costs the gateway far
/// less than the message, and the next call runs on a new connection.
#[tokio::test]
async fn a_message_larger_than_any_result_closes_the_connection_unread() -> TestResult {
    let _heavy = MEMORY_HEAVY.lock().await;
    let issue = OneIssue::start("issue_huge_error", "", Duration::from_secs(20)).await?;
    let result: TestResult = async {
        let warm = issue.call("query", "SELECT 1 AS one").await;
        assert!(warm.is_ok(), "{warm:?}");
        let baseline = reset_peak_memory()?;
        let failed = issue
            .call("query", "SELECT repeat('x', 100000000)::int AS n")
            .await;
        let growth = peak_memory()?.saturating_sub(baseline);
        assert_refused_unread(failed);
        assert!(
            growth < 32 * 1024 * 1024,
            "the gateway grew by {growth} bytes"
        );
        let next = issue.call("query", "SELECT 2 AS two").await;
        assert!(next.is_ok_and(|text| text.contains("\"two\":2")));
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// `execute` on the same connections: its write is committed, a commit that fails is the call's
/// error, a setting it makes is gone by the next call, and a huge error closes the connection
/// unread as for `query`.
#[tokio::test]
async fn execute_commits_and_leaves_nothing_behind() -> TestResult {
    let set_up = "CREATE TABLE public.pairs (id integer PRIMARY KEY, other integer, \
                      CONSTRAINT pairs_other FOREIGN KEY (other) REFERENCES public.pairs (id) \
                      DEFERRABLE INITIALLY DEFERRED); \
                  GRANT SELECT, INSERT ON public.pairs TO agent;";
    let issue = OneIssue::start("issue_execute", set_up, Duration::from_secs(20)).await?;
    let result: TestResult = async {
        let inserted = issue
            .call(
                "execute",
                "INSERT INTO notes (body) VALUES ('kept'), ('also')",
            )
            .await;
        assert_eq!(inserted, Ok(json!({ "rows_affected": 2 }).to_string()));
        // The foreign key is checked at commit: the commit's refusal is the call's error, and
        // nothing of the statement stays.
        let refused = issue
            .call("execute", "INSERT INTO pairs VALUES (1, 99)")
            .await;
        let refused = refused.err().unwrap_or_default();
        assert!(
            refused.contains("pairs_other") && refused.contains("SQLSTATE 23503"),
            "{refused}"
        );
        // A setting made by one call is gone by the next, whichever connection it runs on.
        let set = issue.call("execute", "SET search_path TO pg_catalog").await;
        assert!(set.is_ok(), "{set:?}");
        for _ in 0..3 {
            let path = issue
                .call("query", "SELECT current_setting('search_path') AS path")
                .await;
            assert!(path.is_ok_and(|text| text.contains("public")));
        }
        assert_refused_unread(
            issue
                .call("execute", "SELECT repeat('x', 100000000)::int")
                .await,
        );

        let mut admin = issue.postgres.admin("issue_execute").await?;
        let counts: (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM pairs)")
                .fetch_one(&mut admin)
                .await?;
        assert_eq!(counts, (2, 0));
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// A reset that fails does not leave its connection in use: an `execute` that sets a 1 ms
/// statement timeout for the session and makes enough temporary tables that `DISCARD ALL` takes
/// longer than that (so the reset is cancelled and nothing of it happens), one of them shadowing
/// `customers` with a fake row, and a `search_path` of its own. The next calls see the issue's
/// database as it is, whichever connection they run on.
#[tokio::test]
async fn a_failed_reset_closes_its_connection() -> TestResult {
    let issue = OneIssue::start("issue_failed_reset", "", Duration::from_secs(20)).await?;
    let result: TestResult = async {
        let grant = issue.postgres.admin("issue_failed_reset").await;
        let mut grant = grant?;
        sqlx::raw_sql("GRANT TEMPORARY ON DATABASE issue_failed_reset TO agent")
            .execute(&mut grant)
            .await?;
        let planted = issue
            .call(
                "execute",
                "DO $$ BEGIN \
                   FOR i IN 1..1000 LOOP EXECUTE format('CREATE TEMP TABLE t%s (x int)', i); END LOOP; \
                   CREATE TEMP TABLE customers (id integer, name text, tier text); \
                   INSERT INTO customers VALUES (1, 'FAKE', 'fake'); \
                   PERFORM set_config('search_path', 'pg_temp, public', false); \
                   PERFORM set_config('statement_timeout', '1', false); \
                 END $$",
            )
            .await;
        assert!(planted.is_ok(), "{planted:?}");
        for _ in 0..3 {
            let seen = issue
                .call(
                    "query",
                    "SELECT name, current_setting('statement_timeout') AS timeout \
                     FROM customers WHERE id = 1",
                )
                .await;
            let seen = seen.unwrap_or_else(|error| error);
            assert!(seen.contains("\"name\":\"Ada\""), "{seen}");
            assert!(!seen.contains("\"timeout\":\"1ms\""), "{seen}");
        }
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// `execute` takes one statement whose result columns are of the database's own types (an enum,
/// a row of a table) over thousands of rows; a text of several statements is refused whole, so a
/// failed call wrote nothing (with them, a `COMMIT` in the text would keep what came before a
/// later error).
#[tokio::test]
async fn execute_takes_any_result_types_and_one_statement() -> TestResult {
    let set_up = "CREATE TYPE public.mood AS ENUM ('ok', 'bad'); \
                  CREATE TABLE public.tickets (id integer PRIMARY KEY, mood public.mood); \
                  INSERT INTO public.tickets SELECT n, 'bad' FROM generate_series(1, 5000) AS n; \
                  GRANT SELECT, UPDATE ON public.tickets TO agent;";
    let issue = OneIssue::start("issue_types", set_up, Duration::from_secs(20)).await?;
    let result: TestResult = async {
        let updated = issue
            .call(
                "execute",
                "UPDATE tickets SET mood = 'ok' RETURNING id, mood",
            )
            .await;
        assert_eq!(updated, Ok(json!({ "rows_affected": 5000 }).to_string()));
        let rows = issue.call("execute", "SELECT t FROM tickets t").await;
        assert_eq!(rows, Ok(json!({ "rows_affected": 5000 }).to_string()));
        let several = issue
            .call(
                "execute",
                "INSERT INTO notes (body) VALUES ('midway'); COMMIT; SELECT 1 / 0",
            )
            .await;
        let refused = several.err().unwrap_or_default();
        assert!(
            refused.contains("cannot insert multiple commands"),
            "{refused}"
        );
        let one = issue
            .call(
                "execute",
                "INSERT INTO notes (body) VALUES ('one'), ('two')",
            )
            .await;
        assert_eq!(one, Ok(json!({ "rows_affected": 2 }).to_string()));
        let seen = issue
            .call(
                "query",
                "SELECT (SELECT count(*) FROM tickets WHERE mood = 'ok') AS ok, \
                        (SELECT count(*) FROM notes) AS notes",
            )
            .await;
        assert!(
            seen.as_ref()
                .is_ok_and(|text| text.contains("\"ok\":5000") && text.contains("\"notes\":2")),
            "{seen:?}"
        );
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// A call the gateway gives up on (its timeout) neither commits later nor leaves its server
/// process running: the agent's statement catches the statement timeout's cancel, keeps a lock
/// and sleeps on, then writes. Closing the socket alone would leave it to finish, and a commit
/// sent with the statement would then keep its write, seconds after the call was recorded as
/// failed; its process is ended instead, and the commit is only ever sent after an answer.
#[tokio::test]
async fn a_call_given_up_on_neither_commits_later_nor_keeps_running() -> TestResult {
    let issue = OneIssue::start("issue_given_up", "", Duration::from_secs(1)).await?;
    let result: TestResult = async {
        let started = std::time::Instant::now();
        let answer = issue
            .call(
                "execute",
                "DO $$ BEGIN \
                   LOCK TABLE notes IN ROW EXCLUSIVE MODE; \
                   BEGIN PERFORM pg_sleep(3); \
                   EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(5); END; \
                   INSERT INTO notes (body) VALUES ('late'); \
                 END $$",
            )
            .await;
        let message = answer.err().unwrap_or_default();
        assert!(message.contains("timed out"), "{message}");
        let mut admin = issue.postgres.admin("issue_given_up").await?;
        // The process is ended within a moment of the timeout, its lock with it.
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let running: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'issue_given_up' \
                 AND application_name = 'agentpod-tool-gateway' AND state = 'active'",
            )
            .fetch_one(&mut admin)
            .await?;
            if running == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{running} still running"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sqlx::raw_sql(
            "BEGIN; SET LOCAL lock_timeout = '1s'; LOCK TABLE notes IN SHARE MODE; ROLLBACK;",
        )
        .execute(&mut admin)
        .await?;
        // Past the time the statement would have written, nothing was.
        let left = Duration::from_millis(7500).saturating_sub(started.elapsed());
        tokio::time::sleep(left).await;
        let late: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
            .fetch_one(&mut admin)
            .await?;
        assert_eq!(late, 0);
        let next = issue
            .call("execute", "INSERT INTO notes (body) VALUES ('next')")
            .await;
        assert!(next.is_ok(), "{next:?}");
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}
