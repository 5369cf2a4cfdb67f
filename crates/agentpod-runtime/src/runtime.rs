//! The `Runtime` trait: something that can start pods.

use async_trait::async_trait;

use crate::error::RuntimeError;
use crate::pod::Pod;
use crate::pod_request::PodRequest;
use crate::runtime_kind::RuntimeKind;
use crate::seed_cache::SeedCache;

#[async_trait]
pub trait Runtime: Send + Sync {
    fn kind(&self) -> RuntimeKind;

    /// Starts a pod and returns once its Postgres accepts connections from the host.
    /// On failure nothing the call created is left behind.
    async fn start_pod(&self, request: &PodRequest) -> Result<Box<dyn Pod>, RuntimeError>;

    /// Where this runtime keeps seeded templates between runs (Docker: seed images; local:
    /// stopped clusters in the user's cache directory); `None` where it keeps none, and every
    /// pod is seeded.
    fn seed_cache(&self) -> Option<&dyn SeedCache> {
        None
    }
}
