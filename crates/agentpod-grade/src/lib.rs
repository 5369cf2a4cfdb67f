//! Graders: decide per issue whether the agent's answer passes, and why.
//!
//! Each grader returns [`Check`]s, which add up to a [`Grade`]: the expected output fields with
//! the spec's matchers, the expected outputs found in the answer, the expected tool calls among
//! the calls the agent made, SQL assertions on the issue's final database, the final state
//! against the gold actions' state, boundary violations and budget stops; and the LLM judge's
//! prompt and verdicts (the model call itself is the runner's).

mod expected_fields;
mod expected_outputs;
mod gold_state;
mod grade;
mod grade_error;
mod judge;
mod limit_checks;
mod sql_assertions;
mod tool_calls;

pub use expected_fields::{grade_expected_fields, grade_fields};
pub use expected_outputs::grade_expected_outputs;
pub use gold_state::{FailedGoldAction, grade_gold_state};
pub use grade::{Check, Grade};
pub use grade_error::GradeError;
pub use judge::{
    ConversationTurn, JUDGE_CHECK, JudgePrompt, JudgeRecord, JudgedWork, Judgement, issue_rubric,
    judge_check, judge_prompt, read_judgement,
};
pub use limit_checks::{grade_budgets, grade_no_violations};
pub use sql_assertions::grade_sql_assertions;
pub use tool_calls::{MadeToolCall, grade_tool_calls};
