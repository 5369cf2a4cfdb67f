//! One registered issue: its token, its database connections (as the agent role), its limits
//! and the journal of what happened, shared by every request that carries its token.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::customer_channel::Customer;
use crate::issue_tool_record::{IssueToolRecord, RejectedRequest, ToolCall};
use crate::sql_function_tools::SqlFunction;
use crate::statement_connections::StatementConnections;
use crate::tool_config::ToolLimits;
use crate::tool_gateway_error::ToolGatewayError;

/// An issue's agent runs its calls one after another, but may overlap a few.
const MAX_CONNECTIONS_PER_ISSUE: u32 = 4;

/// The most rejected requests an issue's record lists; later ones are only counted.
pub const MAX_LISTED_REJECTIONS: usize = 100;

pub(crate) struct IssueState {
    pub(crate) issue_id: String,
    /// The connections every database tool runs its statements on.
    pub(crate) statements: StatementConnections,
    limits: ToolLimits,
    /// Discovered on the first `tools/list` or call, from the issue's own database.
    pub(crate) sql_functions: OnceCell<Arc<Vec<SqlFunction>>>,
    /// The simulated customer the agent may talk to; `None` offers no customer tool.
    pub(crate) customer: Option<Arc<dyn Customer>>,
    /// Set once the issue's first connection was opened (or failed to open), see
    /// [`IssueState::open_first_connection`].
    first_connection: OnceCell<()>,
    journal: Mutex<Journal>,
}

#[derive(Default)]
struct Journal {
    next_sequence: u32,
    admitted: u32,
    limit_stops: u32,
    calls: Vec<ToolCall>,
    rejected_requests: Vec<RejectedRequest>,
    unlisted_rejections: u64,
}

/// Whether a call may reach its tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    BudgetSpent { max_tool_calls: u32 },
}

impl IssueState {
    pub(crate) fn new(
        issue_id: &str,
        database_url: &str,
        limits: ToolLimits,
        call_timeout: Duration,
        customer: Option<Arc<dyn Customer>>,
    ) -> Result<IssueState, ToolGatewayError> {
        let statements =
            StatementConnections::new(database_url, MAX_CONNECTIONS_PER_ISSUE, call_timeout)
                .map_err(|source| ToolGatewayError::DatabaseUrl {
                    issue_id: issue_id.to_owned(),
                    source,
                })?;
        Ok(IssueState {
            issue_id: issue_id.to_owned(),
            statements,
            limits,
            sql_functions: OnceCell::new(),
            customer,
            first_connection: OnceCell::new(),
            journal: Mutex::new(Journal::default()),
        })
    }

    /// Opens the issue's first database connection, once: started when the issue is registered
    /// so that the agent's first call finds it open. A new connection is a backend started for
    /// the issue's role and a SCRAM handshake on both sides: milliseconds on a quiet machine and
    /// tens of them on a loaded one, which the first call paid before. A call made while it is
    /// still opening waits for it rather than opening a second one. A failure is left to the
    /// calls, which open their own and report the error.
    pub(crate) async fn open_first_connection(&self) {
        self.first_connection
            .get_or_init(|| async {
                if let Err(error) = self.statements.open_one().await {
                    tracing::debug!(issue = %self.issue_id, %error, "cannot open the issue's first connection ahead of its calls");
                }
            })
            .await;
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        // A panic while holding the lock cannot leave the journal half-written in a way that
        // matters more than losing the record, so a poisoned lock is still used.
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next call's sequence number and, when `counts_against_budget`, whether it may run.
    /// Both are taken under one lock so parallel calls cannot overrun the budget.
    pub(crate) fn begin_call(&self, counts_against_budget: bool) -> (u32, Admission) {
        let mut journal = self.journal();
        let sequence = journal.next_sequence;
        journal.next_sequence += 1;
        if !counts_against_budget {
            return (sequence, Admission::Admitted);
        }
        if let Some(max_tool_calls) = self.limits.max_tool_calls
            && journal.admitted >= max_tool_calls
        {
            journal.limit_stops += 1;
            return (sequence, Admission::BudgetSpent { max_tool_calls });
        }
        journal.admitted += 1;
        (sequence, Admission::Admitted)
    }

    pub(crate) fn record_call(&self, call: ToolCall) {
        self.journal().calls.push(call);
    }

    /// Lists the first [`MAX_LISTED_REJECTIONS`] rejected requests and counts the rest, so an
    /// agent that floods the gateway with bad requests cannot grow what agentpod keeps.
    pub(crate) fn record_rejection(&self, rejected: RejectedRequest) {
        let mut journal = self.journal();
        if journal.rejected_requests.len() < MAX_LISTED_REJECTIONS {
            journal.rejected_requests.push(rejected);
        } else {
            journal.unlisted_rejections += 1;
        }
    }

    /// Takes the record out; calls still running when the issue is finished are not in it.
    pub(crate) fn take_record(&self) -> IssueToolRecord {
        let mut journal = self.journal();
        let mut calls = std::mem::take(&mut journal.calls);
        calls.sort_by_key(|call| call.sequence);
        IssueToolRecord {
            calls,
            limit_stops: journal.limit_stops,
            rejected_requests: std::mem::take(&mut journal.rejected_requests),
            unlisted_rejections: std::mem::take(&mut journal.unlisted_rejections),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(max_tool_calls: Option<u32>) -> IssueState {
        IssueState::new(
            "issue-1",
            "postgres://agent:secret@127.0.0.1:1/issue",
            ToolLimits { max_tool_calls },
            Duration::from_secs(1),
            None,
        )
        .expect("a well-formed url")
    }

    #[tokio::test]
    async fn budget_admits_exactly_max_calls_and_counts_the_rest_as_stops() {
        let issue = state(Some(2));
        let admissions: Vec<_> = (0..4).map(|_| issue.begin_call(true)).collect();
        assert_eq!(
            admissions,
            vec![
                (0, Admission::Admitted),
                (1, Admission::Admitted),
                (2, Admission::BudgetSpent { max_tool_calls: 2 }),
                (3, Admission::BudgetSpent { max_tool_calls: 2 }),
            ]
        );
        assert_eq!(issue.take_record().limit_stops, 2);
    }

    #[tokio::test]
    async fn rejected_requests_past_the_listed_ones_are_counted_not_kept() {
        let issue = state(None);
        for index in 0..MAX_LISTED_REJECTIONS + 7 {
            issue.record_rejection(RejectedRequest {
                started_at: String::new(),
                latency_ms: 0.0,
                status: 400,
                error: format!("parse error {index}"),
                body: "x".repeat(1000),
                body_bytes: 1000,
            });
        }
        let record = issue.take_record();
        assert_eq!(record.rejected_requests.len(), MAX_LISTED_REJECTIONS);
        assert_eq!(record.rejected_requests[0].error, "parse error 0");
        assert_eq!(record.unlisted_rejections, 7);
    }

    #[tokio::test]
    async fn calls_outside_the_budget_are_always_admitted() {
        let issue = state(Some(0));
        assert_eq!(issue.begin_call(false), (0, Admission::Admitted));
        assert_eq!(issue.take_record().limit_stops, 0);
    }

    #[tokio::test]
    async fn malformed_database_url_is_an_error() {
        let error = IssueState::new(
            "issue-2",
            "not a url",
            ToolLimits::default(),
            Duration::from_secs(1),
            None,
        )
        .err();
        assert!(matches!(
            error,
            Some(ToolGatewayError::DatabaseUrl { issue_id, .. }) if issue_id == "issue-2"
        ));
    }
}
