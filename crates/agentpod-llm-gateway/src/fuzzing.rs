//! Entry points for the fuzz targets under `tests/fuzz`: the gateway's own reading of what an
//! agent sends (the request body, read in one pass and as a tree, which must agree; the provider
//! policy and the refusal of repeated fields, the usage splice, the cassette key, the stand-in's
//! reading) and of what an upstream streams back (the SSE parser and the stream meter). Not part
//! of the crate's interface; hidden from its documentation.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde_json::Value;

use crate::call_handler::with_usage_requested;
use crate::cassette_store::CassetteStore;
use crate::client_request::{ClientRequest, RequestRefused};
use crate::price_table::PriceTable;
use crate::provider_policy::ProviderFeature;
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
/// Panics when the gateway's one-pass reading and the reading of the whole tree disagree, for
/// the gateway that allows nothing and for the one that allows the features picked by the first
/// byte's low four bits (a body that repeats a field aside: only the one pass sees the repeat,
/// and refuses it whatever the tree's verdict).
pub fn read_request(api: LlmApi, body: &[u8]) -> Result<ReadRequest, String> {
    let nothing_allowed = BTreeSet::new();
    let request = read_both_ways(body, &nothing_allowed)?;
    read_both_ways(body, &features_of(body.first().copied().unwrap_or(0)))
        .expect("the same body read again");
    let with_usage = (api == LlmApi::OpenAiChat && request.streamed && !request.wants_usage)
        .then(|| with_usage_requested(&Bytes::copy_from_slice(body), request.has_stream_options));
    let provider_refusal = request
        .check_policy()
        .err()
        .map(|refusal| refusal.to_string());
    let parsed: Value = serde_json::from_slice(body).expect("a body read whole is json");
    Ok(ReadRequest {
        provider_refusal,
        cassette_key: CassetteStore::key("POST", api.route(), body),
        model: request.model,
        streamed: request.streamed,
        wants_usage: request.wants_usage,
        with_usage,
        parsed,
    })
}

/// The provider features whose bits are set in `bits`.
fn features_of(bits: u8) -> BTreeSet<ProviderFeature> {
    [
        ProviderFeature::RemoteInputs,
        ProviderFeature::ProviderTools,
        ProviderFeature::ServiceTier,
        ProviderFeature::ServerState,
    ]
    .into_iter()
    .enumerate()
    .filter(|(bit, _)| bits & (1 << bit) != 0)
    .map(|(_, feature)| feature)
    .collect()
}

/// Reads `body` in one pass, as the gateway does, and as a whole tree; panics when they
/// disagree, and returns the gateway's reading.
fn read_both_ways(
    body: &[u8],
    allowed: &BTreeSet<ProviderFeature>,
) -> Result<ClientRequest, String> {
    let one_pass = ClientRequest::read(body, allowed);
    let tree = ClientRequest::read_tree(body, allowed);
    let (one_pass, tree) = match (one_pass, tree) {
        (Ok(one_pass), Ok(tree)) => (one_pass, tree),
        (Err(one_pass), Err(message)) => {
            assert_eq!(one_pass, message, "the two readings refuse differently");
            return Err(message);
        }
        (one_pass, tree) => panic!("the two readings disagree: {one_pass:?} / {tree:?}"),
    };
    let verdict = one_pass.check_policy();
    if !matches!(verdict, Err(RequestRefused::RepeatedField { .. })) {
        assert_eq!(
            verdict,
            tree.check_policy(),
            "the one pass and the tree reach different verdicts"
        );
    }
    assert_eq!(
        (
            &one_pass.model,
            one_pass.streamed,
            one_pass.wants_usage,
            one_pass.has_stream_options,
            one_pass.max_output_tokens
        ),
        (
            &tree.model,
            tree.streamed,
            tree.wants_usage,
            tree.has_stream_options,
            tree.max_output_tokens
        ),
        "the one pass read other fields than the tree"
    );
    Ok(one_pass)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's consistency check, over bodies with repeats, refused features and
    /// allowed ones, each with every prefix and every one-byte deletion, and with leading
    /// whitespace that picks other allowed features.
    #[test]
    fn the_one_pass_and_the_tree_agree_on_bodies_and_their_mutations() {
        let bodies = [
            r#"{"model":"m","store":true,"store":false,"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a","tools":[{"type":"web_search"}],"tools":[],"model":"b","stream":true}"#,
            r#"{"model":"m","service_tier":"flex","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x","url":"data:,a"}}]}]}"#,
            r#"{"input":[{"type":"input_file","file_url":"https://x/a.pdf"}],"metadata":{"a":1,"a":2}}"#,
            r#"{"stream":true,"stream_options":{"include_usage":false,"include_usage":true},"max_tokens":9}"#,
        ];
        for body in bodies {
            for lead in ["", " ", "\t", "\n", "\r"] {
                let body = format!("{lead}{body}").into_bytes();
                for cut in 0..=body.len() {
                    let mut removed = body.clone();
                    if cut < removed.len() {
                        removed.remove(cut);
                    }
                    for api in [LlmApi::OpenAiChat, LlmApi::AnthropicMessages] {
                        let _ = read_request(api, &body[..cut]);
                        let _ = read_request(api, &removed);
                    }
                }
            }
        }
    }
}
