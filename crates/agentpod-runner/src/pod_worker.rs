//! One pod's life in a run: start it, seed its template (or start from the run's cached one),
//! serve issues from the shared queue until the queue is empty or the run drains, then shut it
//! down — on every path out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentpod_db::{BoundaryError, FixtureError, PodDatabase, Spares};
use agentpod_error_chain::{ErrorChain, error_chain};
use agentpod_runtime::{Pod, Runtime, RuntimeError};
use agentpod_store::{OutcomeStatus, RunStore};

use crate::agent_slot::AgentSlot;
use crate::interrupt::Interrupt;
use crate::issue_execution::{IssueStart, run_issue};
use crate::issue_trial::IssueTrial;
use crate::pod_gateways::PodGateways;
use crate::run_budget::RunBudget;
use crate::run_event::{RunEvent, RunReporter};
use crate::run_plan::RunPlan;
use crate::seeded_template::{SeededTemplate, TemplateError, start_pod};

pub(crate) struct PodContext {
    pub(crate) pod: usize,
    pub(crate) plan: Arc<RunPlan>,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) store: RunStore,
    pub(crate) reporter: Arc<dyn RunReporter>,
    pub(crate) interrupt: Interrupt,
    pub(crate) queue: Arc<Mutex<VecDeque<IssueTrial>>>,
    pub(crate) template: Arc<SeededTemplate>,
    /// The run's upstream limits, one for all pods; `None` without limits.
    pub(crate) upstream_limiter: Option<agentpod_llm_gateway::UpstreamLimiter>,
    pub(crate) run_budget: Arc<RunBudget>,
    /// The run's judge and customer model, shared by every pod.
    pub(crate) side_models: crate::side_models::SideModels,
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
    GatewayFailed(crate::error::GatewayStartError),
    /// The run store refused an issue's result.
    StoreFailed(agentpod_store::StoreError),
    FixtureFailed(FixtureError),
    BoundaryFailed(BoundaryError),
    Panicked(String),
}

/// The longest the between-issues database work may take beside an issue.
const PREPARE_NEXT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How many times a pod whose Postgres went away is replaced before the worker gives up.
const POD_REPLACEMENTS: usize = 2;

pub(crate) async fn run_pod_worker(context: PodContext) -> PodWorkerEnd {
    let mut replacements = 0;
    loop {
        if context.interrupt.is_draining() {
            return PodWorkerEnd::Drained;
        }
        if context.run_budget.reached() {
            return PodWorkerEnd::Served;
        }
        context
            .reporter
            .report(&RunEvent::PodStarting { pod: context.pod });
        let started = Instant::now();
        let seed = match context.template.image(&context).await {
            Ok(seed) => seed,
            Err(error) => return template_failed(&context, error),
        };
        // Not raced against the interrupt: the start is bounded, and a started pod is then shut
        // down on the normal path.
        let (pod, seeded) = match start_pod(&context, seed.as_ref()).await {
            Ok(started) => started,
            Err(error) => {
                context.reporter.report(&RunEvent::PodFailed {
                    pod: context.pod,
                    error: &error_chain(&error),
                });
                return PodWorkerEnd::StartFailed(error);
            }
        };
        let end = serve(&context, pod.as_ref(), started, seeded).await;
        let pod_id = pod.id().to_string();
        if let Err(error) = pod.shutdown().await {
            tracing::warn!(pod = %pod_id, error = %ErrorChain(&error), "pod shutdown failed; `agentpod gc` will remove what is left");
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

/// A started sandbox for the pod's next sandboxed host agent; `None` where the agent is not
/// one, or where it cannot be started ahead (logged; the issue then starts its agent cold,
/// which says why it cannot start, if it cannot).
fn open_slot(context: &PodContext) -> Option<AgentSlot> {
    match AgentSlot::open(context)? {
        Ok(slot) => Some(slot),
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "cannot start the next agent's sandbox ahead; it starts with its issue");
            None
        }
    }
}

/// The next agent's sandbox, started and, while the current agent works, seen set up.
/// Bubblewrap can lose a race with a mount another pod's slot makes or removes while it sets
/// up: such a sandbox is replaced here rather than when its issue starts (which then starts the
/// agent cold). Where two in a row fail, the issue starts its own. Once the current agent
/// ended, nothing waits for this: the slot goes to the next issue as it is, whose start finds
/// out (a quick agent's issues would otherwise wait for every sandbox's set-up in turn).
async fn ready_slot(context: &PodContext, agent_ended: &tokio::sync::Notify) -> Option<AgentSlot> {
    for attempt in 1..=2 {
        let mut slot = open_slot(context)?;
        tokio::select! {
            ready = slot.ready() => {
                if ready {
                    return Some(slot);
                }
                tracing::debug!(attempt, "the next agent's sandbox ended while it set up; starting another");
            }
            () = agent_ended.notified() => return Some(slot),
        }
    }
    None
}

fn template_failed(context: &PodContext, error: TemplateError) -> PodWorkerEnd {
    let report_failure = |error: &(dyn std::error::Error + 'static)| {
        context.reporter.report(&RunEvent::PodFailed {
            pod: context.pod,
            error: &error_chain(error),
        });
    };
    match error {
        TemplateError::Fixture(error) => {
            report_failure(&error);
            PodWorkerEnd::FixtureFailed(error)
        }
        TemplateError::Boundary(error) => {
            report_failure(&error);
            PodWorkerEnd::BoundaryFailed(error)
        }
        TemplateError::FailedElsewhere => PodWorkerEnd::Drained,
    }
}

/// `seeded`: the pod was started from a seed image and its template is already there.
async fn serve(
    context: &PodContext,
    pod: &dyn Pod,
    started: Instant,
    seeded: bool,
) -> PodWorkerEnd {
    if context.interrupt.is_draining() {
        return PodWorkerEnd::Drained;
    }
    let report_failure = |error: &(dyn std::error::Error + 'static)| {
        context.reporter.report(&RunEvent::PodFailed {
            pod: context.pod,
            error: &error_chain(error),
        });
    };
    let fixtures = &context.plan.spec.database.fixtures;
    let boundary = context.plan.spec.boundary.as_ref();
    let (database, applied) = if seeded {
        match PodDatabase::attach(pod.postgres(), boundary).await {
            Ok((database, effective)) => (database, Ok(effective)),
            Err(error) => {
                report_failure(&error);
                return PodWorkerEnd::BoundaryFailed(error);
            }
        }
    } else {
        let mut database = match PodDatabase::seed(pod.postgres(), fixtures).await {
            Ok(database) => database,
            Err(error) => {
                report_failure(&error);
                return PodWorkerEnd::FixtureFailed(error);
            }
        };
        let applied = database.apply_boundary(boundary).await;
        (database, applied)
    };
    match applied {
        Ok(boundary) => {
            let boundary = serde_json::to_value(&boundary).unwrap_or_default();
            if let Err(error) = context
                .store
                .set_run_boundary(&context.plan.run_id, &boundary)
                .await
            {
                tracing::error!(error = %ErrorChain(&error), "cannot record the run's boundary in the run store");
            }
        }
        Err(error) => {
            report_failure(&error);
            database.close().await;
            return PodWorkerEnd::BoundaryFailed(error);
        }
    }
    let gateways =
        match PodGateways::start(&context.plan, pod, context.upstream_limiter.as_ref()).await {
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
    // The sandbox of the next issue's agent, started while the current one works.
    let mut next_slot: Option<AgentSlot> = None;
    loop {
        // The run's cost budget stops new issues; those running finish.
        if context.interrupt.is_draining() || context.run_budget.reached() {
            break;
        }
        let next = context
            .queue
            .lock()
            .ok()
            .and_then(|mut queue| queue.pop_front());
        let Some(IssueTrial {
            issue,
            trial,
            pod_losses,
        }) = next
        else {
            break;
        };
        context.reporter.report(&RunEvent::IssueStarted {
            pod: context.pod,
            issue_id: &issue.id,
            trial,
        });
        // While the agent works, the pod drops the last issue's databases and clones the next
        // one's (and this one's gold clone) and starts the next agent's sandbox, off the issue's
        // path: on a connection of its own, so the issue's hand-out and events never wait behind
        // a clone. Bounded, so a frozen server cannot hold the pod past the issue's own timeouts.
        let spares = Spares {
            next_issue: context.queue.lock().is_ok_and(|queue| !queue.is_empty()),
            // The gold replay's clone, made while the agent works like the next issue's.
            grading: context.plan.spec.grading.gold_actions && issue.gold_actions().is_some(),
        };
        let handed_out = tokio::sync::Notify::new();
        let agent_ended = tokio::sync::Notify::new();
        let prepare_next = async {
            // After this issue's hand-out, which would otherwise wait behind the clones.
            handed_out.notified().await;
            if spares != Spares::default() {
                let _ =
                    tokio::time::timeout(PREPARE_NEXT_TIMEOUT, database.prepare_next(spares)).await;
            }
            // The next agent's sandbox too, once the clones are under way.
            if spares.next_issue {
                ready_slot(context, &agent_ended).await
            } else {
                None
            }
        };
        let slot = next_slot.take().or_else(|| open_slot(context));
        let ((mut outcome, boundary_events, steps), prepared_slot) = tokio::join!(
            run_issue(
                context,
                pod,
                &database,
                &gateways,
                &issue,
                trial,
                IssueStart {
                    slot,
                    handed_out: &handed_out,
                    agent_ended: &agent_ended,
                },
            ),
            prepare_next
        );
        next_slot = prepared_slot;
        let recording = Instant::now();
        // Whatever the agent did, the issue only counts if its pod held up to the end (its
        // database events were read from the server): ask the server, under a ms per issue.
        let pod_lost = !database.is_serving().await;
        if pod_lost && pod_losses == 0 {
            // The agent may have brought the server down (memory, disk, connections), or the
            // host did: the trial runs again, first, on a fresh pod, and this attempt counts
            // for nothing. A run stopped before then leaves it pending for `--resume`.
            tracing::warn!(issue = %issue.id, trial, "the pod's Postgres stopped answering under this issue; running it again on a fresh pod");
            if let Ok(mut queue) = context.queue.lock() {
                queue.push_front(IssueTrial {
                    issue: issue.clone(),
                    trial,
                    pod_losses: 1,
                });
            }
            gateways.shutdown().await;
            database.close().await;
            return PodWorkerEnd::PodLost;
        }
        if pod_lost {
            // The second pod to die under the same trial: the trial's own doing.
            outcome.status = OutcomeStatus::Errored;
            outcome.reason = format!(
                "the pod's Postgres stopped answering under this issue on two pods in a row ({})",
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
            tracing::error!(issue = %issue.id, trial, error = %ErrorChain(&error), "cannot record the issue in the run store; stopping the run");
            context.interrupt.drain();
            gateways.shutdown().await;
            database.close().await;
            return PodWorkerEnd::StoreFailed(error);
        }
        // The run's spend is everything it asked models for: the judge's and the simulated
        // customers' calls too (reports keep them apart from the agent's).
        context
            .run_budget
            .spend(Some(outcome.usage.total_cost_usd()));
        tracing::debug!(
            issue = %issue.id,
            trial,
            record_ms = recording.elapsed().as_secs_f64() * 1e3,
            "issue recorded"
        );
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
