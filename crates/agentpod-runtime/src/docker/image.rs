//! Making sure the pod image is there: present, or pulled within a bounded time.

use std::time::Duration;

use bollard::Docker;
use bollard::models::ImageInspect;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::TryStreamExt;

use super::docker_client::is_not_found;
use crate::error::RuntimeError;

/// Where no registry answers, a pull either fails fast or hangs on the network; don't wait long.
const PULL_TIMEOUT: Duration = Duration::from_secs(120);

/// The image's inspection, pulling it first when it is not here.
pub(crate) async fn ensure_image(
    docker: &Docker,
    image: &str,
) -> Result<ImageInspect, RuntimeError> {
    match docker.inspect_image(image).await {
        Ok(inspection) => return Ok(inspection),
        Err(error) if is_not_found(&error) => {}
        Err(error) => {
            return Err(RuntimeError::docker(
                format!("inspect image {image}"),
                error,
            ));
        }
    }
    tracing::info!(image, "image not present locally; pulling it");
    let options = CreateImageOptionsBuilder::new().from_image(image).build();
    let pull = docker
        .create_image(Some(options), None, None)
        .try_collect::<Vec<_>>();
    let unavailable = |reason: String| RuntimeError::ImageUnavailable {
        image: image.to_string(),
        reason,
    };
    tokio::time::timeout(PULL_TIMEOUT, pull)
        .await
        .map_err(|_| unavailable(format!("pull timed out after {} s", PULL_TIMEOUT.as_secs())))?
        .map_err(|error| unavailable(error.to_string()))?;
    docker
        .inspect_image(image)
        .await
        .map_err(|error| unavailable(error.to_string()))
}
