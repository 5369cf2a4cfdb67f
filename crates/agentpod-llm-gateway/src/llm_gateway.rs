//! The gateway server: binds, routes, hands out per-issue tokens, and stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agentpod_gateway_http::{OpenConnections, ServerLimits, serve};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::call_handler::{GatewayState, handle_call, handle_models, handle_unknown};
use crate::error::LlmGatewayError;
use crate::issue_access::IssueAccess;
use crate::issue_llm_record::IssueLlmRecord;
use crate::issue_registry::IssueRegistry;
use crate::llm_api::LlmApi;
use crate::llm_budget::LlmBudget;
use crate::llm_config::LlmConfig;
use crate::upstream_backend::UpstreamBackend;

/// How long `shutdown` lets open streams finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running LLM gateway for one pod.
pub struct LlmGateway {
    address: SocketAddr,
    state: Arc<GatewayState>,
    /// Connections the server is serving now.
    open_connections: OpenConnections,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl LlmGateway {
    /// Binds `bind` (port 0 picks a free port) and starts serving.
    pub async fn start(bind: SocketAddr, config: LlmConfig) -> Result<LlmGateway, LlmGatewayError> {
        let backend = UpstreamBackend::build(&config.upstream, config.request_timeout)?;
        let state = Arc::new(GatewayState {
            registry: IssueRegistry::default(),
            backend,
            prices: config.prices,
            timeout: config.request_timeout,
            body_read_timeout: config.connection_limits.body_read_timeout,
            allowed_provider_features: config.allowed_provider_features,
        });
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| LlmGatewayError::Bind {
                address: bind,
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| LlmGatewayError::Bind {
                address: bind,
                source,
            })?;
        let router = router(Arc::clone(&state));
        let limits = ServerLimits {
            header_read_timeout: config.connection_limits.header_read_timeout,
            max_connections: config.connection_limits.max_connections,
        };
        let open_connections = OpenConnections::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            limits,
            open_connections.clone(),
            async move {
                // A dropped sender (the gateway dropped unawaited) stops the server too.
                let _ = stopped.await;
            },
        ));
        Ok(LlmGateway {
            address,
            state,
            open_connections,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// How many connections the server holds open now; never more than
    /// `ConnectionLimits::max_connections`.
    pub fn open_connections(&self) -> usize {
        self.open_connections.count()
    }

    /// A fresh random token scoped to `issue_id`, with its budget.
    pub fn register_issue(&self, issue_id: &str, budget: LlmBudget) -> IssueAccess {
        let token = self.state.registry.register(issue_id, budget);
        IssueAccess::new(issue_id, token, self.address)
    }

    /// Revokes the token and returns everything recorded for its issue, in order. An unknown or
    /// already finished token gives an empty record. Calls still streaming are not included.
    pub fn finish_issue(&self, token: &str) -> IssueLlmRecord {
        self.state.registry.finish(token)
    }

    /// Stops accepting calls, lets open streams finish for a short grace period, then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for LlmGateway {
    fn drop(&mut self) {
        // The fallback when `shutdown` was not awaited: never leave a server task behind.
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

fn router(state: Arc<GatewayState>) -> Router {
    let route = |api: LlmApi| {
        post(
            move |State(state): State<Arc<GatewayState>>, headers: HeaderMap, body: Body| {
                handle_call(state, api, headers, body)
            },
        )
    };
    let unknown =
        |State(state): State<Arc<GatewayState>>, method: Method, uri: Uri, headers: HeaderMap| {
            handle_unknown(state, method, uri, headers)
        };
    Router::new()
        .route(LlmApi::OpenAiChat.route(), route(LlmApi::OpenAiChat))
        .route(
            LlmApi::OpenAiResponses.route(),
            route(LlmApi::OpenAiResponses),
        )
        .route(
            LlmApi::AnthropicMessages.route(),
            route(LlmApi::AnthropicMessages),
        )
        .route(
            "/v1/models",
            get(
                |State(state): State<Arc<GatewayState>>, headers: HeaderMap| {
                    handle_models(state, headers)
                },
            ),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        // The handler enforces its own limit so that an oversized body is also recorded.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
