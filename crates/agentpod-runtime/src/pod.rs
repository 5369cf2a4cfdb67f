//! The `Pod` trait: one running, isolated Postgres server, and the agents it launches.

use agentpod_agent::{AgentLaunch, AgentRun, run_agent};
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use agentpod_postgres_server::PostgresEndpoint;

/// What came of launching an agent in a pod.
#[derive(Debug)]
pub struct LaunchedAgent {
    pub run: AgentRun,
    /// Connection attempts from the agent's container to anything but its pod (the host, the
    /// internet, other networks) that the pod's firewall refused while it ran: boundary
    /// violations. Zero where nothing is counted (host agents).
    pub refused_connections: u64,
}

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

    /// Starts one issue's agent and waits for it to end; every failure is an outcome in the
    /// [`LaunchedAgent`], never an error. A host command runs as a process (sandboxed unless its
    /// invocation says otherwise) on every pod; an image needs a pod with a network of its own,
    /// and elsewhere fails to start.
    async fn launch_agent(&self, launch: &AgentLaunch, cancel: CancellationToken) -> LaunchedAgent {
        match launch {
            AgentLaunch::Host(invocation) => LaunchedAgent {
                run: run_agent(invocation, cancel).await,
                refused_connections: 0,
            },
            AgentLaunch::Image(_) => LaunchedAgent {
                run: AgentRun::not_started(
                    "`agent.image` needs a pod with a network of its own: use the docker runtime",
                ),
                refused_connections: 0,
            },
        }
    }

    /// Stops the pod and removes everything it created. Resources already gone are not errors.
    async fn shutdown(self: Box<Self>) -> Result<(), RuntimeError>;
}
