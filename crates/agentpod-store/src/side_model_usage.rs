//! What the models agentpod asks beside the agent's — the LLM judge, a simulated customer —
//! used for one trial. Kept apart from the agent's usage: a report never counts it as the
//! agent's cost, and shows it as what grading and simulation cost.

use serde::{Deserialize, Serialize};

/// The side models of one trial; each `None` when it was not asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideModelsUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<SideModelUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<SideModelUsage>,
    /// What the judge decided, for the report's figures on the judge itself (kept here, beside
    /// its cost, because reports read outcomes without their grades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<JudgeVerdict>,
}

impl SideModelsUsage {
    pub fn is_empty(&self) -> bool {
        self.judge.is_none() && self.customer.is_none() && self.judged.is_none()
    }
}

/// The judge's verdict on one trial.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgeVerdict {
    /// The majority of its judgements passed the trial.
    pub passed: bool,
    /// Its judgements of the same answer did not all agree.
    pub split: bool,
    pub judgements: u32,
    /// Whether the expected fields passed, where it has any: what the judge's verdict
    /// is held against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_fields_passed: Option<bool>,
}

/// One side model's calls for one trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideModelUsage {
    /// The model its requests asked for.
    pub model: String,
    pub calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `None` when no call could be priced.
    pub cost_usd: Option<f64>,
}
