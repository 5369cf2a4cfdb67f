//! Limits on what the gateways of one run send to their upstream: requests and tokens per minute
//! and calls at once. One [`UpstreamLimiter`] is shared by every pod's gateway of a run (a clone
//! is a handle on the same state), so N pods together stay under the provider's limits.
//!
//! A call over a limit waits in one first-come, first-served line rather than being refused:
//! the call at the head of the line waits until every limit lets it through, and no later call
//! overtakes it. The line is bounded ([`UpstreamLimits::max_queued_calls`]); a call past the bound
//! is refused. A waiting call that is dropped (the agent hung up, its request timed out) leaves
//! the line at once.
//!
//! Rates are token buckets refilled continuously: requests at `requests_per_minute / 60` per
//! second, holding at most one second's share (so a minute's allowance is never spent in one
//! burst the provider would refuse). Tokens per minute are estimated before a call (the request's
//! bytes / 4, plus the output it may ask for: `max_tokens`, `max_completion_tokens`,
//! `max_output_tokens`), taken from the bucket at admission, and corrected from the upstream's
//! usage when the call ends ([`Admission::settle`]): a call that used more puts the bucket in
//! debt and later calls wait for it. A provider's `retry-after` pauses the whole line
//! ([`UpstreamLimiter::pause_for`]): the provider throttles the account, not one call.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The default bound on calls waiting in the line, over all pods of a run.
pub const DEFAULT_MAX_QUEUED_CALLS: usize = 1024;

/// What the run's upstream allows; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamLimits {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub concurrent_calls: Option<u32>,
    /// Calls waiting beyond this are refused (503) instead of queued.
    pub max_queued_calls: usize,
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        UpstreamLimits {
            requests_per_minute: None,
            tokens_per_minute: None,
            concurrent_calls: None,
            max_queued_calls: DEFAULT_MAX_QUEUED_CALLS,
        }
    }
}

/// The line was full: the call is refused rather than queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the queue for the upstream is full ({queued} calls waiting)")]
pub(crate) struct QueueFull {
    pub(crate) queued: usize,
}

/// The limits of a run's upstream and the state they share across pods. Cloning is cheap and
/// shares the state.
#[derive(Clone)]
pub struct UpstreamLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    limits: UpstreamLimits,
    /// One permit: whoever holds it is the head of the line. Tokio's semaphore is fair, so the
    /// line is served in arrival order.
    head: Semaphore,
    concurrency: Option<Arc<Semaphore>>,
    buckets: Mutex<Buckets>,
    queued: AtomicUsize,
}

struct Buckets {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    /// Set by a provider's `retry-after`: nobody is sent before then.
    paused_until: Option<Instant>,
}

struct Bucket {
    level: f64,
    capacity: f64,
    per_second: f64,
    updated: Instant,
}

impl Bucket {
    /// A bucket for `per_minute`, full, holding one second's share (at least one unit).
    fn per_minute(per_minute: f64, now: Instant) -> Bucket {
        let per_second = per_minute / 60.0;
        let capacity = per_second.max(1.0);
        Bucket {
            level: capacity,
            capacity,
            per_second,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// How long until `amount` (at most the capacity, so any call can pass) is available.
    fn wait_for(&self, amount: f64) -> Duration {
        let needed = amount.min(self.capacity) - self.level;
        if needed <= 0.0 {
            return Duration::ZERO;
        }
        // Rounded up to a whole microsecond so that the wake-up finds the amount there.
        Duration::from_micros((needed / self.per_second * 1e6).ceil() as u64)
    }
}

/// A call let through: holds its concurrency slot until dropped, and its token estimate until
/// settled.
pub(crate) struct Admission {
    limiter: UpstreamLimiter,
    _slot: Option<OwnedSemaphorePermit>,
    estimated_tokens: u64,
    settled: AtomicBool,
    /// How long the call waited in the line.
    pub(crate) waited: Duration,
}

impl Admission {
    /// Replaces the estimate taken at admission by the tokens the upstream said the call used
    /// (nothing happens when the run has no token limit, or on a second call).
    pub(crate) fn settle(&self, used_tokens: u64) {
        if self.settled.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut buckets = self.limiter.buckets();
        if let Some(tokens) = &mut buckets.tokens {
            tokens.refill(Instant::now());
            let correction = self.estimated_tokens as f64 - used_tokens as f64;
            tokens.level = (tokens.level + correction).min(tokens.capacity);
        }
    }
}

/// Leaves the count of waiting calls when the wait ends, however it ends.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl UpstreamLimiter {
    pub fn new(limits: UpstreamLimits) -> UpstreamLimiter {
        let now = Instant::now();
        UpstreamLimiter {
            shared: Arc::new(Shared {
                limits,
                head: Semaphore::new(1),
                concurrency: limits
                    .concurrent_calls
                    .map(|calls| Arc::new(Semaphore::new(calls.max(1) as usize))),
                buckets: Mutex::new(Buckets {
                    requests: limits
                        .requests_per_minute
                        .map(|rate| Bucket::per_minute(f64::from(rate.max(1)), now)),
                    tokens: limits
                        .tokens_per_minute
                        .map(|rate| Bucket::per_minute(rate.max(1) as f64, now)),
                    paused_until: None,
                }),
                queued: AtomicUsize::new(0),
            }),
        }
    }

    pub fn limits(&self) -> UpstreamLimits {
        self.shared.limits
    }

    /// How many calls wait in the line now.
    pub fn queued_calls(&self) -> usize {
        self.shared.queued.load(Ordering::SeqCst)
    }

    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        // Plain numbers behind the lock: a panic elsewhere leaves them usable.
        self.shared
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits in line until every limit lets a call estimated at `estimated_tokens` through.
    pub(crate) async fn admit(&self, estimated_tokens: u64) -> Result<Admission, QueueFull> {
        let started = Instant::now();
        let queued = self.shared.queued.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(&self.shared.queued);
        if queued >= self.shared.limits.max_queued_calls {
            return Err(QueueFull { queued });
        }
        // Never closed, so acquiring only waits.
        let _head = self.shared.head.acquire().await.ok();
        // The head waits for a slot first and then for the rates, so that the rates are taken
        // at the moment the call is sent.
        let slot = match &self.shared.concurrency {
            Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
            None => None,
        };
        loop {
            let wait = {
                let mut buckets = self.buckets();
                let now = Instant::now();
                let mut wait = buckets
                    .paused_until
                    .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
                if let Some(requests) = &mut buckets.requests {
                    requests.refill(now);
                    wait = wait.max(requests.wait_for(1.0));
                }
                if let Some(tokens) = &mut buckets.tokens {
                    tokens.refill(now);
                    wait = wait.max(tokens.wait_for(estimated_tokens as f64));
                }
                if wait.is_zero() {
                    if let Some(requests) = &mut buckets.requests {
                        requests.level -= 1.0;
                    }
                    if let Some(tokens) = &mut buckets.tokens {
                        tokens.level -= estimated_tokens as f64;
                    }
                }
                wait
            };
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        Ok(Admission {
            limiter: self.clone(),
            _slot: slot,
            estimated_tokens,
            settled: AtomicBool::new(false),
            waited: started.elapsed(),
        })
    }

    /// Holds the whole line for `duration` from now (a provider's `retry-after`); a longer pause
    /// already set stays.
    pub(crate) fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut buckets = self.buckets();
        if buckets.paused_until.is_none_or(|current| current < until) {
            buckets.paused_until = Some(until);
        }
    }
}

impl std::fmt::Debug for UpstreamLimiter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("UpstreamLimiter")
            .field("limits", &self.shared.limits)
            .field("queued", &self.queued_calls())
            .finish()
    }
}

/// Two handles are equal when they share the same state.
impl PartialEq for UpstreamLimiter {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// A request's tokens before it is sent: its text at about four bytes a token, plus the output
/// it asks for at most. Only needs to be near: the upstream's usage corrects it.
/// `max_output_tokens` is what the request asks for at most (`ClientRequest::max_output_tokens`).
pub(crate) fn estimate_tokens(body_bytes: usize, max_output_tokens: Option<u64>) -> u64 {
    (body_bytes as u64)
        .div_ceil(4)
        .saturating_add(max_output_tokens.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: UpstreamLimits) -> UpstreamLimiter {
        UpstreamLimiter::new(limits)
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spread_at_the_rate_in_arrival_order() {
        // 120 a minute: two a second, at most two at once.
        let limiter = limiter(UpstreamLimits {
            requests_per_minute: Some(120),
            ..UpstreamLimits::default()
        });
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for call in 0..6u32 {
            let limiter = limiter.clone();
            let order = Arc::clone(&order);
            tasks.push(tokio::spawn(async move {
                let admission = limiter.admit(0).await.unwrap();
                order.lock().unwrap().push((call, start.elapsed()));
                admission.waited
            }));
            // Arrivals a moment apart, so the arrival order is known.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut waits = Vec::new();
        for task in tasks {
            waits.push(task.await.unwrap());
        }
        let order = order.lock().unwrap().clone();
        let calls: Vec<u32> = order.iter().map(|(call, _)| *call).collect();
        assert_eq!(calls, vec![0, 1, 2, 3, 4, 5], "first come, first served");
        // The bucket starts with two; then one every 500 ms.
        let seconds: Vec<f64> = order
            .iter()
            .map(|(_, at)| (at.as_secs_f64() * 10.0).round() / 10.0)
            .collect();
        assert_eq!(seconds, vec![0.0, 0.0, 0.5, 1.0, 1.5, 2.0]);
        assert!(waits[0].is_zero());
        assert!(waits[5] > Duration::from_millis(1900));
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_concurrent_calls_are_admitted_at_once() {
        let limiter = limiter(UpstreamLimits {
            concurrent_calls: Some(2),
            ..UpstreamLimits::default()
        });
        let first = limiter.admit(0).await.unwrap();
        let _second = limiter.admit(0).await.unwrap();
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.admit(0).await.unwrap().waited })
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!waiting.is_finished(), "a third call waits for a slot");
        assert_eq!(limiter.queued_calls(), 1);
        drop(first);
        let waited = waiting.await.unwrap();
        assert!(waited >= Duration::from_secs(3), "{waited:?}");
        assert_eq!(limiter.queued_calls(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_line_is_bounded_and_a_dropped_wait_leaves_it() {
        let limiter = limiter(UpstreamLimits {
            concurrent_calls: Some(1),
            max_queued_calls: 2,
            ..UpstreamLimits::default()
        });
        let _running = limiter.admit(0).await.unwrap();
        let first = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.admit(0).await.map(|_| ()) }
        });
        let second = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.admit(0).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(limiter.queued_calls(), 2);
        assert_eq!(limiter.admit(0).await.err(), Some(QueueFull { queued: 2 }));
        first.abort();
        second.abort();
        let _ = (first.await, second.await);
        assert_eq!(limiter.queued_calls(), 0, "cancelled waits leave the line");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_estimated_then_corrected_from_the_usage() {
        // 6,000 tokens a minute: 100 a second, a bucket of 100.
        let limiter = limiter(UpstreamLimits {
            tokens_per_minute: Some(6_000),
            ..UpstreamLimits::default()
        });
        let first = limiter.admit(50).await.unwrap();
        assert!(first.waited.is_zero());
        // It used 250, not 50: the bucket (100 − 50 = 50) is corrected by −200, to −150.
        first.settle(250);
        first.settle(1_000_000);
        let second = limiter.admit(50).await.unwrap();
        // From −150 to 50 at 100 a second: 2 s.
        assert_eq!(second.waited.as_secs_f64().round(), 2.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_the_whole_line() {
        let limiter = limiter(UpstreamLimits {
            concurrent_calls: Some(10),
            ..UpstreamLimits::default()
        });
        limiter.pause_for(Duration::from_secs(4));
        limiter.pause_for(Duration::from_secs(1));
        let admission = limiter.admit(0).await.unwrap();
        assert_eq!(admission.waited.as_secs(), 4, "the longer pause stays");
    }

    #[test]
    fn estimates_count_bytes_and_the_output_asked_for() {
        let asked = |body: &str| {
            crate::client_request::ClientRequest::read(body.as_bytes(), &Default::default())
                .expect("a request body")
                .max_output_tokens
        };
        assert_eq!(estimate_tokens(400, asked(r#"{"max_tokens": 100}"#)), 200);
        assert_eq!(estimate_tokens(1, asked(r#"{"max_output_tokens": 7}"#)), 8);
        assert_eq!(estimate_tokens(0, None), 0);
    }
}
