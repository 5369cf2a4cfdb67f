//! `agentpod export RUN --otlp URL`: a stored run sent to any OpenTelemetry collector, one trace
//! per issue with the GenAI conventions (`invoke_agent`, `chat`, `execute_tool` spans and the
//! agent's own spans), built from the run store. `--bundle FILE` and `agentpod import FILE` move
//! a whole run between run stores.

use agentpod_store::{OutcomeRecord, OutcomeStatus, StepKind, StepRecord};
use agentpod_trace::{IssueTrace, LlmCallTrace, RunTrace, Span, ToolCallTrace, export_otlp};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::cli::{ExportArgs, GlobalOptions, ImportArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn export(global: &GlobalOptions, args: ExportArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let read_error =
        |error: agentpod_store::StoreError| Failure::from_error(Exit::InvalidInput, "", &error);
    let run = store.find_run(&args.run).await.map_err(read_error)?;
    if let Some(path) = &args.bundle {
        let bundle = store.export_bundle(&run.id).await.map_err(read_error)?;
        let text = serde_json::to_vec(&bundle)
            .map_err(|error| Failure::from_error(Exit::Internal, "", &error))?;
        std::fs::write(path, text).map_err(|error| {
            Failure::from_error(
                Exit::Setup,
                &format!("cannot write {}", path.display()),
                &error,
            )
        })?;
        println!(
            "exported run {} ({} outcomes, {} steps) to {}",
            run.id,
            bundle.outcomes.len(),
            bundle.steps.len(),
            path.display()
        );
        return Ok(Exit::Success);
    }
    let Some(otlp) = &args.otlp else {
        return Err(Failure::new(
            Exit::InvalidInput,
            "give --otlp URL or --bundle FILE",
        ));
    };
    let outcomes = store.outcomes(&run.id).await.map_err(read_error)?;
    let steps = store.steps(&run.id, None).await.map_err(read_error)?;
    let trace = RunTrace {
        run_id: run.id.clone(),
        spec: run.spec_name.clone(),
        agent_version: run.agent_version.clone(),
        issues: outcomes
            .iter()
            .map(|outcome| issue_trace(outcome, &steps))
            .collect(),
    };
    let report = export_otlp(otlp, &trace).await.map_err(|error| {
        Failure::from_error(Exit::Setup, &format!("cannot export to {otlp}"), &error)
    })?;
    println!(
        "exported run {}: {} traces, {} spans to {}",
        run.id, report.traces, report.spans, report.url
    );
    if report.rejected_spans > 0 {
        eprintln!("the collector rejected {} spans", report.rejected_spans);
    }
    Ok(Exit::Success)
}

fn issue_trace(outcome: &OutcomeRecord, steps: &[StepRecord]) -> IssueTrace {
    let mine = || {
        steps
            .iter()
            .filter(|step| step.issue_id == outcome.issue_id && step.trial == outcome.trial)
    };
    IssueTrace {
        issue_id: outcome.issue_id.clone(),
        trial: outcome.trial,
        started_at: outcome.started_at,
        ended_at: outcome.started_at + chrono::Duration::milliseconds(outcome.duration_ms as i64),
        outcome: outcome.status.as_str().to_string(),
        error: matches!(
            outcome.status,
            OutcomeStatus::Errored | OutcomeStatus::InfrastructureError
        )
        .then(|| outcome.reason.clone()),
        llm_calls: mine()
            .filter(|step| step.kind == StepKind::LlmCall)
            .map(llm_call)
            .collect(),
        tool_calls: mine()
            .filter(|step| step.kind == StepKind::ToolCall)
            .map(tool_call)
            .collect(),
        agent_spans: mine()
            .filter(|step| step.kind == StepKind::Span)
            .filter_map(|step| serde_json::from_value::<Span>(step.detail.clone()).ok())
            .collect(),
    }
}

fn started_at(step: &StepRecord) -> DateTime<Utc> {
    step.started_at.unwrap_or_default()
}

fn text(detail: &Value, pointer: &str) -> Option<String> {
    detail
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn number(detail: &Value, pointer: &str) -> u64 {
    detail
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_default()
}

fn llm_call(step: &StepRecord) -> LlmCallTrace {
    let detail = &step.detail;
    let api = text(detail, "/api").unwrap_or_default();
    let (provider, wire) = match api.split_once('.') {
        Some((provider, wire)) => (provider.to_string(), wire.to_string()),
        None => (api.clone(), api.clone()),
    };
    let model = text(detail, "/model").unwrap_or_default();
    LlmCallTrace {
        started_at: started_at(step),
        latency_ms: step.latency_ms.unwrap_or_default(),
        provider: if model == "agentpod-stand-in" {
            "agentpod.stand_in".to_string()
        } else {
            provider
        },
        api: if wire == "chat" {
            "chat.completions".to_string()
        } else {
            wire
        },
        model,
        response_model: text(detail, "/response_model"),
        response_id: None,
        finish_reasons: Vec::new(),
        input_tokens: number(detail, "/usage/input_tokens"),
        output_tokens: number(detail, "/usage/output_tokens"),
        cached_input_tokens: number(detail, "/usage/cached_input_tokens"),
        reasoning_tokens: number(detail, "/usage/reasoning_tokens"),
        cost_usd: detail.get("cost_usd").and_then(Value::as_f64),
        streamed: detail
            .get("streamed")
            .and_then(Value::as_bool)
            .unwrap_or_default(),
        request: text(detail, "/request/text"),
        response: text(detail, "/response/text"),
        outcome: text(detail, "/outcome").unwrap_or_default(),
        error: text(detail, "/error"),
    }
}

fn tool_call(step: &StepRecord) -> ToolCallTrace {
    let detail = &step.detail;
    let tool = text(detail, "/tool").unwrap_or_default();
    ToolCallTrace {
        started_at: started_at(step),
        latency_ms: step.latency_ms.unwrap_or_default(),
        server: tool.split_once('.').map(|(server, _)| server.to_string()),
        tool,
        call_id: detail.get("sequence").map(|sequence| sequence.to_string()),
        arguments: detail
            .get("arguments")
            .map(Value::to_string)
            .unwrap_or_default(),
        result: text(detail, "/result"),
        outcome: text(detail, "/outcome").unwrap_or_default(),
        error: text(detail, "/error"),
        boundary_decision: None,
    }
}

pub(crate) async fn import(global: &GlobalOptions, args: ImportArgs) -> Result<Exit, Failure> {
    let text = std::fs::read(&args.bundle).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("cannot read {}", args.bundle.display()),
            &error,
        )
    })?;
    let bundle: agentpod_store::RunBundle = serde_json::from_slice(&text).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("{} is not a run bundle", args.bundle.display()),
            &error,
        )
    })?;
    let store = agentpod_store::RunStore::open(&global.store)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot open the run store", &error))?;
    store
        .import_bundle(&bundle)
        .await
        .map_err(|error| Failure::from_error(Exit::InvalidInput, "", &error))?;
    println!(
        "imported run {} ({} outcomes) into {}",
        bundle.run.id,
        bundle.outcomes.len(),
        global.store.display()
    );
    Ok(Exit::Success)
}
