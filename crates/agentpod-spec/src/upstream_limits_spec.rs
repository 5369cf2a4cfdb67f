//! `model.limits` and `model.retries`: what the run's model provider allows (requests and tokens
//! per minute, calls at once), shared by every pod of the run, and how throttled or failed
//! answers are retried. Both apply to real upstreams only.

use std::time::Duration;

use serde::Serialize;

use crate::decoder::Decoder;
use crate::duration::decode_positive_duration;
use crate::keys;
use crate::node::{Node, Position};

/// The help under a zero backoff: the way to turn retries off.
const RETRIES_OFF: Option<&str> =
    Some("write a duration such as `500ms`; `model.retries.max_retries: 0` turns retries off");

/// Limits for the whole run, over all its pods; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpstreamLimitsSpec {
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens: estimated before a call, corrected from its usage after.
    pub tokens_per_minute: Option<u64>,
    pub concurrent_calls: Option<u32>,
    /// Calls waiting in line beyond this are refused; `None` is the gateway's default (1,024).
    pub max_queued_calls: Option<u32>,
}

impl UpstreamLimitsSpec {
    /// Whether any limit is set, so calls go through the line at all.
    #[must_use]
    pub fn any(&self) -> bool {
        self.requests_per_minute.is_some()
            || self.tokens_per_minute.is_some()
            || self.concurrent_calls.is_some()
    }
}

/// Retries of 429 and 5xx answers from a real upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetriesSpec {
    /// After the first attempt; 0 passes every answer to the agent as it came.
    pub max_retries: u32,
    #[serde(serialize_with = "crate::duration::serialize_duration")]
    pub initial_backoff: Duration,
    /// The longest single wait; a provider asking for longer gets its error passed on.
    #[serde(serialize_with = "crate::duration::serialize_duration")]
    pub max_backoff: Duration,
}

impl Default for RetriesSpec {
    fn default() -> Self {
        RetriesSpec {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

const MAX_RETRIES: i64 = 10;

impl UpstreamLimitsSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<UpstreamLimitsSpec> {
        let fields = decoder.mapping(node, owner, "`model.limits`", keys::MODEL_LIMITS)?;
        let per_minute = |decoder: &mut Decoder<'_>, node: &Node, key: &str, maximum: i64| {
            decode_count(decoder, node, &format!("model.limits.{key}"), 1, maximum)
        };
        let requests_per_minute = decoder.optional(&fields, "requests_per_minute", |d, n| {
            per_minute(d, n, "requests_per_minute", i64::from(u32::MAX))
                .and_then(|count| u32::try_from(count).ok())
        });
        let tokens_per_minute = decoder.optional(&fields, "tokens_per_minute", |d, n| {
            per_minute(d, n, "tokens_per_minute", i64::MAX)
                .and_then(|count| u64::try_from(count).ok())
        });
        let concurrent_calls = decoder.optional(&fields, "concurrent_calls", |d, n| {
            per_minute(d, n, "concurrent_calls", 100_000)
                .and_then(|count| u32::try_from(count).ok())
        });
        let max_queued_calls = decoder.optional(&fields, "max_queued_calls", |d, n| {
            per_minute(d, n, "max_queued_calls", 1_000_000)
                .and_then(|count| u32::try_from(count).ok())
        });
        Some(UpstreamLimitsSpec {
            requests_per_minute: requests_per_minute?,
            tokens_per_minute: tokens_per_minute?,
            concurrent_calls: concurrent_calls?,
            max_queued_calls: max_queued_calls?,
        })
    }
}

impl RetriesSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<RetriesSpec> {
        let fields = decoder.mapping(node, owner, "`model.retries`", keys::MODEL_RETRIES)?;
        let defaults = RetriesSpec::default();
        let max_retries = decoder.optional(&fields, "max_retries", |decoder, node| {
            decode_count(decoder, node, "model.retries.max_retries", 0, MAX_RETRIES)
                .and_then(|count| u32::try_from(count).ok())
        });
        let initial_backoff = decoder.optional(&fields, "initial_backoff", |decoder, node| {
            decode_positive_duration(decoder, node, "model.retries.initial_backoff", RETRIES_OFF)
        });
        let max_backoff = decoder.optional(&fields, "max_backoff", |decoder, node| {
            decode_positive_duration(decoder, node, "model.retries.max_backoff", RETRIES_OFF)
        });
        let initial = initial_backoff
            .flatten()
            .unwrap_or(defaults.initial_backoff);
        let longest = max_backoff.flatten().unwrap_or(defaults.max_backoff);
        let ordered = longest >= initial;
        if !ordered {
            let position = fields
                .get("max_backoff")
                .or_else(|| fields.get("initial_backoff"))
                .map_or(fields.owner(), |field| field.value.position);
            decoder.report_with_help(
                position,
                format!(
                    "`model.retries.max_backoff` ({longest:?}) is shorter than `model.retries.initial_backoff` ({initial:?})"
                ),
                Some("the backoff starts at `initial_backoff` and doubles up to `max_backoff`; make `max_backoff` the longer"),
            );
        }
        let retries = RetriesSpec {
            max_retries: max_retries?.unwrap_or(defaults.max_retries),
            initial_backoff: initial_backoff?.unwrap_or(defaults.initial_backoff),
            max_backoff: max_backoff?.unwrap_or(defaults.max_backoff),
        };
        ordered.then_some(retries)
    }
}

fn decode_count(
    decoder: &mut Decoder<'_>,
    node: &Node,
    name: &str,
    minimum: i64,
    maximum: i64,
) -> Option<i64> {
    let count = decoder.integer(node, name)?;
    if count < minimum || count > maximum {
        let help = if minimum == 0 {
            "write `0` to turn retries off"
        } else {
            "leave the limit out for no limit"
        };
        let bounds = if maximum == i64::MAX {
            format!("at least {minimum}")
        } else {
            format!("between {minimum} and {maximum}")
        };
        decoder.report_with_help(
            node.position,
            format!("`{name}` must be {bounds}, found {count}"),
            Some(help),
        );
        return None;
    }
    Some(count)
}
