//! What the gateways recorded, as the run store's typed step details (model calls, tool calls,
//! requests a gateway refused): the gateways keep their
//! own record types, the store owns what is written out, and this is the one place that maps
//! the first onto the second (a new field or outcome in a gateway fails to compile here until the
//! store has a place for it).

use agentpod_llm_gateway::{BudgetKind, CallOutcome, CappedText, LlmCall, TokenUsage};
use agentpod_store::{
    ModelCallDetail, ModelCallOutcome, RecordedText, RejectedRequestDetail, TokenCounts,
    ToolCallDetail, ToolCallOutcome,
};
use agentpod_tool_gateway::{RejectedRequest, ToolCall};
use agentpod_trace::{ExportOutcome, ExportRecord};

pub(crate) fn model_call_detail(call: LlmCall) -> ModelCallDetail {
    let LlmCall {
        issue_id: _,
        api,
        model,
        response_model,
        streamed,
        started_at: _,
        latency_ms: _,
        time_to_first_byte_ms,
        status,
        outcome,
        usage,
        total_tokens,
        cost_usd,
        unknown_model,
        request,
        response,
        error,
        budget,
        throttling,
    } = call;
    ModelCallDetail {
        api: api.name().to_string(),
        model,
        response_model,
        streamed,
        time_to_first_byte_ms,
        status,
        outcome: model_call_outcome(outcome),
        usage: token_counts(usage),
        total_tokens,
        cost_usd,
        unknown_model,
        request: recorded_text(request),
        response: recorded_text(response),
        error,
        budget: budget.map(|kind: BudgetKind| kind.name().to_string()),
        queue_wait_ms: throttling.queue_wait_ms,
        retries: throttling.retries,
        retry_backoff_ms: throttling.retry_backoff_ms,
    }
}

fn model_call_outcome(outcome: CallOutcome) -> ModelCallOutcome {
    match outcome {
        CallOutcome::Ok => ModelCallOutcome::Ok,
        CallOutcome::UpstreamError => ModelCallOutcome::UpstreamError,
        CallOutcome::UpstreamUnreachable => ModelCallOutcome::UpstreamUnreachable,
        CallOutcome::UpstreamTimeout => ModelCallOutcome::UpstreamTimeout,
        CallOutcome::StreamInterrupted => ModelCallOutcome::StreamInterrupted,
        CallOutcome::BudgetStop => ModelCallOutcome::BudgetStop,
        CallOutcome::BadRequest => ModelCallOutcome::BadRequest,
        CallOutcome::TooLarge => ModelCallOutcome::TooLarge,
        CallOutcome::ProviderFeatureRefused => ModelCallOutcome::ProviderFeatureRefused,
        CallOutcome::ReplayMiss => ModelCallOutcome::ReplayMiss,
        CallOutcome::UnknownRoute => ModelCallOutcome::UnknownRoute,
        CallOutcome::QueueFull => ModelCallOutcome::QueueFull,
    }
}

fn token_counts(usage: TokenUsage) -> TokenCounts {
    TokenCounts {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        reasoning_tokens: usage.reasoning_tokens,
    }
}

fn recorded_text(text: CappedText) -> RecordedText {
    RecordedText {
        text: text.text,
        original_bytes: text.original_bytes,
        truncated: text.truncated,
    }
}

pub(crate) fn tool_call_detail(call: ToolCall) -> ToolCallDetail {
    let ToolCall {
        sequence,
        issue_id: _,
        tool,
        arguments,
        arguments_bytes,
        result,
        result_bytes,
        result_truncated,
        result_capped,
        is_error,
        started_at: _,
        latency_ms: _,
        outcome,
        error,
    } = call;
    ToolCallDetail {
        sequence,
        tool,
        arguments,
        arguments_bytes,
        result,
        result_bytes,
        result_truncated,
        result_capped,
        is_error,
        outcome: match outcome {
            agentpod_tool_gateway::ToolCallOutcome::Ok => ToolCallOutcome::Ok,
            agentpod_tool_gateway::ToolCallOutcome::Error => ToolCallOutcome::Error,
            agentpod_tool_gateway::ToolCallOutcome::Limit => ToolCallOutcome::Limit,
            agentpod_tool_gateway::ToolCallOutcome::UnknownTool => ToolCallOutcome::UnknownTool,
        },
        error,
    }
}

/// A request the tool gateway refused before it reached a tool.
pub(crate) fn rejected_tool_request(request: RejectedRequest) -> RejectedRequestDetail {
    let RejectedRequest {
        started_at: _,
        latency_ms: _,
        status,
        error,
        body,
        body_bytes,
    } = request;
    RejectedRequestDetail {
        gateway: "tools".to_string(),
        status,
        error,
        body,
        body_bytes,
        not_listed_after: 0,
    }
}

/// An export the trace intake refused whole; `None` for one it took (its spans are steps).
pub(crate) fn rejected_trace_export(export: &ExportRecord) -> Option<RejectedRequestDetail> {
    if export.outcome != ExportOutcome::Rejected {
        return None;
    }
    Some(RejectedRequestDetail {
        gateway: "traces".to_string(),
        status: export.status,
        error: export.error.clone().unwrap_or_default(),
        body: String::new(),
        body_bytes: export.body_bytes,
        not_listed_after: 0,
    })
}
