//! `agentpod runs`: recent runs, newest first, as a table or JSON; each with the evaluation set
//! it sampled from (short digest / issues in the set).

use agentpod_store::{RunRecord, RunStore};

use crate::cli::{GlobalOptions, RunsArgs};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn runs(global: &GlobalOptions, args: RunsArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let runs = store
        .list_runs(args.limit)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot read the run store", &error))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        );
        return Ok(Exit::Success);
    }
    if runs.is_empty() {
        println!(
            "no runs yet in {} (start one with `agentpod run pods/<spec>.yaml`)",
            global.store
        );
        return Ok(Exit::Success);
    }
    let rows: Vec<[String; 9]> = runs.iter().map(row).collect();
    let header = [
        "RUN",
        "STARTED (UTC)",
        "SPEC",
        "AGENT",
        "STATUS",
        "ISSUES",
        "SET",
        "PASS RATE",
        "WALL",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(Exit::Success)
}

fn row(run: &RunRecord) -> [String; 9] {
    let summary = run.summary.as_ref();
    let number = |pointer: &str| {
        summary
            .and_then(|summary| summary.pointer(pointer))
            .and_then(|value| value.as_f64())
    };
    let pass_rate = number("/pass_rate")
        .map(|rate| format!("{:.1}%", rate * 100.0))
        .unwrap_or_else(|| "-".into());
    let wall = number("/wall_seconds")
        .map(|seconds| format!("{seconds:.1}s"))
        .unwrap_or_else(|| "-".into());
    [
        run.id.clone(),
        run.started_at.format("%Y-%m-%d %H:%M").to_string(),
        run.spec_name.clone(),
        run.agent_version.clone(),
        run.status.as_str().to_string(),
        run.issue_count.to_string(),
        // The evaluation set: its digest, short, and how many issues it held.
        run.evaluation_set
            .as_ref()
            .map(|set| format!("{}/{}", set.short_digest(), set.issues))
            .unwrap_or_else(|| "-".into()),
        pass_rate,
        wall,
    ]
}

/// Opens the store for reading; a missing store is not created by a read-only command.
pub(crate) async fn open_existing_store(global: &GlobalOptions) -> Result<RunStore, Failure> {
    if global.store.file().is_some_and(|file| !file.exists()) {
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "no run store at {} (run `agentpod run` first, or pass --store)",
                global.store
            ),
        ));
    }
    RunStore::open_location_to_read(&global.store)
        .await
        .map_err(|error| match error {
            agentpod_store::StoreError::NoStore(_) => {
                Failure::new(Exit::InvalidInput, format!("error: {error}"))
            }
            other => Failure::from_error(Exit::Setup, "cannot open the run store", &other),
        })
}
