//! `collect_garbage` (`agentpod gc`): removes what crashed or killed runs left behind.

use std::path::PathBuf;

use crate::docker::{collect_docker_resources, connect_docker, remove_seed_images};
use crate::error::RuntimeError;
use crate::local::{collect_local_pods, collect_local_seeds};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcOptions {
    /// Also remove resources whose owner process is still alive (or cannot be identified).
    pub all: bool,
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
    /// Also remove the seed cache: Docker's seed images (those no pod is running from) and the
    /// local runtime's seeded clusters. They are a cache, not garbage: without this they stay.
    pub seeds: bool,
}

/// What was removed, or would be with `dry_run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// Host firewall rules (as `iptables -S` prints them) of pod bridges that are gone.
    pub firewall_rules: Vec<String>,
    pub local_pods: Vec<PathBuf>,
    /// Issue output areas (tmpfs mounts) of runs that were killed before unmounting them.
    pub output_areas: Vec<PathBuf>,
    /// Host agents' control groups of runs that were killed mid-issue.
    pub agent_cgroups: Vec<PathBuf>,
    /// Seed images, with `seeds`.
    pub seed_images: Vec<String>,
    /// Seed images kept because a container still runs from them.
    pub seed_images_in_use: Vec<String>,
    /// The local runtime's seeded clusters, with `seeds`; without, only those that runs which
    /// died left half-built.
    pub local_seeds: Vec<PathBuf>,
}

impl GcReport {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.networks.is_empty()
            && self.volumes.is_empty()
            && self.firewall_rules.is_empty()
            && self.local_pods.is_empty()
            && self.output_areas.is_empty()
            && self.agent_cgroups.is_empty()
            && self.seed_images.is_empty()
            && self.local_seeds.is_empty()
    }
}

/// Sweeps Docker resources labelled as agentpod's (when an engine answers) and local pod
/// directories, keeping those whose owner process is alive unless `all`.
pub async fn collect_garbage(options: GcOptions) -> Result<GcReport, RuntimeError> {
    let mut report = GcReport::default();
    match connect_docker().await {
        Ok(docker) => {
            let garbage = collect_docker_resources(&docker, options.all, options.dry_run).await?;
            report.containers = garbage.containers;
            report.networks = garbage.networks;
            report.volumes = garbage.volumes;
            report.firewall_rules = garbage.firewall_rules;
            // After the containers: a seeding container swept above no longer holds its image.
            if options.seeds {
                let seeds = remove_seed_images(&docker, options.dry_run).await?;
                report.seed_images = seeds.removed;
                report.seed_images_in_use = seeds.in_use;
            }
        }
        Err(error) => tracing::debug!(%error, "no docker engine; sweeping local pods only"),
    }
    report.local_pods =
        tokio::task::spawn_blocking(move || collect_local_pods(options.all, options.dry_run))
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))??;
    report.local_seeds =
        tokio::task::spawn_blocking(move || collect_local_seeds(options.seeds, options.dry_run))
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))??;
    report.output_areas = crate::output_area::collect_output_areas(options.all, options.dry_run);
    report.agent_cgroups = agentpod_agent::collect_agent_cgroups(options.all, options.dry_run);
    Ok(report)
}
