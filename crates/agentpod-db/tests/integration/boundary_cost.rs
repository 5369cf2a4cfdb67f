//! What the boundary costs: the time `apply_boundary` adds to seeding, and whether the audit
//! triggers change how long an issue database takes to clone. A measurement, not a check of
//! timing (the machine's load decides those numbers): run it with
//! `cargo test -p agentpod-db --test integration boundary_cost -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use agentpod_db::PodDatabase;
use agentpod_spec::ProposalResponse;

use crate::support::{LocalPostgres, TestResult, support_desk_boundary, support_desk_fixtures};

const CLONES: usize = 20;

#[tokio::test]
#[ignore = "a measurement; run on demand"]
async fn measure_boundary_cost() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);

    let started = Instant::now();
    let plain = PodDatabase::seed(&server.endpoint, &support_desk_fixtures()).await?;
    let seed_time = started.elapsed();
    let plain_clone = median_clone_time(&plain).await?;
    plain.close().await;

    let started = Instant::now();
    let mut bounded = PodDatabase::seed(&server.endpoint, &support_desk_fixtures()).await?;
    let reseed_time = started.elapsed();
    let started = Instant::now();
    let effective = bounded.apply_boundary(Some(&boundary)).await?;
    let boundary_time = started.elapsed();
    assert_eq!(effective.tables.len(), 7);
    let bounded_clone = median_clone_time(&bounded).await?;
    let issue = bounded.create_issue_database("collect").await?;
    let started = Instant::now();
    let events = bounded.collect_boundary_events(&issue).await?;
    let collect_time = started.elapsed();
    assert!(events.violations.is_empty());
    bounded.drop_issue_database(issue).await?;
    bounded.close().await;

    eprintln!(
        "seed: {seed_time:?} (again: {reseed_time:?}); apply_boundary: {boundary_time:?}; \
         median clone of {CLONES}: without boundary {plain_clone:?}, with boundary {bounded_clone:?}; \
         collect_boundary_events: {collect_time:?}"
    );
    Ok(())
}

async fn median_clone_time(pod: &PodDatabase) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(CLONES);
    for index in 0..CLONES {
        let started = Instant::now();
        let issue = pod.create_issue_database(&format!("clone-{index}")).await?;
        times.push(started.elapsed());
        pod.drop_issue_database(issue).await?;
    }
    times.sort();
    Ok(times[CLONES / 2])
}
