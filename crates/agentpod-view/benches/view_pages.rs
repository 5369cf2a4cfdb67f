//! `agentpod view`'s run page and issue page on a run of 10,000 issues × 3 trials with 100,000
//! steps, each beside a baseline measured in the same run:
//!
//! - the run page (served over HTTP on loopback by the viewer, in-process), first when the
//!   run's report model must be computed and then as it is read back, against
//!   `agentpod show RUN --json` reading the same run (the debug binary);
//! - an issue page (its three trials, their steps and boundary events), against one `SELECT` of
//!   the issue's step rows.
//!
//! The store is generated through the run store's own API (the rows a run writes: outcomes with
//! the agent's output and stdout, model and tool calls with their texts, changes, proposals) and
//! kept under `target/bench-view/`. Goals: run page under 1 s, issue page under 200 ms. Figures
//! are printed, never asserted.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpod_report::summarize;
use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, IssueUsage, ModelCallDetail, NewRun, OutcomeRecord,
    OutcomeStatus, ProposalDetail, RowChangeDetail, RunStatus, RunStore, StepDetail, StepRecord,
    TokenCounts, ToolCallDetail,
};
use agentpod_view::ACCESS_COOKIE;
use agentpod_view::StoreSource;
use chrono::{TimeZone, Utc};
use serde_json::json;

const ISSUES: usize = 10_000;
const TRIALS: u32 = 3;
/// Steps per trial cycle through these, for 100,000 steps over 30,000 trials.
const STEPS_PER_TRIAL: [usize; 3] = [3, 3, 4];
const RUN_ID: &str = "bench-view-10k";
const REPEATS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(bench()) {
        eprintln!("view_pages: {error}");
        std::process::exit(1);
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

async fn bench() -> Result<(), String> {
    let error = |error: &dyn std::fmt::Display| error.to_string();
    let path = store_path().await?;
    let store = RunStore::open(&path).await.map_err(|e| error(&e))?;
    let (outcomes, steps): (i64, i64) = (
        store
            .outcomes_without_texts(RUN_ID)
            .await
            .map_err(|e| error(&e))?
            .len() as i64,
        store
            .steps(RUN_ID, None)
            .await
            .map_err(|e| error(&e))?
            .len() as i64,
    );
    println!("{ISSUES} issues × {TRIALS} trials ({outcomes} outcomes, {steps} steps), generated");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| error(&e))?;
    let port = listener.local_addr().map_err(|e| error(&e))?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(agentpod_view::serve(
        listener,
        Arc::new(StoreSource::new(store.clone())),
        TOKEN,
        async {
            let _ = stopped.await;
        },
    ));

    // The run page: the first request computes and keeps the report model; the rest read it.
    let run_path = format!("/runs/{RUN_ID}");
    let (cold, bytes) = get(port, &run_path).await?;
    let mut warm = Vec::new();
    for _ in 0..REPEATS {
        warm.push(get(port, &run_path).await?.0);
    }
    let warm = median(warm);
    // Baseline: the same run read by `agentpod show RUN --json`.
    let binary = target_dir().join("debug/agentpod");
    let mut show = Vec::new();
    for _ in 0..REPEATS.min(3) {
        let started = Instant::now();
        let output = std::process::Command::new(&binary)
            .arg("--store")
            .arg(&path)
            .args(["show", RUN_ID, "--json"])
            .output()
            .map_err(|e| {
                format!(
                    "{}: {e} (build it: cargo build -p agentpod)",
                    binary.display()
                )
            })?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        show.push(started.elapsed());
    }
    let show = median(show);
    println!(
        "run page ({} KB): {} from the stored report model ({}), {} computing it first; baseline `show --json` {} — page/baseline {:.2}",
        bytes / 1024,
        ms(warm),
        verdict(warm, Duration::from_secs(1)),
        ms(cold),
        ms(show),
        warm.as_secs_f64() / show.as_secs_f64()
    );

    // An issue page, against one SELECT of the issue's step rows.
    let issue = "ISSUE-04711";
    let issue_path = format!("/runs/{RUN_ID}/issues/{issue}");
    let mut page = Vec::new();
    let mut issue_bytes = 0;
    for _ in 0..REPEATS * 4 {
        let (time, bytes) = get(port, &issue_path).await?;
        page.push(time);
        issue_bytes = bytes;
    }
    let page = median(page);
    let mut select = Vec::new();
    for _ in 0..REPEATS * 4 {
        let started = Instant::now();
        let rows = store
            .steps(RUN_ID, Some(issue))
            .await
            .map_err(|e| error(&e))?;
        std::hint::black_box(rows);
        select.push(started.elapsed());
    }
    let select = median(select);
    println!(
        "issue page ({} KB, 3 trials side by side): {} ({}); baseline the issue's steps read whole {} — page/baseline {:.1}",
        issue_bytes / 1024,
        ms(page),
        verdict(page, Duration::from_millis(200)),
        ms(select),
        page.as_secs_f64() / select.as_secs_f64()
    );
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

/// GET over a fresh loopback connection, read to the end: (time, bytes).
/// The access token the bench's server is started with.
const TOKEN: &str = "bench-access-token";

async fn get(port: u16, path: &str) -> Result<(Duration, usize), String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {ACCESS_COOKIE}={TOKEN}\r\nConnection: close\r\n\r\n"
    );
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !answer.starts_with(b"HTTP/1.1 200") {
            return Err(String::from_utf8_lossy(&answer[..answer.len().min(400)]).into_owned());
        }
        Ok((elapsed, answer.len()))
    })
    .await
    .map_err(|e| e.to_string())?
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(time: Duration) -> String {
    format!("{:.1} ms", time.as_secs_f64() * 1000.0)
}

fn verdict(time: Duration, goal: Duration) -> String {
    format!(
        "goal < {} ms: {}",
        goal.as_millis(),
        if time < goal { "met" } else { "missed" }
    )
}

/// The generated store, made once.
async fn store_path() -> Result<PathBuf, String> {
    let directory = target_dir().join("bench-view/10000x3-v1");
    let path = directory.join("runs.db");
    let ready = directory.join("ready");
    if ready.exists() {
        return Ok(path);
    }
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).map_err(|e| e.to_string())?;
    eprintln!(
        "view_pages: generating the store (once) under {}",
        directory.display()
    );
    let store = RunStore::open(&path).await.map_err(|e| e.to_string())?;
    generate(&store).await.map_err(|e| e.to_string())?;
    store.close().await;
    std::fs::write(&ready, RUN_ID).map_err(|e| e.to_string())?;
    Ok(path)
}

async fn generate(store: &RunStore) -> Result<(), agentpod_store::StoreError> {
    let started_at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let issue_id = |at: usize| format!("ISSUE-{at:05}");
    let categories = ["billing", "shipping", "account", "technical"];
    store
        .create_run(&NewRun {
            sharding: None,
            id: RUN_ID.into(),
            spec_name: "support-triage".into(),
            spec_path: "pods/support-triage.yaml".into(),
            agent_version: "bench-1".into(),
            runtime: "local".into(),
            pods: 4,
            seed: 1,
            trials: TRIALS,
            started_at,
            spec_json: json!({"name": "support-triage", "issues": {"stratify_by": "category"}}),
            issues: (0..ISSUES)
                .map(|at| {
                    (
                        issue_id(at),
                        json!({"id": issue_id(at), "fields": {
                            "subject": format!("Order {at} arrived damaged"),
                            "body": "The box was crushed and the mug inside is broken. ".repeat(4),
                            "category": categories[at % 4]},
                            "expected": {"priority": "high"}}),
                    )
                })
                .collect(),
            evaluation_set: None,
        })
        .await?;
    let mut serial = 0usize;
    for at in 0..ISSUES {
        for trial in 1..=TRIALS {
            let steps_here = STEPS_PER_TRIAL[serial % STEPS_PER_TRIAL.len()];
            serial += 1;
            let start = started_at + chrono::Duration::milliseconds((serial * 40) as i64);
            let passed = !(at * 7 + trial as usize).is_multiple_of(4);
            let steps: Vec<StepRecord> = (0..steps_here)
                .map(|step| StepRecord {
                    issue_id: issue_id(at),
                    trial,
                    started_at: Some(start + chrono::Duration::milliseconds(step as i64 * 300)),
                    latency_ms: Some(250.0 + step as f64),
                    detail: if step % 2 == 0 {
                        StepDetail::LlmCall(ModelCallDetail {
                            model: Some("gpt-4o-mini".into()),
                            usage: TokenCounts {
                                input_tokens: 900,
                                output_tokens: 120,
                                ..TokenCounts::default()
                            },
                            cost_usd: Some(0.0004),
                            status: 200,
                            ..ModelCallDetail::default()
                        })
                    } else {
                        StepDetail::ToolCall(ToolCallDetail {
                            sequence: step as u32,
                            tool: "query".into(),
                            arguments: json!({"sql": format!("SELECT * FROM orders WHERE id = {at}")}),
                            result: "[{\"id\": 1, \"status\": \"shipped\"}]".repeat(8),
                            result_bytes: 280,
                            ..ToolCallDetail::default()
                        })
                    },
                })
                .collect();
            let events = if at % 10 == 0 {
                vec![
                    BoundaryEventRecord {
                        issue_id: issue_id(at),
                        trial,
                        detail: BoundaryDetail::Change(RowChangeDetail {
                            table: "tickets".into(),
                            operation: "UPDATE".into(),
                            before: Some(json!({"id": at, "priority": "low"})),
                            after: Some(json!({"id": at, "priority": "high"})),
                            statement: "UPDATE tickets SET priority = 'high'".into(),
                        }),
                    },
                    BoundaryEventRecord {
                        issue_id: issue_id(at),
                        trial,
                        detail: BoundaryDetail::Proposal(ProposalDetail {
                            table: "refunds".into(),
                            operation: "INSERT".into(),
                            after: Some(json!({"order_id": at, "amount": 12.5})),
                            statement: "INSERT INTO refunds (order_id, amount) VALUES (…)".into(),
                            proposed_by: "agent_issue".into(),
                            ..ProposalDetail::default()
                        }),
                    },
                ]
            } else {
                Vec::new()
            };
            let outcome = OutcomeRecord {
                run_id: RUN_ID.into(),
                issue_id: issue_id(at),
                trial,
                pod_index: at % 4,
                status: if passed {
                    OutcomeStatus::Passed
                } else {
                    OutcomeStatus::Failed
                },
                reason: if passed {
                    "all checks passed".into()
                } else {
                    "expected.priority: wanted \"high\", got \"low\"".into()
                },
                exit: json!({"kind": "exited", "code": 0}),
                started_at: start,
                duration_ms: 800 + (at % 37) as u64 * 40,
                output: Some(
                    json!({"priority": if passed {"high"} else {"low"}, "note": "Refund issued for the damaged mug."}),
                ),
                grade: json!({"checks": [{"field": "priority", "passed": passed}]}),
                stdout: "thinking…\n".repeat(20),
                stdout_bytes: 220,
                stdout_truncated: false,
                stderr: String::new(),
                stderr_bytes: 0,
                stderr_truncated: false,
                usage: IssueUsage {
                    llm_calls: steps
                        .iter()
                        .filter(|s| matches!(s.detail, StepDetail::LlmCall(_)))
                        .count() as u32,
                    tool_calls: steps
                        .iter()
                        .filter(|s| matches!(s.detail, StepDetail::ToolCall(_)))
                        .count() as u32,
                    input_tokens: 1800,
                    output_tokens: 240,
                    cost_usd: Some(0.0008),
                    ..IssueUsage::default()
                },
                own_time: Default::default(),
            };
            store.record_issue_result(&outcome, &events, &steps).await?;
        }
    }
    let run = store.find_run(RUN_ID).await?;
    let outcomes = store.outcomes_without_texts(RUN_ID).await?;
    let events = store.boundary_events(RUN_ID).await?;
    let summary = summarize(&run, &outcomes, &events);
    store
        .finish_run(
            RUN_ID,
            RunStatus::Finished,
            started_at + chrono::Duration::hours(2),
            &serde_json::to_value(&summary).unwrap_or_default(),
        )
        .await
}
