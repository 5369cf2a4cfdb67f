//! Stores and bundles written by earlier versions: the older, mixed time texts migrate to one
//! format (RFC 3339 UTC with six fractional digits) and then sort in time order; steps whose
//! detail was written as untyped JSON read as typed details.

use agentpod_store::{
    ModelCallOutcome, RunStore, SpanKind, SpanStatusCode, StepDetail, StepKind, StepRecord,
    ToolCallOutcome,
};
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
    assert_eq!(
        runs[0].evaluation_set, None,
        "a run from before evaluation sets were versioned reads without one"
    );
    let outcomes = store.outcomes("late").await.unwrap();
    assert_eq!(
        outcomes[0].started_at,
        at(1, 123_456),
        "cut to microseconds"
    );

    let steps = store.steps("late", None).await.unwrap();
    let order: Vec<_> = steps
        .iter()
        .map(|step| (step.kind(), step.started_at))
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

/// The detail JSON each gateway wrote for a step before details were typed, with what it carried
/// besides the detail (the issue, the start, the model call's tokens repeated at the top).
const OLD_TOOL_CALL: &str = r#"{"sequence":0,"issue_id":"x","tool":"query","arguments":{"sql":"SELECT 1"},"arguments_bytes":18,"result":"1 row","result_bytes":5,"result_truncated":false,"result_capped":false,"is_error":false,"started_at":"2026-11-25T12:00:01.250000Z","latency_ms":2.5,"outcome":"error","error":"permission denied"}"#;
const OLD_MODEL_CALL: &str = r#"{"issue_id":"x","api":"openai.chat","model":"gpt-4o-mini","response_model":"gpt-4o-mini-2024-07-18","streamed":true,"started_at":"2026-11-25T12:00:01.5+00:00","latency_ms":850.0,"time_to_first_byte_ms":120.5,"status":200,"outcome":"ok","usage":{"input_tokens":900,"output_tokens":120,"cached_input_tokens":100,"cache_creation_input_tokens":0,"reasoning_tokens":7},"total_tokens":1020,"cost_usd":0.004,"unknown_model":false,"request":{"text":"{\"model\":\"gpt-4o-mini\"}","original_bytes":23,"truncated":false},"response":{"text":"{}","original_bytes":2,"truncated":false},"error":null,"budget":null,"input_tokens":900,"output_tokens":120}"#;
const OLD_SPAN: &str = r#"{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":null,"name":"sdk-agent.triage","kind":"internal","start":"2026-11-25T12:00:01.999999999Z","end":"2026-11-25T12:00:02.100000000Z","duration_ms":100.000001,"attributes":{"gen_ai.agent.name":"triage"},"events":[],"status":{"code":"ok"},"resource_attributes":{"service.name":"sdk-agent"}}"#;

#[tokio::test]
async fn steps_written_as_untyped_json_read_as_typed_details() {
    let directory = tempfile::tempdir().unwrap();
    let pool = store_before_one_time_format(directory.path()).await;
    sqlx::query(
        "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed,
                           issue_count, status, started_at, spec_json)
         VALUES ('old', 'demo', 'pods/demo.yaml', 'v1', 'docker', 1, 3, 1, 'finished',
                 '2026-11-25T12:00:00+00:00', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (kind, started_at, detail) in [
        ("tool_call", "2026-11-25T12:00:01.250000Z", OLD_TOOL_CALL),
        ("llm_call", "2026-11-25T12:00:01.5+00:00", OLD_MODEL_CALL),
        ("span", "2026-11-25T12:00:01.999999999Z", OLD_SPAN),
    ] {
        sqlx::query(
            "INSERT INTO steps (run_id, issue_id, trial, kind, position, started_at, latency_ms,
                                detail_json)
             VALUES ('old', 'x', 1, ?, 0, ?, 2.5, ?)",
        )
        .bind(kind)
        .bind(started_at)
        .bind(detail)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();
    let steps = store.steps("old", None).await.unwrap();
    let kinds: Vec<StepKind> = steps.iter().map(StepRecord::kind).collect();
    assert_eq!(
        kinds,
        [StepKind::ToolCall, StepKind::LlmCall, StepKind::Span]
    );
    let StepDetail::ToolCall(tool) = &steps[0].detail else {
        panic!("{:?}", steps[0].detail)
    };
    assert_eq!(tool.tool, "query");
    assert_eq!(tool.arguments["sql"], "SELECT 1");
    assert_eq!(tool.result, "1 row");
    assert_eq!(tool.outcome, ToolCallOutcome::Error);
    assert_eq!(tool.error.as_deref(), Some("permission denied"));
    let StepDetail::LlmCall(model) = &steps[1].detail else {
        panic!("{:?}", steps[1].detail)
    };
    assert_eq!(model.api, "openai.chat");
    assert_eq!(model.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(
        model.response_model.as_deref(),
        Some("gpt-4o-mini-2024-07-18")
    );
    assert!(model.streamed);
    assert_eq!(model.time_to_first_byte_ms, Some(120.5));
    assert_eq!(model.status, 200);
    assert_eq!(model.outcome, ModelCallOutcome::Ok);
    assert_eq!(
        (
            model.usage.input_tokens,
            model.usage.output_tokens,
            model.usage.cached_input_tokens,
            model.usage.reasoning_tokens
        ),
        (900, 120, 100, 7)
    );
    assert_eq!(model.cost_usd, Some(0.004));
    assert_eq!(model.request.text, r#"{"model":"gpt-4o-mini"}"#);
    let StepDetail::Span(span) = &steps[2].detail else {
        panic!("{:?}", steps[2].detail)
    };
    assert_eq!(span.name, "sdk-agent.triage");
    assert_eq!(span.kind, SpanKind::Internal);
    assert_eq!(span.status.code, SpanStatusCode::Ok);
    assert_eq!(
        span.start, "2026-11-25T12:00:01.999999999Z",
        "the span keeps its nanoseconds"
    );
    assert_eq!(span.attributes["gen_ai.agent.name"], "triage");

    // Written again (a bundle moved to another store), each detail keeps its gateway's shape:
    // its own JSON, without a kind inside it, in `detail_json`.
    let raw = SqlitePoolOptions::new()
        .connect_with(SqliteConnectOptions::new().filename(directory.path().join("runs.db")))
        .await
        .unwrap();
    store
        .record_steps(
            "old",
            &[StepRecord {
                trial: 2,
                ..steps[0].clone()
            }],
        )
        .await
        .unwrap();
    let written: String = sqlx::query("SELECT detail_json FROM steps WHERE trial = 2")
        .fetch_one(&raw)
        .await
        .unwrap()
        .get("detail_json");
    let written: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(written["tool"], "query");
    assert_eq!(written["outcome"], "error");
    assert!(written.get("kind").is_none(), "{written}");
}

/// A step as a bundle of an earlier version wrote it: kind and detail beside the other fields.
#[test]
fn a_bundled_step_of_an_earlier_version_reads_and_writes_back_in_the_same_shape() {
    let old = format!(
        r#"{{"issue_id":"x","trial":1,"kind":"llm_call","started_at":"2026-11-25T12:00:01.5+00:00","latency_ms":850.0,"detail":{OLD_MODEL_CALL}}}"#
    );
    let step: StepRecord = serde_json::from_str(&old).unwrap();
    assert_eq!(step.kind(), StepKind::LlmCall);
    assert_eq!(
        step.started_at,
        Some(
            Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 1).unwrap()
                + chrono::Duration::milliseconds(500)
        )
    );
    let StepDetail::LlmCall(model) = &step.detail else {
        panic!("{:?}", step.detail)
    };
    assert_eq!(model.usage.output_tokens, 120);

    let written = serde_json::to_value(&step).unwrap();
    assert_eq!(written["kind"], "llm_call");
    assert_eq!(written["detail"]["model"], "gpt-4o-mini");
    assert_eq!(written["detail"]["usage"]["input_tokens"], 900);
    let again: StepRecord = serde_json::from_value(written).unwrap();
    assert_eq!(again, step);
}

/// A store migrated up to 0006 only, as the version before the reads for reports wrote it.
async fn store_at_0006(directory: &std::path::Path) -> SqlitePool {
    let old_migrations = directory.join("migrations-0006");
    std::fs::create_dir(&old_migrations).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let name = entry.unwrap().file_name();
        if name.to_string_lossy().as_ref() < "0007" {
            std::fs::copy(migrations.join(&name), old_migrations.join(&name)).unwrap();
        }
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
async fn an_existing_store_reads_its_outcomes_one_at_a_time_and_without_texts_in_sample_order() {
    let directory = tempfile::tempdir().unwrap();
    let pool = store_at_0006(directory.path()).await;
    // The sample's order is not the ids' order: c, a, b.
    sqlx::raw_sql(
        "INSERT INTO runs (id, spec_name, spec_path, agent_version, runtime, pods, seed,
                           issue_count, trials, status, started_at, spec_json)
         VALUES ('r', 'demo', 'pods/demo.yaml', 'v1', 'docker', 1, 3, 3, 2, 'finished',
                 '2026-11-25T12:00:00.000000Z', '{}');
         INSERT INTO run_issues (run_id, position, issue_id, issue_json)
         VALUES ('r', 0, 'c', '{}'), ('r', 1, 'a', '{}'), ('r', 2, 'b', '{}');
         INSERT INTO outcomes (run_id, issue_id, trial, pod_index, status, reason, exit, started_at,
                               duration_ms, output_json, grade_json, stdout, stdout_bytes,
                               stdout_truncated, stderr, stderr_bytes, stderr_truncated, llm_calls)
         SELECT 'r', issue.id, trial.n, 0, 'passed', 'ok ' || issue.id, '{\"code\":0}',
                '2026-11-25T12:00:01.000000Z', 1000 * trial.n, '{\"answer\":1}',
                '{\"checks\":[]}', 'out', 3, 0, 'err', 3, 0, trial.n
         FROM (SELECT 'a' AS id UNION ALL SELECT 'b' UNION ALL SELECT 'c') AS issue,
              (SELECT 2 AS n UNION ALL SELECT 1) AS trial;",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = RunStore::open(&directory.path().join("runs.db"))
        .await
        .unwrap();

    let outcomes = store.outcomes("r").await.unwrap();
    let order: Vec<(&str, u32)> = outcomes
        .iter()
        .map(|outcome| (outcome.issue_id.as_str(), outcome.trial))
        .collect();
    assert_eq!(
        order,
        [("c", 1), ("c", 2), ("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    );
    let mut streamed = Vec::new();
    store
        .for_each_outcome("r", |outcome| {
            streamed.push(outcome);
            Ok::<_, agentpod_store::StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&streamed).unwrap(),
        serde_json::to_value(&outcomes).unwrap(),
        "one at a time, the same outcomes in the same order"
    );
    // Without texts: the figures' fields as stored, the texts and details empty.
    let light = store.outcomes_without_texts("r").await.unwrap();
    assert_eq!(light.len(), outcomes.len());
    for (light, whole) in light.iter().zip(&outcomes) {
        assert_eq!(
            (&light.issue_id, light.trial, light.status, &light.reason),
            (&whole.issue_id, whole.trial, whole.status, &whole.reason)
        );
        assert_eq!(
            (light.started_at, light.duration_ms, light.usage.llm_calls),
            (whole.started_at, whole.duration_ms, whole.usage.llm_calls)
        );
        assert_eq!((light.stdout_bytes, light.stderr_bytes), (3, 3));
        assert_eq!(
            (whole.stdout.as_str(), whole.stderr.as_str()),
            ("out", "err")
        );
        assert!(light.stdout.is_empty() && light.stderr.is_empty() && light.output.is_none());
        assert!(light.grade.is_null() && light.exit.is_null());
    }
}
