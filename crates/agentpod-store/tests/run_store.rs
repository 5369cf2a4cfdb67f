//! The run store against a real SQLite file: write a run as a runner does, read it back, reopen it.

use agentpod_store::{
    EvaluationSet, NewRun, OutcomeRecord, OutcomeStatus, RunStatus, RunStore, StoreError,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn new_run(id: &str, minute: u32) -> NewRun {
    NewRun {
        id: id.to_string(),
        spec_name: "demo".into(),
        spec_path: "pods/demo.yaml".into(),
        agent_version: "v1".into(),
        runtime: "local".into(),
        pods: 2,
        seed: u64::MAX - 3,
        trials: 1,
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, minute, 0).unwrap(),
        spec_json: json!({"name": "demo"}),
        issues: vec![
            ("b".into(), json!({"id": "b"})),
            ("a".into(), json!({"id": "a"})),
            ("c".into(), json!({"id": "c"})),
        ],
        evaluation_set: Some(EvaluationSet {
            sha256: format!("{minute:02}{}", "ab".repeat(31)),
            issues: 40,
        }),
        sharding: None,
    }
}

fn outcome(run_id: &str, issue_id: &str, status: OutcomeStatus) -> OutcomeRecord {
    OutcomeRecord {
        own_time: Default::default(),
        run_id: run_id.into(),
        issue_id: issue_id.into(),
        trial: 1,
        pod_index: 1,
        status,
        reason: format!("{issue_id} reason"),
        exit: json!({"exited": {"code": 0}}),
        started_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap(),
        duration_ms: 1234,
        output: Some(json!({"category": "billing"})),
        grade: json!({"checks": []}),
        stdout: "hello".into(),
        stdout_bytes: 5_000_000,
        stdout_truncated: true,
        stderr: String::new(),
        stderr_bytes: 0,
        stderr_truncated: false,
        usage: Default::default(),
    }
}

#[tokio::test]
async fn a_run_round_trips_and_survives_reopening() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested/.agentpod/runs.db");
    let store = RunStore::open(&path).await.unwrap();
    store
        .create_run(&new_run("20261125-120000-aaaa", 0))
        .await
        .unwrap();
    store
        .record_outcome(&outcome("20261125-120000-aaaa", "a", OutcomeStatus::Passed))
        .await
        .unwrap();
    store
        .record_outcome(&outcome(
            "20261125-120000-aaaa",
            "b",
            OutcomeStatus::Errored,
        ))
        .await
        .unwrap();
    store.close().await;

    // Reopen: what was written before a crash is still there, and migrations are idempotent.
    let store = RunStore::open(&path).await.unwrap();
    let run = store.find_run("20261125-120000-aaaa").await.unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.seed, u64::MAX - 3);
    assert_eq!(run.issue_count, 3);
    let set = run
        .evaluation_set
        .clone()
        .expect("the evaluation set is recorded");
    assert_eq!(set.issues, 40, "the set's size, not the sample's");
    assert_eq!(set.sha256, format!("00{}", "ab".repeat(31)));
    assert_eq!(set.label(), "sha256:00ababababab (40 issues)");
    let outcomes = store.outcomes(&run.id).await.unwrap();
    let ids: Vec<_> = outcomes
        .iter()
        .map(|outcome| outcome.issue_id.as_str())
        .collect();
    assert_eq!(ids, ["b", "a"], "outcomes come back in sample order");
    assert_eq!(outcomes[0].status, OutcomeStatus::Errored);
    assert_eq!(outcomes[0].stdout_bytes, 5_000_000);
    assert!(outcomes[0].stdout_truncated);
    assert_eq!(store.pending_issue_ids(&run.id).await.unwrap(), ["c"]);
    // An interrupted issue is not done: a resumed run does it again.
    store
        .record_outcome(&outcome(
            "20261125-120000-aaaa",
            "a",
            OutcomeStatus::Interrupted,
        ))
        .await
        .unwrap();
    assert_eq!(store.pending_issue_ids(&run.id).await.unwrap(), ["a", "c"]);
    assert_eq!(
        store.pending_trials(&run.id).await.unwrap()[0].issue,
        json!({"id": "a"})
    );
    store
        .record_outcome(&outcome("20261125-120000-aaaa", "a", OutcomeStatus::Passed))
        .await
        .unwrap();
    assert_eq!(
        store.outcomes(&run.id).await.unwrap().len(),
        2,
        "replaced, not written twice"
    );

    let summary = json!({"passed": 1});
    store
        .finish_run(&run.id, RunStatus::Interrupted, Utc::now(), &summary)
        .await
        .unwrap();
    let run = store.find_run(&run.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_eq!(run.summary, Some(summary));
    assert!(run.finished_at.is_some());

    store.reopen_run(&run.id).await.unwrap();
    assert_eq!(
        store.find_run(&run.id).await.unwrap().status,
        RunStatus::Running
    );
    assert!(matches!(
        store.reopen_run("no-such-run").await,
        Err(StoreError::RunNotFound(_))
    ));
}

#[tokio::test]
async fn runs_are_found_by_prefix_and_listed_newest_first() {
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store
        .create_run(&new_run("20261125-120000-aaaa", 0))
        .await
        .unwrap();
    store
        .create_run(&new_run("20261125-120500-bbbb", 5))
        .await
        .unwrap();
    store
        .create_run(&new_run("20261125-120500-bbcc", 6))
        .await
        .unwrap();

    let listed: Vec<_> = store
        .list_runs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(
        listed,
        [
            "20261125-120500-bbcc",
            "20261125-120500-bbbb",
            "20261125-120000-aaaa"
        ]
    );
    assert_eq!(
        store.find_run("20261125-1200").await.unwrap().id,
        "20261125-120000-aaaa"
    );
    assert_eq!(
        store.find_run("latest").await.unwrap().id,
        "20261125-120500-bbcc"
    );
    assert!(matches!(
        store.find_run("20261125-120500-bb").await,
        Err(StoreError::AmbiguousRun { .. })
    ));
    assert!(matches!(
        store.find_run("2025").await,
        Err(StoreError::RunNotFound(_))
    ));
    // LIKE wildcards in user input must not match everything.
    assert!(matches!(
        store.find_run("%").await,
        Err(StoreError::AmbiguousRun { .. }) | Err(StoreError::RunNotFound(_))
    ));
}

#[tokio::test]
async fn boundary_events_and_the_effective_boundary_round_trip() {
    use agentpod_store::{
        BoundaryDetail, BoundaryEventKind, BoundaryEventRecord, ProposalDetail, RowChangeDetail,
        ViolationDetail,
    };
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store
        .create_run(&new_run("20261125-120000-aaaa", 0))
        .await
        .unwrap();
    let event = |issue: &str, kind, table: &str| BoundaryEventRecord {
        issue_id: issue.into(),
        trial: 1,
        detail: match kind {
            BoundaryEventKind::Change => BoundaryDetail::Change(RowChangeDetail {
                table: table.into(),
                operation: "update".into(),
                after: Some(json!({"id": 1})),
                ..Default::default()
            }),
            BoundaryEventKind::Proposal => BoundaryDetail::Proposal(ProposalDetail {
                table: table.into(),
                ..Default::default()
            }),
            BoundaryEventKind::Violation => BoundaryDetail::Violation(ViolationDetail {
                table: Some(table.into()),
                error: format!("permission denied for table {table}"),
                sqlstate: Some("42501".into()),
                ..Default::default()
            }),
        },
    };
    store
        .record_boundary_events(
            "20261125-120000-aaaa",
            &[
                event("a", BoundaryEventKind::Violation, "staff_permissions"),
                event("a", BoundaryEventKind::Change, "ticket_notes"),
                event("a", BoundaryEventKind::Change, "tickets"),
            ],
        )
        .await
        .unwrap();
    store
        .record_boundary_events(
            "20261125-120000-aaaa",
            &[event("b", BoundaryEventKind::Proposal, "refunds")],
        )
        .await
        .unwrap();

    let events = store.boundary_events("20261125-120000-aaaa").await.unwrap();
    let order: Vec<_> = events
        .iter()
        .map(|event| {
            (
                event.issue_id.as_str(),
                event.kind(),
                event.table().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("b", BoundaryEventKind::Proposal, "refunds"),
            ("a", BoundaryEventKind::Change, "ticket_notes"),
            ("a", BoundaryEventKind::Change, "tickets"),
            ("a", BoundaryEventKind::Violation, "staff_permissions"),
        ],
        "sample order (b before a), then kind, then the order written"
    );
    // Each detail comes back whole and typed.
    assert_eq!(
        events[3].detail,
        event("a", BoundaryEventKind::Violation, "staff_permissions").detail
    );
    assert_eq!(
        events[1].detail,
        event("a", BoundaryEventKind::Change, "ticket_notes").detail
    );

    assert_eq!(
        store.run_boundary("20261125-120000-aaaa").await.unwrap(),
        None
    );
    store
        .set_run_boundary("20261125-120000-aaaa", &json!({"tables": [1]}))
        .await
        .unwrap();
    store
        .set_run_boundary("20261125-120000-aaaa", &json!({"tables": [2]}))
        .await
        .unwrap();
    assert_eq!(
        store.run_boundary("20261125-120000-aaaa").await.unwrap(),
        Some(json!({"tables": [1]})),
        "the first pod's wins"
    );
}

#[tokio::test]
async fn steps_and_usage_round_trip_in_order() {
    use agentpod_store::{IssueUsage, RejectedRequestDetail, StepDetail, StepKind, StepRecord};
    let directory = tempfile::tempdir().unwrap();
    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    store
        .create_run(&new_run("20261125-120000-aaaa", 0))
        .await
        .unwrap();
    let step = |issue: &str, kind, at: &str| StepRecord {
        issue_id: issue.into(),
        trial: 1,
        started_at: Some(at.parse().unwrap()),
        latency_ms: Some(1.5),
        detail: match kind {
            StepKind::LlmCall => StepDetail::LlmCall(Default::default()),
            StepKind::ToolCall => StepDetail::ToolCall(Default::default()),
            StepKind::Span => StepDetail::Span(Default::default()),
            StepKind::JudgeCall => StepDetail::JudgeCall(Default::default()),
            StepKind::CustomerCall => StepDetail::CustomerCall(Default::default()),
            StepKind::RejectedRequest => StepDetail::RejectedRequest(RejectedRequestDetail {
                gateway: "tools".into(),
                status: 413,
                error: "request body over the limit".into(),
                not_listed_after: 5,
                ..Default::default()
            }),
        },
    };
    store
        .record_steps(
            "20261125-120000-aaaa",
            &[
                step("a", StepKind::ToolCall, "2026-11-25T12:00:02Z"),
                step("a", StepKind::LlmCall, "2026-11-25T12:00:01Z"),
                step("b", StepKind::LlmCall, "2026-11-25T12:00:00Z"),
                step("a", StepKind::RejectedRequest, "2026-11-25T12:00:03Z"),
            ],
        )
        .await
        .unwrap();
    let all = store.steps("20261125-120000-aaaa", None).await.unwrap();
    let order: Vec<_> = all
        .iter()
        .map(|step| (step.issue_id.as_str(), step.kind()))
        .collect();
    assert_eq!(
        order,
        [
            ("b", StepKind::LlmCall),
            ("a", StepKind::LlmCall),
            ("a", StepKind::ToolCall),
            ("a", StepKind::RejectedRequest)
        ]
    );
    // A rejected request reads back whole, with the count of those not listed.
    assert_eq!(
        all[3],
        step("a", StepKind::RejectedRequest, "2026-11-25T12:00:03Z")
    );
    assert_eq!(
        store
            .steps("20261125-120000-aaaa", Some("a"))
            .await
            .unwrap()
            .len(),
        3
    );

    let mut with_usage = outcome("20261125-120000-aaaa", "a", OutcomeStatus::Passed);
    with_usage.usage = IssueUsage {
        llm_calls: 3,
        tool_calls: 7,
        input_tokens: 1200,
        output_tokens: 300,
        cost_usd: Some(0.0125),
        unpriced_calls: 1,
        budget_stops: 0,
        model_retries: 4,
        throttled_ms: 2500.5,
        side_models: Default::default(),
    };
    store.record_outcome(&with_usage).await.unwrap();
    let read = store.outcomes("20261125-120000-aaaa").await.unwrap();
    assert_eq!(read[0].usage, with_usage.usage);
}

#[tokio::test]
async fn a_bundled_run_moves_to_another_store_whole() {
    use agentpod_store::{
        BoundaryDetail, BoundaryEventRecord, RowChangeDetail, StepDetail, StepRecord,
        ToolCallDetail,
    };
    let directory = tempfile::tempdir().unwrap();
    let here = RunStore::open(&directory.path().join("here.db"))
        .await
        .unwrap();
    here.create_run(&new_run("20261125-120000-aaaa", 0))
        .await
        .unwrap();
    here.record_issue_result(
        &outcome("20261125-120000-aaaa", "a", OutcomeStatus::Passed),
        &[BoundaryEventRecord {
            issue_id: "a".into(),
            trial: 1,
            detail: BoundaryDetail::Change(RowChangeDetail {
                table: "t".into(),
                ..Default::default()
            }),
        }],
        &[StepRecord {
            issue_id: "a".into(),
            trial: 1,
            started_at: None,
            latency_ms: Some(1.0),
            detail: StepDetail::ToolCall(ToolCallDetail {
                tool: "query".into(),
                ..Default::default()
            }),
        }],
    )
    .await
    .unwrap();
    here.finish_run(
        "20261125-120000-aaaa",
        RunStatus::Finished,
        Utc::now(),
        &json!({"passed": 1}),
    )
    .await
    .unwrap();

    let bundle = here.export_bundle("20261125-120000-aaaa").await.unwrap();
    let text = serde_json::to_string(&bundle).unwrap();
    let bundle: agentpod_store::RunBundle = serde_json::from_str(&text).unwrap();
    let there = RunStore::open(&directory.path().join("there.db"))
        .await
        .unwrap();
    there.import_bundle(&bundle).await.unwrap();

    let moved = there.export_bundle("20261125-120000-aaaa").await.unwrap();
    assert_eq!(
        serde_json::to_value(&moved).unwrap(),
        serde_json::to_value(&bundle).unwrap(),
        "nothing lost on the way"
    );
    assert_eq!(
        moved.run.evaluation_set,
        new_run("x", 0).evaluation_set,
        "the evaluation set moves with the run"
    );
    assert!(
        matches!(
            there.import_bundle(&bundle).await,
            Err(StoreError::RunExists(_))
        ),
        "never imported twice"
    );
    let mut foreign = bundle.clone();
    foreign.format = "something-else/9".into();
    assert!(matches!(
        there.import_bundle(&foreign).await,
        Err(StoreError::BundleFormat(_))
    ));
}

/// Two agentpod processes starting at once on a store that does not exist yet. SQLite's file
/// locks only conflict between processes, so the openers are processes: this test runs its own
/// executable again as each opener, all starting at one instant. The switch of a new store to WAL
/// cannot wait on SQLite's busy timeout; before the opening lock covered it, CI saw two runs
/// started together fail with "database is locked". The window is narrow, so this test does not
/// catch every regression, but it fails whenever an opener does.
#[test]
fn many_processes_opening_a_new_store_at_once_all_succeed() {
    const OPENER: &str = "AGENTPOD_STORE_TEST_OPENER";
    const START_AT: &str = "AGENTPOD_STORE_TEST_START_AT";
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    if let Some(path) = std::env::var_os(OPENER) {
        let opener = std::process::id();
        // All openers start at one instant, as if launched together.
        let start_at: u128 = std::env::var(START_AT).unwrap().parse().unwrap();
        let wait = start_at.saturating_sub(now().as_micros());
        std::thread::sleep(std::time::Duration::from_micros(wait as u64));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let created = runtime.block_on(async {
            let store = RunStore::open(std::path::Path::new(&path)).await?;
            store
                .create_run(&new_run(&format!("run-{opener}"), opener % 60))
                .await
        });
        if let Err(error) = created {
            panic!("opener {opener}: {}", error_chain(&error));
        }
        return;
    }
    const OPENERS: usize = 6;
    let executable = std::env::current_exe().unwrap();
    for attempt in 0..8 {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested").join("runs.db");
        let start_at = (now() + std::time::Duration::from_millis(500)).as_micros();
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                std::process::Command::new(&executable)
                    .args([
                        "--exact",
                        "many_processes_opening_a_new_store_at_once_all_succeed",
                        "--nocapture",
                    ])
                    .env(OPENER, &path)
                    .env(START_AT, start_at.to_string())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for opener in openers {
            let output = opener.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "attempt {attempt}: an opener failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let runs = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { RunStore::open(&path).await.unwrap().list_runs(100).await })
            .unwrap();
        assert_eq!(runs.len(), OPENERS, "every opener's run is in the store");
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
