//! `agentpod gc`: sweep what killed runs left behind.

use agentpod_runtime::{GcOptions, collect_garbage};

use crate::cli::GcArgs;
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) async fn gc(args: GcArgs) -> Result<Exit, Failure> {
    let report = collect_garbage(GcOptions {
        all: args.all,
        dry_run: args.dry_run,
        seeds: args.seeds,
    })
    .await
    .map_err(|error| Failure::from_error(Exit::Setup, "cannot collect garbage", &error))?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let total = report.containers.len()
        + report.networks.len()
        + report.volumes.len()
        + report.local_pods.len()
        + report.output_areas.len()
        + report.agent_cgroups.len()
        + report.seed_images.len()
        + report.local_seeds.len();
    for container in &report.containers {
        println!("{verb} container {container}");
    }
    for network in &report.networks {
        println!("{verb} network {network}");
    }
    for volume in &report.volumes {
        println!("{verb} volume {volume}");
    }
    for local_pod in &report.local_pods {
        println!("{verb} local pod {}", local_pod.display());
    }
    for area in &report.output_areas {
        println!("{verb} issue output area (tmpfs) {}", area.display());
    }
    for group in &report.agent_cgroups {
        println!("{verb} agent control group {}", group.display());
    }
    for rule in &report.firewall_rules {
        println!("{verb} firewall rule {rule}");
    }
    for image in &report.seed_images {
        println!("{verb} seed image {image}");
    }
    for seed in &report.local_seeds {
        println!("{verb} local seed {}", seed.display());
    }
    for image in &report.seed_images_in_use {
        println!("kept seed image {image}: a pod still runs from it");
    }
    if total == 0 {
        println!("nothing to remove");
    }
    Ok(Exit::Success)
}
