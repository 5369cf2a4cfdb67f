//! The stored report model against a real SQLite file: kept with the run's revision, used only
//! while that revision is current; every write to what a report reads moves the revision.

use agentpod_store::{
    NewRun, OutcomeRecord, OutcomeStatus, ReportModelLookup, RunStatus, RunStore,
};
use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

const RUN: &str = "20261125-120000-aaaa";
const VERSION: &str = "test-model-1";

fn new_run() -> NewRun {
    NewRun {
        id: RUN.to_string(),
        spec_name: "demo".into(),
        spec_path: "pods/demo.yaml".into(),
        agent_version: "v1".into(),
        runtime: "local".into(),
        pods: 1,
        seed: 1,
        trials: 1,
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
        spec_json: json!({"name": "demo"}),
        issues: vec![
            ("a".into(), json!({"id": "a"})),
            ("b".into(), json!({"id": "b"})),
        ],
        evaluation_set: None,
        sharding: None,
    }
}

fn outcome(issue_id: &str) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: RUN.into(),
        issue_id: issue_id.into(),
        trial: 1,
        pod_index: 1,
        status: OutcomeStatus::Passed,
        reason: "right".into(),
        exit: json!({"exited": {"code": 0}}),
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
        duration_ms: 10,
        output: None,
        grade: json!({}),
        stdout: String::new(),
        stdout_bytes: 0,
        stdout_truncated: false,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: Default::default(),
    }
}

async fn lookup(store: &RunStore) -> ReportModelLookup {
    store.report_model(RUN, VERSION).await.unwrap().unwrap()
}

/// Stores a model of the current revision and checks it is found.
async fn store_current_model(store: &RunStore) -> i64 {
    let revision = lookup(store).await.revision;
    assert!(
        store
            .store_report_model(RUN, revision, VERSION, b"model")
            .await
            .unwrap()
    );
    assert_eq!(lookup(store).await.model.as_deref(), Some(&b"model"[..]));
    revision
}

async fn store_with_a_run(directory: &std::path::Path) -> RunStore {
    let store = RunStore::open(&directory.join("runs.db")).await.unwrap();
    store.create_run(&new_run()).await.unwrap();
    store.record_outcome(&outcome("a")).await.unwrap();
    store
}

#[tokio::test]
async fn a_model_is_found_only_for_its_version_and_the_current_revision() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with_a_run(directory.path()).await;
    let revision = store_current_model(&store).await;
    assert_eq!(
        store.report_model(RUN, "another-version").await.unwrap(),
        Some(ReportModelLookup {
            revision,
            model: None
        })
    );
    // A model computed from an older revision is refused, and the newer one stays.
    assert!(
        !store
            .store_report_model(RUN, revision - 1, VERSION, b"stale")
            .await
            .unwrap()
    );
    assert_eq!(lookup(&store).await.model.as_deref(), Some(&b"model"[..]));
}

#[tokio::test]
async fn every_writer_of_what_a_report_reads_moves_the_revision() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with_a_run(directory.path()).await;
    let url = format!("sqlite://{}", directory.path().join("runs.db").display());
    let mut by_hand = SqliteConnection::connect(&url).await.unwrap();
    let writes: Vec<(&str, &str)> = vec![
        ("a new outcome", "record"),
        ("a resume", "reopen"),
        ("the run's end", "finish"),
        (
            "an outcome changed by hand",
            "UPDATE outcomes SET status = 'failed'",
        ),
        (
            "an outcome deleted by hand",
            "DELETE FROM outcomes WHERE issue_id = 'b'",
        ),
        (
            "a boundary event",
            "INSERT INTO boundary_events (run_id, issue_id, trial, kind, position, table_name,
                                          detail_json)
             VALUES ('20261125-120000-aaaa', 'a', 1, 'violation', 0, 't', '{}')",
        ),
        (
            "the sample",
            "UPDATE run_issues SET issue_json = '{\"id\": \"a\", \"fields\": {}}'
             WHERE issue_id = 'a'",
        ),
        (
            "the spec",
            "UPDATE runs SET spec_json = '{\"name\": \"other\"}'",
        ),
    ];
    for (what, write) in writes {
        let before = store_current_model(&store).await;
        match write {
            "record" => store.record_outcome(&outcome("b")).await.unwrap(),
            "reopen" => store.reopen_run(RUN).await.unwrap(),
            "finish" => store
                .finish_run(RUN, RunStatus::Finished, Utc::now(), &json!({}))
                .await
                .unwrap(),
            sql => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut by_hand)
                    .await
                    .unwrap();
            }
        }
        let after = lookup(&store).await;
        assert!(after.revision > before, "{what} did not move the revision");
        assert_eq!(after.model, None, "{what}: the older model was still found");
    }
}

#[tokio::test]
async fn a_run_deleted_and_imported_again_has_no_model_of_before() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with_a_run(directory.path()).await;
    let bundle = store.export_bundle(RUN).await.unwrap();
    store_current_model(&store).await;
    let url = format!("sqlite://{}", directory.path().join("runs.db").display());
    let mut by_hand = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut by_hand)
        .await
        .unwrap();
    sqlx::query("DELETE FROM runs")
        .execute(&mut by_hand)
        .await
        .unwrap();
    store.import_bundle(&bundle).await.unwrap();
    assert_eq!(lookup(&store).await.model, None);
}

#[tokio::test]
async fn a_store_without_stored_models_answers_none() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with_a_run(directory.path()).await;
    let url = format!("sqlite://{}", directory.path().join("runs.db").display());
    let mut by_hand = SqliteConnection::connect(&url).await.unwrap();
    // As an older agentpod left it (read-only media are not migrated).
    sqlx::query("DROP TABLE report_models")
        .execute(&mut by_hand)
        .await
        .unwrap();
    assert_eq!(store.report_model(RUN, VERSION).await.unwrap(), None);
}
