//! What the gold grader does when one of an issue's gold actions fails.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::node::Node;

const MEANING_HELP: &str = "expected `skip` (a failing gold action is an observation: it changes nothing and replay goes on, as tau-bench's reward does) or `fail` (the issue's gold state check fails)";

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GoldActionErrors {
    /// The failed call changed nothing (its transaction was rolled back); it is named in the
    /// check's detail and replay goes on with the next action.
    #[default]
    Skip,
    /// The first failed call stops the replay and fails the gold state check.
    Fail,
}

impl GoldActionErrors {
    const NAMES: [&'static str; 2] = ["skip", "fail"];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            GoldActionErrors::Skip => "skip",
            GoldActionErrors::Fail => "fail",
        }
    }

    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node) -> Option<Self> {
        let name = decoder.choice(
            node,
            "grading.gold_action_errors",
            "gold action error policy",
            &Self::NAMES,
            MEANING_HELP,
        )?;
        Some(match name {
            "fail" => GoldActionErrors::Fail,
            _ => GoldActionErrors::Skip,
        })
    }
}

impl fmt::Display for GoldActionErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
