//! One time format: a store written with the older, mixed time texts migrates to RFC 3339 UTC
//! with six fractional digits, and then sorts runs and steps in time order.

use agentpod_store::{RunStore, StepKind};
use chrono::{TimeZone, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// A store migrated up to 0004 only (the last version before one time format), to write rows
/// into as that version's code did.
async fn store_before_one_time_format(directory: &std::path::Path) -> SqlitePool {
    let old_migrations = directory.join("migrations-0004");
    std::fs::create_dir(&old_migrations).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in [
        "0001_runs.sql",
        "0002_boundary.sql",
        "0003_steps.sql",
        "0004_trials.sql",
    ] {
        std::fs::copy(migrations.join(name), old_migrations.join(name)).unwrap();
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(directory.join("runs.db"))
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
    pool
}

#[tokio::test]
async fn mixed_time_texts_migrate_to_one_format_and_sort_as_times() {
    let directory = tempfile::tempdir().unwrap();
    let pool = store_before_one_time_format(directory.path()).await;
    // Run `late` started half a second after run `early`; as the old texts they sort the other
    // way ('.' < 'Z').
    sqlx::raw_sql(
        "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed,
                           issue_count, status, started_at, finished_at, spec_json)
         VALUES ('late', 'demo', 'pods/demo.yaml', 'v1', 'docker', 1, 3, 1, 'finished',
                 '2026-11-25T12:00:01.5+00:00', '2026-11-25T12:05:00+00:00', '{}'),
                ('early', 'demo', 'pods/demo.yaml', 'v1', 'docker', 1, 3, 1, 'running',
                 '2026-11-25T12:00:01Z', NULL, '{}');
         INSERT INTO run_issues (run_id, position, issue_id, issue_json)
         VALUES ('late', 0, 'x', '{\"id\":\"x\"}');
         INSERT INTO outcomes (run_id, issue_id, trial, pod_index, status, reason, exit, started_at,
                               duration_ms, grade_json, stdout, stdout_bytes, stdout_truncated,
                               stderr, stderr_bytes, stderr_truncated)
         VALUES ('late', 'x', 1, 0, 'passed', 'ok', '{\"kind\":\"exited\",\"code\":0}',
                 '2026-11-25T12:00:01.123456789+00:00', 1000, '{\"checks\":[]}', '', 0, 0, '', 0, 0);
         -- A model call (+00:00, 1 digit), a tool call (6 digits, Z), a span (9 digits, Z, which
         -- must not carry into the next second) and a time in another zone (12:00:00 UTC).
         INSERT INTO steps (run_id, issue_id, trial, kind, position, started_at, latency_ms, detail_json)
         VALUES ('late', 'x', 1, 'span', 0, '2026-11-25T12:00:01.999999999Z', 1.0, '{}'),
                ('late', 'x', 1, 'llm_call', 0, '2026-11-25T12:00:01.5+00:00', 1.0, '{}'),
                ('late', 'x', 1, 'tool_call', 0, '2026-11-25T12:00:01.250000Z', 1.0, '{}'),
                ('late', 'x', 1, 'tool_call', 1, '2026-11-25T13:00:00+01:00', 1.0, '{}'),
                ('late', 'x', 1, 'tool_call', 2, NULL, 1.0, '{}');",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    let runs = store.list_runs(10).await.unwrap();
    assert_eq!(
        runs.iter().map(|run| run.id.as_str()).collect::<Vec<_>>(),
        ["late", "early"],
        "newest first"
    );
    let at = |second: u32, micros: i64| {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, second).unwrap()
            + chrono::Duration::microseconds(micros)
    };
    assert_eq!(runs[0].started_at, at(1, 500_000));
    assert_eq!(
        runs[0].finished_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 5, 0).unwrap())
    );
    assert_eq!(runs[1].finished_at, None);
    let outcomes = store.outcomes("late").await.unwrap();
    assert_eq!(outcomes[0].started_at, at(1, 123_456), "cut to microseconds");

    let steps = store.steps("late", None).await.unwrap();
    let order: Vec<_> = steps
        .iter()
        .map(|step| (step.kind, step.started_at))
        .collect();
    assert_eq!(
        order,
        [
            (StepKind::ToolCall, None),
            (StepKind::ToolCall, Some(at(0, 0))),
            (StepKind::ToolCall, Some(at(1, 250_000))),
            (StepKind::LlmCall, Some(at(1, 500_000))),
            (StepKind::Span, Some(at(1, 999_999))),
        ],
        "in time order, a step without a time first"
    );

    // Every time column holds the one format.
    let raw = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(directory.path().join("runs.db")))
        .await
        .unwrap();
    let texts: Vec<String> = sqlx::query(
        "SELECT started_at AS time FROM runs
         UNION ALL SELECT finished_at FROM runs WHERE finished_at IS NOT NULL
         UNION ALL SELECT started_at FROM outcomes
         UNION ALL SELECT started_at FROM steps WHERE started_at IS NOT NULL
         ORDER BY time",
    )
    .fetch_all(&raw)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get("time"))
    .collect();
    assert_eq!(
        texts,
        [
            "2026-11-25T12:00:00.000000Z",
            "2026-11-25T12:00:01.000000Z",
            "2026-11-25T12:00:01.123456Z",
            "2026-11-25T12:00:01.250000Z",
            "2026-11-25T12:00:01.500000Z",
            "2026-11-25T12:00:01.500000Z",
            "2026-11-25T12:00:01.999999Z",
            "2026-11-25T12:05:00.000000Z",
        ]
    );
}
