//! The `model` section: which upstream the LLM gateway calls, with what key, recording or
//! replaying cassettes, and the rules of the offline stand-in model.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::ModelUpstream;
use crate::decoder::{Decoder, Fields};
use crate::duration::decode_positive_duration;
use crate::json_value::decode_json;
use crate::keys;
use crate::node::{Node, NodeValue, Position};
use crate::paths;
use crate::upstream_limits_spec::{RetriesSpec, UpstreamLimitsSpec};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub upstream: ModelUpstream,
    /// Where the upstream answers; required for `openai-compatible`, an override otherwise.
    pub base_url: Option<String>,
    /// The orchestrator's environment variable holding the real key; it never reaches the agent.
    /// `None` means the upstream's default (see [`ModelSpec::api_key_env`]).
    pub api_key_env: Option<String>,
    /// With a real upstream, calls are recorded into this directory; with `replay`, read from it.
    pub cassettes: Option<PathBuf>,
    /// A price table overriding the built-in one.
    pub prices: Option<PathBuf>,
    /// The models and prices that file holds, read and checked with the spec.
    #[serde(skip)]
    pub price_table: Vec<crate::ModelPriceEntry>,
    /// Per upstream request.
    #[serde(serialize_with = "crate::duration::serialize_duration")]
    pub timeout: Duration,
    pub stand_in: StandInSpec,
    /// Provider features the LLM gateway lets through (each refused by default, since each
    /// makes the provider fetch, act or keep state on the agent's behalf): `remote_inputs`,
    /// `provider_tools`, `service_tier`, `server_state`.
    pub allow_provider_features: Vec<String>,
    /// What the provider allows the whole run (all pods together); calls over a limit wait.
    pub limits: UpstreamLimitsSpec,
    /// Retries of the provider's 429 and 5xx answers (real upstreams only).
    pub retries: RetriesSpec,
}

/// The names `model.allow_provider_features` accepts (the LLM gateway's `ProviderFeature`s).
pub const PROVIDER_FEATURES: &[&str] = &[
    "remote_inputs",
    "provider_tools",
    "service_tier",
    "server_state",
];

/// The stand-in model's rules, tried in order on the conversation's last user message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StandInSpec {
    pub rules: Vec<StandInRuleSpec>,
}

/// When the message contains any of `when`, the stand-in calls `tool` with `arguments`, or
/// answers `reply`; exactly one of `tool` and `reply` is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandInRuleSpec {
    pub when: Vec<String>,
    pub tool: Option<String>,
    /// A JSON object for a `tool` rule (empty when not written); null for a `reply` rule.
    pub arguments: serde_json::Value,
    pub reply: Option<String>,
}

impl ModelSpec {
    /// The variable holding the upstream's key: the spec's, or the upstream's default; `None` for
    /// upstreams that need no key.
    #[must_use]
    pub fn api_key_env(&self) -> Option<&str> {
        self.api_key_env
            .as_deref()
            .or_else(|| self.upstream.default_api_key_env())
    }

    pub(crate) fn decode(
        decoder: &mut Decoder<'_>,
        node: &Node,
        owner: Position,
    ) -> Option<ModelSpec> {
        let fields = decoder.mapping(node, owner, "`model`", keys::MODEL)?;
        decoder.require(&fields, keys::MODEL_REQUIRED);
        let upstream = fields
            .get("upstream")
            .and_then(|field| ModelUpstream::decode(decoder, field.value));
        let base_url = decoder.optional(&fields, "base_url", |decoder, node| {
            decode_url(decoder, node, "model.base_url")
        });
        let api_key_env = decoder.optional(&fields, "api_key_env", decode_variable_name);
        let cassettes = decoder.optional(&fields, "cassettes", |decoder, node| {
            decoder.path(node, "model.cassettes")
        });
        let prices = decoder.optional(&fields, "prices", |decoder, node| {
            let path = decoder.path(node, "model.prices")?;
            let path = decoder.existing_file(node, path, "price table")?;
            // Its problems are reported with the spec's, each at its own file and line.
            match crate::price_table_file::load_price_table(&path) {
                Ok(entries) => Some((path, entries)),
                Err(error) => {
                    decoder.include(error.diagnostics);
                    None
                }
            }
        });
        let timeout = decoder.optional(&fields, "timeout", |decoder, node| {
            decode_positive_duration(decoder, node, "model.timeout", None)
        });
        let allow_provider_features =
            decoder.optional(&fields, "allow_provider_features", decode_provider_features);
        let stand_in = decoder.optional(&fields, "stand_in", |decoder, node| {
            let owner = fields
                .get("stand_in")
                .map_or(node.position, |field| field.key_position);
            decode_stand_in(decoder, node, owner)
        });
        let limits = decoder.optional(&fields, "limits", |decoder, node| {
            let owner = fields
                .get("limits")
                .map_or(node.position, |field| field.key_position);
            UpstreamLimitsSpec::decode(decoder, node, owner)
        });
        let retries = decoder.optional(&fields, "retries", |decoder, node| {
            let owner = fields
                .get("retries")
                .map_or(node.position, |field| field.key_position);
            RetriesSpec::decode(decoder, node, owner)
        });
        let consistent = match upstream {
            Some(upstream) => check_upstream_needs(decoder, &fields, upstream),
            // The upstream is already reported; what it would need cannot be told.
            None => true,
        };
        let cassettes = cassettes?;
        let replay_ready = match (upstream, &cassettes, fields.get("cassettes")) {
            (Some(ModelUpstream::Replay), Some(directory), Some(field)) => {
                existing_directory(decoder, field.value, directory)
            }
            _ => true,
        };
        if !(consistent && replay_ready) {
            return None;
        }
        Some(ModelSpec {
            upstream: upstream?,
            base_url: base_url?,
            api_key_env: api_key_env?,
            cassettes,
            price_table: prices
                .clone()?
                .map(|(_, entries)| entries)
                .unwrap_or_default(),
            prices: prices?.map(|(path, _)| path),
            timeout: timeout?.unwrap_or(DEFAULT_TIMEOUT),
            stand_in: stand_in?.unwrap_or_default(),
            allow_provider_features: allow_provider_features?.unwrap_or_default(),
            limits: limits?.unwrap_or_default(),
            retries: retries?.unwrap_or_default(),
        })
    }
}

fn decode_provider_features(decoder: &mut Decoder<'_>, node: &Node) -> Option<Vec<String>> {
    let items = decoder.sequence(node, "model.allow_provider_features")?;
    let features: Vec<Option<String>> = items
        .iter()
        .map(|item| {
            let name = decoder.string(item, "model.allow_provider_features")?;
            if PROVIDER_FEATURES.contains(&name.as_str()) {
                return Some(name);
            }
            let help = match keys::suggest(&name, PROVIDER_FEATURES) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!("expected one of {}", PROVIDER_FEATURES.join(", ")),
            };
            decoder.report_with_help(
                item.position,
                format!("unknown provider feature `{name}` in `model.allow_provider_features`"),
                Some(help),
            );
            None
        })
        .collect();
    features.into_iter().collect()
}

/// Reports the keys `upstream` requires and the ones it has no use for; false if any.
fn check_upstream_needs(
    decoder: &mut Decoder<'_>,
    fields: &Fields<'_>,
    upstream: ModelUpstream,
) -> bool {
    let mut consistent = true;
    if upstream == ModelUpstream::OpenAiCompatible && fields.get("base_url").is_none() {
        decoder.report_with_help(
            fields.owner(),
            "`model.base_url` is required with the `openai-compatible` upstream",
            Some("name the server's OpenAI API root, e.g. `base_url: http://127.0.0.1:8000/v1`"),
        );
        consistent = false;
    }
    if upstream == ModelUpstream::Replay && fields.get("cassettes").is_none() {
        decoder.report_with_help(
            fields.owner(),
            "`model.cassettes` is required with the `replay` upstream",
            Some("name the directory the calls were recorded into with a real upstream"),
        );
        consistent = false;
    }
    if !upstream.is_real() {
        for key in ["base_url", "api_key_env", "limits", "retries"] {
            if let Some(field) = fields.get(key) {
                decoder.report_with_help(
                    field.key_position,
                    format!(
                        "`model.{key}` has no use with the `{upstream}` upstream, which calls no server"
                    ),
                    Some("remove it, or choose `openai`, `anthropic` or `openai-compatible`"),
                );
                consistent = false;
            }
        }
    }
    if upstream != ModelUpstream::StandIn
        && let Some(field) = fields.get("stand_in")
    {
        decoder.report_with_help(
            field.key_position,
            format!("`model.stand_in` applies only to the `stand-in` upstream, not `{upstream}`"),
            Some("set `upstream: stand-in` or remove `stand_in`"),
        );
        consistent = false;
    }
    consistent
}

fn existing_directory(decoder: &mut Decoder<'_>, node: &Node, directory: &Path) -> bool {
    if directory.is_dir() {
        return true;
    }
    let message = if directory.exists() {
        format!(
            "cassette directory is not a directory: {}",
            directory.display()
        )
    } else {
        format!("cassette directory not found: {}", directory.display())
    };
    let help = format!(
        "record cassettes first with a real upstream and `cassettes` set; paths in a pod spec are relative to its directory, `{}`",
        paths::normalize(decoder.spec_directory()).display()
    );
    decoder.report_with_help(node.position, message, Some(help));
    false
}

pub(crate) fn decode_url(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<String> {
    let url = decoder.non_empty_string(node, name)?;
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let has_host = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host || url.chars().any(char::is_whitespace) {
        decoder.report_with_help(
            node.position,
            format!("invalid URL `{url}` for `{name}`"),
            Some("write an http:// or https:// URL, e.g. `http://127.0.0.1:8000/v1`"),
        );
        return None;
    }
    Some(url)
}

/// An environment variable name as shells accept it, since the orchestrator's key is read from
/// its environment.
fn decode_variable_name(decoder: &mut Decoder<'_>, node: &Node) -> Option<String> {
    let name = decoder.non_empty_string(node, "model.api_key_env")?;
    let mut characters = name.chars();
    let valid = characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_');
    if !valid {
        decoder.report_with_help(
            node.position,
            format!("invalid environment variable name `{name}` for `model.api_key_env`"),
            Some(
                "name the variable, not its value: letters, digits and `_`, e.g. `OPENAI_API_KEY`",
            ),
        );
        return None;
    }
    Some(name)
}

fn decode_stand_in(decoder: &mut Decoder<'_>, node: &Node, owner: Position) -> Option<StandInSpec> {
    let fields = decoder.mapping(node, owner, "`model.stand_in`", keys::STAND_IN)?;
    let rules = decoder.optional(&fields, "rules", |decoder, node| {
        let NodeValue::Sequence(items) = &node.value else {
            decoder.report(
                node.position,
                format!(
                    "expected a list for `model.stand_in.rules`, found {}",
                    node.kind_name()
                ),
            );
            return None;
        };
        let rules: Vec<Option<StandInRuleSpec>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| decode_rule(decoder, item, index))
            .collect();
        rules.into_iter().collect::<Option<Vec<_>>>()
    });
    Some(StandInSpec {
        rules: rules?.unwrap_or_default(),
    })
}

fn decode_rule(decoder: &mut Decoder<'_>, node: &Node, index: usize) -> Option<StandInRuleSpec> {
    let label = format!("model.stand_in.rules[{index}]");
    let fields = decoder.mapping(
        node,
        node.position,
        &format!("`{label}`"),
        keys::STAND_IN_RULE,
    )?;
    decoder.require(&fields, keys::STAND_IN_RULE_REQUIRED);
    let when = fields
        .get("when")
        .and_then(|field| decode_when(decoder, field.value, &format!("{label}.when")));
    let tool = decoder.optional(&fields, "tool", |decoder, node| {
        decoder.non_empty_string(node, &format!("{label}.tool"))
    });
    let reply = decoder.optional(&fields, "reply", |decoder, node| {
        decoder.string(node, &format!("{label}.reply"))
    });
    let arguments = decoder.optional(&fields, "arguments", |decoder, node| {
        let value = decode_json(decoder, node, &format!("{label}.arguments"))?;
        if !value.is_object() {
            decoder.report_with_help(
                node.position,
                format!(
                    "expected a mapping for `{label}.arguments`, found {}",
                    node.kind_name()
                ),
                Some("tool arguments are named, e.g. `arguments: { sql: \"SELECT 1\" }`"),
            );
            return None;
        }
        Some(value)
    });
    let mut valid = true;
    match (fields.get("tool"), fields.get("reply")) {
        (Some(_), Some(reply)) => {
            decoder.report_with_help(
                reply.key_position,
                format!("`{label}` sets both `tool` and `reply`"),
                Some("a rule either calls a tool or replies; split it into two rules"),
            );
            valid = false;
        }
        (None, None) => {
            decoder.report_with_help(
                fields.owner(),
                format!("`{label}` sets neither `tool` nor `reply`"),
                Some("say what the stand-in does when the words match: `tool: <name>` or `reply: <text>`"),
            );
            valid = false;
        }
        (None, Some(_)) => {
            if let Some(field) = fields.get("arguments") {
                decoder.report_with_help(
                    field.key_position,
                    format!("`{label}.arguments` needs a `tool`"),
                    Some("arguments are passed to the tool the rule calls; a `reply` rule takes none"),
                );
                valid = false;
            }
        }
        (Some(_), None) => {}
    }
    let arguments = arguments?;
    let (tool, reply) = (tool?, reply?);
    if !valid {
        return None;
    }
    let arguments = match (&tool, arguments) {
        (Some(_), None) => serde_json::Value::Object(serde_json::Map::new()),
        (_, arguments) => arguments.unwrap_or(serde_json::Value::Null),
    };
    Some(StandInRuleSpec {
        when: when?,
        tool,
        arguments,
        reply,
    })
}

/// A list of words; one string is taken as a list of one.
fn decode_when(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<Vec<String>> {
    let words = match &node.value {
        NodeValue::Sequence(items) => {
            let words: Vec<Option<String>> = items
                .iter()
                .enumerate()
                .map(|(index, item)| decoder.non_empty_string(item, &format!("{name}[{index}]")))
                .collect();
            words.into_iter().collect::<Option<Vec<_>>>()?
        }
        NodeValue::Scalar { .. } => vec![decoder.non_empty_string(node, name)?],
        NodeValue::Mapping(_) => {
            decoder.report(
                node.position,
                format!(
                    "expected a list of words for `{name}`, found {}",
                    node.kind_name()
                ),
            );
            return None;
        }
    };
    if words.is_empty() {
        decoder.report_with_help(
            node.position,
            format!("`{name}` is empty"),
            Some("list the words that trigger the rule, e.g. `when: [\"refund\", \"money back\"]`"),
        );
        return None;
    }
    Some(words)
}
