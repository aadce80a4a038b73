//! Slowing down guessers.
//!
//! Two limits. Per account, in the store so that every replica sees it: after
//! [`MAX_FAILURES`] failed log-ins for one email within [`FAILURE_WINDOW`], every attempt
//! for that email is refused, even with the right password, until the oldest of those
//! failures leaves the window. Unknown emails are counted the same way, so the lock does
//! not reveal which emails have accounts.
//!
//! Per client, in memory: a token bucket per peer IP address (the address of the TCP
//! connection, `Request::remote_addr`) shared by SignUp, LogIn and StartGuestSession. A
//! client may burst up to N attempts, then gets one more every 60/N seconds, so one client
//! cannot mint accounts and guest sessions or guess across many emails at full speed. Each
//! replica counts on its own, so the effective limit is N per replica; that is enough to
//! stop a flood, which is all it is for. Behind a proxy every client shares the proxy's
//! address: raise the limit there (the proxy should do its own limiting). A call whose peer
//! address is unknown (a server that does not record it) is not limited, and a warning says
//! so once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Failed log-ins for one email that trigger the lock.
pub const MAX_FAILURES: usize = 5;
/// How far back failures count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// When an account locked by failures may try again: `None` if it is not locked.
/// `failures` are the times (ms) of the failures within the window, oldest first.
pub fn locked_until(failures: &[i64]) -> Option<i64> {
    if failures.len() < MAX_FAILURES {
        return None;
    }
    // Attempts are allowed again once fewer than MAX_FAILURES remain in the window, i.e.
    // when the failure that makes the count reach the limit from the newest end leaves it.
    let pivot = failures[failures.len() - MAX_FAILURES];
    Some(pivot + FAILURE_WINDOW.as_millis() as i64)
}

/// Token buckets of attempts per client address.
#[derive(Debug)]
pub struct ClientLimit {
    /// Bucket size: the burst a client may make.
    capacity: f64,
    /// Tokens a bucket regains per millisecond.
    refill_per_ms: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// Whether the warning about calls without a peer address was logged.
    warned: AtomicBool,
}

/// The tokens of one client as of `at_ms`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Past this many tracked clients, the buckets that are full again are forgotten (a full
/// bucket is the same as none).
const PRUNE_ABOVE: usize = 4096;

impl ClientLimit {
    /// Bursts of up to `per_minute` attempts per address, refilled at `per_minute` a minute.
    /// 0 means no limit.
    pub fn new(per_minute: u32) -> Self {
        Self {
            capacity: f64::from(per_minute),
            refill_per_ms: f64::from(per_minute) / 60_000.0,
            buckets: Mutex::new(HashMap::new()),
            warned: AtomicBool::new(false),
        }
    }

    /// Counts an attempt; `Err(wait)` when the address has no token left, with how long
    /// until it has one. Calls without a known address are not limited.
    pub fn attempt(&self, client: Option<IpAddr>, now_ms: i64) -> Result<(), Duration> {
        if self.capacity == 0.0 {
            return Ok(());
        }
        let Some(client) = client else {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "calls arrive without the client's address: the per-client limit on \
                     sign-ups, log-ins and guest sessions does not apply"
                );
            }
            return Ok(());
        };
        // A poisoned lock means a panic while holding it, which the code below cannot do;
        // if it ever happens, let the call through rather than refuse everyone.
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| self.refilled(*bucket, now_ms) < self.capacity);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.capacity,
            at_ms: now_ms,
        });
        let tokens = self.refilled(*bucket, now_ms);
        if tokens < 1.0 {
            let wait_ms = ((1.0 - tokens) / self.refill_per_ms).ceil().max(1.0);
            return Err(Duration::from_millis(wait_ms as u64));
        }
        *bucket = Bucket {
            tokens: tokens - 1.0,
            at_ms: now_ms.max(bucket.at_ms),
        };
        Ok(())
    }

    /// The tokens of `bucket` at `now_ms` (a clock that went back refills nothing).
    fn refilled(&self, bucket: Bucket, now_ms: i64) -> f64 {
        let elapsed = (now_ms - bucket.at_ms).max(0) as f64;
        (bucket.tokens + elapsed * self.refill_per_ms).min(self.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_until_the_first_of_them_leaves_the_window() {
        assert_eq!(locked_until(&[1, 2, 3, 4]), None);
        let window = FAILURE_WINDOW.as_millis() as i64;
        assert_eq!(locked_until(&[10, 20, 30, 40, 50]), Some(10 + window));
        assert_eq!(locked_until(&[10, 20, 30, 40, 50, 60]), Some(20 + window));
    }

    #[test]
    fn clients_get_a_burst_then_a_steady_rate() {
        // Three a minute: a burst of three, then one every 20 s.
        let limit = ClientLimit::new(3);
        let client = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limit.attempt(client, 0).is_ok());
        }
        assert_eq!(limit.attempt(client, 0), Err(Duration::from_secs(20)));
        assert_eq!(limit.attempt(client, 15_000), Err(Duration::from_secs(5)));
        assert!(limit.attempt(client, 20_000).is_ok());
        assert!(limit.attempt(client, 20_000).is_err());
        // Other clients, and calls with no address, have their own allowance.
        assert!(
            limit
                .attempt(Some(IpAddr::from([10, 0, 0, 2])), 20_000)
                .is_ok()
        );
        assert!(limit.attempt(None, 20_000).is_ok());
        // A long pause refills the bucket, but only up to its size.
        for _ in 0..3 {
            assert!(limit.attempt(client, 3_600_000).is_ok());
        }
        assert!(limit.attempt(client, 3_600_000).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = ClientLimit::new(0);
        for _ in 0..100 {
            assert!(limit.attempt(Some(IpAddr::from([10, 0, 0, 1])), 0).is_ok());
        }
    }
}
