//! `DockerPod`: a Postgres container on the pod's own internal network.

use async_trait::async_trait;
use bollard::Docker;
use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::docker_client::{self, is_already_being_removed, is_not_found};
use crate::error::RuntimeError;
use crate::pod::Pod;
use crate::postgres_endpoint::PostgresEndpoint;

pub(crate) struct DockerPod {
    pub(crate) id: String,
    pub(crate) endpoint: PostgresEndpoint,
    pub(crate) resources: DockerPodResources,
}

#[async_trait]
impl Pod for DockerPod {
    fn id(&self) -> &str {
        &self.id
    }

    fn postgres(&self) -> &PostgresEndpoint {
        &self.endpoint
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
}

impl DockerPodResources {
    pub(crate) fn new(docker: Docker) -> Self {
        Self {
            docker,
            network: None,
            container: None,
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
        Ok(())
    }
}

impl Drop for DockerPodResources {
    fn drop(&mut self) {
        let (container, network) = (self.container.take(), self.network.take());
        if container.is_none() && network.is_none() {
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
                        remove(&docker, container.as_deref(), network.as_deref()).await
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
            tracing::warn!(%error, "cannot remove docker pod resources; `agentpod gc` will retry");
        }
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
