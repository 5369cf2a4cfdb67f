//! One pod's life in a run: start it, seed its template, serve issues from the shared queue until
//! the queue is empty or the run drains, then shut it down — on every path out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentpod_db::{BoundaryError, FixtureError, PodDatabase};
use agentpod_issues::Issue;
use agentpod_runtime::{Pod, PodRequest, Runtime, RuntimeError};
use agentpod_store::{OutcomeStatus, RunStore};

use crate::interrupt::Interrupt;
use crate::issue_execution::run_issue;
use crate::pod_gateways::PodGateways;
use crate::run_event::{RunEvent, RunReporter};
use crate::run_plan::RunPlan;

pub(crate) struct PodContext {
    pub(crate) pod: usize,
    pub(crate) plan: Arc<RunPlan>,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) store: RunStore,
    pub(crate) reporter: Arc<dyn RunReporter>,
    pub(crate) interrupt: Interrupt,
    pub(crate) queue: Arc<Mutex<VecDeque<Issue>>>,
}

#[derive(Debug)]
pub(crate) enum PodWorkerEnd {
    /// Served issues until the queue was empty or the run drained.
    Served,
    /// The pod's Postgres stopped answering under an issue; the worker starts a new pod.
    PodLost,
    /// The run was drained before this pod was ready.
    Drained,
    StartFailed(RuntimeError),
    /// The pod's gateways could not start.
    GatewayFailed(String),
    /// The run store refused an issue's result.
    StoreFailed(agentpod_store::StoreError),
    FixtureFailed(FixtureError),
    BoundaryFailed(BoundaryError),
    Panicked(String),
}

/// How many times a pod whose Postgres went away is replaced before the worker gives up.
const POD_REPLACEMENTS: usize = 2;

pub(crate) async fn run_pod_worker(context: PodContext) -> PodWorkerEnd {
    let mut replacements = 0;
    loop {
        if context.interrupt.is_draining() {
            return PodWorkerEnd::Drained;
        }
        context
            .reporter
            .report(&RunEvent::PodStarting { pod: context.pod });
        let started = Instant::now();
        let request = PodRequest {
            run_id: context.plan.run_id.clone(),
            pod_index: context.pod,
            image: context.plan.spec.database.image.clone(),
        };
        // Not raced against the interrupt: the start is bounded, and a started pod is then shut
        // down on the normal path.
        let pod = match context.runtime.start_pod(&request).await {
            Ok(pod) => pod,
            Err(error) => {
                context.reporter.report(&RunEvent::PodFailed {
                    pod: context.pod,
                    error: &error.to_string(),
                });
                return PodWorkerEnd::StartFailed(error);
            }
        };
        let end = serve(&context, pod.as_ref(), started).await;
        let pod_id = pod.id().to_string();
        if let Err(error) = pod.shutdown().await {
            tracing::warn!(pod = %pod_id, %error, "pod shutdown failed; `agentpod gc` will remove what is left");
        }
        context
            .reporter
            .report(&RunEvent::PodStopped { pod: context.pod });
        match end {
            PodWorkerEnd::PodLost if replacements < POD_REPLACEMENTS => {
                replacements += 1;
                context
                    .reporter
                    .report(&RunEvent::PodReplaced { pod: context.pod });
            }
            PodWorkerEnd::PodLost => return PodWorkerEnd::Served,
            end => return end,
        }
    }
}

async fn serve(context: &PodContext, pod: &dyn Pod, started: Instant) -> PodWorkerEnd {
    if context.interrupt.is_draining() {
        return PodWorkerEnd::Drained;
    }
    let report_failure = |error: &dyn std::fmt::Display| {
        let error = error.to_string();
        context.reporter.report(&RunEvent::PodFailed {
            pod: context.pod,
            error: &error,
        });
    };
    let fixtures = &context.plan.spec.database.fixtures;
    let mut database = match PodDatabase::seed(pod.postgres(), fixtures).await {
        Ok(database) => database,
        Err(error) => {
            report_failure(&error);
            return PodWorkerEnd::FixtureFailed(error);
        }
    };
    match database
        .apply_boundary(context.plan.spec.boundary.as_ref())
        .await
    {
        Ok(boundary) => {
            let boundary = serde_json::to_value(&boundary).unwrap_or_default();
            if let Err(error) = context
                .store
                .set_run_boundary(&context.plan.run_id, &boundary)
                .await
            {
                tracing::error!(%error, "cannot record the run's boundary in the run store");
            }
        }
        Err(error) => {
            report_failure(&error);
            database.close().await;
            return PodWorkerEnd::BoundaryFailed(error);
        }
    }
    let gateways = match PodGateways::start(&context.plan, pod).await {
        Ok(gateways) => gateways,
        Err(error) => {
            report_failure(&error);
            database.close().await;
            return PodWorkerEnd::GatewayFailed(error);
        }
    };
    context.reporter.report(&RunEvent::PodReady {
        pod: context.pod,
        pod_id: pod.id(),
        ready_in: started.elapsed(),
    });
    loop {
        if context.interrupt.is_draining() {
            break;
        }
        let next = context
            .queue
            .lock()
            .ok()
            .and_then(|mut queue| queue.pop_front());
        let Some(issue) = next else { break };
        context.reporter.report(&RunEvent::IssueStarted {
            pod: context.pod,
            issue_id: &issue.id,
        });
        let (mut outcome, boundary_events, steps) =
            run_issue(context, pod, &database, &gateways, &issue).await;
        // Whatever the agent did, the issue only counts if its pod held up to the end (its
        // database events were read from the server): ask the server, a few ms per issue.
        let pod_lost = !database.is_serving().await;
        if pod_lost {
            outcome.status = OutcomeStatus::InfrastructureError;
            outcome.reason = format!(
                "infrastructure: the pod's Postgres stopped answering ({})",
                outcome.reason
            );
        }
        // Written before anything else happens, so a run killed right after keeps this outcome.
        // A store that cannot be written stops the run: results that cannot be kept are not
        // worth producing, and the issue stays pending for `--resume`.
        if let Err(error) = context
            .store
            .record_issue_result(&outcome, &boundary_events, &steps)
            .await
        {
            tracing::error!(issue = %issue.id, %error, "cannot record the issue in the run store; stopping the run");
            context.interrupt.drain();
            gateways.shutdown().await;
            database.close().await;
            return PodWorkerEnd::StoreFailed(error);
        }
        context.reporter.report(&RunEvent::IssueFinished {
            pod: context.pod,
            outcome: &outcome,
        });
        if pod_lost {
            gateways.shutdown().await;
            database.close().await;
            return PodWorkerEnd::PodLost;
        }
    }
    gateways.shutdown().await;
    database.close().await;
    PodWorkerEnd::Served
}
