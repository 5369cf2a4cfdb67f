//! What `report`, `compare` and `gate` read from the run store: a run with its outcomes,
//! boundary events, steps and issues, and the production profile and gate thresholds of the spec
//! it ran with.

use std::collections::BTreeMap;

use agentpod_report::{
    CategoryMix, CurrentHandling, GateThresholds, ProductionBudgets, ProductionProfile,
    ReportContext, RunInput,
};
use agentpod_store::{RunRecord, RunStore, StoreError};
use serde_json::Value;

use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) struct StoredRun {
    pub(crate) input: RunInput,
    pub(crate) spec: Value,
}

/// Which of a run's records a command reads: a run's steps (every model and tool call, with
/// what was sent and received) are most of its store and only the HTML report's timelines show
/// them, so the other views leave them unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steps {
    Read,
    Skip,
}

pub(crate) async fn load_run(
    store: &RunStore,
    id_or_prefix: &str,
    steps: Steps,
) -> Result<StoredRun, Failure> {
    let run = store.find_run(id_or_prefix).await.map_err(read_error)?;
    // Figures never read what the agent wrote or the grader's detail.
    let outcomes = store
        .outcomes_without_texts(&run.id)
        .await
        .map_err(read_error)?;
    let events = store.boundary_events(&run.id).await.map_err(read_error)?;
    let steps = match steps {
        Steps::Read => store.steps(&run.id, None).await.map_err(read_error)?,
        Steps::Skip => Vec::new(),
    };
    // Stored as {id, fields, expected}; the analysis reads fields at the top, as in the issues file.
    let issues: BTreeMap<String, Value> = store
        .run_issues(&run.id)
        .await
        .map_err(read_error)?
        .into_iter()
        .map(|(id, stored)| {
            let mut flat = stored["fields"].as_object().cloned().unwrap_or_default();
            flat.insert("id".to_string(), Value::String(id.clone()));
            if let Some(expected) = stored
                .get("expected")
                .filter(|expected| expected.is_object())
            {
                flat.insert("expected".to_string(), expected.clone());
            }
            (id, Value::Object(flat))
        })
        .collect();
    let spec = store.run_spec(&run.id).await.map_err(read_error)?;
    let input = RunInput::new(run, outcomes)
        .with_boundary_events(events)
        .with_steps(steps)
        .with_issues(issues);
    Ok(StoredRun { input, spec })
}

/// What the HTML page's timelines are made of, for a report read back from the store: the run's
/// boundary events and steps (the figures are already in the report).
pub(crate) async fn timeline_input(store: &RunStore, run: RunRecord) -> Result<RunInput, Failure> {
    let events = store.boundary_events(&run.id).await.map_err(read_error)?;
    let steps = store.steps(&run.id, None).await.map_err(read_error)?;
    Ok(RunInput::new(run, Vec::new())
        .with_boundary_events(events)
        .with_steps(steps))
}

/// A run the command line named that is not there is the user's mistake; anything else the
/// store's.
pub(crate) fn read_error(error: StoreError) -> Failure {
    let exit = match error {
        StoreError::RunNotFound(_) | StoreError::AmbiguousRun { .. } => Exit::InvalidInput,
        _ => Exit::Setup,
    };
    Failure::from_error(exit, "", &error)
}

/// What the spec says a run is judged against: production, gate, and the sample's strata.
pub(crate) fn report_context(spec: &Value) -> ReportContext {
    ReportContext {
        production: production_profile(spec),
        gate: gate_thresholds(spec),
        stratify_by: spec["issues"]["stratify_by"].as_str().map(str::to_string),
    }
}

/// The spec's `production` section, as the analysis takes it.
pub(crate) fn production_profile(spec: &Value) -> Option<ProductionProfile> {
    let production = spec
        .get("production")
        .filter(|production| production.is_object())?;
    let number = |value: &Value| value.as_f64();
    Some(ProductionProfile {
        issues_per_month: number(&production["issues_per_month"])?,
        by_category: production
            .get("by_category")
            .filter(|mix| mix.is_object())
            .map(|mix| CategoryMix {
                field: mix["field"].as_str().unwrap_or_default().to_string(),
                weights: mix["shares"]
                    .as_object()
                    .map(|shares| {
                        shares
                            .iter()
                            .filter_map(|(name, share)| Some((name.clone(), share.as_f64()?)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        current: production
            .get("current")
            .filter(|current| current.is_object())
            .map(|current| CurrentHandling {
                cost_usd_per_issue: number(&current["cost_usd_per_issue"]).unwrap_or_default(),
                minutes_per_issue: number(&current["minutes_per_issue"]).unwrap_or_default(),
            }),
        budgets: ProductionBudgets {
            monthly_cost_usd: number(&production["budgets"]["monthly_cost_usd"]),
            p95_cost_usd_per_issue: number(&production["budgets"]["p95_cost_usd_per_issue"]),
            p95_seconds_per_issue: number(&production["budgets"]["p95_seconds_per_issue"]),
        },
    })
}

/// The spec's `gate` section; unset limits stay unchecked, except violations (none allowed).
pub(crate) fn gate_thresholds(spec: &Value) -> GateThresholds {
    let gate = &spec["gate"];
    let number = |key: &str| gate[key].as_f64();
    let count = |key: &str| gate[key].as_u64().map(|count| count as usize);
    GateThresholds {
        min_pass_rate: number("min_pass_rate"),
        max_regressions: count("max_regressions"),
        max_monthly_cost_usd: number("max_monthly_cost_usd"),
        max_p95_cost_usd: number("max_p95_cost_usd"),
        max_p95_seconds: number("max_p95_seconds"),
        max_violations: count("max_violations").or(Some(0)),
    }
}
