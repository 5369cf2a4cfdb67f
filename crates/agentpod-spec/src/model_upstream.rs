//! Where the LLM gateway sends the agent's model calls.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, ScalarValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelUpstream {
    /// The offline deterministic stand-in model: no network, no key, clearly not a real model.
    #[serde(rename = "stand-in")]
    StandIn,
    #[serde(rename = "openai")]
    OpenAi,
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Any server speaking the OpenAI API at `base_url`, e.g. a local model server.
    #[serde(rename = "openai-compatible")]
    OpenAiCompatible,
    /// Answers recorded earlier, read from `cassettes`; no upstream is reached.
    #[serde(rename = "replay")]
    Replay,
}

impl ModelUpstream {
    pub const ALL: [ModelUpstream; 5] = [
        ModelUpstream::StandIn,
        ModelUpstream::OpenAi,
        ModelUpstream::Anthropic,
        ModelUpstream::OpenAiCompatible,
        ModelUpstream::Replay,
    ];

    const NAMES: [&'static str; 5] = [
        "stand-in",
        "openai",
        "anthropic",
        "openai-compatible",
        "replay",
    ];

    /// The name a spec writes, e.g. `openai-compatible`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ModelUpstream::StandIn => "stand-in",
            ModelUpstream::OpenAi => "openai",
            ModelUpstream::Anthropic => "anthropic",
            ModelUpstream::OpenAiCompatible => "openai-compatible",
            ModelUpstream::Replay => "replay",
        }
    }

    /// Whether calls reach a real model server (and so need a key and cost money).
    #[must_use]
    pub fn is_real(self) -> bool {
        matches!(
            self,
            ModelUpstream::OpenAi | ModelUpstream::Anthropic | ModelUpstream::OpenAiCompatible
        )
    }

    /// The orchestrator's variable that holds the key when the spec names none.
    #[must_use]
    pub fn default_api_key_env(self) -> Option<&'static str> {
        match self {
            ModelUpstream::OpenAi | ModelUpstream::OpenAiCompatible => Some("OPENAI_API_KEY"),
            ModelUpstream::Anthropic => Some("ANTHROPIC_API_KEY"),
            ModelUpstream::StandIn | ModelUpstream::Replay => None,
        }
    }

    fn from_name(name: &str) -> Option<ModelUpstream> {
        ModelUpstream::ALL
            .into_iter()
            .find(|upstream| upstream.name() == name)
    }

    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node) -> Option<ModelUpstream> {
        let help = || format!("expected {}", keys::list(&Self::NAMES));
        let Some(ScalarValue::String(text)) = node.scalar() else {
            decoder.report_with_help(
                node.position,
                format!(
                    "expected an upstream name for `model.upstream`, found {}",
                    node.kind_name()
                ),
                Some(help()),
            );
            return None;
        };
        if let Some(upstream) = ModelUpstream::from_name(text) {
            return Some(upstream);
        }
        let help = match suggest(text) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => help(),
        };
        decoder.report_with_help(
            node.position,
            format!("unknown upstream `{text}` for `model.upstream`"),
            Some(help),
        );
        None
    }
}

/// `OpenAI`, `open-ai`, `stand_in` and `standin` all name an upstream the spec spells otherwise.
fn suggest(text: &str) -> Option<&'static str> {
    let squashed = |name: &str| -> String {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|character| character.to_ascii_lowercase())
            .collect()
    };
    let written = squashed(text);
    if let Some(upstream) = ModelUpstream::ALL
        .into_iter()
        .find(|upstream| squashed(upstream.name()) == written)
    {
        return Some(upstream.name());
    }
    keys::suggest(&text.to_ascii_lowercase(), &ModelUpstream::NAMES)
}

impl fmt::Display for ModelUpstream {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_upstreams_suggest_the_spelling() {
        assert_eq!(suggest("OpenAI"), Some("openai"));
        assert_eq!(suggest("open-ai"), Some("openai"));
        assert_eq!(suggest("stand_in"), Some("stand-in"));
        assert_eq!(suggest("openai_compatible"), Some("openai-compatible"));
        assert_eq!(suggest("replya"), Some("replay"));
        assert_eq!(suggest("ollama"), None);
    }

    #[test]
    fn names_round_trip_and_serialize_as_written() {
        for upstream in ModelUpstream::ALL {
            assert_eq!(ModelUpstream::from_name(upstream.name()), Some(upstream));
            assert_eq!(
                serde_json::to_value(upstream).unwrap(),
                serde_json::Value::String(upstream.name().to_owned())
            );
        }
    }
}
