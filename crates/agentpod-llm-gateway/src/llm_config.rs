//! How a gateway is configured: where calls go, how they are priced, how long they may take,
//! what the agent may ask the provider to do and how it may connect.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::connection_limits::ConnectionLimits;
use crate::price_table::PriceTable;
use crate::provider_policy::ProviderFeature;
use crate::retry_policy::RetryPolicy;
use crate::stand_in_rules::StandInRules;
use crate::upstream_limits::UpstreamLimiter;

/// Where the gateway sends model calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// OpenAI; `base_url` includes `/v1` (`https://api.openai.com/v1`). The key replaces the
    /// agent's token and never reaches the agent.
    OpenAi { base_url: String, api_key: String },
    /// Anthropic; `base_url` without `/v1` (`https://api.anthropic.com`).
    Anthropic { base_url: String, api_key: String },
    /// Any OpenAI-compatible server (a local model server); `base_url` includes `/v1`.
    OpenAiCompatible {
        base_url: String,
        api_key: Option<String>,
    },
    /// Forwards to `upstream` and writes each exchange to a cassette in `cassette_dir`.
    Record {
        upstream: Box<Upstream>,
        cassette_dir: PathBuf,
    },
    /// Serves recorded cassettes only; a request with no cassette is an error.
    Replay { cassette_dir: PathBuf },
    /// The offline deterministic stand-in model `agentpod-stand-in`.
    StandIn(StandInRules),
}

/// A gateway's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub upstream: Upstream,
    pub prices: PriceTable,
    /// The longest wait for the upstream's answer, and for each next piece of a stream.
    pub request_timeout: Duration,
    /// Provider features the agent may use; every other one is refused (see
    /// [`ProviderFeature`]). Empty by default.
    pub allowed_provider_features: BTreeSet<ProviderFeature>,
    pub connection_limits: ConnectionLimits,
    /// The run's upstream limits, shared with the other pods' gateways (clones of one
    /// [`UpstreamLimiter`]); `None` sends every call at once.
    pub upstream_limits: Option<UpstreamLimiter>,
    /// Retries of 429 and 5xx answers; none by default.
    pub retry: RetryPolicy,
}

impl LlmConfig {
    /// `upstream` with the built-in prices, a 300 s timeout, no provider feature allowed, the
    /// default connection limits, no upstream limits and no retries.
    pub fn new(upstream: Upstream) -> LlmConfig {
        LlmConfig {
            upstream,
            prices: PriceTable::built_in(),
            request_timeout: Duration::from_secs(300),
            allowed_provider_features: BTreeSet::new(),
            connection_limits: ConnectionLimits::default(),
            upstream_limits: None,
            retry: RetryPolicy::NONE,
        }
    }
}
