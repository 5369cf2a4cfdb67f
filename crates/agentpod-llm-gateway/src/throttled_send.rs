//! Sending one admitted call upstream under the run's limits ([`crate::upstream_limits`]) and
//! retry policy ([`crate::retry_policy`]), within the agent's request deadline, and counting
//! what that cost in time: the wait in line and the retries' backoff, which are the provider's
//! doing and not the agent's ([`Throttling`]).
//!
//! With no limits and no retries configured this is the plain send: no lock, no allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::retry_policy::{RetryPolicy, jitter_unit};
use crate::upstream_backend::{UpstreamBackend, UpstreamFailure, UpstreamReply, UpstreamRequest};
use crate::upstream_limits::{Admission, QueueFull, UpstreamLimiter};

/// What throttling cost one call: time waiting in line for the run's upstream limits, and the
/// retries after a 429 or 5xx with the time spent backing off between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Throttling {
    pub queue_wait_ms: f64,
    pub retries: u32,
    pub retry_backoff_ms: f64,
}

impl Throttling {
    /// Queue wait plus backoff: time the provider's limits, not the agent, took.
    pub fn throttled_ms(&self) -> f64 {
        self.queue_wait_ms + self.retry_backoff_ms
    }
}

/// Why no answer came back to pass on.
pub(crate) enum SendFailure {
    /// The agent's request deadline passed (waiting in line, or for the upstream).
    Timeout {
        waiting_in_line: bool,
    },
    QueueFull(QueueFull),
    Upstream(UpstreamFailure),
}

/// Numbers the calls that retry, for their jitter.
static RETRIED_CALLS: AtomicU64 = AtomicU64::new(0);

/// Sends `request`, waiting in line first when `limiter` is set and sending again on retryable
/// answers as `policy` allows. The admission, when there is one, holds the call's concurrency
/// slot: keep it until the call ends, and settle its tokens then.
pub(crate) async fn send(
    backend: &UpstreamBackend,
    limiter: Option<&UpstreamLimiter>,
    policy: &RetryPolicy,
    request: &UpstreamRequest<'_>,
    estimated_tokens: u64,
    deadline: tokio::time::Instant,
    throttling: &mut Throttling,
) -> Result<(UpstreamReply, Option<Admission>), SendFailure> {
    let mut call_number = None;
    loop {
        let admission = match limiter {
            None => None,
            Some(limiter) => {
                let waiting_since = tokio::time::Instant::now();
                let admitted = tokio::time::timeout_at(deadline, limiter.admit(estimated_tokens))
                    .await
                    .map_err(|_| {
                        // The wait the timeout cut short was the provider's time all the same.
                        throttling.queue_wait_ms += waiting_since.elapsed().as_secs_f64() * 1000.0;
                        SendFailure::Timeout {
                            waiting_in_line: true,
                        }
                    })?
                    .map_err(SendFailure::QueueFull)?;
                throttling.queue_wait_ms += admitted.waited.as_secs_f64() * 1000.0;
                Some(admitted)
            }
        };
        let reply = tokio::time::timeout_at(deadline, backend.send(request))
            .await
            .map_err(|_| SendFailure::Timeout {
                waiting_in_line: false,
            })?
            .map_err(SendFailure::Upstream)?;
        if throttling.retries >= policy.max_retries || !RetryPolicy::retries_status(reply.status) {
            return Ok((reply, admission));
        }
        let call =
            *call_number.get_or_insert_with(|| RETRIED_CALLS.fetch_add(1, Ordering::Relaxed));
        let unit = jitter_unit(policy.jitter_seed, call, throttling.retries);
        let Some(delay) = policy.delay(throttling.retries, reply.retry_after, unit) else {
            return Ok((reply, admission));
        };
        if tokio::time::Instant::now() + delay >= deadline {
            // Sleeping past the agent's timeout helps nobody: it gets the provider's answer now.
            return Ok((reply, admission));
        }
        if let (Some(limiter), Some(asked)) = (limiter, reply.retry_after) {
            limiter.pause_for(asked);
        }
        // The refused attempt used no tokens; its estimate goes back to the bucket.
        if let Some(admission) = admission {
            admission.settle(0);
        }
        drop(reply);
        tokio::time::sleep(delay).await;
        throttling.retries += 1;
        throttling.retry_backoff_ms += delay.as_secs_f64() * 1000.0;
    }
}

/// `retry-after` of an upstream's answer, read only when the answer may be retried.
pub(crate) fn retry_after_of(status: u16, headers: &axum::http::HeaderMap) -> Option<Duration> {
    if !RetryPolicy::retries_status(status) {
        return None;
    }
    crate::retry_policy::retry_after(headers, SystemTime::now())
}
