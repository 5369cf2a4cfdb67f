//! What the boundary saw during one issue, as the run store's typed boundary events: the database
//! crate keeps its own event types, the store owns what is written out, and this is the one place
//! that maps the first onto the second (a new field in the database crate's events fails to
//! compile here until the store has a place for it).

use agentpod_db::{BoundaryEvents, Proposal, RowChange, Violation};
use agentpod_store::{
    BoundaryDetail, BoundaryEventRecord, ProposalDetail, RowChangeDetail, ViolationDetail,
};

/// One issue trial's boundary events, changes first, then proposals, then violations, each in
/// the order it happened.
pub(crate) fn boundary_event_records(
    issue_id: &str,
    trial: u32,
    events: BoundaryEvents,
) -> Vec<BoundaryEventRecord> {
    let BoundaryEvents {
        changes,
        proposals,
        violations,
    } = events;
    let changes = changes.into_iter().map(change_detail);
    let proposals = proposals.into_iter().map(proposal_detail);
    let violations = violations.into_iter().map(violation_detail);
    changes
        .chain(proposals)
        .chain(violations)
        .map(|detail| BoundaryEventRecord {
            issue_id: issue_id.to_string(),
            trial,
            detail,
        })
        .collect()
}

/// The violation recorded when the pod's firewall refused an agent container's packets.
pub(crate) fn network_violation(
    issue_id: &str,
    trial: u32,
    refused_packets: u64,
) -> BoundaryEventRecord {
    BoundaryEventRecord {
        issue_id: issue_id.to_string(),
        trial,
        detail: BoundaryDetail::Violation(ViolationDetail {
            statement: None,
            error: format!(
                "{refused_packets} network packet(s) refused: the agent tried to reach the host, \
                 the internet or another pod"
            ),
            sqlstate: None,
            table: None,
            network: true,
        }),
    }
}

fn change_detail(change: RowChange) -> BoundaryDetail {
    let RowChange {
        table,
        operation,
        before,
        after,
        statement,
    } = change;
    BoundaryDetail::Change(RowChangeDetail {
        table,
        operation,
        before,
        after,
        statement,
    })
}

fn proposal_detail(proposal: Proposal) -> BoundaryDetail {
    let Proposal {
        table,
        operation,
        before,
        after,
        statement,
        proposed_by,
        status,
    } = proposal;
    BoundaryDetail::Proposal(ProposalDetail {
        table,
        operation,
        before,
        after,
        statement,
        proposed_by,
        status,
    })
}

fn violation_detail(violation: Violation) -> BoundaryDetail {
    let Violation {
        statement,
        error,
        sqlstate,
        table,
    } = violation;
    BoundaryDetail::Violation(ViolationDetail {
        statement,
        error,
        sqlstate: Some(sqlstate).filter(|code| !code.is_empty()),
        table,
        network: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpod_store::BoundaryEventKind;
    use serde_json::json;

    #[test]
    fn every_event_keeps_its_kind_table_and_order() {
        let events = BoundaryEvents {
            changes: vec![RowChange {
                table: "tickets".into(),
                operation: "update".into(),
                before: Some(json!({"id": 1, "status": "open"})),
                after: Some(json!({"id": 1, "status": "closed"})),
                statement: "UPDATE tickets SET status = 'closed'".into(),
            }],
            proposals: vec![Proposal {
                table: "refunds".into(),
                operation: "insert".into(),
                before: None,
                after: Some(json!({"amount": 5})),
                statement: "INSERT INTO refunds VALUES (5)".into(),
                proposed_by: "issue_3".into(),
                status: "pending".into(),
            }],
            violations: vec![Violation {
                statement: Some("DELETE FROM customers".into()),
                error: "permission denied for table customers".into(),
                sqlstate: "42501".into(),
                table: Some("customers".into()),
            }],
        };
        let records = boundary_event_records("3", 2, events);
        let kinds: Vec<_> = records.iter().map(BoundaryEventRecord::kind).collect();
        assert_eq!(
            kinds,
            [
                BoundaryEventKind::Change,
                BoundaryEventKind::Proposal,
                BoundaryEventKind::Violation
            ]
        );
        let tables: Vec<_> = records.iter().map(BoundaryEventRecord::table).collect();
        assert_eq!(
            tables,
            [Some("tickets"), Some("refunds"), Some("customers")]
        );
        assert!(
            records
                .iter()
                .all(|record| record.trial == 2 && record.issue_id == "3")
        );
        let BoundaryDetail::Change(change) = &records[0].detail else {
            panic!("{:?}", records[0])
        };
        assert_eq!(change.after, Some(json!({"id": 1, "status": "closed"})));
    }

    #[test]
    fn a_network_violation_names_no_table_and_no_sqlstate() {
        let record = network_violation("9", 1, 4);
        let BoundaryDetail::Violation(violation) = &record.detail else {
            panic!("{record:?}")
        };
        assert!(violation.network && violation.sqlstate.is_none() && record.table().is_none());
        assert!(violation.error.starts_with("4 network packet(s) refused"));
    }
}
