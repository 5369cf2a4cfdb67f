//! Entry points for the fuzz targets under `tests/fuzz`: the gateway's own reading of what an
//! agent sends (the request body, the provider policy, the usage splice, the cassette key, the
//! stand-in's reading)
//! and of what an upstream streams back (the SSE parser and the stream meter). Not part of the
//! crate's interface; hidden from its documentation.

use bytes::Bytes;
use serde_json::Value;

use crate::call_handler::{read_client_request, with_usage_requested};
use crate::cassette_store::CassetteStore;
use crate::price_table::PriceTable;
use crate::provider_policy;
use crate::sse_parser::SseParser;
use crate::stand_in::StandIn;
use crate::stand_in_rules::{StandInRule, StandInRules};
use crate::stream_meter::StreamMeter;
use crate::{LlmApi, TokenUsage};

/// What the gateway makes of one request body.
#[derive(Debug)]
pub struct ReadRequest {
    pub parsed: Value,
    pub model: Option<String>,
    pub streamed: bool,
    pub wants_usage: bool,
    /// The body sent upstream when the gateway asks for the usage chunk itself.
    pub with_usage: Option<Bytes>,
    pub cassette_key: String,
    /// Why the provider policy (nothing allowed) refuses the body, if it does.
    pub provider_refusal: Option<String>,
}

/// Reads `body` as the gateway does for a call on `api`; `Err` is the message of the 400 answer.
pub fn read_request(api: LlmApi, body: &[u8]) -> Result<ReadRequest, String> {
    let request = read_client_request(body)?;
    let with_usage = (api == LlmApi::OpenAiChat && request.streamed && !request.wants_usage)
        .then(|| with_usage_requested(&Bytes::copy_from_slice(body), &request.parsed));
    let provider_refusal = provider_policy::check(&request.parsed, &Default::default())
        .err()
        .map(|refusal| refusal.to_string());
    Ok(ReadRequest {
        provider_refusal,
        cassette_key: CassetteStore::key("POST", api.route(), body),
        model: request.model,
        streamed: request.streamed,
        wants_usage: request.wants_usage,
        with_usage,
        parsed: request.parsed,
    })
}

/// The stand-in model's reply to `request` on `api` (content type and body chunks), under one
/// rule that calls the tool `lookup` when a message mentions "refund".
pub fn stand_in_reply(api: LlmApi, request: &Value) -> (String, Vec<Bytes>) {
    let rules = StandInRules {
        rules: vec![StandInRule {
            when: vec!["refund".to_owned()],
            tool: Some("lookup".to_owned()),
            arguments: serde_json::json!({"sql": "select 1"}),
            reply: None,
        }],
    };
    StandIn::new(rules).reply(api, request)
}

/// What the gateway makes of one streamed upstream answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteredStream {
    /// Every event's raw bytes, in order, whether passed on or not.
    pub raw: Vec<u8>,
    /// Whether each event was passed on to the agent.
    pub passed_on: Vec<bool>,
    pub usage: Option<TokenUsage>,
    pub total_tokens: u64,
    pub cost_usd: Option<f64>,
    pub response_model: Option<String>,
    pub completed: bool,
    pub error: Option<String>,
    pub assembled: Value,
}

/// Feeds `chunks` (one upstream stream, as it arrived) through the SSE parser and the meter.
pub fn meter_stream(api: LlmApi, client_wants_usage: bool, chunks: &[&[u8]]) -> MeteredStream {
    let mut parser = SseParser::default();
    let mut meter = StreamMeter::new(api, client_wants_usage);
    let mut raw = Vec::new();
    let mut passed_on = Vec::new();
    let events = chunks
        .iter()
        .flat_map(|chunk| parser.push(chunk))
        .collect::<Vec<_>>()
        .into_iter()
        .chain(parser.finish());
    for event in events {
        raw.extend_from_slice(&event.raw);
        passed_on.push(meter.observe(&event));
    }
    let usage = meter.usage.unwrap_or_default();
    let cost_usd = meter
        .response_model
        .as_deref()
        .and_then(|model| PriceTable::built_in().lookup(model).cloned())
        .map(|price| price.cost_usd(api, &usage));
    MeteredStream {
        raw,
        passed_on,
        usage: meter.usage,
        total_tokens: usage.total_tokens(api),
        cost_usd,
        assembled: meter.assembled(),
        response_model: meter.response_model,
        completed: meter.completed,
        error: meter.error,
    }
}

/// The usage a non-streamed upstream answer reports, and its total, as the gateway reads them.
pub fn read_usage(api: LlmApi, answer: &Value) -> Option<(TokenUsage, u64)> {
    let usage = TokenUsage::from_usage_object(api, answer.get("usage")?)?;
    Some((usage, usage.total_tokens(api)))
}
