//! The `gate` section: the thresholds a run must meet before its agent version ships. Each is
//! optional; the command line can set or override them.

use serde::Serialize;

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

/// `None` means the gate does not check that figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GateSpec {
    /// Between 0 and 1.
    pub min_pass_rate: Option<f64>,
    /// Issues that passed in the baseline run and fail in this one.
    pub max_regressions: Option<usize>,
    pub max_monthly_cost_usd: Option<f64>,
    pub max_p95_cost_usd: Option<f64>,
    pub max_p95_seconds: Option<f64>,
    pub max_violations: Option<usize>,
}

impl GateSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<GateSpec> {
        let fields = decoder.mapping(node, owner, "`gate`", keys::GATE)?;
        let min_pass_rate = decoder.optional(&fields, "min_pass_rate", decode_rate);
        let count = |decoder: &mut Decoder<'_>, node: &Node, key: &str| {
            decoder
                .integer_in_range(node, &format!("gate.{key}"), 0, i64::MAX)
                .and_then(|count| usize::try_from(count).ok())
        };
        let max_regressions = decoder.optional(&fields, "max_regressions", |decoder, node| {
            count(decoder, node, "max_regressions")
        });
        let max_violations = decoder.optional(&fields, "max_violations", |decoder, node| {
            count(decoder, node, "max_violations")
        });
        let amount = |decoder: &mut Decoder<'_>, node: &Node, key: &str, help: &str| {
            decoder.non_negative_number(node, &format!("gate.{key}"), help, true)
        };
        let dollars = "write dollars as a number, e.g. `0.10`";
        let max_monthly_cost_usd =
            decoder.optional(&fields, "max_monthly_cost_usd", |decoder, node| {
                amount(decoder, node, "max_monthly_cost_usd", dollars)
            });
        let max_p95_cost_usd = decoder.optional(&fields, "max_p95_cost_usd", |decoder, node| {
            amount(decoder, node, "max_p95_cost_usd", dollars)
        });
        let max_p95_seconds = decoder.optional(&fields, "max_p95_seconds", |decoder, node| {
            amount(
                decoder,
                node,
                "max_p95_seconds",
                "write seconds as a number, e.g. `60`",
            )
        });
        Some(GateSpec {
            min_pass_rate: min_pass_rate?,
            max_regressions: max_regressions?,
            max_monthly_cost_usd: max_monthly_cost_usd?,
            max_p95_cost_usd: max_p95_cost_usd?,
            max_p95_seconds: max_p95_seconds?,
            max_violations: max_violations?,
        })
    }
}

fn decode_rate(decoder: &mut Decoder<'_>, node: &Node) -> Option<f64> {
    let name = "gate.min_pass_rate";
    let rate = decoder.number(
        node,
        name,
        "write the rate as a fraction, e.g. `0.6` for 60%",
    )?;
    if !(0.0..=1.0).contains(&rate) {
        decoder.report_with_help(
            node.position,
            format!(
                "`{name}` must be between 0 and 1, found `{}`",
                node.scalar_text().unwrap_or_default()
            ),
            Some("the rate is a fraction: 60% is `0.6`"),
        );
        return None;
    }
    Some(rate)
}
