//! The models agentpod itself asks, beside the agent's: the `judge` section (an LLM-as-judge
//! grader: a rubric, how many times each answer is judged, and its model) and the `customer`
//! section (the model behind simulated customers of multi-turn issues). Each names the model its
//! requests ask for and may give a gateway of its own, with the keys of the `model` section;
//! without one it uses the `model` section's upstream, with its own record, never the agent's.

use serde::Serialize;

use crate::ModelSpec;
use crate::ModelUpstream;
use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, Position};

/// The most judgements of one answer.
const MAXIMUM_REPEATS: i64 = 15;

/// The most messages an agent may send one customer.
const MAXIMUM_TURNS: i64 = 100;

/// A side model: the model its requests ask for and the gateway they go through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideModelSpec {
    /// The `model` of its requests.
    pub model: String,
    /// Its own upstream; `None` uses the spec's `model` section.
    pub gateway: Option<ModelSpec>,
}

impl SideModelSpec {
    /// The gateway settings it runs with: its own, or the spec's `model` section.
    #[must_use]
    pub fn gateway<'a>(&'a self, spec_model: Option<&'a ModelSpec>) -> Option<&'a ModelSpec> {
        self.gateway.as_ref().or(spec_model)
    }
}

/// `judge`: an LLM-as-judge grader.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeSpec {
    /// What a passing answer is, in words; an issue's `judge_rubric` field adds to it.
    pub rubric: String,
    /// How many times each answer is judged; the majority decides, and a split is reported.
    pub repeats: u32,
    #[serde(flatten)]
    pub side_model: SideModelSpec,
}

/// `customer`: the model behind the simulated customers of issues that carry a `customer` with
/// a persona (scripted customers need no model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSpec {
    /// The most messages the agent may send one customer; later ones end the conversation.
    pub max_turns: u32,
    #[serde(flatten)]
    pub side_model: Option<SideModelSpec>,
}

impl Default for CustomerSpec {
    fn default() -> CustomerSpec {
        CustomerSpec {
            max_turns: 10,
            side_model: None,
        }
    }
}

impl JudgeSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<JudgeSpec> {
        let fields = decoder.mapping(node, owner, "`judge`", keys::JUDGE)?;
        decoder.require(&fields, keys::JUDGE_REQUIRED);
        let rubric = fields
            .get("rubric")
            .and_then(|field| decoder.non_empty_string(field.value, "judge.rubric"));
        let repeats = decoder.optional(&fields, "repeats", |decoder, node| {
            decoder
                .integer_in_range(node, "judge.repeats", 1, MAXIMUM_REPEATS)
                .and_then(|repeats| u32::try_from(repeats).ok())
        });
        let side_model = decode_side_model(decoder, &fields, "judge")?;
        Some(JudgeSpec {
            rubric: rubric?,
            repeats: repeats?.unwrap_or(1),
            side_model,
        })
    }
}

impl CustomerSpec {
    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<CustomerSpec> {
        let fields = decoder.mapping(node, owner, "`customer`", keys::CUSTOMER)?;
        let max_turns = decoder.optional(&fields, "max_turns", |decoder, node| {
            decoder
                .integer_in_range(node, "customer.max_turns", 1, MAXIMUM_TURNS)
                .and_then(|turns| u32::try_from(turns).ok())
        });
        let side_model = if fields.get("model").is_some() || fields.get("gateway").is_some() {
            Some(decode_side_model(decoder, &fields, "customer")?)
        } else {
            None
        };
        Some(CustomerSpec {
            max_turns: max_turns?.unwrap_or(CustomerSpec::default().max_turns),
            side_model,
        })
    }
}

fn decode_side_model(
    decoder: &mut Decoder<'_>,
    fields: &crate::decoder::Fields<'_>,
    section: &str,
) -> Option<SideModelSpec> {
    let model = decoder.optional(fields, "model", |decoder, node| {
        decoder.non_empty_string(node, &format!("{section}.model"))
    });
    let gateway = fields
        .get("gateway")
        .map(|field| ModelSpec::decode(decoder, field.value, field.key_position));
    let gateway = gateway.map_or(Some(None), |gateway| gateway.map(Some))?;
    let model = match model? {
        Some(model) => model,
        None if gateway
            .as_ref()
            .is_some_and(|gateway| gateway.upstream == ModelUpstream::StandIn) =>
        {
            crate::STAND_IN_MODEL_NAME.to_owned()
        }
        None => {
            decoder.report_with_help(
                fields.owner,
                format!("missing required key `model` in `{section}`"),
                Some(format!(
                    "name the model the {section}'s requests ask for, e.g. `model: gpt-4o-mini` (only a `gateway` with `upstream: stand-in` needs none)"
                )),
            );
            return None;
        }
    };
    Some(SideModelSpec { model, gateway })
}

/// Checks against the rest of the spec: a side model without a gateway of its own needs the
/// spec's `model` section.
pub(crate) fn check_gateways(
    decoder: &mut Decoder<'_>,
    spec_model: Option<&ModelSpec>,
    sides: &[(&str, Position, Option<&SideModelSpec>)],
) -> Option<()> {
    let mut valid = true;
    for (section, position, side) in sides {
        if let Some(side) = side
            && side.gateway(spec_model).is_none()
        {
            decoder.report_with_help(
                *position,
                format!("`{section}` has no model to ask"),
                Some(format!(
                    "give `{section}.gateway` (the keys of the `model` section, e.g. `upstream: stand-in`) or a top-level `model` section"
                )),
            );
            valid = false;
        }
    }
    valid.then_some(())
}

#[cfg(test)]
mod tests {
    use crate::spec_error::SpecError;

    fn load(extra: &str) -> Result<crate::PodSpec, SpecError> {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("issues.jsonl"), "").unwrap();
        let path = directory.path().join("pod.yaml");
        std::fs::write(
            &path,
            format!(
                "name: side\ndatabase:\n  image: postgres:15\nagent:\n  command: [\"/bin/true\"]\n  version: v1\nissues:\n  source: issues.jsonl\n{extra}"
            ),
        )
        .unwrap();
        crate::load(&path)
    }

    fn messages(extra: &str) -> Vec<String> {
        match load(extra) {
            Ok(_) => Vec::new(),
            Err(error) => error
                .diagnostics
                .iter()
                .map(|diagnostic| format!("{}: {}", diagnostic.line, diagnostic.message))
                .collect(),
        }
    }

    #[test]
    fn a_judge_with_its_own_stand_in_needs_no_model_name_and_defaults_to_one_judgement() {
        let spec = load("judge:\n  rubric: polite\n  gateway:\n    upstream: stand-in\n").unwrap();
        let judge = spec.judge.unwrap();
        assert_eq!(judge.repeats, 1);
        assert_eq!(judge.side_model.model, crate::STAND_IN_MODEL_NAME);
        assert_eq!(spec.customer.max_turns, 10);
        assert!(spec.customer.side_model.is_none());
    }

    #[test]
    fn a_judge_uses_the_model_section_when_it_has_no_gateway_of_its_own() {
        let spec = load(
            "model:\n  upstream: stand-in\njudge:\n  rubric: polite\n  model: judge-1\n  repeats: 3\ncustomer:\n  model: sim-1\n  max_turns: 4\n",
        )
        .unwrap();
        let judge = spec.judge.as_ref().unwrap();
        assert_eq!(
            (judge.repeats, judge.side_model.model.as_str()),
            (3, "judge-1")
        );
        assert!(judge.side_model.gateway(spec.model.as_ref()).is_some());
        assert_eq!(spec.customer.max_turns, 4);
        assert_eq!(spec.customer.side_model.as_ref().unwrap().model, "sim-1");
    }

    #[test]
    fn each_mistake_is_said_at_its_line_with_what_to_write() {
        assert_eq!(
            messages("judge:\n  repeats: 2\n  gateway:\n    upstream: stand-in\n"),
            ["9: missing required key `rubric` in `judge`"]
        );
        assert_eq!(
            messages(
                "judge:\n  rubric: polite\n  repeats: 0\n  gateway:\n    upstream: stand-in\n"
            ),
            ["11: `judge.repeats` must be between 1 and 15, found 0"]
        );
        assert_eq!(
            messages("judge:\n  rubric: polite\n  model: judge-1\n"),
            ["9: `judge` has no model to ask"]
        );
        assert_eq!(
            messages("judge:\n  rubric: polite\n  gateway:\n    upstream: openai\n"),
            ["9: missing required key `model` in `judge`"]
        );
        assert_eq!(
            messages("customer:\n  max_turns: 3\n  rubric: x\n"),
            ["11: unknown key `rubric` in `customer`"]
        );
    }
}
