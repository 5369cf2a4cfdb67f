//! `StepDetail`: what one step was, typed — a model call, a tool call, one of the agent's own
//! spans, a request a gateway refused, or a call of the judge or the simulated customer —
//! tagged by its [`StepKind`].
//!
//! Stored as two columns, the kind and the detail's own JSON (`detail_json`), as before the
//! detail was typed; in a bundle, as `"kind"` and `"detail"` beside the step's other fields.
//! Either way the JSON of each detail is the shape its gateway wrote, so older stores and bundles
//! read (see the detail types for what they tolerate).

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::model_call_detail::ModelCallDetail;
use crate::rejected_request_detail::RejectedRequestDetail;
use crate::span::Span;
use crate::step::StepKind;
use crate::tool_call_detail::ToolCallDetail;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum StepDetail {
    LlmCall(ModelCallDetail),
    ToolCall(ToolCallDetail),
    Span(Span),
    RejectedRequest(RejectedRequestDetail),
    /// A call of the LLM judge, in the shape of a model call.
    JudgeCall(ModelCallDetail),
    /// A call of the simulated customer's model, in the shape of a model call.
    CustomerCall(ModelCallDetail),
}

impl StepDetail {
    pub fn kind(&self) -> StepKind {
        match self {
            StepDetail::LlmCall(_) => StepKind::LlmCall,
            StepDetail::ToolCall(_) => StepKind::ToolCall,
            StepDetail::Span(_) => StepKind::Span,
            StepDetail::RejectedRequest(_) => StepKind::RejectedRequest,
            StepDetail::JudgeCall(_) => StepKind::JudgeCall,
            StepDetail::CustomerCall(_) => StepKind::CustomerCall,
        }
    }

    /// The detail's own JSON, without its kind: what `detail_json` holds.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            StepDetail::LlmCall(call) => serde_json::to_value(call),
            StepDetail::ToolCall(call) => serde_json::to_value(call),
            StepDetail::Span(span) => serde_json::to_value(span),
            StepDetail::RejectedRequest(request) => serde_json::to_value(request),
            StepDetail::JudgeCall(call) | StepDetail::CustomerCall(call) => {
                serde_json::to_value(call)
            }
        };
        // Plain structs of strings, numbers and JSON values always serialize.
        value.unwrap_or_default()
    }

    /// A detail read back from its kind and its own JSON.
    pub(crate) fn from_json(kind: StepKind, text: &str) -> Result<StepDetail, StoreError> {
        let corrupt = |error: serde_json::Error| {
            StoreError::Corrupt(format!("{} detail: {error}", kind.as_str()))
        };
        Ok(match kind {
            StepKind::LlmCall => StepDetail::LlmCall(serde_json::from_str(text).map_err(corrupt)?),
            StepKind::ToolCall => {
                StepDetail::ToolCall(serde_json::from_str(text).map_err(corrupt)?)
            }
            StepKind::Span => StepDetail::Span(serde_json::from_str(text).map_err(corrupt)?),
            StepKind::RejectedRequest => {
                StepDetail::RejectedRequest(serde_json::from_str(text).map_err(corrupt)?)
            }
            StepKind::JudgeCall => {
                StepDetail::JudgeCall(serde_json::from_str(text).map_err(corrupt)?)
            }
            StepKind::CustomerCall => {
                StepDetail::CustomerCall(serde_json::from_str(text).map_err(corrupt)?)
            }
        })
    }
}
