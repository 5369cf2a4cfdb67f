//! Are the issues' gold actions tool calls? With `grading.gold_actions`, an issue whose
//! `gold_actions` are not a list of `{"tool", "arguments"}` could never be graded: said before
//! the run, naming the issue, its line and the action, rather than as a failed check per issue.

use agentpod_error_chain::error_chain;
use agentpod_issues::Issue;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

use crate::issue_grading::tool_calls;

pub(super) fn check(
    spec: &PodSpec,
    issues: &[Issue],
    locations: &SpecLocations,
) -> Vec<Diagnostic> {
    if !spec.grading.gold_actions {
        return Vec::new();
    }
    let source = spec.issues.source.display();
    let malformed: Vec<String> = issues
        .iter()
        .filter_map(|issue| {
            let error = tool_calls(issue.gold_actions()?).err()?;
            Some(format!(
                "issue {} (line {} of {source}): {}",
                issue.id,
                issue.line,
                error_chain(&error)
            ))
        })
        .collect();
    let Some(first) = malformed.first() else {
        return Vec::new();
    };
    let message = if malformed.len() == 1 {
        first.clone()
    } else {
        let named = super::named_problems(&malformed);
        format!(
            "{} issues have gold actions that are not tool calls: {named}",
            malformed.len()
        )
    };
    vec![
        locations
            .at_value("issues.source", message)
            .with_help(
                "a gold action is `{\"tool\": NAME, \"arguments\": {...}}` for a tool the pod offers (README: Gold actions)",
            ),
    ]
}
