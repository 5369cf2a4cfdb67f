//! Report generation for a run of 10,000 issues with their steps: build the report (every
//! interval bootstrapped with 2,000 resamples, projection stratified by category) and render
//! every format, against the limit of one second in total.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agentpod_report::{
    CategoryMix, CurrentHandling, ProductionBudgets, ProductionProfile, ReportFormat, RunInput,
    RunReport, render_report,
};
use agentpod_store::{
    IssueUsage, ModelCallDetail, OutcomeRecord, OutcomeStatus, RunRecord, RunStatus, StepDetail,
    StepRecord, TokenCounts, ToolCallDetail,
};
use chrono::{TimeZone, Utc};
use serde_json::json;

const ISSUES: usize = 10_000;
const STEPS_PER_ISSUE: usize = 8;
const LIMIT: Duration = Duration::from_secs(1);

fn synthetic_run() -> RunInput {
    let started_at = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let run = RunRecord {
        id: "bench".into(),
        spec_name: "support-triage".into(),
        spec_path: "pods/support-triage.yaml".into(),
        agent_version: "bench-1".into(),
        runtime: "docker".into(),
        pods: 8,
        seed: 1,
        issue_count: ISSUES,
        trials: 1,
        status: RunStatus::Finished,
        started_at,
        finished_at: Some(started_at),
        summary: None,
        unprotected: false,
        evaluation_set: None,
        sharding: None,
    };
    let categories = ["billing", "shipping", "account", "returns"];
    let mut input = RunInput::new(run, Vec::with_capacity(ISSUES));
    for index in 0..ISSUES {
        let issue_id = format!("ISSUE-{index:05}");
        // A skewed, deterministic spread: most issues cheap, a tail of expensive ones.
        let spread = ((index * 7919) % 1000) as f64 / 1000.0;
        let tool_calls = 2 + (spread * spread * 30.0) as u32;
        let status = match index % 10 {
            0 | 1 => OutcomeStatus::Failed,
            2 if index % 20 == 2 => OutcomeStatus::Errored,
            _ => OutcomeStatus::Passed,
        };
        input.outcomes.push(OutcomeRecord {
            own_time: Default::default(),
            run_id: "bench".into(),
            issue_id: issue_id.clone(),
            trial: 1,
            pod_index: index % 8,
            status,
            reason: if status == OutcomeStatus::Passed {
                "all checks passed".into()
            } else {
                format!("expected.priority: wanted \"high\", got \"low\" <{index}>")
            },
            exit: json!(null),
            started_at,
            duration_ms: 2_000 + (spread * spread * 60_000.0) as u64,
            output: None,
            grade: json!(null),
            stdout: String::new(),
            stdout_bytes: 0,
            stdout_truncated: false,
            stderr: String::new(),
            stderr_bytes: 0,
            stderr_truncated: false,
            usage: IssueUsage {
                llm_calls: 1 + tool_calls / 2,
                tool_calls,
                input_tokens: 1_000 + 400 * u64::from(tool_calls),
                output_tokens: 300,
                cost_usd: Some(0.004 + spread * spread * 0.2),
                unpriced_calls: 0,
                budget_stops: 0,
                model_retries: 0,
                throttled_ms: 0.0,
                side_models: Default::default(),
            },
        });
        input.issues.insert(
            issue_id.clone(),
            json!({"id": issue_id, "category": categories[index % categories.len()]}),
        );
        for step in 0..STEPS_PER_ISSUE {
            let detail = if step % 3 == 0 {
                StepDetail::LlmCall(ModelCallDetail {
                    model: Some("gpt-4o-mini".into()),
                    usage: TokenCounts {
                        input_tokens: 900,
                        output_tokens: 120,
                        ..TokenCounts::default()
                    },
                    cost_usd: Some(0.0012),
                    status: 200,
                    ..ModelCallDetail::default()
                })
            } else {
                StepDetail::ToolCall(ToolCallDetail {
                    tool: "query".into(),
                    ..ToolCallDetail::default()
                })
            };
            input.steps.push(StepRecord {
                issue_id: issue_id.clone(),
                trial: 1,
                started_at: Some(
                    Utc.with_ymd_and_hms(2026, 11, 25, 12, step as u32, (index % 60) as u32)
                        .unwrap(),
                ),
                latency_ms: Some(15.0 + step as f64),
                detail,
            });
        }
    }
    input
}

fn main() {
    let input = synthetic_run();
    let production = ProductionProfile {
        issues_per_month: 250_000.0,
        by_category: Some(CategoryMix {
            field: "category".into(),
            weights: BTreeMap::from([
                ("billing".into(), 0.4),
                ("shipping".into(), 0.3),
                ("account".into(), 0.2),
                ("returns".into(), 0.1),
            ]),
        }),
        current: Some(CurrentHandling {
            cost_usd_per_issue: 3.0,
            minutes_per_issue: 8.0,
        }),
        budgets: ProductionBudgets {
            monthly_cost_usd: Some(20_000.0),
            p95_cost_usd_per_issue: Some(0.25),
            p95_seconds_per_issue: Some(60.0),
        },
    };
    let mut total = Duration::ZERO;
    let started = Instant::now();
    let report = RunReport::build(&input, Some(&production), 1);
    let elapsed = started.elapsed();
    total += elapsed;
    println!("{ISSUES} issues, {} steps", input.steps.len());
    println!("  build      {:>8.1} ms", elapsed.as_secs_f64() * 1000.0);
    for format in ReportFormat::ALL {
        let started = Instant::now();
        let text = match render_report(&report, format) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("cannot render {}: {error}", format.as_str());
                std::process::exit(1);
            }
        };
        let elapsed = started.elapsed();
        total += elapsed;
        println!(
            "  {:<10} {:>8.1} ms  ({} KiB)",
            format.as_str(),
            elapsed.as_secs_f64() * 1000.0,
            text.len() / 1024
        );
    }
    println!(
        "  total      {:>8.1} ms  (limit {} ms): {}",
        total.as_secs_f64() * 1000.0,
        LIMIT.as_millis(),
        if total <= LIMIT { "within" } else { "OVER" }
    );
}
