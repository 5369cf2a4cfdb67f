//! `agentpod run`: plan the run from the spec and the overrides, pick a runtime, run it with a
//! progress display and Ctrl-C handling, then print the summary and write the JSON.

use std::io::Write;
use std::sync::Arc;

use agentpod_report::inert_text::terminal_block;
use agentpod_runner::{
    Interrupt, PlanError, RunError, RunOptions, RunPlan, ShardRequest, execute, new_run_id,
};
use agentpod_runtime::{RuntimeKind, detect_runtime};
use agentpod_store::{RunStatus, RunStore, StoreLocation};

use crate::cli::{GlobalOptions, RunArgs, RuntimeChoice};
use crate::exit_code::Exit;
use crate::failure::{Failure, boundary_failure, fixture_failure, issues_failure};
use crate::progress::progress_reporter;
use crate::signals;

pub(crate) async fn run(global: &GlobalOptions, args: RunArgs) -> Result<Exit, Failure> {
    let agent_command = match &args.agent_command {
        Some(command) => {
            let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
            if words.is_empty() {
                return Err(Failure::new(Exit::InvalidInput, "--agent-command is empty"));
            }
            Some(words)
        }
        None => None,
    };
    let options = RunOptions {
        pods: args.pods.map(usize::from),
        sample: args.sample,
        seed: args.seed,
        trials: args.trials,
        agent_version: args.agent_version.clone(),
        agent_command,
        work_root: args
            .work_dir
            .clone()
            .unwrap_or_else(|| work_root_beside(&global.store)),
        no_seed_cache: args.no_seed_cache,
        protected_paths: store_files(&global.store),
        shard: args.shard.map(|part| ShardRequest {
            part,
            group: args.group.clone(),
        }),
    };
    let store = RunStore::open_location(&global.store)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "cannot open the run store", &error))?;
    let plan_failure = |error: PlanError| match error {
        PlanError::WorkDirectory { .. } | PlanError::Sandbox(_) => {
            Failure::from_error(Exit::Setup, "", &error)
        }
        PlanError::Issues(issues_error) => issues_failure(&issues_error),
        PlanError::Preflight(_) => Failure::new(Exit::InvalidInput, error.to_string()),
        other => Failure::new(Exit::InvalidInput, format!("error: {other}")),
    };
    let hold_failure = |error: agentpod_store::StoreError| match error {
        agentpod_store::StoreError::RunBusy(_) => {
            Failure::new(Exit::InvalidInput, format!("error: {error}"))
        }
        other => Failure::from_error(Exit::Setup, "cannot write the run store", &other),
    };
    // Held until this process ends: no second process runs the same run meanwhile.
    let (plan, stored_runtime, _hold) = match &args.resume {
        None => {
            let spec_path = args.spec.as_ref().ok_or_else(|| {
                Failure::new(Exit::InvalidInput, "give a pod spec, or --resume RUN")
            })?;
            let spec = agentpod_spec::load(spec_path)
                .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
            let run_id = new_run_id();
            let hold = store.hold_run(&run_id).await.map_err(hold_failure)?;
            (
                RunPlan::prepare(run_id, spec, options).map_err(plan_failure)?,
                None,
                hold,
            )
        }
        Some(resume) => {
            if args.sample.is_some() || args.seed.is_some() {
                return Err(Failure::new(
                    Exit::InvalidInput,
                    "--sample and --seed cannot change a resumed run: it finishes the sample it started with",
                ));
            }
            let store_error = |error: agentpod_store::StoreError| {
                Failure::from_error(Exit::InvalidInput, "", &error)
            };
            let run = store.find_run(resume).await.map_err(store_error)?;
            let hold = store.hold_run(&run.id).await.map_err(hold_failure)?;
            let spec_path = args
                .spec
                .clone()
                .unwrap_or_else(|| run.spec_path.clone().into());
            let spec = agentpod_spec::load(&spec_path)
                .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
            let pending = store.pending_trials(&run.id).await.map_err(store_error)?;
            if run.trials > 1 {
                eprintln!(
                    "resuming run {}: {} of {} issue trials left ({} issues × {} trials)",
                    run.id,
                    pending.len(),
                    run.issue_count * run.trials as usize,
                    run.issue_count,
                    run.trials
                );
            } else {
                eprintln!(
                    "resuming run {}: {} of {} issues left",
                    run.id,
                    pending.len(),
                    run.issue_count
                );
            }
            (
                RunPlan::resume(&run, spec, pending, options).map_err(plan_failure)?,
                Some(run.runtime.clone()),
                hold,
            )
        }
    };

    for warning in &plan.warnings {
        eprintln!("{}\n", terminal_block(&warning.render()));
    }
    // A resumed run keeps its runtime unless told otherwise.
    let choice = args.runtime.or(match stored_runtime.as_deref() {
        Some("docker") => Some(RuntimeChoice::Docker),
        Some("local") => Some(RuntimeChoice::Local),
        _ => None,
    });
    let preference = choice.map(|choice| match choice {
        RuntimeChoice::Docker => RuntimeKind::Docker,
        RuntimeChoice::Local => RuntimeKind::Local,
    });
    let runtime = detect_runtime(preference)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "no runtime for pods", &error))?;
    if plan.spec.agent.image.is_some() && runtime.kind() == RuntimeKind::Local {
        return Err(Failure::new(
            Exit::Setup,
            "`agent.image` runs the agent as a container in the pod: it needs the docker runtime \
             (drop `--runtime local`, or give the agent as `agent.command`)",
        ));
    }
    let run_id = plan.run_id.clone();
    let spec_path = plan.spec.path.clone();
    let run_budget = plan.spec.budgets.max_run_cost_usd;
    let interrupt = Interrupt::new();
    signals::listen(interrupt.clone());
    let reporter = progress_reporter(args.no_progress, plan.work.len(), plan.trials, plan.pods);
    let result = execute(
        plan,
        Arc::from(runtime),
        store.clone(),
        reporter.clone(),
        interrupt.clone(),
    )
    .await;
    reporter.finish();
    let run_failure = |error: &RunError| match error {
        RunError::Fixture(fixture_error) => fixture_failure(fixture_error),
        RunError::Boundary(boundary_error) => boundary_failure(&spec_path, boundary_error),
        RunError::Store(store_error) => Failure::from_error(
            Exit::Setup,
            &format!(
                "the run store {} cannot be written, so run {run_id} stopped (what was stored stays \
                     readable with `agentpod show {run_id}`; make room or make it writable again, then \
                     `agentpod run --resume {run_id}`)",
                global.store
            ),
            store_error,
        ),
        other => Failure::from_error(Exit::Setup, &format!("run {run_id} failed"), other),
    };
    let result = result.map_err(|error| run_failure(&error))?;
    if result.error.is_none() {
        agentpod_report::stored_run::refresh_report_model(&store, &run_id).await;
    }
    store.close().await;
    if let Some(error) = &result.error {
        // The run is recorded as failed; its (empty) summary would only hide the reason.
        return Err(run_failure(error));
    }
    print!("{}", agentpod_report::render_summary(&result.summary));
    if let Some(path) = &args.json {
        write_json(path, &result.summary)?;
    }
    if args.gate && result.status == RunStatus::Finished {
        let gate_args = crate::cli::GateArgs {
            run: run_id.clone(),
            baseline: args.baseline.clone(),
            min_pass_rate: None,
            max_regressions: None,
            max_monthly_cost: None,
            max_p95_cost: None,
            max_p95_seconds: None,
            max_violations: None,
            format: "terminal".to_string(),
            output: None,
        };
        println!();
        return crate::commands::report::gate(global, gate_args).await;
    }
    Ok(match result.status {
        RunStatus::Interrupted => {
            eprintln!("finish it later with: agentpod run --resume {run_id}");
            Exit::Interrupted
        }
        RunStatus::BudgetReached => {
            eprintln!(
                "the run's cost budget of ${:.2} (budgets.max_run_cost_usd) was reached: {} issue trials were not started; raise the budget in {} and finish with: agentpod run --resume {run_id}",
                run_budget.unwrap_or_default(),
                result.summary.issues.not_run,
                spec_path.display()
            );
            Exit::BudgetReached
        }
        _ => Exit::Success,
    })
}

pub(crate) fn write_json(
    path: &std::path::Path,
    summary: &agentpod_report::RunSummary,
) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(summary).unwrap_or_default();
    text.push('\n');
    if path.as_os_str() == "-" {
        let _ = std::io::stdout().write_all(text.as_bytes());
        return Ok(());
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            Failure::from_error(
                Exit::Setup,
                &format!("cannot create {}", parent.display()),
                &error,
            )
        })?;
    }
    std::fs::write(path, text).map_err(|error| {
        Failure::from_error(
            Exit::Setup,
            &format!("cannot write {}", path.display()),
            &error,
        )
    })
}

/// The run store and the files SQLite and agentpod keep beside it: a sandboxed agent sees none.
/// A Postgres store has no files here, but a SQLite store at the default place may still hold
/// earlier runs (their issues' answers): its files are hidden all the same.
fn store_files(store: &StoreLocation) -> Vec<std::path::PathBuf> {
    let store = store
        .file()
        .unwrap_or(std::path::Path::new(agentpod_store::DEFAULT_STORE_PATH));
    let name = store
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files: Vec<std::path::PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| store.with_file_name(format!("{name}{suffix}")))
        .collect();
    // The store's opening lock (see `RunStore::open`).
    files.push(store.with_extension("db.lock"));
    files
}

/// Per-issue files go beside the run store (`runs/` in its directory), not under the working
/// directory: a run told to keep its store elsewhere keeps its files there too. With a Postgres
/// store they go where a SQLite store's would (`.agentpod/runs`).
fn work_root_beside(store: &StoreLocation) -> std::path::PathBuf {
    let default_file = std::path::Path::new(agentpod_store::DEFAULT_STORE_PATH);
    match store.file().unwrap_or(default_file).parent() {
        Some(directory) if !directory.as_os_str().is_empty() => directory.join("runs"),
        _ => std::path::PathBuf::from("runs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn beside(store: &str) -> PathBuf {
        work_root_beside(&store.parse().unwrap())
    }

    #[test]
    fn per_issue_files_go_beside_the_store() {
        assert_eq!(beside(".agentpod/runs.db"), PathBuf::from(".agentpod/runs"));
        assert_eq!(
            beside("/data/eval/store.db"),
            PathBuf::from("/data/eval/runs")
        );
        assert_eq!(beside("runs.db"), PathBuf::from("runs"));
        assert_eq!(
            beside("postgres://agentpod@db/runs"),
            PathBuf::from(".agentpod/runs")
        );
    }

    #[test]
    fn with_a_postgres_store_the_default_sqlite_store_is_still_hidden() {
        let hidden = store_files(&"postgres://agentpod@db/runs".parse().unwrap());
        assert!(
            hidden.contains(&PathBuf::from(".agentpod/runs.db")),
            "{hidden:?}"
        );
        assert!(
            hidden.contains(&PathBuf::from(".agentpod/runs.db-wal")),
            "{hidden:?}"
        );
    }
}
