//! A stored run read back for its figures: the run's records from the run store as a
//! [`RunInput`], the spec's production profile and gate as a [`ReportContext`], and the report
//! itself — the report model stored with the run when it was computed from the run's current
//! records by this agentpod, else computed from the records (and stored for next time, when the
//! store can be written). Both give the same bytes in every format; the HTML page's timelines are
//! read afresh either way.
//!
//! One reader for every view of a stored run: `agentpod report`, `compare` and `gate`, and the
//! pages of `agentpod view`, so none of them holds a second copy of how a run becomes figures.

use std::collections::BTreeMap;

use agentpod_store::{ReportModelLookup, RunRecord, RunStore, StoreError};
use serde_json::Value;

use crate::figures::{
    CategoryMix, CurrentHandling, DEFAULT_RESAMPLES, GateThresholds, ProductionBudgets,
    ProductionProfile, REPORT_MODEL_VERSION, ReportContext, RunInput, RunReport,
};

/// Intervals are bootstraps; a fixed seed makes a report the same every time it is rendered.
pub const REPORT_SEED: u64 = 7;

/// A run's records as figures read them, and the spec it ran with.
pub struct StoredRun {
    pub input: RunInput,
    pub spec: Value,
}

/// Which of a run's records a view reads: a run's steps (every model and tool call, with what
/// was sent and received) are most of its store and only the HTML report's timelines show them,
/// so the other views leave them unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    Read,
    Skip,
}

/// The run `id_or_prefix` names (`latest` for the newest), read for its figures.
pub async fn load_run(
    store: &RunStore,
    id_or_prefix: &str,
    steps: Steps,
) -> Result<StoredRun, StoreError> {
    let run = store.find_run(id_or_prefix).await?;
    // Figures never read what the agent wrote or the grader's detail.
    let outcomes = store.outcomes_without_texts(&run.id).await?;
    let events = store.boundary_events(&run.id).await?;
    let steps = match steps {
        Steps::Read => store.steps(&run.id, None).await?,
        Steps::Skip => Vec::new(),
    };
    // Stored as {id, fields, expected}; the analysis reads fields at the top, as in the issues file.
    let issues: BTreeMap<String, Value> = store
        .run_issues(&run.id)
        .await?
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
    let spec = store.run_spec(&run.id).await?;
    let input = RunInput::new(run, outcomes)
        .with_boundary_events(events)
        .with_steps(steps)
        .with_issues(issues)
        .with_side_model_settings(&spec);
    Ok(StoredRun { input, spec })
}

/// What the HTML page's timelines are made of, for a report read back from the store: the run's
/// boundary events and steps (the figures are already in the report).
pub async fn timeline_input(store: &RunStore, run: RunRecord) -> Result<RunInput, StoreError> {
    let events = store.boundary_events(&run.id).await?;
    let steps = store.steps(&run.id, None).await?;
    Ok(RunInput::new(run, Vec::new())
        .with_boundary_events(events)
        .with_steps(steps))
}

/// The run's report; with `Steps::Read`, with each issue's timeline (the HTML page).
pub async fn run_report(
    store: &RunStore,
    id_or_prefix: &str,
    steps: Steps,
) -> Result<RunReport, StoreError> {
    let run = store.find_run(id_or_prefix).await?;
    // The revision is read before the records, so a write in between leaves a model that is
    // older than the revision it is stored under only ever refused, never used.
    let lookup = look_up(store, &run.id).await;
    if let Some(report) = lookup.as_ref().and_then(stored_report) {
        return Ok(match steps {
            Steps::Skip => report,
            Steps::Read => report.with_timelines(&timeline_input(store, run).await?),
        });
    }
    let stored = load_run(store, &run.id, steps).await?;
    let report = RunReport::build_in(
        &stored.input,
        &report_context(&stored.spec),
        REPORT_SEED,
        DEFAULT_RESAMPLES,
    );
    if let Some(lookup) = lookup {
        keep(store, &report, lookup.revision).await;
    }
    Ok(report)
}

/// Computes and stores the run's report model when it has none of its current records: at the
/// end of a run, so its first `report` reads it. A failure only costs that report its speed.
pub async fn refresh_report_model(store: &RunStore, run_id: &str) {
    if let Err(error) = run_report(store, run_id, Steps::Skip).await {
        tracing::debug!(%error, "the run's report model was not stored");
    }
}

async fn look_up(store: &RunStore, run_id: &str) -> Option<ReportModelLookup> {
    store
        .report_model(run_id, REPORT_MODEL_VERSION)
        .await
        .inspect_err(|error| tracing::debug!(%error, "cannot read the stored report model"))
        .ok()
        .flatten()
}

fn stored_report(lookup: &ReportModelLookup) -> Option<RunReport> {
    RunReport::from_stored_model(lookup.model.as_deref()?)
        .filter(|report| report.seed == REPORT_SEED && report.resamples == DEFAULT_RESAMPLES)
}

async fn keep(store: &RunStore, report: &RunReport, revision: i64) {
    let Some(model) = report.to_stored_model() else {
        return;
    };
    if let Err(error) = store
        .store_report_model(&report.run_id, revision, REPORT_MODEL_VERSION, &model)
        .await
    {
        // A read-only store still reports; it computes every time.
        tracing::debug!(%error, "cannot store the report model");
    }
}

/// What the spec says a run is judged against: production, gate, and the sample's strata.
pub fn report_context(spec: &Value) -> ReportContext {
    ReportContext {
        production: production_profile(spec),
        gate: gate_thresholds(spec),
        stratify_by: spec["issues"]["stratify_by"].as_str().map(str::to_string),
    }
}

/// The spec's `production` section, as the analysis takes it.
pub fn production_profile(spec: &Value) -> Option<ProductionProfile> {
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
pub fn gate_thresholds(spec: &Value) -> GateThresholds {
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
