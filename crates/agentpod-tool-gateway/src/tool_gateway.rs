//! The gateway's lifecycle: start it on an address, register and finish issues, shut it down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use rand::RngExt;
use rand::distr::Alphanumeric;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::issue_access::IssueAccess;
use crate::issue_state::IssueState;
use crate::issue_tool_record::IssueToolRecord;
use crate::mcp_handler::McpHandler;
use crate::proxied_servers::ProxiedServers;
use crate::request_guard::{guard, unknown_route};
use crate::tool_config::{ToolConfig, ToolLimits};
use crate::tool_gateway_error::ToolGatewayError;
use agentpod_gateway_http::{OpenConnections, ServerLimits, serve};

const TOKEN_LENGTH: usize = 40;

/// State every request shares: the configuration, the live issues by token, the proxied servers.
pub(crate) struct GatewayShared {
    pub(crate) config: ToolConfig,
    pub(crate) proxied: ProxiedServers,
    issues: RwLock<HashMap<String, Arc<IssueState>>>,
}

impl GatewayShared {
    pub(crate) fn issue(&self, token: &str) -> Option<Arc<IssueState>> {
        self.issues
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .cloned()
    }
}

/// A pod's tool gateway: an MCP server over streamable HTTP at `http://<addr>/i/<token>/mcp`.
pub struct ToolGateway {
    local_addr: SocketAddr,
    shared: Arc<GatewayShared>,
    stop: CancellationToken,
    server: JoinHandle<()>,
}

impl ToolGateway {
    /// Connects the proxied servers, binds `bind` and starts serving.
    pub async fn start(
        bind: SocketAddr,
        config: ToolConfig,
    ) -> Result<ToolGateway, ToolGatewayError> {
        // Proxied URL servers go through reqwest with rustls; in a build where the workspace
        // enables reqwest's `rustls-no-provider`, a process-wide provider must exist first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let proxied = ProxiedServers::connect(&config.servers).await?;
        let listener = match tokio::net::TcpListener::bind(bind).await {
            Ok(listener) => listener,
            Err(source) => {
                proxied.close().await;
                return Err(ToolGatewayError::Bind {
                    address: bind,
                    source,
                });
            }
        };
        let local_addr = listener
            .local_addr()
            .map_err(|source| ToolGatewayError::Bind {
                address: bind,
                source,
            })?;
        let shared = Arc::new(GatewayShared {
            config,
            proxied,
            issues: RwLock::new(HashMap::new()),
        });
        let stop = CancellationToken::new();
        let mcp_config = StreamableHttpServerConfig::default()
            // Stateless JSON answers: every call is one POST and one JSON reply, no session to
            // keep per agent, and the issue comes from each request's own token.
            .with_stateful_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            // Container agents reach the gateway by the bridge's address; the token in the path,
            // not the Host header, is what authorises a request.
            .disable_allowed_hosts()
            .with_cancellation_token(stop.child_token());
        let handler = McpHandler {
            shared: shared.clone(),
        };
        let mcp = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            mcp_config,
        );
        let router = Router::new()
            .route_service("/i/{token}/mcp", mcp)
            .route_layer(axum::middleware::from_fn_with_state(shared.clone(), guard))
            .fallback(unknown_route);
        let serve_stop = stop.clone();
        let server = tokio::spawn(serve(
            listener,
            router,
            ServerLimits::default(),
            OpenConnections::default(),
            serve_stop.cancelled_owned(),
        ));
        Ok(ToolGateway {
            local_addr,
            shared,
            stop,
            server,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A fresh random token scoped to this issue; its tools run as whoever `database_url` names
    /// (the agent role) on the issue's own database. Fails only on a malformed `database_url`.
    pub fn register_issue(
        &self,
        issue_id: &str,
        database_url: &str,
        limits: ToolLimits,
    ) -> Result<IssueAccess, ToolGatewayError> {
        let state = IssueState::new(
            issue_id,
            database_url,
            limits,
            self.shared.config.call_timeout,
        )?;
        let token: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(TOKEN_LENGTH)
            .map(char::from)
            .collect();
        self.shared
            .issues
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(token.clone(), Arc::new(state));
        let url = format!("http://{}/i/{token}/mcp", self.local_addr);
        Ok(IssueAccess { token, url })
    }

    /// Revokes the token and returns everything recorded for the issue, in order. The issue's
    /// database connections are closed in the background; an unknown token gives an empty record.
    pub fn finish_issue(&self, token: &str) -> IssueToolRecord {
        let removed = self
            .shared
            .issues
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(token);
        let Some(state) = removed else {
            return IssueToolRecord::default();
        };
        close_pool(&state);
        state.take_record()
    }

    /// Stops serving, closes every issue's connections and the proxied servers.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.server.await;
        let remaining: Vec<Arc<IssueState>> = self
            .shared
            .issues
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain()
            .map(|(_, state)| state)
            .collect();
        for state in remaining {
            state.pool.close().await;
        }
        // Requests still in flight hold the shared state; the proxied servers close with it.
        if let Some(shared) = Arc::into_inner(self.shared) {
            shared.proxied.close().await;
        }
    }
}

fn close_pool(state: &IssueState) {
    let pool = state.pool.clone();
    // `close` marks the pool closed at once; awaiting it only waits for the goodbyes.
    let closing = async move { pool.close().await };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(closing);
    }
}
