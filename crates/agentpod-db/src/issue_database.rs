//! `IssueDatabase`: one issue's private copy of the seeded template.

/// A database cloned from the template for one issue.
#[derive(Clone, PartialEq, Eq)]
pub struct IssueDatabase {
    pub name: String,
    /// Connection URL as the restricted `agent` role; this is what the agent gets.
    pub agent_url: String,
    /// Connection URL as the superuser, for graders and state capture.
    pub admin_url: String,
}

// Both URLs carry passwords, which must not reach logs through `{:?}`.
impl std::fmt::Debug for IssueDatabase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IssueDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
