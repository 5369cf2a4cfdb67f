//! The expected-outputs grader (tau-bench's outputs rule): each of an issue's
//! `expected_outputs` must appear in the agent's answer, case-insensitive, with commas removed
//! from both (`1,234.50` is found in `1234.50`). The answer's text is every string and number in
//! the agent's output, wherever in it, and every message it sent the issue's simulated customer;
//! keys are not text the agent said. One check per output.

use serde_json::Value;

use crate::grade::Check;

/// One check per expected output, named `expected_outputs[i]`: passed when found. `expected`
/// is the issue's `expected_outputs` as written: a list (JSON lines), or a CSV cell holding a
/// JSON list or one output. Anything else is one failed check saying so.
#[must_use]
pub fn grade_expected_outputs(
    expected: Option<&Value>,
    output: &Value,
    said_to_customer: &[String],
) -> Vec<Check> {
    let Some(expected) = expected else {
        return Vec::new();
    };
    let Some(outputs) = output_list(expected) else {
        return vec![Check {
            name: "expected_outputs".to_owned(),
            passed: false,
            expected: Value::String("a list of texts".to_owned()),
            actual: expected.clone(),
        }];
    };
    let mut answer = answer_text(output);
    for message in said_to_customer {
        answer.push('\n');
        answer.push_str(message);
    }
    let answer = normalized(&answer);
    outputs
        .iter()
        .enumerate()
        .map(|(index, wanted)| {
            let found = answer.contains(&normalized(wanted));
            Check {
                name: format!("expected_outputs[{index}]"),
                passed: found,
                expected: Value::String(format!("the answer says {wanted:?}")),
                actual: Value::String(if found { "it does" } else { "it does not" }.to_owned()),
            }
        })
        .collect()
}

/// The outputs as texts: a list's strings and numbers, or a CSV cell's JSON list or text.
fn output_list(expected: &Value) -> Option<Vec<String>> {
    match expected {
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        Value::String(cell) => match serde_json::from_str::<Value>(cell) {
            Ok(Value::Array(items)) => items.iter().map(scalar_text).collect(),
            _ => Some(vec![cell.clone()]),
        },
        _ => None,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Every string and number in `output`, one per line, in document order.
fn answer_text(output: &Value) -> String {
    let mut texts = Vec::new();
    collect_texts(output, &mut texts);
    texts.join("\n")
}

fn collect_texts(value: &Value, texts: &mut Vec<String>) {
    match value {
        Value::String(text) => texts.push(text.clone()),
        Value::Number(number) => texts.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| collect_texts(item, texts)),
        Value::Object(fields) => fields.values().for_each(|item| collect_texts(item, texts)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Lowercase, without commas: the form both sides are compared in.
fn normalized(text: &str) -> String {
    text.replace(',', "").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn passed(checks: &[Check]) -> Vec<bool> {
        checks.iter().map(|check| check.passed).collect()
    }

    #[test]
    fn each_output_is_a_case_insensitive_substring_without_commas() {
        let answer =
            json!({"answer": "Your refund of $1234.50 goes to the BLACK card.", "steps": 3});
        let checks = grade_expected_outputs(
            Some(&json!(["1,234.50", "black", "gift card", "3"])),
            &answer,
            &[],
        );
        assert_eq!(passed(&checks), [true, true, false, true]);
        assert_eq!(checks[2].name, "expected_outputs[2]");
        assert_eq!(checks[2].expected, json!("the answer says \"gift card\""));
        assert_eq!(checks[2].actual, json!("it does not"));
    }

    #[test]
    fn the_answer_is_every_text_in_the_output_but_not_its_keys() {
        let answer = json!({"reply": {"lines": ["first", "second line"]}, "total": 12.5});
        assert_eq!(
            passed(&grade_expected_outputs(
                Some(&json!(["SECOND", "12.5", "lines", "reply"])),
                &answer,
                &[]
            )),
            [true, true, false, false]
        );
    }

    #[test]
    fn csv_cells_and_bad_lists() {
        let answer = json!({"answer": "10.00 and Blue"});
        assert_eq!(
            passed(&grade_expected_outputs(
                Some(&json!(r#"["10.00", "blue"]"#)),
                &answer,
                &[]
            )),
            [true, true]
        );
        assert_eq!(
            passed(&grade_expected_outputs(
                Some(&json!("and blue")),
                &answer,
                &[]
            )),
            [true]
        );
        let bad = grade_expected_outputs(Some(&json!([{"x": 1}])), &answer, &[]);
        assert_eq!(passed(&bad), [false]);
        assert_eq!(bad[0].name, "expected_outputs");
        assert!(grade_expected_outputs(None, &answer, &[]).is_empty());
    }

    #[test]
    fn what_the_agent_told_the_customer_counts_as_said_and_what_the_customer_said_does_not() {
        let answer = json!({"done": true});
        let told = ["Your refund of 16.63 is on its way.".to_owned()];
        assert_eq!(
            passed(&grade_expected_outputs(
                Some(&json!(["16.63", "on its way", "thanks"])),
                &answer,
                &told
            )),
            [true, true, false]
        );
    }
}
