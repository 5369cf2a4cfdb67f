//! What the agent may do with a table or a column: the four classes of the AI-writable boundary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::keys;
use crate::node::{Node, ScalarValue};

/// One class of the AI-writable boundary, from most to least open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessClass {
    /// The agent reads and writes; its changes are captured.
    Writable,
    /// The agent reads; its writes become proposals for a human instead of being applied.
    Approval,
    /// The agent reads only.
    ReadOnly,
    /// The agent cannot see it at all.
    Hidden,
}

/// A class name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access class `{text}`")]
pub struct UnknownAccessClass {
    pub text: String,
}

impl AccessClass {
    pub const ALL: [AccessClass; 4] = [
        AccessClass::Writable,
        AccessClass::Approval,
        AccessClass::ReadOnly,
        AccessClass::Hidden,
    ];

    const NAMES: [&'static str; 4] = ["writable", "approval", "read_only", "hidden"];

    /// The name a spec writes, e.g. `read_only`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AccessClass::Writable => "writable",
            AccessClass::Approval => "approval",
            AccessClass::ReadOnly => "read_only",
            AccessClass::Hidden => "hidden",
        }
    }

    /// Reads the class of a boundary rule; `name` is the rule as messages show it, e.g.
    /// "`boundary.tables.refunds`".
    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node, name: &str) -> Option<Self> {
        let text = match node.scalar() {
            Some(ScalarValue::String(text)) => text,
            _ => {
                decoder.report_with_help(
                    node.position,
                    format!(
                        "expected an access class for {name}, found {}",
                        node.kind_name()
                    ),
                    Some(format!("expected {}", keys::list(&Self::NAMES))),
                );
                return None;
            }
        };
        if let Ok(class) = text.parse() {
            return Some(class);
        }
        let help = match suggest(text) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!("expected {}", keys::list(&Self::NAMES)),
        };
        decoder.report_with_help(
            node.position,
            format!("unknown access class `{text}` for {name}"),
            Some(help),
        );
        None
    }
}

/// The class a misspelt name most likely meant: `readonly`, `Read-Only` and `read only` all mean
/// `read_only`.
fn suggest(text: &str) -> Option<&'static str> {
    let normalized: String = text
        .trim()
        .chars()
        .map(|character| match character {
            '-' | ' ' => '_',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    if let Ok(class) = normalized.parse::<AccessClass>() {
        return Some(class.name());
    }
    keys::suggest(&normalized, &AccessClass::NAMES)
}

impl fmt::Display for AccessClass {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for AccessClass {
    type Err = UnknownAccessClass;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AccessClass::ALL
            .into_iter()
            .find(|class| class.name() == text)
            .ok_or_else(|| UnknownAccessClass {
                text: text.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for class in AccessClass::ALL {
            assert_eq!(class.to_string().parse::<AccessClass>(), Ok(class));
            assert_eq!(
                serde_json::to_value(class).ok(),
                Some(serde_json::Value::String(class.to_string()))
            );
        }
        assert_eq!(AccessClass::ReadOnly.to_string(), "read_only");
        assert_eq!(
            "readonly".parse::<AccessClass>(),
            Err(UnknownAccessClass {
                text: "readonly".to_owned()
            })
        );
    }

    #[test]
    fn suggests_the_intended_class() {
        assert_eq!(suggest("readonly"), Some("read_only"));
        assert_eq!(suggest("Read-Only"), Some("read_only"));
        assert_eq!(suggest("read only"), Some("read_only"));
        assert_eq!(suggest("writeable"), Some("writable"));
        assert_eq!(suggest("hiden"), Some("hidden"));
        assert_eq!(suggest("approve"), Some("approval"));
        assert_eq!(suggest("secret"), None);
    }
}
