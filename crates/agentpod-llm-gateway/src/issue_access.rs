//! What an agent is handed to reach the gateway for one issue.

use std::net::SocketAddr;

/// One issue's token and the URLs built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAccess {
    pub issue_id: String,
    pub token: String,
    /// `http://ADDRESS/v1`, what OpenAI SDKs expect.
    pub openai_base_url: String,
    /// `http://ADDRESS`, what Anthropic SDKs expect.
    pub anthropic_base_url: String,
}

impl IssueAccess {
    pub(crate) fn new(issue_id: &str, token: String, address: SocketAddr) -> IssueAccess {
        IssueAccess {
            issue_id: issue_id.to_owned(),
            token,
            openai_base_url: format!("http://{address}/v1"),
            anthropic_base_url: format!("http://{address}"),
        }
    }

    /// The agent contract's variables for the LLM gateway.
    pub fn environment(&self) -> Vec<(String, String)> {
        vec![
            ("OPENAI_BASE_URL".to_owned(), self.openai_base_url.clone()),
            ("OPENAI_API_KEY".to_owned(), self.token.clone()),
            (
                "ANTHROPIC_BASE_URL".to_owned(),
                self.anthropic_base_url.clone(),
            ),
            ("ANTHROPIC_API_KEY".to_owned(), self.token.clone()),
        ]
    }
}
