//! What a run tells its listeners while it goes, and the listener trait.

use std::time::Duration;

use agentpod_report::RunSummary;
use agentpod_store::OutcomeRecord;

/// Pods are numbered from 1, as people count them.
#[derive(Debug)]
pub enum RunEvent<'a> {
    RunStarted {
        run_id: &'a str,
        /// Distinct issues this run (or this resumption) works on.
        issues: usize,
        /// Trials per issue (`--trials K`); 1 for a plain run.
        trials: u32,
        /// (issue, trial) pairs to run: what a progress total counts.
        work: usize,
        pods: usize,
        runtime: &'a str,
        /// For a shard (`--shard K/N`): its part and group.
        shard: Option<(agentpod_store::ShardPart, &'a str)>,
    },
    PodStarting {
        pod: usize,
    },
    /// No cached template fits the fixtures: one pod's worth of seeding happens now, and the
    /// result is cached as `image` for this run's pods and later runs.
    SeedingTemplate {
        image: &'a str,
    },
    /// The freshly seeded template is cached as `image`.
    TemplateCached {
        image: &'a str,
        seeded_in: Duration,
    },
    /// The pods start from the template cached as `image`; nothing is seeded.
    TemplateFromCache {
        image: &'a str,
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
        trial: u32,
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
