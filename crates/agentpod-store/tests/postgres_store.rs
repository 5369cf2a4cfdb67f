//! The shared Postgres store (`--store postgres://…`) against a real Postgres 15 (the host's
//! binaries, `agentpod-test-postgres`): the same writes give the same reads as the SQLite store,
//! down to every field of an exported bundle; runs move between the two by export and import;
//! report models follow the run's revision as the SQLite triggers make them; and several stores
//! opened at once on one new database (as shards on several machines do) migrate it once and
//! write side by side.

use agentpod_store::StoreError;
use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, EvaluationSet, IssueUsage, ModelCallDetail, NewRun,
    OutcomeRecord, OutcomeStatus, Page, ProposalDetail, RowChangeDetail, RunSharding, RunStatus,
    RunStore, SideModelUsage, SideModelsUsage, StepDetail, StepRecord, StoreLocation,
    ToolCallDetail,
};
use agentpod_test_postgres::{LocalPostgres, TestResult};
use chrono::{TimeZone, Utc};
use serde_json::json;

/// A fresh database on `server` and a store opened on it.
async fn postgres_store(
    server: &LocalPostgres,
    database: &str,
) -> Result<RunStore, Box<dyn std::error::Error>> {
    let location: StoreLocation = server.create_database(database).await?.parse()?;
    assert!(matches!(location, StoreLocation::Postgres(_)));
    Ok(RunStore::open_location(&location).await?)
}

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.to_string(),
        spec_name: "triage".into(),
        spec_path: "pods/triage.yaml".into(),
        agent_version: "v2".into(),
        runtime: "docker".into(),
        pods: 4,
        // A seed past i64::MAX round-trips through the same bit pattern.
        seed: u64::MAX - 6,
        trials: 2,
        started_at: Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap(),
        spec_json: json!({"name": "triage", "agent": {"isolation": "none", "image": null}}),
        issues: ["c-3", "a-1", "b-2"]
            .iter()
            .map(|id| {
                (
                    id.to_string(),
                    json!({"id": id, "title": format!("issue {id}")}),
                )
            })
            .collect(),
        evaluation_set: Some(EvaluationSet {
            sha256: "e".repeat(64),
            issues: 40,
        }),
        sharding: Some(RunSharding {
            group: "g-1".into(),
            part: Some(2),
            parts: 3,
            sample_sha256: "s".repeat(64),
            spec_sha256: "p".repeat(64),
            host: "node-1".into(),
            idle_ms: 0,
            shards: Vec::new(),
        }),
    }
}

fn outcome(run: &str, issue: &str, trial: u32, attempt: u32) -> OutcomeRecord {
    OutcomeRecord {
        run_id: run.into(),
        issue_id: issue.into(),
        trial,
        pod_index: (trial as usize) % 4,
        status: if attempt == 1 && trial == 2 {
            OutcomeStatus::Interrupted
        } else {
            OutcomeStatus::Passed
        },
        reason: format!("{issue}/{trial} attempt {attempt}"),
        exit: json!({"kind": "exited", "code": 0}),
        started_at: Utc
            .with_ymd_and_hms(2026, 12, 5, 9, attempt, trial)
            .unwrap(),
        duration_ms: 1_234 * u64::from(trial),
        output: (trial == 1).then(|| json!({"priority": "high"})),
        grade: json!({"checks": [{"name": "priority", "passed": true}]}),
        // A NUL from the agent's output: Postgres refuses it in text, so both stores keep U+FFFD.
        stdout: if trial == 2 {
            "out\0✓".into()
        } else {
            "out ✓".into()
        },
        stdout_bytes: 70_000,
        stdout_truncated: trial == 1,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: IssueUsage {
            llm_calls: 3,
            tool_calls: 5,
            input_tokens: 1_000,
            output_tokens: 200,
            cost_usd: (trial == 1).then_some(0.0125),
            unpriced_calls: u32::from(trial == 2),
            budget_stops: 0,
            model_retries: 1,
            throttled_ms: 12.5,
            side_models: SideModelsUsage {
                judge: Some(SideModelUsage {
                    model: "judge-1".into(),
                    calls: 1,
                    input_tokens: 10,
                    output_tokens: 2,
                    cost_usd: Some(0.001),
                }),
                ..Default::default()
            },
        },
        own_time: agentpod_store::OwnTime {
            prepare_ms: 3.5,
            events_ms: 1.25,
            grade_ms: 0.5,
        },
    }
}

fn steps(issue: &str, trial: u32, count: u32) -> Vec<StepRecord> {
    (0..count)
        .map(|index| StepRecord {
            issue_id: issue.into(),
            trial,
            started_at: (index > 0)
                .then(|| Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, index).unwrap()),
            latency_ms: Some(f64::from(index) + 0.5),
            detail: if index % 2 == 0 {
                StepDetail::LlmCall(ModelCallDetail::default())
            } else {
                StepDetail::ToolCall(ToolCallDetail {
                    sequence: index,
                    ..Default::default()
                })
            },
        })
        .collect()
}

fn events(issue: &str, trial: u32) -> Vec<BoundaryEventRecord> {
    vec![
        BoundaryEventRecord {
            issue_id: issue.into(),
            trial,
            detail: BoundaryDetail::Change(RowChangeDetail {
                table: "tickets".into(),
                statement: format!("UPDATE tickets -- {issue}/{trial}"),
                ..Default::default()
            }),
        },
        BoundaryEventRecord {
            issue_id: issue.into(),
            trial,
            detail: BoundaryDetail::Proposal(ProposalDetail {
                table: "refunds".into(),
                ..Default::default()
            }),
        },
    ]
}

/// One run written the way `agentpod run` writes it: created, every (issue, trial) recorded (trial
/// 2 of each first interrupted, then run again with fewer steps), its boundary kept, resumed once
/// as a shard, finished.
async fn write_run(store: &RunStore, id: &str) -> TestResult {
    write_attempts(store, id, 2).await
}

/// [`write_run`]'s first `attempts` attempts (1: the run is left interrupted, trial 2 of every
/// issue still owed).
async fn write_attempts(store: &RunStore, id: &str, attempts: u32) -> TestResult {
    store.create_run(&new_run(id)).await?;
    store
        .set_run_boundary(id, &json!({"writable": ["tickets"]}))
        .await?;
    for attempt in 1..=attempts {
        for issue in ["c-3", "a-1", "b-2"] {
            for trial in 1..=2 {
                if attempt == 2 && trial == 1 {
                    continue;
                }
                store
                    .record_issue_result(
                        &outcome(id, issue, trial, attempt),
                        &events(issue, trial),
                        &steps(issue, trial, 6 - 2 * attempt),
                    )
                    .await?;
            }
        }
        if attempt == 1 {
            store
                .finish_run(
                    id,
                    RunStatus::Interrupted,
                    Utc.with_ymd_and_hms(2026, 12, 5, 9, 5, 0).unwrap(),
                    &json!({"passed": 3}),
                )
                .await?;
            store
                .resume_shard(
                    id,
                    "node-3",
                    Utc.with_ymd_and_hms(2026, 12, 5, 9, 7, 0).unwrap(),
                )
                .await?;
            if attempts == 1 {
                return Ok(());
            }
            store.reopen_run(id).await?;
        }
    }
    store
        .finish_run(
            id,
            RunStatus::Finished,
            Utc.with_ymd_and_hms(2026, 12, 5, 9, 9, 0).unwrap(),
            &json!({"passed": 6}),
        )
        .await?;
    Ok(())
}

/// Everything a store answers about one run, as JSON, so two stores can be compared whole.
async fn everything(
    store: &RunStore,
    id: &str,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let bundle = store.export_bundle(id).await?;
    let without_texts = store.outcomes_without_texts(id).await?;
    let pending = store.pending_trials(id).await?;
    let step_counts = store.issue_step_counts(id, "a-1").await?;
    let page = store
        .trial_steps(
            id,
            "a-1",
            2,
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .await?;
    let proposals = store
        .proposals(
            id,
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .await?;
    Ok(json!({
        "bundle": serde_json::to_value(&bundle)?,
        "listed": serde_json::to_value(store.list_runs(5).await?)?,
        "by_prefix": serde_json::to_value(store.find_run(&id[..id.len() - 2]).await?)?,
        "without_texts": serde_json::to_value(&without_texts)?,
        "pending": format!("{pending:?}"),
        "issue": store.run_issue(id, "b-2").await?,
        "issue_outcomes": serde_json::to_value(store.issue_outcomes(id, "b-2").await?)?,
        "step_counts": format!("{step_counts:?}"),
        "step_page": serde_json::to_value(&page)?,
        "issue_events": serde_json::to_value(store.issue_boundary_events(id, "c-3").await?)?,
        "issue_steps": serde_json::to_value(store.steps(id, Some("a-1")).await?)?,
        "proposal_count": store.proposal_count(id).await?,
        "proposals": serde_json::to_value(&proposals)?,
    }))
}

#[tokio::test]
async fn postgres_answers_every_read_as_sqlite_does() -> TestResult {
    let server = LocalPostgres::start().await?;
    let postgres = postgres_store(&server, "same_reads").await?;
    let directory = tempfile::tempdir()?;
    let sqlite = RunStore::open(&directory.path().join("runs.db")).await?;
    let id = "20261205-090000-pgst";
    write_run(&sqlite, id).await?;
    write_run(&postgres, id).await?;

    // A run left interrupted after its first attempt: what `--resume` still owes, alike.
    let interrupted = "20261205-090000-half";
    write_attempts(&sqlite, interrupted, 1).await?;
    write_attempts(&postgres, interrupted, 1).await?;
    let owed = postgres.pending_trials(interrupted).await?;
    let owed: Vec<(&str, u32)> = owed
        .iter()
        .map(|t| (t.issue_id.as_str(), t.trial))
        .collect();
    // Trial 2 of every issue is owed, and of those only what shard 2 of 3 holds is this run's.
    assert_eq!(owed, [("a-1", 2)]);
    let differences_of_interrupted = differences(
        "",
        &everything(&sqlite, interrupted).await?,
        &everything(&postgres, interrupted).await?,
    );
    assert!(
        differences_of_interrupted.is_empty(),
        "{differences_of_interrupted:#?}"
    );

    let from_sqlite = everything(&sqlite, id).await?;
    let from_postgres = everything(&postgres, id).await?;
    let differences = differences("", &from_sqlite, &from_postgres);
    assert!(
        differences.is_empty(),
        "SQLite vs Postgres: {differences:#?}"
    );

    // The reads are about the run written, not two empty answers that agree.
    let run = postgres.find_run(id).await?;
    assert!(run.unprotected, "isolation none without an image");
    assert_eq!(run.seed, u64::MAX - 6);
    assert_eq!(run.status, RunStatus::Finished);
    let sharding = run.sharding.expect("a shard");
    assert_eq!(
        (sharding.part, sharding.parts, sharding.host.as_str()),
        (Some(2), 3, "node-3")
    );
    assert_eq!(sharding.idle_ms, 120_000, "dead from 09:05 to 09:07");
    let outcomes = postgres.outcomes(id).await?;
    let order: Vec<(&str, u32)> = outcomes
        .iter()
        .map(|o| (o.issue_id.as_str(), o.trial))
        .collect();
    assert_eq!(
        order,
        [
            ("c-3", 1),
            ("c-3", 2),
            ("a-1", 1),
            ("a-1", 2),
            ("b-2", 1),
            ("b-2", 2)
        ]
    );
    assert!(
        outcomes.iter().all(|o| o.status == OutcomeStatus::Passed),
        "the re-run replaced the interrupted trial"
    );
    assert!(outcomes[0].stdout_truncated && !outcomes[1].stdout_truncated);
    assert_eq!(outcomes[1].stdout, "out\u{FFFD}✓");
    assert_eq!(outcomes[0].usage.cost_usd, Some(0.0125));
    assert_eq!(outcomes[1].usage.cost_usd, None);
    // Trial 2 was run again with 2 steps: the first attempt's 4 are gone.
    assert_eq!(
        postgres.issue_step_counts(id, "a-1").await?,
        vec![(1, 4), (2, 2)]
    );
    assert!(postgres.pending_trials(id).await?.is_empty());
    assert_eq!(postgres.proposal_count(id).await?, 6);
    Ok(())
}

#[tokio::test]
async fn runs_move_between_sqlite_and_postgres_whole() -> TestResult {
    let server = LocalPostgres::start().await?;
    let postgres = postgres_store(&server, "moves").await?;
    let directory = tempfile::tempdir()?;
    let sqlite = RunStore::open(&directory.path().join("runs.db")).await?;
    let back = RunStore::open(&directory.path().join("back.db")).await?;
    let id = "20261205-090000-move";
    write_run(&sqlite, id).await?;

    // SQLite → Postgres → another SQLite: the same bundle at every step.
    let bundle = sqlite.export_bundle(id).await?;
    postgres.import_bundle(&bundle).await?;
    let through_postgres = postgres.export_bundle(id).await?;
    back.import_bundle(&through_postgres).await?;
    let original = serde_json::to_value(&bundle)?;
    assert_eq!(serde_json::to_value(&through_postgres)?, original);
    assert_eq!(
        serde_json::to_value(back.export_bundle(id).await?)?,
        original
    );
    assert_eq!(through_postgres.steps.len(), 3 * (4 + 2));

    // A run already there is refused, and nothing of the second import is half-written.
    let again = postgres.import_bundle(&bundle).await.unwrap_err();
    assert!(
        again.to_string().contains("already in the run store"),
        "{again}"
    );
    assert_eq!(postgres.outcomes(id).await?.len(), 6);
    Ok(())
}

#[tokio::test]
async fn a_report_model_is_used_only_at_the_revision_it_was_computed_from() -> TestResult {
    let server = LocalPostgres::start().await?;
    let store = postgres_store(&server, "revisions").await?;
    let id = "20261205-090000-revs";
    write_run(&store, id).await?;
    let lookup = store.report_model(id, "model-v1").await?.expect("migrated");
    assert!(lookup.revision > 0 && lookup.model.is_none());
    assert!(
        store
            .store_report_model(id, lookup.revision, "model-v1", b"figures")
            .await?
    );
    let stored = store.report_model(id, "model-v1").await?.expect("migrated");
    assert_eq!(stored.model.as_deref(), Some(&b"figures"[..]));
    assert_eq!(
        store
            .report_model(id, "model-v2")
            .await?
            .expect("migrated")
            .model,
        None
    );

    // Any write a report reads moves the revision, and the stale model is not handed out.
    store.record_outcome(&outcome(id, "a-1", 1, 3)).await?;
    let moved = store.report_model(id, "model-v1").await?.expect("migrated");
    assert!(moved.revision > lookup.revision);
    assert_eq!(moved.model, None);
    // A model computed from the older revision is refused.
    assert!(
        !store
            .store_report_model(id, lookup.revision, "model-v1", b"stale")
            .await?
    );
    Ok(())
}

#[tokio::test]
async fn stores_opened_at_once_on_a_new_database_migrate_it_once_and_write_side_by_side()
-> TestResult {
    let server = LocalPostgres::start().await?;
    let location: StoreLocation = server.create_database("side_by_side").await?.parse()?;
    // Six writers, each with its own pool (as six processes have), open the new database at once
    // and each writes its own run.
    let writers = (0..6).map(|writer| {
        let location = location.clone();
        tokio::spawn(async move {
            let store = RunStore::open_location(&location).await?;
            write_run(&store, &format!("20261205-09000{writer}-side"))
                .await
                .map_err(|error| error.to_string())?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
    });
    for writer in futures_util::future::join_all(writers).await {
        writer?.map_err(|error| error.to_string())?;
    }
    let store = RunStore::open_location(&location).await?;
    let runs = store.list_runs(10).await?;
    assert_eq!(runs.len(), 6);
    for run in &runs {
        assert_eq!(store.outcomes(&run.id).await?.len(), 6, "{}", run.id);
    }
    let (migrations,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut server.admin("side_by_side").await?)
        .await?;
    assert_eq!(migrations, 1);
    Ok(())
}

/// Where two JSON values differ, as `path: left != right` lines (empty when they are equal).
fn differences(path: &str, left: &serde_json::Value, right: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|key| {
                    let null = Value::Null;
                    differences(
                        &format!("{path}.{key}"),
                        l.get(key).unwrap_or(&null),
                        r.get(key).unwrap_or(&null),
                    )
                })
                .collect()
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => l
            .iter()
            .zip(r)
            .enumerate()
            .flat_map(|(index, (l, r))| differences(&format!("{path}[{index}]"), l, r))
            .collect(),
        _ if left == right => Vec::new(),
        _ => vec![format!("{path}: {left} != {right}")],
    }
}

#[tokio::test]
async fn a_run_is_held_by_one_process_at_a_time() -> TestResult {
    let server = LocalPostgres::start().await?;
    let first = postgres_store(&server, "holds").await?;
    let location: StoreLocation = server.endpoint.admin_url("holds").parse()?;
    // Another process's store: its own pool, its own sessions.
    let second = RunStore::open_location(&location).await?;
    let hold = first.hold_run("20261205-090000-held").await?;
    match second.hold_run("20261205-090000-held").await {
        Err(StoreError::RunBusy(run)) => assert_eq!(run, "20261205-090000-held"),
        other => panic!("a held run was held again: {other:?}"),
    }
    // Another run is not held by it; the same process's own pool is refused too.
    drop(second.hold_run("20261205-090000-free").await?);
    assert!(first.hold_run("20261205-090000-held").await.is_err());
    // Ended with its session: a process that dies lets go.
    drop(hold);
    let mut again = None;
    for _ in 0..100 {
        if let Ok(hold) = second.hold_run("20261205-090000-held").await {
            again = Some(hold);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the hold went with its session");
    Ok(())
}

#[tokio::test]
async fn reading_a_database_that_holds_no_store_makes_none() -> TestResult {
    let server = LocalPostgres::start().await?;
    let location: StoreLocation = server.create_database("not_a_store").await?.parse()?;
    match RunStore::open_location_to_read(&location).await {
        Err(StoreError::NoStore(shown)) => {
            assert!(!shown.contains(&server.endpoint.password), "{shown}");
        }
        other => panic!("a database without a store was read as one: {other:?}"),
    }
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut server.admin("not_a_store").await?)
    .await?;
    assert_eq!(tables, 0, "reading created nothing");
    // Once a writer made it, readers find it.
    drop(RunStore::open_location(&location).await?);
    RunStore::open_location_to_read(&location).await?;
    Ok(())
}
