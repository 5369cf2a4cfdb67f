//! The trace intake: an HTTP server started per pod that takes the agents' OTLP exports, one
//! token per issue, and hands each issue's spans back when the issue finishes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::intake_config::TraceIntakeConfig;
use crate::intake_handler::{IntakeState, router};
use crate::intake_record::IssueTraceRecord;
use crate::issue_access::IssueAccess;
use crate::trace_error::TraceError;
use agentpod_gateway_http::{OpenConnections, ServerLimits, serve};

/// How long `shutdown` lets in-flight exports finish before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running trace intake. Stop it with [`TraceIntake::shutdown`]; dropping it stops the server
/// too, without waiting.
pub struct TraceIntake {
    local_addr: SocketAddr,
    state: Arc<IntakeState>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TraceIntake {
    pub async fn start(
        bind: SocketAddr,
        config: TraceIntakeConfig,
    ) -> Result<TraceIntake, TraceError> {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| TraceError::Bind {
                address: bind,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(TraceError::LocalAddress)?;
        let state = Arc::new(IntakeState::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));
        let server = tokio::spawn(serve(
            listener,
            app,
            ServerLimits::default(),
            OpenConnections::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(TraceIntake {
            local_addr,
            state,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A fresh random token scoped to this issue, and the OTLP endpoint built from it.
    pub fn register_issue(&self, issue_id: &str) -> IssueAccess {
        let token = self.state.registry.register(issue_id);
        IssueAccess {
            issue_id: issue_id.to_owned(),
            endpoint: format!("http://{}/i/{token}", self.local_addr),
            token,
        }
    }

    /// Revokes the token and returns everything recorded for the issue, in arrival order. An
    /// unknown or already finished token gives an empty record with an empty `issue_id`.
    pub fn finish_issue(&self, token: &str) -> IssueTraceRecord {
        self.state.registry.finish(token).unwrap_or_default()
    }

    /// Requests refused because their token was unknown or revoked; they belong to no issue.
    pub fn refused_without_token(&self) -> u64 {
        self.state.refused_without_token.load(Ordering::Relaxed)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

impl Drop for TraceIntake {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
