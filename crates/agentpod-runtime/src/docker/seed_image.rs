//! Seed images: the Docker side of the seed cache. A seeding server is a pod container whose
//! cluster is archived when it stops (see `pod_data`); committing the stopped container makes
//! the image, labelled with the seed key, that later pods start from. `gc --seeds` removes them.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerConfig, ImageSummary};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, KillContainerOptionsBuilder, ListImagesOptionsBuilder,
    LogsOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};

use super::docker_client::is_not_found;
use super::docker_pod::DockerPod;
use crate::error::RuntimeError;
use crate::labels;
use crate::seed_cache::{SEED_REPOSITORY, SeedImage, SeedingServer, seed_image_name};
use agentpod_postgres_server::PostgresEndpoint;

/// A fast shutdown of a freshly seeded server and archiving its cluster take a second or two.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A pod container seeded for the cache; removed when committed, discarded or dropped.
pub(crate) struct DockerSeedingServer {
    docker: Docker,
    pod: DockerPod,
    /// The database image's entrypoint, which the seed image keeps as its own.
    entrypoint: Vec<String>,
}

impl DockerSeedingServer {
    pub(crate) fn new(docker: Docker, pod: DockerPod, entrypoint: Vec<String>) -> Self {
        Self {
            docker,
            pod,
            entrypoint,
        }
    }

    async fn stop_and_commit(&self, key: &str) -> Result<SeedImage, RuntimeError> {
        let container = self.pod.id.as_str();
        // SIGINT reaches the seeding script, which stops the server and archives the cluster.
        self.docker
            .kill_container(
                container,
                Some(KillContainerOptionsBuilder::new().signal("SIGINT").build()),
            )
            .await
            .map_err(|error| RuntimeError::docker(format!("stop container {container}"), error))?;
        let not_kept = |reason: String| RuntimeError::SeedNotKept {
            server: container.to_string(),
            reason,
        };
        let waited = tokio::time::timeout(
            STOP_TIMEOUT,
            self.docker
                .wait_container(container, None)
                .try_collect::<Vec<_>>(),
        )
        .await
        .map_err(|_| {
            not_kept(format!(
                "it did not stop within {} s",
                STOP_TIMEOUT.as_secs()
            ))
        })?;
        match waited {
            Ok(_) => {}
            Err(DockerError::DockerContainerWaitError { code, .. }) => {
                let log_tail = log_tail(&self.docker, container).await;
                return Err(not_kept(format!(
                    "the server did not stop cleanly (exit {code}); its last log lines:\n{log_tail}"
                )));
            }
            Err(error) => {
                return Err(RuntimeError::docker(
                    format!("wait for container {container} to stop"),
                    error,
                ));
            }
        }

        let name = seed_image_name(key);
        let tag = name
            .strip_prefix(SEED_REPOSITORY)
            .and_then(|tag| tag.strip_prefix(':'))
            .unwrap_or(key);
        // The container's own labels (owner, run) and environment come along: the environment's
        // POSTGRES_PASSWORD is the archived superuser's, which pods restoring the seed log in
        // with once, to replace it with their own.
        let config = ContainerConfig {
            labels: Some(HashMap::from([
                (labels::MANAGED.to_string(), "true".to_string()),
                (labels::SEED_KEY.to_string(), key.to_string()),
            ])),
            entrypoint: Some(self.entrypoint.clone()),
            cmd: Some(vec!["postgres".to_string()]),
            ..Default::default()
        };
        // Two runs committing the same key at once each get their own image at first; then
        // both settle on the same one (see `settle`).
        let options = CommitContainerOptionsBuilder::new()
            .container(container)
            .repo(SEED_REPOSITORY)
            .tag(tag)
            .comment("agentpod seeded template")
            .pause(false)
            .build();
        let committed = self
            .docker
            .commit_container(options, config)
            .await
            .map_err(|error| {
                RuntimeError::docker(format!("commit container {container} as {name}"), error)
            })?;
        settle(&self.docker, key, committed.id, name).await
    }
}

/// After a commit: the seed of `key` every run agrees on, the oldest image (ties by id), tagged
/// with the seed's name. A run that committed a newer duplicate (it missed the cache at the same
/// time as another) removes its own, which no pod uses yet, and takes the agreed one.
async fn settle(
    docker: &Docker,
    key: &str,
    committed: String,
    name: String,
) -> Result<SeedImage, RuntimeError> {
    let agreed = oldest(docker, list(docker, key).await?)
        .await
        .map(|image| image.id)
        .unwrap_or_else(|| committed.clone());
    if agreed == committed {
        return Ok(SeedImage {
            id: committed,
            name,
        });
    }
    let (repository, tag) = name.split_once(':').unwrap_or((SEED_REPOSITORY, key));
    let tagged = docker
        .tag_image(
            &agreed,
            Some(
                TagImageOptionsBuilder::new()
                    .repo(repository)
                    .tag(tag)
                    .build(),
            ),
        )
        .await;
    if let Err(error) = tagged {
        // Gone since listed (`gc --seeds`): keep our own.
        tracing::debug!(%error, "cannot tag the agreed seed image; keeping this run's own");
        return Ok(SeedImage {
            id: committed,
            name,
        });
    }
    let options = RemoveImageOptionsBuilder::new().force(false).build();
    if let Err(error) = docker.remove_image(&committed, Some(options), None).await {
        tracing::debug!(%error, "cannot remove a duplicate seed image; `agentpod gc --seeds` will");
    }
    Ok(SeedImage { id: agreed, name })
}

/// The image committed first. By the engine's creation time to the nanosecond: the listing's
/// whole seconds tie for commits of the same second, and a later commit must never become the
/// agreed seed after an earlier run has settled on its own.
async fn oldest(docker: &Docker, images: Vec<ImageSummary>) -> Option<ImageSummary> {
    if images.len() < 2 {
        return images.into_iter().next();
    }
    let mut ordered = Vec::with_capacity(images.len());
    for image in images {
        let created = match docker.inspect_image(&image.id).await {
            Ok(inspection) => inspection.created.as_deref().map(creation_order),
            // Gone since listed.
            Err(_) => continue,
        };
        let created = created.unwrap_or_else(|| (image.created.to_string(), 0));
        ordered.push((created, image));
    }
    ordered
        .into_iter()
        .min_by(|(left, left_image), (right, right_image)| {
            (left, &left_image.id).cmp(&(right, &right_image.id))
        })
        .map(|(_, image)| image)
}

/// An RFC 3339 UTC time as the engine writes it (`2026-11-25T18:13:24.8686909Z`, trailing zeros
/// of the fraction dropped) as (seconds, nanoseconds), which order like the times.
fn creation_order(created: &str) -> (String, u32) {
    let created = created.trim_end_matches('Z');
    let (seconds, fraction) = created.split_once('.').unwrap_or((created, ""));
    let digits: String = fraction
        .chars()
        .take_while(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    (seconds.to_string(), digits.parse().unwrap_or(0))
}

/// Every seed image labelled with `key`.
async fn list(docker: &Docker, key: &str) -> Result<Vec<ImageSummary>, RuntimeError> {
    let filters = HashMap::from([("label", vec![format!("{}={key}", labels::SEED_KEY)])]);
    docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|error| RuntimeError::docker("list seed images", error))
}

#[async_trait]
impl SeedingServer for DockerSeedingServer {
    fn postgres(&self) -> &PostgresEndpoint {
        &self.pod.endpoint
    }

    async fn commit(self: Box<Self>, key: &str) -> Result<SeedImage, RuntimeError> {
        let committed = self.stop_and_commit(key).await;
        let DockerSeedingServer { mut pod, .. } = *self;
        let released = pod.resources.release().await;
        let seed = committed?;
        released?;
        tracing::debug!(image = %seed.name, id = %seed.id, "committed seed image");
        Ok(seed)
    }

    async fn discard(self: Box<Self>) -> Result<(), RuntimeError> {
        let DockerSeedingServer { mut pod, .. } = *self;
        pod.resources.release().await
    }
}

/// The seed image of `key`: the oldest, which concurrent commits settle on.
pub(crate) async fn find(docker: &Docker, key: &str) -> Result<Option<SeedImage>, RuntimeError> {
    Ok(oldest(docker, list(docker, key).await?)
        .await
        .map(|image| SeedImage {
            name: seed_name(&image.repo_tags).unwrap_or_else(|| seed_image_name(key)),
            id: image.id,
        }))
}

/// Seed images removed (or that would be, with `dry_run`), and those kept because a container
/// still uses them.
#[derive(Debug, Default)]
pub(crate) struct SeedGarbage {
    pub(crate) removed: Vec<String>,
    pub(crate) in_use: Vec<String>,
}

/// Removes every seed image that no container uses.
pub(crate) async fn remove_seed_images(
    docker: &Docker,
    dry_run: bool,
) -> Result<SeedGarbage, RuntimeError> {
    let filters = HashMap::from([("label", vec![labels::SEED_KEY.to_string()])]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|error| RuntimeError::docker("list seed images", error))?;
    let mut garbage = SeedGarbage::default();
    for image in images {
        let short_id: String = image
            .id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        let name = match seed_name(&image.repo_tags) {
            Some(name) => format!("{name} ({short_id})"),
            None => format!("{SEED_REPOSITORY} ({short_id}, untagged)"),
        };
        if dry_run {
            garbage.removed.push(name);
            continue;
        }
        // Never forced: a pod still running from the image keeps it.
        let options = RemoveImageOptionsBuilder::new().force(false).build();
        match docker.remove_image(&image.id, Some(options), None).await {
            Ok(_) => garbage.removed.push(name),
            Err(error) if is_not_found(&error) => {}
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => garbage.in_use.push(name),
            Err(error) => {
                return Err(RuntimeError::docker(format!("remove image {name}"), error));
            }
        }
    }
    garbage.removed.sort();
    garbage.in_use.sort();
    Ok(garbage)
}

fn seed_name(repo_tags: &[String]) -> Option<String> {
    repo_tags
        .iter()
        .find(|tag| tag.starts_with(&format!("{SEED_REPOSITORY}:")))
        .cloned()
}

async fn log_tail(docker: &Docker, container: &str) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail("20")
        .build();
    docker
        .logs(container, Some(options))
        .filter_map(|line| async move { line.ok().map(|line| line.to_string()) })
        .collect::<Vec<_>>()
        .await
        .concat()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_times_order_to_the_nanosecond() {
        let earlier = creation_order("2026-11-25T18:13:24.8686909Z");
        let later = creation_order("2026-11-25T18:13:24.967020971Z");
        assert_eq!(earlier, ("2026-11-25T18:13:24".to_string(), 868_690_900));
        assert!(earlier < later);
        assert!(creation_order("2026-11-25T18:13:24Z") < earlier);
        assert!(later < creation_order("2026-11-25T18:13:25.1Z"));
    }
}
