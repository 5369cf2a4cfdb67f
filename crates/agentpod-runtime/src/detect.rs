//! `detect_runtime`: picks the runtime a run uses.

use crate::docker::DockerRuntime;
use crate::error::RuntimeError;
use crate::local::LocalRuntime;
use crate::runtime::Runtime;
use crate::runtime_kind::RuntimeKind;

/// With a preference, that runtime or its error. Without one: Docker if an engine answers,
/// else the local Postgres binaries, else an error saying what to install.
pub async fn detect_runtime(
    preference: Option<RuntimeKind>,
) -> Result<Box<dyn Runtime>, RuntimeError> {
    match preference {
        Some(RuntimeKind::Docker) => Ok(Box::new(DockerRuntime::connect().await?)),
        Some(RuntimeKind::Local) => Ok(Box::new(LocalRuntime::detect()?)),
        None => match DockerRuntime::connect().await {
            Ok(docker) => Ok(Box::new(docker)),
            Err(docker_error) => match LocalRuntime::detect() {
                Ok(local) => {
                    tracing::info!(reason = %docker_error, "no docker engine; using the local runtime");
                    Ok(Box::new(local))
                }
                Err(_) => Err(RuntimeError::NoRuntime {
                    docker: docker_error.to_string(),
                }),
            },
        },
    }
}
