//! The LLM judge's grading of one trial, after the agent ended: the issue as the agent saw it,
//! the agent's conversation with its simulated customer (as the customer had it), what the agent
//! did (its tool calls, as the tool gateway recorded them) and the agent's answer are judged
//! against the rubric (the spec's, with the issue's `judge_rubric`) `judge.repeats` times through
//! the judge's own gateway. The majority decides the `judge` check; every judgement, the judge's
//! calls (as `judge_call` steps) and its cost are kept, apart from the agent's. The prompt and
//! the reading of verdicts are `agentpod_grade::judge`'s.

use agentpod_grade::{
    Check, ConversationTurn, JUDGE_CHECK, JudgeRecord, JudgedWork, Judgement, issue_rubric,
    judge_check, judge_prompt, read_judgement,
};
use agentpod_issues::{Issue, JUDGE_RUBRIC_FIELD};
use agentpod_llm_gateway::{ChatMessage, ChatRole, IssueLlmRecord, ModelClient, ModelClientError};
use agentpod_spec::JudgeSpec;
use agentpod_store::{
    JudgeVerdict, OutcomeRecord, OutcomeStatus, SideModelUsage, StepDetail, StepRecord,
    ToolCallOutcome,
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
    /// the judge's calls as steps. A judge that could not be asked (an outage) decided nothing:
    /// unless another check failed the trial, it errored rather than failed, and no verdict of
    /// the judge's is counted.
    pub(crate) fn record_into(self, outcome: &mut OutcomeRecord) -> Vec<StepRecord> {
        // Another check that failed decides the trial whatever the judge would have said.
        let failed_otherwise = outcome.grade["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|check| check["name"] != JUDGE_CHECK && check["passed"] == false);
        match &self.unavailable {
            Some(why) if !failed_otherwise => {
                outcome.status = OutcomeStatus::Errored;
                outcome.reason = format!("the judge could not be asked: {why}");
            }
            Some(_) => {}
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

/// The most work (the prompt's user message) a judge is shown; more is too large to judge.
const JUDGED_WORK_LIMIT_BYTES: usize = 256 * 1024;

/// The judge's gateway or upstream failed, not the request: unreachable, a timeout, 429, 408
/// or 5xx.
fn is_outage(error: &ModelClientError) -> bool {
    match error {
        ModelClientError::Unanswered(_) => true,
        ModelClientError::Status { status, .. } => matches!(status, 408 | 429 | 500..),
        ModelClientError::NoText(_) => false,
    }
}

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
        // Every repeat shows the same work: the first says whether it is too large. Work past
        // the limit is not shown cut (what was cut could be what decides): it fails unjudged.
        let size = prompt.user.len();
        if size > JUDGED_WORK_LIMIT_BYTES {
            judgements.push(Judgement {
                passed: None,
                reasoning: format!(
                    "the work is {size} bytes, more than the judge is shown ({JUDGED_WORK_LIMIT_BYTES}): too large to judge"
                ),
            });
            break;
        }
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
                    reasoning: format!("the judge gave no answer: {why}"),
                });
                // Only an outage decides nothing; an answer refused for what the work holds
                // (a 4xx, a reply with no text) is no verdict, which fails the work.
                if is_outage(&error) {
                    unavailable = Some(why);
                    break;
                }
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

/// What the agent did, as the tool gateway recorded it (the record, not the agent's account), in
/// the order it did it: each tool call with its outcome and the start of its result, and, in
/// their places, the turns of its conversation with the customer (`{"customer_turn": n}`, the
/// n-th turn of the conversation block), so what came before what is plain.
fn actions(steps: &[StepRecord]) -> Vec<Value> {
    let mut calls: Vec<&agentpod_store::ToolCallDetail> = steps
        .iter()
        .filter_map(|step| match &step.detail {
            StepDetail::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    calls.sort_by_key(|call| call.sequence);
    let mut turn = 0;
    calls
        .into_iter()
        .filter_map(|call| {
            if call.tool == SEND_MESSAGE_TO_CUSTOMER {
                // Only delivered messages are turns (the transcript holds exactly those).
                if call.outcome != ToolCallOutcome::Ok {
                    return None;
                }
                turn += 1;
                return Some(json!({"sequence": call.sequence, "customer_turn": turn}));
            }
            let shown: String = call.result.chars().take(ACTION_RESULT_CHARACTERS).collect();
            let left_out = call.result.chars().count() - shown.chars().count();
            let result = if left_out > 0 {
                format!("{shown}… [{left_out} more characters not shown]")
            } else {
                shown
            };
            Some(json!({
                "sequence": call.sequence,
                "tool": call.tool,
                "arguments": call.arguments,
                "outcome": call.outcome.as_str(),
                "result": result,
            }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use agentpod_store::ToolCallDetail;

    fn call(sequence: u32, tool: &str, outcome: ToolCallOutcome, result: &str) -> StepRecord {
        StepRecord {
            issue_id: "i".into(),
            trial: 1,
            started_at: None,
            latency_ms: None,
            detail: StepDetail::ToolCall(ToolCallDetail {
                sequence,
                tool: tool.into(),
                outcome,
                result: result.into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_stored_customer_tool_is_the_tool_gateways() {
        assert_eq!(agentpod_store::CUSTOMER_TOOL, SEND_MESSAGE_TO_CUSTOMER);
    }

    #[test]
    fn the_judge_sees_the_calls_in_order_with_turns_in_their_places_and_cuts_marked() {
        let long = "r".repeat(ACTION_RESULT_CHARACTERS + 7);
        let steps = [
            call(3, "cancel_order", ToolCallOutcome::Ok, &long),
            call(1, SEND_MESSAGE_TO_CUSTOMER, ToolCallOutcome::Ok, "O1"),
            call(2, SEND_MESSAGE_TO_CUSTOMER, ToolCallOutcome::Error, "gone"),
            call(4, SEND_MESSAGE_TO_CUSTOMER, ToolCallOutcome::Ok, "thanks"),
        ];
        let seen = actions(&steps);
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], json!({"sequence": 1, "customer_turn": 1}));
        assert_eq!(seen[1]["tool"], "cancel_order");
        assert!(
            seen[1]["result"]
                .as_str()
                .unwrap()
                .ends_with("… [7 more characters not shown]")
        );
        assert_eq!(seen[2], json!({"sequence": 4, "customer_turn": 2}));
    }
}
