//! Connecting to the Docker engine, and the error shapes of its answers.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;

use crate::error::RuntimeError;

/// A missing engine must be reported at once, not after bollard's two-minute request timeout.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects (DOCKER_HOST or the local socket) and agrees on an API version: engines older than
/// bollard's default version reject its requests otherwise.
pub(crate) async fn connect() -> Result<Docker, RuntimeError> {
    let unavailable = |reason: String| RuntimeError::DockerUnavailable {
        seconds: CONNECT_TIMEOUT.as_secs(),
        reason,
    };
    let docker =
        Docker::connect_with_local_defaults().map_err(|error| unavailable(error.to_string()))?;
    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let docker = docker.negotiate_version().await?;
        docker.ping().await?;
        Ok::<_, DockerError>(docker)
    })
    .await
    .map_err(|_| unavailable("timed out".to_string()))?
    .map_err(|error| unavailable(error.to_string()))
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

/// 409 on removal: the engine is already removing it (another cleanup path got there first).
pub(crate) fn is_already_being_removed(error: &DockerError) -> bool {
    matches!(error, DockerError::DockerResponseServerError { status_code: 409, message }
        if message.contains("already in progress"))
}
