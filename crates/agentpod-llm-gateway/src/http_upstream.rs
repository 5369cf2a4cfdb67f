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

pub(crate) struct HttpUpstream {
    client: reqwest::Client,
    base_url: String,
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
        Ok(HttpUpstream {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            base_includes_version,
            auth,
            anthropic,
        })
    }

    fn url(&self, route: &str) -> String {
        let path = if self.base_includes_version {
            route.strip_prefix("/v1").unwrap_or(route)
        } else {
            route
        };
        format!("{}{}", self.base_url, path)
    }

    pub(crate) async fn send(
        &self,
        request: &UpstreamRequest<'_>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        let url = self.url(request.route);
        let mut builder = if request.method == "GET" {
            self.client.get(&url)
        } else {
            self.client
                .post(&url)
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
