//! `Interrupt`: the two stages of stopping a run. Draining stops new issues and cancels running
//! agents gracefully, then records results and removes pods; forcing abandons the graceful path.

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    drain: CancellationToken,
    force: CancellationToken,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// First Ctrl-C: finish gracefully.
    pub fn drain(&self) {
        self.drain.cancel();
    }

    /// Second Ctrl-C: stop now.
    pub fn force(&self) {
        self.drain.cancel();
        self.force.cancel();
    }

    pub fn is_draining(&self) -> bool {
        self.drain.is_cancelled()
    }

    pub fn is_forced(&self) -> bool {
        self.force.is_cancelled()
    }

    pub fn drained(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.drain.cancelled()
    }

    pub fn forced(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.force.cancelled()
    }

    pub(crate) fn drain_token(&self) -> CancellationToken {
        self.drain.clone()
    }
}
