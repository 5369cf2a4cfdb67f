//! `agentpod deploy`: one run's shards spread over an orchestrator, after the spec they run was
//! checked here. Kubernetes: the manifests, written to stdout. Swarm: the replicated job run on
//! the swarm to its end, its parts merged into this run store.

use agentpod_deploy::KubernetesDeployment;
use agentpod_swarm::{SwarmDeployment, SwarmEvent};

use crate::cli::{DeployArgs, DeployTarget, GlobalOptions, KubernetesArgs, MergeArgs, SwarmArgs};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn deploy(global: &GlobalOptions, args: DeployArgs) -> Result<Exit, Failure> {
    match args.target {
        DeployTarget::Kubernetes(args) => kubernetes(args),
        DeployTarget::Swarm(args) => swarm(global, args).await,
    }
}

/// The deployment's name: the one given, or the spec's name with `-shards`, as a DNS label.
/// The spec is checked here either way.
fn deployment_name(given: Option<String>, spec: &std::path::Path) -> Result<String, Failure> {
    let spec = agentpod_spec::load(spec)
        .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
    Ok(given.unwrap_or_else(|| format!("{}-shards", dns_label(&spec.name))))
}

async fn swarm(global: &GlobalOptions, args: SwarmArgs) -> Result<Exit, Failure> {
    let deployment = SwarmDeployment {
        name: deployment_name(args.name, &args.spec)?,
        spec_path: args.spec.to_string_lossy().into_owned(),
        shards: args.shards,
        image: args.image,
        results: args.results,
        group: args.group,
        run_arguments: args.run_arguments,
        retries_per_shard: args.retries_per_shard,
        network: args.network,
    };
    let docker = agentpod_swarm::connect_to_manager()
        .map_err(|error| Failure::new(Exit::Setup, format!("error: {error}")))?;
    // Ctrl-C, a CI job's timeout (SIGTERM) or a dropped ssh session (SIGHUP) all remove the
    // deployment from the swarm.
    let interrupted = async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                    _ = hangup.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        // Not eprintln!: stderr may be a terminal that hung up, and a panic here would leave
        // the deployment on the swarm.
        say(
            "interrupted: removing the deployment from the swarm (the shards' stores stay in the results directory)",
        );
    };
    let outcome = deployment
        .run(&docker, interrupted, |event| {
            say(&describe(&event, args.shards))
        })
        .await
        .map_err(|error| {
            let exit = match error {
                agentpod_swarm::SwarmError::InvalidInput { .. }
                | agentpod_swarm::SwarmError::NoShards
                | agentpod_swarm::SwarmError::AbsoluteSpec(_)
                | agentpod_swarm::SwarmError::RelativeResults(_)
                | agentpod_swarm::SwarmError::ResultsInUse { .. }
                | agentpod_swarm::SwarmError::NameTooLong(_) => Exit::InvalidInput,
                _ => Exit::Setup,
            };
            Failure::new(exit, format!("error: {error}"))
        })?;
    let Some(outcome) = outcome else {
        return Ok(Exit::Interrupted);
    };
    eprintln!(
        "all {} shards finished in {:.0} s ({} re-run after a lost node); merging",
        args.shards,
        outcome.wall_time.as_secs_f64(),
        outcome.reruns
    );
    super::merge::merge(
        global,
        MergeArgs {
            bundles: outcome.bundles,
            group: None,
            json: args.json,
        },
    )
    .await
}

/// A line on stderr, whether or not anyone can read it.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// One progress line.
fn describe(event: &SwarmEvent, shards: u32) -> String {
    match event {
        SwarmEvent::Created { service, tasks } => {
            format!("swarm: service {service} created, {tasks} tasks")
        }
        SwarmEvent::ShardRunning { shard, node } => {
            format!("swarm: shard {shard}/{shards} running on {node}")
        }
        SwarmEvent::ShardDone { shard, node } => {
            format!("swarm: shard {shard}/{shards} finished on {node}")
        }
        SwarmEvent::NodeLost {
            node,
            shard,
            rerun_as,
        } => format!(
            "swarm: node {node} is lost; shard {shard}/{shards} starts again elsewhere as {rerun_as}, resuming its run"
        ),
        SwarmEvent::LeftBehind { names } => format!(
            "swarm: could not remove {} (remove by hand: docker service rm / docker network rm)",
            names.join(", ")
        ),
        SwarmEvent::StillWaiting { shard, why } => format!(
            "swarm: shard {shard}/{shards} has not started for {} s; the swarm says: {} (can every node pull the image? is a node free?)",
            agentpod_swarm::WAITING_TOO_LONG.as_secs(),
            if why.is_empty() { "nothing yet" } else { why }
        ),
    }
}

fn kubernetes(args: KubernetesArgs) -> Result<Exit, Failure> {
    let deployment = KubernetesDeployment {
        name: deployment_name(args.name, &args.spec)?,
        spec_path: args.spec.to_string_lossy().into_owned(),
        shards: args.shards,
        image: args.image,
        group: args.group,
        namespace: args.namespace,
        egress: args.egress,
        run_arguments: args.run_arguments,
        retries_per_shard: args.retries_per_shard,
    };
    let manifests = deployment.manifests().map_err(|error| {
        Failure::new(
            Exit::InvalidInput,
            format!("cannot write the Kubernetes manifests: {error}"),
        )
    })?;
    print!("{manifests}");
    Ok(Exit::Success)
}

/// `name` as a DNS label: lowercase, runs of anything else as one `-`, at most 40 characters.
fn dns_label(name: &str) -> String {
    let mut label = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label: String = label.trim_matches('-').chars().take(40).collect();
    match label.trim_end_matches('-') {
        "" => "agentpod".to_owned(),
        label => label.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::dns_label;

    #[test]
    fn spec_names_become_dns_labels() {
        assert_eq!(dns_label("Support Triage_v2"), "support-triage-v2");
        assert_eq!(dns_label("--"), "agentpod");
    }
}
