//! What to start for one issue when the agent is a container image: the image, the files it
//! sees and its limits ([`ContainerInvocation`]), and where its pod puts it
//! ([`ContainerPlacement`]: the pod network it joins, its labels).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where the issue file appears inside the agent container (read-only).
pub const CONTAINER_ISSUE_PATH: &str = "/agentpod/issue.json";
/// Where the output directory appears inside the agent container; the answer is
/// `output.json` in it.
pub const CONTAINER_OUTPUT_DIRECTORY: &str = "/agentpod/output";
/// The answer's file name, in the output directory on both sides of the mount.
pub const OUTPUT_FILE_NAME: &str = "output.json";

/// Where a pod puts an agent container: what the pod decides, not the issue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContainerPlacement {
    /// The pod's Docker network: the container's only network.
    pub network: String,
    /// Put on the container so `agentpod gc` sweeps it with its pod
    /// (`agentpod_runtime::labels::for_pod`).
    pub labels: HashMap<String, String>,
}

/// One start of a containerised agent under test, for one issue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContainerInvocation {
    /// A local image; it is never pulled.
    pub image: String,
    /// Replaces the image's CMD (the image's ENTRYPOINT stays); empty runs the image's CMD.
    pub command: Vec<String>,
    /// A host file, mounted read-only at [`CONTAINER_ISSUE_PATH`].
    pub issue_path: PathBuf,
    /// A host directory, mounted writable at [`CONTAINER_OUTPUT_DIRECTORY`]; the answer is read
    /// from [`OUTPUT_FILE_NAME`] in it.
    pub output_dir: PathBuf,
    /// The agent contract's variables; `AGENTPOD_ISSUE`, `AGENTPOD_OUTPUT` and `HOME` are set
    /// by [`run_agent_container`](crate::run_agent_container) to their in-container values.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit, after which the container is killed.
    pub timeout: Duration,
    /// Cap, in bytes, on the kept stdout and on the kept stderr (each).
    pub output_limit: usize,
    pub memory_bytes: u64,
    pub cpus: f64,
    pub pids: i64,
}
