//! Can every issue's simulated customer be simulated? An issue's `simulated_customer` must be a
//! script of turns or a persona, and a persona needs the spec's customer model (`customer.model`):
//! said before the run, naming the issues, rather than as an errored outcome per issue.

use agentpod_issues::Issue;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

use crate::simulated_customer::CustomerScript;

pub(super) fn check(
    spec: &PodSpec,
    issues: &[Issue],
    locations: &SpecLocations,
) -> Vec<Diagnostic> {
    let source = spec.issues.source.display();
    let mut malformed = Vec::new();
    let mut unplayed = Vec::new();
    for issue in issues {
        match CustomerScript::of_issue(&issue.fields) {
            Err(error) => malformed.push(format!(
                "issue {} (line {} of {source}): {error}",
                issue.id, issue.line
            )),
            Ok(Some(CustomerScript::Persona { .. })) if spec.customer.side_model.is_none() => {
                unplayed.push(issue.id.as_str());
            }
            Ok(_) => {}
        }
    }
    let mut diagnostics = Vec::new();
    if !malformed.is_empty() {
        let named = super::named_problems(&malformed);
        diagnostics.push(locations.at_value("issues.source", named).with_help(
            "a customer is `{\"turns\": [\"first reply\", ...]}` or `{\"persona\": \"...\", \"instructions\": \"...\"}` (README: Simulated customers)",
        ));
    }
    if !unplayed.is_empty() {
        diagnostics.push(
            locations
                .at_value(
                    "issues.source",
                    format!(
                        "{} issue{} a customer with a persona and the spec names no model to play it: {}",
                        unplayed.len(),
                        if unplayed.len() == 1 { " has" } else { "s have" },
                        super::quoted_list(&unplayed, super::NAMED_PROBLEMS)
                    ),
                )
                .with_help("add a `customer` section with `model` (and `gateway`, or a top-level `model` section), or give those customers `turns`"),
        );
    }
    diagnostics
}
