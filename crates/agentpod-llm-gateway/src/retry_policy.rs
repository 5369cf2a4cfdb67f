//! When the gateway sends a call again, and after how long: on 429 and on 5xx answers (server
//! errors and overload; not 501 or 505, which say the request itself will never work), a bounded
//! number of times, before anything was passed to the agent (the status arrives before any
//! byte of the body, and a retried answer is dropped unread; a stream that breaks after it began
//! is never retried). Once the retries are used up, the agent gets the provider's answer as it
//! came.
//!
//! The wait: the provider's `retry-after` (`retry-after-ms`, OpenAI's, first; then `retry-after`
//! in seconds or as an HTTP date) when it sends one, otherwise exponential backoff from
//! `initial_backoff` with equal jitter (half the step fixed, half random, from a seeded
//! generator so tests can predict it). No wait is longer than `max_backoff`: a provider that asks
//! for more gets its error passed on instead, and so does a wait that would end past the agent's
//! own request timeout.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;

/// How the gateway retries throttled or failed upstream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 turns retrying off.
    pub max_retries: u32,
    /// The first backoff step when the provider gives no `retry-after`; doubled each retry.
    pub initial_backoff: Duration,
    /// No single wait is longer.
    pub max_backoff: Duration,
    /// Seeds the jitter, so that a test can predict every wait.
    pub jitter_seed: u64,
}

impl RetryPolicy {
    /// No retries: every answer goes to the agent as it came.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(30),
        jitter_seed: 0,
    };

    /// Whether an answer with `status` is worth sending again.
    pub(crate) fn retries_status(status: u16) -> bool {
        status == 429 || ((500..600).contains(&status) && status != 501 && status != 505)
    }

    /// The wait before retry number `retry` (from 0), or `None` when the provider asked for
    /// more than `max_backoff`. `unit` is a number in [0, 1) from [`jitter_unit`].
    pub(crate) fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        if let Some(asked) = retry_after {
            return (asked <= self.max_backoff).then_some(asked);
        }
        let step = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        Some(step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

/// A number in [0, 1) from the seed and which call and retry it is for (SplitMix64).
pub(crate) fn jitter_unit(seed: u64, call: u64, retry: u32) -> f64 {
    let mut value = seed ^ call.rotate_left(17) ^ u64::from(retry).rotate_left(47);
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^= value >> 31;
    (value >> 11) as f64 / (1u64 << 53) as f64
}

/// The provider's `retry-after-ms` or `retry-after` (whole or decimal seconds, or an HTTP date,
/// which counts from `now`); `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(milliseconds) = text("retry-after-ms").and_then(|text| text.parse::<f64>().ok())
        && milliseconds.is_finite()
        && milliseconds >= 0.0
    {
        return Some(Duration::from_secs_f64(milliseconds / 1000.0));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(1e9)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 1.5 ")]), now),
            Some(Duration::from_millis(1500))
        );
        let in_twenty = httpdate::fmt_http_date(now + Duration::from_secs(20));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &in_twenty)]), now),
            Some(Duration::from_secs(20))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(20));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO),
            "a date gone by means now"
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "9"), ("retry-after-ms", "250")]),
                now
            ),
            Some(Duration::from_millis(250)),
            "OpenAI's finer header first"
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        for status in [429, 500, 502, 503, 504, 529] {
            assert!(RetryPolicy::retries_status(status), "{status}");
        }
        for status in [200, 400, 401, 404, 413, 501, 505] {
            assert!(!RetryPolicy::retries_status(status), "{status}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(400),
            max_backoff: Duration::from_secs(2),
            jitter_seed: 7,
        };
        assert_eq!(policy.delay(0, None, 0.0), Some(Duration::from_millis(200)));
        assert_eq!(policy.delay(0, None, 0.5), Some(Duration::from_millis(300)));
        assert_eq!(policy.delay(1, None, 0.0), Some(Duration::from_millis(400)));
        assert_eq!(
            policy.delay(2, None, 1.0),
            Some(Duration::from_millis(1600))
        );
        // 400 ms × 2^3 = 3.2 s, capped at 2 s.
        assert_eq!(policy.delay(3, None, 1.0), Some(Duration::from_secs(2)));
        assert_eq!(policy.delay(40, None, 1.0), Some(Duration::from_secs(2)));
        // The provider's word, up to the cap; beyond it, no retry.
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(1)), 0.9),
            Some(Duration::from_secs(1))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(3)), 0.0), None);
    }

    #[test]
    fn jitter_is_deterministic_and_spread() {
        assert_eq!(jitter_unit(1, 2, 3), jitter_unit(1, 2, 3));
        let units: Vec<f64> = (0..1000).map(|call| jitter_unit(42, call, 0)).collect();
        assert!(units.iter().all(|unit| (0.0..1.0).contains(unit)));
        let mean = units.iter().sum::<f64>() / units.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        assert_ne!(jitter_unit(42, 1, 0), jitter_unit(43, 1, 0));
    }
}
