//! `execute`: a whole run. Records it, starts one worker per pod over a shared queue of issue
//! trials, waits for them, and closes the run with its summary — also when it was interrupted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use agentpod_issues::Issue;
use agentpod_report::{RunSummary, summarize};
use agentpod_runtime::Runtime;
use agentpod_store::{NewRun, RunStatus, RunStore};
use tokio::task::JoinSet;

use crate::error::RunError;
use crate::interrupt::Interrupt;
use crate::issue_trial::IssueTrial;
use crate::pod_gateways::upstream_limiter;
use crate::pod_worker::{PodContext, PodWorkerEnd, run_pod_worker};
use crate::run_budget::RunBudget;
use crate::run_event::{RunEvent, RunReporter};
use crate::run_plan::RunPlan;
use crate::seeded_template::SeededTemplate;
use crate::side_models::SideModels;

/// How a run ended. A run with failing or erroring issues still ends `Finished`.
#[derive(Debug)]
pub struct RunResult {
    pub status: RunStatus,
    pub summary: RunSummary,
    /// Set when the run failed as a whole (e.g. a fixture error, no pod could start).
    pub error: Option<RunError>,
}

/// Runs `plan` on `runtime`, writing to `store` and telling `reporter` as it goes.
pub async fn execute(
    plan: RunPlan,
    runtime: Arc<dyn Runtime>,
    store: RunStore,
    reporter: Arc<dyn RunReporter>,
    interrupt: Interrupt,
) -> Result<RunResult, RunError> {
    let plan = Arc::new(plan);
    // Before anything is recorded: a judge or customer model that cannot start is the spec's
    // or the machine's problem, said before a run exists.
    let limiter = upstream_limiter(plan.spec.model.as_ref());
    let side_models = SideModels::start(&plan.spec, limiter.as_ref())
        .await
        .map_err(RunError::Gateways)?;
    // What a resumed run spent before counts against its budget.
    let mut spent_before = 0.0;
    if plan.resumed {
        if let Some(sharding) = &plan.sharding {
            store
                .resume_shard(&plan.run_id, &sharding.host, chrono::Utc::now())
                .await?;
        }
        store.reopen_run(&plan.run_id).await?;
        if plan.spec.budgets.max_run_cost_usd.is_some() {
            spent_before = store
                .outcomes(&plan.run_id)
                .await?
                .iter()
                .map(|outcome| outcome.usage.total_cost_usd())
                .sum();
        }
    } else {
        store
            .create_run(&new_run_record(&plan, runtime.kind().to_string()))
            .await?;
    }
    let runtime_name = runtime.kind().to_string();
    reporter.report(&RunEvent::RunStarted {
        run_id: &plan.run_id,
        issues: plan.issues.len(),
        trials: plan.trials,
        work: plan.work.len(),
        pods: plan.pods,
        runtime: &runtime_name,
        shard: plan
            .sharding
            .as_ref()
            .and_then(|sharding| Some((sharding.shard_part()?, sharding.group.as_str()))),
    });

    let queue: Arc<Mutex<VecDeque<IssueTrial>>> =
        Arc::new(Mutex::new(plan.work.iter().cloned().collect()));
    // Seeded (or found in the cache) once, by the first pod to ask; the others wait for it.
    let template = Arc::new(SeededTemplate::new(plan.seed_cache));
    let run_budget = Arc::new(RunBudget::new(
        plan.spec.budgets.max_run_cost_usd,
        spent_before,
    ));
    let mut workers = JoinSet::new();
    for pod in 1..=plan.pods {
        let context = PodContext {
            pod,
            plan: plan.clone(),
            runtime: runtime.clone(),
            store: store.clone(),
            reporter: reporter.clone(),
            interrupt: interrupt.clone(),
            queue: queue.clone(),
            template: template.clone(),
            upstream_limiter: limiter.clone(),
            run_budget: run_budget.clone(),
            side_models: side_models.clone(),
        };
        workers.spawn(run_pod_worker(context));
    }

    let mut ends = Vec::new();
    let mut draining_reported = false;
    let mut aborted = false;
    loop {
        let joined = tokio::select! {
            joined = workers.join_next() => joined,
            _ = interrupt.drained(), if !draining_reported => {
                draining_reported = true;
                reporter.report(&RunEvent::Draining);
                continue;
            }
            _ = interrupt.forced(), if !aborted => {
                aborted = true;
                // Aborting drops each worker's future: agents' process groups are killed and pods
                // removed by their guards. Joining below waits until that has happened.
                workers.abort_all();
                continue;
            }
        };
        let Some(joined) = joined else { break };
        match joined {
            Ok(end) => {
                // A fixture error is the same in every pod: stop the others instead of seeding in vain.
                if matches!(
                    end,
                    PodWorkerEnd::FixtureFailed(_) | PodWorkerEnd::BoundaryFailed(_)
                ) {
                    interrupt.drain();
                }
                ends.push(end);
            }
            Err(join_error) if join_error.is_cancelled() => ends.push(PodWorkerEnd::Drained),
            // A panic in one pod's task: its guards removed the pod; the run carries on without it.
            Err(join_error) => ends.push(PodWorkerEnd::Panicked(join_error.to_string())),
        }
    }

    let served = ends.iter().any(|end| matches!(end, PodWorkerEnd::Served));
    let mut error = None;
    for end in ends {
        if error.is_some() {
            break;
        }
        error = match end {
            PodWorkerEnd::FixtureFailed(fixture_error) => Some(RunError::Fixture(fixture_error)),
            PodWorkerEnd::StoreFailed(store_error) => Some(RunError::Store(store_error)),
            PodWorkerEnd::BoundaryFailed(boundary_error) => {
                Some(RunError::Boundary(boundary_error))
            }
            PodWorkerEnd::StartFailed(runtime_error) if !served => {
                Some(RunError::NoPod(runtime_error))
            }
            PodWorkerEnd::Panicked(message) if !served => Some(RunError::PodPreparation(message)),
            PodWorkerEnd::GatewayFailed(gateway_error) if !served => {
                Some(RunError::Gateways(gateway_error))
            }
            _ => None,
        };
    }
    let left_in_queue = queue.lock().map(|queue| queue.len()).unwrap_or(0);
    let status = if error.is_some() {
        RunStatus::Failed
    } else if interrupt.is_draining() {
        RunStatus::Interrupted
    } else if run_budget.reached() && left_in_queue > 0 {
        RunStatus::BudgetReached
    } else if left_in_queue > 0 {
        RunStatus::Interrupted
    } else {
        RunStatus::Finished
    };

    let summary = close_run(&store, &plan.run_id, status).await?;
    reporter.report(&RunEvent::RunFinished { summary: &summary });
    Ok(RunResult {
        status,
        summary,
        error,
    })
}

/// Writes the run's end and summary. Also used by the CLI after a forced stop.
pub async fn close_run(
    store: &RunStore,
    run_id: &str,
    status: RunStatus,
) -> Result<RunSummary, RunError> {
    let finished_at = chrono::Utc::now();
    let mut run = store.find_run(run_id).await?;
    run.status = status;
    run.finished_at = Some(finished_at);
    let outcomes = store.outcomes(run_id).await?;
    let boundary_events = store.boundary_events(run_id).await?;
    let summary = summarize(&run, &outcomes, &boundary_events);
    let summary_json = serde_json::to_value(&summary).unwrap_or_default();
    store
        .finish_run(run_id, status, finished_at, &summary_json)
        .await?;
    Ok(summary)
}

fn new_run_record(plan: &RunPlan, runtime: String) -> NewRun {
    NewRun {
        id: plan.run_id.clone(),
        spec_name: plan.spec.name.clone(),
        spec_path: plan.spec.path.display().to_string(),
        agent_version: plan.agent_version.clone(),
        runtime,
        pods: plan.pods,
        seed: plan.seed,
        trials: plan.trials,
        started_at: chrono::Utc::now(),
        spec_json: serde_json::to_value(&plan.spec).unwrap_or_default(),
        issues: plan
            .issues
            .iter()
            .map(|issue| (issue.id.clone(), issue_json(issue)))
            .collect(),
        evaluation_set: plan.evaluation_set.clone(),
        sharding: plan.sharding.clone(),
    }
}

pub(crate) fn issue_json(issue: &Issue) -> serde_json::Value {
    serde_json::json!({ "id": issue.id, "fields": issue.fields, "expected": issue.expected })
}
