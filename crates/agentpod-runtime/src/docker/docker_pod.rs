//! `DockerPod`: a Postgres container on the pod's own internal network, closed off from the
//! host by [`HostFirewall`] rules on its bridge.

use std::collections::HashMap;

use agentpod_agent::{AgentLaunch, ContainerPlacement, run_agent, run_agent_container};
use agentpod_error_chain::{ErrorChain, error_chain};
use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use tokio_util::sync::CancellationToken;

use super::docker_client::{self, is_already_being_removed, is_not_found};
use super::host_firewall::HostFirewall;
use crate::error::RuntimeError;
use crate::pod::{LaunchedAgent, Pod};
use agentpod_postgres_server::PostgresEndpoint;

pub(crate) struct DockerPod {
    pub(crate) id: String,
    pub(crate) endpoint: PostgresEndpoint,
    pub(crate) network: String,
    /// The bridge's gateway address: the host as seen from the pod network.
    pub(crate) host_address: String,
    pub(crate) bridge: String,
    /// Whether the host is closed to the pod; false where iptables could not be used.
    pub(crate) host_closed: bool,
    /// The pod's labels, put on the agent containers it launches too (so `gc` sweeps them).
    pub(crate) labels: HashMap<String, String>,
    /// The runtime's client, shared by everything the pod does in the engine.
    pub(crate) docker: Docker,
    pub(crate) resources: DockerPodResources,
}

impl DockerPod {
    /// Connection attempts the pod's firewall refused so far (see `HostFirewall`); `None`
    /// where they cannot be read.
    async fn refused_connections(&self) -> Option<u64> {
        match HostFirewall::for_bridge(&self.bridge)
            .refused_packets()
            .await
        {
            Ok(refused) => Some(refused),
            Err(error) => {
                tracing::debug!(error = %ErrorChain(&error), "cannot read the pod's firewall counters");
                None
            }
        }
    }
}

#[async_trait]
impl Pod for DockerPod {
    fn id(&self) -> &str {
        &self.id
    }

    fn postgres(&self) -> &PostgresEndpoint {
        &self.endpoint
    }

    fn network(&self) -> Option<&str> {
        Some(&self.network)
    }

    fn host_address(&self) -> Option<&str> {
        Some(&self.host_address)
    }

    /// A host command runs as on any pod; an image joins this pod's network with the pod's
    /// labels, and the firewall's counters around it tell how often it tried to get out.
    async fn launch_agent(&self, launch: &AgentLaunch, cancel: CancellationToken) -> LaunchedAgent {
        let invocation = match launch {
            AgentLaunch::Host(invocation) => {
                return LaunchedAgent {
                    run: run_agent(invocation, cancel).await,
                    refused_connections: 0,
                };
            }
            AgentLaunch::Image(invocation) => invocation,
        };
        let placement = ContainerPlacement {
            network: self.network.clone(),
            labels: self.labels.clone(),
        };
        let refused_before = self.refused_connections().await;
        let run = run_agent_container(&self.docker, &placement, invocation, cancel).await;
        let refused_connections = match (refused_before, self.refused_connections().await) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => 0,
        };
        LaunchedAgent {
            run,
            refused_connections,
        }
    }

    async fn allow_host_ports(&self, ports: &[u16]) -> Result<(), RuntimeError> {
        if !self.host_closed {
            // Nothing was closed (no iptables here): every host port is already reachable.
            return Ok(());
        }
        HostFirewall::for_bridge(&self.bridge)
            .allow_tcp_ports(&self.host_address, ports)
            .await
            .map_err(|error| RuntimeError::Firewall {
                bridge: self.bridge.clone(),
                ports: ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: error_chain(&error),
            })
    }

    async fn shutdown(self: Box<Self>) -> Result<(), RuntimeError> {
        let DockerPod { mut resources, .. } = *self;
        resources.release().await
    }
}

/// What a Docker pod created, recorded as soon as each piece exists. Releasing is idempotent;
/// dropping unreleased resources removes them on a helper thread, so a pod that fails half-way
/// through starting, or is dropped without `shutdown`, leaves nothing behind.
pub(crate) struct DockerPodResources {
    docker: Docker,
    pub(crate) network: Option<String>,
    pub(crate) container: Option<String>,
    /// The bridge whose host firewall rules go with the network.
    pub(crate) bridge: Option<String>,
}

impl DockerPodResources {
    pub(crate) fn new(docker: Docker) -> Self {
        Self {
            docker,
            network: None,
            container: None,
            bridge: None,
        }
    }

    pub(crate) async fn release(&mut self) -> Result<(), RuntimeError> {
        remove(
            &self.docker,
            self.container.as_deref(),
            self.network.as_deref(),
        )
        .await?;
        self.container = None;
        self.network = None;
        if let Some(bridge) = self.bridge.take() {
            open_host(&bridge).await;
        }
        Ok(())
    }
}

impl Drop for DockerPodResources {
    fn drop(&mut self) {
        let (container, network, bridge) = (
            self.container.take(),
            self.network.take(),
            self.bridge.take(),
        );
        if container.is_none() && network.is_none() && bridge.is_none() {
            return;
        }
        // Drop may run inside a runtime, where blocking on it would panic; a thread with its own
        // runtime and its own client (the original's connections belong to the caller's
        // runtime) does the removal while this thread waits.
        let cleanup = std::thread::Builder::new()
            .name("agentpod-pod-drop".to_string())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime
                    .block_on(async {
                        let docker = docker_client::connect().await?;
                        remove(&docker, container.as_deref(), network.as_deref()).await?;
                        if let Some(bridge) = bridge {
                            open_host(&bridge).await;
                        }
                        Ok::<_, RuntimeError>(())
                    })
                    .map_err(std::io::Error::other)
            });
        let outcome = match cleanup {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("cleanup thread panicked"))),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            tracing::warn!(error = %ErrorChain(&error), "cannot remove docker pod resources; `agentpod gc` will retry");
        }
    }
}

/// Rules of a bridge that is gone only clutter the chain (and `gc` sweeps them), so failing to
/// remove them is a warning, not a failed shutdown.
async fn open_host(bridge: &str) {
    if let Err(error) = HostFirewall::for_bridge(bridge).open().await {
        tracing::warn!(error = %ErrorChain(&error), bridge, "cannot remove host firewall rules; `agentpod gc` will retry");
    }
}

/// Container first: a network with an attached container cannot be removed. Things already
/// gone count as removed.
async fn remove(
    docker: &Docker,
    container: Option<&str>,
    network: Option<&str>,
) -> Result<(), RuntimeError> {
    if let Some(container) = container {
        remove_container(docker, container).await?;
    }
    if let Some(network) = network {
        remove_network(docker, network).await?;
    }
    Ok(())
}

pub(crate) async fn remove_container(docker: &Docker, container: &str) -> Result<(), RuntimeError> {
    // `v`: anonymous volumes from the image's VOLUME go with the container.
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) || is_already_being_removed(&error) => Ok(()),
        Err(error) => Err(RuntimeError::docker(
            format!("remove container {container}"),
            error,
        )),
    }
}

pub(crate) async fn remove_network(docker: &Docker, network: &str) -> Result<(), RuntimeError> {
    match docker.remove_network(network).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(RuntimeError::docker(
            format!("remove network {network}"),
            error,
        )),
    }
}
