//! The gold-actions grader's cost per issue on a 1,000-order fixture, beside its baseline in
//! the same run. Printed, never asserted.
//!
//! - baseline: what grading did before — the gold clone made after the agent (`CREATE DATABASE
//!   … TEMPLATE`), the replay, then every table of both databases read out and diffed;
//! - now: the gold clone taken from the grading spare (cloned while the agent works, so not
//!   timed here), the replay, then only the tables whose server-side fingerprints differ read
//!   out and diffed.
//!
//! Each round also times the agent's side (its clone and its writes) so both paths compare the
//! same states. Run with `cargo bench -p agentpod-grade --bench gold_grading` (scripts/bench).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use agentpod_db::{
    IssueDatabase, PodDatabase, Spares, diff_states, snapshot_differences, snapshot_state,
};
use agentpod_spec::{Fixture, FixtureKind};
use agentpod_test_postgres::{LocalPostgres, connect};

const ORDERS: usize = 1_000;
const ROUNDS: usize = 15;

/// The issue's gold actions: one order refunded, a note written.
const GOLD_ACTIONS: &[&str] = &[
    "UPDATE orders SET status = 'refunded', total = 0 WHERE id = 500",
    "INSERT INTO order_notes (order_id, body) VALUES (500, 'Refunded: parcel lost')",
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixture_dir = tempfile::tempdir()?;
    let fixture = write_fixture(fixture_dir.path())?;
    let server = LocalPostgres::start().await?;
    let mut pod = PodDatabase::seed(&server.endpoint, &[fixture]).await?;
    pod.apply_boundary(None).await?;

    let mut baseline = Vec::with_capacity(ROUNDS);
    let mut now = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        // Interleaved, so a slower moment of the machine falls on both.
        let agent = agent_database(&pod, round).await?;
        let started = Instant::now();
        let gold = pod.create_grading_database("gold").await?;
        replay(&gold).await?;
        let expected = snapshot_state(&gold.admin_url, &[], &[]).await?;
        let actual = snapshot_state(&agent.admin_url, &[], &[]).await?;
        let whole = diff_states(&expected, &actual);
        baseline.push(started.elapsed());
        pod.drop_issue_database(gold).await?;

        // The grading spare is made while the agent works: not part of the grader's time.
        pod.prepare_next(Spares {
            next_issue: false,
            grading: true,
        })
        .await;
        let started = Instant::now();
        let gold = pod.create_grading_database("gold").await?;
        replay(&gold).await?;
        let (expected, actual) =
            snapshot_differences(&gold.admin_url, &agent.admin_url, &[]).await?;
        let part = diff_states(&expected, &actual);
        now.push(started.elapsed());
        assert_eq!(part, whole, "both paths see the same difference");
        pod.drop_issue_database(gold).await?;
        pod.drop_issue_database(agent).await?;
    }
    let (baseline_median, baseline_p95) = median_and_p95(&mut baseline);
    let (now_median, now_p95) = median_and_p95(&mut now);
    println!(
        "gold grading, {ORDERS}-order fixture, {ROUNDS} issues: median {:.1} ms · p95 {:.1} ms (clone ahead, fingerprints) vs {:.1} ms · {:.1} ms (clone after the agent, every table read) → {:.2}× the baseline",
        ms(now_median),
        ms(now_p95),
        ms(baseline_median),
        ms(baseline_p95),
        ms(now_median) / ms(baseline_median)
    );
    pod.close().await;
    Ok(())
}

/// The agent's database after its (almost right) work: the refund, and the note with another
/// text, so the grader has one differing table to read out.
async fn agent_database(
    pod: &PodDatabase,
    round: usize,
) -> Result<IssueDatabase, Box<dyn std::error::Error>> {
    let agent = pod.create_issue_database(&format!("agent-{round}")).await?;
    let mut connection = connect(&agent.agent_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{}; INSERT INTO order_notes (order_id, body) VALUES (500, 'Refunded (round {round})')",
        GOLD_ACTIONS[0]
    )))
    .execute(&mut connection)
    .await?;
    sqlx::Connection::close(connection).await?;
    Ok(agent)
}

async fn replay(gold: &IssueDatabase) -> Result<(), Box<dyn std::error::Error>> {
    let mut connection = connect(&gold.agent_url).await?;
    for action in GOLD_ACTIONS {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*action))
            .execute(&mut connection)
            .await?;
    }
    sqlx::Connection::close(connection).await?;
    Ok(())
}

/// Customers, 1,000 orders with three lines each, and an empty notes table.
fn write_fixture(directory: &Path) -> Result<Fixture, Box<dyn std::error::Error>> {
    let path = directory.join("orders.sql");
    let mut file = std::fs::File::create(&path)?;
    writeln!(
        file,
        "CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL);
         CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers,
             status text NOT NULL, total numeric(10,2) NOT NULL, details jsonb NOT NULL);
         CREATE TABLE order_lines (order_id integer NOT NULL REFERENCES orders, line integer NOT NULL,
             product text NOT NULL, price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line));
         CREATE TABLE order_notes (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders,
             body text NOT NULL);
         INSERT INTO customers SELECT c, 'Customer ' || c, 'c' || c || '@example.com'
             FROM generate_series(1, 200) AS c;
         INSERT INTO orders SELECT o, 1 + o % 200, 'delivered', o * 1.25,
             jsonb_build_object('carrier', 'post', 'weight', o % 17, 'gift', o % 5 = 0)
             FROM generate_series(1, {ORDERS}) AS o;
         INSERT INTO order_lines SELECT o, l, 'Product ' || (o * l % 97), l * 3.5
             FROM generate_series(1, {ORDERS}) AS o, generate_series(1, 3) AS l;"
    )?;
    Ok(Fixture {
        path,
        kind: FixtureKind::Sql,
        line: 1,
    })
}

fn median_and_p95(values: &mut [Duration]) -> (Duration, Duration) {
    values.sort();
    let median = values[values.len() / 2];
    let p95 = values[((values.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)];
    (median, p95)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
