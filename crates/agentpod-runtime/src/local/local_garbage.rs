//! Sweeping local pods whose owner process is gone, and the local seed cache.

use std::path::{Path, PathBuf};

use super::pod_marker::{OWNER_SUFFIX, PodMarker, beside, pods_root};
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
            remove_marker_of_missing_pod(&directory, all, dry_run, &host);
            continue;
        }
        let marker = match PodMarker::read_either(&directory) {
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
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(RuntimeError::io("remove pod directory", directory, source)),
    }
    let _ = std::fs::remove_file(beside(directory));
    Ok(())
}

/// Removes an owner's marker whose pod directory is gone (a run that died between writing it
/// and making the directory, or after removing the directory), once its owner is gone too.
fn remove_marker_of_missing_pod(path: &Path, all: bool, dry_run: bool, host: &str) {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return;
    };
    let Some(pod) = name.strip_suffix(OWNER_SUFFIX) else {
        return;
    };
    if dry_run || path.with_file_name(pod).exists() {
        return;
    }
    let garbage = all
        || PodMarker::read_file(path)
            .is_ok_and(|marker| marker.owner_host == host && !process_is_alive(marker.owner_pid));
    if garbage {
        let _ = std::fs::remove_file(path);
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
    fn a_pod_named_only_by_the_marker_beside_it_is_collected_with_that_marker() {
        let root = tempfile::tempdir().expect("temp dir");
        let host = Owner::current().host;
        // A run killed once its directory existed but before the marker inside it was written
        // (the directory had just become a tmpfs of its own).
        let dead = make_pod(root.path(), "dead", dead_pid(), &host);
        std::fs::remove_file(dead.join(super::super::pod_marker::MARKER_FILE)).expect("rm");
        // A run killed between writing its marker and making its directory; and a live one's.
        let never_made = root.path().join("never-made");
        let alive_missing = root.path().join("alive-missing");
        for (directory, pid) in [
            (&never_made, dead_pid()),
            (&alive_missing, std::process::id()),
        ] {
            PodMarker {
                pod_id: "p".to_string(),
                run_id: "run".to_string(),
                owner_pid: pid,
                owner_host: host.clone(),
                postmaster_pid: None,
                port: None,
            }
            .write(directory)
            .expect("write marker beside");
        }
        let collected = collect_in(root.path(), false, false).expect("collect");
        assert_eq!(collected, vec![dead.clone()]);
        assert!(!dead.exists() && !beside(&dead).exists());
        assert!(!beside(&never_made).exists());
        assert!(
            beside(&alive_missing).exists(),
            "a live owner's marker stays"
        );
    }

    #[test]
    fn a_missing_root_is_empty() {
        let root = tempfile::tempdir().expect("temp dir");
        let collected = collect_in(&root.path().join("absent"), false, false).expect("collect");
        assert!(collected.is_empty());
    }
}
