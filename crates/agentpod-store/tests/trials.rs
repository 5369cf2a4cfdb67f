//! Repeated trials in the run store: several outcomes, steps and boundary events per issue, the
//! (issue, trial) pairs `--resume` still owes, bundles that carry trials, and stores written
//! before trials existed migrating with their rows intact.

use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, NewRun, OutcomeRecord, OutcomeStatus, RowChangeDetail,
    RunStatus, RunStore, StepDetail, StepRecord, ToolCallDetail,
};
use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const RUN: &str = "20261125-120000-trls";

fn new_run(trials: u32) -> NewRun {
    NewRun {
        id: RUN.to_string(),
        spec_name: "demo".into(),
        spec_path: "pods/demo.yaml".into(),
        agent_version: "v1".into(),
        runtime: "local".into(),
        pods: 2,
        seed: 7,
        trials,
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
        spec_json: json!({"name": "demo"}),
        issues: vec![
            ("b".into(), json!({"id": "b"})),
            ("a".into(), json!({"id": "a"})),
        ],
        evaluation_set: None,
        sharding: None,
    }
}

fn outcome(issue_id: &str, trial: u32, status: OutcomeStatus) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: RUN.into(),
        issue_id: issue_id.into(),
        trial,
        pod_index: 1,
        status,
        reason: format!("{issue_id} trial {trial}"),
        exit: json!({"kind": "exited", "code": 0}),
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, trial).unwrap(),
        duration_ms: 100 * u64::from(trial),
        output: None,
        grade: json!({"checks": []}),
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: Default::default(),
    }
}

fn step(issue_id: &str, trial: u32) -> StepRecord {
    StepRecord {
        issue_id: issue_id.into(),
        trial,
        started_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, trial).unwrap()),
        latency_ms: Some(1.0),
        detail: StepDetail::ToolCall(ToolCallDetail {
            sequence: trial,
            ..Default::default()
        }),
    }
}

fn event(issue_id: &str, trial: u32) -> BoundaryEventRecord {
    BoundaryEventRecord {
        issue_id: issue_id.into(),
        trial,
        detail: BoundaryDetail::Change(RowChangeDetail {
            table: "tickets".into(),
            statement: format!("trial {trial}"),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn three_trials_of_one_issue_are_kept_apart_and_come_back_in_order() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store.create_run(&new_run(3)).await.unwrap();
    // Written out of order, as parallel pods finish them; the same position (0) in each trial.
    for (trial, status) in [
        (3, OutcomeStatus::Failed),
        (1, OutcomeStatus::Passed),
        (2, OutcomeStatus::Passed),
    ] {
        store
            .record_issue_result(
                &outcome("a", trial, status),
                &[event("a", trial)],
                &[step("a", trial)],
            )
            .await
            .unwrap();
    }
    assert_eq!(store.find_run(RUN).await.unwrap().trials, 3);

    let outcomes = store.outcomes(RUN).await.unwrap();
    let trials: Vec<_> = outcomes
        .iter()
        .map(|outcome| (outcome.trial, outcome.status, outcome.duration_ms))
        .collect();
    assert_eq!(
        trials,
        [
            (1, OutcomeStatus::Passed, 100),
            (2, OutcomeStatus::Passed, 200),
            (3, OutcomeStatus::Failed, 300)
        ],
        "one outcome per trial, none replacing another"
    );
    let steps = store.steps(RUN, Some("a")).await.unwrap();
    assert_eq!(
        steps.iter().map(|step| step.trial).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(steps.iter().all(
        |step| matches!(&step.detail, StepDetail::ToolCall(call) if call.sequence == step.trial)
    ));
    let events = store.boundary_events(RUN).await.unwrap();
    assert_eq!(
        events.iter().map(|event| event.trial).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(events.iter().all(
        |event| matches!(&event.detail, BoundaryDetail::Change(change)
                if change.statement == format!("trial {}", event.trial))
    ));

    // A bundle carries the trials to another store.
    store
        .finish_run(RUN, RunStatus::Finished, Utc::now(), &json!({}))
        .await
        .unwrap();
    let bundle = store.export_bundle(RUN).await.unwrap();
    let there = RunStore::open(&directory.path().join("there.db"))
        .await
        .unwrap();
    there.import_bundle(&bundle).await.unwrap();
    let moved = there.export_bundle(RUN).await.unwrap();
    assert_eq!(moved.run.trials, 3);
    assert_eq!(
        serde_json::to_value(&moved).unwrap(),
        serde_json::to_value(&bundle).unwrap()
    );
}

#[tokio::test]
async fn a_bundle_written_before_trials_reads_as_trial_one() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store.create_run(&new_run(1)).await.unwrap();
    store
        .record_issue_result(
            &outcome("a", 1, OutcomeStatus::Passed),
            &[event("a", 1)],
            &[step("a", 1)],
        )
        .await
        .unwrap();
    let mut old = serde_json::to_value(store.export_bundle(RUN).await.unwrap()).unwrap();
    old["run"].as_object_mut().unwrap().remove("trials");
    for list in ["outcomes", "steps", "boundary_events"] {
        for record in old[list].as_array_mut().unwrap() {
            record.as_object_mut().unwrap().remove("trial");
        }
    }
    old["format"] = json!("agentpod-run-bundle/1");
    let bundle: agentpod_store::RunBundle = serde_json::from_value(old).unwrap();
    assert_eq!(bundle.run.trials, 1);
    assert_eq!(bundle.outcomes[0].trial, 1);
    assert_eq!(bundle.steps[0].trial, 1);
    assert_eq!(bundle.boundary_events[0].trial, 1);

    // A version-1 bundle still imports; an unknown version is refused.
    let other = RunStore::open(&directory.path().join("other.db"))
        .await
        .unwrap();
    let mut unknown = bundle.clone();
    unknown.format = "agentpod-run-bundle/9".into();
    assert!(other.import_bundle(&unknown).await.is_err());
    other.import_bundle(&bundle).await.unwrap();
    assert_eq!(other.outcomes(RUN).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_trial_run_again_replaces_the_steps_and_events_of_its_earlier_attempt() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store.create_run(&new_run(2)).await.unwrap();
    // The first attempt of a's trial 2 made three tool calls and two changes, then its pod
    // was lost; trial 1 is another attempt's and must stay.
    store
        .record_issue_result(
            &outcome("a", 1, OutcomeStatus::Passed),
            &[event("a", 1)],
            &[step("a", 1)],
        )
        .await
        .unwrap();
    store
        .record_issue_result(
            &outcome("a", 2, OutcomeStatus::InfrastructureError),
            &[event("a", 2), event("a", 2)],
            &[step("a", 2), step("a", 2), step("a", 2)],
        )
        .await
        .unwrap();
    // Resumed: the second attempt made one tool call and no change.
    store
        .record_issue_result(
            &outcome("a", 2, OutcomeStatus::Passed),
            &[],
            &[step("a", 2)],
        )
        .await
        .unwrap();
    let steps = store.steps(RUN, Some("a")).await.unwrap();
    let per_trial = |trial| steps.iter().filter(|step| step.trial == trial).count();
    assert_eq!((per_trial(1), per_trial(2)), (1, 1), "{steps:?}");
    let events = store.boundary_events(RUN).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].trial, 1);
    let outcomes = store.outcomes(RUN).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .all(|outcome| outcome.status == OutcomeStatus::Passed)
    );
}

#[tokio::test]
async fn resume_owes_every_unfinished_issue_and_trial_pair_trial_by_trial() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store.create_run(&new_run(3)).await.unwrap();
    let pairs = |pending: Vec<agentpod_store::PendingTrial>| -> Vec<(String, u32)> {
        pending
            .into_iter()
            .map(|pending| (pending.issue_id, pending.trial))
            .collect()
    };
    let owed = |pairs: &[(&str, u32)]| -> Vec<(String, u32)> {
        pairs
            .iter()
            .map(|(issue, trial)| (issue.to_string(), *trial))
            .collect()
    };
    assert_eq!(
        pairs(store.pending_trials(RUN).await.unwrap()),
        owed(&[("b", 1), ("a", 1), ("b", 2), ("a", 2), ("b", 3), ("a", 3)]),
        "trial 1 of every issue (in sample order) before any trial 2"
    );
    for (issue, trial, status) in [
        ("b", 1, OutcomeStatus::Passed),
        ("a", 1, OutcomeStatus::Failed),
        ("b", 2, OutcomeStatus::Errored),
        ("a", 2, OutcomeStatus::Interrupted),
        ("b", 3, OutcomeStatus::InfrastructureError),
    ] {
        store
            .record_outcome(&outcome(issue, trial, status))
            .await
            .unwrap();
    }
    let pending = store.pending_trials(RUN).await.unwrap();
    assert_eq!(
        pairs(pending.clone()),
        owed(&[("a", 2), ("b", 3), ("a", 3)]),
        "interrupted and infrastructure-lost trials run again; finished ones do not"
    );
    assert_eq!(pending[0].issue, json!({"id": "a"}));
    assert_eq!(store.pending_issue_ids(RUN).await.unwrap(), ["b", "a"]);

    for (issue, trial) in [("a", 2), ("b", 3), ("a", 3)] {
        store
            .record_outcome(&outcome(issue, trial, OutcomeStatus::Passed))
            .await
            .unwrap();
    }
    assert!(store.pending_trials(RUN).await.unwrap().is_empty());
    assert_eq!(store.outcomes(RUN).await.unwrap().len(), 6);
}

/// A store last migrated before trials (0001–0003), with a run written as that code wrote it:
/// opening it with this code adds the trial columns and keeps every row, as trial 1.
#[tokio::test]
async fn a_store_from_before_trials_migrates_with_its_rows_as_trial_one() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("runs.db");
    let old_migrations = directory.path().join("migrations-0003");
    std::fs::create_dir(&old_migrations).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in ["0001_runs.sql", "0002_boundary.sql", "0003_steps.sql"] {
        std::fs::copy(migrations.join(name), old_migrations.join(name)).unwrap();
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed,
                           issue_count, status, started_at, spec_json, boundary_json)
         VALUES ('20261125-120000-oldr', 'demo', 'pods/demo.yaml', 'v0', 'docker', 1, 3, 2,
                 'finished', '2026-11-25T12:00:00+00:00', '{\"name\":\"demo\"}', '{\"tables\":[]}');
         INSERT INTO run_issues (run_id, position, issue_id, issue_json)
         VALUES ('20261125-120000-oldr', 0, 'x', '{\"id\":\"x\"}'),
                ('20261125-120000-oldr', 1, 'y', '{\"id\":\"y\"}');
         INSERT INTO outcomes (run_id, issue_id, pod_index, status, reason, exit, started_at,
                               duration_ms, output_json, grade_json, stdout, stdout_bytes,
                               stdout_truncated, stderr, stderr_bytes, stderr_truncated,
                               llm_calls, tool_calls, input_tokens, output_tokens, cost_usd,
                               unpriced_calls, budget_stops)
         VALUES ('20261125-120000-oldr', 'x', 1, 'passed', 'all checks passed',
                 '{\"kind\":\"exited\",\"code\":0}', '2026-11-25T12:00:01+00:00', 1500,
                 '{\"answer\":\"42\"}', '{\"passed\":true,\"checks\":[]}', 'out', 3, 0, '', 0, 0,
                 2, 5, 1000, 200, 0.0125, 0, 0);
         INSERT INTO steps (run_id, issue_id, kind, position, started_at, latency_ms, detail_json)
         VALUES ('20261125-120000-oldr', 'x', 'tool_call', 0, '2026-11-25T12:00:01Z', 2.5,
                 '{\"tool\":\"query\"}');
         INSERT INTO boundary_events (run_id, issue_id, kind, position, table_name, detail_json)
         VALUES ('20261125-120000-oldr', 'x', 'change', 0, 'tickets', '{\"operation\":\"UPDATE\"}');",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = RunStore::open(&path).await.unwrap();
    let run = store.find_run("20261125-120000-oldr").await.unwrap();
    assert_eq!(run.trials, 1);
    assert_eq!(run.status, RunStatus::Finished);
    let outcomes = store.outcomes(&run.id).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    let kept = &outcomes[0];
    assert_eq!(
        (kept.issue_id.as_str(), kept.trial, kept.status),
        ("x", 1, OutcomeStatus::Passed)
    );
    assert_eq!(kept.duration_ms, 1500);
    assert_eq!(kept.output, Some(json!({"answer": "42"})));
    assert_eq!(kept.usage.tool_calls, 5);
    assert_eq!(kept.usage.cost_usd, Some(0.0125));
    let steps = store.steps(&run.id, None).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!((steps[0].trial, steps[0].latency_ms), (1, Some(2.5)));
    let events = store.boundary_events(&run.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].trial, events[0].table()), (1, Some("tickets")));
    assert_eq!(
        store.run_boundary(&run.id).await.unwrap(),
        Some(json!({"tables": []}))
    );
    assert_eq!(store.pending_issue_ids(&run.id).await.unwrap(), ["y"]);

    // The rebuilt tables keep their keys and their cascade from runs.
    store
        .record_outcome(&OutcomeRecord {
            run_id: run.id.clone(),
            ..outcome("x", 2, OutcomeStatus::Failed)
        })
        .await
        .unwrap();
    assert_eq!(store.outcomes(&run.id).await.unwrap().len(), 2);
    let orphan = store
        .record_outcome(&OutcomeRecord {
            run_id: "no-such-run".into(),
            ..outcome("x", 1, OutcomeStatus::Passed)
        })
        .await;
    assert!(
        orphan.is_err(),
        "the foreign key to runs survived the rebuild"
    );
}
