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

    /// The Docker network the pod's containers live on, for containers that join the pod (an
    /// agent image); `None` where the pod has no network of its own (the local runtime).
    fn network(&self) -> Option<&str> {
        None
    }

    /// The host's own address on the pod network, the only host address a container in the pod
    /// can reach, and only on ports opened with [`Pod::allow_host_ports`]. Gateways listen there.
    /// `None` where the pod has no network of its own.
    fn host_address(&self) -> Option<&str> {
        None
    }

    /// Lets containers in the pod open TCP connections to these ports at
    /// [`Pod::host_address`]; every other host port stays closed to them. A no-op for pods
    /// without a network of their own.
    async fn allow_host_ports(&self, _ports: &[u16]) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// How many connection attempts from the pod's containers to anything but the pod itself
    /// (the host, the internet, other networks) have been refused so far; the runner reads it
    /// before and after an agent container runs. `None` where nothing is counted.
    async fn refused_connections(&self) -> Option<u64> {
        None
    }

    /// Stops the pod and removes everything it created. Resources already gone are not errors.
    async fn shutdown(self: Box<Self>) -> Result<(), RuntimeError>;
}
