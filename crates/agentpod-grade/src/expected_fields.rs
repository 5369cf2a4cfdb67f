//! The expected-fields grader: each expected field must appear in the output with an equal value.
//!
//! Issues often come from CSV, where every value is text, while agents answer in JSON with
//! booleans and numbers; scalars are therefore compared by their text, trimmed and
//! case-insensitive (`true` = `"True"`, `3` = `"3"`). Objects and arrays compare structurally.

use serde_json::{Map, Value};

use crate::grade::{Check, Grade};

/// Grades `output` (the agent's JSON answer) against the issue's `expected` fields.
pub fn grade_expected_fields(expected: Option<&Map<String, Value>>, output: &Value) -> Grade {
    let Some(expected) = expected else {
        return Grade::default();
    };
    let checks = expected
        .iter()
        .map(|(field, expected_value)| {
            let actual = output.get(field).cloned().unwrap_or(Value::Null);
            Check {
                name: format!("output.{field}"),
                passed: values_agree(expected_value, &actual),
                expected: expected_value.clone(),
                actual,
            }
        })
        .collect();
    Grade { checks }
}

fn values_agree(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            expected.len() == actual.len()
                && expected.iter().all(|(key, value)| {
                    actual
                        .get(key)
                        .is_some_and(|other| values_agree(value, other))
                })
        }
        (Value::Array(expected), Value::Array(actual)) => {
            expected.len() == actual.len()
                && expected.iter().zip(actual).all(|(a, b)| values_agree(a, b))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (expected, actual) => scalar_text(expected) == scalar_text(actual),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim().to_lowercase(),
        Value::Number(number) => match number.as_f64() {
            // 2 and 2.0 are the same answer.
            Some(float) if float.fract() == 0.0 && float.abs() < 1e15 => {
                format!("{}", float as i64)
            }
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn every_expected_field_must_agree() {
        let grade = grade_expected_fields(
            Some(&expected(
                json!({"category": "billing", "priority": "high"}),
            )),
            &json!({"category": "Billing ", "priority": "low", "extra": 1}),
        );
        assert!(!grade.passed());
        assert_eq!(grade.checks.len(), 2);
        assert!(grade.checks[0].passed, "case and spaces do not matter");
        assert_eq!(
            grade.explain(),
            r#"output.priority: expected "high", got "low""#
        );
    }

    #[test]
    fn text_from_csv_agrees_with_json_scalars() {
        let grade = grade_expected_fields(
            Some(&expected(
                json!({"refund_eligible": "true", "count": "3", "ratio": 2}),
            )),
            &json!({"refund_eligible": true, "count": 3, "ratio": 2.0}),
        );
        assert!(grade.passed(), "{}", grade.explain());
    }

    #[test]
    fn a_missing_field_fails_and_null_only_matches_null() {
        let grade = grade_expected_fields(
            Some(&expected(json!({"a": "x", "b": null}))),
            &json!({"b": null}),
        );
        assert_eq!(
            grade
                .checks
                .iter()
                .map(|check| check.passed)
                .collect::<Vec<_>>(),
            [false, true]
        );
        let grade = grade_expected_fields(Some(&expected(json!({"a": "null"}))), &json!({}));
        assert!(!grade.passed());
    }

    #[test]
    fn nested_values_compare_structurally() {
        let want = expected(json!({"tags": ["a", "b"], "meta": {"k": 1}}));
        assert!(
            grade_expected_fields(
                Some(&want),
                &json!({"tags": ["A", "b"], "meta": {"k": "1"}})
            )
            .passed()
        );
        assert!(
            !grade_expected_fields(Some(&want), &json!({"tags": ["b", "a"], "meta": {"k": 1}}))
                .passed()
        );
        assert!(
            !grade_expected_fields(
                Some(&want),
                &json!({"tags": "a,b", "meta": {"k": 1, "j": 2}})
            )
            .passed()
        );
    }

    #[test]
    fn no_expected_fields_is_ungraded() {
        let grade = grade_expected_fields(None, &json!({"a": 1}));
        assert!(grade.is_ungraded());
        assert!(grade.passed());
    }
}
