//! `DockerRuntime`: starts pods as containers on internal networks, each network's bridge closed
//! to the host.

use std::collections::HashMap;
use std::time::Duration;

use agentpod_error_chain::ErrorChain;
use async_trait::async_trait;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;

use super::docker_client;
use super::docker_pod::{DockerPod, DockerPodResources};
use super::host_firewall::HostFirewall;
use super::image::ensure_image;
use super::pod_data::{DATA_DIRECTORY, PodData, image_entrypoint};
use super::seed_image::{self, DockerSeedingServer};
use crate::error::RuntimeError;
use crate::labels;
use crate::naming;
use crate::pod::Pod;
use crate::pod_request::PodRequest;
use crate::readiness::wait_until_ready;
use crate::runtime::Runtime;
use crate::runtime_kind::RuntimeKind;
use crate::seed_cache::{SeedCache, SeedImage, SeedingServer};
use crate::superuser_password::replace_superuser_password;
use agentpod_postgres_server::PostgresEndpoint;

const SUPERUSER: &str = "postgres";

/// The pod's data directory (tmpfs): the seeded template, every issue's clone, the log.
const POD_DATA_BYTES: u64 = 2 << 30;
/// The Postgres container's memory, tmpfs included.
const POD_MEMORY_BYTES: i64 = 3 << 30;
/// One CPU's worth of time per pod.
const POD_NANO_CPUS: i64 = 1_000_000_000;
/// Server processes: a backend per connection, within the issue roles' connection limits.
const POD_PROCESSES: i64 = 512;
const POSTGRES_PORT: u16 = 5432;
/// The image's first start runs initdb before the real server comes up.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
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
        data: &PodData,
        password: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        // Throwaway data, and a JSON log of errors (see agentpod-postgres-server).
        let server = std::iter::once("postgres".to_string())
            .chain(agentpod_postgres_server::postgres_arguments())
            .collect();
        let (entrypoint, command) = data.entrypoint_and_command(server);
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(vec![
                format!("POSTGRES_USER={SUPERUSER}"),
                format!("POSTGRES_PASSWORD={password}"),
                // Where the tmpfs is, whatever the image's own default.
                format!("PGDATA={DATA_DIRECTORY}"),
            ]),
            entrypoint,
            cmd: Some(command),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(network.to_string()),
                // Data in memory: initdb's and the server's writes cost nothing, and mounting
                // here keeps the image's VOLUME from becoming an anonymous volume.
                // Sized, so an agent that writes without end fills its pod, not the host; a
                // server that dies of it is the to answer for (the runner retries the
                // issue once on a fresh pod, then fails it).
                tmpfs: Some(HashMap::from([(
                    DATA_DIRECTORY.to_string(),
                    format!("rw,nosuid,nodev,size={POD_DATA_BYTES}"),
                )])),
                // tmpfs pages count against the container's memory, so the limit leaves room
                // for the data directory and the server's own memory; no swap beyond it.
                memory: Some(POD_MEMORY_BYTES),
                memory_swap: Some(POD_MEMORY_BYTES),
                nano_cpus: Some(POD_NANO_CPUS),
                pids_limit: Some(POD_PROCESSES),
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

    /// Network, firewall, container, and a server accepting the host: a pod, or the server a
    /// seed is made in.
    async fn start(
        &self,
        request: &PodRequest,
        id: String,
        data: &PodData,
    ) -> Result<DockerPod, RuntimeError> {
        let labels = labels::for_pod(&request.run_id, &id);
        let network = format!("{id}-net");
        let bridge = naming::bridge_name();
        // The pod's own: initdb sets it, or (restored) it replaces the seed's once ready.
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
                tracing::warn!(error = %ErrorChain(&error), pod = %id, "cannot close the host to the pod network; containers in the pod can reach host services");
                false
            }
        };
        resources.container = Some(id.clone());
        self.create_container(&id, &network, &request.image, data, &password, &labels)
            .await?;
        self.docker
            .start_container(&id, None)
            .await
            .map_err(|error| RuntimeError::docker(format!("start container {id}"), error))?;

        // The host reaches the container through the bridge's host-side address; no port is
        // published, so nothing listens beyond this machine.
        let mut endpoint = PostgresEndpoint {
            host: self.container_address(&id, &network).await?,
            port: POSTGRES_PORT,
            user: SUPERUSER.to_string(),
            password: match data {
                PodData::Restored {
                    password: seed_password,
                    ..
                } => seed_password.clone(),
                PodData::Fresh | PodData::Seeding { .. } => password.clone(),
            },
        };
        wait_until_ready(&endpoint, READY_TIMEOUT, || {
            Self::check_running(self.docker.clone(), id.clone())
        })
        .await?;
        if matches!(data, PodData::Restored { .. }) {
            // A restored cluster's superuser has the seeding server's password, kept in the seed
            // image for this. Each pod gets its own before anything but the host can connect.
            replace_superuser_password(&endpoint, Some(&password)).await?;
            endpoint.password = password;
        }
        tracing::debug!(pod = %id, host = %endpoint.host, "docker pod ready");
        Ok(DockerPod {
            id,
            endpoint,
            network,
            host_address,
            bridge,
            host_closed,
            labels,
            docker: self.docker.clone(),
            resources,
        })
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    /// A seed image (see [`SeedCache`]) as `request.image` starts the pod with its seeded
    /// cluster; any other image starts it empty.
    async fn start_pod(&self, request: &PodRequest) -> Result<Box<dyn Pod>, RuntimeError> {
        let image = ensure_image(&self.docker, &request.image).await?;
        let id = naming::pod_id(&request.run_id, request.pod_index);
        let pod = self.start(request, id, &PodData::for_image(&image)).await?;
        Ok(Box::new(pod))
    }

    fn seed_cache(&self) -> Option<&dyn SeedCache> {
        Some(self)
    }
}

#[async_trait]
impl SeedCache for DockerRuntime {
    async fn image_identity(&self, image: &str) -> Result<String, RuntimeError> {
        let inspection = ensure_image(&self.docker, image).await?;
        Ok(inspection.id.unwrap_or_else(|| image.to_string()))
    }

    async fn find_seed(&self, key: &str) -> Result<Option<SeedImage>, RuntimeError> {
        seed_image::find(&self.docker, key).await
    }

    async fn start_seeding(
        &self,
        request: &PodRequest,
    ) -> Result<Box<dyn SeedingServer>, RuntimeError> {
        let image = ensure_image(&self.docker, &request.image).await?;
        let entrypoint = image_entrypoint(&image);
        let id = naming::seeding_id(&request.run_id);
        let pod = self
            .start(
                request,
                id,
                &PodData::Seeding {
                    entrypoint: entrypoint.clone(),
                },
            )
            .await?;
        Ok(Box::new(DockerSeedingServer::new(
            self.docker.clone(),
            pod,
            entrypoint,
        )))
    }
}
