//! What the runner hands an agent to reach one gateway for one issue: the token, the URL built
//! from it, and the agent contract's variables that carry them.

use crate::issue_token::IssueToken;

/// One issue's access to one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAccess {
    pub issue_id: String,
    /// The issue's token; the gateway's `finish_issue` takes it back.
    pub token: IssueToken,
    /// Where the agent reaches the gateway for this issue (what the gateway documents: a base
    /// URL, or an endpoint with the token in its path).
    pub url: String,
    environment: Vec<(String, String)>,
}

impl IssueAccess {
    pub fn new(
        issue_id: &str,
        token: IssueToken,
        url: String,
        environment: Vec<(String, String)>,
    ) -> IssueAccess {
        IssueAccess {
            issue_id: issue_id.to_owned(),
            token,
            url,
            environment,
        }
    }

    /// The agent contract's variables for this gateway.
    pub fn environment(&self) -> Vec<(String, String)> {
        self.environment.clone()
    }
}
