//! The marker file of each local pod: who made the pod and which postmaster serves it, so `gc`
//! can find pods whose owner died and stop their servers. It is kept twice: beside the pod's
//! directory (`<pod>.owner.json`), written before the directory exists, and inside it. The
//! directory becomes a tmpfs of its own before its inner marker can be written, so a run killed
//! in between leaves a directory whose owner only the marker beside it names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

pub(crate) const MARKER_FILE: &str = "agentpod-pod.json";

/// Every local pod lives in a directory under this one.
pub(crate) fn pods_root() -> PathBuf {
    std::env::temp_dir().join("agentpod-pods")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PodMarker {
    pub(crate) pod_id: String,
    pub(crate) run_id: String,
    pub(crate) owner_pid: u32,
    pub(crate) owner_host: String,
    /// Unknown until the server was spawned; `gc` then falls back to `postmaster.pid`.
    pub(crate) postmaster_pid: Option<u32>,
    pub(crate) port: Option<u16>,
}

/// Where the marker beside `pod_directory` lives.
pub(crate) fn beside(pod_directory: &Path) -> PathBuf {
    let mut path = pod_directory.as_os_str().to_owned();
    path.push(OWNER_SUFFIX);
    PathBuf::from(path)
}

/// What a marker beside a pod directory adds to the directory's name.
pub(crate) const OWNER_SUFFIX: &str = ".owner.json";

impl PodMarker {
    /// The marker inside `pod_directory`.
    pub(crate) fn read(pod_directory: &Path) -> Result<Self, RuntimeError> {
        Self::read_file(&pod_directory.join(MARKER_FILE))
    }

    /// The marker inside `pod_directory`, or else the one beside it.
    pub(crate) fn read_either(pod_directory: &Path) -> Result<Self, RuntimeError> {
        Self::read(pod_directory).or_else(|_| Self::read_file(&beside(pod_directory)))
    }

    pub(crate) fn read_file(path: &Path) -> Result<Self, RuntimeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| RuntimeError::io("read pod marker", path, source))?;
        serde_json::from_str(&text).map_err(|source| RuntimeError::Marker {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes the marker beside `pod_directory` (which need not exist yet) and, when it exists,
    /// inside it.
    pub(crate) fn write(&self, pod_directory: &Path) -> Result<(), RuntimeError> {
        self.write_to(&beside(pod_directory))?;
        if pod_directory.is_dir() {
            self.write_to(&pod_directory.join(MARKER_FILE))?;
        }
        Ok(())
    }

    /// Writes through a temporary file and a rename, so `gc` never reads half a marker.
    fn write_to(&self, path: &Path) -> Result<(), RuntimeError> {
        let path = path.to_path_buf();
        let mut temporary = path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let text = serde_json::to_string_pretty(self).map_err(|source| RuntimeError::Marker {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&temporary, text)
            .map_err(|source| RuntimeError::io("write pod marker", &temporary, source))?;
        std::fs::rename(&temporary, &path)
            .map_err(|source| RuntimeError::io("write pod marker", &path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let directory = tempfile::tempdir().expect("temp dir");
        let marker = PodMarker {
            pod_id: "ap-run-p1-abcdef".to_string(),
            run_id: "run".to_string(),
            owner_pid: 42,
            owner_host: "host".to_string(),
            postmaster_pid: Some(4242),
            port: Some(54321),
        };
        marker.write(directory.path()).expect("write marker");
        assert_eq!(
            PodMarker::read(directory.path()).expect("read marker"),
            marker
        );
    }

    #[test]
    fn a_corrupt_marker_names_its_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        std::fs::write(directory.path().join(MARKER_FILE), "{not json").expect("write");
        let message = PodMarker::read(directory.path())
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(message.contains(MARKER_FILE), "{message}");
    }
}
