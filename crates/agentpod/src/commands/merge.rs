//! `agentpod merge BUNDLE…` (or `--group GROUP`, the shards already in a shared store): the parts
//! of a run checked and made one run in this run store, with its summary and stored report, as
//! if it had run on one machine.

use agentpod_report::{render_summary, summarize};
use agentpod_store::{RunBundle, RunStatus, RunStore, merge_shard_bundles};

use crate::cli::{GlobalOptions, MergeArgs};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn merge(global: &GlobalOptions, args: MergeArgs) -> Result<Exit, Failure> {
    let store = RunStore::open_location(&global.store)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot open the run store", &error))?;
    let bundles = match &args.group {
        Some(group) => stored_shards(&store, group).await?,
        None => {
            let mut bundles = Vec::new();
            for path in &args.bundles {
                bundles.push((path.display().to_string(), read_bundle(path)?));
            }
            bundles
        }
    };
    let run_id = agentpod_runner::new_run_id();
    let merged = merge_shard_bundles(&bundles, &run_id)
        .map_err(|error| Failure::new(Exit::InvalidInput, format!("error: {error}")))?;
    drop(bundles);
    let summary = store_merged_run(&store, &merged)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot store the merged run", &error))?;
    agentpod_report::stored_run::refresh_report_model(&store, &run_id).await;
    store.close().await;
    if let Some(sharding) = &merged.run.sharding {
        eprintln!(
            "merged {} shards of group {} into run {run_id} ({} outcomes)",
            sharding.parts,
            sharding.group,
            merged.outcomes.len()
        );
    }
    print!("{}", render_summary(&summary));
    if let Some(path) = &args.json {
        crate::commands::run::write_json(path, &summary)?;
    }
    Ok(Exit::Success)
}

/// The group's shards in the store, each as the bundle it would export, named by its run id.
/// A part run more than once (a CI job re-run, a shard started afresh elsewhere) counts by its
/// one finished run, the others named and left out; with none or several finished, all are
/// given to the merge, which names the problem.
async fn stored_shards(store: &RunStore, group: &str) -> Result<Vec<(String, RunBundle)>, Failure> {
    let read_failure = |error: agentpod_store::StoreError| {
        Failure::from_error(Exit::Setup, "cannot read the run store", &error)
    };
    let runs = store.shard_runs(group).await.map_err(read_failure)?;
    if runs.is_empty() {
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "error: the run store {} holds no shard of group `{group}` (see `agentpod runs`)",
                store.location()
            ),
        ));
    }
    let mut by_part: std::collections::BTreeMap<u32, Vec<agentpod_store::RunRecord>> =
        Default::default();
    for run in runs {
        let part = run
            .sharding
            .as_ref()
            .and_then(|sharding| sharding.part)
            .unwrap_or(0);
        by_part.entry(part).or_default().push(run);
    }
    let mut bundles = Vec::new();
    for (part, runs) in by_part {
        let finished: Vec<&agentpod_store::RunRecord> = runs
            .iter()
            .filter(|run| run.status == RunStatus::Finished)
            .collect();
        let chosen: Vec<&agentpod_store::RunRecord> = if runs.len() > 1 && finished.len() == 1 {
            for other in runs.iter().filter(|run| run.id != finished[0].id) {
                eprintln!(
                    "shard {part}: run {} ({}) left out for run {}, the part's finished run",
                    other.id,
                    other.status.as_str(),
                    finished[0].id
                );
            }
            finished
        } else {
            runs.iter().collect()
        };
        for run in chosen {
            let bundle = store.export_bundle(&run.id).await.map_err(read_failure)?;
            bundles.push((format!("run {}", run.id), bundle));
        }
    }
    Ok(bundles)
}

/// Adds the merged run and writes its summary, as `execute` does at a run's end.
async fn store_merged_run(
    store: &RunStore,
    merged: &RunBundle,
) -> Result<agentpod_report::RunSummary, agentpod_store::StoreError> {
    store.import_bundle(merged).await?;
    let run = store.find_run(&merged.run.id).await?;
    let outcomes = store.outcomes(&run.id).await?;
    let boundary_events = store.boundary_events(&run.id).await?;
    let summary = summarize(&run, &outcomes, &boundary_events);
    let finished_at = run.finished_at.unwrap_or_else(chrono::Utc::now);
    store
        .finish_run(
            &run.id,
            RunStatus::Finished,
            finished_at,
            &serde_json::to_value(&summary).unwrap_or_default(),
        )
        .await?;
    Ok(summary)
}

fn read_bundle(path: &std::path::Path) -> Result<RunBundle, Failure> {
    let text = std::fs::read(path).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("cannot read {}", path.display()),
            &error,
        )
    })?;
    serde_json::from_slice(&text).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!(
                "{} is not a run bundle (write one with `agentpod export RUN --bundle FILE`)",
                path.display()
            ),
            &error,
        )
    })
}
