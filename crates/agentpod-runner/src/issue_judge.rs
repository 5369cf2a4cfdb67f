//! The LLM judge's grading of one trial, after the agent ended: the issue as the agent saw it,
//! the agent's conversation with its simulated customer (as the customer had it), what the agent
//! did (its tool calls, as the tool gateway recorded them) and the agent's answer are judged
//! against the rubric (the spec's, with the issue's `judge_rubric`) `judge.repeats` times through
//! the judge's own gateway. The majority decides the `judge` check; every judgement, the judge's
//! calls (as `judge_call` steps) and its cost are kept, apart from the agent's. The prompt and
//! the reading of verdicts are `agentpod_grade::judge`'s.

use agentpod_grade::{
    Check, ConversationTurn, JudgeRecord, JudgedWork, Judgement, issue_rubric, judge_check,
    judge_prompt, read_judgement,
};
use agentpod_issues::{Issue, JUDGE_RUBRIC_FIELD};
use agentpod_llm_gateway::{ChatMessage, ChatRole, IssueLlmRecord, ModelClient};
use agentpod_spec::JudgeSpec;
use agentpod_store::{
    JudgeVerdict, OutcomeRecord, OutcomeStatus, SideModelUsage, StepDetail, StepRecord,
};
use agentpod_tool_gateway::SEND_MESSAGE_TO_CUSTOMER;
use serde_json::{Value, json};

use crate::step_details::model_call_detail;

/// What judging one trial gave.
pub(crate) struct JudgedTrial {
    pub(crate) check: Check,
    pub(crate) record: JudgeRecord,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) usage: SideModelUsage,
    /// Why the judge could not be asked (its gateway or upstream failed), when it could not:
    /// the trial then has no verdict of the judge's at all.
    pub(crate) unavailable: Option<String>,
}

impl JudgedTrial {
    /// Puts the judgement into `outcome`, whose grade already holds the `judge` check: the
    /// judgements in the grade, the judge's usage and verdict beside the agent's usage; returns
    /// the judge's calls as steps. A judge that could not be asked decided nothing: the trial
    /// errored (and runs again with `--resume`), it did not fail, and no verdict is counted.
    pub(crate) fn record_into(self, outcome: &mut OutcomeRecord) -> Vec<StepRecord> {
        match &self.unavailable {
            Some(why) => {
                outcome.status = OutcomeStatus::Errored;
                outcome.reason = format!("the judge could not be asked: {why}");
            }
            None => {
                let expected_fields: Vec<bool> = outcome.grade["checks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|check| {
                        check["name"]
                            .as_str()
                            .is_some_and(|name| name.starts_with("output."))
                    })
                    .map(|check| check["passed"].as_bool().unwrap_or(false))
                    .collect();
                outcome.usage.side_models.judged = Some(JudgeVerdict {
                    passed: self.record.passed,
                    split: self.record.split,
                    judgements: self.record.judgements.len() as u32,
                    expected_fields_passed: (!expected_fields.is_empty())
                        .then(|| expected_fields.iter().all(|passed| *passed)),
                });
            }
        }
        outcome.grade["judge"] = serde_json::to_value(&self.record).unwrap_or_default();
        outcome.usage.side_models.judge = Some(self.usage);
        self.steps
    }
}

/// How much of each tool call's result the judge is shown.
const ACTION_RESULT_CHARACTERS: usize = 500;

/// `work`: the agent's answer, its conversation with the customer (as the customer had it) and
/// the trial's steps (its tool calls are what it did).
pub(crate) async fn judge_trial(
    judge: &JudgeSpec,
    client: &ModelClient,
    (issue, trial): (&Issue, u32),
    (answer, conversation, steps): (&Value, &[ConversationTurn], &[StepRecord]),
) -> JudgedTrial {
    let issue_view = issue.agent_view();
    let actions = actions(steps);
    let work = JudgedWork {
        issue: &issue_view,
        answer,
        conversation,
        actions: &actions,
    };
    let rubric = issue_rubric(&judge.rubric, issue.fields.get(JUDGE_RUBRIC_FIELD));
    let session = client.session(&format!("{}-judge", issue.id));
    let mut judgements = Vec::new();
    let mut unavailable = None;
    for repeat in 1..=judge.repeats {
        let prompt = judge_prompt(&rubric, &work, repeat, judge.repeats);
        let messages = [
            ChatMessage::new(ChatRole::System, prompt.system),
            ChatMessage::new(ChatRole::User, prompt.user),
        ];
        match session.chat(&messages, Some(prompt.seed)).await {
            Ok(reply) => judgements.push(read_judgement(&reply)),
            Err(error) => {
                let why = agentpod_error_chain::error_chain(&error);
                judgements.push(Judgement {
                    passed: None,
                    reasoning: format!("the judge could not be asked: {why}"),
                });
                unavailable = Some(why);
                break;
            }
        }
    }
    let (check, passed, split) = judge_check(&judgements);
    let (steps, usage) = side_model_steps(
        client.model(),
        session.take_record(),
        (&issue.id, trial),
        StepDetail::JudgeCall,
    );
    JudgedTrial {
        check,
        record: JudgeRecord {
            model: client.model().to_owned(),
            judgements,
            passed,
            split,
            calls: usage.calls,
            cost_usd: usage.cost_usd,
        },
        steps,
        usage,
        unavailable,
    }
}

/// What the agent did, as the tool gateway recorded it (the record, not the agent's account):
/// each tool call but the messages to the customer (the conversation shows those), with its
/// outcome and the start of its result.
fn actions(steps: &[StepRecord]) -> Vec<Value> {
    steps
        .iter()
        .filter_map(|step| match &step.detail {
            StepDetail::ToolCall(call) if call.tool != SEND_MESSAGE_TO_CUSTOMER => Some(json!({
                "tool": call.tool,
                "arguments": call.arguments,
                "outcome": call.outcome.as_str(),
                "result": call.result.chars().take(ACTION_RESULT_CHARACTERS).collect::<String>(),
            })),
            _ => None,
        })
        .collect()
}

/// A side model's record as the issue's steps (`detail` makes each call's step: a judge's or a
/// customer's) and its usage.
pub(crate) fn side_model_steps(
    model: &str,
    record: IssueLlmRecord,
    (issue_id, trial): (&str, u32),
    detail: fn(agentpod_store::ModelCallDetail) -> StepDetail,
) -> (Vec<StepRecord>, SideModelUsage) {
    let totals = &record.totals;
    let priced = totals.calls > totals.unpriced_calls;
    let usage = SideModelUsage {
        model: model.to_owned(),
        calls: totals.calls,
        input_tokens: totals.usage.input_tokens,
        output_tokens: totals.usage.output_tokens,
        cost_usd: priced.then_some(totals.cost_usd),
    };
    let steps = record
        .calls
        .into_iter()
        .map(|call| StepRecord {
            issue_id: issue_id.to_owned(),
            trial,
            started_at: Some(call.started_at),
            latency_ms: Some(call.latency_ms),
            detail: detail(model_call_detail(call)),
        })
        .collect();
    (steps, usage)
}
