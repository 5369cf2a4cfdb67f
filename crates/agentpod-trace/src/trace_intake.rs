//! The trace intake: an HTTP server started per pod that takes the agents' OTLP exports, one
//! token per issue, and hands each issue's spans back when the issue finishes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentpod_gateway_http::{GatewayListener, IssueAccess, RunningServer, ServerLimits};

use crate::intake_config::TraceIntakeConfig;
use crate::intake_handler::{IntakeState, router};
use crate::intake_record::IssueTraceRecord;
use crate::trace_error::TraceError;

/// How long `shutdown` lets in-flight exports finish before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running trace intake. Stop it with [`TraceIntake::shutdown`]; dropping it stops the server
/// too, without waiting.
pub struct TraceIntake {
    state: Arc<IntakeState>,
    server: RunningServer,
}

impl TraceIntake {
    pub async fn start(
        bind: SocketAddr,
        config: TraceIntakeConfig,
    ) -> Result<TraceIntake, TraceError> {
        let listener = GatewayListener::bind(bind)
            .await
            .map_err(|source| TraceError::Bind {
                address: bind,
                source,
            })?;
        let state = Arc::new(IntakeState::new(config));
        let server = listener.serve(router(Arc::clone(&state)), ServerLimits::default());
        Ok(TraceIntake { state, server })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A fresh random token scoped to this issue, and the OTLP endpoint built from it.
    pub fn register_issue(&self, issue_id: &str) -> IssueAccess {
        let token = self.state.issues.register(issue_id);
        let url = format!("http://{}/i/{token}", self.local_addr());
        let environment = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), url.clone()),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(),
                "http/protobuf".to_owned(),
            ),
        ];
        IssueAccess::new(issue_id, token, url, environment)
    }

    /// Revokes the token and returns everything recorded for the issue, in arrival order. An
    /// unknown or already finished token gives an empty record with an empty `issue_id`.
    pub fn finish_issue(&self, token: &str) -> IssueTraceRecord {
        self.state.issues.finish(token).unwrap_or_default()
    }

    /// Requests refused because their token was unknown or revoked; they belong to no issue.
    pub fn refused_without_token(&self) -> u64 {
        self.state.refused_without_token.load(Ordering::Relaxed)
    }

    pub async fn shutdown(self) {
        self.server.shutdown(Some(SHUTDOWN_GRACE)).await;
    }
}
