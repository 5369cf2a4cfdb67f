//! `IssueLease`: what one issue trial holds of its pod while it runs — its tokens at the pod's
//! gateways and its own database — given back exactly once however the issue ends. On the normal
//! path the gateways' record is taken (`finish_gateways`, which revokes the tokens) and the lease
//! is consumed (`release`, which retires the database). Any other way out (an early return, a
//! panic, the issue's future dropped) drops the lease, and `Drop` gives back what is left: the
//! tokens revoked, their record discarded, and the database retired, that is queued for the pod
//! to drop between issues. Both are synchronous, so the fallback needs no task.

use agentpod_db::{IssueDatabase, PodDatabase};

use crate::pod_gateways::{FinishedGateways, IssueGateways, PodGateways};

/// Where a lease gives its holdings back.
pub(crate) trait IssueHolder {
    /// The issue's access to the gateways.
    type Access;
    /// The issue's database.
    type Database;
    /// Revokes the access; what it recorded is discarded.
    fn revoke(&self, access: Self::Access);
    /// Gives the database back to be dropped.
    fn retire(&self, database: Self::Database);
}

/// The pod's gateways and database, which every issue of the pod leases from.
pub(crate) struct PodHolder<'pod> {
    pub(crate) gateways: &'pod PodGateways,
    pub(crate) database: &'pod PodDatabase,
}

impl IssueHolder for PodHolder<'_> {
    type Access = IssueGateways;
    type Database = IssueDatabase;

    fn revoke(&self, access: IssueGateways) {
        self.gateways.revoke(access);
    }

    fn retire(&self, database: IssueDatabase) {
        self.database.retire_issue_database(database);
    }
}

pub(crate) struct IssueLease<H: IssueHolder> {
    holder: H,
    /// Taken when the gateways' record is.
    access: Option<H::Access>,
    /// Taken when the lease is released or dropped.
    database: Option<H::Database>,
}

impl<H: IssueHolder> IssueLease<H> {
    pub(crate) fn new(holder: H, access: H::Access, database: H::Database) -> IssueLease<H> {
        IssueLease {
            holder,
            access: Some(access),
            database: Some(database),
        }
    }

    /// The issue's database, until the lease is released.
    pub(crate) fn database(&self) -> &H::Database {
        self.database
            .as_ref()
            .expect("the database is taken only by `release` or drop, which consume the lease")
    }

    /// The normal end: the database retired, and the tokens revoked if nobody finished them.
    pub(crate) fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if let Some(access) = self.access.take() {
            self.holder.revoke(access);
        }
        if let Some(database) = self.database.take() {
            self.holder.retire(database);
        }
    }
}

impl<'pod> IssueLease<PodHolder<'pod>> {
    /// Revokes the issue's tokens and takes everything the gateways recorded for its trial, as
    /// steps, its totals and its customer's conversation. Once: later calls find nothing to
    /// record.
    pub(crate) fn finish_gateways(&mut self, issue_id: &str, trial: u32) -> FinishedGateways {
        match self.access.take() {
            Some(access) => self.holder.gateways.finish(issue_id, trial, access),
            None => FinishedGateways::default(),
        }
    }

    /// The agent contract's variables for the gateways, until the tokens are finished.
    pub(crate) fn gateway_environment(&self) -> &[(String, String)] {
        self.access
            .as_ref()
            .map_or(&[], |access| access.environment.as_slice())
    }
}

impl<H: IssueHolder> Drop for IssueLease<H> {
    fn drop(&mut self) {
        if self.access.is_some() || self.database.is_some() {
            tracing::debug!("an issue ended without releasing its lease; giving back what it held");
        }
        self.give_back();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Remembers what was given back to it.
    #[derive(Default)]
    struct Recorder {
        revoked: RefCell<Vec<&'static str>>,
        retired: RefCell<Vec<&'static str>>,
    }

    impl IssueHolder for &Recorder {
        type Access = &'static str;
        type Database = &'static str;

        fn revoke(&self, access: &'static str) {
            self.revoked.borrow_mut().push(access);
        }

        fn retire(&self, database: &'static str) {
            self.retired.borrow_mut().push(database);
        }
    }

    #[test]
    fn a_lease_dropped_without_being_released_gives_everything_back() {
        let recorder = Recorder::default();
        let lease = IssueLease::new(&recorder, "tokens", "issue_db");
        assert_eq!(*lease.database(), "issue_db");
        assert!(
            recorder.revoked.borrow().is_empty(),
            "nothing given back while held"
        );
        drop(lease);
        assert_eq!(*recorder.revoked.borrow(), ["tokens"]);
        assert_eq!(*recorder.retired.borrow(), ["issue_db"]);
    }

    #[test]
    fn a_lease_gives_back_once_on_an_early_return() {
        fn returns_early(recorder: &Recorder) -> Result<(), &'static str> {
            let _lease = IssueLease::new(recorder, "tokens", "issue_db");
            Err("the agent could not be launched")?;
            unreachable!("returned above");
        }
        let recorder = Recorder::default();
        assert!(returns_early(&recorder).is_err());
        assert_eq!(*recorder.revoked.borrow(), ["tokens"]);
        assert_eq!(*recorder.retired.borrow(), ["issue_db"]);
    }

    #[test]
    fn a_released_lease_gives_back_once_and_not_again_on_drop() {
        let recorder = Recorder::default();
        let mut lease = IssueLease::new(&recorder, "tokens", "issue_db");
        // The normal path takes the access for the gateways' record before releasing.
        assert_eq!(lease.access.take(), Some("tokens"));
        lease.release();
        assert!(
            recorder.revoked.borrow().is_empty(),
            "finished tokens are not revoked again"
        );
        assert_eq!(*recorder.retired.borrow(), ["issue_db"]);
    }

    #[tokio::test]
    async fn a_cancelled_issue_gives_everything_back() {
        let recorder = Recorder::default();
        let issue = async {
            let _lease = IssueLease::new(&recorder, "tokens", "issue_db");
            std::future::pending::<()>().await;
        };
        // The pod worker's future dropped mid-issue (a panic elsewhere, or a timeout).
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), issue).await;
        assert!(timed_out.is_err());
        assert_eq!(*recorder.revoked.borrow(), ["tokens"]);
        assert_eq!(*recorder.retired.borrow(), ["issue_db"]);
    }
}
