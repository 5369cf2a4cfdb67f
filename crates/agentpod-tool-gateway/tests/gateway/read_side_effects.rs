//! A hostile agent against `query`: what a read-only transaction may still do must not outlast
//! the call. Postgres lets a read-only transaction create, overwrite and unlink large objects
//! and send notifications; a read that committed (as the extended protocol's own transaction
//! around a statement does) would keep them, which is why a read runs between `BEGIN READ ONLY`
//! and `ROLLBACK`. Settings, the session's and the role's, are the `DISCARD ALL` behind each call
//! and the connection's startup options to undo.

use std::time::Duration;

use crate::statements::OneIssue;
use crate::support::TestResult;

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Large objects may be created, written and unlinked in a read-only transaction (Postgres
/// checks nothing for them); rolled back, that vanished, committed it stays. A `query` must not
/// create one.
#[tokio::test]
async fn a_query_cannot_create_a_large_object() -> TestResult {
    let issue = OneIssue::start("attack_lo_create", "", CALL_TIMEOUT).await?;
    let result: TestResult = async {
        let answer = issue
            .call(
                "query",
                "SELECT lo_from_bytea(0, 'written by a query') AS oid",
            )
            .await;
        println!("lo_from_bytea through query: {answer:?}");
        let mut admin = issue.postgres.admin("attack_lo_create").await?;
        let objects: Vec<(String, String)> = sqlx::query_as(
            "SELECT lomowner::regrole::text, convert_from(lo_get(oid), 'UTF8') \
             FROM pg_largeobject_metadata",
        )
        .fetch_all(&mut admin)
        .await?;
        assert_eq!(objects, vec![], "a query wrote large objects: {answer:?}");
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// A large object the agent made with `execute` (a write it may do) must not be changed or
/// removed by a `query`.
#[tokio::test]
async fn a_query_cannot_change_or_unlink_a_large_object() -> TestResult {
    let issue = OneIssue::start("attack_lo_change", "", CALL_TIMEOUT).await?;
    let result: TestResult = async {
        for text in [
            "SELECT lo_from_bytea(424242, 'original')",
            "SELECT lo_from_bytea(424243, 'original')",
        ] {
            let made = issue.call("execute", text).await;
            assert!(made.is_ok(), "{made:?}");
        }
        let put = issue
            .call("query", "SELECT lo_put(424242, 0, 'OVERWRIT') AS put")
            .await;
        let unlinked = issue
            .call("query", "SELECT lo_unlink(424243) AS gone")
            .await;
        println!("lo_put through query: {put:?}\nlo_unlink through query: {unlinked:?}");
        let mut admin = issue.postgres.admin("attack_lo_change").await?;
        let objects: Vec<(i64, String)> = sqlx::query_as(
            "SELECT oid::bigint, convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata \
             ORDER BY oid",
        )
        .fetch_all(&mut admin)
        .await?;
        assert_eq!(
            objects,
            vec![
                (424242, "original".to_owned()),
                (424243, "original".to_owned())
            ],
            "lo_put: {put:?}; lo_unlink: {unlinked:?}"
        );
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// Settings a `query` gives its session (`set_config(..., false)`), including a
/// `statement_timeout` meant to make the `DISCARD ALL` behind it fail, do not reach the next
/// `query`: it runs read-only with the connection's own settings.
#[tokio::test]
async fn session_settings_from_a_query_do_not_reach_the_next_one() -> TestResult {
    let issue = OneIssue::start("attack_settings", "", CALL_TIMEOUT).await?;
    let result: TestResult = async {
        let first = issue
            .call(
                "query",
                "SELECT pg_backend_pid() AS pid, \
                 set_config('search_path', 'pg_catalog', false) AS a, \
                 set_config('default_transaction_read_only', 'off', false) AS b, \
                 set_config('lock_timeout', '1', false) AS c, \
                 set_config('agentpod.mark', 'left', false) AS d, \
                 set_config('statement_timeout', '1', false) AS e",
            )
            .await;
        assert!(first.is_ok(), "{first:?}");
        let second = issue
            .call(
                "query",
                "SELECT pg_backend_pid() AS pid, current_setting('search_path') AS search_path, \
                 current_setting('transaction_read_only') AS read_only, \
                 current_setting('lock_timeout') AS lock_timeout, \
                 coalesce(current_setting('agentpod.mark', true), '') AS mark, \
                 current_setting('statement_timeout') AS statement_timeout",
            )
            .await;
        println!("first: {first:?}\nsecond: {second:?}");
        let second = second?;
        assert!(second.contains(r#""read_only":"on""#), "{second}");
        assert!(
            second.contains(r#""search_path":"\"$user\", public""#),
            "{second}"
        );
        assert!(second.contains(r#""lock_timeout":"0""#), "{second}");
        assert!(second.contains(r#""mark":"""#), "{second}");
        assert!(!second.contains(r#""statement_timeout":"1ms""#), "{second}");
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// `pg_notify` from a read-only transaction is delivered only if it commits: a rolled-back read
/// sends nothing.
#[tokio::test]
async fn a_query_cannot_deliver_a_notification() -> TestResult {
    let issue = OneIssue::start("attack_notify", "", CALL_TIMEOUT).await?;
    let result: TestResult = async {
        let mut listener =
            sqlx::postgres::PgListener::connect(&issue.postgres.admin_url("attack_notify")).await?;
        listener.listen("agentpod_attack").await?;
        let sent = issue
            .call(
                "query",
                "SELECT pg_notify('agentpod_attack', 'from a query') AS sent",
            )
            .await;
        assert!(sent.is_ok(), "{sent:?}");
        let heard = tokio::time::timeout(Duration::from_secs(1), listener.recv()).await;
        let payload = heard
            .ok()
            .and_then(|n| n.ok())
            .map(|n| n.payload().to_owned());
        assert_eq!(payload, None, "a query delivered a notification");
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}

/// The startup option outranks role settings the agent may give itself through
/// `execute` (`ALTER ROLE CURRENT_USER [IN DATABASE] SET default_transaction_read_only = off`),
/// also for connections opened after it.
#[tokio::test]
async fn role_settings_made_by_execute_do_not_make_a_query_read_write() -> TestResult {
    let issue = OneIssue::start(
        "attack_role_setting",
        "CREATE FUNCTION public.add_note() RETURNS integer LANGUAGE sql VOLATILE AS \
         $$ INSERT INTO public.notes (body) VALUES ('written by a query') RETURNING id $$; \
         GRANT EXECUTE ON FUNCTION public.add_note() TO agent;",
        CALL_TIMEOUT,
    )
    .await?;
    let result: TestResult = async {
        for text in [
            "ALTER ROLE CURRENT_USER SET default_transaction_read_only = off",
            "ALTER ROLE CURRENT_USER IN DATABASE attack_role_setting \
             SET default_transaction_read_only = off",
        ] {
            let done = issue.call("execute", text).await;
            println!("{text}: {done:?}");
        }
        // Several at once, so that new connections (which read the role's settings) serve some.
        let calls = (0..4).map(|_| issue.call("query", "SELECT public.add_note() AS id"));
        let answers = futures_util::future::join_all(calls).await;
        for answer in &answers {
            let refused = answer.clone().err().unwrap_or_default();
            assert!(refused.contains("SQLSTATE 25006"), "{answers:?}");
        }
        let mut admin = issue.postgres.admin("attack_role_setting").await?;
        let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
            .fetch_one(&mut admin)
            .await?;
        assert_eq!(notes, 0);
        Ok(())
    }
    .await;
    issue.finish().await;
    result
}
