//! `IssueDatabase`: one issue's private copy of the seeded template.

/// A database cloned from the template for one issue.
#[derive(Clone, PartialEq, Eq)]
pub struct IssueDatabase {
    pub name: String,
    /// Connection URL as the issue's own role (a member of the restricted `agent` group);
    /// this is what the agent gets.
    pub agent_url: String,
    /// The issue's own role, dropped with the database.
    pub role: String,
    /// Connection URL as the superuser, for graders and state capture.
    pub admin_url: String,
}

// Both URLs carry passwords, which must not reach logs through `{:?}`.
impl std::fmt::Debug for IssueDatabase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IssueDatabase")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
