//! Rules that script the stand-in model: which tool to call, or what to say, for which words.

use serde::{Deserialize, Serialize};

/// The stand-in's rules, tried in order; the first that matches answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandInRules {
    #[serde(default)]
    pub rules: Vec<StandInRule>,
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandInRule {
    /// Matches when any of these appears in the last user message (case-insensitive).
    pub when: Vec<String>,
    /// The tool to call, used only when the request offers a tool of that name.
    #[serde(default)]
    pub tool: Option<String>,
    /// The tool call's arguments.
    #[serde(default)]
    pub arguments: serde_json::Value,
    /// The text answer when no tool is called.
    #[serde(default)]
    pub reply: Option<String>,
}

impl StandInRule {
    pub(crate) fn matches(&self, lowercase_message: &str) -> bool {
        self.when
            .iter()
            .any(|word| !word.is_empty() && lowercase_message.contains(&word.to_lowercase()))
    }
}
