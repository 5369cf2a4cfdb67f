//! `AgentContainer`: the agent's container, owned so that it is removed whatever happens.

use std::time::Duration;

use agentpod_error_chain::ErrorChain;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::RemoveContainerOptionsBuilder;

/// A missing engine must be reported at once, not after bollard's two-minute request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the drop fallback could not remove an agent container.
#[derive(Debug, thiserror::Error)]
enum CleanupError {
    #[error("cannot start the cleanup thread")]
    Thread(#[source] std::io::Error),
    #[error("the cleanup thread panicked")]
    Panicked,
    #[error("cannot reach the Docker engine")]
    Engine(#[source] DockerError),
    #[error("the Docker engine did not answer within {} s", CONNECT_TIMEOUT.as_secs())]
    EngineTimeout,
    #[error("cannot remove container {name}")]
    Remove {
        name: String,
        #[source]
        source: DockerError,
    },
}

/// Connects (DOCKER_HOST or the local socket) and agrees on an API version, for the drop
/// fallback only: it runs on a runtime of its own, where the pod's client cannot be used. The
/// normal path uses the client of the pod that launched the agent.
async fn connect_docker() -> Result<Docker, CleanupError> {
    let docker = Docker::connect_with_local_defaults().map_err(CleanupError::Engine)?;
    tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| CleanupError::EngineTimeout)?
        .map_err(CleanupError::Engine)
}

pub(crate) fn is_not_found(error: &DockerError) -> bool {
    matches!(
        error,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The agent container by name. `remove` is the normal end; dropping it unremoved (an early
/// return, or the run's future dropped mid-flight) removes it on a helper thread.
pub(crate) struct AgentContainer {
    docker: Docker,
    name: Option<String>,
}

impl AgentContainer {
    /// Held before the container is created: if the future is dropped while the engine creates
    /// it, the (generated, unique) name is still known to remove.
    pub(crate) fn named(docker: Docker, name: String) -> Self {
        Self {
            docker,
            name: Some(name),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    pub(crate) async fn remove(mut self) {
        if let Some(name) = self.name.take()
            && let Err(error) = remove(&self.docker, &name).await
        {
            tracing::warn!(%error, container = name, "cannot remove agent container; `agentpod gc` will retry");
        }
    }
}

impl Drop for AgentContainer {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        // Drop may run inside a runtime, where blocking on it would panic; a thread with its own
        // runtime and its own client (the original's connections belong to the caller's
        // runtime) does the removal while this thread waits.
        let cleanup = std::thread::Builder::new()
            .name("agentpod-agent-drop".to_string())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(CleanupError::Thread)?;
                runtime.block_on(async {
                    let docker = connect_docker().await?;
                    remove(&docker, &name)
                        .await
                        .map_err(|source| CleanupError::Remove { name, source })
                })
            });
        let outcome = match cleanup {
            Ok(handle) => handle.join().unwrap_or(Err(CleanupError::Panicked)),
            Err(error) => Err(CleanupError::Thread(error)),
        };
        if let Err(error) = outcome {
            tracing::warn!(error = %ErrorChain(&error), "cannot remove agent container; `agentpod gc` will retry");
        }
    }
}

/// Forced: a running container is killed first. Already gone (or being removed) is fine.
async fn remove(docker: &Docker, name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(DockerError::DockerResponseServerError {
            status_code: 409,
            message,
        }) if message.contains("already in progress") => Ok(()),
        Err(error) => Err(error),
    }
}
