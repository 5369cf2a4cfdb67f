//! Label keys put on every Docker resource agentpod creates, so `gc` can find and attribute them.

use std::collections::HashMap;

use crate::owner::Owner;

/// Marks a resource as created by agentpod; `gc` only ever looks at resources carrying it.
pub const MANAGED: &str = "dev.agentpod.managed";
/// The run id the resource belongs to.
pub const RUN: &str = "dev.agentpod.run";
/// The pod id the resource belongs to.
pub const POD: &str = "dev.agentpod.pod";
/// Process id of the agentpod process that created the resource.
pub const OWNER_PID: &str = "dev.agentpod.owner-pid";
/// Host name of the machine whose process created the resource; pids only mean something there.
pub const OWNER_HOST: &str = "dev.agentpod.owner-host";

/// On seed images: the full key of the seeded template they hold (see `SeedCache`).
pub const SEED_KEY: &str = "dev.agentpod.seed-key";

/// All labels for a resource of `pod_id` in `run_id`, owned by this process.
///
/// Other crates that create containers for a pod (agents, gateways) use this too, so `gc`
/// sweeps their resources with the pod's.
pub fn for_pod(run_id: &str, pod_id: &str) -> HashMap<String, String> {
    let owner = Owner::current();
    HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (RUN.to_string(), run_id.to_string()),
        (POD.to_string(), pod_id.to_string()),
        (OWNER_PID.to_string(), owner.pid.to_string()),
        (OWNER_HOST.to_string(), owner.host),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_labels_name_this_process_as_owner() {
        let labels = for_pod("run-1", "ap-run-1-p1-abc");
        assert_eq!(labels[MANAGED], "true");
        assert_eq!(labels[RUN], "run-1");
        assert_eq!(labels[POD], "ap-run-1-p1-abc");
        assert_eq!(labels[OWNER_PID], std::process::id().to_string());
        assert!(!labels[OWNER_HOST].is_empty());
    }
}
