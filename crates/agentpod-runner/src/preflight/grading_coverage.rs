//! Does anything judge the issues? The graders that can tell a right outcome from a wrong one
//! are the expected fields and outputs, the expected tool calls, the SQL assertions, the gold
//! actions' state and the LLM judge; the boundary and
//! budget checks only fail an issue, so an issue with none of the first three passes whenever
//! the agent stays within its limits — a silent pass. Also: an expected field the agent is
//! shown under the same name hands it the answer.

use std::collections::BTreeSet;

use agentpod_issues::Issue;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};
use serde_json::Value;

use super::answer_columns::{AnswerColumn, likely_answer_columns, visible_fields};
use super::quoted_list;

pub(super) fn check(
    spec: &PodSpec,
    issues: &[Issue],
    locations: &SpecLocations,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    if issues.is_empty() {
        return diagnostics;
    }
    let source = spec.issues.source.display().to_string();
    let unjudged: Vec<&Issue> = issues
        .iter()
        .filter(|issue| !is_judged(spec, issue))
        .collect();
    if unjudged.len() == issues.len() {
        diagnostics.push(
            locations
                .at_value(
                    "issues.source",
                    format!(
                        "nothing judges these issues: {} in {source} {} an expected answer, and `grading` sets no SQL assertion or gold actions, so every issue would pass",
                        if issues.len() == 1 {
                            "the one issue".to_owned()
                        } else {
                            format!("none of the {} issues", issues.len())
                        },
                        if issues.len() == 1 { "has no" } else { "has" }
                    ),
                )
                .with_help(no_grader_help(spec, issues)),
        );
    } else if !unjudged.is_empty() {
        let ids: Vec<&str> = unjudged.iter().map(|issue| issue.id.as_str()).collect();
        diagnostics.push(
            locations
                .at_value(
                    "issues.source",
                    format!(
                        "{} of the {} issues in {source} {} no expected answer and nothing else judges them: {}",
                        unjudged.len(),
                        issues.len(),
                        if unjudged.len() == 1 { "has" } else { "have" },
                        quoted_list(&ids, 5)
                    ),
                )
                .with_help(
                    "an issue nothing judges passes whenever the agent stays within its limits; give each an expected answer, or leave them out of the issues file",
                )
                .as_warning(),
        );
    }
    diagnostics.extend(answers_shown_to_the_agent(issues, &source, locations));
    diagnostics
}

/// Whether a grader that tells right from wrong applies to `issue`.
fn is_judged(spec: &PodSpec, issue: &Issue) -> bool {
    issue
        .expected
        .as_ref()
        .is_some_and(|expected| !expected.is_empty())
        || !spec.grading.sql.is_empty()
        || (spec.grading.gold_actions && issue.gold_actions().is_some())
        || issue.expected_outputs().is_some()
        || issue.expected_tool_calls().is_some()
        || spec.judge.is_some()
}

fn no_grader_help(spec: &PodSpec, issues: &[Issue]) -> String {
    let csv = spec
        .issues
        .source
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
    let mark = |field: &str| {
        if csv {
            format!(
                "set `issues.expected: {field}` in the spec (or rename its column to `expected.{field}`)"
            )
        } else {
            format!(
                "set `issues.expected: {field}` in the spec (or move it under `\"expected\"` in each issue)"
            )
        }
    };
    let otherwise = "or judge the outcome with `grading.sql` or `grading.gold_actions`";
    match likely_answer_columns(issues).as_slice() {
        [] => format!(
            "mark the answer: name its field in `issues.expected` (or {}), {otherwise}",
            if csv {
                "name its column `expected.<field>`"
            } else {
                "put it under `\"expected\"` in each issue"
            }
        ),
        [first, others @ ..] => {
            let mut help = format!(
                "`{}` looks like the answer ({}) and is shown to the agent as it is: to mark it as the answer, {}; {otherwise}",
                first.field,
                describe(first),
                mark(&first.field)
            );
            if !others.is_empty() {
                let names: Vec<&str> = others.iter().map(|other| other.field.as_str()).collect();
                help.push_str(&format!(
                    " (other likely answers: {})",
                    quoted_list(&names, 3)
                ));
            }
            help
        }
    }
}

fn describe(column: &AnswerColumn) -> String {
    let examples: Vec<String> = column
        .examples
        .iter()
        .map(|example| {
            let short: String = example.chars().take(24).collect();
            if short.len() < example.len() {
                format!("{short}…")
            } else {
                short
            }
        })
        .collect();
    let more = if column.distinct > column.examples.len() {
        ", …"
    } else {
        ""
    };
    format!(
        "{} distinct value{} over {} issues: {}{more}",
        column.distinct,
        if column.distinct == 1 { "" } else { "s" },
        column.present,
        examples.join(", ")
    )
}

/// One warning per expected field the agent is also shown, by the same name.
fn answers_shown_to_the_agent(
    issues: &[Issue],
    source: &str,
    locations: &SpecLocations,
) -> Vec<Diagnostic> {
    let visible = visible_fields(issues);
    let expected: BTreeSet<&str> = issues
        .iter()
        .filter_map(|issue| issue.expected.as_ref())
        .flat_map(|expected| expected.keys().map(String::as_str))
        .collect();
    expected
        .into_iter()
        .filter(|field| visible.contains(field))
        .map(|field| {
            let both: Vec<(&Value, &Value)> = issues
                .iter()
                .filter_map(|issue| {
                    Some((issue.fields.get(field)?, issue.expected.as_ref()?.get(field)?))
                })
                .collect();
            let equal = both
                .iter()
                .filter(|(shown, expected)| same_text(shown, expected))
                .count();
            let mut message = format!(
                "`{field}` is shown to the agent and is also an expected answer in {source}: the agent may be handed the answer"
            );
            if equal > 0 {
                message.push_str(&format!(
                    " (in {equal} of {} issues the value shown equals the expected one)",
                    both.len()
                ));
            }
            locations
                .at_value("issues.source", message)
                .with_help(format!(
                    "keep the answer out of what the agent sees: drop or rename the `{field}` the agent is shown; if the agent is meant to change it (a status to set), the warning can stay"
                ))
                .as_warning()
        })
        .collect()
}

/// Values compared as the expected-fields grader compares scalars: by their text, trimmed and
/// case-insensitive.
fn same_text(left: &Value, right: &Value) -> bool {
    let text = |value: &Value| match value {
        Value::String(text) => text.trim().to_lowercase(),
        other => other.to_string().to_lowercase(),
    };
    text(left) == text(right)
}
