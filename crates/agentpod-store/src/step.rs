//! Steps as stored: what the gateways saw an issue's agent do — a model call, a tool call, one of
//! the agent's own trace spans, or a request a gateway refused — and the calls of the models
//! agentpod asked about the issue (the judge's, the simulated customer's), in order, with their
//! timing and typed detail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::step_detail::StepDetail;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    LlmCall,
    ToolCall,
    Span,
    RejectedRequest,
    /// A call of the LLM judge grading the trial: not the agent's.
    JudgeCall,
    /// A call of the model playing the issue's simulated customer: not the agent's.
    CustomerCall,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::LlmCall => "llm_call",
            StepKind::ToolCall => "tool_call",
            StepKind::Span => "span",
            StepKind::RejectedRequest => "rejected_request",
            StepKind::JudgeCall => "judge_call",
            StepKind::CustomerCall => "customer_call",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "llm_call" => StepKind::LlmCall,
            "tool_call" => StepKind::ToolCall,
            "span" => StepKind::Span,
            "rejected_request" => StepKind::RejectedRequest,
            "judge_call" => StepKind::JudgeCall,
            "customer_call" => StepKind::CustomerCall,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StepRecord {
    pub issue_id: String,
    /// The issue's trial the step belongs to, from 1; older bundles read as 1.
    #[serde(default = "crate::records::first_trial")]
    pub trial: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub latency_ms: Option<f64>,
    /// What the step was; written beside the other fields as `"kind"` and `"detail"`.
    #[serde(flatten)]
    pub detail: StepDetail,
}

impl IssueUsage {
    /// Everything the trial's model calls cost that could be priced: the agent's, the judge's
    /// and the simulated customer's (what a run's cost budget counts).
    pub fn total_cost_usd(&self) -> f64 {
        let side = &self.side_models;
        self.cost_usd.unwrap_or(0.0)
            + [&side.judge, &side.customer]
                .into_iter()
                .flatten()
                .filter_map(|usage| usage.cost_usd)
                .sum::<f64>()
    }
}

impl StepRecord {
    pub fn kind(&self) -> StepKind {
        self.detail.kind()
    }
}

/// An issue's totals over its steps, kept on its outcome for reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct IssueUsage {
    pub llm_calls: u32,
    pub tool_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when no call could be priced.
    pub cost_usd: Option<f64>,
    /// Calls to models the price table does not know: their cost is unknown, not zero.
    pub unpriced_calls: u32,
    /// Calls refused because a per-issue budget was spent.
    pub budget_stops: u32,
    /// Retries the LLM gateway made after the provider's 429 or 5xx answers (the agent saw
    /// none of those answers).
    #[serde(default)]
    pub model_retries: u32,
    /// What the models agentpod asked beside the agent's (the judge, a simulated customer)
    /// used: not the agent's calls, tokens or cost, which the fields above are.
    #[serde(default, skip_serializing_if = "crate::SideModelsUsage::is_empty")]
    pub side_models: crate::SideModelsUsage,
    /// Time the issue's model calls spent throttled — waiting in line for the run's upstream
    /// limits and backing off between retries — summed over its calls. Part of the issue's
    /// duration, but the provider's time, not the agent's (see `OutcomeRecord::agent_ms`).
    #[serde(default)]
    pub throttled_ms: f64,
}
