//! `issues.stratify_by` must name a field the issues have (or `expected.<field>`, an expected
//! answer's): the sampler refuses one no issue has, but only once a run starts and without
//! saying where it is written.

use std::collections::BTreeSet;

use agentpod_issues::Issue;
use agentpod_spec::{Diagnostic, PodSpec, SpecLocations};

use super::{closest, quoted_list};

pub(super) fn check(
    spec: &PodSpec,
    issues: &[Issue],
    locations: &SpecLocations,
) -> Option<Diagnostic> {
    let field = spec.issues.stratify_by.as_deref()?;
    let has = |issue: &Issue| match field.strip_prefix("expected.") {
        Some(name) => issue
            .expected
            .as_ref()
            .is_some_and(|expected| expected.contains_key(name)),
        None => issue.fields.contains_key(field),
    };
    if issues.iter().any(has) {
        return None;
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for issue in issues {
        names.extend(issue.fields.keys().cloned());
        if let Some(expected) = &issue.expected {
            names.extend(expected.keys().map(|name| format!("expected.{name}")));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let help = match closest(field, &names) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None if names.is_empty() => "the issues have no fields besides their id".to_owned(),
        None => format!("the issues have {}", quoted_list(&names, 8)),
    };
    Some(
        locations
            .at_value(
                "issues.stratify_by",
                format!(
                    "`issues.stratify_by` names `{field}`, which no issue in {} has",
                    spec.issues.source.display()
                ),
            )
            .with_help(help),
    )
}
