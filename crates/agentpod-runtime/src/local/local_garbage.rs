//! Sweeping local pods whose owner process is gone, and the local seed cache.

use std::path::{Path, PathBuf};

use super::pod_marker::{PodMarker, pods_root};
use super::postmaster;
use super::seed_directory::SeedDirectory;
use crate::error::RuntimeError;
use crate::owner::{current_host, process_is_alive};

/// Stops the servers of, and removes, local pod directories whose owner died (every one with
/// `all`). Returns the directories removed, or that would be with `dry_run`.
pub(crate) fn collect_local_pods(all: bool, dry_run: bool) -> Result<Vec<PathBuf>, RuntimeError> {
    collect_in(&pods_root(), all, dry_run)
}

/// Removes seeds that runs which died left half-built, and with `seeds` every entry of the
/// user's local seed cache. Returns what was removed, or would be with `dry_run`.
pub(crate) fn collect_local_seeds(
    seeds: bool,
    dry_run: bool,
) -> Result<Vec<PathBuf>, RuntimeError> {
    match SeedDirectory::for_user() {
        Some(directory) => directory.collect(seeds, dry_run),
        None => Ok(Vec::new()),
    }
}

pub(crate) fn collect_in(
    root: &Path,
    all: bool,
    dry_run: bool,
) -> Result<Vec<PathBuf>, RuntimeError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(RuntimeError::io("list pods directory", root, source)),
    };
    let host = current_host();
    let mut collected = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let directory = entry.path();
        if !directory.is_dir() {
            continue;
        }
        let marker = match PodMarker::read(&directory) {
            Ok(marker) => Some(marker),
            Err(error) => {
                // Without a marker the owner is unknown; it may be a pod being created right now.
                if !all {
                    tracing::debug!(directory = %directory.display(), %error, "skipping pod without a readable marker");
                    continue;
                }
                None
            }
        };
        let is_garbage = all
            || marker.as_ref().is_some_and(|marker| {
                marker.owner_host == host && !process_is_alive(marker.owner_pid)
            });
        if !is_garbage {
            continue;
        }
        if !dry_run {
            remove_pod(&directory, marker.as_ref())?;
        }
        collected.push(directory);
    }
    collected.sort();
    Ok(collected)
}

fn remove_pod(directory: &Path, marker: Option<&PodMarker>) -> Result<(), RuntimeError> {
    let data_dir = directory.join("data");
    let candidates = marker
        .and_then(|marker| marker.postmaster_pid)
        .into_iter()
        .chain(postmaster::pid_from_lock_file(&data_dir));
    for pid in candidates {
        postmaster::stop_orphan(pid, &data_dir)?;
    }
    // A pod directory may be a tmpfs of its own (see `LocalPodResources`).
    crate::output_area::unmount_if_mounted(directory);
    match std::fs::remove_dir_all(directory) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RuntimeError::io("remove pod directory", directory, source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::Owner;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        pid
    }

    fn make_pod(root: &Path, name: &str, owner_pid: u32, owner_host: &str) -> PathBuf {
        let directory = root.join(name);
        std::fs::create_dir_all(directory.join("data")).expect("create pod dir");
        PodMarker {
            pod_id: name.to_string(),
            run_id: "run".to_string(),
            owner_pid,
            owner_host: owner_host.to_string(),
            postmaster_pid: None,
            port: None,
        }
        .write(&directory)
        .expect("write marker");
        directory
    }

    #[test]
    fn only_pods_of_dead_owners_on_this_host_are_collected() {
        let root = tempfile::tempdir().expect("temp dir");
        let host = Owner::current().host;
        let dead = make_pod(root.path(), "dead", dead_pid(), &host);
        let alive = make_pod(root.path(), "alive", std::process::id(), &host);
        let elsewhere = make_pod(root.path(), "elsewhere", dead_pid(), "another-host");
        let unmarked = root.path().join("unmarked");
        std::fs::create_dir_all(&unmarked).expect("create unmarked");

        let dry = collect_in(root.path(), false, true).expect("dry run");
        assert_eq!(dry, vec![dead.clone()]);
        assert!(dead.exists(), "a dry run removes nothing");

        let collected = collect_in(root.path(), false, false).expect("collect");
        assert_eq!(collected, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(alive.exists() && elsewhere.exists() && unmarked.exists());

        let everything = collect_in(root.path(), true, false).expect("collect all");
        assert_eq!(everything.len(), 3);
        assert!(!alive.exists() && !elsewhere.exists() && !unmarked.exists());
    }

    #[test]
    fn a_missing_root_is_empty() {
        let root = tempfile::tempdir().expect("temp dir");
        let collected = collect_in(&root.path().join("absent"), false, false).expect("collect");
        assert!(collected.is_empty());
    }
}
