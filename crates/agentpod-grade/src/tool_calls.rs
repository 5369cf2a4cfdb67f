//! The tool-call grader: the calls an issue expects (`expected_tool_calls`, each a tool's name
//! and matchers for some of its arguments) against the calls the agent made through the tool
//! gateway, in order or as a set, extra calls allowed or not (`grading.tool_calls`). One check
//! per issue; when it fails it says which expected call was missing, which was made with other
//! arguments (the first argument that differs), which came out of order, and which calls were
//! extra.
//!
//! An argument matcher is a JSON value the argument must agree with (as expected fields agree:
//! `2` and `"2.0"`, `"Yes"` and `"yes "` do), `{"regex": "…"}` (searched in the argument's text)
//! or `{"one_of": [...]}`. Arguments a matcher does not name are not checked.

use agentpod_spec::{ExtraToolCalls, ToolCallOrder, ToolCallsSpec};
use serde_json::{Map, Value};

use crate::Check;
use crate::expected_fields::{answer_text, values_agree};

/// A call the agent made, as the gateway recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeToolCall {
    pub tool: String,
    pub arguments: Value,
}

/// One expected call.
#[derive(Debug, Clone)]
struct ExpectedCall {
    tool: String,
    arguments: Vec<(String, ArgumentMatcher)>,
}

#[derive(Debug, Clone)]
enum ArgumentMatcher {
    Equal(Value),
    Regex(regex::Regex),
    OneOf(Vec<Value>),
}

impl ArgumentMatcher {
    fn read(value: &Value) -> Result<ArgumentMatcher, String> {
        if let Value::Object(object) = value
            && object.len() == 1
        {
            if let Some(pattern) = object.get("regex") {
                let pattern = pattern
                    .as_str()
                    .ok_or_else(|| "`regex` must be a text".to_owned())?;
                return regex::Regex::new(pattern)
                    .map(ArgumentMatcher::Regex)
                    .map_err(|error| format!("`regex` {pattern:?} is not valid: {error}"));
            }
            if let Some(values) = object.get("one_of") {
                let values = values
                    .as_array()
                    .ok_or_else(|| "`one_of` must be a list".to_owned())?;
                return Ok(ArgumentMatcher::OneOf(values.clone()));
            }
        }
        Ok(ArgumentMatcher::Equal(value.clone()))
    }

    fn accepts(&self, actual: &Value) -> bool {
        match self {
            ArgumentMatcher::Equal(expected) => values_agree(expected, actual),
            ArgumentMatcher::Regex(regex) => {
                answer_text(actual).is_some_and(|text| regex.is_match(&text))
            }
            ArgumentMatcher::OneOf(values) => {
                values.iter().any(|expected| values_agree(expected, actual))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            ArgumentMatcher::Equal(expected) => expected.to_string(),
            ArgumentMatcher::Regex(regex) => format!("/{}/", regex.as_str()),
            ArgumentMatcher::OneOf(values) => format!("one of {}", Value::Array(values.clone())),
        }
    }
}

impl ExpectedCall {
    fn matches(&self, call: &MadeToolCall) -> bool {
        call.tool == self.tool && self.first_difference(call).is_none()
    }

    /// The first argument of `call` (of the same tool) that the matchers refuse, said for people.
    fn first_difference(&self, call: &MadeToolCall) -> Option<String> {
        self.arguments.iter().find_map(|(name, matcher)| {
            let actual = call.arguments.get(name);
            match actual {
                Some(actual) if matcher.accepts(actual) => None,
                Some(actual) => Some(format!(
                    "`{name}` was {actual}, expected {}",
                    matcher.describe()
                )),
                None => Some(format!(
                    "`{name}` was not given, expected {}",
                    matcher.describe()
                )),
            }
        })
    }

    fn describe(&self) -> String {
        let arguments: Vec<String> = self
            .arguments
            .iter()
            .map(|(name, matcher)| format!("{name}: {}", matcher.describe()))
            .collect();
        format!("{}({})", self.tool, arguments.join(", "))
    }
}

/// The issue's `expected_tool_calls` (a list of `{"tool", "arguments"}`) against the calls the
/// agent made, in the order they started; `None` when the issue expects no tool calls.
#[must_use]
pub fn grade_tool_calls(
    expected: Option<&Value>,
    made: &[MadeToolCall],
    rules: ToolCallsSpec,
) -> Option<Check> {
    let expected = expected?;
    let check = |passed: bool, expected: String, actual: String| Check {
        name: "tool calls".to_owned(),
        passed,
        expected: Value::String(expected),
        actual: Value::String(actual),
    };
    let calls = match read_expected(expected) {
        Ok(calls) => calls,
        Err(error) => {
            return Some(check(
                false,
                "`expected_tool_calls` as a list of tool calls".to_owned(),
                error,
            ));
        }
    };
    let described: Vec<String> = calls.iter().map(ExpectedCall::describe).collect();
    let expected_text = format!(
        "{} {}, {}",
        described.join(", "),
        match rules.order {
            ToolCallOrder::InOrder => "in this order",
            ToolCallOrder::AnyOrder => "in any order",
        },
        match rules.extra_calls {
            ExtraToolCalls::Allow => "other calls allowed",
            ExtraToolCalls::Forbid => "no other calls",
        }
    );
    let matched = match rules.order {
        ToolCallOrder::InOrder => match_in_order(&calls, made),
        ToolCallOrder::AnyOrder => match_any_order(&calls, made),
    };
    let mut problems = Vec::new();
    for (index, call) in calls.iter().enumerate() {
        if matched[index].is_some() {
            continue;
        }
        let number = index + 1;
        let used = |position: usize| matched.contains(&Some(position));
        let wrong = made
            .iter()
            .enumerate()
            .find(|(position, made)| made.tool == call.tool && !used(*position))
            .and_then(|(position, made)| {
                call.first_difference(made)
                    .map(|difference| (position, difference))
            });
        let out_of_order = made
            .iter()
            .enumerate()
            .position(|(position, made)| !used(position) && call.matches(made));
        problems.push(match (wrong, out_of_order) {
            (_, Some(position)) => format!(
                "expected call {number} {} was made out of order (call {})",
                call.tool,
                position + 1
            ),
            (Some((position, difference)), None) => format!(
                "expected call {number} {} was wrong (call {}): {difference}",
                call.tool,
                position + 1
            ),
            (None, None) => format!("expected call {number} {} was not made", call.tool),
        });
    }
    if rules.extra_calls == ExtraToolCalls::Forbid {
        for (position, extra) in made.iter().enumerate() {
            if !matched.contains(&Some(position)) {
                problems.push(format!(
                    "call {} {} was not expected",
                    position + 1,
                    extra.tool
                ));
            }
        }
    }
    let actual = if problems.is_empty() {
        format!("the expected calls among {} made", made.len())
    } else {
        problems.join("; ")
    };
    Some(check(problems.is_empty(), expected_text, actual))
}

fn read_expected(expected: &Value) -> Result<Vec<ExpectedCall>, String> {
    let items = expected
        .as_array()
        .ok_or_else(|| format!("`expected_tool_calls` is {}, not a list", kind(expected)))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let number = index + 1;
            let Value::Object(item) = item else {
                return Err(format!("expected call {number} is not an object"));
            };
            let tool = item
                .get("tool")
                .and_then(Value::as_str)
                .filter(|tool| !tool.is_empty())
                .ok_or_else(|| format!("expected call {number} has no `tool` name"))?;
            let arguments = match item.get("arguments") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(arguments)) => arguments.clone(),
                Some(_) => {
                    return Err(format!(
                        "expected call {number}: `arguments` must be an object"
                    ));
                }
            };
            let arguments = arguments
                .iter()
                .map(|(name, value)| {
                    ArgumentMatcher::read(value)
                        .map(|matcher| (name.clone(), matcher))
                        .map_err(|error| format!("expected call {number}, `{name}`: {error}"))
                })
                .collect::<Result<_, _>>()?;
            Ok(ExpectedCall {
                tool: tool.to_owned(),
                arguments,
            })
        })
        .collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// For each expected call, the made call it is matched with: each expected call with the first
/// matching call after the previous one's (greedy is enough for a subsequence).
fn match_in_order(expected: &[ExpectedCall], made: &[MadeToolCall]) -> Vec<Option<usize>> {
    let mut next = 0;
    expected
        .iter()
        .map(|call| {
            let found = made[next.min(made.len())..]
                .iter()
                .position(|made| call.matches(made))
                .map(|offset| next + offset);
            if let Some(position) = found {
                next = position + 1;
            }
            found
        })
        .collect()
}

/// For each expected call, the made call it is matched with, as many matched as can be (a
/// maximum bipartite matching: one made call serves one expected call).
fn match_any_order(expected: &[ExpectedCall], made: &[MadeToolCall]) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; made.len()];
    for call in 0..expected.len() {
        let mut seen = vec![false; made.len()];
        augment(call, expected, made, &mut owner, &mut seen);
    }
    let mut matched = vec![None; expected.len()];
    for (position, call) in owner.iter().enumerate() {
        if let Some(call) = call {
            matched[*call] = Some(position);
        }
    }
    matched
}

fn augment(
    call: usize,
    expected: &[ExpectedCall],
    made: &[MadeToolCall],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for position in 0..made.len() {
        if seen[position] || !expected[call].matches(&made[position]) {
            continue;
        }
        seen[position] = true;
        let free = match owner[position] {
            None => true,
            Some(other) => augment(other, expected, made, owner, seen),
        };
        if free {
            owner[position] = Some(call);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn made(calls: &[(&str, Value)]) -> Vec<MadeToolCall> {
        calls
            .iter()
            .map(|(tool, arguments)| MadeToolCall {
                tool: (*tool).to_owned(),
                arguments: arguments.clone(),
            })
            .collect()
    }

    fn rules(order: ToolCallOrder, extra_calls: ExtraToolCalls) -> ToolCallsSpec {
        ToolCallsSpec { order, extra_calls }
    }

    fn expected() -> Value {
        json!([
            {"tool": "get_order", "arguments": {"order_id": "O1"}},
            {"tool": "cancel_order", "arguments": {"order_id": "O1", "reason": {"one_of": ["no longer needed", "ordered by mistake"]}}},
        ])
    }

    #[test]
    fn the_expected_calls_in_order_pass_with_other_calls_between() {
        let calls = made(&[
            ("get_order", json!({"order_id": "O1"})),
            ("query", json!({"sql": "SELECT 1"})),
            (
                "cancel_order",
                json!({"order_id": "o1 ", "reason": "ordered by mistake"}),
            ),
        ]);
        let check = grade_tool_calls(Some(&expected()), &calls, ToolCallsSpec::default()).unwrap();
        assert!(check.passed, "{check:?}");
        let forbid = rules(ToolCallOrder::InOrder, ExtraToolCalls::Forbid);
        let check = grade_tool_calls(Some(&expected()), &calls, forbid).unwrap();
        assert!(!check.passed);
        assert_eq!(check.actual, json!("call 2 query was not expected"));
    }

    #[test]
    fn out_of_order_calls_pass_only_as_a_set() {
        let calls = made(&[
            (
                "cancel_order",
                json!({"order_id": "O1", "reason": "no longer needed"}),
            ),
            ("get_order", json!({"order_id": "O1"})),
        ]);
        let in_order =
            grade_tool_calls(Some(&expected()), &calls, ToolCallsSpec::default()).unwrap();
        assert!(!in_order.passed);
        assert_eq!(
            in_order.actual,
            json!("expected call 2 cancel_order was made out of order (call 1)")
        );
        let any_order = rules(ToolCallOrder::AnyOrder, ExtraToolCalls::Forbid);
        assert!(
            grade_tool_calls(Some(&expected()), &calls, any_order)
                .unwrap()
                .passed
        );
    }

    #[test]
    fn a_wrong_argument_and_a_missing_call_are_named() {
        let calls = made(&[(
            "cancel_order",
            json!({"order_id": "O1", "reason": "too slow"}),
        )]);
        let check = grade_tool_calls(Some(&expected()), &calls, ToolCallsSpec::default()).unwrap();
        assert_eq!(
            check.actual,
            json!(
                "expected call 1 get_order was not made; expected call 2 cancel_order was wrong \
                 (call 1): `reason` was \"too slow\", expected one of [\"no longer needed\",\"ordered by mistake\"]"
            )
        );
        assert_eq!(
            check.expected,
            json!(
                "get_order(order_id: \"O1\"), cancel_order(order_id: \"O1\", reason: one of \
                 [\"no longer needed\",\"ordered by mistake\"]) in this order, other calls allowed"
            )
        );
    }

    #[test]
    fn a_set_is_matched_as_a_whole_not_greedily() {
        // The first expected call would take the only call the second accepts, greedily.
        let expected = json!([
            {"tool": "note", "arguments": {"text": {"regex": "."}}},
            {"tool": "note", "arguments": {"text": "refund"}},
        ]);
        let calls = made(&[
            ("note", json!({"text": "refund"})),
            ("note", json!({"text": "other"})),
        ]);
        let any_order = rules(ToolCallOrder::AnyOrder, ExtraToolCalls::Forbid);
        assert!(
            grade_tool_calls(Some(&expected), &calls, any_order)
                .unwrap()
                .passed
        );
    }

    #[test]
    fn malformed_expectations_fail_and_none_is_no_check() {
        assert_eq!(grade_tool_calls(None, &[], ToolCallsSpec::default()), None);
        let check = grade_tool_calls(
            Some(&json!([{"tool": "x", "arguments": {"a": {"regex": "("}}}])),
            &[],
            ToolCallsSpec::default(),
        )
        .unwrap();
        assert!(!check.passed);
        assert!(
            check
                .actual
                .as_str()
                .unwrap()
                .starts_with("expected call 1, `a`: `regex` \"(\" is not valid"),
            "{check:?}"
        );
    }
}
