//! The report of a stored run as `report` shows it: the report model stored with the run when it
//! was computed from the run's current records by this agentpod, else computed from the records
//! (and stored for next time, when the store can be written). Both give the same bytes in every
//! format; the HTML page's timelines are read afresh either way.

use agentpod_report::{DEFAULT_RESAMPLES, REPORT_MODEL_VERSION, RunReport};
use agentpod_store::{ReportModelLookup, RunStore};

use crate::commands::analysis_input::{
    Steps, load_run, read_error, report_context, timeline_input,
};
use crate::failure::Failure;

/// Intervals are bootstraps; a fixed seed makes a report the same every time it is rendered.
pub(crate) const REPORT_SEED: u64 = 7;

/// The run's report; with `Steps::Read`, with each issue's timeline (the HTML page).
pub(crate) async fn run_report(
    store: &RunStore,
    id_or_prefix: &str,
    steps: Steps,
) -> Result<RunReport, Failure> {
    let run = store.find_run(id_or_prefix).await.map_err(read_error)?;
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
pub(crate) async fn refresh_report_model(store: &RunStore, run_id: &str) {
    if let Err(failure) = run_report(store, run_id, Steps::Skip).await {
        tracing::debug!(?failure, "the run's report model was not stored");
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
