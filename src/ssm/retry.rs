//! Retry and pacing for SSM calls: jittered exponential backoff, a client-side write
//! rate limit, and counters of what was retried.
//!
//! The SDK's own retries are switched off (`aws.rs`): it does not retry TooManyUpdates,
//! and it would silently resend a PutParameter whose answer was lost, which makes an
//! extra version. Here every retry is visible to the engine, which checks the store
//! before resending a write that may have been carried out (`push.rs`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::store::{StoreError, StoreResult};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the 2nd attempt; doubles for each further one.
    pub base_delay: Duration,
    /// Upper bound of one backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        // As patient as the SDK's standard mode with 8 attempts: throttling on a busy
        // account can last tens of seconds (ssm.md §1.8).
        RetryPolicy { max_attempts: 8, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(20) }
    }
}

impl RetryPolicy {
    /// The pause after the `failed`-th failed attempt (1-based): "equal jitter", half
    /// of the exponential step fixed and half random, so the pause always grows but
    /// concurrent workers do not retry in lockstep.
    pub fn delay(&self, failed: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << failed.saturating_sub(1).min(20));
        let step = exp.min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Spaces out calls so that at most `per_second` start per second, across all workers.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `per_second <= 0` (or not finite) means no limit.
    pub fn new(per_second: f64) -> RateLimiter {
        let interval = (per_second.is_finite() && per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second));
        RateLimiter { interval, next: Mutex::new(None) }
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        let Some(interval) = self.interval else { return };
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What was retried during a run (all workers).
#[derive(Debug, Default)]
pub struct RetryStats {
    pub retries: AtomicU64,
    /// Writes that were checked in the store before being resent.
    pub reconciled: AtomicU64,
}

impl RetryStats {
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn reconciled(&self) -> u64 {
        self.reconciled.load(Ordering::Relaxed)
    }

    pub(crate) fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn note_reconcile(&self) {
        self.reconciled.fetch_add(1, Ordering::Relaxed);
    }
}

/// A call that failed for good, with the number of attempts made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    pub error: StoreError,
    pub attempts: u32,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts > 1 {
            write!(f, "{} (gave up after {} attempts)", self.error, self.attempts)
        } else {
            write!(f, "{}", self.error)
        }
    }
}

impl std::error::Error for GaveUp {}

/// Runs an idempotent call (a read, a tag, a delete) until it succeeds, fails for
/// good or runs out of attempts. `limiter`, if any, paces every attempt.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    stats: &RetryStats,
    limiter: Option<&RateLimiter>,
    mut call: F,
) -> Result<T, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let max = policy.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        if let Some(l) = limiter {
            l.wait().await;
        }
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() && attempt < max => {
                stats.note_retry();
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(GaveUp { error, attempts: attempt }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::store::ErrorKind;

    #[test]
    fn backoff_grows_with_jitter_and_stays_under_the_cap() {
        let p =
            RetryPolicy { max_attempts: 10, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for _ in 0..200 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
            let d9 = p.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1), "{d9:?}");
        }
        assert!(p.delay(64) <= Duration::from_secs(1));
        let spread: std::collections::BTreeSet<_> = (0..50).map(|_| p.delay(2)).collect();
        assert!(spread.len() > 10, "jitter should spread retries");
    }

    #[tokio::test]
    async fn limiter_spaces_calls() {
        let l = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..9 {
            l.wait().await;
        }
        // 9 calls at 50 per second: the 9th starts 160 ms after the first.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(160) && took < Duration::from_millis(400), "{took:?}");
        let unlimited = RateLimiter::new(0.0);
        let start = Instant::now();
        for _ in 0..1000 {
            unlimited.wait().await;
        }
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn retries_only_what_can_succeed_later() {
        let p =
            RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(2), max_delay: Duration::from_millis(5) };
        let stats = RetryStats::default();
        let mut n = 0;
        let r = retry(&p, &stats, None, || {
            n += 1;
            let fail = n < 3;
            async move {
                if fail { Err(StoreError::new(ErrorKind::Throttled, Some("ThrottlingException"), "")) } else { Ok(n) }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
        assert_eq!(stats.retries(), 2);

        let mut calls = 0;
        let r: Result<(), _> = retry(&p, &stats, None, || {
            calls += 1;
            async { Err(StoreError::new(ErrorKind::Rejected, Some("ValidationException"), "bad")) }
        })
        .await;
        assert_eq!((calls, r.unwrap_err().attempts), (1, 1));

        let r: Result<(), _> =
            retry(&p, &stats, None, || async { Err(StoreError::new(ErrorKind::Server, None, "HTTP 500")) }).await;
        let gave_up = r.unwrap_err();
        assert_eq!(gave_up.attempts, 4);
        assert_eq!(gave_up.to_string(), "HTTP 500 (gave up after 4 attempts)");
    }
}
