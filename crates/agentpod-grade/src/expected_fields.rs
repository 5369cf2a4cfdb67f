//! The expected-fields grader: each field the issue expects is compared with the agent's answer
//! by the matcher the spec names for it (`grading.fields`), `equal` by default.
//!
//! Issues often come from CSV, where every value is text, while agents answer in JSON with
//! booleans and numbers; scalars are therefore compared by their text, trimmed and
//! case-insensitive (`true` = `"True"`, `3` = `"3"`). Objects and arrays compare structurally.
//! Only the fields an issue expects are checked, so a matcher that ignores the expected value
//! (`one_of`, `regex`) still applies only to issues that expect the field.

use std::collections::BTreeMap;

use agentpod_spec::FieldMatcher;
use serde_json::{Map, Value, json};

use crate::grade::{Check, Grade};

/// Numbers from JSON and CSV carry binary rounding; a difference this much smaller than the
/// values still counts as within the tolerance.
const RELATIVE_SLACK: f64 = 1e-9;

/// Grades `output` (the agent's JSON answer) against the issue's `expected` fields with the
/// spec's `matchers`; one check per expected field, none when the issue expects nothing.
#[must_use]
pub fn grade_fields(
    expected: Option<&Map<String, Value>>,
    output: &Value,
    matchers: &BTreeMap<String, FieldMatcher>,
) -> Vec<Check> {
    let Some(expected) = expected else {
        return Vec::new();
    };
    expected
        .iter()
        .map(|(field, expected_value)| {
            let actual = output.get(field).cloned().unwrap_or(Value::Null);
            let matcher = matchers.get(field).unwrap_or(&FieldMatcher::Equal);
            let (passed, expected) = match_field(matcher, expected_value, &actual);
            Check {
                name: format!("output.{field}"),
                passed,
                expected,
                actual,
            }
        })
        .collect()
}

/// Grades with `equal` for every field, as before the spec named matchers.
#[must_use]
pub fn grade_expected_fields(expected: Option<&Map<String, Value>>, output: &Value) -> Grade {
    Grade {
        checks: grade_fields(expected, output, &BTreeMap::new()),
    }
}

/// Whether `actual` passes, and what the check shows as expected: the value for `equal`, the
/// matcher as the spec writes it otherwise.
fn match_field(matcher: &FieldMatcher, expected: &Value, actual: &Value) -> (bool, Value) {
    match matcher {
        FieldMatcher::Equal => (values_agree(expected, actual), expected.clone()),
        FieldMatcher::OneOf(options) => (
            options.iter().any(|option| values_agree(option, actual)),
            json!({ "one_of": options }),
        ),
        FieldMatcher::Regex(pattern) => {
            // The spec checked the pattern; one built by hand may still be broken, and then
            // nothing matches it.
            let passed = regex::Regex::new(pattern)
                .is_ok_and(|regex| answer_text(actual).is_some_and(|text| regex.is_match(&text)));
            (passed, json!({ "regex": pattern }))
        }
        FieldMatcher::Within(tolerance) => {
            let passed = match (number_in(expected), number_in(actual)) {
                (Some(expected), Some(actual)) => {
                    let slack = RELATIVE_SLACK * expected.abs().max(1.0);
                    (actual - expected).abs() <= tolerance + slack
                }
                _ => false,
            };
            (passed, json!({ "within": tolerance, "of": expected }))
        }
    }
}

/// The text a regular expression is matched against: strings as written, numbers and booleans
/// as JSON writes them; nothing for null, lists and objects.
pub(crate) fn answer_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A JSON number, or text holding one (CSV issues, agents answering `"12.50"`).
fn number_in(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    number.is_finite().then_some(number)
}

pub(crate) fn values_agree(expected: &Value, actual: &Value) -> bool {
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

    fn matchers(entries: &[(&str, FieldMatcher)]) -> BTreeMap<String, FieldMatcher> {
        entries
            .iter()
            .map(|(field, matcher)| ((*field).to_owned(), matcher.clone()))
            .collect()
    }

    fn passes(matcher: FieldMatcher, expected_value: Value, answer: Value) -> bool {
        let checks = grade_fields(
            Some(&expected(json!({ "field": expected_value }))),
            &json!({ "field": answer }),
            &matchers(&[("field", matcher)]),
        );
        assert_eq!(checks.len(), 1);
        checks[0].passed
    }

    #[test]
    fn one_of_accepts_any_listed_answer_and_ignores_the_expected_value() {
        let one_of = || FieldMatcher::OneOf(vec![json!("high"), json!("urgent")]);
        assert!(passes(one_of(), json!("high"), json!("urgent")));
        assert!(
            passes(one_of(), json!("low"), json!("High ")),
            "text rules as for equal"
        );
        assert!(!passes(one_of(), json!("high"), json!("low")));
        assert!(!passes(one_of(), json!("high"), Value::Null));
        let numbers = FieldMatcher::OneOf(vec![json!(1), json!(2)]);
        assert!(
            passes(numbers, json!("9"), json!("2")),
            "CSV text agrees with numbers"
        );
    }

    #[test]
    fn regex_searches_the_answer_text() {
        let regex = || FieldMatcher::Regex("refund|charge".to_owned());
        assert!(passes(
            regex(),
            json!("x"),
            json!("We issued a refund today")
        ));
        assert!(
            !passes(regex(), json!("x"), json!("Refund issued")),
            "case counts"
        );
        assert!(!passes(regex(), json!("x"), Value::Null));
        assert!(!passes(regex(), json!("x"), json!(["refund"])));
        assert!(passes(
            FieldMatcher::Regex("^[0-9]+$".to_owned()),
            json!("x"),
            json!(42)
        ));
        assert!(!passes(
            FieldMatcher::Regex("(".to_owned()),
            json!("x"),
            json!("(")
        ));
    }

    #[test]
    fn within_compares_numbers_from_json_or_text() {
        let within = || FieldMatcher::Within(0.01);
        assert!(passes(within(), json!(12.5), json!(12.51)));
        assert!(
            passes(within(), json!("12.50"), json!("12.49")),
            "CSV text and string answers"
        );
        assert!(
            passes(within(), json!(10.01), json!(10.02)),
            "binary rounding is not a miss"
        );
        assert!(!passes(within(), json!(12.5), json!(12.52)));
        assert!(!passes(within(), json!(12.5), json!("about 12")));
        assert!(!passes(within(), json!("n/a"), json!(12.5)));
        assert!(passes(FieldMatcher::Within(0.0), json!("3"), json!(3.0)));
    }

    #[test]
    fn unlisted_fields_are_equal_and_checks_show_the_matcher() {
        let checks = grade_fields(
            Some(&expected(
                json!({"category": "billing", "priority": "high", "amount": "5"}),
            )),
            &json!({"category": "BILLING", "priority": "urgent", "amount": 5.004}),
            &matchers(&[
                (
                    "priority",
                    FieldMatcher::OneOf(vec![json!("high"), json!("urgent")]),
                ),
                ("amount", FieldMatcher::Within(0.01)),
                ("not_expected", FieldMatcher::Regex("x".to_owned())),
            ]),
        );
        let names: Vec<&str> = checks.iter().map(|check| check.name.as_str()).collect();
        assert_eq!(
            names,
            ["output.amount", "output.category", "output.priority"]
        );
        assert!(checks.iter().all(|check| check.passed), "{checks:?}");
        assert_eq!(checks[0].expected, json!({"within": 0.01, "of": "5"}));
        assert_eq!(checks[1].expected, json!("billing"));
        assert_eq!(checks[2].expected, json!({"one_of": ["high", "urgent"]}));
    }
}
