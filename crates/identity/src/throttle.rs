//! Slowing down guessers, without letting anyone lock out anyone else.
//!
//! Two limits, both keyed by the client: the end user's address as [`crate::client`]
//! learns it (from the gateway's `x-forwarded-for`, believed only from the gateway).
//!
//! Failed log-ins, per (account, client), in the store so that every replica sees them:
//! once one client has failed [`FREE_FAILURES`] times for one email within
//! [`FAILURE_WINDOW`], it must wait before its next attempt for that email: [`FIRST_DELAY`]
//! after the last failure, doubling with each further one, up to [`MAX_DELAY`]. While it waits,
//! every attempt of that client for that email is refused, even with the right password
//! (otherwise the wait would not slow a guesser down). Nobody else is affected: the owner
//! logging in from elsewhere is not delayed by a stranger's failures, and no number of
//! failures locks the account. A success forgets that client's failures for that email.
//! Unknown emails are counted the same way, so the delays do not reveal which emails have
//! accounts. What this leaves to a guesser is four guesses per address per hour once the
//! cap is reached, each costing it an Argon2 hash and a token of the per-client limit.
//!
//! Per client, in memory: a token bucket per client address shared by SignUp, LogIn and
//! StartGuestSession. A client may burst up to N attempts, then gets one more every 60/N
//! seconds, so one client cannot mint accounts and guest sessions or guess across many
//! emails at full speed. Each replica counts on its own, so the effective limit is N per
//! replica; that is enough to stop a flood, which is all it is for. A call whose client
//! is unknown (a server that does not record the peer address) is not limited, and a
//! warning says so once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Failed log-ins of one client for one email that cost no wait.
pub const FREE_FAILURES: usize = 5;
/// The wait after the first failure beyond the free ones; it doubles with each further one.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts of one client for one email.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long a failure counts: long enough that a guesser who waits out [`MAX_DELAY`] each
/// time still reaches it, and stays there.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// When a client whose failures for an email are `failures` (times in ms within the
/// window, oldest first) may try that email again: `None` if it need not wait.
pub fn next_attempt_at(failures: &[i64]) -> Option<i64> {
    let beyond_free = failures.len().checked_sub(FREE_FAILURES)?;
    let last = *failures.last()?;
    // 2^beyond_free seconds past the last failure, capped (the shift is capped first so it
    // cannot overflow).
    let doublings = u32::try_from(beyond_free).unwrap_or(u32::MAX).min(20);
    let delay = FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
    Some(last + delay.as_millis() as i64)
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
        let bucket = buckets
            .entry(crate::client::counted_as(client))
            .or_insert(Bucket {
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
    fn waits_start_after_the_free_failures_and_double_up_to_the_cap() {
        assert_eq!(next_attempt_at(&[]), None);
        assert_eq!(next_attempt_at(&[1, 2, 3, 4]), None);
        assert_eq!(next_attempt_at(&[10, 20, 30, 40, 50]), Some(50 + 1_000));
        assert_eq!(next_attempt_at(&[10, 20, 30, 40, 50, 60]), Some(60 + 2_000));
        assert_eq!(
            next_attempt_at(&[0, 0, 0, 0, 0, 0, 0, 70]),
            Some(70 + 8_000)
        );
        let many = vec![5; 500];
        assert_eq!(
            next_attempt_at(&many),
            Some(5 + MAX_DELAY.as_millis() as i64)
        );
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
