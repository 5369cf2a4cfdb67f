//! `DockerRuntime`: starts pods as containers on internal networks, each network's bridge closed
//! to the host.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;

use super::docker_client;
use super::docker_pod::{DockerPod, DockerPodResources};
use super::host_firewall::HostFirewall;
use super::image::ensure_image;
use crate::error::RuntimeError;
use crate::labels;
use crate::naming;
use crate::pod::Pod;
use crate::pod_request::PodRequest;
use crate::postgres_endpoint::PostgresEndpoint;
use crate::readiness::wait_until_ready;
use crate::runtime::Runtime;
use crate::runtime_kind::RuntimeKind;

const SUPERUSER: &str = "postgres";
const POSTGRES_PORT: u16 = 5432;
/// The image's first start runs initdb before the real server comes up.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const DATA_DIRECTORY: &str = "/var/lib/postgresql/data";
/// The network driver option naming the bridge interface on the host.
pub(crate) const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// Pods as Docker containers, each on its own internal network.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    docker: Docker,
}

impl DockerRuntime {
    /// Connects to the engine named by DOCKER_HOST or the local socket; fails within about two
    /// seconds if none answers.
    pub async fn connect() -> Result<Self, RuntimeError> {
        Ok(Self {
            docker: docker_client::connect().await?,
        })
    }

    async fn create_network(
        &self,
        name: &str,
        bridge: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            // No route out: nothing in the pod can reach beyond the pod (but the host itself,
            // which `HostFirewall` closes).
            internal: Some(true),
            // A known bridge name is what the host firewall rules match on.
            options: Some(HashMap::from([(
                BRIDGE_NAME_OPTION.to_string(),
                bridge.to_string(),
            )])),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map(|_| ())
            .map_err(|error| RuntimeError::docker(format!("create network {name}"), error))
    }

    /// The host's address on the network: the bridge's gateway.
    async fn gateway_address(&self, network: &str) -> Result<String, RuntimeError> {
        let inspection = self
            .docker
            .inspect_network(network, None)
            .await
            .map_err(|error| RuntimeError::docker(format!("inspect network {network}"), error))?;
        inspection
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .filter_map(|config| config.gateway)
            .find(|gateway| !gateway.is_empty() && !gateway.contains(':'))
            .ok_or_else(|| RuntimeError::NetworkGateway {
                network: network.to_string(),
            })
    }

    async fn create_container(
        &self,
        name: &str,
        network: &str,
        image: &str,
        password: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(vec![
                format!("POSTGRES_USER={SUPERUSER}"),
                format!("POSTGRES_PASSWORD={password}"),
            ]),
            // Throwaway data, and a JSON log of errors (see server_settings).
            cmd: Some(
                std::iter::once("postgres".to_string())
                    .chain(crate::server_settings::postgres_arguments())
                    .collect(),
            ),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(network.to_string()),
                // Data in memory: initdb's and the server's writes cost nothing, and mounting
                // here keeps the image's VOLUME from becoming an anonymous volume.
                tmpfs: Some(HashMap::from([(
                    DATA_DIRECTORY.to_string(),
                    "rw,nosuid,nodev".to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|_| ())
            .map_err(|error| {
                RuntimeError::docker(format!("create container {name} from {image}"), error)
            })
    }

    async fn container_address(
        &self,
        container: &str,
        network: &str,
    ) -> Result<String, RuntimeError> {
        let inspection = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|error| {
                RuntimeError::docker(format!("inspect container {container}"), error)
            })?;
        inspection
            .network_settings
            .and_then(|settings| settings.networks)
            .and_then(|mut networks| networks.remove(network))
            .and_then(|endpoint| endpoint.ip_address)
            .filter(|address| !address.is_empty())
            .ok_or_else(|| RuntimeError::ContainerAddress {
                container: container.to_string(),
                network: network.to_string(),
            })
    }

    /// Fails with the container's log when it is no longer running.
    async fn check_running(docker: Docker, container: String) -> Result<(), RuntimeError> {
        let inspection = docker
            .inspect_container(&container, None)
            .await
            .map_err(|error| {
                RuntimeError::docker(format!("inspect container {container}"), error)
            })?;
        let running = inspection
            .state
            .and_then(|state| state.running)
            .unwrap_or(false);
        if running {
            return Ok(());
        }
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail("40")
            .build();
        let log_tail = docker
            .logs(&container, Some(options))
            .filter_map(|line| async move { line.ok().map(|line| line.to_string()) })
            .collect::<Vec<_>>()
            .await
            .concat();
        Err(RuntimeError::ContainerExited {
            container,
            log_tail: log_tail.trim().to_string(),
        })
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    async fn start_pod(&self, request: &PodRequest) -> Result<Box<dyn Pod>, RuntimeError> {
        ensure_image(&self.docker, &request.image).await?;
        let id = naming::pod_id(&request.run_id, request.pod_index);
        let labels = labels::for_pod(&request.run_id, &id);
        let network = format!("{id}-net");
        let bridge = naming::bridge_name();
        let password = naming::password();
        // From here on, dropping `resources` (an early `?`) removes everything made so far.
        let mut resources = DockerPodResources::new(self.docker.clone());

        // Recorded before creating: if this future is dropped while the engine is creating
        // them, the guard still knows the (unique, generated) names to remove.
        resources.network = Some(network.clone());
        resources.bridge = Some(bridge.clone());
        self.create_network(&network, &bridge, &labels).await?;
        let host_address = self.gateway_address(&network).await?;
        // Before any container joins, so nothing in the pod ever sees the host open.
        let host_closed = match HostFirewall::for_bridge(&bridge).close().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, pod = %id, "cannot close the host to the pod network; containers in the pod can reach host services");
                false
            }
        };
        resources.container = Some(id.clone());
        self.create_container(&id, &network, &request.image, &password, &labels)
            .await?;
        self.docker
            .start_container(&id, None)
            .await
            .map_err(|error| RuntimeError::docker(format!("start container {id}"), error))?;

        // The host reaches the container through the bridge's host-side address; no port is
        // published, so nothing listens beyond this machine.
        let endpoint = PostgresEndpoint {
            host: self.container_address(&id, &network).await?,
            port: POSTGRES_PORT,
            user: SUPERUSER.to_string(),
            password,
        };
        wait_until_ready(&endpoint, READY_TIMEOUT, || {
            Self::check_running(self.docker.clone(), id.clone())
        })
        .await?;
        tracing::debug!(pod = %id, host = %endpoint.host, "docker pod ready");
        Ok(Box::new(DockerPod {
            id,
            endpoint,
            network,
            host_address,
            bridge,
            host_closed,
            resources,
        }))
    }
}
