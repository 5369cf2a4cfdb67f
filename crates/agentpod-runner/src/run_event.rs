//! What a run tells its listeners while it goes, and the listener trait.

use std::time::Duration;

use agentpod_report::RunSummary;
use agentpod_store::OutcomeRecord;

/// Pods are numbered from 1, as people count them.
#[derive(Debug)]
pub enum RunEvent<'a> {
    RunStarted {
        run_id: &'a str,
        issues: usize,
        pods: usize,
        runtime: &'a str,
    },
    PodStarting {
        pod: usize,
    },
    PodReady {
        pod: usize,
        pod_id: &'a str,
        ready_in: Duration,
    },
    PodFailed {
        pod: usize,
        error: &'a str,
    },
    IssueStarted {
        pod: usize,
        issue_id: &'a str,
    },
    IssueFinished {
        pod: usize,
        outcome: &'a OutcomeRecord,
    },
    PodStopped {
        pod: usize,
    },
    /// The pod's Postgres went away under an issue; a new pod takes its place.
    PodReplaced {
        pod: usize,
    },
    Draining,
    RunFinished {
        summary: &'a RunSummary,
    },
}

/// Listens to a run: the terminal display, logs, tests. Called from the pods' tasks; keep it quick.
pub trait RunReporter: Send + Sync {
    fn report(&self, event: &RunEvent<'_>);
}

/// A reporter that ignores everything.
impl RunReporter for () {
    fn report(&self, _event: &RunEvent<'_>) {}
}
