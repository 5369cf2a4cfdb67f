//! `agentpod report RUN`, `agentpod compare RUN RUN…` and `agentpod gate RUN`: the run store read
//! back as a report (terminal, JSON, Markdown, JUnit, HTML), runs side by side, and the CI gate.

use std::path::Path;

use agentpod_report::{
    Comparison, DEFAULT_RESAMPLES, GateThresholds, ReportFormat, RunReport, evaluate_gate,
    render_comparison, render_gate, render_report,
};

use agentpod_report::stored_run::{REPORT_SEED, Steps, report_context};
use agentpod_store::{RunStore, StoreError};

use crate::cli::{CompareArgs, GateArgs, GlobalOptions, ReportArgs};
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn report(global: &GlobalOptions, args: ReportArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let format = format(&args.format)?;
    // Only the HTML page shows each issue's timeline of steps.
    let steps = if format == ReportFormat::Html {
        Steps::Read
    } else {
        Steps::Skip
    };
    let report = agentpod_report::stored_run::run_report(&store, &args.run, steps)
        .await
        .map_err(read_error)?;
    let text = render_report(&report, format)
        .map_err(|error| Failure::from_error(Exit::Internal, "", &error))?;
    emit(&text, args.output.as_deref())?;
    Ok(Exit::Success)
}

pub(crate) async fn compare(global: &GlobalOptions, args: CompareArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let mut inputs = Vec::new();
    for run in &args.runs {
        inputs.push(load_run(&store, run, Steps::Skip).await?.input);
    }
    let comparison = Comparison::build(&inputs, REPORT_SEED)
        .map_err(|error| Failure::from_error(Exit::InvalidInput, "", &error))?;
    let text = render_comparison(&comparison, format(&args.format)?)
        .map_err(|error| Failure::from_error(Exit::Internal, "", &error))?;
    emit(&text, args.output.as_deref())?;
    Ok(Exit::Success)
}

pub(crate) async fn gate(global: &GlobalOptions, args: GateArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let stored = load_run(&store, &args.run, Steps::Skip).await?;
    let mut context = report_context(&stored.spec);
    context.gate = thresholds(context.gate, &args)?;
    // The report's verdict is this same gate without the baseline: one judgement.
    let report = RunReport::build_in(&stored.input, &context, REPORT_SEED, DEFAULT_RESAMPLES);
    let comparison = match &args.baseline {
        Some(baseline) => {
            let baseline = load_run(&store, baseline, Steps::Skip).await?;
            let runs = [baseline.input, stored.input];
            Some(
                Comparison::build(&runs, REPORT_SEED)
                    .map_err(|error| Failure::from_error(Exit::InvalidInput, "", &error))?,
            )
        }
        None => None,
    };
    let result = evaluate_gate(&report, comparison.as_ref(), &context.gate);
    let text = render_gate(&result, format(&args.format)?)
        .map_err(|error| Failure::from_error(Exit::InvalidInput, "", &error))?;
    emit(&text, args.output.as_deref())?;
    Ok(if result.passed {
        Exit::Success
    } else {
        Exit::GateFailed
    })
}

/// The command line's limits over the spec's.
fn thresholds(mut thresholds: GateThresholds, args: &GateArgs) -> Result<GateThresholds, Failure> {
    if let Some(rate) = args.min_pass_rate
        && !(0.0..=1.0).contains(&rate)
    {
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "--min-pass-rate {rate} is not a share from 0 to 1{}",
                if rate > 1.0 && rate <= 100.0 {
                    format!(": for {rate}% write {}", rate / 100.0)
                } else {
                    String::new()
                }
            ),
        ));
    }
    thresholds.min_pass_rate = args.min_pass_rate.or(thresholds.min_pass_rate);
    thresholds.max_regressions = args.max_regressions.or(thresholds.max_regressions);
    thresholds.max_monthly_cost_usd = args.max_monthly_cost.or(thresholds.max_monthly_cost_usd);
    thresholds.max_p95_cost_usd = args.max_p95_cost.or(thresholds.max_p95_cost_usd);
    thresholds.max_p95_seconds = args.max_p95_seconds.or(thresholds.max_p95_seconds);
    thresholds.max_violations = args.max_violations.or(thresholds.max_violations);
    Ok(thresholds)
}

/// The run the command line named, read for its figures.
async fn load_run(
    store: &RunStore,
    id_or_prefix: &str,
    steps: Steps,
) -> Result<agentpod_report::stored_run::StoredRun, Failure> {
    agentpod_report::stored_run::load_run(store, id_or_prefix, steps)
        .await
        .map_err(read_error)
}

/// A run the command line named that is not there is the user's mistake; anything else the
/// store's.
fn read_error(error: StoreError) -> Failure {
    let exit = match error {
        StoreError::RunNotFound(_) | StoreError::AmbiguousRun { .. } => Exit::InvalidInput,
        _ => Exit::Setup,
    };
    Failure::from_error(exit, "", &error)
}

fn format(name: &str) -> Result<ReportFormat, Failure> {
    name.parse().map_err(|_| {
        Failure::new(
            Exit::InvalidInput,
            format!("unknown format `{name}`: use terminal, json, markdown, junit or html"),
        )
    })
}

fn emit(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    match output {
        None => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            Ok(())
        }
        Some(path) => std::fs::write(path, text).map_err(|error| {
            Failure::from_error(
                Exit::Setup,
                &format!("cannot write {}", path.display()),
                &error,
            )
        }),
    }
}
