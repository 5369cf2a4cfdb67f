//! The bench's run store: a real `agentpod run` (the debug binary, Docker or the local runtime,
//! an agent that makes one model call through the pod's LLM gateway and answers right about
//! three times in four), then scaled to 10,000 issues by copying its rows inside SQLite under new
//! issue ids. Made once and kept under `target/bench-report/`.
//!
//! Why scaled: a real run goes at a few issue trials per second on this machine, so 30,000
//! trials would take hours; the rows copied are the ones the run wrote (outcomes, steps, the
//! sample), with only the issue id changed, so reading them costs what reading a real run of
//! that size costs.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

/// Issues the real run samples, each run `TRIALS` times.
pub(crate) const REAL_ISSUES: usize = 200;
pub(crate) const TRIALS: usize = 3;
/// Issues after scaling: `REAL_ISSUES` × `COPIES`.
pub(crate) const COPIES: usize = 50;

pub(crate) struct BenchStore {
    pub(crate) path: PathBuf,
    pub(crate) run_id: String,
    pub(crate) binary: PathBuf,
}

const AGENT: &str = r#"#!/bin/sh
# One model call through the pod's LLM gateway, then an answer right about three times in four.
curl -sf "$OPENAI_BASE_URL/chat/completions" -H "authorization: Bearer $OPENAI_API_KEY" \
  -H 'content-type: application/json' \
  -d "{\"model\":\"agentpod-stand-in\",\"messages\":[{\"role\":\"user\",\"content\":\"$(tr -d '"\\\n' < "$AGENTPOD_ISSUE")\"}]}" >/dev/null
case $(( $(date +%N | sed 's/^0*//;s/^$/0/') % 4 )) in
  0) printf '{"answer": "41"}' > "$AGENTPOD_OUTPUT" ;;
  *) printf '{"answer": "42"}' > "$AGENTPOD_OUTPUT" ;;
esac
"#;

/// The cached store, made first when missing.
pub(crate) async fn bench_store() -> Result<BenchStore, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let binary = std::env::var_os("AGENTPOD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("debug/agentpod"));
    if !binary.exists() {
        return Err(format!(
            "no agentpod binary at {} (build it: cargo build -p agentpod)",
            binary.display()
        ));
    }
    let directory = target.join(format!("bench-report/{REAL_ISSUES}x{TRIALS}x{COPIES}-v2"));
    let path = directory.join("runs.db");
    let ready = directory.join("run-id");
    if let Ok(run_id) = std::fs::read_to_string(&ready) {
        return Ok(BenchStore {
            path,
            run_id: run_id.trim().to_string(),
            binary,
        });
    }
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
    let directory = directory
        .canonicalize()
        .map_err(|error| error.to_string())?;
    let path = directory.join("runs.db");
    write_pod(
        &directory,
        &workspace.canonicalize().map_err(|e| e.to_string())?,
    )?;
    eprintln!(
        "making the bench's run store: a real run of {REAL_ISSUES} issues × {TRIALS} trials \
         (a few minutes, once)…"
    );
    let status = Command::new(&binary)
        .arg("--store")
        .arg(&path)
        .arg("run")
        .arg(directory.join("bench.yaml"))
        .args(["--pods", "2", "--no-progress", "--work-dir"])
        .arg(directory.join("work"))
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
    if !status.success() {
        return Err(format!("agentpod run failed: {status}"));
    }
    let run_id = scale(&path).await?;
    std::fs::write(directory.join("run-id"), &run_id).map_err(|error| error.to_string())?;
    Ok(BenchStore {
        path,
        run_id,
        binary,
    })
}

fn write_pod(directory: &Path, workspace: &Path) -> Result<(), String> {
    let write = |name: &str, text: &str| {
        std::fs::write(directory.join(name), text).map_err(|error| error.to_string())
    };
    write("agent", AGENT)?;
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [
        (directory.join("agent"), 0o755),
        (directory.to_path_buf(), 0o755),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|error| error.to_string())?;
    }
    let categories = ["billing", "shipping", "refund", "account", "bug"];
    let issues: String = (0..REAL_ISSUES)
        .map(|index| {
            format!(
                "{}\n",
                serde_json::json!({
                    "id": format!("R-{index:04}"),
                    "category": categories[index % categories.len()],
                    "text": "word ".repeat(index % 37),
                    "expected": {"answer": "42"},
                })
            )
        })
        .collect();
    write("issues.jsonl", &issues)?;
    write(
        "bench.yaml",
        &format!(
            "name: report-bench
database:
  image: postgres:15
  fixtures:
    - sql: {workspace}/tests/pods/tiny/schema.sql
model:
  upstream: stand-in
  prices: {workspace}/fixtures/support-triage/prices.yaml
agent:
  command: [\"{directory}/agent\"]
  version: bench
  timeout: 30s
issues:
  source: {directory}/issues.jsonl
  sample: {REAL_ISSUES}
  trials: {TRIALS}
production:
  issues_per_month: 12000
  by_category:
    field: category
    shares: {{ billing: 0.30, shipping: 0.25, refund: 0.20, account: 0.15, bug: 0.10 }}
  current: {{ cost_usd_per_issue: 2.50, minutes_per_issue: 6 }}
  budgets: {{ monthly_cost_usd: 500, p95_cost_usd_per_issue: 0.05, p95_seconds_per_issue: 60 }}
",
            workspace = workspace.display(),
            directory = directory.display(),
        ),
    )
}

/// Copies the run's sample, outcomes, steps and boundary events `COPIES - 1` times under new
/// issue ids (`R-0001~7`), after the real ones in sample order; returns the run's id.
async fn scale(path: &Path) -> Result<String, String> {
    let error = |error: sqlx::Error| error.to_string();
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .map_err(error)?;
    let (run_id,): (String,) = sqlx::query_as("SELECT id FROM runs")
        .fetch_one(&mut connection)
        .await
        .map_err(error)?;
    let mut transaction = connection.begin().await.map_err(error)?;
    for copy in 1..COPIES {
        let suffix = format!("~{copy}");
        let offset = (copy * REAL_ISSUES) as i64;
        sqlx::query(
            "INSERT INTO run_issues (run_id, position, issue_id, issue_json)
             SELECT run_id, position + ?1, issue_id || ?2,
                    json_set(issue_json, '$.id', issue_id || ?2)
             FROM run_issues WHERE run_id = ?3 AND position < ?4",
        )
        .bind(offset)
        .bind(&suffix)
        .bind(&run_id)
        .bind(REAL_ISSUES as i64)
        .execute(&mut *transaction)
        .await
        .map_err(error)?;
        for (table, columns) in [
            (
                "outcomes",
                "trial, pod_index, status, reason, exit, started_at, duration_ms, output_json,
                 grade_json, stdout, stdout_bytes, stdout_truncated, stderr, stderr_bytes,
                 stderr_truncated, llm_calls, tool_calls, input_tokens, output_tokens, cost_usd,
                 unpriced_calls, budget_stops",
            ),
            (
                "steps",
                "trial, kind, position, started_at, latency_ms, detail_json",
            ),
            (
                "boundary_events",
                "trial, kind, position, table_name, detail_json",
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (run_id, issue_id, {columns})
                 SELECT run_id, issue_id || ?1, {columns} FROM {table}
                 WHERE run_id = ?2 AND issue_id NOT LIKE '%~%'"
            )))
            .bind(&suffix)
            .bind(&run_id)
            .execute(&mut *transaction)
            .await
            .map_err(error)?;
        }
    }
    sqlx::query("UPDATE runs SET issue_count = ? WHERE id = ?")
        .bind((REAL_ISSUES * COPIES) as i64)
        .bind(&run_id)
        .execute(&mut *transaction)
        .await
        .map_err(error)?;
    transaction.commit().await.map_err(error)?;
    Ok(run_id)
}
