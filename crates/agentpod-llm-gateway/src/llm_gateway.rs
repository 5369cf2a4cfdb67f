//! The gateway server: binds, routes, hands out per-issue tokens, and stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agentpod_gateway_http::{
    GatewayListener, IssueAccess, IssueRegistry, RunningServer, ServerLimits,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Request, Uri};
use axum::routing::{get, post};

use crate::call_handler::{GatewayState, handle_call, handle_models, handle_unknown};
use crate::error::LlmGatewayError;
use crate::issue_ledger::IssueState;
use crate::issue_llm_record::IssueLlmRecord;
use crate::llm_api::LlmApi;
use crate::llm_budget::LlmBudget;
use crate::llm_config::LlmConfig;
use crate::upstream_backend::UpstreamBackend;

/// How long `shutdown` lets open streams finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running LLM gateway for one pod.
pub struct LlmGateway {
    state: Arc<GatewayState>,
    server: RunningServer,
}

impl LlmGateway {
    /// Binds `bind` (port 0 picks a free port) and starts serving.
    pub async fn start(bind: SocketAddr, config: LlmConfig) -> Result<LlmGateway, LlmGatewayError> {
        let limits = ServerLimits {
            header_read_timeout: config.connection_limits.header_read_timeout,
            max_connections: config.connection_limits.max_connections,
        };
        let state = gateway_state(config)?;
        let listener =
            GatewayListener::bind(bind)
                .await
                .map_err(|source| LlmGatewayError::Bind {
                    address: bind,
                    source,
                })?;
        let server = listener.serve(router(Arc::clone(&state)), limits);
        Ok(LlmGateway { state, server })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// How many connections the server holds open now; never more than
    /// `ConnectionLimits::max_connections`.
    pub fn open_connections(&self) -> usize {
        self.server.open_connections()
    }

    /// A fresh random token scoped to `issue_id`, with its budget. The access's `url` is the
    /// gateway's root, what Anthropic SDKs expect; OpenAI SDKs get `<url>/v1`.
    pub fn register_issue(&self, issue_id: &str, budget: LlmBudget) -> IssueAccess {
        let token = self
            .state
            .registry
            .register(IssueState::new(issue_id, budget));
        let url = format!("http://{}", self.local_addr());
        let environment = vec![
            ("OPENAI_BASE_URL".to_owned(), format!("{url}/v1")),
            ("OPENAI_API_KEY".to_owned(), token.to_string()),
            ("ANTHROPIC_BASE_URL".to_owned(), url.clone()),
            ("ANTHROPIC_API_KEY".to_owned(), token.to_string()),
        ];
        IssueAccess::new(issue_id, token, url, environment)
    }

    /// Revokes the token and returns everything recorded for its issue, in order. An unknown or
    /// already finished token gives an empty record. Calls still streaming are not included.
    pub fn finish_issue(&self, token: &str) -> IssueLlmRecord {
        self.state
            .registry
            .revoke(token)
            .map(|issue| issue.take_record())
            .unwrap_or_default()
    }

    /// Stops accepting calls, lets open streams finish for a short grace period, then stops.
    pub async fn shutdown(self) {
        self.server.shutdown(Some(SHUTDOWN_GRACE)).await;
    }
}

/// What every call of a gateway shares, from its configuration.
fn gateway_state(config: LlmConfig) -> Result<Arc<GatewayState>, LlmGatewayError> {
    let backend = UpstreamBackend::build(&config.upstream, config.request_timeout)?;
    Ok(Arc::new(GatewayState {
        registry: IssueRegistry::default(),
        backend,
        prices: config.prices,
        timeout: config.request_timeout,
        body_read_timeout: config.connection_limits.body_read_timeout,
        allowed_provider_features: config.allowed_provider_features,
        upstream_limits: config.upstream_limits,
        retry: config.retry,
    }))
}

/// A gateway with no listener: its routes called in process, for the models agentpod itself
/// asks (`ModelClient`). Nothing outside the process can reach it; its calls are handled,
/// metered and recorded exactly as a listening gateway's.
pub(crate) struct InProcessGateway {
    state: Arc<GatewayState>,
    router: Router,
}

impl InProcessGateway {
    pub(crate) fn new(config: LlmConfig) -> Result<InProcessGateway, LlmGatewayError> {
        let state = gateway_state(config)?;
        let router = router(Arc::clone(&state));
        Ok(InProcessGateway { state, router })
    }

    /// A fresh random token for calls recorded under `label`, with `budget`.
    pub(crate) fn register(&self, label: &str, budget: LlmBudget) -> String {
        self.state
            .registry
            .register(IssueState::new(label, budget))
            .to_string()
    }

    /// Revokes the token and returns what was recorded under it (see
    /// [`LlmGateway::finish_issue`]).
    pub(crate) fn finish(&self, token: &str) -> IssueLlmRecord {
        self.state
            .registry
            .revoke(token)
            .map(|issue| issue.take_record())
            .unwrap_or_default()
    }

    /// The gateway's answer to `request`, as a listening gateway would give it.
    pub(crate) async fn handle(
        &self,
        request: axum::http::Request<Body>,
    ) -> axum::http::Response<axum::body::Body> {
        use tower::ServiceExt;
        match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

fn router(state: Arc<GatewayState>) -> Router {
    // The request taken whole: its headers are moved into the call, not copied out of it.
    let route = |api: LlmApi| {
        post(
            move |State(state): State<Arc<GatewayState>>, request: Request<Body>| {
                let (parts, body) = request.into_parts();
                handle_call(state, api, parts.headers, body)
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
