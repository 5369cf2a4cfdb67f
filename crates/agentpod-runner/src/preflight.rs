//! The checks `validate` and `run` share before anything starts: what makes a run's verdict
//! mean nothing or hands the agent its answer, found from the spec, its loaded issues (after any
//! mapping the issues crate applies), its fixture files and the agent program — each reported
//! like the spec's own problems, with file, line and a suggestion.
//!
//! Errors: nothing judges the issues (no `expected`, no SQL assertion, no gold actions, no
//! judge), a customer that cannot be simulated, a
//! `stratify_by` field the issues lack, an agent program that is not there, a boundary table the
//! fixtures do not create. Warnings: a field shown to the agent that is also an expected
//! answer, and issues that nothing judges among others that are judged.

mod agent_program;
mod answer_columns;
mod boundary_tables;
mod customers;
mod gold_actions;
mod grading_coverage;
mod stratify_field;

use agentpod_issues::Issue;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

/// What the checks found: errors and warnings, in the order checked.
#[derive(Debug, Clone, Default)]
pub struct Preflight {
    pub diagnostics: Vec<Diagnostic>,
}

impl Preflight {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| !diagnostic.is_error())
    }
}

/// Checks `spec` against every one of its `issues` (all of them, not a sample) and its
/// fixtures. `agent_command` replaces the spec's command when the command line overrides it
/// (it then has no place in the spec to point at).
pub fn preflight(spec: &PodSpec, issues: &[Issue], agent_command: Option<&[String]>) -> Preflight {
    let locations = SpecLocations::read(&spec.path);
    let mut diagnostics = Vec::new();
    diagnostics.extend(grading_coverage::check(spec, issues, &locations));
    diagnostics.extend(gold_actions::check(spec, issues, &locations));
    diagnostics.extend(customers::check(spec, issues, &locations));
    diagnostics.extend(stratify_field::check(spec, issues, &locations));
    diagnostics.extend(agent_program::check(spec, agent_command, &locations));
    diagnostics.extend(boundary_tables::check(spec, &locations));
    Preflight { diagnostics }
}

/// How many problems a preflight message names one by one; the rest are counted.
pub(crate) const NAMED_PROBLEMS: usize = 5;

/// The first [`NAMED_PROBLEMS`] of `problems` joined with `; `, then `and N more`.
pub(crate) fn named_problems(problems: &[String]) -> String {
    let mut named = problems[..problems.len().min(NAMED_PROBLEMS)].join("; ");
    if problems.len() > NAMED_PROBLEMS {
        named.push_str(&format!("; and {} more", problems.len() - NAMED_PROBLEMS));
    }
    named
}

/// The closest of `candidates` to `written`, for "did you mean" help.
pub(crate) fn closest<'c>(written: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let written_lower = written.to_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&written_lower, &candidate.to_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance <= (candidate.chars().count().max(written.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// "`a`, `b` and `c`", at most `limit` of them and "… (N more)".
pub(crate) fn quoted_list(names: &[&str], limit: usize) -> String {
    let mut shown: Vec<String> = names
        .iter()
        .take(limit)
        .map(|name| format!("`{name}`"))
        .collect();
    if names.len() > limit {
        shown.push(format!("… ({} more)", names.len() - limit));
    }
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads a spec written beside `issues` (JSON lines) with `extra` spec text, and checks it.
    fn check(issues: &str, extra: &str) -> Vec<(bool, String, usize)> {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join("schema.sql"),
            "CREATE TABLE tickets (id int);\nCREATE TABLE notes (id int);\n",
        )
        .unwrap();
        std::fs::write(directory.path().join("issues.jsonl"), issues).unwrap();
        let spec_path = directory.path().join("pod.yaml");
        std::fs::write(
            &spec_path,
            format!(
                "name: checks\n\
                 database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
                 agent:\n  command: [\"/bin/true\"]\n  version: v1\n\
                 issues:\n  source: issues.jsonl\n{extra}"
            ),
        )
        .unwrap();
        let spec = agentpod_spec::load(&spec_path).unwrap();
        let issues = agentpod_issues::load(&spec.issues.source).unwrap();
        preflight(&spec, &issues, None)
            .diagnostics
            .into_iter()
            .map(|diagnostic| (diagnostic.is_error(), diagnostic.message, diagnostic.line))
            .collect()
    }

    #[test]
    fn a_judged_set_passes_every_check() {
        let found = check(
            "{\"id\": 1, \"subject\": \"a\", \"kind\": \"x\", \"expected\": {\"status\": \"closed\"}}\n",
            "  stratify_by: kind\nboundary:\n  default: read_only\n  tables:\n    notes: writable\n",
        );
        assert_eq!(found, []);
    }

    #[test]
    fn gold_actions_that_are_not_tool_calls_are_an_error_naming_the_issue() {
        let issues = "{\"id\": 1, \"gold_actions\": [{\"tool\": \"execute\", \"arguments\": {\"sql\": \"SELECT 1\"}}]}\n\
                      {\"id\": 2, \"gold_actions\": [{\"tool\": \"query\"}, {\"sql\": \"DELETE FROM notes\"}]}\n";
        let found = check(issues, "grading:\n  gold_actions: true\n");
        let [(is_error, message, _)] = found.as_slice() else {
            panic!("one diagnostic: {found:?}");
        };
        assert!(is_error);
        assert!(
            message.starts_with("issue 2 (line 2 of ")
                && message.ends_with("gold action 2 is not a tool call: `tool` must name a tool"),
            "{message}"
        );
        // Without the grader the field is not read.
        let found = check(issues, "");
        assert!(
            found
                .iter()
                .all(|(_, message, _)| !message.contains("tool call")),
            "{found:?}"
        );
    }

    #[test]
    fn unjudged_issues_among_judged_ones_are_a_warning() {
        let found = check(
            "{\"id\": 1, \"expected\": {\"status\": \"closed\"}}\n{\"id\": 2}\n{\"id\": 3}\n",
            "",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(!found[0].0, "a warning");
        assert!(found[0].1.starts_with("2 of the 3 issues in "), "{found:?}");
        assert!(
            found[0]
                .1
                .ends_with("nothing else judges them: `2` and `3`"),
            "{found:?}"
        );
        assert_eq!(found[0].2, 10, "at `issues.source`");
    }

    #[test]
    fn sql_assertions_and_gold_actions_judge_issues_without_expected_answers() {
        let sql = "grading:\n  sql:\n    - name: one\n      query: SELECT {{id}} = 1\n";
        assert_eq!(check("{\"id\": 1}\n", sql), []);
        let gold = "grading:\n  gold_actions: true\n";
        assert_eq!(
            check("{\"id\": 1, \"gold_actions\": []}\n", gold),
            [],
            "gold actions judge the issues that carry them"
        );
        let refused = check("{\"id\": 1}\n", gold);
        assert!(
            refused.len() == 1 && refused[0].0 && refused[0].1.starts_with("nothing judges"),
            "gold actions on, but no issue has any: {refused:?}"
        );
    }

    #[test]
    fn each_misconfiguration_is_an_error_at_its_spec_line() {
        let found = check(
            "{\"id\": 1, \"subject\": \"a\", \"expected\": {\"status\": \"closed\"}}\n",
            "  stratify_by: subjcet\nboundary:\n  default: read_only\n  tables:\n    note: writable\n",
        );
        let errors: Vec<(String, usize)> = found
            .into_iter()
            .filter(|(error, ..)| *error)
            .map(|(_, message, line)| (message, line))
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].0.contains("names `subjcet`"), "{errors:?}");
        assert_eq!(errors[0].1, 11);
        assert!(errors[1].0.contains("table `note`"), "{errors:?}");
        assert_eq!(errors[1].1, 15);
    }

    #[test]
    fn a_command_line_agent_is_checked_too() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join("issues.jsonl"),
            "{\"id\": 1, \"expected\": {\"a\": 1}}\n",
        )
        .unwrap();
        let spec_path = directory.path().join("pod.yaml");
        std::fs::write(
            &spec_path,
            "name: x\ndatabase:\n  image: postgres:15\nagent:\n  command: [\"/bin/true\"]\n  version: v1\nissues:\n  source: issues.jsonl\n",
        )
        .unwrap();
        let spec = agentpod_spec::load(&spec_path).unwrap();
        let issues = agentpod_issues::load(&spec.issues.source).unwrap();
        let missing = ["no-such-program-anywhere".to_owned()];
        let checks = preflight(&spec, &issues, Some(&missing));
        let errors: Vec<&Diagnostic> = checks.errors().collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "the agent program `no-such-program-anywhere` is not on PATH"
        );
        assert_eq!(errors[0].file, std::path::PathBuf::from("--agent-command"));
    }

    #[test]
    fn the_judge_judges_issues_and_customers_that_cannot_be_played_are_errors() {
        let judge = "judge:\n  rubric: the reply is polite\n  gateway:\n    upstream: stand-in\n";
        let judged = check("{\"id\": 1, \"subject\": \"a\"}\n", judge);
        assert_eq!(judged.len(), 1, "{judged:?}");
        assert!(!judged[0].0 && judged[0].1.contains("the judge is the stand-in model"));
        let misnamed = check(
            "{\"id\": 1, \"customer\": {\"persona\": \"Ann\"}, \"expected\": {\"a\": 1}}\n",
            "",
        );
        assert_eq!(misnamed.len(), 1, "{misnamed:?}");
        assert!(!misnamed[0].0 && misnamed[0].1.contains("looks like a simulated customer"));
        let customers = "{\"id\": 1, \"simulated_customer\": {\"turns\": [\"hi\"]}, \"expected\": {\"a\": 1}}\n\
                         {\"id\": 2, \"simulated_customer\": {\"persona\": \"Ann\"}, \"expected\": {\"a\": 1}}\n\
                         {\"id\": 3, \"simulated_customer\": [\"hi\"], \"expected\": {\"a\": 1}}\n";
        let found = check(customers, "");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].0 && found[0].1.contains("issue 3 (line 3"),
            "{found:?}"
        );
        assert!(
            found[1].0 && found[1].1.contains("1 issue has a customer with a persona"),
            "{found:?}"
        );
        let played = "customer:\n  gateway:\n    upstream: stand-in\n";
        assert_eq!(
            check(customers, played).len(),
            1,
            "the persona is played now"
        );
    }
}
