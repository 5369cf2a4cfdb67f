//! `agentpod export RUN --otlp URL`: a stored run sent to any OpenTelemetry collector, one trace
//! per issue with the GenAI conventions (`invoke_agent`, `chat`, `execute_tool` spans and the
//! agent's own spans), built from the run store. `--bundle FILE` and `agentpod import FILE` move
//! a whole run between run stores.

use agentpod_trace::{export_otlp, stored_run_trace};

use crate::cli::{ExportArgs, GlobalOptions, ImportArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn export(global: &GlobalOptions, args: ExportArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let read_error =
        |error: agentpod_store::StoreError| Failure::from_error(Exit::InvalidInput, "", &error);
    let run = store.find_run(&args.run).await.map_err(read_error)?;
    if let Some(path) = &args.bundle {
        let bundle = store.export_bundle(&run.id).await.map_err(read_error)?;
        let text = serde_json::to_vec(&bundle)
            .map_err(|error| Failure::from_error(Exit::Internal, "", &error))?;
        std::fs::write(path, text).map_err(|error| {
            Failure::from_error(
                Exit::Setup,
                &format!("cannot write {}", path.display()),
                &error,
            )
        })?;
        println!(
            "exported run {} ({} outcomes, {} steps) to {}",
            run.id,
            bundle.outcomes.len(),
            bundle.steps.len(),
            path.display()
        );
        return Ok(Exit::Success);
    }
    let Some(otlp) = &args.otlp else {
        return Err(Failure::new(
            Exit::InvalidInput,
            "give --otlp URL or --bundle FILE",
        ));
    };
    let outcomes = store.outcomes(&run.id).await.map_err(read_error)?;
    let steps = store.steps(&run.id, None).await.map_err(read_error)?;
    let trace = stored_run_trace(&run, &outcomes, &steps);
    let report = export_otlp(otlp, &trace).await.map_err(|error| {
        Failure::from_error(Exit::Setup, &format!("cannot export to {otlp}"), &error)
    })?;
    println!(
        "exported run {}: {} traces, {} spans to {}",
        run.id, report.traces, report.spans, report.url
    );
    if report.rejected_spans > 0 {
        eprintln!("the collector rejected {} spans", report.rejected_spans);
    }
    Ok(Exit::Success)
}

pub(crate) async fn import(global: &GlobalOptions, args: ImportArgs) -> Result<Exit, Failure> {
    let text = std::fs::read(&args.bundle).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("cannot read {}", args.bundle.display()),
            &error,
        )
    })?;
    let bundle: agentpod_store::RunBundle = serde_json::from_slice(&text).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("{} is not a run bundle", args.bundle.display()),
            &error,
        )
    })?;
    let store = agentpod_store::RunStore::open_location(&global.store)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot open the run store", &error))?;
    store
        .import_bundle(&bundle)
        .await
        .map_err(|error| Failure::from_error(Exit::InvalidInput, "", &error))?;
    println!(
        "imported run {} ({} outcomes) into {}",
        bundle.run.id,
        bundle.outcomes.len(),
        global.store
    );
    Ok(Exit::Success)
}
