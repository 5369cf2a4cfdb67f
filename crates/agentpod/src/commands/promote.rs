//! `agentpod promote run RUN ISSUE --expected FIELD=VALUE [--to SET] [--replace]`: an issue of a
//! stored run, with the answer a person corrected, into an evaluation set's issues file
//! (`promote trace` is in `promote_trace`).

use std::path::{Path, PathBuf};

use agentpod_issues::{IssueMapping, PROVENANCE_FIELD};
use agentpod_promote::{Candidate, PromoteError, SetTarget, add_to_set};
use agentpod_report::inert_text::terminal_line;
use agentpod_store::{RunRecord, RunStore, StoreError};
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use crate::cli::{GlobalOptions, PromoteArgs, PromoteCommand, PromoteRunArgs};
use crate::commands::promote_trace;
use crate::commands::runs::open_existing_store;
use crate::exit_code::Exit;
use crate::failure::{Failure, issues_failure};

pub(crate) async fn promote(global: &GlobalOptions, args: PromoteArgs) -> Result<Exit, Failure> {
    match args.command {
        PromoteCommand::Run(args) => promote_run(global, args).await,
        PromoteCommand::Trace(args) => promote_trace::promote_trace(args),
    }
}

async fn promote_run(global: &GlobalOptions, args: PromoteRunArgs) -> Result<Exit, Failure> {
    let store = open_existing_store(global).await?;
    let run = store.find_run(&args.run).await.map_err(read_error)?;
    let candidate = run_candidate(&store, &run, &args).await?;
    let to = args
        .to
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.spec_path));
    let target = set_target(&to)?;
    let added =
        add_to_set(&target, &candidate, args.replace).map_err(|error| promote_failure(&error))?;
    let verb = if added.replaced {
        "gave the new answer to"
    } else {
        "added"
    };
    println!(
        "{verb} issue `{}` in {} ({} issue{}), from issue `{}` of run {}",
        terminal_line(&added.id),
        target.file.display(),
        added.issues,
        if added.issues == 1 { "" } else { "s" },
        terminal_line(&args.issue),
        run.id
    );
    Ok(Exit::Success)
}

/// The run's issue as it was given to the agent, with the new answer and where it came from.
async fn run_candidate(
    store: &RunStore,
    run: &RunRecord,
    args: &PromoteRunArgs,
) -> Result<Candidate, Failure> {
    let issues = store.run_issues(&run.id).await.map_err(read_error)?;
    let Some((_, stored)) = issues.into_iter().find(|(id, _)| *id == args.issue) else {
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "run {} has no issue `{}` (`agentpod show {}` lists its issues)",
                run.id,
                terminal_line(&args.issue),
                run.id
            ),
        ));
    };
    let mut fields = stored["fields"].as_object().cloned().unwrap_or_default();
    let earlier_provenance = fields.remove(PROVENANCE_FIELD);
    let outcomes: Vec<Value> = store
        .outcomes(&run.id)
        .await
        .map_err(read_error)?
        .into_iter()
        .filter(|outcome| outcome.issue_id == args.issue)
        .map(|outcome| {
            json!({"trial": outcome.trial, "status": outcome.status.as_str(), "reason": outcome.reason})
        })
        .collect();
    let mut provenance = Map::new();
    provenance.insert("source".into(), json!("agentpod-run"));
    provenance.insert("run".into(), json!(run.id));
    provenance.insert("issue".into(), json!(args.issue));
    provenance.insert("spec".into(), json!(run.spec_name));
    provenance.insert("agent_version".into(), json!(run.agent_version));
    provenance.insert("outcomes".into(), Value::Array(outcomes));
    if let Some(expected) = stored.get("expected").filter(|value| value.is_object()) {
        provenance.insert("previous_expected".into(), expected.clone());
    }
    if let Some(earlier) = earlier_provenance {
        provenance.insert("previous_provenance".into(), earlier);
    }
    provenance.insert(
        "promoted_at".into(),
        json!(chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    Ok(Candidate {
        preferred_id: args.issue.clone(),
        fields,
        expected: args.expected.iter().cloned().collect(),
        provenance,
    })
}

/// The evaluation set `to` names: an issues file, or a spec's `issues.source` with its mapping.
pub(crate) fn set_target(to: &Path) -> Result<SetTarget, Failure> {
    let is_spec = to
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| matches!(extension, "yaml" | "yml"));
    if !is_spec {
        return Ok(SetTarget {
            file: to.to_path_buf(),
            mapping: IssueMapping::default(),
        });
    }
    let spec = agentpod_spec::load(to)
        .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
    Ok(SetTarget {
        mapping: agentpod_runner::issue_mapping(&spec.issues),
        file: spec.issues.source,
    })
}

pub(crate) fn promote_failure(error: &PromoteError) -> Failure {
    match error {
        PromoteError::Read(error) => issues_failure(error),
        PromoteError::Write { .. } => Failure::from_error(Exit::Setup, "", error),
        _ => Failure::from_error(Exit::InvalidInput, "", error),
    }
}

fn read_error(error: StoreError) -> Failure {
    let exit = match error {
        StoreError::RunNotFound(_) | StoreError::AmbiguousRun { .. } => Exit::InvalidInput,
        _ => Exit::Setup,
    };
    Failure::from_error(exit, "", &error)
}
