//! How the pod answers a write to an `approval` table while a run is going on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decoder::Decoder;
use crate::node::Node;

const MEANING_HELP: &str = "expected `pending` (leave proposals for a human) or `approve` (apply them as if a human approved)";

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProposalResponse {
    /// The proposal is recorded and left for a human; the table is unchanged.
    #[default]
    Pending,
    /// The proposal is recorded and applied as if a human approved it, so workflows that wait on
    /// approval can be tested.
    Approve,
}

impl ProposalResponse {
    const NAMES: [&'static str; 2] = ["pending", "approve"];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ProposalResponse::Pending => "pending",
            ProposalResponse::Approve => "approve",
        }
    }

    pub(crate) fn decode(decoder: &mut Decoder<'_>, node: &Node) -> Option<Self> {
        let name = decoder.choice(
            node,
            "boundary.on_proposal",
            "proposal response",
            &Self::NAMES,
            MEANING_HELP,
        )?;
        Some(match name {
            "approve" => ProposalResponse::Approve,
            _ => ProposalResponse::Pending,
        })
    }
}

impl fmt::Display for ProposalResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
