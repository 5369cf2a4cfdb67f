//! `PodRequest`: what the runner asks a runtime for.

/// Parameters of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRequest {
    pub run_id: String,
    /// Position of the pod within the run (1-based by convention); part of the pod id.
    pub pod_index: usize,
    /// Postgres image for the Docker runtime (e.g. `postgres:15`), or a seed of the runtime's
    /// seed cache ([`crate::SeedImage::id`]); the local runtime ignores anything but its seeds.
    pub image: String,
}
