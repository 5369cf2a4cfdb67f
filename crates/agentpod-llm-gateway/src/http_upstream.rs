//! Forwarding to a real provider or an OpenAI-compatible server over HTTP, with the agent's token
//! replaced by the orchestrator's key.

use agentpod_error_chain::ErrorChain;
use axum::http::HeaderMap;
use futures_util::StreamExt;

use crate::error::LlmGatewayError;
use crate::upstream_backend::StreamBroken;
use crate::upstream_backend::{UpstreamFailure, UpstreamReply, UpstreamRequest};

/// Request headers that carry meaning for the provider; everything else (notably the agent's
/// token) stays behind.
const FORWARDED_HEADERS: &[&str] = &[
    "accept",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
];
const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug, Clone)]
pub(crate) enum UpstreamAuth {
    Bearer(String),
    ApiKey(String),
    None,
}

/// The routes the gateway forwards, whose upstream URLs are parsed once when it starts.
const ROUTES: &[&str] = &[
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/messages",
    "/v1/models",
];

pub(crate) struct HttpUpstream {
    client: reqwest::Client,
    base_url: String,
    /// Each of [`ROUTES`] as its upstream URL, parsed once rather than on every call.
    route_urls: Vec<(&'static str, reqwest::Url)>,
    /// OpenAI-style base URLs already end in `/v1`.
    base_includes_version: bool,
    auth: UpstreamAuth,
    anthropic: bool,
}

impl HttpUpstream {
    pub(crate) fn new(
        base_url: &str,
        base_includes_version: bool,
        auth: UpstreamAuth,
        anthropic: bool,
        connect_timeout: std::time::Duration,
    ) -> Result<HttpUpstream, LlmGatewayError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(LlmGatewayError::UpstreamUrl {
                url: base_url.to_owned(),
                reason: "it must start with http:// or https://".to_owned(),
            });
        }
        // reqwest is built without a bundled crypto provider; ring is installed process-wide
        // unless the host program already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|source| LlmGatewayError::HttpClient { source })?;
        let mut upstream = HttpUpstream {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            route_urls: Vec::new(),
            base_includes_version,
            auth,
            anthropic,
        };
        upstream.route_urls = ROUTES
            .iter()
            .filter_map(|route| {
                let url = reqwest::Url::parse(&upstream.url(route)).ok()?;
                Some((*route, url))
            })
            .collect();
        Ok(upstream)
    }

    fn url(&self, route: &str) -> String {
        let path = if self.base_includes_version {
            route.strip_prefix("/v1").unwrap_or(route)
        } else {
            route
        };
        format!("{}{}", self.base_url, path)
    }

    /// The upstream URL of `route`: parsed when the gateway started for the routes it serves.
    fn parsed_url(&self, route: &str) -> Result<reqwest::Url, String> {
        if let Some((_, url)) = self.route_urls.iter().find(|(known, _)| *known == route) {
            return Ok(url.clone());
        }
        let url = self.url(route);
        reqwest::Url::parse(&url)
            .map_err(|error| format!("cannot reach the upstream at {url}: {error}"))
    }

    pub(crate) async fn send(
        &self,
        request: &UpstreamRequest<'_>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let url = self
            .parsed_url(request.route)
            .map_err(UpstreamFailure::Unreachable)?;
        let mut builder = if request.method == "GET" {
            self.client.get(url.clone())
        } else {
            self.client
                .post(url.clone())
                .header("content-type", "application/json")
                .body(request.upstream_body.clone())
        };
        builder = forward_headers(builder, request.headers);
        if self.anthropic && !request.headers.contains_key("anthropic-version") {
            builder = builder.header("anthropic-version", DEFAULT_ANTHROPIC_VERSION);
        }
        builder = match &self.auth {
            UpstreamAuth::Bearer(key) => builder.bearer_auth(key),
            UpstreamAuth::ApiKey(key) => builder.header("x-api-key", key),
            UpstreamAuth::None => builder,
        };
        let response = builder.send().await.map_err(|error| {
            UpstreamFailure::Unreachable(format!(
                "cannot reach the upstream at {url}: {}",
                ErrorChain(&error)
            ))
        })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let retry_after = crate::throttled_send::retry_after_of(status, response.headers());
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(StreamBroken))
            .boxed();
        Ok(UpstreamReply {
            status,
            content_type,
            body,
            retry_after,
        })
    }
}

fn forward_headers(
    mut builder: reqwest::RequestBuilder,
    headers: &HeaderMap,
) -> reqwest::RequestBuilder {
    for name in FORWARDED_HEADERS {
        if let Some(value) = headers.get(*name).and_then(|value| value.to_str().ok()) {
            builder = builder.header(*name, value);
        }
    }
    builder
}
