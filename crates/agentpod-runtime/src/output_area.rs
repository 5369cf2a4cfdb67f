//! `OutputArea`: an issue's output directory as a small tmpfs of its own, so that an agent
//! (host command or container) can fill it only up to a bound — a few answers' worth of bytes
//! and a handful of files — instead of the host's disk. agentpod reads the answer from it and
//! unmounts it when the issue ends; the answer itself is kept in the run store.
//!
//! Mounting needs root. Elsewhere the directory stays a plain directory: the answer is still
//! read safely (size-capped, no links), but what the agent writes there is bounded only by the
//! disk — said once in the log.
//!
//! The mount's source names its owner (`agentpod-output:<pid>@<host>`), so `agentpod gc` finds
//! the areas of a run that was killed before it could unmount them.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

use crate::owner::{Owner, current_host, process_is_alive};

/// What the mount source of every output area starts with.
const SOURCE_PREFIX: &str = "agentpod-output:";

/// Files and directories an output area may hold: the answer and a few more.
const INODES: u32 = 64;

/// One issue's mounted (or plain) output directory; unmounted on `release` or drop.
#[derive(Debug)]
pub struct OutputArea {
    path: PathBuf,
    mounted: bool,
}

impl OutputArea {
    /// Mounts a tmpfs of `bytes` at `path` (an existing, empty directory) when agentpod runs as
    /// root; leaves the directory as it is otherwise, or when the mount fails.
    pub fn mount(path: &Path, bytes: u64) -> OutputArea {
        OutputArea::mount_with_inodes(path, bytes, Some(INODES))
    }

    /// The same for a local pod's directory (its cluster, its log): sized, so that what the
    /// agent writes into its database (temporary tables are not bounded by `temp_file_limit`)
    /// fills the pod, not the host's disk. Any number of files.
    pub(crate) fn mount_for_pod(path: &Path, bytes: u64) -> OutputArea {
        OutputArea::mount_with_inodes(path, bytes, None)
    }

    fn mount_with_inodes(path: &Path, bytes: u64, inodes: Option<u32>) -> OutputArea {
        let mut area = OutputArea {
            path: path.to_path_buf(),
            mounted: false,
        };
        if !nix::unistd::geteuid().is_root() {
            warn_unbounded_once("agentpod is not root");
            return area;
        }
        let owner = Owner::current();
        let source = format!("{SOURCE_PREFIX}{}@{}", owner.pid, owner.host);
        let mut options = format!("size={bytes},mode=0755");
        if let Some(inodes) = inodes {
            options.push_str(&format!(",nr_inodes={inodes}"));
        }
        match nix::mount::mount(
            Some(source.as_str()),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some(options.as_str()),
        ) {
            Ok(()) => area.mounted = true,
            Err(error) => warn_unbounded_once(&format!("mounting a tmpfs failed: {error}")),
        }
        area
    }

    /// Whether the directory is a bounded tmpfs.
    pub fn is_bounded(&self) -> bool {
        self.mounted
    }

    /// Unmounts the area (what the agent left there goes with it).
    pub fn release(mut self) {
        self.unmount();
    }

    fn unmount(&mut self) {
        if !self.mounted {
            return;
        }
        self.mounted = false;
        // Lazy: a file still open somewhere must not keep the area (and the run) waiting.
        if let Err(error) = nix::mount::umount2(&self.path, MntFlags::MNT_DETACH) {
            tracing::warn!(path = %self.path.display(), %error, "cannot unmount an issue's output area; `agentpod gc` will");
        }
    }
}

impl Drop for OutputArea {
    fn drop(&mut self) {
        self.unmount();
    }
}

fn warn_unbounded_once(reason: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "issue output directories and local pods are plain directories ({reason}): what an \
             agent writes there is bounded by the disk only"
        );
    });
}

/// Output areas left mounted by runs whose process is gone (or all of them, with `all`),
/// unmounted unless `dry_run`. Reads this process's mount table.
pub(crate) fn collect_output_areas(all: bool, dry_run: bool) -> Vec<PathBuf> {
    let Ok(table) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    let host = current_host();
    let mut collected = Vec::new();
    for line in table.lines() {
        let mut fields = line.split(' ');
        let (Some(source), Some(target)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(owner) = source.strip_prefix(SOURCE_PREFIX) else {
            continue;
        };
        let alive = owner
            .split_once('@')
            .filter(|(_, owner_host)| *owner_host == host)
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(process_is_alive);
        if alive && !all {
            continue;
        }
        // /proc/mounts escapes spaces and the like as octal (`\040`).
        let path = PathBuf::from(unescape_mount_path(target));
        if !dry_run && let Err(error) = nix::mount::umount2(&path, MntFlags::MNT_DETACH) {
            tracing::warn!(path = %path.display(), %error, "cannot unmount a leftover output area");
            continue;
        }
        collected.push(path);
    }
    collected
}

/// Unmounts whatever is mounted at `path` (lazily); nothing mounted there is fine.
pub(crate) fn unmount_if_mounted(path: &Path) {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => {}
        Err(error) => tracing::debug!(path = %path.display(), %error, "cannot unmount"),
    }
}

fn unescape_mount_path(escaped: &str) -> String {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && let Some(digits) = escaped.get(index + 1..index + 4)
            && let Ok(value) = u8::from_str_radix(digits, 8)
        {
            out.push(value);
            index += 4;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/tmp/a\040b/out"), "/tmp/a b/out");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }

    /// As root (CI here is): the area holds no more than its size and its file count, and is
    /// gone after `release`.
    #[test]
    fn an_area_is_bounded_and_released() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let directory = tempfile::tempdir().unwrap();
        let area = OutputArea::mount(directory.path(), 1 << 20);
        assert!(area.is_bounded());
        let too_big = std::fs::write(directory.path().join("big"), vec![0u8; 2 << 20]);
        assert!(too_big.is_err(), "2 MiB into a 1 MiB area");
        let too_many = (0..INODES + 1)
            .map(|index| std::fs::write(directory.path().join(format!("f{index}")), b"x"))
            .any(|written| written.is_err());
        assert!(too_many, "more files than the area's inodes");
        area.release();
        assert_eq!(
            std::fs::read_dir(directory.path()).unwrap().count(),
            0,
            "unmounted: the directory underneath is empty"
        );
    }
}
