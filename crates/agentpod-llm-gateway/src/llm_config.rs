//! How a gateway is configured: where calls go, how they are priced, how long they may take.

use std::path::PathBuf;
use std::time::Duration;

use crate::price_table::PriceTable;
use crate::stand_in_rules::StandInRules;

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
}

impl LlmConfig {
    /// `upstream` with the built-in prices and a 300 s timeout.
    pub fn new(upstream: Upstream) -> LlmConfig {
        LlmConfig {
            upstream,
            prices: PriceTable::built_in(),
            request_timeout: Duration::from_secs(300),
        }
    }
}
