//! The gateway's lifecycle: start it on an address, register and finish issues, shut it down;
//! and tool calls for a registered issue from inside agentpod (a grader's gold actions).

use std::net::SocketAddr;
use std::sync::Arc;

use agentpod_gateway_http::{
    GatewayListener, IssueAccess, IssueRegistry, RunningServer, ServerLimits,
};
use axum::Router;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::customer_channel::Customer;
use crate::issue_state::IssueState;
use crate::issue_tool_record::IssueToolRecord;
use crate::mcp_handler::{McpHandler, result_text};
use crate::proxied_servers::ProxiedServers;
use crate::request_guard::{guard, unknown_route};
use crate::tool_config::{ToolConfig, ToolLimits};
use crate::tool_gateway_error::ToolGatewayError;

/// State every request shares: the configuration, the live issues by token, the proxied servers.
pub(crate) struct GatewayShared {
    pub(crate) config: ToolConfig,
    pub(crate) proxied: ProxiedServers,
    issues: IssueRegistry<IssueState>,
}

impl GatewayShared {
    pub(crate) fn issue(&self, token: &str) -> Option<Arc<IssueState>> {
        self.issues.get(token)
    }
}

/// A pod's tool gateway: an MCP server over streamable HTTP at `http://<addr>/i/<token>/mcp`.
pub struct ToolGateway {
    shared: Arc<GatewayShared>,
    /// Cancels rmcp's own work (its streams) when the gateway shuts down.
    stop: CancellationToken,
    server: RunningServer,
}

impl ToolGateway {
    /// Connects the proxied servers, binds `bind` and starts serving.
    pub async fn start(
        bind: SocketAddr,
        config: ToolConfig,
    ) -> Result<ToolGateway, ToolGatewayError> {
        // Proxied URL servers go through reqwest with rustls, built without a bundled crypto
        // provider (the workspace's `rustls-no-provider`): a process-wide one must exist first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let proxied = ProxiedServers::connect(&config.servers).await?;
        let listener = match GatewayListener::bind(bind).await {
            Ok(listener) => listener,
            Err(source) => {
                proxied.close().await;
                return Err(ToolGatewayError::Bind {
                    address: bind,
                    source,
                });
            }
        };
        let shared = Arc::new(GatewayShared {
            config,
            proxied,
            issues: IssueRegistry::default(),
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
        let server = listener.serve(router, ServerLimits::default());
        Ok(ToolGateway {
            shared,
            stop,
            server,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A fresh random token scoped to this issue; its tools run as whoever `database_url` names
    /// (the agent role) on the issue's own database. The issue's first connection starts opening
    /// now, while the agent starts. Fails only on a malformed `database_url`.
    pub fn register_issue(
        &self,
        issue_id: &str,
        database_url: &str,
        limits: ToolLimits,
    ) -> Result<IssueAccess, ToolGatewayError> {
        self.register_issue_with_customer(issue_id, database_url, limits, None)
    }

    /// [`ToolGateway::register_issue`] for an issue whose agent may talk to `customer` through
    /// the tool `send_message_to_customer`.
    pub fn register_issue_with_customer(
        &self,
        issue_id: &str,
        database_url: &str,
        limits: ToolLimits,
        customer: Option<Arc<dyn Customer>>,
    ) -> Result<IssueAccess, ToolGatewayError> {
        let state = IssueState::new(
            issue_id,
            database_url,
            limits,
            self.shared.config.call_timeout,
            customer,
        )?;
        let token = self.shared.issues.register(state);
        if let (Some(state), Ok(runtime)) = (
            self.shared.issues.get(&token),
            tokio::runtime::Handle::try_current(),
        ) {
            runtime.spawn(async move { state.open_first_connection().await });
        }
        let url = format!("http://{}/i/{token}/mcp", self.local_addr());
        let environment = vec![("AGENTPOD_MCP_URL".to_owned(), url.clone())];
        Ok(IssueAccess::new(issue_id, token, url, environment))
    }

    /// Calls `tool` for the issue of `token` from inside agentpod, as the issue's MCP client
    /// would over HTTP: the same resolution (built-in, SQL-function and proxied tools), limits,
    /// timeout, result cap and record, as the role the issue was registered with. For graders
    /// that replay an issue's gold actions. `Ok` holds the result's text; `Err` the error text
    /// the agent would read (an unknown tool, a bad argument, a refused statement, a token that
    /// is not live).
    pub async fn call_tool(
        &self,
        token: &str,
        tool: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, String> {
        let issue = self
            .shared
            .issue(token)
            .ok_or_else(|| "the issue's tool token is not live".to_owned())?;
        let handler = McpHandler {
            shared: self.shared.clone(),
        };
        let request = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        match handler.call(&issue, request).await {
            Ok(result) => {
                let text = result_text(&result.content);
                if result.is_error == Some(true) {
                    Err(text)
                } else {
                    Ok(text)
                }
            }
            Err(error) => Err(error.message.into_owned()),
        }
    }

    /// Revokes the token and returns everything recorded for the issue, in order. The issue's
    /// database connections are closed in the background; an unknown token gives an empty record.
    pub fn finish_issue(&self, token: &str) -> IssueToolRecord {
        let Some(state) = self.shared.issues.revoke(token) else {
            return IssueToolRecord::default();
        };
        close_connections(&state);
        state.take_record()
    }

    /// Stops serving, closes every issue's connections and the proxied servers.
    pub async fn shutdown(self) {
        self.stop.cancel();
        // Every request is bounded already (the call timeout, the body and header timeouts),
        // so the server is left to finish them.
        self.server.shutdown(None).await;
        for state in self.shared.issues.revoke_all() {
            state.statements.close();
        }
        // Requests still in flight hold the shared state; the proxied servers close with it.
        if let Some(shared) = Arc::into_inner(self.shared) {
            shared.proxied.close().await;
        }
    }
}

fn close_connections(state: &IssueState) {
    state.statements.close();
}
