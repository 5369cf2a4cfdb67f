//! What the runner hands an agent for one issue: the MCP URL with the issue's token in it.

/// The tool gateway as one issue sees it. The token is part of the URL because the agent
/// contract gives the agent only `AGENTPOD_MCP_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAccess {
    /// The issue's random token; `finish_issue` takes it back.
    pub token: String,
    /// `http://<addr>/i/<token>/mcp`
    pub url: String,
}

impl IssueAccess {
    /// The agent contract's variables for the tool gateway.
    pub fn environment(&self) -> Vec<(String, String)> {
        vec![("AGENTPOD_MCP_URL".to_owned(), self.url.clone())]
    }
}
