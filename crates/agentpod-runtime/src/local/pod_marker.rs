//! The marker file in each local pod directory: who made the pod and which postmaster serves it,
//! so `gc` can find pods whose owner died and stop their servers.

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

impl PodMarker {
    pub(crate) fn read(pod_directory: &Path) -> Result<Self, RuntimeError> {
        let path = pod_directory.join(MARKER_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| RuntimeError::io("read pod marker", &path, source))?;
        serde_json::from_str(&text).map_err(|source| RuntimeError::Marker { path, source })
    }

    /// Writes through a temporary file and a rename, so `gc` never reads half a marker.
    pub(crate) fn write(&self, pod_directory: &Path) -> Result<(), RuntimeError> {
        let path = pod_directory.join(MARKER_FILE);
        let temporary = pod_directory.join(format!("{MARKER_FILE}.tmp"));
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
