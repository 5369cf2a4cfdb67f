//! Can every issue's simulated customer be simulated? (And: a `customer` field shaped like a
//! simulated customer is shown to the agent whole; a stand-in judge grades no agent.) An issue's
//! `simulated_customer` must be a script of turns or a persona, and a persona needs the spec's
//! customer model (`customer.model`): said before the run, naming the issues, rather than as an
//! errored outcome per issue.

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
    let mut misnamed = Vec::new();
    for issue in issues {
        if issue
            .fields
            .get("customer")
            .and_then(serde_json::Value::as_object)
            .is_some_and(|customer| {
                customer.contains_key("persona") || customer.contains_key("turns")
            })
        {
            misnamed.push(issue.id.as_str());
        }
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
    if !misnamed.is_empty() {
        diagnostics.push(
            locations
                .at_value(
                    "issues.source",
                    format!(
                        "{} issue{} a `customer` field that looks like a simulated customer (`persona` or `turns`), and the agent is shown it whole: {}",
                        misnamed.len(),
                        if misnamed.len() == 1 { " has" } else { "s have" },
                        super::quoted_list(&misnamed, super::NAMED_PROBLEMS)
                    ),
                )
                .with_help("a simulated customer is the `simulated_customer` field, which the agent never sees; rename the field")
                .as_warning(),
        );
    }
    if let Some(judge) = &spec.judge
        && judge
            .side_model
            .gateway(spec.model.as_ref())
            .is_some_and(|gateway| gateway.upstream == agentpod_spec::ModelUpstream::StandIn)
    {
        diagnostics.push(
            locations
                .at_key("judge", "the judge is the stand-in model: it matches words, so it tests agentpod's plumbing and grades no agent")
                .with_help("give `judge.gateway` a real upstream (or `replay` of recorded judgements) to grade agents")
                .as_warning(),
        );
    }
    diagnostics
}
