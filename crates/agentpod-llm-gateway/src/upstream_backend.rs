//! Where a call goes once admitted: an HTTP upstream, the cassette recorder around one, the
//! cassette player, or the stand-in. Every backend answers the same way, so metering is one path.

use std::sync::Arc;

use agentpod_error_chain::{ErrorChain, error_chain};
use axum::http::HeaderMap;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use serde_json::{Value, json};

use crate::cassette_store::{Cassette, CassetteStore};
use crate::error::LlmGatewayError;
use crate::http_upstream::{HttpUpstream, UpstreamAuth};
use crate::llm_api::LlmApi;
use crate::llm_config::Upstream;
use crate::price_table::STAND_IN_MODEL;
use crate::stand_in::StandIn;

pub(crate) type ByteStream = BoxStream<'static, Result<Bytes, StreamBroken>>;

/// The upstream's answer broke off while it was being read.
#[derive(Debug, thiserror::Error)]
#[error("the upstream connection failed")]
pub(crate) struct StreamBroken(#[source] pub(crate) Box<dyn std::error::Error + Send + Sync>);

/// A request as the backend needs it.
pub(crate) struct UpstreamRequest<'a> {
    /// `None` for `GET /v1/models`.
    pub(crate) api: Option<LlmApi>,
    pub(crate) method: &'static str,
    pub(crate) route: &'static str,
    pub(crate) headers: &'a HeaderMap,
    /// The body as the agent sent it: the cassette key is computed on it.
    pub(crate) client_body: &'a Bytes,
    /// The body to send on (the same, or with `stream_options` added).
    pub(crate) upstream_body: Bytes,
}

pub(crate) struct UpstreamReply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: ByteStream,
    /// The provider's `retry-after`, on answers worth retrying (see `retry_policy`).
    pub(crate) retry_after: Option<std::time::Duration>,
}

impl UpstreamReply {
    fn from_chunks(status: u16, content_type: String, chunks: Vec<Bytes>) -> UpstreamReply {
        UpstreamReply {
            status,
            content_type,
            body: stream::iter(chunks.into_iter().map(Ok)).boxed(),
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpstreamFailure {
    Unreachable(String),
    ReplayMiss { key: String, reason: String },
}

pub(crate) enum UpstreamBackend {
    Http(HttpUpstream),
    Record {
        inner: Box<UpstreamBackend>,
        cassettes: Arc<CassetteStore>,
    },
    Replay(CassetteStore),
    StandIn(StandIn),
}

impl UpstreamBackend {
    pub(crate) fn build(
        upstream: &Upstream,
        timeout: std::time::Duration,
    ) -> Result<UpstreamBackend, LlmGatewayError> {
        Ok(match upstream {
            Upstream::OpenAi { base_url, api_key } => UpstreamBackend::Http(HttpUpstream::new(
                base_url,
                true,
                UpstreamAuth::Bearer(api_key.clone()),
                false,
                timeout,
            )?),
            Upstream::Anthropic { base_url, api_key } => UpstreamBackend::Http(HttpUpstream::new(
                base_url,
                false,
                UpstreamAuth::ApiKey(api_key.clone()),
                true,
                timeout,
            )?),
            Upstream::OpenAiCompatible { base_url, api_key } => {
                let auth = api_key
                    .clone()
                    .map_or(UpstreamAuth::None, UpstreamAuth::Bearer);
                UpstreamBackend::Http(HttpUpstream::new(base_url, true, auth, false, timeout)?)
            }
            Upstream::Record {
                upstream,
                cassette_dir,
            } => {
                create_directory(cassette_dir)?;
                UpstreamBackend::Record {
                    inner: Box::new(UpstreamBackend::build(upstream, timeout)?),
                    cassettes: Arc::new(CassetteStore::new(cassette_dir)),
                }
            }
            Upstream::Replay { cassette_dir } => {
                UpstreamBackend::Replay(CassetteStore::new(cassette_dir))
            }
            Upstream::StandIn(rules) => UpstreamBackend::StandIn(StandIn::new(rules.clone())),
        })
    }

    pub(crate) async fn send(
        &self,
        request: &UpstreamRequest<'_>,
    ) -> Result<UpstreamReply, UpstreamFailure> {
        match self {
            UpstreamBackend::Http(http) => http.send(request).await,
            UpstreamBackend::Record { inner, cassettes } => {
                let reply = Box::pin(inner.send(request)).await?;
                let key = CassetteStore::key(request.method, request.route, request.client_body);
                Ok(record(reply, key, request.route, Arc::clone(cassettes)))
            }
            UpstreamBackend::Replay(cassettes) => {
                let key = CassetteStore::key(request.method, request.route, request.client_body);
                let cassette =
                    cassettes
                        .load(&key)
                        .await
                        .map_err(|error| UpstreamFailure::ReplayMiss {
                            key: key.clone(),
                            reason: error_chain(&error),
                        })?;
                let chunks = cassette.chunks.into_iter().map(Bytes::from).collect();
                Ok(UpstreamReply::from_chunks(
                    cassette.status,
                    cassette.content_type,
                    chunks,
                ))
            }
            UpstreamBackend::StandIn(stand_in) => Ok(match request.api {
                Some(api) => {
                    // The stand-in reads the whole request; it is no hot path.
                    let parsed = serde_json::from_slice::<Value>(&request.upstream_body)
                        .unwrap_or(Value::Null);
                    let (content_type, chunks) = stand_in.reply(api, &parsed);
                    UpstreamReply::from_chunks(200, content_type, chunks)
                }
                None => models_reply(request.headers),
            }),
        }
    }
}

fn create_directory(path: &std::path::Path) -> Result<(), LlmGatewayError> {
    std::fs::create_dir_all(path).map_err(|source| LlmGatewayError::CassetteDirectory {
        path: path.to_owned(),
        source,
    })
}

/// The stand-in's model list, in the shape of whichever SDK asks.
fn models_reply(headers: &HeaderMap) -> UpstreamReply {
    let body = if headers.contains_key("anthropic-version") {
        json!({"data": [{"type": "model", "id": STAND_IN_MODEL, "display_name": "agentpod stand-in (offline, not a real model)",
            "created_at": "1970-01-01T00:00:00Z"}], "has_more": false, "first_id": STAND_IN_MODEL, "last_id": STAND_IN_MODEL})
    } else {
        json!({"object": "list", "data": [{"id": STAND_IN_MODEL, "object": "model", "created": 0, "owned_by": "agentpod"}]})
    };
    UpstreamReply::from_chunks(
        200,
        "application/json".to_owned(),
        vec![Bytes::from(body.to_string())],
    )
}

/// Passes the reply through unchanged while keeping a copy; the cassette is written once the
/// body ended cleanly, so an interrupted exchange is never replayed as if it were whole.
fn record(
    reply: UpstreamReply,
    key: String,
    route: &str,
    cassettes: Arc<CassetteStore>,
) -> UpstreamReply {
    struct State {
        body: ByteStream,
        chunks: Vec<String>,
        cassette: Option<Cassette>,
        cassettes: Arc<CassetteStore>,
    }
    let state = State {
        body: reply.body,
        chunks: Vec::new(),
        cassette: Some(Cassette {
            key,
            route: route.to_owned(),
            status: reply.status,
            content_type: reply.content_type.clone(),
            chunks: Vec::new(),
        }),
        cassettes,
    };
    let body = stream::unfold(state, |mut state| async move {
        match state.body.next().await {
            Some(Ok(chunk)) => {
                state
                    .chunks
                    .push(String::from_utf8_lossy(&chunk).into_owned());
                Some((Ok(chunk), state))
            }
            Some(Err(error)) => {
                state.cassette = None;
                Some((Err(error), state))
            }
            None => {
                if let Some(mut cassette) = state.cassette.take() {
                    cassette.chunks = std::mem::take(&mut state.chunks);
                    if let Err(error) = state.cassettes.save(&cassette).await {
                        tracing::warn!(error = %ErrorChain(&error), "cannot save a cassette");
                    }
                }
                None
            }
        }
    })
    .boxed();
    UpstreamReply {
        status: reply.status,
        content_type: reply.content_type,
        body,
        retry_after: reply.retry_after,
    }
}
