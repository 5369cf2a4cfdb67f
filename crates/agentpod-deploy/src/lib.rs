//! Manifests that spread one agentpod run over an orchestrator a team already operates: each
//! task runs one shard (`agentpod run SPEC --shard K/N`) with the local runtime inside it, and
//! writes its part as a bundle for `agentpod merge`.
//!
//! - [`kubernetes`]: an Indexed Job (`JOB_COMPLETION_INDEX` → `--shard`), the NetworkPolicy that
//!   keeps the pods' agents from leaving them, and the volume the shards' bundles go to.
//! - [`shard_script`]: the script every orchestrator's task runs for its shard.
//! - [`yaml`]: the one way a manifest is written out.

pub mod kubernetes;
pub mod shard_script;
pub mod yaml;

pub use kubernetes::{EgressRule, KubernetesDeployment, KubernetesError};
pub use shard_script::{DEPLOYMENT_MARK, RESULTS_PATH, ShardIndex, ShardScript, bundle_file_name};
