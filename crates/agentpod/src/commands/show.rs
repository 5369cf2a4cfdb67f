//! `agentpod show RUN`: one run's summary and every issue's outcome. Issue ids and reasons can
//! carry the agent's or an issue's text, so they are shown through `terminal_line`.

use agentpod_report::inert_text::terminal_line;
use agentpod_report::{ShowJson, render_summary, summarize};

use crate::cli::{GlobalOptions, ShowArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn show(global: &GlobalOptions, args: ShowArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let read_error = |error: agentpod_store::StoreError| {
        let exit = match error {
            agentpod_store::StoreError::RunNotFound(_)
            | agentpod_store::StoreError::AmbiguousRun { .. } => Exit::InvalidInput,
            _ => Exit::Setup,
        };
        Failure::from_error(exit, "", &error)
    };
    let run = store.find_run(&args.run).await.map_err(read_error)?;
    // Rebuilt from the outcomes rather than read back, so a run that died still gets a summary.
    let boundary_events = store.boundary_events(&run.id).await.map_err(read_error)?;
    if args.json {
        // Written as the outcomes are read: the summary from their figures alone, then each
        // outcome whole, one at a time.
        let outcomes = store
            .outcomes_without_texts(&run.id)
            .await
            .map_err(read_error)?;
        let summary = summarize(&run, &outcomes, &boundary_events);
        drop(outcomes);
        let boundary = store.run_boundary(&run.id).await.map_err(read_error)?;
        let write_error = |error: std::io::Error| {
            Failure::from_error(Exit::Setup, "cannot write the run", &error)
        };
        let mut show = ShowJson::begin(
            std::io::stdout().lock(),
            boundary.as_ref(),
            &boundary_events,
        )
        .map_err(write_error)?;
        store
            .for_each_outcome(&run.id, |outcome| {
                show.outcome(&outcome).map_err(ShowError::Write)
            })
            .await
            .map_err(|error| match error {
                ShowError::Read(error) => read_error(error),
                ShowError::Write(error) => write_error(error),
            })?;
        show.end(&run, &summary).map_err(write_error)?;
        return Ok(Exit::Success);
    }
    let outcomes = store.outcomes(&run.id).await.map_err(read_error)?;
    let summary = summarize(&run, &outcomes, &boundary_events);
    print!("{}", render_summary(&summary));
    println!();
    let issue_ids: Vec<String> = outcomes
        .iter()
        .map(|outcome| terminal_line(&outcome.issue_id))
        .collect();
    let width = issue_ids
        .iter()
        .map(|issue_id| issue_id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    // A trial column only for runs of several trials, so a plain run reads as it always did.
    let several = run.trials > 1;
    let trial_column = |text: String| {
        if several {
            format!("{text:>5}  ")
        } else {
            String::new()
        }
    };
    println!(
        "{:width$}  {}{:11}  {:>4}  {:>8}  REASON",
        "ISSUE",
        trial_column("TRIAL".to_string()),
        "STATUS",
        "POD",
        "TIME"
    );
    for (outcome, issue_id) in outcomes.iter().zip(&issue_ids) {
        println!(
            "{issue_id:width$}  {}{:11}  {:>4}  {:>7.2}s  {}",
            trial_column(outcome.trial.to_string()),
            outcome.status.as_str(),
            outcome.pod_index,
            outcome.duration_ms as f64 / 1000.0,
            terminal_line(outcome.reason.lines().next().unwrap_or_default())
        );
    }
    Ok(Exit::Success)
}

/// What stops `show --json` half-way: reading the store, or writing stdout.
enum ShowError {
    Read(agentpod_store::StoreError),
    Write(std::io::Error),
}

impl From<agentpod_store::StoreError> for ShowError {
    fn from(error: agentpod_store::StoreError) -> Self {
        ShowError::Read(error)
    }
}
