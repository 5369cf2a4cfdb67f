//! The `Pod` trait: one running, isolated Postgres server (later also gateways).

use async_trait::async_trait;

use crate::error::RuntimeError;
use crate::postgres_endpoint::PostgresEndpoint;

/// A running pod. `shutdown` is the normal end; dropping a pod that was not shut down removes
/// its resources anyway (best effort, blocking the dropping thread briefly).
#[async_trait]
pub trait Pod: Send + Sync {
    /// Generated and unique, e.g. `ap-<run>-p1-<random>`.
    fn id(&self) -> &str;

    /// The pod's Postgres server, reachable from the host.
    fn postgres(&self) -> &PostgresEndpoint;

    /// Stops the pod and removes everything it created. Resources already gone are not errors.
    async fn shutdown(self: Box<Self>) -> Result<(), RuntimeError>;
}
