//! The checks `validate` and `run` share before anything starts: what makes a run's verdict
//! mean nothing or hands the agent its answer, found from the spec, its loaded issues (after any
//! mapping the issues crate applies), its fixture files and the agent program — each reported
//! like the spec's own problems, with file, line and a suggestion.
//!
//! Errors: nothing judges the issues (no `expected`, no SQL assertion, no gold actions), a
//! `stratify_by` field the issues lack, an agent program that is not there, a boundary table the
//! fixtures do not create. Warnings: a field shown to the agent that is also an expected
//! answer, and issues that nothing judges among others that are judged.

mod agent_program;
mod answer_columns;
mod boundary_tables;
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
    diagnostics.extend(stratify_field::check(spec, issues, &locations));
    diagnostics.extend(agent_program::check(spec, agent_command, &locations));
    diagnostics.extend(boundary_tables::check(spec, &locations));
    Preflight { diagnostics }
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
