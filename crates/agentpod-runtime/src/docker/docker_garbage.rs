//! Sweeping Docker resources by label: containers, then networks, then volumes, then the host
//! firewall rules of bridges that no longer exist.

use std::collections::{HashMap, HashSet};

use agentpod_error_chain::ErrorChain;
use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};

use super::docker_client::is_not_found;
use super::docker_pod::{remove_container, remove_network};
use super::docker_runtime::BRIDGE_NAME_OPTION;
use super::host_firewall::listed_rules;
use crate::error::RuntimeError;
use crate::labels;
use crate::owner::{current_host, process_is_alive};

/// Names of what was removed (or would be, with `dry_run`).
#[derive(Debug, Default)]
pub(crate) struct DockerGarbage {
    pub(crate) containers: Vec<String>,
    pub(crate) networks: Vec<String>,
    pub(crate) volumes: Vec<String>,
    pub(crate) firewall_rules: Vec<String>,
}

pub(crate) async fn collect_docker_resources(
    docker: &Docker,
    all: bool,
    dry_run: bool,
) -> Result<DockerGarbage, RuntimeError> {
    let host = current_host();
    // Listed before the networks: a rule made after this listing belongs to a network made
    // before its rule, which the network listing below will see, so no fresh rule is swept.
    let rules = match listed_rules().await {
        Ok(rules) => rules,
        Err(error) => {
            tracing::debug!(error = %ErrorChain(&error), "cannot list host firewall rules; not sweeping them");
            Vec::new()
        }
    };
    let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
    let mut garbage = DockerGarbage::default();

    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|error| RuntimeError::docker("list containers", error))?;
    for container in containers {
        let labels = container.labels.unwrap_or_default();
        let Some(id) = container.id else { continue };
        if !is_garbage(&labels, all, &host) {
            continue;
        }
        let name = container
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_else(|| id.clone());
        if !dry_run {
            remove_container(docker, &id).await?;
        }
        garbage.containers.push(name);
    }

    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|error| RuntimeError::docker("list networks", error))?;
    for network in networks {
        let labels = network.labels.unwrap_or_default();
        let Some(name) = network.name.or(network.id) else {
            continue;
        };
        if !is_garbage(&labels, all, &host) {
            continue;
        }
        if !dry_run {
            let is_swept = |labels: &HashMap<String, String>| is_garbage(labels, all, &host);
            remove_garbage_network(docker, &name, is_swept, &mut garbage.containers).await?;
        }
        garbage.networks.push(name);
    }

    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|error| RuntimeError::docker("list volumes", error))?;
    for volume in volumes.volumes.unwrap_or_default() {
        if !is_garbage(&volume.labels, all, &host) {
            continue;
        }
        if !dry_run {
            let options = RemoveVolumeOptionsBuilder::new().force(true).build();
            match docker.remove_volume(&volume.name, Some(options)).await {
                Ok(()) => {}
                Err(error) if is_not_found(&error) => {}
                Err(error) => {
                    return Err(RuntimeError::docker(
                        format!("remove volume {}", volume.name),
                        error,
                    ));
                }
            }
        }
        garbage.volumes.push(volume.name);
    }

    let live_bridges = live_bridges(docker, &garbage.networks, dry_run).await?;
    for rule in rules {
        if live_bridges.contains(&rule.bridge) {
            continue;
        }
        if !dry_run && let Err(error) = rule.remove().await {
            tracing::warn!(error = %ErrorChain(&error), rule = %rule.text, "cannot remove stale host firewall rule");
            continue;
        }
        garbage.firewall_rules.push(rule.text);
    }

    garbage.containers.sort();
    garbage.networks.sort();
    garbage.volumes.sort();
    Ok(garbage)
}

/// Bridge names of every network still there (any network: a rule is only stale once its
/// bridge is gone). With `dry_run`, networks reported as garbage count as gone.
/// Removes a garbage network. A network can still have a container on it that the listing above
/// did not see: the Docker engine finishes creating and starting a container whose client (a
/// killed agentpod) is gone, after the listing. Such containers carry the network's run labels;
/// those that are garbage by their own labels are removed (and named) and the network removed
/// again, a few times at most.
async fn remove_garbage_network(
    docker: &Docker,
    name: &str,
    is_swept: impl Fn(&HashMap<String, String>) -> bool,
    removed_containers: &mut Vec<String>,
) -> Result<(), RuntimeError> {
    const ATTEMPTS: u32 = 5;
    for attempt in 1..=ATTEMPTS {
        let error = match remove_network(docker, name).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt == ATTEMPTS => return Err(error),
            Err(error) => error,
        };
        tracing::debug!(network = name, error = %ErrorChain(&error), "network still in use; removing what is on it");
        let attached = match docker.inspect_network(name, None).await {
            Ok(network) => network.containers.unwrap_or_default(),
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(error) => {
                return Err(RuntimeError::docker(
                    format!("inspect network {name}"),
                    error,
                ));
            }
        };
        for (id, endpoint) in attached {
            let swept = match docker.inspect_container(&id, None).await {
                Ok(container) => container
                    .config
                    .and_then(|config| config.labels)
                    .is_some_and(|container_labels| is_swept(&container_labels)),
                Err(error) if is_not_found(&error) => false,
                Err(error) => {
                    return Err(RuntimeError::docker(
                        format!("inspect container {id}"),
                        error,
                    ));
                }
            };
            // Only agentpod's own garbage: anything else on the network stays, and the network
            // with it (the last attempt reports the error).
            if swept {
                remove_container(docker, &id).await?;
                removed_containers.push(endpoint.name.unwrap_or(id));
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
    }
    Ok(())
}

async fn live_bridges(
    docker: &Docker,
    garbage_networks: &[String],
    dry_run: bool,
) -> Result<HashSet<String>, RuntimeError> {
    let networks = docker
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .map_err(|error| RuntimeError::docker("list networks", error))?;
    Ok(networks
        .into_iter()
        .filter(|network| {
            !(dry_run
                && network
                    .name
                    .as_ref()
                    .is_some_and(|name| garbage_networks.contains(name)))
        })
        .filter_map(|network| network.options?.remove(BRIDGE_NAME_OPTION))
        .collect())
}

/// Garbage: everything with `all`; otherwise what a process on this host made and that process
/// is gone. Resources without owner labels, or from another host, are left alone: we cannot
/// tell whether their owner still uses them.
fn is_garbage(labels: &HashMap<String, String>, all: bool, host: &str) -> bool {
    if all {
        return true;
    }
    let same_host = labels
        .get(labels::OWNER_HOST)
        .is_some_and(|owner| owner == host);
    let owner_pid = labels
        .get(labels::OWNER_PID)
        .and_then(|pid| pid.parse::<u32>().ok());
    same_host && owner_pid.is_some_and(|pid| !process_is_alive(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned_by(pid: &str, host: &str) -> HashMap<String, String> {
        HashMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::OWNER_PID.to_string(), pid.to_string()),
            (labels::OWNER_HOST.to_string(), host.to_string()),
        ])
    }

    fn dead_pid() -> String {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        pid.to_string()
    }

    #[test]
    fn dead_owners_on_this_host_make_garbage() {
        assert!(is_garbage(&owned_by(&dead_pid(), "here"), false, "here"));
    }

    #[test]
    fn live_owners_and_other_hosts_do_not_unless_all() {
        let alive = owned_by(&std::process::id().to_string(), "here");
        let elsewhere = owned_by(&dead_pid(), "there");
        let unlabelled = HashMap::from([(labels::MANAGED.to_string(), "true".to_string())]);
        for labels in [&alive, &elsewhere, &unlabelled] {
            assert!(!is_garbage(labels, false, "here"), "{labels:?}");
            assert!(is_garbage(labels, true, "here"), "{labels:?}");
        }
    }
}
